import type { PixelDtype } from '../protocol/dtype.js';

/**
 * Frames for the screen: box-downscaled to the display size and mapped to
 * 8 bits with display levels, plus the few figures the plots need. Pure
 * functions on one frame; no I/O.
 */

export interface RawFrame {
  /** [height, width] or [height, width, channels]. */
  readonly shape: readonly number[];
  readonly dtype: PixelDtype;
  /** Little-endian, row-major, exactly prod(shape) * itemsize bytes. */
  readonly pixels: Uint8Array;
}

/** Display levels in raw pixel units; `auto` stretches the displayed image's min..max. */
export type Levels = { readonly mode: 'auto' } | { readonly mode: 'manual'; readonly black: number; readonly white: number };

/** A rectangle of the camera frame, in its pixels: columns x..x+width-1, rows y..y+height-1. */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface DisplayOptions {
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly levels: Levels;
  /**
   * The part of the frame to show (a zoomed-in view); absent = all of it. It is
   * clamped to the frame, and only ever shrunk (never magnified) to fit
   * maxWidth × maxHeight: the page magnifies, so a zoomed-in view gets the
   * frame's own pixels.
   */
  readonly region?: Region;
  /**
   * The frame shape [height, width] the region was chosen on: a frame of another shape (the
   * camera ROI changed) is shown whole, not through a region meant for the old one.
   */
  readonly regionShape?: readonly [number, number];
}

/** The 2x2 colour filter of a raw Bayer frame, from its top-left pixel (the camera's `bayer_pattern`). */
export type BayerPattern = 'RG' | 'GR' | 'GB' | 'BG';

/** What the camera's settings say about its samples, beyond the frame's dtype and shape. */
export interface SampleFormat {
  /** Significant bits per sample (`bit_depth`): a 12-bit camera's uint16 samples span 0..4095. */
  readonly bitDepth?: number;
  /** Set for a raw Bayer frame, which is shown demosaiced. */
  readonly bayerPattern?: BayerPattern;
}

const BAYER_PATTERNS: readonly string[] = ['RG', 'GR', 'GB', 'BG'];

/** The sample format from camera settings (`bit_depth`, `bayer_pattern`); anything else in them is ignored. */
export function sampleFormatOf(settings: Readonly<Record<string, unknown>> | null | undefined): SampleFormat {
  const bitDepth = settings?.bit_depth;
  const pattern = settings?.bayer_pattern;
  return {
    ...(typeof bitDepth === 'number' && Number.isInteger(bitDepth) ? { bitDepth } : {}),
    ...(typeof pattern === 'string' && BAYER_PATTERNS.includes(pattern) ? { bayerPattern: pattern as BayerPattern } : {}),
  };
}

export interface DisplayFrame {
  readonly width: number;
  readonly height: number;
  /** 1 (grey) or 3 (RGB): a colour frame stays colour. */
  readonly channels: 1 | 3;
  /** width * height * channels bytes, row-major. */
  readonly pixels: Uint8Array;
  /** The levels applied, in raw units (the auto ones when levels are auto). */
  readonly black: number;
  readonly white: number;
  /** The frame pixels shown (the region asked for, clamped, less what a whole downscale factor leaves out). */
  readonly region: Region;
  /**
   * One byte per display pixel, 1 where a sample of the frame pixels it shows
   * is saturated (at the full scale of the camera's bit depth); null when none is.
   */
  readonly saturated: Uint8Array | null;
}

export interface FrameStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** The largest value a sample can take: the dtype's (255 or 65535), or 2^bit_depth - 1 (see sampleFullScale). */
  readonly fullScale: number;
  /** HISTOGRAM_BINS equal bins over 0..fullScale. */
  readonly histogram: Uint32Array;
  /** Pixels counted (all of them up to MAX_STATS_SAMPLES, an even spread beyond). */
  readonly samples: number;
  /** Samples at (or above) the full scale, counted over the whole frame (not a spread). */
  readonly saturated: number;
}

export const HISTOGRAM_BINS = 256;
/**
 * Beyond this many values the statistics use every n-th value (512² grey is
 * counted in full; 1024² every 4th): plenty for a histogram and a mean, and
 * it keeps them under ~1.5 ms a frame.
 */
export const MAX_STATS_SAMPLES = 1 << 18;

export function fullScaleOf(dtype: PixelDtype): number {
  return dtype === 'uint8' ? 255 : 65535;
}

