import type { LabcastConfig, SaverConfig, SecurityConfig } from '../config/schema.js';
import { frameByteLength } from '../protocol/dtype.js';
import { isErrorCode, isLabcastError, LabcastError, type ErrorCode } from '../protocol/errors.js';
import type { RunEnd, RunEndReason } from '../protocol/messages.js';
import type { CompressionSpec, CompressionSummary } from '../protocol/compression.js';
import type {
  RingWrites,
  SavedFileSummary,
  SavedResultsPayload,
  SaverCommand,
  SaverEvent,
  SaverInit,
} from '../protocol/process-messages.js';
import { nextRecordingPath, resolveRequestedPath } from '../storage/recording-paths.js';
import { readPublicKeyFile } from '../transport/curve.js';
import { LabcastChild } from './child-process.js';
import { saverPortWith, type AcquisitionPort, type SaverPort, type StartSaver } from './ports.js';
import { SAVER_SCRIPT } from './process-scripts.js';

const SAVER_EXIT_GRACE_MS = 10_000;

export interface RecordingParameters {
  readonly runId: string;
  readonly frames: number | null;
  readonly durationS: number | null;
  /** Final file path, already resolved and checked by the caller. */
  readonly outPath: string;
  readonly overwrite: boolean;
  readonly flushIntervalMs: number;
  /** Lossless compression of the frames (storage.compression); absent: none. */
  readonly compression?: CompressionSpec;
  /**
   * serve's saver section. With mode `remote` a `labcast save` elsewhere takes
   * the frames and no saver process is started here. Absent: a local saver.
   */
  readonly saver?: Pick<SaverConfig, 'mode' | 'remote_timeout_s'>;
  /** serve's security section: with CURVE keys the local saver connects as a CURVE client. */
  readonly security?: SecurityConfig;
  /** serve's analysis results endpoint: the local saver stores the run's results in the file. Absent/null: none. */
  readonly resultsEndpoint?: string | null;
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
  /**
   * The run's duration, first to last frame in the file by camera time (storage/run-timing.ts); null with fewer than two frames, or when
   * a remote saver wrote the file.
   */
  readonly durationS: number | null;
  /** The run's frame rate (storage/run-timing.ts), null as durationS. */
  readonly fps: number | null;
  /** Wall-clock time from run start until the file was closed, start-up and drain included. */
  readonly elapsedS: number;
  readonly endReason: RunEndReason | 'unknown';
  /** Why the run failed, if it did (a process died, the disk filled...). */
  readonly error: string | null;
  /** The failure's code when `error` is set (e.g. CAMERA_FAILED for a camera that died mid-run); absent otherwise. */
  readonly errorCode?: ErrorCode;
  /** The frame rate the camera was asked for (null: none set), and what it delivered over the run (null: under a second). */
  readonly fpsRequested: number | null;
  readonly fpsAchieved: number | null;
  /** The saver's CPU time (user + system) for the run, s; absent if it never reported (died, remote). */
  readonly saverCpuS?: number;
  /**
   * Wall time from the first frame's arrival at the saver until the file was closed (drain and last flush included),
   * s: the run's speed camera → closed file, where durationS is the camera's; absent if the saver never reported (died, remote).
   */
  readonly firstFrameToClosedS?: number;
  /** The HDF5 writer that wrote the file (its /entry@hdf5_writer); absent if the saver never reported. */
  readonly writer?: string;
  /** Frames that came through the shared-memory ring: how the saver wrote them. Absent when none did. */
  readonly ringWrites?: RingWrites;
  /** What the saver did with analysis results; absent when it did not subscribe (labcast record, remote). */
  readonly analysisResults?: SavedResultsPayload;
  /** Of framesLost, the frames the camera itself lost (GenICam); absent for cameras that cannot. */
  readonly framesLostCamera?: number;
  /** The camera's stream health counters at the end of the run (GenICam: Aravis's statistics, triggers). */
  readonly cameraStatistics?: Readonly<Record<string, number>>;
  /** Compressed frames: codec, level, bytes in and out, ratio; absent for raw frames or when the saver never reported. */
  readonly compression?: CompressionSummary;
}

type FileClosed = Extract<SaverEvent, { type: 'file-closed' }>;

/**
 * Where a recording goes: a file in the data directory (the next numbered
 * one, or the path asked for, checked), or with saver.mode remote a label
 * naming the record endpoint: the remote saver names its files itself.
 */
