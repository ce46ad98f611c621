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

export interface DisplayOptions {
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly levels: Levels;
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
}

export interface FrameStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** The largest value of the dtype: 255 or 65535. */
  readonly fullScale: number;
  /** HISTOGRAM_BINS equal bins over 0..fullScale. */
  readonly histogram: Uint32Array;
  /** Pixels counted (all of them up to MAX_STATS_SAMPLES, an even spread beyond). */
  readonly samples: number;
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

/** Downscales by a whole factor (mean of each factor×factor block) and maps to 8 bits. */
export function renderDisplayFrame(frame: RawFrame, options: DisplayOptions): DisplayFrame {
  const { height, width, channels } = geometry(frame.shape);
  const src = sampleArray(frame);
  const factor = Math.max(1, Math.ceil(width / Math.max(1, options.maxWidth)), Math.ceil(height / Math.max(1, options.maxHeight)));
  const outWidth = Math.max(1, Math.floor(width / factor));
  const outHeight = Math.max(1, Math.floor(height / factor));
  const binned = factor === 1 ? src : binBlocks(src, width, channels, factor, outWidth, outHeight);
  const count = outHeight * outWidth * channels;
  let black: number;
  let white: number;
  if (options.levels.mode === 'manual') {
    black = options.levels.black;
    white = options.levels.white;
  } else {
    [black, white] = binned instanceof Float32Array ? minMax(binned, count) : minMax(binned, count);
  }
  const pixels =
    binned instanceof Float32Array ? mapLevels(binned, count, black, white) : mapWithTable(binned, count, black, white, fullScaleOf(frame.dtype));
  return { width: outWidth, height: outHeight, channels, pixels, black, white };
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
  const table = mapLevels(Float32Array.from({ length: fullScale + 1 }, (_, value) => value), fullScale + 1, black, white);
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
  src: Uint8Array | Uint16Array,
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

/** Min, max, mean and a histogram over 0..full scale, of every channel together. */
export function frameStats(frame: RawFrame): FrameStats {
  const src = sampleArray(frame);
  const fullScale = fullScaleOf(frame.dtype);
  const histogram = new Uint32Array(HISTOGRAM_BINS);
  const shift = frame.dtype === 'uint8' ? 0 : 8;
  const stride = Math.max(1, Math.ceil(src.length / MAX_STATS_SAMPLES));
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let samples = 0;
  for (let i = 0; i < src.length; i += stride) {
    const value = src[i]!;
    if (value < min) min = value;
    if (value > max) max = value;
    sum += value;
    histogram[value >> shift]! += 1;
    samples += 1;
  }
  if (samples === 0) return { min: 0, max: 0, mean: 0, fullScale, histogram, samples };
  return { min, max, mean: sum / samples, fullScale, histogram, samples };
}
