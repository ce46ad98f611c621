import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameStats, renderDisplayFrame, type RawFrame } from '../../src/web/frame-render.js';

function uint16Frame(height: number, width: number, value: (x: number, y: number) => number): RawFrame {
  const pixels = new Uint8Array(height * width * 2);
  const view = new DataView(pixels.buffer);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) view.setUint16(2 * (y * width + x), value(x, y), true);
  return { shape: [height, width], dtype: 'uint16', pixels };
}

test('downscales by a whole factor, averaging each block, and stretches auto levels to 0..255', () => {
  // 4×8 ramp along x: 0, 100, ..., 700.
  const frame = uint16Frame(4, 8, (x) => x * 100);
  const shown = renderDisplayFrame(frame, { maxWidth: 4, maxHeight: 4, levels: { mode: 'auto' } });
  assert.equal(shown.width, 4);
  assert.equal(shown.height, 2);
  assert.equal(shown.channels, 1);
  // Block means 50, 250, 450, 650 → auto black 50, white 650.
  assert.equal(shown.black, 50);
  assert.equal(shown.white, 650);
  assert.deepEqual(Array.from(shown.pixels.slice(0, 4)), [0, 85, 170, 255]);
  assert.deepEqual(Array.from(shown.pixels.slice(4, 8)), [0, 85, 170, 255]);
});

test('manual levels clip below black and above white', () => {
  const frame = uint16Frame(1, 4, (x) => [0, 1000, 2000, 60000][x]!);
  const shown = renderDisplayFrame(frame, { maxWidth: 100, maxHeight: 100, levels: { mode: 'manual', black: 1000, white: 3000 } });
  assert.equal(shown.width, 4);
  assert.deepEqual(Array.from(shown.pixels), [0, 0, 128, 255]);
});

test('a flat frame with auto levels does not divide by zero', () => {
  const shown = renderDisplayFrame(uint16Frame(2, 2, () => 7), { maxWidth: 10, maxHeight: 10, levels: { mode: 'auto' } });
  assert.deepEqual(Array.from(shown.pixels), [0, 0, 0, 0]);
});

test('a colour uint8 frame stays colour, channel by channel', () => {
  // 2×2 RGB: red, green / blue, white; halved to 1×1 → the mean of each channel.
  const pixels = Uint8Array.from([200, 0, 0, 0, 100, 0, 0, 0, 40, 40, 40, 40]);
  const shown = renderDisplayFrame(
    { shape: [2, 2, 3], dtype: 'uint8', pixels },
    { maxWidth: 1, maxHeight: 1, levels: { mode: 'manual', black: 0, white: 255 } },
  );
  assert.equal(shown.channels, 3);
  assert.deepEqual([shown.width, shown.height], [1, 1]);
  assert.deepEqual(Array.from(shown.pixels), [60, 35, 20]);
});

test('uint16 pixels at an odd byte offset are read little-endian', () => {
  const backing = new Uint8Array(1 + 4);
  backing.set([0x34, 0x12, 0xff, 0x00], 1);
  const frame: RawFrame = { shape: [1, 2], dtype: 'uint16', pixels: backing.subarray(1) };
  const stats = frameStats(frame);
  assert.equal(stats.min, 0xff);
  assert.equal(stats.max, 0x1234);
});

test('frame statistics: min, max, mean and a histogram over the dtype range', () => {
  const stats = frameStats(uint16Frame(2, 2, (x, y) => [0, 256, 512, 65535][y * 2 + x]!));
  assert.equal(stats.min, 0);
  assert.equal(stats.max, 65535);
  assert.equal(stats.mean, (0 + 256 + 512 + 65535) / 4);
  assert.equal(stats.fullScale, 65535);
  assert.equal(stats.histogram.length, 256);
  assert.equal(stats.histogram[0], 1);
  assert.equal(stats.histogram[1], 1);
  assert.equal(stats.histogram[2], 1);
  assert.equal(stats.histogram[255], 1);
  assert.equal(stats.samples, 4);
});