export function plannedRecordingPath(config: LabcastConfig, runId: string, requested: string | null): string {
  if (config.saver.mode === 'remote') {
    if (requested !== null) {
      throw new LabcastError(
        'BAD_ARGUMENT',
        `saver.mode is remote: the remote saver (labcast save --out DIR) names the files, ` +
          `so a recording cannot be given a path (${JSON.stringify(requested)}); leave it out`,
        'path',
      );
    }
    return `${REMOTE_LABEL} ${config.endpoints.record}`;
  }
  return requested === null ? nextRecordingPath(config.storage, runId, new Date()) : resolveRequestedPath(config.storage, requested);
}

const REMOTE_LABEL = 'remote saver on';

/** The acquisition process's CURVE key files, or null when no keys are configured (plain ZeroMQ). */
export function curveKeyFiles(security: SecurityConfig): { publicKeyFile: string; secretKeyFile: string } | null {
  const { server_public_key_file: publicKeyFile, server_secret_key_file: secretKeyFile } = security;
  return publicKeyFile === undefined || secretKeyFile === undefined ? null : { publicKeyFile, secretKeyFile };
}

/**
 * One run saved to one file, with an account of every frame at the end.
 * `Recording.start` picks how: a local saver process (LocalRecording: one of
 * its own, or serve's resident saver handed this run), or a `labcast save`
 * connected from elsewhere (RemoteRecording).
 */
export abstract class Recording {
  abstract readonly parameters: RecordingParameters;
  abstract readonly result: Promise<RecordingResult>;
  abstract get progress(): RecordingProgress;
  abstract get saverPid(): number | undefined;
  abstract get saverRunning(): boolean;
  /** Who saves, for the status: the saver process, or the remote saver and its endpoint. */
  abstract get saverTitle(): string;
  /** The file being written; null when a remote saver writes it (it names its files on its own host). */
  abstract get filePath(): string | null;
  /** Ends the run; everything acquired is drained to the saver first. */
  abstract stop(): void;
  /** Gives up on the drain: the file is closed with what has arrived. */
  abstract abandon(): void;

  /**
   * Starts the saving side, then the run; rejects (nothing recorded) if no
   * saver can take the frames. `startSaver` starts a local saver (by default
   * a saver process of its own).
   */
  static start(
    acquisition: AcquisitionPort,
    parameters: RecordingParameters,
    onProgress: (progress: RecordingProgress) => void,
    startSaver: StartSaver = startSaverProcess,
  ): Promise<Recording> {
    return parameters.saver?.mode === 'remote'
      ? RemoteRecording.start(acquisition, parameters, onProgress)
      : LocalRecording.start(acquisition, parameters, onProgress, startSaver);
  }
}

/**
 * A local saver process (its own, or serve's resident saver for this run), a
 * saving run on an already running acquisition. Whichever process fails, the
 * other is wound down so that the file is closed with what arrived and the
 * result says what happened.
 */
class LocalRecording extends Recording {
  private readonly counts = { acquired: 0, dropped: 0, framesWritten: 0, bytesWritten: 0 };
  private readonly startedAt = performance.now();
  readonly result: Promise<RecordingResult>;

