import { frameByteLength } from '../protocol/dtype.js';
import type { RunEnd, RunEndReason } from '../protocol/messages.js';
import type { SavedFileSummary, SaverCommand, SaverEvent, SaverInit } from '../protocol/process-messages.js';
import { inspectRecording } from '../storage/file-inspector.js';
import type { AcquisitionHandle } from './acquisition-handle.js';
import { LabcastChild } from './child-process.js';

const SAVER_SCRIPT = new URL('../storage/saver-process.js', import.meta.url);
const SAVER_EXIT_GRACE_MS = 10_000;

export interface RecordingParameters {
  readonly runId: string;
  readonly frames: number | null;
  readonly durationS: number | null;
  /** Final file path, already resolved and checked by the caller. */
  readonly outPath: string;
  readonly overwrite: boolean;
  readonly flushIntervalMs: number;
}

export interface RecordingProgress {
  readonly acquired: number;
  readonly dropped: number;
  readonly framesWritten: number;
  readonly bytesWritten: number;
  readonly elapsedS: number;
}

export interface RecordingResult {
  readonly path: string | null;
  readonly runId: string;
  readonly framesWritten: number;
  readonly framesAcquired: number;
  /** Frames acquired but not in the file: every one is in `gaps`. */
  readonly framesLost: number;
  readonly gaps: ReadonlyArray<readonly [number, number]>;
  readonly bytesWritten: number;
  /** From run start until the file was closed, drain included. */
  readonly durationS: number;
  readonly endReason: RunEndReason | 'unknown';
  /** Why the run failed, if it did (a process died, the disk filled...). */
  readonly error: string | null;
}

type SaverChild = LabcastChild<SaverCommand, SaverEvent>;
type FileClosed = Extract<SaverEvent, { type: 'file-closed' }>;

/**
 * One run saved to one file: a saver process of its own, a saving run on an
 * already running acquisition, and an account of every frame at the end.
 * Whichever process fails, the other is wound down so that the file is
 * closed with what arrived and the result says what happened.
 */
export class Recording {
  private readonly counts = { acquired: 0, dropped: 0, framesWritten: 0, bytesWritten: 0 };
  private readonly startedAt = performance.now();
  readonly result: Promise<RecordingResult>;

  private constructor(
    private readonly acquisition: AcquisitionHandle,
    private readonly saver: SaverChild,
    readonly parameters: RecordingParameters,
    onProgress: (progress: RecordingProgress) => void,
  ) {
    const report = (): void => onProgress(this.progress);
    const stopWatchingAcquisition = acquisition.onProgress((event) => {
      this.counts.acquired = event.acquired;
      this.counts.dropped = event.dropped;
      report();
    });
    saver.onEvent((event) => {
      if (event.type === 'progress') {
        this.counts.framesWritten = event.framesWritten;
        this.counts.bytesWritten = event.bytesWritten;
        report();
      }
    });
    const runEnded = acquisition.startRun({
      runId: parameters.runId,
      frames: parameters.frames,
      durationS: parameters.durationS,
      save: true,
    });
    this.result = this.settle(runEnded, saver.waitFor('file-closed')).finally(stopWatchingAcquisition);
  }

  /** Starts the saver, then the run; rejects (nothing recorded) if the saver cannot start. */
  static async start(
    acquisition: AcquisitionHandle,
    parameters: RecordingParameters,
    onProgress: (progress: RecordingProgress) => void,
  ): Promise<Recording> {
    if (acquisition.ready.recordEndpoint === null) throw new Error('the acquisition process has no record endpoint');
    const init: SaverInit = {
      endpoint: acquisition.ready.recordEndpoint,
      outPath: parameters.outPath,
      overwrite: parameters.overwrite,
      flushIntervalMs: parameters.flushIntervalMs,
    };
    const saver = LabcastChild.start<SaverCommand, SaverEvent>('saver', SAVER_SCRIPT, init);
    try {
      await saver.waitFor('ready');
    } catch (error) {
      await saver.shutdown({ type: 'shutdown' }, SAVER_EXIT_GRACE_MS);
      throw error;
    }
    return new Recording(acquisition, saver, parameters, onProgress);
  }

