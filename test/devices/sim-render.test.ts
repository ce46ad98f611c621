import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSimCameraOptions, SIM_PATTERNS, type SimCameraOptionsInput } from '../../src/camera-spec/sim-options.js';
import { simParticlePositions } from '../../src/devices/sim/particles.js';
import { PARTICLE_BACKGROUND, READ_NOISE, renderSimFrame } from '../../src/devices/sim/render.js';
import type { SimSettings } from '../../src/devices/sim/sim-settings.js';
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
    // Gradient frame 0: pixel (x, 0) is round(65535 * x / 256), so pixel 1 is 256 = bytes 00 01.
    const pixels = renderSimFrame(options({ pattern: 'gradient', dtype: 'uint16' }), {}, 0);
    assert.deepEqual(Array.from(pixels.subarray(0, 4)), [0x00, 0x00, 0x00, 0x01]);
  });
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

  test('signal is proportional to exposure and to gain (photons ∝ exposure)', () => {
    const input = { pattern: 'particles', width: 256, height: 256 } as const;
    const base = meanOf(input, {});
    assert.ok(Math.abs(meanOf(input, { exposure_ms: 20 }) / base - 2) < 0.01);
    assert.ok(Math.abs(meanOf(input, { exposure_ms: 2.5 }) / base - 0.25) < 0.01);
    // Gain times three at a quarter exposure, so that spot peaks stay below saturation.
    const quarter = meanOf(input, { exposure_ms: 2.5 });
    assert.ok(Math.abs(meanOf(input, { exposure_ms: 2.5, gain: 3 }) / quarter - 3) < 0.01);
  });

  test('brightness adds an offset in percent of full scale', () => {
    // At half exposure nothing reaches full scale, so nothing saturates.
    const input = { pattern: 'gradient', dtype: 'uint8' } as const;
    const shift = meanOf(input, { exposure_ms: 5, brightness: 10 }) - meanOf(input, { exposure_ms: 5 });
    assert.ok(Math.abs(shift - 25.5) < 0.6, `shift ${shift}`);
  });

  for (const dtype of ['uint8', 'uint16'] as const) {
    test(`${dtype}: saturates at the dtype maximum and clamps at 0, never wrapping`, () => {
      const max = dtype === 'uint8' ? 255 : 65535;
      const particles = options({ pattern: 'particles', dtype });
      const saturated = samplesOf(renderSimFrame(particles, { exposure_ms: 1000, gain: 64 }, 0), dtype);
      assert.ok(saturated.every((value) => value === max));
      const black = samplesOf(renderSimFrame(particles, { brightness: -100 }, 0), dtype);
      assert.ok(black.every((value) => value === 0));
      // Half the noise pattern is pushed past full scale: it must pile up at max.
      const noise = samplesOf(renderSimFrame(options({ pattern: 'noise', dtype }), { gain: 2 }, 0), dtype);
      const atMax = noise.filter((value) => value === max).length / noise.length;
      assert.ok(atMax > 0.45 && atMax < 0.55, `fraction at max ${atMax}`);
      assert.ok(Math.max(...noise) === max);
    });
  }

  test('settings are validated', () => {
    const resolved = options({});
    assert.throws(() => renderSimFrame(resolved, { gain: 1000 }, 0), { code: 'BAD_SETTING', field: 'gain' });
    assert.throws(() => renderSimFrame(resolved, { roi_x: 10 }, 0), { code: 'BAD_SETTING', field: 'roi_x' });
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
        assert.equal(particle.amplitude, previous[i]!.amplitude);
      });
      previous = current;
    }
    const start = simParticlePositions(particles, 0);
    const moved = simParticlePositions(particles, 200).filter((p, i) => Math.hypot(p.x - start[i]!.x, p.y - start[i]!.y) > 5);
    assert.ok(moved.length >= 15, 'particles drift');
  });

  test('spots sit at the ground-truth positions with SNR well above 10', () => {
    const index = 17;
    const pixels = samplesOf(renderSimFrame(particles, {}, index), 'uint16');
    const background = samplesOf(renderSimFrame({ ...particles, particle_count: 0 }, {}, index), 'uint16');
    const backgroundMean = mean(background);
    const noise = standardDeviation(background);
    assert.ok(Math.abs(backgroundMean - 65535 * PARTICLE_BACKGROUND) < 0.01 * 65535);
    assert.ok(Math.abs(noise - 65535 * READ_NOISE) < 0.001 * 65535 + 1, `noise sd ${noise}`);

    const truth = simParticlePositions(particles, index);
    const isolated = truth.filter(
      (p, i) => p.x > 10 && p.x < 309 && p.y > 10 && p.y < 229 && truth.every((q, j) => j === i || Math.hypot(p.x - q.x, p.y - q.y) > 12),
    );
    assert.ok(isolated.length >= 10, `only ${isolated.length} isolated particles`);
    for (const particle of isolated) {
      const x = Math.round(particle.x);
      const y = Math.round(particle.y);
      const peak = pixels[y * 320 + x]!;
      assert.ok((peak - backgroundMean) / noise > 10, `SNR ${(peak - backgroundMean) / noise}`);
      // The brightest pixel near the spot is within a pixel of the truth.
      let best = { value: -1, x: 0, y: 0 };
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const value = pixels[(y + dy) * 320 + x + dx]!;
          if (value > best.value) best = { value, x: x + dx, y: y + dy };
        }
      }
      assert.ok(Math.hypot(best.x - particle.x, best.y - particle.y) <= 1.5, 'peak away from the ground truth');
    }
  });
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
