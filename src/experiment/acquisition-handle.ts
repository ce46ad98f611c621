import { LabcastError, errorFromJSON } from '../protocol/errors.js';
import type { RunEnd } from '../protocol/messages.js';
import type {
  AcquisitionCommand,
  AcquisitionEvent,
  AcquisitionInit,
  SettingSpecPayload,
  SettingValuePayload,
} from '../protocol/process-messages.js';
import { LabcastChild, type ChildExit } from './child-process.js';
import { ACQUISITION_SCRIPT } from './process-scripts.js';
import type { AcquisitionPort, AcquisitionProgress, AcquisitionReady, RunParameters } from './ports.js';

export type { AcquisitionProgress, AcquisitionReady, RunParameters } from './ports.js';

const EXIT_GRACE_MS = 10_000;

/**
 * The supervisor's handle on the acquisition process: runs, settings and
 * progress as promises and callbacks, so the experiment side never deals
 * with IPC messages directly.
 */
export class AcquisitionHandle implements AcquisitionPort {
  private nextRequestId = 1;
  private currentSettings: Readonly<Record<string, SettingValuePayload>>;
  private currentSpecs: readonly SettingSpecPayload[];
  private currentStream: Readonly<Record<string, number>> | null = null;

  private constructor(
    private readonly child: LabcastChild<AcquisitionCommand, AcquisitionEvent>,
    readonly ready: AcquisitionReady,
  ) {
    this.currentSettings = ready.settings;
    this.currentSpecs = ready.specs;
    child.onEvent((event) => {
      if ((event.type === 'progress' || event.type === 'run-ended') && event.stream !== undefined) this.currentStream = event.stream;
    });
  }

  /** Starts the process and resolves once its camera is open and its sockets are bound. */
  static async start(init: AcquisitionInit): Promise<AcquisitionHandle> {
    const child = LabcastChild.start<AcquisitionCommand, AcquisitionEvent>('acquisition', ACQUISITION_SCRIPT, init);
    try {
      return new AcquisitionHandle(child, await child.waitFor('ready'));
    } catch (error) {
      await child.shutdown({ type: 'shutdown' }, EXIT_GRACE_MS);
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.child.hasExited;
  }

  get settings(): Readonly<Record<string, SettingValuePayload>> {
    return this.currentSettings;
  }

  get specs(): readonly SettingSpecPayload[] {
    return this.currentSpecs;
  }

  /** The camera's stream health counters as last reported, for drivers that count them; null otherwise. */
  get streamStatistics(): Readonly<Record<string, number>> | null {
    return this.currentStream;
  }

  /** One software trigger; rejects (CAMERA_STATE) for a camera without one or not in software-trigger mode. */
  async trigger(): Promise<void> {
    const requestId = this.nextRequestId++;
    const reply = this.child.waitFor('reply', (event) => event.requestId === requestId);
    this.child.send({ type: 'trigger', requestId });
    const answer = await reply;
    if (answer.error !== null) throw errorFromJSON(answer.error);
  }

  /** Starts a run; resolves with its run-end once it is drained. */
  startRun(run: RunParameters): Promise<RunEnd> {
    const ended = this.child.waitFor('run-ended', (event) => event.end.run_id === run.runId);
    this.child.send({ type: 'start-run', ...run });
    return ended.then((event) => event.end);
  }

  /** Resolves once the run is under way (a saving run: its saver connected); rejects if it fails to start. */
  runStarted(runId: string): Promise<void> {
    return this.child.waitFor('run-started', (event) => event.runId === runId).then(() => undefined);
  }

  stopRun(): void {
    this.child.send({ type: 'stop' });
  }

  abandonSaving(): void {
    this.child.send({ type: 'abandon-saving' });
  }

  async setSetting(name: string, value: SettingValuePayload): Promise<void> {
    const requestId = this.nextRequestId++;
    const reply = this.child.waitFor('reply', (event) => event.requestId === requestId);
    this.child.send({ type: 'set-setting', requestId, name, value });
    const answer = await reply;
    this.currentSettings = answer.settings;
    this.currentSpecs = answer.specs;
    if (answer.error !== null) throw errorFromJSON(answer.error);
  }

  onProgress(listener: (progress: AcquisitionProgress) => void): () => void {
    return this.child.onEvent((event) => {
      if (event.type === 'progress') listener(event);
    });
  }

  /** An error the process reports outside any request (e.g. a run that could not start). */
  onError(listener: (error: LabcastError) => void): () => void {
    return this.child.onEvent((event) => {
      if (event.type === 'error') listener(errorFromJSON(event.error));
    });
  }

  onExit(listener: (exit: ChildExit) => void): void {
    this.child.onExit(listener);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  shutdown(): Promise<ChildExit> {
    return this.child.shutdown({ type: 'shutdown' }, EXIT_GRACE_MS);
  }
}
