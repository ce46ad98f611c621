import { readPublicKeyFile } from '../transport/curve.js';
import { randomUUID } from 'node:crypto';
import type { LabcastConfig } from '../config/schema.js';
import type {
  ControlRequest,
  ExperimentState,
  ExperimentStatus,
  ProcessInfo,
  RecordingInfo,
} from '../protocol/control.js';
import { frameByteLength } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';
import { PROTOCOL_VERSION, type RunEnd } from '../protocol/messages.js';
import type { SettingSpecPayload, SettingValuePayload } from '../protocol/process-messages.js';
import { AcquisitionHandle } from './acquisition-handle.js';
import { AnalysisSupervisor, analysisDefinitions } from './analysis-supervisor.js';
import type { ChildExit } from './child-process.js';
import { CommandQueue } from './command-queue.js';
import { RateMeter } from './rate-meter.js';
import { curveKeyFiles, plannedRecordingPath, Recording, type RecordingResult } from './recording.js';

const MIB = 1024 * 1024;
/** How often status is pushed while frames flow (state changes are pushed at once). */
const STATUS_INTERVAL_MS = 500;

type Activity =
  | { readonly kind: 'idle' }
  | { readonly kind: 'live'; readonly runId: string; readonly ended: Promise<void> }
  | {
      readonly kind: 'recording';
      readonly recording: Recording;
      /** Go back to live view when the recording ends by itself (it was started from live). */
      resumeLive: boolean;
      readonly finished: Promise<RecordingInfo>;
    };

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
 * acquisition process (long-lived) and one saver process per recording.
 */
export class ExperimentController {
  private state: ExperimentState = 'idle';
  private error: string | null = null;
  private activity: Activity = { kind: 'idle' };
  private lastRecording: RecordingInfo | null = null;
  private readonly frames = { acquired: 0, published: 0, live_skipped: 0, dropped: 0, saved: 0 };
  private readonly rate = new RateMeter();
  private readonly queue = new CommandQueue();
  private shuttingDown = false;
  private shutdownDone: Promise<void> | null = null;
  private readonly shutdownListeners: (() => void)[] = [];
  private statusTimer: NodeJS.Timeout;
  private endpoints: ControllerEndpoints = { control: '', status: '' };
  /** Analysis processes, started and stopped by name (analysis-supervisor.ts). */
  readonly analyses: AnalysisSupervisor;

  private constructor(
    private readonly config: LabcastConfig,
    private acquisition: AcquisitionHandle,
    private readonly publish: (status: ExperimentStatus) => void,
  ) {
    this.watch(acquisition);
    this.analyses = new AnalysisSupervisor(
      analysisDefinitions(config.analysis),
      () => ({ data: this.acquisition.ready.dataEndpoint, resultsIn: this.endpoints.results_in ?? null }),
      () => this.publishStatus(),
      serverPublicKey(config),
    );
    this.statusTimer = setInterval(() => {
      if (this.activity.kind !== 'idle') this.publishStatus();
    }, STATUS_INTERVAL_MS);
  }

  /** Starts the acquisition process; resolves once the camera is open. */
  static async start(config: LabcastConfig, publish: (status: ExperimentStatus) => void): Promise<ExperimentController> {
    return new ExperimentController(config, await startAcquisition(config), publish);
  }

  /** Where views reach this controller (for status reports). */
  setEndpoints(endpoints: ControllerEndpoints): void {
    this.endpoints = endpoints;
  }

  async handle(request: ControlRequest): Promise<unknown> {
    switch (request.cmd) {
      case 'status':
        return this.status();
      case 'settings':
        return this.settings();
      case 'get':
        return this.getSetting(request.name);
      case 'set':
        return this.setSetting(request.name, request.value);
      case 'subscribers':
        return this.processes();
      case 'stop':
        // The running activity stops now (within a frame); the queued part
        // also stops whatever a command queued before this one started.
        this.stopActivity();
        return this.queue.run(() => this.stopAndWait());
      case 'live':
        return this.queue.run(() => this.goLive());
      case 'record':
        return this.queue.run(() =>
          this.record({ frames: request.frames ?? null, durationS: request.duration_s ?? null, path: request.path ?? null }),
        );
      case 'save':
        return this.queue.run(() => (request.on ? this.saveOn() : this.saveOff()));
      case 'snap':
        return this.queue.run(() => this.snap(request.path ?? null));
      case 'trigger':
        return this.trigger();
      case 'subscriber':
        return this.subscriber(request.action, request.name);
      case 'analysis':
        return this.analyses.handle(request.action, request.name);
      case 'reset':
        return this.queue.run(() => this.reset());
      case 'shutdown':
        void this.shutdown();
        return this.status();
    }
  }

