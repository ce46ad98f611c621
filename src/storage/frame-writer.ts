import type { Codec, CompressionSpec } from '../protocol/compression.js';
import type { RunTiming } from '../hdf5/run-timing.js';
import type { AnalysisResult } from '../protocol/analysis.js';
import type { FrameHeader, RunEnd, RunStart } from '../protocol/messages.js';
import type { ResultsAccount, ResultsReceipt } from './analysis-results.js';

/** What a finished (or aborted) file holds, as the writer counted it. */
export interface WriterSummary {
  readonly path: string;
  readonly framesWritten: number;
  /** Gaps in frame ids seen by the writer, as [first_missing_id, count]. */
  readonly gaps: ReadonlyArray<readonly [number, number]>;
  readonly bytesWritten: number;
  /** The run's duration and frame rate from the frames written (run-timing.ts). */
  readonly timing: RunTiming;
  /** Analysis results stored (absent when none were given to the writer). */
  readonly results?: ResultsAccount;
  /** How the frames were compressed, and how much (absent: not compressed). */
  readonly compression?: CompressionTotals;
}

/** Compressed frames: the camera's bytes of the frames written, and the bytes their chunks take in the file. */
export interface CompressionTotals {
  readonly codec: Codec;
  readonly level: number | null;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/**
 * Storage behind the saver process. Created at run start (file opened, run
 * metadata written), fed frames in order, finished once. Implementations are
 * synchronous because the saver is a single-purpose process.
 */
export interface FrameWriter {
  readonly path: string;
  readonly framesWritten: number;
  /** Frames a reader is sure to find, even if the writer dies now: those of the last flush. */
  readonly framesFlushed: number;
  /** Which HDF5 writer and library write the file (the file's /entry@hdf5_writer). */
  readonly hdf5Writer: string;
  /** Appends a frame; a `truth` in its header goes into the truth table with it. */
  append(header: FrameHeader, pixels: Uint8Array): void;
  /**
   * An analysis result of this run (the caller checks the run id), kept in
   * memory and written at the next flush. Never throws: a result that cannot
   * be stored is counted (WriterSummary.results), the frames are not affected.
   */
  addResult(result: AnalysisResult): void;
  /** Makes everything appended so far durable and readable by other processes. */
  flush(): void;
  /**
   * Records the end of run (null when it never arrived, e.g. acquisition died),
   * trims datasets to the frames written and closes the file. With `results`
   * (the saver subscribed to analysis results), /entry/analysis gets the
   * subscription's counters even if no result was stored.
   */
  finish(end: RunEnd | null, results?: ResultsReceipt | null): WriterSummary;
}

export interface FrameWriterOptions {
  /** Refuse to replace an existing file unless true. */
  readonly overwrite: boolean;
  /** Lossless compression of the frames (native writer only); absent: none. */
  readonly compression?: CompressionSpec;
}

export type OpenFrameWriter = (path: string, start: RunStart, options: FrameWriterOptions) => Promise<FrameWriter>;

/**
 * What the saver writes frames through: a FrameWriter, or one whose append
 * must be awaited (the slow-writer test hook, slow-writer.ts). Only the saver
 * awaits appends; everything else holds a plain FrameWriter.
 */
export interface FrameSink extends Omit<FrameWriter, 'append'> {
  append(header: FrameHeader, pixels: Uint8Array): void | Promise<void>;
}
export type OpenFrameSink = (path: string, start: RunStart, options: FrameWriterOptions) => Promise<FrameSink>;