/**
 * The largest value a sample can take: 2^bitDepth - 1 when the camera gives
 * its bit depth (so a 12-bit camera's histogram spans 0..4095, not 0..65535),
 * else the dtype's. A bit depth the dtype cannot hold is ignored.
 */
export function sampleFullScale(dtype: PixelDtype, bitDepth?: number): number {
  const dtypeBits = dtype === 'uint8' ? 8 : 16;
  if (bitDepth === undefined || !Number.isInteger(bitDepth) || bitDepth < 1 || bitDepth > dtypeBits) return fullScaleOf(dtype);
  return 2 ** bitDepth - 1;
}

/** The pixel values as numbers; uint16 is read as little-endian (a view when aligned, else a copy). */
export function sampleArray(frame: RawFrame): Uint8Array | Uint16Array {
  const { pixels } = frame;
  if (frame.dtype === 'uint8') return pixels;
  const count = pixels.byteLength >> 1;
  if (pixels.byteOffset % 2 === 0) return new Uint16Array(pixels.buffer, pixels.byteOffset, count);
  const copy = new Uint16Array(count);
  new Uint8Array(copy.buffer).set(pixels.subarray(0, count * 2));
  return copy;
}

function geometry(shape: readonly number[]): { height: number; width: number; channels: 1 | 3 } {
  const [height = 0, width = 0, channels = 1] = shape;
  if (channels !== 1 && channels !== 3) throw new Error(`a frame has 1 or 3 channels, not ${channels}`);
  return { height, width, channels };
}

/**
 * The part of a `width`×`height` frame a display asks for: clamped to the
 * frame, whole pixels, at least one; even-aligned for a Bayer mosaic (a 2x2
 * cell is one colour pixel).
 */
export function clampRegion(region: Region | undefined, width: number, height: number, even = false): Region {
  if (region === undefined) return { x: 0, y: 0, width, height };
  const align = even ? 2 : 1;
  // Start: inside the frame, on the grid, leaving room for one whole cell.
  const start = (value: number, size: number): number => {
    const inside = Math.min(size - align, Math.max(0, Math.floor(value)));
    return Math.max(0, inside - (inside % align));
  };
  // Length: out to the end asked for, rounded up to whole cells, within the frame.
  const length = (from: number, end: number, size: number): number => {
    const wanted = Math.ceil((Math.ceil(end) - from) / align) * align;
    const room = size - from - ((size - from) % align);
    return Math.max(align, Math.min(wanted, room));
  };
  const x = start(region.x, width);
  const y = start(region.y, height);
  return { x, y, width: length(x, region.x + region.width, width), height: length(y, region.y + region.height, height) };
}

/** The samples of `region` of a row-major frame, as a new array (the frame itself when the region is all of it). */
function cropSamples<T extends Uint8Array | Uint16Array>(src: T, width: number, channels: number, region: Region, full: boolean): T {
  if (full) return src;
  const out = new (src.constructor as new (length: number) => T)(region.width * region.height * channels);
  const rowValues = region.width * channels;
  for (let row = 0; row < region.height; row++) {
    const from = ((region.y + row) * width + region.x) * channels;
    out.set(src.subarray(from, from + rowValues), row * rowValues);
  }
  return out;
}

/**
 * Downscales by a whole factor (mean of each factor×factor block) and maps to
 * 8 bits. A raw Bayer frame (format.bayerPattern, one channel) is first
 * demosaiced to RGB, for display only. With options.region only that part of
 * the frame is shown. Saturated samples (at the full scale of format.bitDepth)
 * are marked in `saturated`, so the page can colour them whatever the levels.
 * `noneSaturated`: the caller has counted none in the frame (frameStats), which
 * spares the look for them.
 */
