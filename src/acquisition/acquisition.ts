import type { Camera } from '../devices/camera.js';
import { epochNowNs } from '../devices/clock.js';
import type { SoftwareInfo } from '../config/software.js';
import { encodeFrame, encodeRunEnd, encodeRunStart } from '../protocol/codec.js';
import { LabcastError } from '../protocol/errors.js';
import { PROTOCOL_VERSION, type RunEnd, type RunEndReason, type RunStart } from '../protocol/messages.js';
import type { LivePublisher } from '../transport/live-publisher.js';
import type { LosslessSender } from '../transport/lossless-sender.js';
import { DropLedger } from './drop-ledger.js';

/** Abort reason that marks a timed run as completed rather than stopped. */
const DURATION_ELAPSED = 'duration elapsed';

export interface RunRequest {
  readonly runId: string;
  /** Stop after this many frames; null = until stopped (or the duration ends). */
  readonly frames: number | null;
  readonly durationS: number | null;
}

export interface RunProgress {
  readonly acquired: number;
  readonly dropped: number;
  readonly queuedBytes: number;
}

export interface AcquisitionOptions {
  readonly camera: Camera;
  readonly live: LivePublisher;
  /** Null when no saver is attached: frames go to viewers only. */
  readonly lossless: LosslessSender | null;
  readonly config: unknown;
  readonly software: SoftwareInfo;
  readonly onProgress?: (progress: RunProgress) => void;
  readonly progressIntervalMs?: number;
}

/**
 * Runs of frames from one camera to the data endpoints. Every frame gets the
 * next sequence number before anything can drop it, so a drop is always a
 * visible gap; drops happen only at the lossless buffer and are counted there.
 */
export class Acquisition {
  private active: { abort: AbortController; done: Promise<RunEnd> } | null = null;

  constructor(private readonly options: AcquisitionOptions) {}

  get running(): boolean {
    return this.active !== null;
  }

  /** Starts a run; the promise settles after the run is drained and its run-end sent. */
  start(request: RunRequest): Promise<RunEnd> {
    if (this.active !== null) {
      throw new LabcastError('CAMERA_STATE', 'a run is already in progress; stop it first');
    }
    const abort = new AbortController();
    const done = this.run(request, abort).finally(() => {
      this.active = null;
    });
    this.active = { abort, done };
    return done;
  }

  /** Ends the current run (if any) within about one frame period; resolves when it is drained. */
  async stop(): Promise<RunEnd | null> {
    const active = this.active;
    if (active === null) return null;
    active.abort.abort();
    return active.done;
  }

  private async run(request: RunRequest, abort: AbortController): Promise<RunEnd> {
    const { camera, live, lossless } = this.options;
    const format = camera.frameFormat();
    const start: RunStart = {
      protocol: PROTOCOL_VERSION,
      run_id: request.runId,
      shape: [...format.shape],
      dtype: format.dtype,
      frames_requested: request.frames,
      duration_s: request.durationS,
      start_wall_ns: epochNowNs(),
      camera: { driver: camera.info.driver, model: camera.info.model, settings: { ...camera.getSettings() } },
      config: this.options.config,
      software: { ...this.options.software },
    };
    const startParts = encodeRunStart(start);
    lossless?.sendAlways(startParts);
    live.publish(startParts);

    const drops = new DropLedger();
    let acquired = 0;
    let reason: RunEndReason = 'completed';
    let error: string | null = null;
    const durationTimer =
      request.durationS === null ? null : setTimeout(() => abort.abort(DURATION_ELAPSED), request.durationS * 1000);
    const progressTimer = setInterval(() => this.reportProgress(acquired, drops.count), this.options.progressIntervalMs ?? 100);

    try {
      for await (const frame of camera.stream(abort.signal)) {
        const seq = acquired;
        acquired += 1;
        const parts = encodeFrame(
          {
            protocol: PROTOCOL_VERSION,
            run_id: request.runId,
            seq,
            camera_ts_ns: frame.timestampNs,
            wall_ts_ns: epochNowNs(),
            shape: [...frame.shape],
            dtype: frame.dtype,
          },
          frame.pixels,
        );
        if (lossless !== null) {
          const bytes = frame.pixels.byteLength;
          // A source that can wait (fps 0, file replay) is paced by the saver
          // instead of losing frames; a free-running camera cannot wait.
          if (!camera.freeRunning) await lossless.waitForRoom(bytes);
          if (!lossless.offer(parts, bytes)) drops.record(seq);
        }
        live.publish(parts);
        if (request.frames !== null && acquired >= request.frames) break;
      }
      if (abort.signal.aborted && abort.signal.reason !== DURATION_ELAPSED) reason = 'stopped';
    } catch (caught) {
      reason = 'error';
      error = caught instanceof Error ? caught.message : String(caught);
    } finally {
      if (durationTimer !== null) clearTimeout(durationTimer);
      clearInterval(progressTimer);
    }

    // Drain before announcing the end: run-end must follow every frame.
    if (lossless !== null) await lossless.drain();
    const end: RunEnd = {
      protocol: PROTOCOL_VERSION,
      run_id: request.runId,
      reason,
      error,
      end_wall_ns: epochNowNs(),
      frames_acquired: acquired,
      frames_dropped: drops.count,
      drops: drops.snapshot(),
    };
    const endParts = encodeRunEnd(end);
    lossless?.sendAlways(endParts);
    live.publish(endParts);
    if (lossless !== null) await lossless.drain();
    this.reportProgress(acquired, drops.count);
    return end;
  }

  private reportProgress(acquired: number, dropped: number): void {
    this.options.onProgress?.({ acquired, dropped, queuedBytes: this.options.lossless?.stats.queuedBytes ?? 0 });
  }
}
