import type { RunEnd } from '../protocol/messages.js';
import type {
  AcquisitionEvent,
  SaverCommand,
  SaverConnection,
  SaverEvent,
  SaverInit,
  SettingSpecPayload,
  SettingValuePayload,
} from '../protocol/process-messages.js';
import type { ChildExit } from './child-process.js';

export type AcquisitionReady = Extract<AcquisitionEvent, { type: 'ready' }>;
export type AcquisitionProgress = Extract<AcquisitionEvent, { type: 'progress' }>;

export interface RunParameters {
  readonly runId: string;
  readonly frames: number | null;
  readonly durationS: number | null;
  readonly save: boolean;
  /** How long a saving run waits for its saver to connect. */
  readonly saverWaitMs?: number;
}

/**
 * What the controller and a recording need of one camera's acquisition.
 * AcquisitionHandle is the real one (a child process); anything with the same
 * promises and callbacks will do (the controller's tests run one in-process).
 */
export interface AcquisitionPort {
  readonly ready: AcquisitionReady;
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly settings: Readonly<Record<string, SettingValuePayload>>;
  readonly specs: readonly SettingSpecPayload[];
  /** The camera's stream health counters as last reported, for drivers that count them (GenICam); null otherwise. */
  readonly streamStatistics: Readonly<Record<string, number>> | null;
  /** Starts a run; resolves with its run-end once it is drained, rejects if the acquisition dies first. */
  startRun(run: RunParameters): Promise<RunEnd>;
  /** Resolves once the run is under way (a saving run: its saver connected); rejects if it fails to start. */
  runStarted(runId: string): Promise<void>;
  stopRun(): void;
  /** The saver is gone: end the run without waiting for it; what it did not get counts as dropped. */
  abandonSaving(): void;
  setSetting(name: string, value: SettingValuePayload): Promise<void>;
  /** One software trigger; rejects (CAMERA_STATE) for a camera without one or not in software-trigger mode. */
  trigger(): Promise<void>;
  onProgress(listener: (progress: AcquisitionProgress) => void): () => void;
  onExit(listener: (exit: ChildExit) => void): void;
  shutdown(): Promise<ChildExit>;
}

type SaverEventOf<T extends SaverEvent['type']> = Extract<SaverEvent, { type: T }>;

/**
 * What a local recording needs of its saver: its events, a shutdown, and an
 * exit that is never missed (waitFor rejects when the saver dies). A
 * LabcastChild running saver-process.js is the real one; serve hands a
 * recording its resident saver through one (resident-saver.ts).
 */
export interface SaverPort {
  readonly pid: number | undefined;
  readonly hasExited: boolean;
  onEvent(listener: (event: SaverEvent) => void): () => void;
  /** The next event of `type`; rejects on an error event or if the saver exits first. */
  waitFor<T extends SaverEvent['type']>(type: T, accept?: (event: SaverEventOf<T>) => boolean): Promise<SaverEventOf<T>>;
  send(command: SaverCommand): void;
  /**
   * The recording is done with its saver: asks with `command`, then kills the
   * saver if it is still there after `graceMs`. A resident saver that closed
   * the run's file cleanly (and was not asked to shut down) is handed back
   * instead, still running: resolves with null.
   */
  shutdown(command: SaverCommand, graceMs: number): Promise<ChildExit | null>;
}

/**
 * `saver` as a recording sees it with `waitFor` and/or `shutdown` replaced
 * (a saver started ahead answers its first `ready` from a promise kept
 * since; a session's saver also ends its acquisition): the rest goes to `saver`.
 */
export function saverPortWith(saver: SaverPort, replaced: Partial<Pick<SaverPort, 'waitFor' | 'shutdown'>>): SaverPort {
  return {
    get pid() {
      return saver.pid;
    },
    get hasExited() {
      return saver.hasExited;
    },
    onEvent: (listener) => saver.onEvent(listener),
    waitFor: replaced.waitFor ?? ((type, accept) => saver.waitFor(type, accept)),
    send: (command) => saver.send(command),
    shutdown: replaced.shutdown ?? ((command, graceMs) => saver.shutdown(command, graceMs)),
  };
}

/** Starts the saver of one recording (or hands it a saver started ahead). */
export type StartSaver = (init: SaverInit) => SaverPort;

/**
 * A saver kept started and connected between recordings (serve's resident
 * saver, resident-saver.ts), so that a recording need not wait for a process
 * to start; a dead one is replaced.
 */
export interface SaverKeeper {
  /** Keeps one ready for recordings from `connection` (one kept for another connection is replaced). Idempotent. */
  keepReady(connection: SaverConnection): void;
  /** The saver waiting for the next recording (starting or idle), if any. */
  readonly idle: { readonly pid: number | undefined } | null;
  /** Hands each recording the saver kept ready (starting one if there is none). */
  readonly startSaver: StartSaver;
  /** Shuts down the saver kept ready and starts no other. */
  shutdown(): Promise<void>;
}
