import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clampRegion,
  demosaicSuperpixel,
  frameStats,
  renderDisplayFrame,
  sampleFormatOf,
  sampleFullScale,
  type BayerPattern,
  type RawFrame,
} from '../../src/web/frame-render.js';

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

test('a flat frame with auto levels is shown on the absolute scale: a saturated one is white, not black', () => {
  const dim = renderDisplayFrame(
    uint16Frame(2, 2, () => 7),
    { maxWidth: 10, maxHeight: 10, levels: { mode: 'auto' } },
  );
  assert.deepEqual([dim.black, dim.white], [0, 65535]);
  assert.deepEqual(Array.from(dim.pixels), [0, 0, 0, 0]);
  assert.equal(dim.saturated, null);
  const saturated = renderDisplayFrame(
    uint16Frame(2, 2, () => 65535),
    { maxWidth: 10, maxHeight: 10, levels: { mode: 'auto' } },
  );
  assert.deepEqual(Array.from(saturated.pixels), [255, 255, 255, 255]);
  assert.deepEqual(Array.from(saturated.saturated ?? []), [1, 1, 1, 1], 'every pixel marked saturated');
  const twelveBit = renderDisplayFrame(
    uint16Frame(1, 2, () => 4095),
    { maxWidth: 10, maxHeight: 10, levels: { mode: 'auto' } },
    { bitDepth: 12 },
  );
  assert.deepEqual([twelveBit.black, twelveBit.white], [0, 4095]);
  assert.deepEqual(Array.from(twelveBit.pixels), [255, 255]);
});

test('saturated samples are marked per display pixel, also when downscaled, and counted over the frame', () => {
  // 4×4 with one saturated pixel at (3, 1), shown at 2×2: the top-right display pixel is marked.
  const frame = uint16Frame(4, 4, (x, y) => (x === 3 && y === 1 ? 65535 : 100 + x));
  const shown = renderDisplayFrame(frame, { maxWidth: 2, maxHeight: 2, levels: { mode: 'manual', black: 0, white: 200 } });
  assert.deepEqual([shown.width, shown.height], [2, 2]);
  assert.deepEqual(Array.from(shown.saturated ?? []), [0, 1, 0, 0]);
  assert.equal(frameStats(frame).saturated, 1);
  // A frame larger than the statistics sample (strided): every saturated sample still counts, also those between samples.
  const large = uint16Frame(1024, 1024, (x, y) => (x % 7 === 1 && y % 3 === 0 ? 65535 : 10));
  let expected = 0;
  for (let y = 0; y < 1024; y += 3) for (let x = 0; x < 1024; x++) if (x % 7 === 1) expected++;
  assert.equal(frameStats(large).saturated, expected);
  // A 12-bit camera saturates at 4095 whatever the dtype.
  assert.equal(
    frameStats(
      uint16Frame(1, 3, (x) => [4095, 4094, 5000][x]!),
      { bitDepth: 12 },
    ).saturated,
    2,
  );
  assert.equal(
    renderDisplayFrame(
      uint16Frame(1, 2, () => 4095),
      { maxWidth: 9, maxHeight: 9, levels: { mode: 'auto' } },
    ).saturated,
    null,
    'without a bit depth 4095 is not saturated in uint16',
  );
});

test("a region is shown at the frame's own scale, never magnified, and reports what it covers", () => {
  const frame = uint16Frame(64, 64, (x, y) => y * 64 + x);
  const zoomed = renderDisplayFrame(frame, {
    maxWidth: 500,
    maxHeight: 500,
    levels: { mode: 'manual', black: 0, white: 65535 },
    region: { x: 10, y: 20, width: 4, height: 3 },
  });
  assert.deepEqual([zoomed.width, zoomed.height], [4, 3], 'one display pixel per frame pixel');
  assert.deepEqual(zoomed.region, { x: 10, y: 20, width: 4, height: 3 });
  // A region larger than the display is downscaled; it is clamped to the frame.
  const half = renderDisplayFrame(frame, {
    maxWidth: 16,
    maxHeight: 16,
    levels: { mode: 'auto' },
    region: { x: 32, y: -5, width: 100, height: 40 },
  });
  // Rows -5..34 clamp to 0..34: 32×35 into 16×16 is a factor of 3 → 10×11 display pixels, covering 30×33 frame pixels.
  assert.deepEqual([half.width, half.height], [10, 11]);
  assert.deepEqual(half.region, { x: 32, y: 0, width: 30, height: 33 });
  // A region chosen on a frame of another shape (the camera ROI changed since) is ignored: the whole frame.
  const other = renderDisplayFrame(frame, {
    maxWidth: 500,
    maxHeight: 500,
    levels: { mode: 'auto' },
    region: { x: 10, y: 20, width: 4, height: 3 },
    regionShape: [768, 1024],
  });
  assert.deepEqual(other.region, { x: 0, y: 0, width: 64, height: 64 });
  // The auto levels are those of the region shown: its top-left pixel is its darkest.
  assert.equal(zoomed.pixels[0], Math.round(((20 * 64 + 10) * 255) / 65535));
});

