import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Acquisition } from '../../src/acquisition/acquisition.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { LabcastConfigInput } from '../../src/config/schema.js';
import { softwareInfo } from '../../src/config/software.js';
import type { Camera } from '../../src/devices/camera.js';
import { createCamera } from '../../src/devices/registry.js';
import type { AcquisitionProgress, AcquisitionReady, RunParameters } from '../../src/experiment/acquisition-handle.js';
import type { ChildExit } from '../../src/experiment/child-process.js';
import { ExperimentController } from '../../src/experiment/controller.js';
import type { AcquisitionPort, SaverPort } from '../../src/experiment/ports.js';
import type { ControlRequest, ExperimentStatus } from '../../src/protocol/control.js';
import { errorFromJSON, LabcastError } from '../../src/protocol/errors.js';
import type { RunEnd } from '../../src/protocol/messages.js';
import type { SaverCommand, SaverEvent, SaverInit, SettingSpecPayload } from '../../src/protocol/process-messages.js';
import { fileClosedEvent, saveOneRun } from '../../src/saver/saver.js';
import { selectFrameWriter } from '../../src/storage/select-writer.js';
import { slowWriter } from '../../src/storage/slow-writer.js';
import { DataReceiver } from '../../src/transport/data-receiver.js';
import { LivePublisher } from '../../src/transport/live-publisher.js';
import { LosslessSender } from '../../src/transport/lossless-sender.js';
import { errorPayload } from '../../src/transport/parent-channel.js';

const MIB = 1024 * 1024;
/** As the saver process: after `shutdown`, the stream is closed once this long has passed without a message. */
const SAVER_IDLE_BEFORE_CLOSE_MS = 250;

/** A small, fast simulated camera: the controller's tests are about transitions, not pixels. */
export const SMALL_SIM_CAMERA = { driver: 'sim', width: 64, height: 48, fps: 100, pattern: 'noise' } as const;

function deathError(role: string, exit: ChildExit): LabcastError {
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return new LabcastError('CHILD_FAILED', `the ${role} process ${how}`);
}

/**
 * The acquisition in this process: the real camera driver, Acquisition and
 * ZeroMQ sockets of the acquisition process, without the process. `kill`
 * stands for the process dying: its runs' promises reject as the child's do,
 * and its saver gets nothing more (no run-end).
 */
export class InProcessAcquisition implements AcquisitionPort {
  private readonly events = new EventEmitter();
  private readonly acquisition: Acquisition;
  private readonly onDeath = new Set<(error: LabcastError) => void>();
  private exitInfo: ChildExit | null = null;
  private currentSettings: Readonly<Record<string, number | string | boolean>>;
  private currentSpecs: readonly SettingSpecPayload[];
  readonly ready: AcquisitionReady;

  private constructor(
    private readonly camera: Camera,
    private readonly live: LivePublisher,
    private readonly lossless: LosslessSender,
    private readonly socketPath: string,
  ) {
    this.events.setMaxListeners(100);
    this.acquisition = new Acquisition({
      camera,
      live,
      lossless,
      config: {},
      software: softwareInfo(),
      onProgress: (progress) => this.events.emit('progress', { type: 'progress', ...progress }),
    });
    this.currentSettings = { ...camera.getSettings() };
    this.currentSpecs = camera.settingSpecs().map((spec) => ({ ...spec }));
    const format = camera.frameFormat();
    this.ready = {
      type: 'ready',
      dataEndpoint: live.endpoint,
      recordEndpoint: lossless.endpoint,
      format: { shape: [...format.shape], dtype: format.dtype },
      camera: { driver: camera.info.driver, model: camera.info.model, freeRunning: camera.freeRunning },
      settings: this.currentSettings,
      specs: this.currentSpecs,
    };
  }

