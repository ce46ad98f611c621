import { readPublicKeyFile } from '../transport/curve.js';
import { randomUUID } from 'node:crypto';
import type { LabcastConfig } from '../config/schema.js';
import type {
  ControlCommand,
  ControlRequest,
  ControlResult,
  ExperimentStatus,
  ProcessInfo,
  NoteResult,
  RecordingInfo,
  RunProgress,
  SettingResult,
  SettingsResult,
  WaitResult,
} from '../protocol/control.js';
import { rateShortfall } from '../protocol/camera-rate.js';
import { frameByteLength } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';
import { PROTOCOL_VERSION, type RunEnd } from '../protocol/messages.js';
import type { SettingSpecPayload, SettingValuePayload } from '../protocol/process-messages.js';
import { AcquisitionHandle } from './acquisition-handle.js';
import { storageCompression } from '../storage/compression-support.js';
import { AnalysisSupervisor, analysisDefinitions } from './analysis-supervisor.js';
import type { ChildExit } from './child-process.js';
import { CommandQueue } from './command-queue.js';
import { RateMeter } from './rate-meter.js';
import { resolve } from 'node:path';
import { annotateRecording, resolveNoteTarget, withNameInPath } from '../storage/recording-notes.js';
import type { AcquisitionPort, SaverKeeper, StartSaver } from './ports.js';
import { ResidentSaver } from './resident-saver.js';
import { curveKeyFiles, plannedRecordingPath, Recording, startSaverProcess, type RecordingResult } from './recording.js';

const MIB = 1024 * 1024;
/** How often status is pushed while frames flow (state changes are pushed at once). */
const STATUS_INTERVAL_MS = 500;
/** How long a `wait` without timeout_s waits before answering `ended: false`. */
const DEFAULT_WAIT_S = 60;
/** Ended recordings a `wait` can still ask about by run id. */
const ENDED_RECORDINGS_KEPT = 100;
/**
 * Waits pending at once, at most: each holds one of the control server's
 * requests in flight (MAX_REQUESTS_IN_FLIGHT, 256), and the rest must stay
 * free for every other client's requests.
 */
const MAX_PENDING_WAITS = 64;

/** A live view: frames to viewers, nothing saved. `ended` settles once the run is drained. */
interface LiveRun {
  readonly runId: string;
  readonly ended: Promise<void>;
}

/** A recording: `finished` settles with what the file holds once it is closed. */
interface RecordingRun {
  readonly recording: Recording;
  readonly finished: Promise<RecordingInfo>;
}

/**
 * The experiment's one state, holding what each needs. `resumeLive`: go back
 * to live view when the recording ends (it was started from live, or `save
 * off` asked for it). In `error`, a run that was going when the failure came
 * is still winding down (a recording closes its file); it is kept until it
 * has, so status still names it and `stop` can wait for it.
 */
type ControllerState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'live'; readonly live: LiveRun }
  | { readonly kind: 'recording'; readonly run: RecordingRun; readonly resumeLive: boolean }
  | { readonly kind: 'stopping'; readonly run: RecordingRun; readonly resumeLive: boolean }
  | {
      readonly kind: 'error';
      readonly error: string;
      readonly live: LiveRun | null;
      readonly run: RecordingRun | null;
      /** The camera itself failed (CAMERA_FAILED): reset re-opens it in a new acquisition process. */
      readonly cameraFailed: boolean;
    };

/**
 * One camera as the controller sees it: its acquisition and its frame
 * counters. The controller owns one; with several cameras this becomes a
 * Map<camera name, CameraSlot>, and the live and recording states hold one
 * LiveRun or RecordingRun per slot.
 */
interface CameraSlot {
  acquisition: AcquisitionPort;
  readonly frames: { acquired: number; published: number; live_skipped: number; dropped: number; saved: number };
  /** Of `acquired`: sequence numbers the camera itself lost (never sent to a saver). */
  cameraLost: number;
  readonly rate: RateMeter;
  /** The camera's requested rate and the rate it delivered over the last second, from the acquisition's progress. */
  cameraRate: { requested: number | null; achieved: number | null };
}

