import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawFrame } from '../../src/web/frame-render.js';
import { lineProfile, MAX_REGION_PIXELS, rawRegion, regionStats } from '../../src/web/raw-inspect.js';

function uint16Frame(height: number, width: number, value: (x: number, y: number) => number): RawFrame {
  const pixels = new Uint8Array(height * width * 2);
  const view = new DataView(pixels.buffer);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) view.setUint16(2 * (y * width + x), value(x, y), true);
  return { shape: [height, width], dtype: 'uint16', pixels };
}

const ramp = uint16Frame(50, 40, (x, y) => 1000 * y + x);

test('a raw region gives the exact samples, row-major, clamped to the frame', () => {
  const region = rawRegion(ramp, { x: 38, y: 2, width: 5, height: 2 });
  assert.deepEqual(region, { x: 38, y: 2, width: 2, height: 2, channels: 1, values: [2038, 2039, 3038, 3039] });
  assert.throws(() => rawRegion(ramp, { x: 100, y: 0, width: 1, height: 1 }), /outside the 40×50 frame/);
  assert.throws(
    () =>
      rawRegion(
        uint16Frame(300, 300, () => 0),
        { x: 0, y: 0, width: 300, height: 300 },
      ),
    new RegExp(String(MAX_REGION_PIXELS)),
  );
});

test('a colour frame gives every channel', () => {
  const frame: RawFrame = { shape: [1, 2, 3], dtype: 'uint8', pixels: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
  assert.deepEqual(rawRegion(frame, { x: 1, y: 0, width: 1, height: 1 }).values, [4, 5, 6]);
  assert.deepEqual(lineProfile(frame, 0, 0, 1, 0).values, [
    [1, 4],
    [2, 5],
    [3, 6],
  ]);
});

test('a line profile samples one pixel per step along the longer axis, nearest the line', () => {
  const horizontal = lineProfile(ramp, 2, 5, 6, 5);
  assert.deepEqual(horizontal.values[0], [5002, 5003, 5004, 5005, 5006]);
  const steep = lineProfile(ramp, 0, 0, 2, 4);
  assert.deepEqual(steep.points, [
    [0, 0],
    [1, 1],
    [1, 2],
    [2, 3],
    [2, 4],
  ]);
  assert.deepEqual(steep.values[0], [0, 1001, 2001, 3002, 4002]);
  // Ends beyond the frame are clamped; a zero-length line is its one pixel.
  assert.equal(lineProfile(ramp, -10, 0, 100, 0).points.length, 40);
  assert.deepEqual(lineProfile(ramp, 3, 3, 3, 3).values, [[3003]]);
});

test('region statistics: mean, population std, min, max and sum, exact for 16-bit values over a large region', () => {
  const stats = regionStats(ramp, { x: 1, y: 1, width: 2, height: 2 });
  assert.equal(stats.pixels, 4);
  const values = [1001, 1002, 2001, 2002];
  const mean = values.reduce((a, b) => a + b) / 4;
  assert.deepEqual(stats.channels[0], {
    mean,
    std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / 4),
    min: 1001,
    max: 2002,
    sum: 6006,
  });
  const bright = regionStats(
    uint16Frame(512, 512, (x) => 65534 + (x % 2)),
    { x: 0, y: 0, width: 512, height: 512 },
  );
  assert.equal(bright.channels[0]!.mean, 65534.5);
  assert.equal(bright.channels[0]!.std, 0.5);
});