export function renderDisplayFrame(
  frame: RawFrame,
  options: DisplayOptions,
  format: SampleFormat = {},
  noneSaturated = false,
): DisplayFrame {
  const sensor = geometry(frame.shape);
  const bayer = format.bayerPattern !== undefined && sensor.channels === 1 && sensor.width >= 2 && sensor.height >= 2;
  const shape = options.regionShape;
  const regionFits = shape === undefined || (shape[0] === sensor.height && shape[1] === sensor.width);
  const region = clampRegion(regionFits ? options.region : undefined, sensor.width, sensor.height, bayer);
  const full = region.width === sensor.width && region.height === sensor.height;
  const cropped = cropSamples(sampleArray(frame), sensor.width, sensor.channels, region, full);
  const raw = { width: region.width, height: region.height, channels: sensor.channels };
  const { height, width, channels } = bayer ? { height: raw.height >> 1, width: raw.width >> 1, channels: 3 as const } : raw;
  const src = bayer ? demosaicSuperpixel(cropped, raw.width, raw.height, format.bayerPattern) : cropped;
  const factor = Math.max(1, Math.ceil(width / Math.max(1, options.maxWidth)), Math.ceil(height / Math.max(1, options.maxHeight)));
  const outWidth = Math.max(1, Math.floor(width / factor));
  const outHeight = Math.max(1, Math.floor(height / factor));
  const binned = factor === 1 ? src : binBlocks(src, width, channels, factor, outWidth, outHeight);
  const count = outHeight * outWidth * channels;
  const fullScale = sampleFullScale(frame.dtype, format.bitDepth);
  let black: number;
  let white: number;
  if (options.levels.mode === 'manual') {
    black = options.levels.black;
    white = options.levels.white;
  } else {
    [black, white] = binned instanceof Float32Array ? minMax(binned, count) : minMax(binned, count);
    // A flat image (all saturated, all dark) has no range to stretch: show it on the absolute scale, so it still draws.
    if (white <= black) [black, white] = [0, fullScale];
  }
  const pixels =
    binned instanceof Float32Array
      ? mapLevels(binned, count, black, white)
      : mapWithTable(binned, count, black, white, fullScaleOf(frame.dtype));
  // Frame pixels per display pixel, along each side.
  const step = factor * (bayer ? 2 : 1);
  const saturated = noneSaturated
    ? null
    : saturationMask(cropped, raw.width, raw.height, raw.channels, fullScale, step, outWidth, outHeight);
  const shown = { x: region.x, y: region.y, width: outWidth * step, height: outHeight * step };
  return { width: outWidth, height: outHeight, channels, pixels, black, white, region: shown, saturated };
}

/** Display pixels (each `step`×`step` frame pixels) holding a sample at or above fullScale; null when there are none. */
function saturationMask(
  src: Uint8Array | Uint16Array,
  width: number,
  height: number,
  channels: number,
  fullScale: number,
  step: number,
  outWidth: number,
  outHeight: number,
): Uint8Array | null {
  let mask: Uint8Array | null = null;
  const rows = Math.min(height, outHeight * step);
  const columns = Math.min(width, outWidth * step);
  for (let y = 0; y < rows; y++) {
    const base = y * width * channels;
    for (let i = base, end = base + columns * channels; i < end; i++) {
      if (src[i]! < fullScale) continue;
      mask ??= new Uint8Array(outWidth * outHeight);
      mask[Math.floor(y / step) * outWidth + Math.floor((i - base) / channels / step)] = 1;
    }
  }
  return mask;
}

/** Where red and blue sit in each 2x2 cell (0 top left, 1 top right, 2 bottom left, 3 bottom right); green takes the other two. */
const BAYER_RED_BLUE: Record<BayerPattern, readonly [number, number]> = { RG: [0, 3], GR: [1, 2], GB: [2, 1], BG: [3, 0] };

/**
 * Superpixel demosaic: each 2x2 cell of the mosaic becomes one RGB pixel (its
 * red, its blue, the mean of its two greens), in raw units, so the frame is
 * shown at half size in colour and the levels still apply in raw units. An odd
 * last row or column is left out.
 */
export function demosaicSuperpixel(src: ArrayLike<number>, width: number, height: number, pattern: BayerPattern): Float32Array {
  const outWidth = width >> 1;
  const outHeight = height >> 1;
  const rgb = new Float32Array(outWidth * outHeight * 3);
  const [red, blue] = BAYER_RED_BLUE[pattern];
  const cell = [0, 0, 0, 0];
  for (let oy = 0; oy < outHeight; oy++) {
    const top = 2 * oy * width;
    const bottom = top + width;
    for (let ox = 0; ox < outWidth; ox++) {
      const x = 2 * ox;
      cell[0] = src[top + x]!;
      cell[1] = src[top + x + 1]!;
      cell[2] = src[bottom + x]!;
      cell[3] = src[bottom + x + 1]!;
      const out = (oy * outWidth + ox) * 3;
      rgb[out] = cell[red]!;
      rgb[out + 1] = (cell[0] + cell[1] + cell[2] + cell[3] - cell[red]! - cell[blue]!) / 2;
      rgb[out + 2] = cell[blue]!;
    }
  }
  return rgb;
}

