import type { Camera } from '../devices/camera.js';
import { epochNowNs } from '../devices/clock.js';
import type { SoftwareInfo } from '../config/software.js';
import { encodeFrame, encodeRunEnd, encodeRunStart } from '../protocol/codec.js';
import { LabcastError, isLabcastError, type ErrorCode } from '../protocol/errors.js';
import { PROTOCOL_VERSION, type FrameHeader, type RunEnd, type RunEndReason, type RunStart } from '../protocol/messages.js';
import type { LivePublisher } from '../transport/live-publisher.js';
import type { LosslessSender } from '../transport/lossless-sender.js';
import { DropLedger } from './drop-ledger.js';
import { RateWatch } from './rate-watch.js';

/** Abort reason that marks a timed run as completed rather than stopped. */
const DURATION_ELAPSED = 'duration elapsed';

export interface RunRequest {
  readonly runId: string;
  /** Stop after this many frames; null = until stopped (or the duration ends). */
  readonly frames: number | null;
  readonly durationS: number | null;
  /** Whether frames go to the saver (lossless path) as well as to viewers. */
  readonly save: boolean;
  /** How long a saving run waits for its saver to connect (default SAVER_CONNECT_TIMEOUT_MS). */
  readonly saverWaitMs?: number;
  /** Called when the run is under way: for a saving run, once its saver is connected. */
  readonly onStarted?: () => void;
}

/** How long a saving run waits for its saver to connect. */
const SAVER_CONNECT_TIMEOUT_MS = 10_000;

interface RunControl {
  readonly abort: AbortController;
  /** Set when the saver went away mid-run: nothing more is sent its way. */
  saverLost: boolean;
  /** Sequence numbers that were queued for a saver that went away. */
  readonly lostToSaver: number[];
}

export interface RunProgress {
  /** Sequence numbers used so far, including frames the camera lost. */
  readonly acquired: number;
  /** Frames the camera lost (GenICam: incomplete buffers, skipped frame ids): gaps before the lossless buffer. */
  readonly cameraLost?: number;
  /** Refused by the lossless buffer (the saver's path). */
  readonly dropped: number;
  /** Sent on the data endpoint, and skipped there because the socket was busy. */
  readonly published: number;
  readonly liveSkipped: number;
  readonly queuedBytes: number;
  /** Savers connected to the record endpoint. */
  readonly savers: number;
  /** The rate the camera was asked for, and what it delivered over the last second (null until then). */
  readonly fpsRequested: number | null;
  readonly fpsAchieved: number | null;
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
  private active: { control: RunControl; done: Promise<RunEnd> } | null = null;

  constructor(private readonly options: AcquisitionOptions) {}

  get running(): boolean {
    return this.active !== null;
  }

  /** Starts a run; the promise settles after the run is drained and its run-end sent. */
  start(request: RunRequest): Promise<RunEnd> {
    if (this.active !== null) {
      throw new LabcastError('CAMERA_STATE', 'a run is already in progress; stop it first');
    }
    const control: RunControl = { abort: new AbortController(), saverLost: false, lostToSaver: [] };
    const done = this.run(request, control).finally(() => {
      this.active = null;
    });
    this.active = { control, done };
    return done;
  }

  /** Ends the current run (if any) within about one frame period; resolves when it is drained. */
  async stop(): Promise<RunEnd | null> {
    const active = this.active;
    if (active === null) return null;
    active.control.abort.abort();
    return active.done;
  }

  /**
   * The saver died: end the run without waiting for it, and make the record
   * endpoint ready for the next saver. Frames it never got are counted as dropped.
   */
  async abandonSaving(): Promise<RunEnd | null> {
    const active = this.active;
    const lossless = this.options.lossless;
    if (lossless === null) return active === null ? null : active.done;
    const lost = lossless.discardQueued();
    if (active !== null) {
      active.control.saverLost = true;
      active.control.lostToSaver.push(...lost);
      active.control.abort.abort();
    }
    await lossless.rebind();
    return active === null ? null : active.done;
  }

