import { pathToFileURL } from 'node:url';
import type { AnalysisKind } from '../protocol/analysis.js';
import { LabcastError } from '../protocol/errors.js';
import type { FrameHeader } from '../protocol/messages.js';
import { frameStats } from './frame-stats.js';
import { localizeSpots, type LocalizeOptions } from './localize.js';
import { frameSamples } from './samples.js';
import { TrackLinker } from './tracking.js';

/**
 * One analysis, ready to run on frames: the built-in `stats` and `localize`,
 * or a user module. Each turns a frame into a result: a JSON-able object
 * (top-level typed arrays travel as binary parts), or null/undefined for "no
 * result for this frame".
 */

/** What a user module's function receives (docs/analysis.md). */
export interface AnalysisFrame {
  /** The frame header as on the wire: run_id, seq, camera_ts_ns (bigint), shape, dtype, truth (simulator). */
  readonly header: FrameHeader;
  /** The samples: Uint16Array for uint16, Uint8Array for uint8; row-major; colour frames interleaved (RGB). */
  readonly pixels: Uint8Array | Uint16Array;
  /** The raw little-endian bytes. */
  readonly bytes: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** 1, or 3 for colour. */
  readonly channels: number;
}

/** The function a user module exports (default export, or a named `analyse`). */
export type AnalysisFunction = (frame: AnalysisFrame, options: Readonly<Record<string, unknown>>) => unknown;

export type Analyser = (header: FrameHeader, pixels: Uint8Array) => unknown;

export async function createAnalyser(kind: AnalysisKind, options: unknown, modulePath: string | null): Promise<Analyser> {
  switch (kind) {
    case 'stats':
      return statsAnalyser(options as StatsOptions);
    case 'localize':
      return localizeAnalyser(options as LocalizeConfigOptions);
    case 'module':
      if (modulePath === null) throw new LabcastError('BAD_ARGUMENT', 'an analysis of kind "module" needs a module path', 'module');
      return moduleAnalyser(modulePath, (options ?? {}) as Record<string, unknown>);
  }
}

// ---- stats ----

export interface StatsOptions {
  readonly bins?: number;
  readonly low?: number;
  readonly high?: number;
}

export function statsAnalyser(options: StatsOptions = {}): Analyser {
  let histogram: Uint32Array | undefined;
  return (header, pixels) => {
    // Colour frames: statistics over every sample of every channel.
    const shape = header.shape.length === 3 ? [header.shape[0]!, header.shape[1]! * header.shape[2]!] : header.shape;
    const range =
      options.low === undefined && options.high === undefined
        ? undefined
        : { low: options.low ?? 0, high: options.high ?? (header.dtype === 'uint8' ? 256 : 65536) };
    const stats = frameStats(pixels, shape, header.dtype, {
      ...(options.bins === undefined ? {} : { bins: options.bins }),
      ...(range === undefined ? {} : { range }),
      ...(histogram === undefined ? {} : { histogram }),
    });
    histogram = stats.histogram;
    return {
      count: stats.count,
      min: stats.min,
      max: stats.max,
      mean: stats.mean,
      std: stats.std,
      bins: stats.histogram.length,
      low: stats.low,
      high: stats.high,
      bin_width: stats.binWidth,
      below: stats.below,
      above: stats.above,
      histogram: Array.from(stats.histogram),
    };
  };
}

// ---- localize ----

/** As in the config (snake_case). */
export interface LocalizeConfigOptions {
  readonly threshold?: number;
  readonly neighbourhood?: number;
  readonly window_radius?: number;
  readonly iterations?: number;
  readonly min_separation?: number;
  readonly max_spots?: number;
  /** 0 = no linking. */
  readonly link_distance?: number;
  readonly link_gap?: number;
}

const round = (value: number, scale: number): number => Math.round(value * scale) / scale;

export function localizeAnalyser(options: LocalizeConfigOptions = {}): Analyser {
  const localizeOptions: LocalizeOptions = {
    ...(options.threshold === undefined ? {} : { threshold: options.threshold }),
    ...(options.neighbourhood === undefined ? {} : { neighbourhood: options.neighbourhood }),
    ...(options.window_radius === undefined ? {} : { windowRadius: options.window_radius }),
    ...(options.iterations === undefined ? {} : { iterations: options.iterations }),
    ...(options.min_separation === undefined ? {} : { minSeparation: options.min_separation }),
    ...(options.max_spots === undefined ? {} : { maxSpots: options.max_spots }),
  };
  const linkDistance = options.link_distance ?? 3;
  const linker = linkDistance > 0 ? new TrackLinker(linkDistance, options.link_gap ?? 2) : null;
  let runId: string | null = null;
  return (header, pixels) => {
    if (header.shape.length !== 2) {
      throw new LabcastError('BAD_ARGUMENT', `localize needs mono frames [height, width], got shape [${header.shape.join(', ')}]`);
    }
    const found = localizeSpots(pixels, header.shape, header.dtype, localizeOptions);
    const spots = found.spots;
    let track: number[] | undefined;
    if (linker !== null) {
      if (header.run_id !== runId) linker.reset();
      runId = header.run_id;
      track = linker.link(spots);
    }
    return {
      count: spots.length,
      // Columns, one entry per spot (x: column, y: row, pixel centres at integers).
      x: spots.map((s) => round(s.x, 1e4)),
      y: spots.map((s) => round(s.y, 1e4)),
      intensity: spots.map((s) => round(s.intensity, 1e2)),
      amplitude: spots.map((s) => round(s.amplitude, 1e2)),
      background: spots.map((s) => round(s.background, 1e2)),
      /** null where the fit failed and the centre is a centroid. */
      sigma: spots.map((s) => (s.sigma === undefined ? null : round(s.sigma, 1e4))),
      ...(track === undefined ? {} : { track }),
      frame_background: { level: round(found.background.level, 1e3), noise: round(found.background.noise, 1e3) },
      threshold: round(found.threshold, 1e3),
      candidates: found.candidates,
    };
  };
}

// ---- user modules ----

/**
 * Imports the module and finds its function: the default export (an ES module's
 * `export default`, or a CommonJS `module.exports = fn`), or a named export
 * `analyse` (or `analyze`). A module that cannot be loaded fails here, before
 * the process reports ready, with the reason.
 */
export async function moduleAnalyser(path: string, options: Readonly<Record<string, unknown>>): Promise<Analyser> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new LabcastError('BAD_ARGUMENT', `cannot load the analysis module ${path}: ${(error as Error).message}`, 'module');
  }
  const candidates = [loaded.default, loaded.analyse, loaded.analyze, (loaded.default as Record<string, unknown> | undefined)?.analyse];
  const fn = candidates.find((candidate): candidate is AnalysisFunction => typeof candidate === 'function');
  if (fn === undefined) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `the analysis module ${path} exports no function: export default function (frame, options) { ... } (or a function named "analyse")`,
      'module',
    );
  }
  return (header, bytes) => {
    const height = header.shape[0]!;
    const width = header.shape[1]!;
    const channels = header.shape[2] ?? 1;
    const pixels = channels === 1 ? frameSamples(bytes, header.shape, header.dtype).samples : bytes;
    return fn({ header, pixels, bytes, width, height, channels }, options);
  };
}
