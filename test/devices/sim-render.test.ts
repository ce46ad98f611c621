import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSimCameraOptions, SIM_PATTERNS, type SimCameraOptionsInput } from '../../src/camera-spec/sim-options.js';
import { simParticlePositions } from '../../src/devices/sim/particles.js';
import { renderSimFrame, simFrameTruth } from '../../src/devices/sim/render.js';
import { defaultSimSettings, type SimSettings } from '../../src/devices/sim/sim-settings.js';
import { POISSON_EXACT_BELOW, poissonFromLevel } from '../../src/devices/sim/sensor-model.js';
import { mix32 } from '../../src/devices/sim/prng.js';
import { LabcastError } from '../../src/protocol/errors.js';

const options = (input: SimCameraOptionsInput) => parseSimCameraOptions({ width: 96, height: 64, ...input });

function samplesOf(pixels: Uint8Array, dtype: 'uint8' | 'uint16'): number[] {
  if (dtype === 'uint8') return Array.from(pixels);
  const view = new DataView(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return Array.from({ length: pixels.byteLength / 2 }, (_, i) => view.getUint16(2 * i, true));
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function standardDeviation(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((sum, value) => sum + (value - m) ** 2, 0) / (values.length - 1));
}

function meanOf(input: SimCameraOptionsInput, settings: Partial<SimSettings>, index = 3): number {
  const resolved = options(input);
  return mean(samplesOf(renderSimFrame(resolved, settings, index), resolved.dtype));
}

describe('determinism', () => {
  for (const pattern of SIM_PATTERNS) {
    test(`${pattern}: same seed and index give identical bytes; another index differs`, () => {
      const a = renderSimFrame(options({ pattern, seed: 11 }), {}, 7);
      const b = renderSimFrame(options({ pattern, seed: 11 }), {}, 7);
      assert.deepEqual(a, b);
      assert.notDeepEqual(renderSimFrame(options({ pattern, seed: 11 }), {}, 8), a);
    });
  }

  for (const pattern of ['noise', 'particles'] as const) {
    test(`${pattern}: another seed gives another image`, () => {
      assert.notDeepEqual(renderSimFrame(options({ pattern, seed: 1 }), {}, 0), renderSimFrame(options({ pattern, seed: 2 }), {}, 0));
    });
  }

  test('frames render at random access: order and other renders in between do not matter', () => {
    const particles = options({ pattern: 'particles', particle_count: 40, seed: 5 });
    const big = options({ pattern: 'particles', width: 200, height: 150, particle_count: 80 });
    const first = renderSimFrame(particles, {}, 9);
    renderSimFrame(big, { roi_x: 3, roi_width: 101 }, 2);
    renderSimFrame(particles, { exposure_ms: 3 }, 1);
    assert.deepEqual(renderSimFrame(particles, {}, 9), first);
  });

  test('frame indices beyond 2^32 are fine and distinct', () => {
    const noise = options({ pattern: 'noise' });
    assert.notDeepEqual(renderSimFrame(noise, {}, 2 ** 32), renderSimFrame(noise, {}, 0));
    assert.throws(() => renderSimFrame(noise, {}, -1), { code: 'BAD_ARGUMENT' });
    assert.throws(() => renderSimFrame(noise, {}, 1.5), { code: 'BAD_ARGUMENT' });
  });
});

describe('buffers', () => {
  test('uint8 frames have W*H bytes, uint16 frames 2*W*H, each in memory of its own', () => {
    for (const [dtype, bytes] of [
      ['uint8', 1],
      ['uint16', 2],
    ] as const) {
      const resolved = options({ dtype, pattern: 'noise' });
      const a = renderSimFrame(resolved, {}, 0);
      const b = renderSimFrame(resolved, {}, 0);
      assert.equal(a.byteLength, 96 * 64 * bytes);
      assert.equal(a.byteOffset, 0);
      assert.equal(a.buffer.byteLength, a.byteLength, 'not a slice of a shared pool');
      assert.notEqual(a.buffer, b.buffer);
    }
  });

  test('uint16 is little-endian', () => {
    // Gradient frame 0 at 16 bits: pixel (x, 0) is round(65535 * x / 256), so pixel 1 is 256 = bytes 00 01.
    const pixels = renderSimFrame(options({ pattern: 'gradient', bit_depth: 16 }), {}, 0);
    assert.deepEqual(Array.from(pixels.subarray(0, 4)), [0x00, 0x00, 0x00, 0x01]);
  });

  test('a gradient frame taller than the ramp period is the ramp in every row (rows past the period are copies)', () => {
    // At 16 bits, gain 1, brightness 0: pixel (x, y) of frame n is round(65535 * ((x + y - 4n) mod 256) / 256).
    for (const [width, height, index] of [
      [40, 700, 3],
      [300, 1024, 70],
      [7, 257, 0],
    ] as const) {
      const pixels = samplesOf(renderSimFrame(options({ pattern: 'gradient', bit_depth: 16, width, height }), {}, index), 'uint16');
      const shift = (index * 4) % 256;
      const wrong = pixels.findIndex((value, i) => {
        const phase = ((i % width) + Math.floor(i / width) - shift + 256 * 8) % 256;
        return value !== Math.round((65535 * phase) / 256);
      });
      assert.equal(wrong, -1, `${width}x${height} frame ${index}: pixel ${wrong} is off`);
    }
  });

  for (const pattern of SIM_PATTERNS) {
    for (const input of [{ dtype: 'uint8' }, { bit_depth: 12 }] as const) {
      test(`${pattern} ${input.bit_depth ?? input.dtype}: rendered into a given buffer, the same bytes, in that buffer`, () => {
        const resolved = options({ pattern, ...input });
        const expected = renderSimFrame(resolved, {}, 5);
        const into = new Uint8Array(expected.byteLength);
        assert.equal(renderSimFrame(resolved, {}, 5, into), into);
        assert.deepEqual(into, expected);
        // A slot at an odd offset of a larger buffer (a uint16 view cannot sit there): still exact, nothing else touched.
        const ring = new Uint8Array(expected.byteLength + 3).fill(0xaa);
        const slot = ring.subarray(1, 1 + expected.byteLength);
        assert.equal(renderSimFrame(resolved, {}, 5, slot), slot);
        assert.deepEqual(slot, expected);
        assert.deepEqual([ring[0], ring[ring.length - 2], ring[ring.length - 1]], [0xaa, 0xaa, 0xaa]);
        assert.throws(() => renderSimFrame(resolved, {}, 5, new Uint8Array(expected.byteLength - 1)), {
          code: 'BAD_ARGUMENT',
          message: /holds \d+ bytes; this frame takes \d+/,
        });
      });
    }
  }
});

describe('settings change the image as a camera would', () => {
  for (const pattern of SIM_PATTERNS) {
    test(`${pattern}: exposure, gain and brightness each raise the mean`, () => {
      const base = meanOf({ pattern }, {});
      assert.ok(meanOf({ pattern }, { exposure_ms: 5 }) < base);
      assert.ok(meanOf({ pattern }, { exposure_ms: 15 }) > base);
      assert.ok(meanOf({ pattern }, { gain: 0.5 }) < base);
      assert.ok(meanOf({ pattern }, { gain: 1.5 }) > base);
      assert.ok(meanOf({ pattern }, { brightness: -5 }) < base);
      assert.ok(meanOf({ pattern }, { brightness: 5 }) > base);
    });
  }

  test('particles: signal above the black level is proportional to exposure and to gain (photons ∝ exposure)', () => {
    const input = { pattern: 'particles', width: 256, height: 256 } as const;
    const black = defaultSimSettings(options(input)).offset_dn;
    const signal = (settings: Partial<SimSettings>) => meanOf(input, settings) - black;
    const base = signal({});
    assert.ok(Math.abs(signal({ exposure_ms: 20 }) / base - 2) < 0.01);
    assert.ok(Math.abs(signal({ exposure_ms: 2.5 }) / base - 0.25) < 0.01);
    const quarter = signal({ exposure_ms: 2.5 });
    assert.ok(Math.abs(signal({ exposure_ms: 2.5, gain: 3 }) / quarter - 3) < 0.01);
    assert.ok(Math.abs(signal({ gain_dn_per_e: 1.5 }) / base - 3) < 0.01);
    assert.ok(Math.abs(signal({ quantum_efficiency: 0.4 }) / base - 0.5) < 0.01);
    assert.ok(Math.abs(meanOf(input, { offset_dn: 300 }) - 300 - base) < 0.01);
  });

  test('brightness adds an offset in percent of full scale', () => {
    // At half exposure nothing reaches full scale, so nothing saturates.
    const input = { pattern: 'gradient', dtype: 'uint8' } as const;
    const shift = meanOf(input, { exposure_ms: 5, brightness: 10 }) - meanOf(input, { exposure_ms: 5 });
    assert.ok(Math.abs(shift - 25.5) < 0.6, `shift ${shift}`);
  });

  for (const { dtype, bit_depth } of [
    { dtype: 'uint8', bit_depth: 8 },
    { dtype: 'uint16', bit_depth: 10 },
    { dtype: 'uint16', bit_depth: 12 },
    { dtype: 'uint16', bit_depth: 14 },
    { dtype: 'uint16', bit_depth: 16 },
  ] as const) {
    test(`${bit_depth} bits in ${dtype}: saturates at 2^bit_depth - 1 and clamps at 0, never wrapping`, () => {
      const max = 2 ** bit_depth - 1;
      const particles = options({ pattern: 'particles', dtype, bit_depth });
      const saturated = samplesOf(renderSimFrame(particles, { exposure_ms: 1000, gain: 64 }, 0), dtype);
      assert.ok(saturated.every((value) => value === max));
      const black = samplesOf(renderSimFrame(particles, { brightness: -100 }, 0), dtype);
      assert.ok(black.every((value) => value === 0));
      // Half the noise pattern is pushed past full scale: it must pile up at max.
      const noise = samplesOf(renderSimFrame(options({ pattern: 'noise', dtype, bit_depth }), { gain: 2 }, 0), dtype);
      const atMax = noise.filter((value) => value === max).length / noise.length;
      assert.ok(atMax > 0.45 && atMax < 0.55, `fraction at max ${atMax}`);
      assert.ok(Math.max(...noise) === max);
      const gradient = samplesOf(renderSimFrame(options({ pattern: 'gradient', dtype, bit_depth, width: 300 }), {}, 0), dtype);
      assert.ok(Math.max(...gradient) <= max && Math.max(...gradient) > max * 0.9, 'the gradient spans the bit depth');
    });
  }

  test('settings are validated', () => {
    const resolved = options({});
    assert.throws(() => renderSimFrame(resolved, { gain: 1000 }, 0), { code: 'BAD_SETTING', field: 'gain' });
    assert.throws(() => renderSimFrame(resolved, { roi_x: 10 }, 0), { code: 'BAD_SETTING', field: 'roi_x' });
    assert.throws(() => renderSimFrame(resolved, { gain_dn_per_e: 0 }, 0), { code: 'BAD_SETTING', field: 'gain_dn_per_e' });
    assert.throws(() => renderSimFrame(resolved, { photons_per_bead: -1 }, 0), { code: 'BAD_SETTING', field: 'photons_per_bead' });
    assert.throws(() => renderSimFrame(resolved, { bit_depth: 16 }, 0), { code: 'BAD_SETTING', field: 'bit_depth', message: /read-only/ });
  });
});

describe('region of interest', () => {
  for (const pattern of SIM_PATTERNS) {
    for (const dtype of ['uint8', 'uint16'] as const) {
      test(`${pattern} ${dtype}: a ROI frame is exactly the crop of the full frame`, () => {
        // Odd sensor width and odd ROI offset: rows start on both even and odd sensor indices.
        const resolved = options({ pattern, dtype, width: 97, height: 61, particle_count: 60, particle_sigma: 3 });
        const roi = { roi_x: 13, roi_y: 7, roi_width: 51, roi_height: 30 };
        const full = samplesOf(renderSimFrame(resolved, {}, 4), dtype);
        const crop = samplesOf(renderSimFrame(resolved, roi, 4), dtype);
        assert.equal(crop.length, roi.roi_width * roi.roi_height);
        for (let row = 0; row < roi.roi_height; row++) {
          for (let column = 0; column < roi.roi_width; column++) {
            const expected = full[(roi.roi_y + row) * 97 + roi.roi_x + column];
            if (crop[row * roi.roi_width + column] !== expected) {
              assert.fail(`pixel (${column}, ${row}) of the ROI differs from the full frame`);
            }
          }
        }
      });
    }
  }
});

describe('particles', () => {
  const particles = options({ pattern: 'particles', width: 320, height: 240, particle_count: 20, seed: 3 });

  test('positions are a pure function of (options, index), stay on the sensor and drift smoothly', () => {
    assert.deepEqual(simParticlePositions(particles, 123), simParticlePositions(particles, 123));
    let previous = simParticlePositions(particles, 0);
    assert.equal(previous.length, 20);
    for (let index = 1; index < 2000; index += 1) {
      const current = simParticlePositions(particles, index);
      current.forEach((particle, i) => {
        assert.ok(particle.x >= 0 && particle.x <= 319 && particle.y >= 0 && particle.y <= 239);
        assert.ok(Math.hypot(particle.x - previous[i]!.x, particle.y - previous[i]!.y) < 2, 'a particle jumped');
        assert.equal(particle.brightness, previous[i]!.brightness);
      });
      previous = current;
    }
    const start = simParticlePositions(particles, 0);
    const moved = simParticlePositions(particles, 200).filter((p, i) => Math.hypot(p.x - start[i]!.x, p.y - start[i]!.y) > 5);
    assert.ok(moved.length >= 15, 'particles drift');
  });

  test('spots sit at the ground-truth positions, as bright as the truth says, above the background noise', () => {
    const index = 17;
    const pixels = samplesOf(renderSimFrame(particles, {}, index), 'uint16');
    const background = samplesOf(renderSimFrame({ ...particles, particle_count: 0 }, {}, index), 'uint16');
    // The default 12-bit camera: 100 DN offset, 0.5 DN/e⁻, 2 e⁻ read noise, 30 photons × QE 0.8 + 1 e⁻/s × 10 ms.
    const backgroundElectrons = 30 * 0.8 + 0.01;
    const backgroundMean = mean(background);
    const noise = standardDeviation(background);
    assert.ok(Math.abs(backgroundMean - (100 + 0.5 * backgroundElectrons)) < 0.05, `background ${backgroundMean}`);
    // Shot and read noise, plus rounding to whole DN (1/12 DN²).
    const expectedNoise = Math.sqrt(0.25 * (backgroundElectrons + 4) + 1 / 12);
    assert.ok(Math.abs(noise / expectedNoise - 1) < 0.02, `noise sd ${noise} vs ${expectedNoise}`);
    assert.ok(Math.max(...pixels) <= 4095);

    const truth = simParticlePositions(particles, index);
    const header = simFrameTruth(particles, {}, index)!;
    const isolated = truth
      .map((p, i) => ({ ...p, amplitude: header.amplitude[i]! }))
      .filter((p) => p.x > 10 && p.x < 309 && p.y > 10 && p.y < 229)
      .filter((p) => truth.every((q) => (q.x === p.x && q.y === p.y) || Math.hypot(p.x - q.x, p.y - q.y) > 12));
    assert.ok(isolated.length >= 10, `only ${isolated.length} isolated particles`);
    for (const particle of isolated) {
      const x = Math.round(particle.x);
      const y = Math.round(particle.y);
      const peak = pixels[y * 320 + x]! - backgroundMean;
      // The truth's amplitude is the expectation at the exact centre; this pixel is up to half a pixel off it.
      const expected = particle.amplitude * Math.exp(-((x - particle.x) ** 2 + (y - particle.y) ** 2) / (2 * 2 * 2));
      const sd = Math.sqrt(0.5 * expected + noise ** 2); // shot noise of the bead's electrons (DN² = 0.5 · DN) plus the background's
      assert.ok(Math.abs(peak - expected) < 5 * sd, `peak ${peak} vs expected ${expected} ± ${sd}`);
      assert.ok(expected / noise > 8, `SNR ${expected / noise}`);
      // The brightest pixel near the spot is within a pixel or two of the truth.
      let best = { value: -1, x: 0, y: 0 };
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const value = pixels[(y + dy) * 320 + x + dx]!;
          if (value > best.value) best = { value, x: x + dx, y: y + dy };
        }
      }
      assert.ok(Math.hypot(best.x - particle.x, best.y - particle.y) <= 2, 'peak away from the ground truth');
    }
  });
});