  static async start(cameraSpec: unknown = SMALL_SIM_CAMERA, settings: Record<string, number> = {}): Promise<InProcessAcquisition> {
    const camera = await createCamera(cameraSpec);
    await camera.open();
    for (const [name, value] of Object.entries(settings)) await camera.setSetting(name, value);
    const live = await LivePublisher.bind('tcp://127.0.0.1:*');
    const socketPath = join(tmpdir(), `labcast-test-${process.pid}-${randomUUID().slice(0, 8)}.sock`);
    const lossless = await LosslessSender.bind(`ipc://${socketPath}`, 64 * MIB);
    return new InProcessAcquisition(camera, live, lossless, socketPath);
  }

  /** This process: the acquisition runs in it. */
  get pid(): number | undefined {
    return process.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get settings(): Readonly<Record<string, number | string | boolean>> {
    return this.currentSettings;
  }

  get streamStatistics(): Readonly<Record<string, number>> | null {
    return this.camera.streamStatistics?.() ?? null;
  }

  async trigger(): Promise<void> {
    if (this.camera.softwareTrigger === undefined) {
      throw new LabcastError('CAMERA_STATE', `the ${this.camera.info.driver} camera has no software trigger`);
    }
    await this.camera.softwareTrigger();
  }

  get specs(): readonly SettingSpecPayload[] {
    return this.currentSpecs;
  }

  startRun(run: RunParameters): Promise<RunEnd> {
    return this.untilDeath(
      new Promise<RunEnd>((resolve, reject) => {
        const failed = (error: unknown): void => {
          this.events.emit('run-failed', run.runId, error);
          reject(error);
        };
        try {
          this.acquisition
            .start({
              runId: run.runId,
              frames: run.frames,
              durationS: run.durationS,
              save: run.save,
              ...(run.saverWaitMs === undefined ? {} : { saverWaitMs: run.saverWaitMs }),
              onStarted: () => this.events.emit('run-started', run.runId),
            })
            .then(resolve, failed);
        } catch (error) {
          failed(error);
        }
      }),
    );
  }

  runStarted(runId: string): Promise<void> {
    return this.untilDeath(
      new Promise<void>((resolve, reject) => {
        const cleanup = (): void => {
          this.events.off('run-started', onStarted);
          this.events.off('run-failed', onFailed);
        };
        const onStarted = (id: string): void => {
          if (id !== runId) return;
          cleanup();
          resolve();
        };
        const onFailed = (id: string, error: Error): void => {
          if (id !== runId) return;
          cleanup();
          reject(error);
        };
        this.events.on('run-started', onStarted);
        this.events.on('run-failed', onFailed);
      }),
    );
  }

  stopRun(): void {
    if (this.running) void this.acquisition.stop();
  }

  abandonSaving(): void {
    if (this.running) this.acquisition.abandonSaving().catch(() => undefined);
  }

  async setSetting(name: string, value: number | string | boolean): Promise<void> {
    if (!this.running) throw deathError('acquisition', this.exitInfo!);
    try {
      await this.camera.setSetting(name, value);
    } finally {
      this.currentSettings = { ...this.camera.getSettings() };
      this.currentSpecs = this.camera.settingSpecs().map((spec) => ({ ...spec }));
    }
  }

  onProgress(listener: (progress: AcquisitionProgress) => void): () => void {
    this.events.on('progress', listener);
    return () => this.events.off('progress', listener);
  }

  onExit(listener: (exit: ChildExit) => void): void {
    if (this.exitInfo !== null) listener(this.exitInfo);
    else this.events.once('exit', listener);
  }

  /** As the acquisition process on `shutdown`: the run drained, the camera closed. */
  async shutdown(): Promise<ChildExit> {
    if (this.exitInfo !== null) return this.exitInfo;
    await this.acquisition.stop();
    await this.release();
    return this.exit({ code: 0, signal: null });
  }

  /** The process dies at once: pending runs reject, the saver gets nothing more. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.exitInfo !== null) return;
    this.exit({ code: null, signal });
    await this.acquisition.abandonSaving().catch(() => undefined);
    await this.release();
  }

  private exit(exit: ChildExit): ChildExit {
    this.exitInfo = exit;
    const error = deathError('acquisition', exit);
    for (const reject of this.onDeath) reject(error);
    this.onDeath.clear();
    this.events.emit('exit', exit);
    return exit;
  }

  private async release(): Promise<void> {
    await this.camera.close();
    this.live.close();
    this.lossless.close(0);
    rmSync(this.socketPath, { force: true });
  }

  private untilDeath<T>(promise: Promise<T>): Promise<T> {
    if (this.exitInfo !== null) {
      promise.catch(() => undefined);
      return Promise.reject(deathError('acquisition', this.exitInfo));
    }
    return new Promise<T>((resolve, reject) => {
      this.onDeath.add(reject);
      promise.then(resolve, reject).finally(() => this.onDeath.delete(reject));
    });
  }
}

export interface InProcessSaverOptions {
  /** A writer this much slower per frame (the slow-writer test hook). */
  readonly delayPerFrameMs?: number;
}

/**
 * The saver in this process: the real saveOneRun, DataReceiver and HDF5
 * writer of the saver process, its events as the process sends them. `kill`
 * stands for the process dying: no file-closed, an exit by signal; the file
 * keeps what had arrived.
 */
export class InProcessSaver implements SaverPort {
  private readonly events = new EventEmitter();
  private readonly receiver: DataReceiver;
  private exitInfo: ChildExit | null = null;
  private killedBy: NodeJS.Signals | null = null;
  private readonly exited: Promise<ChildExit>;