  private async run(request: RunRequest, control: RunControl): Promise<RunEnd> {
    const { camera, live } = this.options;
    const abort = control.abort;
    const lossless = request.save ? this.options.lossless : null;
    if (request.save && lossless === null) {
      throw new LabcastError('CAMERA_STATE', 'this acquisition process has no record endpoint, so it cannot save');
    }
    if (lossless !== null) await lossless.waitForPeers(1, request.saverWaitMs ?? SAVER_CONNECT_TIMEOUT_MS);
    request.onStarted?.();
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
    // Runs that are only watched still announce themselves, so viewers see run boundaries.
    lossless?.sendAlways(startParts);
    live.publish(startParts);

    const drops = new DropLedger();
    // Frames the camera lost: their sequence numbers stay unused, so each loss is a counted gap in the file.
    const cameraLosses = new DropLedger();
    const shown = { published: 0, skipped: 0 };
    const rate = new RateWatch(camera.requestedFps?.() ?? null);
    let acquired = 0;
    let reason: RunEndReason = 'completed';
    let error: string | null = null;
    let errorCode: ErrorCode | null = null;
    const durationTimer = request.durationS === null ? null : setTimeout(() => abort.abort(DURATION_ELAPSED), request.durationS * 1000);
    const report = (): void => {
      rate.sample(performance.now());
      this.reportProgress(acquired, drops.count, shown, rate, cameraLosses.count);
    };
    const progressTimer = setInterval(report, this.options.progressIntervalMs ?? 100);

    try {
      // Frames are made in the saver's ring slots where the camera can (FrameMemory): never copied here.
      for await (const frame of camera.stream(abort.signal, lossless ?? undefined)) {
        rate.frame(performance.now());
        const lost = Math.min(frame.lostBefore ?? 0, request.frames === null ? Infinity : request.frames - acquired);
        if (lost > 0) {
          cameraLosses.recordRun(acquired, lost);
          acquired += lost;
        }
        // The frames asked for may all be spent on frames the camera lost.
        if (request.frames !== null && acquired >= request.frames) {
          lossless?.giveBack();
          break;
        }
        const seq = acquired;
        acquired += 1;
        const header: FrameHeader = {
          protocol: PROTOCOL_VERSION,
          run_id: request.runId,
          seq,
          camera_ts_ns: frame.timestampNs,
          wall_ts_ns: frame.hostTimestampNs ?? epochNowNs(),
          shape: [...frame.shape],
          dtype: frame.dtype,
        };
        if (frame.truth !== undefined) header.truth = frame.truth;
        const bytes = frame.pixels.byteLength;
        // Small frames to labcast's own saver go by header (a packed batch): their text is made only for a viewer.
        const packed = lossless !== null && frame.truth === undefined && lossless.packs(bytes);
        const parts = packed && !live.subscribed ? null : encodeFrame(header, frame.pixels);
        // A frame in a ring slot is the saver's once offered: viewers get a copy (made only when one watches).
        const inSlot = lossless?.isSlot(frame.pixels) === true;
        // Published to nobody (no subscriber) counts as published, as live.publish() says.
        if (parts === null || live.publish(parts, inSlot)) shown.published += 1;
        else shown.skipped += 1;
        if (lossless !== null) {
          // A source that can wait (fps 0, file replay) is paced by the saver
          // instead of losing frames; a free-running camera cannot wait.
          // (Awaited only when there is something to wait for: a turn per frame costs a small frame more than its handling.)
          if (!camera.freeRunning && !lossless.hasPacedRoomFor(bytes)) await lossless.waitForRoom(bytes);
          const queued =
            !control.saverLost &&
            (packed ? lossless.offerPacked(header, frame.pixels) : lossless.offer(parts!, bytes, seq, frame.pixelCopies ?? 0));
          if (!queued) drops.record(seq);
          // ...and its next frame waits for a free slot to be made in, rather than being copied into one later.
          if (!camera.freeRunning && !control.saverLost && lossless.mayWaitForSlot(bytes)) await lossless.waitForSlot(bytes);
        }
        if (request.frames !== null && acquired >= request.frames) break;
      }
      if (abort.signal.aborted && abort.signal.reason !== DURATION_ELAPSED) reason = 'stopped';
      if (control.saverLost) {
        reason = 'error';
        error = 'the saver went away during the run';
        errorCode = 'NO_SAVER';
      }
    } catch (caught) {
      reason = 'error';
      error = caught instanceof Error ? caught.message : String(caught);
      // The code travels with the message, so a dead camera reads CAMERA_FAILED at the end of the run.
      errorCode = isLabcastError(caught) ? caught.code : 'INTERNAL';
    } finally {
      if (durationTimer !== null) clearTimeout(durationTimer);
      clearInterval(progressTimer);
      // A slot taken for a frame that was never offered (the stream ended or failed) goes back.
      lossless?.giveBack();
    }

    // Drain before announcing the end: run-end must follow every frame.
    if (lossless !== null && !control.saverLost) await lossless.drain();
    for (const seq of control.lostToSaver) drops.record(seq);
    const runRate = rate.overall();
    const end: RunEnd = {
      protocol: PROTOCOL_VERSION,
      run_id: request.runId,
      reason,
      error,
      ...(errorCode === null ? {} : { error_code: errorCode }),
      end_wall_ns: epochNowNs(),
      frames_acquired: acquired,
      frames_dropped: drops.count,
      drops: drops.snapshot(),
      fps_requested: runRate.requested,
      fps_achieved: runRate.achieved === null ? null : Math.round(runRate.achieved * 100) / 100,
      ...(cameraLosses.count === 0 && camera.streamStatistics === undefined
        ? {}
        : { frames_lost_camera: cameraLosses.count, camera_losses: cameraLosses.snapshot() }),
      ...(camera.streamStatistics === undefined ? {} : { camera_statistics: { ...camera.streamStatistics() } }),
    };
    const endParts = encodeRunEnd(end);
    live.publish(endParts);
    if (lossless !== null && !control.saverLost) {
      lossless.sendAlways(endParts);
      await lossless.drain();
    }
    report();
    return end;
  }

  private reportProgress(
    acquired: number,
    dropped: number,
    shown: { published: number; skipped: number },
    rate: RateWatch,
    cameraLost: number,
  ): void {
    const current = rate.current();
    this.options.onProgress?.({
      fpsRequested: current.requested,
      fpsAchieved: current.achieved === null ? null : Math.round(current.achieved * 100) / 100,
      acquired,
      cameraLost,
      dropped,
      published: shown.published,
      liveSkipped: shown.skipped,
      queuedBytes: this.options.lossless?.stats.queuedBytes ?? 0,
      savers: this.options.lossless?.stats.peers ?? 0,
    });
  }
}
