import { LabcastError } from '../protocol/errors.js';
import { clampRegion, sampleArray, type RawFrame, type Region } from './frame-render.js';

/**
 * Exact raw values of one frame for the page's inspection tools (pixel
 * readout, line profile, ROI statistics): pure functions of a RawFrame, so
 * the live view answers them for the frame a page shows, and a recorded
 * frame read from a file can be answered the same way. Coordinates are frame
 * pixels (column x, row y, from the top left); every channel is given.
 */

/** Largest region `rawRegion` returns (a 256×256 patch); statistics have no limit. */
export const MAX_REGION_PIXELS = 1 << 16;

export interface RawRegion extends Region {
  readonly channels: number;
  /** Row-major, channels interleaved: width × height × channels values. */
  readonly values: number[];
}

export interface LineProfile {
  /** The frame pixels sampled, in order from the start of the line: [x, y]. */
  readonly points: [number, number][];
  /** values[c][i]: channel c at points[i]. */
  readonly values: number[][];
}

export interface ChannelStats {
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
}

export interface RegionStats extends Region {
  /** Pixels in the region (each with `channels` samples). */
  readonly pixels: number;
  readonly channels: ChannelStats[];
}

function frameGeometry(frame: RawFrame): { width: number; height: number; channels: number } {
  const [height = 0, width = 0, channels = 1] = frame.shape;
  return { width, height, channels };
}

function requireInside(frame: RawFrame, region: Region): Region {
  const { width, height } = frameGeometry(frame);
  if (![region.x, region.y, region.width, region.height].every(Number.isFinite) || region.width < 1 || region.height < 1) {
    throw new LabcastError('BAD_ARGUMENT', 'a region needs finite x, y and a width and height of at least 1', 'region');
  }
  if (region.x >= width || region.y >= height || region.x + region.width <= 0 || region.y + region.height <= 0) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `region (${region.x}, ${region.y}) ${region.width}×${region.height} is outside the ${width}×${height} frame`,
      'region',
    );
  }
  return clampRegion(region, width, height);
}

/** The raw samples of `region` (clamped to the frame); at most MAX_REGION_PIXELS pixels. */
export function rawRegion(frame: RawFrame, region: Region): RawRegion {
  const { width, channels } = frameGeometry(frame);
  const inside = requireInside(frame, region);
  if (inside.width * inside.height > MAX_REGION_PIXELS) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `a raw region is at most ${MAX_REGION_PIXELS} pixels; asked for ${inside.width}×${inside.height}`,
      'region',
    );
  }
  const src = sampleArray(frame);
  const values: number[] = [];
  for (let y = inside.y; y < inside.y + inside.height; y++) {
    const from = (y * width + inside.x) * channels;
    for (let i = from; i < from + inside.width * channels; i++) values.push(src[i]!);
  }
  return { ...inside, channels, values };
}

/**
 * The pixels along the line from (x0, y0) to (x1, y1), one per step along its
 * longer axis (max(|dx|, |dy|) + 1 of them), each the pixel nearest the line:
 * x = floor(x0 + t·dx + 0.5) for t = i / steps. The ends are clamped to the frame.
 */
export function lineProfile(frame: RawFrame, x0: number, y0: number, x1: number, y1: number): LineProfile {
  const { width, height, channels } = frameGeometry(frame);
  if (![x0, y0, x1, y1].every(Number.isFinite)) throw new LabcastError('BAD_ARGUMENT', 'a line needs finite end points', 'line');
  const clampX = (x: number): number => Math.min(width - 1, Math.max(0, Math.round(x)));
  const clampY = (y: number): number => Math.min(height - 1, Math.max(0, Math.round(y)));
  const [ax, ay, bx, by] = [clampX(x0), clampY(y0), clampX(x1), clampY(y1)];
  const steps = Math.max(Math.abs(bx - ax), Math.abs(by - ay));
  const src = sampleArray(frame);
  const points: [number, number][] = [];
  const values: number[][] = Array.from({ length: channels }, () => []);
  for (let i = 0; i <= steps; i++) {
    const t = steps === 0 ? 0 : i / steps;
    const x = Math.floor(ax + t * (bx - ax) + 0.5);
    const y = Math.floor(ay + t * (by - ay) + 0.5);
    points.push([x, y]);
    for (let c = 0; c < channels; c++) values[c]!.push(src[(y * width + x) * channels + c]!);
  }
  return { points, values };
}

/** Mean, standard deviation (population), min, max and sum of `region` (clamped to the frame), channel by channel. */
export function regionStats(frame: RawFrame, region: Region): RegionStats {
  const { width, channels } = frameGeometry(frame);
  const inside = requireInside(frame, region);
  const src = sampleArray(frame);
  const stats: ChannelStats[] = [];
  const pixels = inside.width * inside.height;
  const rows = (c: number, visit: (value: number) => void): void => {
    for (let y = inside.y; y < inside.y + inside.height; y++) {
      const from = (y * width + inside.x) * channels + c;
      for (let i = from, end = from + inside.width * channels; i < end; i += channels) visit(src[i]!);
    }
  };
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    rows(c, (value) => {
      sum += value;
      if (value < min) min = value;
      if (value > max) max = value;
    });
    const mean = sum / pixels;
    // Two passes: a sum of squares of 16-bit values over a large region would lose precision.
    let squares = 0;
    rows(c, (value) => {
      squares += (value - mean) * (value - mean);
    });
    stats.push({ mean, std: Math.sqrt(squares / pixels), min, max, sum });
  }
  return { ...inside, pixels, channels: stats };
}