  /** Called once shutdown has begun, whoever asked for it (a client or a signal). */
  onShutdownRequested(listener: () => void): void {
    this.shutdownListeners.push(listener);
  }

  /** Stops everything cleanly: a recording is drained and closed, every child reaped. Idempotent. */
  shutdown(): Promise<void> {
    this.shutdownDone ??= this.shutDown();
    return this.shutdownDone;
  }

  private async shutDown(): Promise<void> {
    this.shuttingDown = true;
    for (const listener of this.shutdownListeners) listener();
    this.stopActivity();
    await this.queue.run(() => this.stopAndWait());
    clearInterval(this.statusTimer);
    await this.analyses.shutdown();
    await this.acquisition.shutdown();
  }

  status(): ExperimentStatus {
    const format = this.acquisition.ready.format;
    const fps = this.rate.perSecond();
    const recording = this.activity.kind === 'recording' ? this.activity.recording : null;
    return {
      protocol: PROTOCOL_VERSION,
      state: this.state,
      error: this.error,
      run_id: this.activity.kind === 'live' ? this.activity.runId : (recording?.parameters.runId ?? null),
      file: recording?.parameters.outPath ?? null,
      frames: { ...this.frames },
      fps: round(fps, 2),
      mb_per_s: round((fps * frameByteLength(format.shape, format.dtype)) / 1e6, 2),
      camera: {
        driver: this.acquisition.ready.camera.driver,
        model: this.acquisition.ready.camera.model,
        settings: this.acquisition.settings,
      },
      endpoints: {
        data: this.acquisition.ready.dataEndpoint,
        control: this.endpoints.control,
        status: this.endpoints.status,
        ...(this.endpoints.results === undefined ? {} : { results: this.endpoints.results }),
        ...(this.endpoints.results_in === undefined ? {} : { results_in: this.endpoints.results_in }),
      },
      last_recording: this.lastRecording,
      processes: this.processes(),
      analyses: this.analyses.infos(),
      ...(this.acquisition.streamStatistics === null ? {} : { stream: this.acquisition.streamStatistics }),
    };
  }

  // ---- commands ----

  private settings(): { settings: Readonly<Record<string, SettingValuePayload>>; specs: readonly SettingSpecPayload[] } {
    return { settings: this.acquisition.settings, specs: this.acquisition.specs };
  }

  private specOf(name: string): SettingSpecPayload {
    const spec = this.acquisition.specs.find((s) => s.name === name);
    if (spec === undefined) {
      const known = this.acquisition.specs.map((s) => s.name).join(', ');
      throw new LabcastError('BAD_SETTING', `unknown setting "${name}"; this camera has: ${known}`, name);
    }
    return spec;
  }

  private getSetting(name: string): { name: string; value: SettingValuePayload; spec: SettingSpecPayload } {
    const spec = this.specOf(name);
    return { name, value: this.acquisition.settings[name] ?? spec.default, spec };
  }

  private async setSetting(name: string, value: SettingValuePayload): Promise<unknown> {
    this.requireAcquisition();
    const spec = this.specOf(name);
    if (!spec.changeableWhileStreaming && this.state !== 'idle') {
      throw new LabcastError(
        'CAMERA_STATE',
        `${name} changes the frame shape, so it cannot change while ${this.state}; stop first`,
        name,
      );
    }
    await this.acquisition.setSetting(name, value);
    this.publishStatus();
    return this.settings();
  }

  private processes(): ProcessInfo[] {
    const list: ProcessInfo[] = [
      { role: 'acquisition', title: 'labcast-acquisition', pid: this.acquisition.pid ?? null, running: this.acquisition.running },
    ];
    if (this.activity.kind === 'recording') {
      const recording = this.activity.recording;
      list.push({ role: 'saver', title: recording.saverTitle, pid: recording.saverPid ?? null, running: recording.saverRunning });
    }
    list.push(...this.analyses.processes());
    return list;
  }