  constructor(init: SaverInit, options: InProcessSaverOptions = {}) {
    this.events.setMaxListeners(100);
    const writer = selectFrameWriter();
    this.receiver = DataReceiver.pull(init.endpoint, init.serverKey ?? null);
    const receiver = this.receiver;
    setImmediate(() => this.emit({ type: 'ready' }));
    const saving = saveOneRun({
      receiver,
      outPath: init.outPath,
      overwrite: init.overwrite,
      flushIntervalMs: init.flushIntervalMs,
      openWriter: slowWriter(writer.open, options.delayPerFrameMs ?? 0),
      onEvent: (event) => this.emit(event),
      results: null,
    });
    this.exited = saving.then(
      (saved) => {
        receiver.close();
        if (saved !== null) this.emit(fileClosedEvent(saved));
        return this.exit(saved?.error ? 1 : 0);
      },
      (error: unknown) => {
        receiver.close();
        this.emit({ type: 'error', error: errorPayload(error) });
        return this.exit(1);
      },
    );
  }

  /** This process: the saver runs in it. */
  get pid(): number | undefined {
    return process.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  onEvent(listener: (event: SaverEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  waitFor<T extends SaverEvent['type']>(
    type: T,
    accept?: (event: Extract<SaverEvent, { type: T }>) => boolean,
  ): Promise<Extract<SaverEvent, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.exitInfo !== null) return reject(deathError('saver', this.exitInfo));
      const cleanup = (): void => {
        this.events.off('event', onEvent);
        this.events.off('exit', onExit);
      };
      const onEvent = (event: SaverEvent): void => {
        if (event.type === type) {
          const typed = event as Extract<SaverEvent, { type: T }>;
          if (accept !== undefined && !accept(typed)) return;
          cleanup();
          resolve(typed);
        } else if (event.type === 'error') {
          cleanup();
          reject(errorFromJSON(event.error));
        }
      };
      const onExit = (exit: ChildExit): void => {
        cleanup();
        reject(deathError('saver', exit));
      };
      this.events.on('event', onEvent);
      this.events.once('exit', onExit);
    });
  }

  send(command: SaverCommand): void {
    if (this.exitInfo === null && this.killedBy === null && command.type === 'shutdown') {
      this.receiver.closeWhenIdle(SAVER_IDLE_BEFORE_CLOSE_MS);
    }
  }