/** How the controller starts the processes it supervises; tests start in-process ones. */
export interface ExperimentProcesses {
  /** The camera's acquisition (at start, and again on `reset` after it died); resolves once the camera is open. */
  startAcquisition(): Promise<AcquisitionPort>;
  /** The saver of one local recording. */
  startSaver: StartSaver;
  /**
   * A saver kept started and connected between recordings (serve with
   * saver.mode local): it takes each local recording instead of startSaver.
   */
  savers?: SaverKeeper;
}

type RequestOf<C extends ControlCommand> = Extract<ControlRequest, { cmd: C }>;
/** One handler per command, each answering with what its command answers (CONTROL_RESULT_SCHEMAS). */
type CommandHandlers = { readonly [C in ControlCommand]: (request: RequestOf<C>) => Promise<ControlResult<C>> | ControlResult<C> };

export interface ControllerEndpoints {
  readonly control: string;
  readonly status: string;
  /** The analysis results endpoints serve binds (XPUB for subscribers, XSUB for publishers). */
  readonly results?: string;
  readonly results_in?: string;
}

/**
 * The experiment: the one owner of state (idle, live, recording, stopping,
 * error) and the only path from any view to the camera. Views send it
 * ControlRequests; it answers and pushes status. It supervises the
 * acquisition process (long-lived) and the saver: a resident one that
 * serve keeps ready and hands each recording (or one per recording).
 */
export class ExperimentController {
  private state: ControllerState = { kind: 'idle' };
  private lastRecording: RecordingInfo | null = null;
  private readonly camera: CameraSlot;
  private readonly endedRecordings = new Map<string, RecordingInfo>();
  private pendingWaits = 0;
  private readonly queue = new CommandQueue();
  private shuttingDown = false;
  /** Acquisitions `reset` is shutting down to re-open the camera: their exit is no failure. */
  private readonly retiredAcquisitions = new WeakSet<AcquisitionPort>();
  /** A run ended with CAMERA_FAILED: `reset` must re-open the camera. */
  private shutdownDone: Promise<void> | null = null;
  private readonly shutdownListeners: (() => void)[] = [];
  private statusTimer: NodeJS.Timeout;
  private endpoints: ControllerEndpoints = { control: '', status: '' };
  /** Analysis processes, started and stopped by name (analysis-supervisor.ts). */
  readonly analyses: AnalysisSupervisor;

  private readonly handlers: CommandHandlers = {
    status: () => this.status(),
    settings: () => this.settings(),
    get: (request) => this.getSetting(request.name),
    set: (request) => this.setSetting(request.name, request.value),
    subscribers: () => this.processes().filter((process) => process.role !== 'acquisition'),
    stop: () => {
      // The running activity stops now (within a frame); the queued part
      // also stops whatever a command queued before this one started.
      this.stopActivity();
      return this.queue.run(() => this.stopAndWait());
    },
    live: () => this.queue.run(() => this.goLive()),
    record: (request) =>
      this.queue.run(() =>
        this.record({
          frames: request.frames ?? null,
          durationS: request.duration_s ?? null,
          path: request.path ?? null,
          name: request.name ?? null,
          note: request.note ?? null,
        }),
      ),
    note: (request) => this.addNote(request.path, request.text),
    save: (request) => this.queue.run(() => (request.on ? this.saveOn() : this.saveOff())),
    snap: (request) => this.queue.run(() => this.snap(request.path ?? null)),
    // Not queued: a trigger goes to the camera at once, while live or recording.
    trigger: () => this.trigger(),
    subscriber: (request) => this.subscriber(request.action, request.name),
    analysis: (request) => this.analyses.handle(request.action, request.name),
    reset: () => this.queue.run(() => this.reset()),
    shutdown: () => {
      void this.shutdown();
      return this.status();
    },
    // Not queued: it changes nothing, and the server answers other clients meanwhile.
    wait: (request) => this.waitForRecording(request.run_id ?? null, request.timeout_s ?? DEFAULT_WAIT_S),
  };