  private constructor(
    private readonly acquisition: AcquisitionPort,
    private readonly saver: SaverPort,
    readonly parameters: RecordingParameters,
    onProgress: (progress: RecordingProgress) => void,
  ) {
    super();
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
  static override async start(
    acquisition: AcquisitionPort,
    parameters: RecordingParameters,
    onProgress: (progress: RecordingProgress) => void,
    startSaver: StartSaver = startSaverProcess,
  ): Promise<Recording> {
    if (acquisition.ready.recordEndpoint === null) throw new Error('the acquisition process has no record endpoint');
    const saver = startSaver(localSaverInit(acquisition.ready.recordEndpoint, parameters));
    try {
      await saver.waitFor('ready');
    } catch (error) {
      await saver.shutdown({ type: 'shutdown' }, SAVER_EXIT_GRACE_MS);
      throw error;
    }
    return new LocalRecording(acquisition, saver, parameters, onProgress);
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

  get saverTitle(): string {
    return 'labcast-saver';
  }

  get filePath(): string {
    return this.parameters.outPath;
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
    const codes: string[] = [];
    let end: RunEnd | null = null;
    let saved: FileClosed | null = null;
    await Promise.all([
      runEnded.then(
        (value) => {
          end = value;
        },
        (error: Error) => {
          errors.push(error.message);
          codes.push(codeOf(error));
          // Nothing more will come: let the saver close the file with what it has.
          this.saver.send({ type: 'shutdown' });
        },
      ),
      fileClosed.then(
        (value) => {
          saved = value;
          if (value.error !== null) {
            errors.push(value.error.message);
            codes.push(value.error.code);
            // The saver has stopped taking frames: end the run without waiting for it.
            this.acquisition.abandonSaving();
          }
        },
        (error: Error) => {
          errors.push(error.message);
          codes.push(codeOf(error));
          // Nobody is left to take frames: end the run without waiting for a saver.
          this.acquisition.abandonSaving();
        },
      ),
    ]);
    await this.saver.shutdown({ type: 'shutdown' }, SAVER_EXIT_GRACE_MS);
    const elapsedS = (performance.now() - this.startedAt) / 1000;
    const summary = (saved as FileClosed | null)?.summary ?? (await this.whatTheFileHolds());
    return this.account(end, saved, summary, errors, codes, elapsedS);
  }

  /** After a saver died: what reached the disk, read back from the file itself. */
  private async whatTheFileHolds(): Promise<SavedFileSummary | null> {
    try {
      // Only after a saver died: the inspector (and h5wasm) stay out of every start-up.
      const { inspectRecording } = await import('../hdf5/file-inspector.js');
      const found = await inspectRecording(this.parameters.outPath);
      return {
        path: found.path,
        framesWritten: found.frameCount,
        gaps: found.gaps,
        bytesWritten: found.frameCount * frameByteLength(found.frameShape, found.dtype),
        durationS: found.durationS,
        fps: found.fps,
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
    codes: readonly string[],
    elapsedS: number,
  ): RecordingResult {
    const runEnd = end ?? saved?.end ?? null;
    const framesAcquired = runEnd?.frames_acquired ?? this.counts.acquired;
    const framesWritten = summary?.framesWritten ?? 0;
    if (runEnd?.error) errors.push(`acquisition: ${runEnd.error}`);
    const sent = runEnd === null ? 0 : framesAcquired - runEnd.frames_dropped - (runEnd.frames_lost_camera ?? 0);
    if (saved !== null && runEnd !== null && sent !== framesWritten) {
      // The lossless path delivered a different count than acquisition sent:
      // never expected, so say it loudly rather than average it away.
      errors.push(`accounting mismatch: acquisition sent ${sent} frames, the file holds ${framesWritten}`);
    }
    return {
      path: summary?.path ?? null,
      runId: this.parameters.runId,
      framesWritten,
      framesAcquired,
      framesLost: Math.max(0, framesAcquired - framesWritten),
      gaps: summary?.gaps ?? [],
      bytesWritten: summary?.bytesWritten ?? this.counts.bytesWritten,
      durationS: summary?.durationS ?? null,
      fps: summary?.fps ?? null,
      elapsedS,
      endReason: runEnd?.reason ?? 'unknown',
      error: errors.length > 0 ? [...new Set(errors)].join('; ') : null,
      ...(errors.length > 0 ? { errorCode: runErrorCode(runEnd, codes) } : {}),
      ...runRate(runEnd),
      ...(saved?.saverCpuS === undefined ? {} : { saverCpuS: saved.saverCpuS }),
      ...(saved?.firstFrameToClosedS === undefined ? {} : { firstFrameToClosedS: saved.firstFrameToClosedS }),
      ...(saved?.writer === undefined ? {} : { writer: saved.writer }),
      ...(saved?.ringWrites === undefined ? {} : { ringWrites: saved.ringWrites }),
      ...(saved?.results === undefined ? {} : { analysisResults: saved.results }),
      ...(summary?.compression === undefined ? {} : { compression: summary.compression }),
      ...cameraAccount(runEnd),
    };
  }
}

/**
 * saver.mode remote: a `labcast save` on another machine (or anywhere) is
 * connected to the record endpoint and writes the file there. Nothing is
 * started here; the run waits up to saver.remote_timeout_s for that saver,
 * and the account comes from the acquisition's side: frames handed to the
 * remote saver, and every drop counted at the acquisition's buffer. The
 * remote saver's own summary (and its file) holds the frames it wrote.
 */
class RemoteRecording extends Recording {
  private readonly counts = { acquired: 0, dropped: 0, queuedBytes: 0 };
  private readonly startedAt = performance.now();
  private readonly frameBytes: number;
  private savers = 1;
  private saversGoneSince: number | null = null;
  private saverLost = false;
  private ended = false;
  readonly result: Promise<RecordingResult>;

  private constructor(
    private readonly acquisition: AcquisitionPort,
    readonly parameters: RecordingParameters,
    private readonly endpoint: string,
    private readonly timeoutMs: number,
    runEnded: Promise<RunEnd>,
    onProgress: (progress: RecordingProgress) => void,
  ) {
    super();
    const format = acquisition.ready.format;
    this.frameBytes = frameByteLength(format.shape, format.dtype);
    const stopWatchingAcquisition = acquisition.onProgress((event) => {
      this.counts.acquired = event.acquired;
      this.counts.dropped = event.dropped;
      this.counts.queuedBytes = event.queuedBytes;
      if (event.savers !== undefined) this.noteSavers(event.savers);
      onProgress(this.progress);
    });
    // A remote saver that went away (killed, network down) takes no frames and
    // a drain would wait for it forever: after the same grace as at the start,
    // the run ends without it, and what it did not get is counted as dropped.
    const watchdog = setInterval(() => this.checkSaver(), Math.min(250, timeoutMs));
    this.result = this.settle(runEnded).finally(() => {
      this.ended = true;
      clearInterval(watchdog);
      stopWatchingAcquisition();
    });
  }

  static override async start(
    acquisition: AcquisitionPort,
    parameters: RecordingParameters,
    onProgress: (progress: RecordingProgress) => void,
  ): Promise<Recording> {
    const endpoint = acquisition.ready.recordEndpoint;
    if (endpoint === null) throw new Error('the acquisition process has no record endpoint');
    const timeoutMs = Math.round((parameters.saver?.remote_timeout_s ?? 10) * 1000);
    const started = acquisition.runStarted(parameters.runId);
    const runEnded = acquisition.startRun({
      runId: parameters.runId,
      frames: parameters.frames,
      durationS: parameters.durationS,
      save: true,
      saverWaitMs: timeoutMs,
    });
    // Its failure is the same as started's, reported below.
    runEnded.catch(() => undefined);
    try {
      await started;
    } catch (error) {
      if (isLabcastError(error) && error.code === 'NO_SAVER') {
        throw new LabcastError(
          'NO_SAVER',
          `saver.mode is remote, but no remote saver connected to the record endpoint ${endpoint} (endpoints.record) ` +
            `within ${seconds(timeoutMs)} s (saver.remote_timeout_s); ` +
            `start one on the saving machine with \`labcast save --connect tcp://THIS_HOST:PORT --out DIR\`, or set saver.mode: local`,
          'saver.mode',
        );
      }
      throw error;
    }
    return new RemoteRecording(acquisition, parameters, endpoint, timeoutMs, runEnded, onProgress);
  }

  get progress(): RecordingProgress {
    const queued = Math.ceil(this.counts.queuedBytes / Math.max(1, this.frameBytes));
    const handedOver = Math.max(0, this.counts.acquired - this.counts.dropped - queued);
    return {
      acquired: this.counts.acquired,
      dropped: this.counts.dropped,
      framesWritten: handedOver,
      bytesWritten: handedOver * this.frameBytes,
      elapsedS: (performance.now() - this.startedAt) / 1000,
    };
  }

  get saverPid(): number | undefined {
    return undefined;
  }

  get saverRunning(): boolean {
    return this.savers > 0;
  }

  get saverTitle(): string {
    return `${REMOTE_LABEL} ${this.endpoint}`;
  }

  get filePath(): null {
    return null;
  }

  stop(): void {
    this.acquisition.stopRun();
  }

  abandon(): void {
    this.acquisition.abandonSaving();
  }

  private noteSavers(savers: number): void {
    this.savers = savers;
    if (savers > 0) this.saversGoneSince = null;
    else this.saversGoneSince ??= performance.now();
  }

  private checkSaver(): void {
    if (this.ended || this.saverLost || this.saversGoneSince === null) return;
    if (performance.now() - this.saversGoneSince < this.timeoutMs) return;
    this.saverLost = true;
    this.acquisition.abandonSaving();
  }

  private async settle(runEnded: Promise<RunEnd>): Promise<RecordingResult> {
    const errors: string[] = [];
    const codes: string[] = [];
    let end: RunEnd | null = null;
    try {
      end = await runEnded;
    } catch (error) {
      errors.push((error as Error).message);
      codes.push(codeOf(error));
    }
    if (this.saverLost) {
      codes.unshift('NO_SAVER');
      errors.push(
        `the remote saver on ${this.endpoint} disconnected during the recording (none connected for ${seconds(this.timeoutMs)} s); the ` +
          `frames it did not get are counted as lost, and its file ends where it stopped`,
      );
    } else if (end?.error) {
      errors.push(`acquisition: ${end.error}`);
    }
    const framesAcquired = end?.frames_acquired ?? this.counts.acquired;
    const framesWritten =
      end === null ? this.progress.framesWritten : Math.max(0, end.frames_acquired - end.frames_dropped - (end.frames_lost_camera ?? 0));
    return {
      path: null,
      runId: this.parameters.runId,
      framesWritten,
      framesAcquired,
      framesLost: Math.max(0, framesAcquired - framesWritten),
      gaps: [...(end?.drops ?? []), ...(end?.camera_losses ?? [])].sort((a, b) => a[0] - b[0]),
      bytesWritten: framesWritten * this.frameBytes,
      // The frames' timestamps are in the remote saver's file and summary.
      durationS: null,
      fps: null,
      elapsedS: (performance.now() - this.startedAt) / 1000,
      endReason: end?.reason ?? 'unknown',
      error: errors.length > 0 ? errors.join('; ') : null,
      ...(errors.length > 0 ? { errorCode: runErrorCode(this.saverLost ? null : end, codes) } : {}),
      ...runRate(end),
      ...cameraAccount(end),
    };
  }
}

/** A thrown error's code: a LabcastError's own, else INTERNAL. */
function codeOf(error: unknown): ErrorCode {
  return isLabcastError(error) ? error.code : 'INTERNAL';
}

/**
 * The code of a failed run: the acquisition's (the cause, e.g. CAMERA_FAILED
 * when the camera died) before the others (the saver's, a process that died),
 * INTERNAL when none says (an accounting mismatch).
 */
function runErrorCode(end: RunEnd | null, codes: readonly string[]): ErrorCode {
  return [end?.error_code, ...codes].find(isErrorCode) ?? 'INTERNAL';
}

/** A saver process of its own (saver-process.js), the real SaverPort. */
export function startSaverProcess(init: SaverInit): SaverPort {
  return LabcastChild.start<SaverCommand, SaverEvent>('saver', SAVER_SCRIPT, init);
}

/** What a local saver of `parameters` is started with, taking frames from `endpoint`. */
function localSaverInit(endpoint: string, parameters: RecordingParameters): SaverInit {
  const publicKeyFile = parameters.security?.server_public_key_file;
  return {
    endpoint,
    runId: parameters.runId,
    outPath: parameters.outPath,
    overwrite: parameters.overwrite,
    flushIntervalMs: parameters.flushIntervalMs,
    ...(parameters.compression === undefined ? {} : { compression: parameters.compression }),
    serverKey: publicKeyFile === undefined ? null : readPublicKeyFile(publicKeyFile, 'security.server_public_key_file'),
    resultsEndpoint: parameters.resultsEndpoint ?? null,
  };
}

/**
 * A local saver started before its acquisition is ready, when the record
 * endpoint is known ahead (labcast record picks it): the two processes start
 * at once instead of one after the other. Its `startSaver`, given to
 * Recording.start, hands over this saver; `cancel` shuts it down when the
 * recording never starts.
 */
export function saverStartedAhead(
  endpoint: string,
  parameters: RecordingParameters,
  start: StartSaver = startSaverProcess,
): { startSaver: StartSaver; cancel(): Promise<void> } {
  const saver = start(localSaverInit(endpoint, parameters));
  // Listened for now: the saver may be ready before Recording.start asks, and
  // an event nobody waits for is gone.
  const ready = saver.waitFor('ready');
  ready.catch(() => undefined);
  let taken = false;
  const startSaver: StartSaver = (init) => {
    if (taken || init.endpoint !== endpoint || init.outPath !== parameters.outPath) {
      throw new Error('a saver started ahead serves one recording, at the endpoint and path it was started for');
    }
    taken = true;
    const waitFor = ((type, accept) =>
      type === 'ready' && accept === undefined ? ready : saver.waitFor(type, accept)) as SaverPort['waitFor'];
    return saverPortWith(saver, { waitFor });
  };
  const cancel = async (): Promise<void> => {
    await saver.shutdown({ type: 'shutdown' }, SAVER_EXIT_GRACE_MS);
  };
  return { startSaver, cancel };
}

function runRate(end: RunEnd | null): Pick<RecordingResult, 'fpsRequested' | 'fpsAchieved'> {
  return { fpsRequested: end?.fps_requested ?? null, fpsAchieved: end?.fps_achieved ?? null };
}

/** What a camera that can lose frames itself (GenICam) reported at the run end. */
function cameraAccount(end: RunEnd | null): Pick<RecordingResult, 'framesLostCamera' | 'cameraStatistics'> {
  return {
    ...(end?.frames_lost_camera === undefined ? {} : { framesLostCamera: end.frames_lost_camera }),
    ...(end?.camera_statistics === undefined ? {} : { cameraStatistics: end.camera_statistics }),
  };
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