  async shutdown(command: SaverCommand, graceMs: number): Promise<ChildExit> {
    if (this.exitInfo !== null) return this.exitInfo;
    this.send(command);
    // kill() settles `exited`, which this awaits; its own promise adds nothing.
    const timer = setTimeout(() => void this.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** The process dies: nothing more is reported; resolves once it has "exited". */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ChildExit> {
    if (this.exitInfo === null && this.killedBy === null) {
      this.killedBy = signal;
      this.receiver.close();
    }
    return this.exited;
  }

  private emit(event: SaverEvent): void {
    if (this.killedBy === null) this.events.emit('event', event);
  }

  private exit(code: number): ChildExit {
    this.exitInfo = this.killedBy === null ? { code, signal: null } : { code: null, signal: this.killedBy };
    this.events.emit('exit', this.exitInfo);
    return this.exitInfo;
  }
}

export interface InProcessExperimentOptions {
  readonly camera?: Record<string, unknown>;
  /** More config (storage, saver...); storage.data_dir is a scratch directory unless given. */
  readonly config?: Omit<LabcastConfigInput, 'camera'>;
  readonly saver?: InProcessSaverOptions;
}

/**
 * The real ExperimentController with its acquisition and savers in this
 * process: every transition of serve's controller, no child processes.
 * `handle` records the requests it was given (for transport tests).
 */
export class InProcessExperiment {
  /** Every acquisition started, in order (reset after a death starts another). */
  readonly acquisitions: InProcessAcquisition[] = [];
  /** Every saver started, in order (one per local recording). */
  readonly savers: InProcessSaver[] = [];
  /** Every status the controller published, in order. */
  readonly published: ExperimentStatus[] = [];
  /** Every request `handle` was given, in order. */
  readonly handled: ControlRequest[] = [];
  /** What `handle` answered, in order (refusals are not in it). */
  readonly replies: { readonly request: ControlRequest; readonly result: unknown }[] = [];
  private controllerRef: ExperimentController | null = null;

  private constructor(readonly dir: string) {}

  static async start(options: InProcessExperimentOptions = {}): Promise<InProcessExperiment> {
    const dir = mkdtempSync(join(tmpdir(), 'labcast-controller-'));
    const experiment = new InProcessExperiment(dir);
    const camera = options.camera ?? SMALL_SIM_CAMERA;
    const config = parseConfig(
      { ...options.config, camera, storage: { data_dir: dir, ...options.config?.storage } },
      'in-process experiment',
    );
    try {
      experiment.controllerRef = await ExperimentController.start(config, (status) => experiment.published.push(status), {
        startAcquisition: async () => {
          const acquisition = await InProcessAcquisition.start(config.camera, { ...config.settings });
          experiment.acquisitions.push(acquisition);
          return acquisition;
        },
        startSaver: (init) => {
          const saver = new InProcessSaver(init, options.saver);
          experiment.savers.push(saver);
          return saver;
        },
      });
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return experiment;
  }

  get controller(): ExperimentController {
    return this.controllerRef!;
  }

  /** The acquisition in use now. */
  get acquisition(): InProcessAcquisition {
    return this.acquisitions.at(-1)!;
  }

  /** The saver of the latest recording. */
  get saver(): InProcessSaver | undefined {
    return this.savers.at(-1);
  }

  /** The controller's handle, for a ControlServer: records each request and its answer. */
  readonly handle = async (request: ControlRequest): Promise<unknown> => {
    this.handled.push(request);
    const result = await this.controller.handle(request);
    this.replies.push({ request, result });
    return result;
  };

  /** The last answer to a `cmd` request. */
  lastReply<T = unknown>(cmd: ControlRequest['cmd']): T {
    const reply = [...this.replies].reverse().find((candidate) => candidate.request.cmd === cmd);
    if (reply !== undefined) return reply.result as T;
    throw new Error(`no reply to ${cmd} yet`);
  }

  status(): ExperimentStatus {
    return this.controller.status();
  }

  /** Resolves with the first status (current or published later) that `accept` takes. */
  async waitFor(accept: (status: ExperimentStatus) => boolean, timeoutMs = 20_000): Promise<ExperimentStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.status();
      if (accept(status)) return status;
      if (Date.now() > deadline) throw new Error(`timed out waiting for a status; last: ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async close(): Promise<void> {
    await this.controllerRef?.shutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