describe('noise model', () => {
  const flat = options({ pattern: 'particles', width: 256, height: 256, particle_count: 0, bit_depth: 16 });
  // An ideal photon counter: 1 DN per electron, no offset, read noise or dark current.
  const counter: Partial<SimSettings> = { gain_dn_per_e: 1, offset_dn: 0, read_noise_e: 0, dark_current_e_per_s: 0, quantum_efficiency: 1 };

  function moments(values: readonly number[]): { mean: number; variance: number } {
    const m = mean(values);
    return { mean: m, variance: values.reduce((sum, value) => sum + (value - m) ** 2, 0) / (values.length - 1) };
  }

  for (const photons of [0.5, 3, 30, 400, 20_000]) {
    test(`shot noise: ${photons} photons a pixel give Poisson counts (mean = variance = ${photons})`, () => {
      const { mean: m, variance } = moments(samplesOf(renderSimFrame(flat, { ...counter, background_photons: photons }, 1), 'uint16'));
      const tolerance = 5 * Math.sqrt(photons / 65536);
      assert.ok(Math.abs(m - photons) < tolerance + 0.01, `mean ${m}`);
      assert.ok(Math.abs(variance / photons - 1) < 0.03, `variance ${variance}`);
    });
  }

  test('per-pixel Poisson draws: exact below a mean of 10, the skew-corrected normal from there, both Poisson', () => {
    const draws = 100_000;
    for (const lambda of [0.3, 3, POISSON_EXACT_BELOW - 0.1, POISSON_EXACT_BELOW, 25, 400]) {
      const counts = Array.from({ length: draws }, (_, i) => poissonFromLevel(lambda, mix32(i) >>> 16));
      const { mean: m, variance } = moments(counts);
      assert.ok(Math.abs(m - lambda) < 5 * Math.sqrt(lambda / draws), `${lambda}: mean ${m}`);
      assert.ok(Math.abs(variance / lambda - 1) < 0.025, `${lambda}: variance ${variance}`);
      if (lambda > 30) continue;
      // The distribution itself, P(k) against e^-λ λ^k / k!.
      let p = Math.exp(-lambda);
      for (let k = 0; k <= 2 * lambda + 3; k++) {
        const observed = counts.filter((count) => count === k).length / draws;
        assert.ok(Math.abs(observed - p) < 0.004, `${lambda}: P(${k}) = ${observed} vs ${p}`);
        p *= lambda / (k + 1);
      }
    }
  });

  test('shot noise at a low mean has the Poisson distribution, zeros included', () => {
    const values = samplesOf(renderSimFrame(flat, { ...counter, background_photons: 2 }, 2), 'uint16');
    for (let k = 0; k <= 6; k++) {
      const expected = (Math.exp(-2) * 2 ** k) / [1, 1, 2, 6, 24, 120, 720][k]!;
      const observed = values.filter((value) => value === k).length / values.length;
      assert.ok(Math.abs(observed - expected) < 0.006, `P(${k}) = ${observed} vs ${expected}`);
    }
  });

  test('under the beads too: a bead pixel is Poisson around its mean, bright or faint', () => {
    // 400 single-bead frames: the pixel nearest each bead's centre, against its expected count.
    const bead = options({ pattern: 'particles', width: 64, height: 64, particle_count: 1, particle_sigma: 2, bit_depth: 16, seed: 9 });
    for (const photonsPerBead of [300, 8000]) {
      const settings = { ...counter, background_photons: 0, photons_per_bead: photonsPerBead };
      const residuals: number[] = [];
      for (let index = 0; index < 400; index++) {
        const [p] = simParticlePositions(bead, index);
        const x = Math.round(p!.x);
        const y = Math.round(p!.y);
        const expected = simFrameTruth(bead, settings, index)!.amplitude[0]! * Math.exp(-((x - p!.x) ** 2 + (y - p!.y) ** 2) / 8);
        const value = samplesOf(renderSimFrame(bead, settings, index), 'uint16')[y * 64 + x]!;
        residuals.push((value - expected) / Math.sqrt(expected));
      }
      const { mean: m, variance } = moments(residuals);
      assert.ok(Math.abs(m) < 0.2, `${photonsPerBead}: mean residual ${m}`);
      assert.ok(Math.abs(variance - 1) < 0.2, `${photonsPerBead}: residual variance ${variance}`);
    }
  });

  test('pixels under a bead and pixels of the background table draw from the same distribution', () => {
    // Beads too faint to matter (1e-3 photons) but covering most of the frame: their squares go
    // through the per-pixel path, the rest through the table; the histogram must not tell them apart.
    const covered = options({ pattern: 'particles', width: 256, height: 256, particle_count: 600, seed: 4 });
    const settings = { photons_per_bead: 1e-3 };
    const table = samplesOf(
      renderSimFrame(options({ pattern: 'particles', width: 256, height: 256, particle_count: 0 }), settings, 0),
      'uint16',
    );
    const perPixel = samplesOf(renderSimFrame(covered, settings, 0), 'uint16');
    const a = moments(table);
    const b = moments(perPixel);
    assert.ok(Math.abs(a.mean - b.mean) < 0.05, `means ${a.mean} ${b.mean}`);
    assert.ok(Math.abs(a.variance / b.variance - 1) < 0.03, `variances ${a.variance} ${b.variance}`);
    for (let dn = 106; dn <= 118; dn++) {
      const pa = table.filter((value) => value === dn).length / table.length;
      const pb = perPixel.filter((value) => value === dn).length / perPixel.length;
      assert.ok(Math.abs(pa - pb) < 0.006, `P(${dn}): ${pa} vs ${pb}`);
    }
  });

  test('read noise is Gaussian in electrons, times the gain; the offset is in DN', () => {
    const settings = { ...counter, background_photons: 0, read_noise_e: 10, gain_dn_per_e: 2, offset_dn: 1000 };
    const values = samplesOf(renderSimFrame(flat, settings, 3), 'uint16');
    const { mean: m, variance } = moments(values);
    assert.ok(Math.abs(m - 1000) < 0.5, `mean ${m}`);
    assert.ok(Math.abs(Math.sqrt(variance) / 20 - 1) < 0.02, `sd ${Math.sqrt(variance)}`);
    const within = values.filter((value) => Math.abs(value - 1000) <= 20).length / values.length;
    // |N(0, 20²)| < 20.5, the values that round to within 20 DN: 2Φ(1.025) - 1.
    assert.ok(Math.abs(within - 0.6946) < 0.01, `within 1 sd: ${within}`);
  });

  test('dark current adds Poisson electrons in proportion to the exposure', () => {
    const settings = { ...counter, background_photons: 0, dark_current_e_per_s: 500 };
    for (const exposure_ms of [10, 40]) {
      const { mean: m, variance } = moments(samplesOf(renderSimFrame(flat, { ...settings, exposure_ms }, 4), 'uint16'));
      const expected = (500 * exposure_ms) / 1000;
      assert.ok(Math.abs(m / expected - 1) < 0.02 && Math.abs(variance / expected - 1) < 0.05, `${exposure_ms} ms: ${m}, ${variance}`);
    }
  });
});