  get progress(): RecordingProgress {
    return { ...this.counts, elapsedS: (performance.now() - this.startedAt) / 1000 };
  }

  get saverPid(): number | undefined {
    return this.saver.pid;
  }

  get saverRunning(): boolean {
    return !this.saver.hasExited;
  }

  /** Ends the run; everything acquired is drained into the file first. */
  stop(): void {
    this.acquisition.stopRun();
  }

  /** Closes the file with what has arrived, without waiting for the rest. */
  abandon(): void {
    this.saver.send({ type: 'shutdown' });
  }

  private async settle(runEnded: Promise<RunEnd>, fileClosed: Promise<FileClosed>): Promise<RecordingResult> {
    const errors: string[] = [];
    let end: RunEnd | null = null;
    let saved: FileClosed | null = null;
    await Promise.all([
      runEnded.then(
        (value) => {
          end = value;
        },
        (error: Error) => {
          errors.push(error.message);
          // Nothing more will come: let the saver close the file with what it has.
          this.saver.send({ type: 'shutdown' });
        },
      ),
      fileClosed.then(
        (value) => {
          saved = value;
          if (value.error !== null) {
            errors.push(value.error.message);
            // The saver has stopped taking frames: end the run without waiting for it.
            this.acquisition.abandonSaving();
          }
        },
        (error: Error) => {
          errors.push(error.message);
          // Nobody is left to take frames: end the run without waiting for a saver.
          this.acquisition.abandonSaving();
        },
      ),
    ]);
    await this.saver.shutdown({ type: 'shutdown' }, SAVER_EXIT_GRACE_MS);
    const durationS = (performance.now() - this.startedAt) / 1000;
    const summary = (saved as FileClosed | null)?.summary ?? (await this.whatTheFileHolds());
    return this.account(end, saved, summary, errors, durationS);
  }

  /** After a saver died: what reached the disk, read back from the file itself. */
  private async whatTheFileHolds(): Promise<SavedFileSummary | null> {
    try {
      const found = await inspectRecording(this.parameters.outPath);
      return {
        path: found.path,
        framesWritten: found.frameCount,
        gaps: found.gaps,
        bytesWritten: found.frameCount * frameByteLength(found.frameShape, found.dtype),
      };
    } catch {
      return null;
    }
  }

  private account(
    end: RunEnd | null,
    saved: FileClosed | null,
    summary: SavedFileSummary | null,
    errors: string[],
    durationS: number,
  ): RecordingResult {
    const runEnd = end ?? saved?.end ?? null;
    const framesAcquired = runEnd?.frames_acquired ?? this.counts.acquired;
    const framesWritten = summary?.framesWritten ?? 0;
    if (runEnd?.error) errors.push(`acquisition: ${runEnd.error}`);
    if (saved !== null && runEnd !== null && framesAcquired - runEnd.frames_dropped !== framesWritten) {
      // The lossless path delivered a different count than acquisition sent:
      // never expected, so say it loudly rather than average it away.
      errors.push(
        `accounting mismatch: acquisition sent ${framesAcquired - runEnd.frames_dropped} frames, the file holds ${framesWritten}`,
      );
    }
    return {
      path: summary?.path ?? null,
      runId: this.parameters.runId,
      framesWritten,
      framesAcquired,
      framesLost: Math.max(0, framesAcquired - framesWritten),
      gaps: summary?.gaps ?? [],
      bytesWritten: summary?.bytesWritten ?? this.counts.bytesWritten,
      durationS,
      endReason: runEnd?.reason ?? 'unknown',
      error: errors.length > 0 ? [...new Set(errors)].join('; ') : null,
    };
  }
}
