import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { frameStats } from '../../src/analysis/frame-stats.js';
import { parseSimCameraOptions, SIM_PATTERNS } from '../../src/camera-spec/sim-options.js';
import { renderSimFrame } from '../../src/devices/sim/render.js';
import type { PixelDtype } from '../../src/protocol/dtype.js';

function samplesOf(pixels: Uint8Array, dtype: PixelDtype): number[] {
  if (dtype === 'uint8') return Array.from(pixels);
  const view = new DataView(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return Array.from({ length: pixels.byteLength / 2 }, (_, i) => view.getUint16(2 * i, true));
}

/** The obvious computation, pixel by pixel, in the same conventions. */
function direct(values: number[], bins: number, low: number, high: number) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  const mean = sum / values.length;
  const std = Math.sqrt(values.reduce((t, v) => t + (v - mean) ** 2, 0) / values.length);
  const histogram = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  for (const v of values) {
    if (v < low) below++;
    else if (v >= high) above++;
    else histogram[Math.floor(((v - low) * bins) / (high - low))]!++;
  }
  return { min, max, mean, std, histogram, below, above };
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

describe('frameStats against a direct computation', () => {
  for (const dtype of ['uint8', 'uint16'] as const) {
    for (const pattern of SIM_PATTERNS) {
      test(`${dtype} ${pattern}, several frames, default and custom histograms`, () => {
        const options = parseSimCameraOptions({ width: 97, height: 61, dtype, pattern, particle_count: 15, seed: 3 });
        const top = dtype === 'uint8' ? 256 : 65536;
        for (const index of [0, 1, 7]) {
          const pixels = renderSimFrame(options, { gain: 1.5, brightness: 3 }, index);
          const values = samplesOf(pixels, dtype);
          for (const [bins, low, high] of [
            [256, 0, top],
            [100, 0, top],
            [37, top * 0.05, top * 0.3],
          ] as const) {
            const stats = frameStats(pixels, [61, 97], dtype, { bins, range: { low, high } });
            const expected = direct(values, bins, low, high);
            assert.equal(stats.count, values.length);
            assert.equal(stats.min, expected.min);
            assert.equal(stats.max, expected.max);
            close(stats.mean, expected.mean, 'mean');
            close(stats.std, expected.std, 'std');
            assert.deepEqual(Array.from(stats.histogram), expected.histogram);
            assert.equal(stats.below, expected.below);
            assert.equal(stats.above, expected.above);
            assert.equal(stats.binWidth, (high - low) / bins);
          }
        }
      });
    }
  }

  test('defaults: 256 bins over the dtype range; the histogram buffer is reused', () => {
    const pixels = new Uint8Array([0, 0, 255, 10, 10, 10]);
    const stats = frameStats(pixels, [2, 3], 'uint8');
    assert.equal(stats.histogram.length, 256);
    assert.deepEqual([stats.histogram[0], stats.histogram[10], stats.histogram[255]], [2, 3, 1]);
    assert.equal(stats.low, 0);
    assert.equal(stats.high, 256);
    const again = frameStats(pixels, [2, 3], 'uint8', { histogram: stats.histogram });
    assert.equal(again.histogram, stats.histogram);
    assert.equal(again.histogram[10], 3); // cleared before counting, not accumulated
    const wide = frameStats(new Uint8Array([0xff, 0xff, 0, 1]), [1, 2], 'uint16');
    assert.deepEqual([wide.min, wide.max, wide.histogram[255], wide.histogram[1]], [256, 65535, 1, 1]);
  });

  test('empty frame and bad arguments', () => {
    const empty = frameStats(new Uint8Array(0), [0, 5], 'uint16');
    assert.equal(empty.count, 0);
    assert.ok(Number.isNaN(empty.mean) && Number.isNaN(empty.min) && Number.isNaN(empty.std));
    assert.throws(() => frameStats(new Uint8Array(3), [2, 2], 'uint8'), { code: 'BAD_ARGUMENT' });
    assert.throws(() => frameStats(new Uint8Array(4), [2, 2], 'uint8', { bins: 0 }), { code: 'BAD_ARGUMENT' });
    assert.throws(() => frameStats(new Uint8Array(4), [2, 2], 'uint8', { range: { low: 5, high: 5 } }), { code: 'BAD_ARGUMENT' });
  });
});
