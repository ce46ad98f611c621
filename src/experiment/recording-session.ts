import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunEnd, RunEndReason } from '../protocol/messages.js';
import type {
  AcquisitionCommand,
  AcquisitionEvent,
  SavedFileSummary,
  SaverCommand,
  SaverEvent,
} from '../protocol/process-messages.js';
import { LabcastChild } from './child-process.js';

const ACQUISITION_SCRIPT = new URL('../acquisition/acquisition-process.js', import.meta.url);
const SAVER_SCRIPT = new URL('../storage/saver-process.js', import.meta.url);
const CHILD_EXIT_GRACE_MS = 10_000;

export interface RecordingRequest {
  /** Camera spec for the driver registry (validated in the acquisition process). */
  readonly camera: unknown;
  /** Initial camera settings, checked by the camera against its ranges. */
  readonly settings: Readonly<Record<string, number>>;
  readonly frames: number | null;
  readonly durationS: number | null;
  /** Final file path, already resolved and checked by the caller. */
  readonly outPath: string;
  readonly overwrite: boolean;
  /** Where every frame is also published for viewers and analysis. */
  readonly dataEndpoint: string;
  /** Bound of the acquisition-side buffer on the lossless path. */
  readonly bufferBytes: number;
  readonly flushIntervalMs: number;
  /** Stored in the file for provenance. */
  readonly config: unknown;
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
  readonly dataEndpoint: string;
}

/**
 * One recording with its own acquisition and saver processes: start both,
 * run, stop on request, drain, and account for every frame. The CLI's
 * `record` is a view of this.
 */
export class RecordingSession {
  private stopRequested = false;
  private acquisition: LabcastChild<AcquisitionCommand, AcquisitionEvent> | null = null;
  private saver: LabcastChild<SaverCommand, SaverEvent> | null = null;

  private constructor(private readonly runId: string) {}

  /** Starts the processes; resolves once frames flow, or rejects with why they could not. */
  static async start(
    request: RecordingRequest,
    onProgress: (progress: RecordingProgress) => void,
  ): Promise<{ session: RecordingSession; result: Promise<RecordingResult> }> {
    const session = new RecordingSession(randomUUID());
    const { result } = await session.launch(request, onProgress);
    return { session, result };
  }

  /** Stops acquisition; what was acquired is drained into the file. Idempotent. */
  stop(): void {
    this.stopRequested = true;
    this.acquisition?.send({ type: 'stop' });
  }

  /** Gives up on draining: the acquisition is killed, the file closed with what arrived. */
  abort(): void {
    this.acquisition?.kill('SIGKILL');
    this.saver?.send({ type: 'shutdown' });
  }