test('bit_depth and dtype follow each other; a bit depth that does not fit the dtype is refused naming bit_depth', () => {
  assert.deepEqual(
    [{}, { bit_depth: 8 }, { bit_depth: 14 }, { dtype: 'uint8' }, { dtype: 'uint16' }, { dtype: 'uint16', bit_depth: 8 }].map((input) => {
      const { dtype, bit_depth } = parseSimCameraOptions(input);
      return [dtype, bit_depth];
    }),
    [
      ['uint16', 12],
      ['uint8', 8],
      ['uint16', 14],
      ['uint8', 8],
      ['uint16', 12],
      ['uint16', 8],
    ],
  );
  assert.throws(() => parseSimCameraOptions({ dtype: 'uint8', bit_depth: 12 }), {
    code: 'BAD_ARGUMENT',
    field: 'bit_depth',
    message: /12 bits do not fit dtype uint8/,
  });
  for (const bad of [7, 17, 12.5]) {
    assert.throws(() => parseSimCameraOptions({ bit_depth: bad }), {
      code: 'BAD_ARGUMENT',
      field: 'bit_depth',
      message: new RegExp(`got ${bad}`),
    });
  }
});

test('bad options are refused naming the option', () => {
  assert.throws(
    () => parseSimCameraOptions({ width: 0 }),
    (error: unknown) => {
      assert.ok(error instanceof LabcastError);
      assert.equal(error.code, 'BAD_ARGUMENT');
      assert.equal(error.field, 'width');
      assert.match(error.message, /got 0/);
      return true;
    },
  );
});

test('renderSimFrame renders into memory it is given, and follows settings that change between frames', () => {
  const options = parseSimCameraOptions({ width: 32, height: 16, dtype: 'uint16', pattern: 'gradient' });
  const settings = Object.freeze({ brightness: 0 });
  const into = new Uint8Array(32 * 16 * 2);
  assert.equal(renderSimFrame(options, settings, 3, into), into);
  assert.deepEqual(into, renderSimFrame(options, settings, 3));
  // A new (frozen) settings object, as setSetting makes: the frame follows it, not the last resolved one.
  assert.notDeepEqual(renderSimFrame(options, Object.freeze({ brightness: 20 }), 3), into);
  // A mutable object changed in place between frames is resolved afresh too.
  const mutable: { -readonly [K in keyof SimSettings]?: SimSettings[K] } = { brightness: 0 };
  const first = renderSimFrame(options, mutable, 3);
  mutable.brightness = 20;
  assert.notDeepEqual(renderSimFrame(options, mutable, 3), first);
  assert.throws(() => renderSimFrame(options, settings, 3, new Uint8Array(10)), { code: 'BAD_ARGUMENT' });
});
