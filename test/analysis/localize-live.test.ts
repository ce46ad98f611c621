import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Spot } from '../../src/analysis/localize.js';
import { parseSimCameraOptions } from '../../src/camera-spec/sim-options.js';
import { simParticlePositions, type SimParticle } from '../../src/devices/sim/particles.js';
import { REFERENCE_EXPOSURE_MS } from '../../src/devices/sim/sim-settings.js';
import type { FrameHeader } from '../../src/protocol/messages.js';
import { scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { FrameCollector, frameKey, ResultsSubscriber } from './results.js';
import { scoreFrame, summarise } from './scoring.js';

const CAMERA = { width: 256, height: 256, fps: 50, particle_count: 30, seed: 3 };
/**
 * The default 12-bit camera: spot SNR 18..42 (the expected peak over the
 * background's noise, shot and read: 95..223 e⁻ over √(24 + 2²) e⁻).
 */
const EXPOSURE_MS = REFERENCE_EXPOSURE_MS;
const RESULTS = 120;

interface LocalizeBody {
  count: number;
  x: number[];
  y: number[];
  intensity: number[];
  amplitude: number[];
  background: number[];
  sigma: (number | null)[];
  track: number[];
}

function truthParticles(header: FrameHeader): SimParticle[] {
  const truth = header.truth!;
  return truth.x.map((x, i) => ({ x, y: truth.y[i]!, brightness: truth.amplitude[i]! }));
}

function spotsOf(body: LocalizeBody): Spot[] {
  return body.x.map((x, i) => ({
    x,
    y: body.y[i]!,
    intensity: body.intensity[i]!,
    amplitude: body.amplitude[i]!,
    background: body.background[i]!,
    sigma: body.sigma[i] ?? undefined,
  }));
}

describe('the localize analysis process against the truth in the frame headers (SNR 18..42, 256×256, 30 particles)', () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let frames: FrameCollector;
  let results: ResultsSubscriber;
  const matched: { header: FrameHeader; body: LocalizeBody }[] = [];

  before(async () => {
    serve = await startServe(scratch.dir, CAMERA, { settings: { exposure_ms: EXPOSURE_MS } });
    frames = new FrameCollector(serve.data);
    results = new ResultsSubscriber(serve.results, ['analysis/localize']);
    const started = await serve.ctl(['analysis', 'start', 'localize']);
    assert.equal(started.code, 0, started.stderr);
    assert.equal((await serve.ctl(['live'])).code, 0);
    await results.waitFor('localize', RESULTS, 30_000);
    await serve.ctl(['stop']);
    for (const result of results.of('localize')) {
      const header = frames.headers.get(frameKey(result.header));
      if (header !== undefined) matched.push({ header, body: result.body as LocalizeBody });
    }
  });

  after(async () => {
    frames?.close();
    results?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test("every frame header carries the truth: the simulator's positions, amplitudes in DN, intensities 2π·σ²·A", () => {
    assert.ok(matched.length >= RESULTS * 0.8, `${matched.length} of ${RESULTS} results matched to a frame header`);
    const options = parseSimCameraOptions(CAMERA);
    for (const { header } of matched.slice(0, 20)) {
      const truth = header.truth!;
      const expected = simParticlePositions(options, header.seq);
      assert.equal(truth.x.length, 30);
      assert.equal(truth.sigma, 2);
      expected.forEach((particle, i) => {
        assert.ok(
          Math.abs(truth.x[i]! - particle.x) <= 5e-5 && Math.abs(truth.y[i]! - particle.y) <= 5e-5,
          `particle ${i} of frame ${header.seq}`,
        );
        // photons_per_bead 5000 × QE 0.8 × 0.5 DN/e⁻, over 2π·σ² (σ = 2).
        const amplitude = (particle.brightness * 5000 * 0.8 * 0.5 * (EXPOSURE_MS / REFERENCE_EXPOSURE_MS)) / (8 * Math.PI);
        assert.ok(Math.abs(truth.amplitude[i]! - amplitude) <= 1e-3, `amplitude ${truth.amplitude[i]} vs ${amplitude}`);
        assert.ok(Math.abs(truth.intensity[i]! - 2 * Math.PI * 4 * amplitude) <= 1e-2);
      });
    }
  });

  test('RMS error < 0.1 px, >= 95 % of the particles found, < 5 % false spots', () => {
    const scores = matched.map(({ header, body }) => scoreFrame(truthParticles(header), spotsOf(body), CAMERA.width, CAMERA.height));
    const summary = summarise(scores);
    if (process.env.LABCAST_ANALYSIS_VERBOSE) console.log('live localize vs header truth', summary);
    const text = JSON.stringify(summary);
    assert.ok(summary.scored >= 0.5 * (summary.scored + summary.excluded), `too many excluded: ${text}`);
    assert.ok(summary.rms < 0.1, `RMS ${summary.rms.toFixed(4)} px: ${text}`);
    assert.ok(summary.foundFraction >= 0.95, `found ${(100 * summary.foundFraction).toFixed(1)} %: ${text}`);
    assert.ok(summary.falseFraction < 0.05, `false ${(100 * summary.falseFraction).toFixed(1)} %: ${text}`);
  });

  test('tracks: a particle keeps its track id from one analysed frame to the next', () => {
    let links = 0;
    let kept = 0;
    for (let i = 1; i < matched.length; i++) {
      const previous = matched[i - 1]!;
      const current = matched[i]!;
      if (current.header.seq - previous.header.seq > 3) continue;
      const trackAt = (entry: typeof current, p: SimParticle): number | null => {
        let best = -1;
        let bestD2 = 1;
        entry.body.x.forEach((x, k) => {
          const d2 = (x - p.x) ** 2 + (entry.body.y[k]! - p.y) ** 2;
          if (d2 < bestD2) {
            bestD2 = d2;
            best = k;
          }
        });
        return best === -1 ? null : entry.body.track[best]!;
      };
      const before = truthParticles(previous.header);
      const now = truthParticles(current.header);
      now.forEach((p, id) => {
        // Crowded particles (another within 8 px) may swap; they are not scored, as above.
        const crowded = (list: SimParticle[], q: SimParticle): boolean =>
          list.some((o) => o !== q && (o.x - q.x) ** 2 + (o.y - q.y) ** 2 < 64);
        if (crowded(now, p) || crowded(before, before[id]!)) return;
        const a = trackAt(previous, before[id]!);
        const b = trackAt(current, p);
        if (a === null || b === null) return;
        links += 1;
        if (a === b) kept += 1;
      });
    }
    if (process.env.LABCAST_ANALYSIS_VERBOSE) console.log(`track links kept: ${kept} of ${links}`);
    assert.ok(links > 500, `links ${links}`);
    assert.ok(kept / links >= 0.98, `kept ${kept} of ${links} links`);
  });
});
