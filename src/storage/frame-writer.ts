import type { FrameHeader, RunEnd, RunStart } from '../protocol/messages.js';

/** What a finished (or aborted) file holds, as the writer counted it. */
export interface WriterSummary {
  readonly path: string;
  readonly framesWritten: number;
  /** Gaps in frame ids seen by the writer, as [first_missing_id, count]. */
  readonly gaps: ReadonlyArray<readonly [number, number]>;
  readonly bytesWritten: number;
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
  append(header: FrameHeader, pixels: Uint8Array): void;
  /** Makes everything appended so far durable and readable by other processes. */
  flush(): void;
  /**
   * Records the end of run (null when it never arrived, e.g. acquisition died),
   * trims datasets to the frames written and closes the file.
   */
  finish(end: RunEnd | null): WriterSummary;
}

export interface FrameWriterOptions {
  /** Refuse to replace an existing file unless true. */
  readonly overwrite: boolean;
}

export type OpenFrameWriter = (path: string, start: RunStart, options: FrameWriterOptions) => Promise<FrameWriter>;