test('clampRegion keeps whole pixels inside the frame, even-aligned for a Bayer mosaic', () => {
  assert.deepEqual(clampRegion(undefined, 8, 6), { x: 0, y: 0, width: 8, height: 6 });
  assert.deepEqual(clampRegion({ x: -3.5, y: 2.2, width: 5, height: 100 }, 8, 6), { x: 0, y: 2, width: 2, height: 4 });
  assert.deepEqual(clampRegion({ x: 3, y: 1, width: 3, height: 3 }, 8, 6, true), { x: 2, y: 0, width: 4, height: 4 });
  assert.deepEqual(clampRegion({ x: 20, y: 20, width: 3, height: 3 }, 8, 6), { x: 7, y: 5, width: 1, height: 1 });
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

test('the histogram spans the camera bit depth: a 12-bit camera in uint16 over 0..4095', () => {
  assert.equal(sampleFullScale('uint16', 12), 4095);
  assert.equal(sampleFullScale('uint16', 16), 65535);
  assert.equal(sampleFullScale('uint8', 8), 255);
  assert.equal(sampleFullScale('uint16', undefined), 65535, 'no bit depth: the dtype range');
  assert.equal(sampleFullScale('uint8', 12), 255, 'a bit depth the dtype cannot hold is ignored');
  assert.equal(sampleFullScale('uint16', 0), 65535);

  const stats = frameStats(
    uint16Frame(1, 4, (x) => [0, 16, 4095, 5000][x]!),
    sampleFormatOf({ bit_depth: 12 }),
  );
  assert.equal(stats.fullScale, 4095);
  // 256 bins over 0..4095: 16 values a bin; 5000 (beyond the bit depth) counts in the top bin.
  assert.equal(stats.histogram[0], 1);
  assert.equal(stats.histogram[1], 1);
  assert.equal(stats.histogram[255], 2);
  assert.equal(stats.max, 5000);
});

test('the sample format comes from the camera settings bit_depth and bayer_pattern, ignoring anything else', () => {
  assert.deepEqual(sampleFormatOf({ bit_depth: 12, bayer_pattern: 'GR', exposure_ms: 3 }), { bitDepth: 12, bayerPattern: 'GR' });
  assert.deepEqual(sampleFormatOf({ bit_depth: 'twelve', bayer_pattern: 'XY' }), {});
  assert.deepEqual(sampleFormatOf(undefined), {});
});

/** A width×height Bayer mosaic of one colour (r, g, b) under `pattern`. */
function bayerMosaic(pattern: BayerPattern, width: number, height: number, [r, g, b]: [number, number, number]): Uint8Array {
  const colourAt = { R: r, G: g, B: b };
  const filter = { RG: 'RGGB', GR: 'GRBG', GB: 'GBRG', BG: 'BGGR' }[pattern];
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) pixels[y * width + x] = colourAt[filter[(y % 2) * 2 + (x % 2)] as 'R' | 'G' | 'B'];
  }
  return pixels;
}

test('a raw Bayer frame is shown demosaiced: a mosaic of one colour renders as that colour, for each pattern', () => {
  const orange: [number, number, number] = [240, 120, 30];
  for (const pattern of ['RG', 'GR', 'GB', 'BG'] as const) {
    const frame: RawFrame = { shape: [4, 6], dtype: 'uint8', pixels: bayerMosaic(pattern, 6, 4, orange) };
    const shown = renderDisplayFrame(
      frame,
      { maxWidth: 100, maxHeight: 100, levels: { mode: 'manual', black: 0, white: 255 } },
      { bayerPattern: pattern },
    );
    assert.equal(shown.channels, 3, pattern);
    assert.deepEqual([shown.width, shown.height], [3, 2], `${pattern}: one RGB pixel per 2x2 cell`);
    for (let i = 0; i < shown.width * shown.height; i++) {
      assert.deepEqual(Array.from(shown.pixels.subarray(3 * i, 3 * i + 3)), orange, `${pattern} pixel ${i}`);
    }
    // Without the pattern the same frame is the grey mosaic.
    assert.equal(renderDisplayFrame(frame, { maxWidth: 100, maxHeight: 100, levels: { mode: 'auto' } }).channels, 1);
  }
});

test('demosaic: the two greens of a cell are averaged, and the colours follow the cells', () => {
  // RGGB, 4x2: a red-ish cell then a blue-ish cell.
  const src = [200, 10, 50, 0, 30, 20, 60, 250];
  assert.deepEqual(Array.from(demosaicSuperpixel(src, 4, 2, 'RG')), [200, 20, 20, 50, 30, 250]);
  // Downscaled further, the colour survives the binning.
  const big = renderDisplayFrame(
    { shape: [8, 8], dtype: 'uint8', pixels: bayerMosaic('BG', 8, 8, [10, 200, 90]) },
    { maxWidth: 2, maxHeight: 2, levels: { mode: 'manual', black: 0, white: 255 } },
    { bayerPattern: 'BG' },
  );
  assert.deepEqual([big.width, big.height, big.channels], [2, 2, 3]);
  assert.deepEqual(Array.from(big.pixels.subarray(0, 3)), [10, 200, 90]);
});

test('a region of a Bayer frame starts on a whole 2x2 cell, so the colours stay right', () => {
  const orange: [number, number, number] = [240, 120, 30];
  const frame: RawFrame = { shape: [8, 8], dtype: 'uint8', pixels: bayerMosaic('GR', 8, 8, orange) };
  const shown = renderDisplayFrame(
    frame,
    { maxWidth: 100, maxHeight: 100, levels: { mode: 'manual', black: 0, white: 255 }, region: { x: 3, y: 1, width: 4, height: 4 } },
    { bayerPattern: 'GR' },
  );
  assert.deepEqual(shown.region, { x: 2, y: 0, width: 6, height: 6 });
  assert.deepEqual([shown.width, shown.height, shown.channels], [3, 3, 3]);
  for (let i = 0; i < 9; i++) assert.deepEqual(Array.from(shown.pixels.subarray(3 * i, 3 * i + 3)), orange);
});