  private constructor(
    private readonly config: LabcastConfig,
    acquisition: AcquisitionPort,
    private readonly launch: ExperimentProcesses,
    private readonly publish: (status: ExperimentStatus) => void,
  ) {
    this.camera = {
      acquisition,
      frames: { acquired: 0, published: 0, live_skipped: 0, dropped: 0, saved: 0 },
      cameraLost: 0,
      rate: new RateMeter(),
      cameraRate: { requested: acquisition.ready.camera.fpsRequested ?? null, achieved: null },
    };
    this.watch(acquisition);
    this.analyses = new AnalysisSupervisor(
      analysisDefinitions(config.analysis),
      () => ({ data: this.camera.acquisition.ready.dataEndpoint, resultsIn: this.endpoints.results_in ?? null }),
      () => this.publishStatus(),
      serverPublicKey(config),
    );
    this.statusTimer = setInterval(() => {
      if (this.isActive()) this.publishStatus();
    }, STATUS_INTERVAL_MS);
  }

  /**
   * Starts the acquisition; resolves once the camera is open. `processes`:
   * how acquisition and savers are started (child processes unless given).
   */
  static async start(
    config: LabcastConfig,
    publish: (status: ExperimentStatus) => void,
    processes: ExperimentProcesses = childProcesses(config),
  ): Promise<ExperimentController> {
    return new ExperimentController(config, await processes.startAcquisition(), processes, publish);
  }

  /** Where views reach this controller (for status reports). */
  setEndpoints(endpoints: ControllerEndpoints): void {
    this.endpoints = endpoints;
    // Now that the results endpoint is known: the saver starts before any recording asks for it.
    this.keepSaverReady();
  }

  /** Answers one request with what its command answers (CONTROL_RESULT_SCHEMAS); a refusal is a LabcastError. */
  async handle<R extends ControlRequest>(request: R): Promise<ControlResult<R['cmd']>> {
    const handler = this.handlers[request.cmd] as (request: R) => Promise<ControlResult<R['cmd']>> | ControlResult<R['cmd']>;
    return handler(request);
  }

  /** Called once shutdown has begun, whoever asked for it (a client or a signal). */
  onShutdownRequested(listener: () => void): void {
    this.shutdownListeners.push(listener);
  }

  /** Stops everything cleanly: a recording is drained and closed, every child reaped. Idempotent. */
  shutdown(): Promise<void> {
    this.shutdownDone ??= this.stopEverything();
    return this.shutdownDone;
  }

  private async stopEverything(): Promise<void> {
    this.shuttingDown = true;
    for (const listener of this.shutdownListeners) listener();
    this.stopActivity();
    await this.queue.run(() => this.stopAndWait());
    clearInterval(this.statusTimer);
    await this.launch.savers?.shutdown();
    await this.analyses.shutdown();
    await this.camera.acquisition.shutdown();
  }

  status(): ExperimentStatus {
    const { acquisition, rate } = this.camera;
    const format = acquisition.ready.format;
    // No frames flow while idle (or in error with nothing winding down): no rate, whatever the
    // last samples said — the status pushed as a run ends is the one a watcher keeps.
    const fps = this.isActive() ? rate.perSecond() : 0;
    const live = this.liveRun();
    const recording = this.recordingRun()?.recording ?? null;
    const frames = this.consistentFrames();
    return {
      protocol: PROTOCOL_VERSION,
      state: this.state.kind,
      error: this.state.kind === 'error' ? this.state.error : null,
      run_id: live !== null ? live.runId : (recording?.parameters.runId ?? null),
      file: recording?.filePath ?? null,
      frames,
      fps: round(fps, 2),
      mb_per_s: round((fps * frameByteLength(format.shape, format.dtype)) / 1e6, 2),
      fps_requested: this.camera.cameraRate.requested,
      fps_achieved: this.state.kind === 'idle' ? null : this.camera.cameraRate.achieved,
      rate_warning: this.state.kind === 'idle' ? null : rateShortfall(this.camera.cameraRate),
      saved_bytes: recording?.progress.bytesWritten ?? 0,
      progress: recording === null ? null : runProgress(recording, frames.acquired, fps),
      camera: {
        driver: acquisition.ready.camera.driver,
        model: acquisition.ready.camera.model,
        settings: acquisition.settings,
      },
      endpoints: {
        data: acquisition.ready.dataEndpoint,
        control: this.endpoints.control,
        status: this.endpoints.status,
        ...(this.endpoints.results === undefined ? {} : { results: this.endpoints.results }),
        ...(this.endpoints.results_in === undefined ? {} : { results_in: this.endpoints.results_in }),
      },
      last_recording: this.lastRecording,
      processes: this.processes(),
      analyses: this.analyses.infos(),
      ...(acquisition.streamStatistics === null ? {} : { stream: acquisition.streamStatistics }),
    };
  }

