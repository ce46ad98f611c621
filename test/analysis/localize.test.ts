import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateBackground, localizeSpots } from '../../src/analysis/localize.js';
import { parseSimCameraOptions, type SimCameraOptionsInput } from '../../src/camera-spec/sim-options.js';
import { simParticlePositions } from '../../src/devices/sim/particles.js';
import { renderSimFrame, simFrameTruth } from '../../src/devices/sim/render.js';
import { defaultSimSettings, REFERENCE_EXPOSURE_MS, type SimSettings } from '../../src/devices/sim/sim-settings.js';
import { scoreFrame, summarise, type Summary } from './scoring.js';

const FRAMES = 50;

/**
 * SNR of a spot = its expected peak height over the background's noise
 * sigma (shot, dark and read noise), in electrons: the peak is
 * photons_per_bead × brightness (0.6..1.4) × QE × exposure/REFERENCE spread
 * over 2π·σ². Gain and offset scale or shift signal and noise alike. The
 * default camera gives SNR 18..42.
 */
function snrRange(input: SimCameraOptionsInput, settings: Partial<SimSettings>): [number, number] {
  const options = parseSimCameraOptions({ pattern: 'particles', ...input });
  const s = { ...defaultSimSettings(options), ...settings };
  const electronsPerPhoton = s.quantum_efficiency * (s.exposure_ms / REFERENCE_EXPOSURE_MS);
  const peak = (s.photons_per_bead * electronsPerPhoton) / (2 * Math.PI * options.particle_sigma ** 2);
  const noise = Math.sqrt(
    s.background_photons * electronsPerPhoton + (s.dark_current_e_per_s * s.exposure_ms) / 1000 + s.read_noise_e ** 2,
  );
  return [(0.6 * peak) / noise, (1.4 * peak) / noise];
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

/**
 * The best possible 2-D RMS error (Mortensen et al. 2010, Nat. Methods 7:377,
 * least-squares form without the EMCCD factor) for the case's beads, averaged
 * over their brightness (uniform 0.6..1.4): photon-limited, so it is what the
 * simulator's shot noise allows any estimator.
 */
function boundRms(input: SimCameraOptionsInput, settings: Partial<SimSettings>): number {
  const options = parseSimCameraOptions({ pattern: 'particles', ...input });
  const s = { ...defaultSimSettings(options), ...settings };
  const electronsPerPhoton = s.quantum_efficiency * (s.exposure_ms / REFERENCE_EXPOSURE_MS);
  const background = s.background_photons * electronsPerPhoton + (s.dark_current_e_per_s * s.exposure_ms) / 1000 + s.read_noise_e ** 2;
  const width2 = options.particle_sigma ** 2 + 1 / 12;
  let sum = 0;
  const steps = 100;
  for (let k = 0; k < steps; k++) {
    const electrons = s.photons_per_bead * electronsPerPhoton * (0.6 + (0.8 * (k + 0.5)) / steps);
    sum += 2 * (width2 / electrons) * (16 / 9 + (8 * Math.PI * width2 * background) / electrons);
  }
  return Math.sqrt(sum / steps);
}

function assertGoals(summary: Summary, bound: number, rmsLimit = 0.1): void {
  const text = JSON.stringify(summary);
  assert.ok(summary.scored >= 0.5 * (summary.scored + summary.excluded), `too many excluded: ${text}`);
  assert.ok(summary.rms < rmsLimit, `RMS error ${summary.rms.toFixed(4)} px: ${text}`);
  // Near-optimal: within 30 % of the photon-limited bound.
  assert.ok(summary.rms < 1.3 * bound, `RMS error ${summary.rms.toFixed(4)} px against a bound of ${bound.toFixed(4)}: ${text}`);
  assert.ok(summary.foundFraction >= 0.95, `found ${(100 * summary.foundFraction).toFixed(1)} %: ${text}`);
  assert.ok(summary.falseFraction < 0.05, `false ${(100 * summary.falseFraction).toFixed(1)} %: ${text}`);
}

describe('localisation against the simulator ground truth (50 frames, 256×256 uint16)', () => {
  const cases: { name: string; input: SimCameraOptionsInput; settings: Partial<SimSettings>; rmsLimit?: number }[] = [
    { name: '20 particles, default camera (SNR 18..42)', input: { particle_count: 20, seed: 1 }, settings: {} },
    { name: '50 particles, default camera (SNR 18..42)', input: { particle_count: 50, seed: 2 }, settings: {} },
    {
      name: '35 particles, exposure 1/3 (SNR 9..21): the bound itself is above 0.1 px',
      input: { particle_count: 35, seed: 3 },
      settings: { exposure_ms: REFERENCE_EXPOSURE_MS / 3 },
      rmsLimit: 0.15,
    },
    { name: '30 particles, sigma 1.2 (SNR 50..117)', input: { particle_count: 30, particle_sigma: 1.2, seed: 4 }, settings: {} },
    { name: '30 particles, gain 2, brightness 5 %', input: { particle_count: 30, seed: 5 }, settings: { gain: 2, brightness: 5 } },
    {
      name: '30 particles, bright beads (10 000 photons, SNR 36..84)',
      input: { particle_count: 30, seed: 7 },
      settings: { photons_per_bead: 10_000 },
    },
    { name: '30 particles, 16-bit camera (8 DN/e⁻)', input: { particle_count: 30, seed: 8, bit_depth: 16 }, settings: {} },
  ];
  for (const { name, input, settings, rmsLimit } of cases) {
    test(name, () => {
      const summary = run(input, settings);
      const bound = boundRms(input, settings);
      if (process.env.LABCAST_ANALYSIS_VERBOSE) console.log(name, snrRange(input, settings), 'bound', bound, summary);
      assertGoals(summary, bound, rmsLimit);
    });
  }

  test('uint8 frames too: an 8-bit camera at gain 16 (0.5 DN/e⁻)', () => {
    const summary = run({ particle_count: 30, dtype: 'uint8', seed: 6 }, { gain: 16 }, 20);
    const bound = boundRms({ dtype: 'uint8' }, { gain: 16 });
    if (process.env.LABCAST_ANALYSIS_VERBOSE) console.log('uint8', 'bound', bound, summary);
    assertGoals(summary, bound);
  });
});

describe('coordinates and details', () => {
  test('a single bright spot is found at its true centre, pixel (0,0) centre at (0,0)', () => {
    const options = parseSimCameraOptions({ width: 64, height: 48, particle_count: 1, seed: 9 });
    const bright = { photons_per_bead: 100_000 }; // SNR ≈ 500: the fit, not the noise, is under test
    for (let index = 0; index < 20; index++) {
      const [truth] = simParticlePositions(options, index);
      if (truth === undefined || truth.x < 5 || truth.y < 5 || truth.x > 58 || truth.y > 42) continue;
      const { spots } = localizeSpots(renderSimFrame(options, bright, index), [48, 64], 'uint16');
      assert.equal(spots.length, 1, `frame ${index}: ${JSON.stringify(spots)}`);
      const [spot] = spots;
      assert.ok(
        Math.abs(spot!.x - truth.x) < 0.1 && Math.abs(spot!.y - truth.y) < 0.1,
        `${JSON.stringify(spot)} vs ${JSON.stringify(truth)}`,
      );
      assert.ok(Math.abs(spot!.sigma! - options.particle_sigma) < 0.1, `sigma ${spot!.sigma}`);
      const expectedAmplitude = simFrameTruth(options, bright, index)!.amplitude[0]!;
      assert.ok(Math.abs(spot!.amplitude / expectedAmplitude - 1) < 0.05, `amplitude ${spot!.amplitude} vs ${expectedAmplitude}`);
    }
  });

  test('background estimate matches the simulator model', () => {
    const options = parseSimCameraOptions({ width: 256, height: 256, particle_count: 20 });
    const pixels = renderSimFrame(options, {}, 0);
    const samples = new Uint16Array(pixels.buffer, pixels.byteOffset, 256 * 256);
    const { level, noise } = estimateBackground(samples, 'uint16');
    // 100 DN offset + 0.5 DN/e⁻ × (30 photons × QE 0.8 + 0.01 dark e⁻); noise √(24.01 + 2²) e⁻ × 0.5.
    assert.ok(Math.abs(level / 112.005 - 1) < 0.01, `level ${level}`);
    assert.ok(Math.abs(noise / (0.5 * Math.sqrt(28.01)) - 1) < 0.1, `noise ${noise}`);
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