  private async subscriber(action: 'start' | 'stop', name: string): Promise<unknown> {
    if (name !== 'saver') {
      throw new LabcastError('BAD_ARGUMENT', `unknown subscriber "${name}"; known subscribers: saver`, 'name');
    }
    return this.queue.run(() => (action === 'start' ? this.saveOn() : this.saveOff()));
  }

  private async goLive(): Promise<ExperimentStatus> {
    this.requireNoError('live');
    if (this.activity.kind === 'recording') {
      throw new LabcastError(
        'CAMERA_STATE',
        'a recording is in progress; stop it first, or use `save off` to keep the stream live',
      );
    }
    if (this.activity.kind === 'idle') this.startLive();
    return this.status();
  }

  private async record(request: { frames: number | null; durationS: number | null; path: string | null }): Promise<ExperimentStatus> {
    this.requireNoError('record');
    if (this.activity.kind === 'recording') {
      throw new LabcastError('CAMERA_STATE', `already recording to ${this.activity.recording.parameters.outPath}; stop it first`);
    }
    await this.startRecording({ ...request, resumeLive: this.activity.kind === 'live' });
    return this.status();
  }

  private async saveOn(): Promise<ExperimentStatus> {
    this.requireNoError('save on');
    if (this.activity.kind === 'idle') {
      throw new LabcastError('CAMERA_STATE', 'nothing to save: the camera is idle; start `live` first, or use `record`');
    }
    if (this.activity.kind === 'live') await this.startRecording({ frames: null, durationS: null, path: null, resumeLive: true });
    return this.status();
  }

  private async saveOff(): Promise<ExperimentStatus> {
    if (this.activity.kind === 'recording') {
      const activity = this.activity;
      activity.resumeLive = true;
      this.setState('stopping');
      activity.recording.stop();
      await activity.finished;
    }
    return this.status();
  }

  private async snap(path: string | null): Promise<RecordingInfo> {
    this.requireNoError('snap');
    if (this.activity.kind === 'recording') {
      throw new LabcastError('CAMERA_STATE', 'a recording is in progress; snap when it has ended');
    }
    const activity = await this.startRecording({ frames: 1, durationS: null, path, resumeLive: this.activity.kind === 'live' });
    return activity.finished;
  }

  /** Not queued: a trigger goes to the camera at once, while live or recording. */
  private async trigger(): Promise<ExperimentStatus> {
    this.requireNoError('trigger');
    this.requireAcquisition();
    if (this.state !== 'live' && this.state !== 'recording') {
      throw new LabcastError('CAMERA_STATE', `a trigger needs a running stream, and the camera is ${this.state}; start \`live\` or \`record\` first`);
    }
    await this.acquisition.trigger();
    return this.status();
  }

  private async reset(): Promise<ExperimentStatus> {
    if (this.state !== 'error') return this.status();
    if (!this.acquisition.running) {
      this.acquisition = await startAcquisition(this.config);
      this.watch(this.acquisition);
    }
    this.error = null;
    this.activity = { kind: 'idle' };
    this.setState('idle');
    return this.status();
  }

  // ---- transitions ----

  private startLive(): void {
    const runId = randomUUID();
    this.resetCounters();
    const ended = this.acquisition
      .startRun({ runId, frames: null, durationS: null, save: false })
      .then(
        (end) => this.liveEnded(runId, end),
        (error: Error) => this.liveEnded(runId, null, error),
      );
    this.activity = { kind: 'live', runId, ended };
    this.setState('live');
  }

  private liveEnded(runId: string, end: RunEnd | null, error?: Error): void {
    if (this.activity.kind !== 'live' || this.activity.runId !== runId) return;
    this.activity = { kind: 'idle' };
    if (error !== undefined || end?.reason === 'error') this.fail(`live view ended: ${error?.message ?? end?.error}`);
    else this.setState('idle');
  }