  /**
   * The frame counters as one moment's account. The acquisition and the saver report on
   * timers of their own, so the saver's count can be newer than the acquisition's; the
   * file's count is then shown as of the acquisition's last report (never more frames saved
   * than acquired, minus those dropped or lost by the camera). What the file holds at the
   * end is in last_recording, exact.
   */
  private consistentFrames(): ExperimentStatus['frames'] {
    const { frames, cameraLost } = this.camera;
    const savable = Math.max(0, frames.acquired - frames.dropped - cameraLost);
    return { ...frames, saved: Math.min(frames.saved, savable) };
  }

  // ---- commands ----

  private settings(): SettingsResult {
    const { acquisition } = this.camera;
    return { settings: acquisition.settings, specs: [...acquisition.specs] };
  }

  private specOf(name: string): SettingSpecPayload {
    const specs = this.camera.acquisition.specs;
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) {
      const known = specs.map((s) => s.name).join(', ');
      throw new LabcastError('BAD_SETTING', `unknown setting "${name}"; this camera has: ${known}`, name);
    }
    return spec;
  }

  private getSetting(name: string): SettingResult {
    const spec = this.specOf(name);
    return { name, value: this.camera.acquisition.settings[name] ?? spec.default, spec };
  }

  private async setSetting(name: string, value: SettingValuePayload): Promise<SettingsResult> {
    this.requireAcquisition();
    const spec = this.specOf(name);
    if (!spec.changeable_while_streaming && this.state.kind !== 'idle') {
      throw new LabcastError(
        'CAMERA_STATE',
        `${name} changes the frame shape, so it cannot change while ${this.state.kind}; stop first`,
        name,
      );
    }
    await this.camera.acquisition.setSetting(name, value);
    this.publishStatus();
    return this.settings();
  }

  private processes(): ProcessInfo[] {
    const { acquisition } = this.camera;
    const list: ProcessInfo[] = [
      { role: 'acquisition', title: 'labcast-acquisition', pid: acquisition.pid ?? null, running: acquisition.running },
    ];
    const recording = this.recordingRun()?.recording;
    const idleSaver = this.launch.savers?.idle ?? null;
    if (recording !== undefined) {
      list.push({ role: 'saver', title: recording.saverTitle, pid: recording.saverPid ?? null, running: recording.saverRunning });
    } else if (idleSaver !== null) {
      // The resident saver, connected and waiting for the next recording.
      list.push({ role: 'saver', title: 'labcast-saver', pid: idleSaver.pid ?? null, running: true });
    }
    list.push(...this.analyses.processes());
    return list;
  }

  private async subscriber(action: 'start' | 'stop', name: string): Promise<ExperimentStatus> {
    if (name !== 'saver') {
      throw new LabcastError('BAD_ARGUMENT', `unknown subscriber "${name}"; known subscribers: saver`, 'name');
    }
    return this.queue.run(() => (action === 'start' ? this.saveOn() : this.saveOff()));
  }

  private async goLive(): Promise<ExperimentStatus> {
    const state = this.requireNoError('live');
    if (state.kind === 'recording' || state.kind === 'stopping') {
      throw new LabcastError('CAMERA_STATE', 'a recording is in progress; stop it first, or use `save off` to keep the stream live');
    }
    if (state.kind === 'idle') this.startLive();
    return this.status();
  }

  private async record(request: {
    frames: number | null;
    durationS: number | null;
    path: string | null;
    name: string | null;
    note: string | null;
  }): Promise<ExperimentStatus> {
    const state = this.requireNoError('record');
    if (state.kind === 'recording' || state.kind === 'stopping') {
      throw new LabcastError('CAMERA_STATE', `already recording to ${state.run.recording.parameters.outPath}; stop it first`);
    }
    await this.startRecording({ ...request, resumeLive: state.kind === 'live' });
    return this.status();
  }

  private async saveOn(): Promise<ExperimentStatus> {
    const state = this.requireNoError('save on');
    if (state.kind === 'idle') {
      throw new LabcastError('CAMERA_STATE', 'nothing to save: the camera is idle; start `live` first, or use `record`');
    }
    if (state.kind === 'live') await this.startRecording({ frames: null, durationS: null, path: null, resumeLive: true });
    return this.status();
  }

  private async saveOff(): Promise<ExperimentStatus> {
    const run = this.recordingRun();
    if (run !== null) {
      if (this.state.kind !== 'error') this.setState({ kind: 'stopping', run, resumeLive: true });
      run.recording.stop();
      await run.finished;
    }
    return this.status();
  }

  private async snap(path: string | null): Promise<RecordingInfo> {
    const state = this.requireNoError('snap');
    if (state.kind === 'recording' || state.kind === 'stopping') {
      throw new LabcastError('CAMERA_STATE', 'a recording is in progress; snap when it has ended');
    }
    const run = await this.startRecording({ frames: 1, durationS: null, path, resumeLive: state.kind === 'live' });
    return run.finished;
  }

  /**
   * The recording `runId` (default: the current one, else the last) once it
   * has ended, or `ended: false` after `timeoutS`.
   */
  private async waitForRecording(runId: string | null, timeoutS: number): Promise<WaitResult> {
    const current = this.recordingRun();
    const id = runId ?? current?.recording.parameters.runId ?? this.lastRecording?.run_id ?? null;
    if (id === null) throw new LabcastError('BAD_ARGUMENT', 'no recording to wait for: none is running and none has run', 'run_id');
    const ended = this.endedRecordings.get(id);
    if (ended !== undefined) return { ended: true, recording: ended, status: this.status() };
    if (current === null || current.recording.parameters.runId !== id) {
      const what = this.liveRun()?.runId === id ? 'is live view, not a recording' : 'is not a recent recording of this server';
      throw new LabcastError('BAD_ARGUMENT', `run ${JSON.stringify(id)} ${what}; wait takes the run_id of a recording`, 'run_id');
    }
    if (this.pendingWaits >= MAX_PENDING_WAITS) {
      throw new LabcastError(
        'CAMERA_STATE',
        `${MAX_PENDING_WAITS} waits are pending already, the most labcast serve holds so that other requests are always answered; wait ` +
          `with fewer clients, or watch the status endpoint`,
      );
    }
    this.pendingWaits += 1;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => (timer = setTimeout(resolve, timeoutS * 1000, null)));
    try {
      const recording = await Promise.race([current.finished, timedOut]);
      return { ended: recording !== null, recording, status: this.status() };
    } finally {
      clearTimeout(timer);
      this.pendingWaits -= 1;
    }
  }

  /** Not queued: a trigger goes to the camera at once, while live or recording. */
  private async trigger(): Promise<ExperimentStatus> {
    const state = this.requireNoError('trigger');
    this.requireAcquisition();
    if (state.kind !== 'live' && state.kind !== 'recording') {
      throw new LabcastError(
        'CAMERA_STATE',
        `a trigger needs a running stream, and the camera is ${state.kind}; start \`live\` or \`record\` first`,
      );
    }
    await this.camera.acquisition.trigger();
    return this.status();
  }

  private async reset(): Promise<ExperimentStatus> {
    if (this.state.kind !== 'error') return this.status();
    const old = this.camera.acquisition;
    // A camera that failed stays dead in the process that opened it (a GigE
    // camera unplugged or power-cycled gives control only to a new
    // connection), so reset re-opens it in a fresh acquisition process. A
    // run still winding down is ended first (its file closed and reported in
    // last_recording), so the shutdown loses no frame. Any other failure (a
    // saver crash) leaves a healthy acquisition, which is kept.
    if (old.running && this.state.cameraFailed) {
      await this.stopAndWait();
      this.retiredAcquisitions.add(old);
      await old.shutdown();
    }
    if (!this.camera.acquisition.running || this.retiredAcquisitions.has(this.camera.acquisition)) {
      // A camera still gone: this throws, the state stays `error`, and reset can be sent again.
      this.camera.acquisition = await this.launch.startAcquisition();
      this.watch(this.camera.acquisition);
      this.keepSaverReady();
    }
    this.setState({ kind: 'idle' });
    return this.status();
  }

  // ---- transitions ----

  private startLive(): void {
    const runId = randomUUID();
    this.resetCounters();
    const live: LiveRun = {
      runId,
      ended: this.camera.acquisition.startRun({ runId, frames: null, durationS: null, save: false }).then(
        (end) => this.liveEnded(live, end),
        (error: Error) => this.liveEnded(live, null, error),
      ),
    };
    this.setState({ kind: 'live', live });
  }

  private liveEnded(live: LiveRun, end: RunEnd | null, error?: Error): void {
    const state = this.state;
    if ((state.kind !== 'live' && state.kind !== 'error') || state.live !== live) return;
    const failure = error !== undefined || end?.reason === 'error' ? `live view ended: ${error?.message ?? end?.error}` : null;
    const cameraFailed = end?.error_code === 'CAMERA_FAILED';
    if (state.kind === 'error') {
      this.setState({ ...state, error: failure ?? state.error, live: null, cameraFailed: state.cameraFailed || cameraFailed });
    } else if (failure !== null) this.setState({ kind: 'error', error: failure, live: null, run: null, cameraFailed });
    else this.setState({ kind: 'idle' });
  }

  private async startRecording(request: {
    frames: number | null;
    durationS: number | null;
    path: string | null;
    resumeLive: boolean;
    name?: string | null;
    note?: string | null;
  }): Promise<RecordingRun> {
    const runId = randomUUID();
    // Decide the file before touching the stream, so a bad name changes nothing.
    const planned = plannedRecordingPath(this.config, runId, request.path);
    // A name joins an auto-numbered file's name; a path asked for is kept as it is.
    const outPath =
      request.name && request.path === null && this.config.saver.mode !== 'remote' ? withNameInPath(planned, request.name) : planned;
    const live = this.liveRun();
    if (live !== null) {
      this.camera.acquisition.stopRun();
      await live.ended;
    }
    this.resetCounters();
    let recording: Recording;
    try {
      recording = await Recording.start(
        this.camera.acquisition,
        {
          runId,
          frames: request.frames,
          durationS: request.durationS,
          outPath,
          overwrite: this.config.storage.overwrite,
          flushIntervalMs: this.config.saver.flush_interval_ms,
          compression: storageCompression(this.config.storage),
          saver: this.config.saver,
          security: this.config.security,
          resultsEndpoint: this.endpoints.results ?? null,
        },
        (progress) => {
          this.camera.frames.saved = progress.framesWritten;
        },
        this.launch.savers?.startSaver ?? this.launch.startSaver,
      );
    } catch (error) {
      if (request.resumeLive && this.state.kind !== 'error') this.startLive();
      throw error;
    }
    const annotation = { title: request.name ?? null, note: request.note ?? null };
    const run: RecordingRun = {
      recording,
      finished: recording.result.then(async (result) => this.recordingEnded(run, result, await this.annotate(result, annotation))),
    };
    const state = this.state;
    // The acquisition failed while the saver started: the run only winds down.
    if (state.kind === 'error') this.state = { ...state, run };
    else this.setState({ kind: 'recording', run, resumeLive: request.resumeLive });
    return run;
  }

  /**
   * The recording's name and note into its file once the saver has closed it (the saver is
   * the file's only writer until then). A failure is reported with the recording, frames untouched.
   */
  /**
   * The recording's name and note into its file once the saver has closed it (the saver is
   * the file's only writer until then). Returns why they could not be stored, or null; the
   * frames are untouched either way, so the recording itself has not failed.
   */
  private async annotate(result: RecordingResult, annotation: { title: string | null; note: string | null }): Promise<string | null> {
    if (annotation.title === null && annotation.note === null) return null;
    if (result.path === null) return 'a remote saver wrote the file, so serve cannot store the name and note in it';
    // A saver that died before closing the file (no close report): the file is left as it is.
    if (result.writer === undefined) return 'the saver did not close the file, so it is left as it is';
    try {
      await annotateRecording(result.path, annotation);
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** A note added to a closed recording; the file being written takes notes once it is closed (`record --note`). */
  private async addNote(path: string, text: string): Promise<NoteResult> {
    const file = resolveNoteTarget(this.config.storage, path);
    const writing = this.recordingRun()?.recording.filePath ?? null;
    if (writing !== null && resolve(writing) === file) {
      throw new LabcastError(
        'CAMERA_STATE',
        `${path} is still being written; add the note once the recording has ended (or give it with record --note)`,
        'path',
      );
    }
    return annotateRecording(file, { note: text });
  }

  private recordingEnded(run: RecordingRun, result: RecordingResult, noteError: string | null = null): RecordingInfo {
    const info: RecordingInfo = { ...recordingInfo(result, run.recording), ...(noteError === null ? {} : { note_error: noteError }) };
    this.lastRecording = info;
    this.endedRecordings.set(info.run_id, info);
    if (this.endedRecordings.size > ENDED_RECORDINGS_KEPT) this.endedRecordings.delete(this.endedRecordings.keys().next().value!);
    this.camera.frames.saved = result.framesWritten;
    const state = this.state;
    if (this.recordingRun() !== run) return info;
    const cameraFailed = result.errorCode === 'CAMERA_FAILED';
    if (result.error !== null) {
      const error = `recording ${info.path ?? `by the ${info.saver}`} failed: ${result.error} (${result.framesWritten} frames were saved)`;
      this.setState({ kind: 'error', error, live: null, run: null, cameraFailed });
    } else if (state.kind === 'error') {
      this.setState({ ...state, run: null, cameraFailed: state.cameraFailed || cameraFailed });
    } else if (state.kind !== 'idle' && state.kind !== 'live' && state.resumeLive && !this.shuttingDown) {
      this.startLive();
    } else {
      this.setState({ kind: 'idle' });
    }
    return info;
  }

  /** Asks the running activity to end, without waiting. */
  private stopActivity(): void {
    const state = this.state;
    if (this.liveRun() !== null) {
      this.camera.acquisition.stopRun();
    } else if (state.kind === 'recording' || state.kind === 'stopping') {
      const stopping = { kind: 'stopping', run: state.run, resumeLive: false } as const;
      if (state.kind === 'recording') this.setState(stopping);
      else this.state = stopping;
      state.run.recording.stop();
    } else if (state.kind === 'error' && state.run !== null) {
      state.run.recording.stop();
    }
  }

  private async stopAndWait(): Promise<ExperimentStatus> {
    this.stopActivity();
    const live = this.liveRun();
    const run = this.recordingRun();
    if (live !== null) await live.ended;
    else if (run !== null) await run.finished;
    return this.status();
  }

  // ---- state ----

  /** The live run going (or, in error, winding down), if any. */
  private liveRun(): LiveRun | null {
    const state = this.state;
    return state.kind === 'live' || state.kind === 'error' ? state.live : null;
  }

  /** The recording going (or, in error, still closing its file), if any. */
  private recordingRun(): RecordingRun | null {
    const state = this.state;
    return state.kind === 'recording' || state.kind === 'stopping' || state.kind === 'error' ? state.run : null;
  }

  /** Frames flow (or a run winds down): status is pushed on a timer, not only on changes. */
  private isActive(): boolean {
    return this.state.kind !== 'idle' && (this.state.kind !== 'error' || this.liveRun() !== null || this.recordingRun() !== null);
  }

  private watch(acquisition: AcquisitionPort): void {
    acquisition.onProgress((progress) => {
      const { frames, rate } = this.camera;
      frames.acquired = progress.acquired;
      frames.published = progress.published;
      frames.live_skipped = progress.liveSkipped;
      frames.dropped = progress.dropped;
      this.camera.cameraLost = progress.cameraLost ?? 0;
      rate.sample(progress.acquired);
      this.camera.cameraRate = {
        requested: progress.fpsRequested === undefined ? this.camera.cameraRate.requested : progress.fpsRequested,
        achieved: progress.fpsAchieved ?? null,
      };
    });
    acquisition.onExit((exit) => {
      if (!this.shuttingDown && acquisition === this.camera.acquisition && !this.retiredAcquisitions.has(acquisition)) {
        this.fail(`the acquisition process ${describeExit(exit)}`);
      }
    });
  }

  /** The resident saver (if this controller keeps one) ready for the acquisition's record endpoint. */
  private keepSaverReady(): void {
    const endpoint = this.camera.acquisition.ready.recordEndpoint;
    if (this.launch.savers === undefined || endpoint === null || this.shuttingDown) return;
    this.launch.savers.keepReady({ endpoint, serverKey: serverPublicKey(this.config), resultsEndpoint: this.endpoints.results ?? null });
  }

  private requireNoError(command: string): Exclude<ControllerState, { kind: 'error' }> {
    const state = this.state;
    if (state.kind === 'error') {
      throw new LabcastError('CAMERA_STATE', `cannot ${command}: ${state.error}; send \`reset\` first`);
    }
    return state;
  }

  private requireAcquisition(): void {
    if (!this.camera.acquisition.running) {
      throw new LabcastError('CAMERA_STATE', 'the acquisition process is not running; send `reset` to restart it');
    }
  }

  private resetCounters(): void {
    const { frames, rate } = this.camera;
    frames.acquired = 0;
    frames.published = 0;
    frames.live_skipped = 0;
    frames.dropped = 0;
    frames.saved = 0;
    this.camera.cameraLost = 0;
    rate.reset();
    this.camera.cameraRate = { ...this.camera.cameraRate, achieved: null };
  }

  /** Into error; a run that is going keeps winding down (and is reported) until it has ended. */
  private fail(message: string): void {
    const cameraFailed = this.state.kind === 'error' && this.state.cameraFailed;
    this.setState({ kind: 'error', error: message, live: this.liveRun(), run: this.recordingRun(), cameraFailed });
  }

  private setState(state: ControllerState): void {
    this.state = state;
    this.publishStatus();
  }

  private publishStatus(): void {
    this.publish(this.status());
  }
}

/** The public key of serve's CURVE keys (security.*), which its own clients need; null without keys. */
function serverPublicKey(config: LabcastConfig): string | null {
  const files = curveKeyFiles(config.security);
  return files === null ? null : readPublicKeyFile(files.publicKeyFile, 'security.server_public_key_file');
}

/**
 * The real processes: an acquisition process, and with saver.mode local a
 * resident saver process that takes the recordings one after another.
 */
export function childProcesses(config: LabcastConfig): ExperimentProcesses {
  const processes = { startAcquisition: () => startAcquisition(config), startSaver: startSaverProcess };
  return config.saver.mode === 'local' ? { ...processes, savers: new ResidentSaver() } : processes;
}

function startAcquisition(config: LabcastConfig): Promise<AcquisitionHandle> {
  return AcquisitionHandle.start({
    camera: config.camera,
    settings: config.settings,
    dataEndpoint: config.endpoints.data,
    recordEndpoint: config.endpoints.record,
    bufferBytes: Math.round(config.saver.buffer_mb * MIB),
    config,
    curve: curveKeyFiles(config.security),
    // A local saver is serve's own child; a remote one may be on another host.
    sharedFrames: config.saver.mode === 'local',
  });
}

function recordingInfo(result: RecordingResult, recording: Recording): RecordingInfo {
  return {
    path: result.path ?? recording.filePath,
    saver: recording.saverTitle,
    run_id: result.runId,
    frames_written: result.framesWritten,
    frames_acquired: result.framesAcquired,
    frames_lost: result.framesLost,
    gaps: result.gaps,
    end_reason: result.endReason,
    error: result.error,
    ...(result.errorCode === undefined ? {} : { error_code: result.errorCode }),
    duration_s: result.durationS,
    fps: result.fps,
    bytes_written: result.bytesWritten,
    fps_requested: result.fpsRequested,
    fps_achieved: result.fpsAchieved,
  };
}

function describeExit(exit: ChildExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/**
 * How far a recording has got: frames of N, seconds of S, and the time left when it has a
 * target (the nearer of the two when both are set; null until a rate is known for a frame target).
 */
function runProgress(recording: Recording, acquired: number, fps: number): RunProgress {
  const { frames, durationS } = recording.parameters;
  const elapsedS = recording.progress.elapsedS;
  const left: number[] = [];
  if (frames !== null && fps > 0) left.push(Math.max(0, frames - acquired) / fps);
  if (durationS !== null) left.push(Math.max(0, durationS - elapsedS));
  return {
    frames: acquired,
    frames_target: frames,
    elapsed_s: round(elapsedS, 2),
    duration_target_s: durationS,
    eta_s: left.length === 0 ? null : round(Math.min(...left), 1),
  };
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
