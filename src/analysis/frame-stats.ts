import type { PixelDtype } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';
import { frameSamples, levelCount } from './samples.js';

/** Histogram range, half-open: bin i covers [low + i·w, low + (i+1)·w), w = (high − low)/bins. */
export interface HistogramRange {
  readonly low: number;
  readonly high: number;
}

export interface FrameStatsOptions {
  /** Number of histogram bins; default 256. */
  readonly bins?: number;
  /** Default: the dtype's full range [0, max + 1), so 256 bins on uint8 are one level each. */
  readonly range?: HistogramRange;
  /** Reused for the histogram when it has `bins` entries (saves an allocation per frame). */
  readonly histogram?: Uint32Array;
}

export interface FrameStats {
  /** Number of pixels. */
  readonly count: number;
  /** NaN for an empty frame, as are max, mean and std. */
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation (divides by count, as numpy's default). */
  readonly std: number;
  readonly histogram: Uint32Array;
  readonly low: number;
  readonly high: number;
  readonly binWidth: number;
  /** Pixels below `low` and at or above `high`: not in any bin. */
  readonly below: number;
  readonly above: number;
}

export const DEFAULT_HISTOGRAM_BINS = 256;
const MAX_BINS = 1 << 20;

/** Per-level counts, all zero between calls. */
const levelScratch = { uint8: new Uint32Array(256), uint16: new Uint32Array(65536) };

/**
 * Min, max, mean, standard deviation and histogram of one [H, W] frame.
 *
 * One pass over the pixels counts each sample value (an array of 256 or 65536
 * counters, reused); everything else comes from those counts, so the mean and
 * variance are exact sums (no float accumulation over millions of pixels) and
 * the histogram costs a pass over the levels, not over the pixels.
 */
export function frameStats(pixels: Uint8Array, shape: readonly number[], dtype: PixelDtype, options: FrameStatsOptions = {}): FrameStats {
  const bins = options.bins ?? DEFAULT_HISTOGRAM_BINS;
  if (!Number.isSafeInteger(bins) || bins < 1 || bins > MAX_BINS) {
    throw new LabcastError('BAD_ARGUMENT', `histogram bins must be an integer in [1, ${MAX_BINS}], got ${bins}`, 'bins');
  }
  const low = options.range?.low ?? 0;
  const high = options.range?.high ?? levelCount(dtype);
  if (!Number.isFinite(low) || !Number.isFinite(high) || !(high > low)) {
    throw new LabcastError('BAD_ARGUMENT', `histogram range must be finite with high > low, got [${low}, ${high})`, 'range');
  }
  const { samples } = frameSamples(pixels, shape, dtype);
  const histogram =
    options.histogram !== undefined && options.histogram.length === bins ? options.histogram.fill(0) : new Uint32Array(bins);

  const counts = levelScratch[dtype];
  const n = samples.length;
  for (let i = 0; i < n; i++) counts[samples[i]!]!++;

  let min = NaN;
  let max = NaN;
  let sum = 0;
  for (let level = 0; level < counts.length; level++) {
    const c = counts[level]!;
    if (c === 0) continue;
    if (Number.isNaN(min)) min = level;
    max = level;
    sum += c * level; // exact: below 2^53 for any frame that fits in memory
  }
  const mean = n === 0 ? NaN : sum / n;
  let squares = 0;
  let below = 0;
  let above = 0;
  const binWidth = (high - low) / bins;
  const scale = bins / (high - low);
  if (n > 0) {
    for (let level = min; level <= max; level++) {
      const c = counts[level]!;
      if (c === 0) continue;
      counts[level] = 0;
      const d = level - mean;
      squares += c * d * d;
      if (level < low) below += c;
      else if (level >= high) above += c;
      else {
        // Guards against rounding putting a level just under `high` in bin `bins`.
        const bin = Math.min(bins - 1, Math.floor((level - low) * scale));
        histogram[bin]! += c;
      }
    }
  }
  return { count: n, min, max, mean, std: n === 0 ? NaN : Math.sqrt(squares / n), histogram, low, high, binWidth, below, above };
}