  private async startRecording(request: {
    frames: number | null;
    durationS: number | null;
    path: string | null;
    resumeLive: boolean;
  }): Promise<Extract<Activity, { kind: 'recording' }>> {
    const runId = randomUUID();
    // Decide the file before touching the stream, so a bad name changes nothing.
    const outPath = plannedRecordingPath(this.config, runId, request.path);
    if (this.activity.kind === 'live') {
      const live = this.activity;
      this.acquisition.stopRun();
      await live.ended;
    }
    this.resetCounters();
    let recording: Recording;
    try {
      recording = await Recording.start(
        this.acquisition,
        {
          runId,
          frames: request.frames,
          durationS: request.durationS,
          outPath,
          overwrite: this.config.storage.overwrite,
          flushIntervalMs: this.config.saver.flush_interval_ms,
          saver: this.config.saver,
          security: this.config.security,
          resultsEndpoint: this.endpoints.results ?? null,
        },
        (progress) => {
          this.frames.saved = progress.framesWritten;
        },
      );
    } catch (error) {
      if (request.resumeLive && this.state !== 'error') this.startLive();
      throw error;
    }
    const finished = recording.result.then((result) => this.recordingEnded(activity, result));
    const activity: Extract<Activity, { kind: 'recording' }> = {
      kind: 'recording',
      recording,
      resumeLive: request.resumeLive,
      finished,
    };
    this.activity = activity;
    this.setState('recording');
    return activity;
  }

  private recordingEnded(activity: Extract<Activity, { kind: 'recording' }>, result: RecordingResult): RecordingInfo {
    const info = recordingInfo(result, activity.recording.parameters.outPath);
    this.lastRecording = info;
    this.frames.saved = result.framesWritten;
    if (this.activity === activity) {
      this.activity = { kind: 'idle' };
      if (result.error !== null) {
        this.fail(`recording ${info.path} failed: ${result.error} (${result.framesWritten} frames were saved)`);
      } else if (activity.resumeLive && this.state !== 'error' && !this.shuttingDown) {
        this.startLive();
      } else if (this.state !== 'error') {
        this.setState('idle');
      }
    }
    return info;
  }

  /** Asks the running activity to end, without waiting. */
  private stopActivity(): void {
    const activity = this.activity;
    if (activity.kind === 'live') {
      this.acquisition.stopRun();
    } else if (activity.kind === 'recording') {
      activity.resumeLive = false;
      if (this.state === 'recording') this.setState('stopping');
      activity.recording.stop();
    }
  }

  private async stopAndWait(): Promise<ExperimentStatus> {
    this.stopActivity();
    const activity = this.activity;
    if (activity.kind === 'live') await activity.ended;
    else if (activity.kind === 'recording') await activity.finished;
    return this.status();
  }

  // ---- state ----

  private watch(acquisition: AcquisitionHandle): void {
    acquisition.onProgress((progress) => {
      this.frames.acquired = progress.acquired;
      this.frames.published = progress.published;
      this.frames.live_skipped = progress.liveSkipped;
      this.frames.dropped = progress.dropped;
      this.rate.sample(progress.acquired);
    });
    acquisition.onExit((exit) => {
      if (!this.shuttingDown && acquisition === this.acquisition) this.fail(`the acquisition process ${describeExit(exit)}`);
    });
  }

  private requireNoError(command: string): void {
    if (this.state === 'error') {
      throw new LabcastError('CAMERA_STATE', `cannot ${command}: ${this.error ?? 'error'}; send \`reset\` first`);
    }
  }

  private requireAcquisition(): void {
    if (!this.acquisition.running) {
      throw new LabcastError('CAMERA_STATE', 'the acquisition process is not running; send `reset` to restart it');
    }
  }

  private resetCounters(): void {
    this.frames.acquired = 0;
    this.frames.published = 0;
    this.frames.live_skipped = 0;
    this.frames.dropped = 0;
    this.frames.saved = 0;
    this.rate.reset();
  }

  private fail(message: string): void {
    this.error = message;
    this.setState('error');
  }

  private setState(state: ExperimentState): void {
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

function recordingInfo(result: RecordingResult, plannedPath: string): RecordingInfo {
  return {
    path: result.path ?? plannedPath,
    run_id: result.runId,
    frames_written: result.framesWritten,
    frames_acquired: result.framesAcquired,
    frames_dropped: result.framesLost,
    gaps: result.gaps,
    end_reason: result.endReason,
    error: result.error,
  };
}

function describeExit(exit: ChildExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