  private async launch(
    request: RecordingRequest,
    onProgress: (progress: RecordingProgress) => void,
  ): Promise<{ result: Promise<RecordingResult> }> {
    const recordEndpoint = `ipc://${join(tmpdir(), `labcast-${process.pid}-${this.runId.slice(0, 8)}.sock`)}`;
    const acquisition = LabcastChild.start<AcquisitionCommand, AcquisitionEvent>('acquisition', ACQUISITION_SCRIPT, {
      camera: request.camera,
      settings: request.settings,
      dataEndpoint: request.dataEndpoint,
      recordEndpoint,
      bufferBytes: request.bufferBytes,
      config: request.config,
    });
    this.acquisition = acquisition;
    let ready: Extract<AcquisitionEvent, { type: 'ready' }>;
    try {
      ready = await acquisition.waitFor('ready');
    } catch (error) {
      await acquisition.shutdown({ type: 'shutdown' }, CHILD_EXIT_GRACE_MS);
      throw error;
    }

    const saver = LabcastChild.start<SaverCommand, SaverEvent>('saver', SAVER_SCRIPT, {
      endpoint: ready.recordEndpoint,
      outPath: request.outPath,
      overwrite: request.overwrite,
      flushIntervalMs: request.flushIntervalMs,
    });
    this.saver = saver;
    try {
      await saver.waitFor('ready');
    } catch (error) {
      await Promise.all([
        acquisition.shutdown({ type: 'shutdown' }, CHILD_EXIT_GRACE_MS),
        saver.shutdown({ type: 'shutdown' }, CHILD_EXIT_GRACE_MS),
      ]);
      throw error;
    }

    const startedAt = performance.now();
    const counts = { acquired: 0, dropped: 0, framesWritten: 0, bytesWritten: 0 };
    const report = (): void => onProgress({ ...counts, elapsedS: (performance.now() - startedAt) / 1000 });
    acquisition.onEvent((event) => {
      if (event.type === 'progress') {
        counts.acquired = event.acquired;
        counts.dropped = event.dropped;
        report();
      }
    });
    saver.onEvent((event) => {
      if (event.type === 'progress') {
        counts.framesWritten = event.framesWritten;
        counts.bytesWritten = event.bytesWritten;
        report();
      }
    });

    const runEnded = acquisition.waitFor('run-ended');
    const fileClosed = saver.waitFor('file-closed');
    acquisition.send({ type: 'start-run', runId: this.runId, frames: request.frames, durationS: request.durationS });
    if (this.stopRequested) acquisition.send({ type: 'stop' });

    const finish = async (): Promise<RecordingResult> => {
      const errors: string[] = [];
      let end: RunEnd | null = null;
      let saved: Extract<SaverEvent, { type: 'file-closed' }> | null = null;

      // Whichever side fails first decides how the other is wound down.
      const acquisitionOutcome = runEnded.then(
        (event) => {
          end = event.end;
        },
        (error: Error) => {
          errors.push(error.message);
          // Nothing more will come: let the saver close the file with what it has.
          saver.send({ type: 'shutdown' });
        },
      );
      const saverOutcome = fileClosed.then(
        (event) => {
          saved = event;
        },
        (error: Error) => {
          errors.push(error.message);
          // Nobody is left to take frames: end acquisition rather than block on it.
          acquisition.kill('SIGTERM');
        },
      );
      await Promise.all([acquisitionOutcome, saverOutcome]);
      await Promise.all([
        acquisition.shutdown({ type: 'shutdown' }, CHILD_EXIT_GRACE_MS),
        saver.shutdown({ type: 'shutdown' }, CHILD_EXIT_GRACE_MS),
      ]);
      rmSync(recordEndpoint.slice('ipc://'.length), { force: true });
      return this.account(end, saved, errors, ready.dataEndpoint, (performance.now() - startedAt) / 1000, counts.acquired);
    };
    // Wrapped so the caller gets the running recording now, its result later.
    return { result: finish() };
  }

  private account(
    end: RunEnd | null,
    saved: { summary: SavedFileSummary; end: RunEnd | null } | null,
    errors: string[],
    dataEndpoint: string,
    durationS: number,
    acquiredSeen: number,
  ): RecordingResult {
    const summary = saved?.summary ?? null;
    const runEnd = end ?? saved?.end ?? null;
    const framesAcquired = runEnd?.frames_acquired ?? acquiredSeen;
    const framesWritten = summary?.framesWritten ?? 0;
    if (runEnd?.error) errors.push(`camera: ${runEnd.error}`);
    if (summary !== null && runEnd !== null && framesAcquired - runEnd.frames_dropped !== framesWritten) {
      // The lossless path delivered a different count than acquisition sent:
      // never expected, so say it loudly rather than average it away.
      errors.push(
        `accounting mismatch: acquisition sent ${framesAcquired - runEnd.frames_dropped} frames, the file holds ${framesWritten}`,
      );
    }
    return {
      path: summary?.path ?? null,
      runId: this.runId,
      framesWritten,
      framesAcquired,
      framesLost: Math.max(0, framesAcquired - framesWritten),
      gaps: summary?.gaps ?? [],
      bytesWritten: summary?.bytesWritten ?? 0,
      durationS,
      endReason: runEnd?.reason ?? 'unknown',
      error: errors.length > 0 ? errors.join('; ') : null,
      dataEndpoint,
    };
  }
}

