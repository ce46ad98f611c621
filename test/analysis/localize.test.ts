import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateBackground, localizeSpots } from '../../src/analysis/localize.js';
import { parseSimCameraOptions, type SimCameraOptionsInput } from '../../src/camera-spec/sim-options.js';
import { simParticlePositions } from '../../src/devices/sim/particles.js';
import { PARTICLE_BACKGROUND, READ_NOISE, renderSimFrame } from '../../src/devices/sim/render.js';
import { REFERENCE_EXPOSURE_MS, type SimSettings } from '../../src/devices/sim/sim-settings.js';
import { scoreFrame, summarise, type Summary } from './scoring.js';

const FRAMES = 50;

/**
 * SNR of a spot = its peak height over the read-noise sigma, both in DN:
 * (amplitude · exposure/REFERENCE) / READ_NOISE (gain scales both alike). The
 * simulator's amplitudes are 0.3..0.7, so the default exposure gives SNR 30..70
 * and a third of it gives 10..23.
 */
function snrRange(exposure_ms: number): [number, number] {
  const scale = exposure_ms / REFERENCE_EXPOSURE_MS / READ_NOISE;
  return [0.3 * scale, 0.7 * scale];
}

function run(input: SimCameraOptionsInput, settings: Partial<SimSettings>, frames = FRAMES): Summary {
  const options = parseSimCameraOptions({ width: 256, height: 256, dtype: 'uint16', pattern: 'particles', ...input });
  const scores = [];
  for (let index = 0; index < frames; index++) {
    const pixels = renderSimFrame(options, settings, index);
    const { spots } = localizeSpots(pixels, [options.height, options.width], options.dtype);
    scores.push(scoreFrame(simParticlePositions(options, index), spots, options.width, options.height));
  }
  return summarise(scores);
}

function assertGoals(summary: Summary, rmsLimit = 0.1): void {
  const text = JSON.stringify(summary);
  assert.ok(summary.scored >= 0.5 * (summary.scored + summary.excluded), `too many excluded: ${text}`);
  assert.ok(summary.rms < rmsLimit, `RMS error ${summary.rms.toFixed(4)} px: ${text}`);
  assert.ok(summary.foundFraction >= 0.95, `found ${(100 * summary.foundFraction).toFixed(1)} %: ${text}`);
  assert.ok(summary.falseFraction < 0.05, `false ${(100 * summary.falseFraction).toFixed(1)} %: ${text}`);
}

describe('localisation against the simulator ground truth (50 frames, 256×256 uint16)', () => {
  const cases: { name: string; input: SimCameraOptionsInput; settings: Partial<SimSettings> }[] = [
    { name: '20 particles, SNR 30..70', input: { particle_count: 20, seed: 1 }, settings: {} },
    { name: '50 particles, SNR 30..70', input: { particle_count: 50, seed: 2 }, settings: {} },
    {
      name: '35 particles, SNR 10..23 (exposure 1/3)',
      input: { particle_count: 35, seed: 3 },
      settings: { exposure_ms: REFERENCE_EXPOSURE_MS / 3 },
    },
    { name: '30 particles, sigma 1.2, SNR 30..70', input: { particle_count: 30, particle_sigma: 1.2, seed: 4 }, settings: {} },
    { name: '30 particles, gain 2, brightness 5 %', input: { particle_count: 30, seed: 5 }, settings: { gain: 2, brightness: 5 } },
  ];
  for (const { name, input, settings } of cases) {
    test(name, () => {
      const summary = run(input, settings);
      if (process.env.LABCAST_ANALYSIS_VERBOSE) console.log(name, snrRange(settings.exposure_ms ?? REFERENCE_EXPOSURE_MS), summary);
      assertGoals(summary);
    });
  }

  test('uint8 frames too (coarser: 1 DN of quantisation is 0.4 noise sigma)', () => {
    const summary = run({ particle_count: 30, dtype: 'uint8', seed: 6 }, {}, 20);
    if (process.env.LABCAST_ANALYSIS_VERBOSE) console.log('uint8', summary);
    assertGoals(summary);
  });
});

describe('coordinates and details', () => {
  test('a single noiseless-ish spot is found at its true centre, pixel (0,0) centre at (0,0)', () => {
    const options = parseSimCameraOptions({ width: 64, height: 48, particle_count: 1, seed: 9 });
    for (let index = 0; index < 20; index++) {
      const [truth] = simParticlePositions(options, index);
      if (truth === undefined || truth.x < 5 || truth.y < 5 || truth.x > 58 || truth.y > 42) continue;
      const { spots } = localizeSpots(renderSimFrame(options, {}, index), [48, 64], 'uint16');
      assert.equal(spots.length, 1, `frame ${index}: ${JSON.stringify(spots)}`);
      const [spot] = spots;
      assert.ok(
        Math.abs(spot!.x - truth.x) < 0.1 && Math.abs(spot!.y - truth.y) < 0.1,
        `${JSON.stringify(spot)} vs ${JSON.stringify(truth)}`,
      );
      assert.ok(Math.abs(spot!.sigma! - options.particle_sigma) < 0.1, `sigma ${spot!.sigma}`);
      const expectedAmplitude = truth.amplitude * 65535;
      assert.ok(Math.abs(spot!.amplitude / expectedAmplitude - 1) < 0.05, `amplitude ${spot!.amplitude} vs ${expectedAmplitude}`);
    }
  });

  test('background estimate matches the simulator model', () => {
    const options = parseSimCameraOptions({ width: 256, height: 256, particle_count: 20 });
    const pixels = renderSimFrame(options, {}, 0);
    const samples = new Uint16Array(pixels.buffer, pixels.byteOffset, 256 * 256);
    const { level, noise } = estimateBackground(samples, 'uint16');
    assert.ok(Math.abs(level / (PARTICLE_BACKGROUND * 65535) - 1) < 0.01, `level ${level}`);
    assert.ok(Math.abs(noise / (READ_NOISE * 65535) - 1) < 0.1, `noise ${noise}`);
  });

  test('a pure noise frame (no particles) gives no spots', () => {
    const options = parseSimCameraOptions({ width: 256, height: 256, particle_count: 0 });
    for (let index = 0; index < 10; index++) {
      assert.deepEqual(localizeSpots(renderSimFrame(options, {}, index), [256, 256], 'uint16').spots, []);
    }
  });

  test('a flat frame gives no spots; an unaligned uint16 buffer decodes the same', () => {
    assert.deepEqual(localizeSpots(new Uint8Array(2 * 32 * 32).fill(7), [32, 32], 'uint16').spots, []);
    const options = parseSimCameraOptions({ width: 96, height: 64, particle_count: 5 });
    const pixels = renderSimFrame(options, {}, 2);
    const shifted = new Uint8Array(pixels.byteLength + 1).subarray(1);
    shifted.set(pixels);
    assert.deepEqual(localizeSpots(shifted, [64, 96], 'uint16'), localizeSpots(pixels, [64, 96], 'uint16'));
  });

  test('bad shapes and options are refused', () => {
    assert.throws(() => localizeSpots(new Uint8Array(10), [2, 4], 'uint16'), { code: 'BAD_ARGUMENT' });
    assert.throws(() => localizeSpots(new Uint8Array(8), [8], 'uint8'), { code: 'BAD_ARGUMENT' });
    assert.throws(() => localizeSpots(new Uint8Array(8), [2, 4], 'uint8', { windowRadius: 0 }), { code: 'BAD_ARGUMENT' });
    assert.throws(() => localizeSpots(new Uint8Array(8), [2, 4], 'uint8', { threshold: -1 }), { code: 'BAD_ARGUMENT' });
  });
});