function minMax(values: ArrayLike<number>, count: number): [number, number] {
  if (count === 0) return [0, 0];
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const value = values[i]!;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return [min, max];
}

/** Raw integer pixels to 8 bits through a lookup table (one entry per possible value). */
function mapWithTable(src: Uint8Array | Uint16Array, count: number, black: number, white: number, fullScale: number): Uint8Array {
  const table = mapLevels(
    Float32Array.from({ length: fullScale + 1 }, (_, value) => value),
    fullScale + 1,
    black,
    white,
  );
  const pixels = new Uint8Array(count);
  for (let i = 0; i < count; i++) pixels[i] = table[src[i]!]!;
  return pixels;
}

function mapLevels(values: Float32Array, count: number, black: number, white: number): Uint8Array {
  const gain = 255 / (white > black ? white - black : 1);
  const pixels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const scaled = (values[i]! - black) * gain;
    // Uint8Array stores round-towards-zero of a clamped value; +0.5 rounds to nearest.
    pixels[i] = scaled <= 0 ? 0 : scaled >= 255 ? 255 : scaled + 0.5;
  }
  return pixels;
}

/** Mean of each factor×factor block, channel by channel. */
function binBlocks(
  src: Uint8Array | Uint16Array | Float32Array,
  width: number,
  channels: number,
  factor: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  const rowValues = outWidth * channels;
  const binned = new Float32Array(outHeight * rowValues);
  const sums = new Float64Array(rowValues);
  const scale = 1 / (factor * factor);
  const srcRow = width * channels;
  const step = factor * channels;
  for (let oy = 0; oy < outHeight; oy++) {
    sums.fill(0);
    for (let dy = 0; dy < factor; dy++) {
      const rowBase = (oy * factor + dy) * srcRow;
      if (channels === 1) {
        // The common case, kept free of the channel loop.
        for (let ox = 0, at = rowBase; ox < outWidth; ox++, at += factor) {
          let sum = 0;
          for (let dx = 0; dx < factor; dx++) sum += src[at + dx]!;
          sums[ox] = sums[ox]! + sum;
        }
      } else {
        for (let ox = 0, at = rowBase; ox < outWidth; ox++, at += step) {
          for (let c = 0; c < channels; c++) {
            let sum = 0;
            for (let dx = 0, i = at + c; dx < factor; dx++, i += channels) sum += src[i]!;
            sums[ox * channels + c] = sums[ox * channels + c]! + sum;
          }
        }
      }
    }
    const outBase = oy * rowValues;
    for (let i = 0; i < rowValues; i++) binned[outBase + i] = sums[i]! * scale;
  }
  return binned;
}

/**
 * Min, max, mean and a histogram over 0..full scale (the camera's bit depth
 * when given, else the dtype's), of every channel together. A value above
 * the full scale (a camera that over-reports) counts in the top bin.
 */
export function frameStats(frame: RawFrame, format: SampleFormat = {}): FrameStats {
  const src = sampleArray(frame);
  const fullScale = sampleFullScale(frame.dtype, format.bitDepth);
  const histogram = new Uint32Array(HISTOGRAM_BINS);
  const binsPerValue = HISTOGRAM_BINS / (fullScale + 1);
  const topBin = HISTOGRAM_BINS - 1;
  const stride = Math.max(1, Math.ceil(src.length / MAX_STATS_SAMPLES));
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let samples = 0;
  let saturated = 0;
  // Every saturated sample counts, also where the statistics are strided: one pass of its own then, else within theirs.
  if (stride > 1) for (let i = 0; i < src.length; i++) if (src[i]! >= fullScale) saturated++;
  for (let i = 0; i < src.length; i += stride) {
    const value = src[i]!;
    if (value < min) min = value;
    if (value > max) max = value;
    if (stride === 1 && value >= fullScale) saturated++;
    sum += value;
    const bin = Math.floor(value * binsPerValue);
    histogram[bin < topBin ? bin : topBin]! += 1;
    samples += 1;
  }
  if (samples === 0) return { min: 0, max: 0, mean: 0, fullScale, histogram, samples, saturated };
  return { min, max, mean: sum / samples, fullScale, histogram, samples, saturated };
}
