import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { log, LOG_LEVEL_ENV, TAGGED_LINE } from '../log/logger.js';
import { errorFromJSON, LabcastError } from '../protocol/errors.js';
import type { ErrorPayload, InitMessage, InitRequest } from '../protocol/process-messages.js';
import { HANDED_ON_CA_CERTS, SCRIPTS_WITHOUT_TLS } from './process-scripts.js';

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

type EventOf<E, T> = Extract<E, { type: T }>;

/**
 * The supervisor's handle on one labcast child process (acquisition, saver,
 * ...): typed commands down, typed events up, and an exit that is never
 * missed — a waiter is rejected when the child dies instead of hanging.
 */
export class LabcastChild<Command extends { type: string }, Event extends { type: string }> {
  private readonly events = new EventEmitter();
  private exitInfo: ChildExit | null = null;
  readonly exited: Promise<ChildExit>;

  private constructor(
    readonly role: string,
    private readonly child: ChildProcess,
  ) {
    this.events.setMaxListeners(100);
    child.on('message', (message: unknown) => {
      const type = (message as { type?: unknown } | null)?.type;
      if (typeof type === 'string') this.events.emit('event', message);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.events.emit('exit', this.exitInfo);
        resolve(this.exitInfo);
      });
    });
  }

  /**
   * Starts `script` with its init options: forks it with them as JSON
   * (forkChild), or hands them to the child forked ahead for it (forkAhead).
   */
  static start<C extends { type: string }, E extends { type: string }>(
    role: string,
    script: URL,
    init: unknown,
    logRole: string = role,
  ): LabcastChild<C, E> {
    const ahead = takeForkedAhead(script);
    if (ahead !== null) {
      ahead.init = { type: 'init', init };
      sendInitWhenAsked(ahead);
      return new LabcastChild<C, E>(role, ahead.child);
    }
    return new LabcastChild<C, E>(role, forkChild(script, [JSON.stringify(init)], logRole));
  }

  /**
   * Forks `script` before its init is known, so that it boots Node and loads
   * its modules while this process is still loading and checking what to ask
   * of it (~0.1 s each, in parallel rather than one after the other). The next
   * start() of the same script takes this child and sends it its init as its
   * first message. Children nobody takes must be ended with discardForkedAhead().
   * Returns the child's pid.
   */
  static forkAhead(script: URL, logRole: string): number | undefined {
    const forked = forkedAhead.get(script.href);
    if (forked !== undefined) return forked.child.pid;
    const ahead: ForkedAhead = { child: forkChild(script, [], logRole), asked: false, init: null };
    ahead.child.on('message', (message: unknown) => {
      if ((message as Partial<InitRequest> | null)?.type !== 'awaiting-init') return;
      ahead.asked = true;
      sendInitWhenAsked(ahead);
    });
    forkedAhead.set(script.href, ahead);
    return ahead.child.pid;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  /** Best effort: a child that is already going away is handled by its exit, not here. */
  send(command: Command): void {
    if (this.child.connected) this.child.send(command, () => undefined);
  }

  onEvent(listener: (event: Event) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  onExit(listener: (exit: ChildExit) => void): void {
    if (this.exitInfo !== null) listener(this.exitInfo);
    else this.events.once('exit', listener);
  }

  /**
   * The next event of `type` (that `accept` takes, if given); rejects on an
   * error event or if the child exits first.
   */
  waitFor<T extends Event['type']>(type: T, accept?: (event: EventOf<Event, T>) => boolean): Promise<EventOf<Event, T>> {
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        this.events.off('event', onEvent);
        this.events.off('exit', onExit);
      };
      const onEvent = (event: Event): void => {
        if (event.type === type) {
          if (accept !== undefined && !accept(event as EventOf<Event, T>)) return;
          cleanup();
          resolve(event as EventOf<Event, T>);
        } else if (event.type === 'error') {
          cleanup();
          reject(errorFromJSON((event as unknown as { error: ErrorPayload }).error));
        }
      };
      const onExit = (exit: ChildExit): void => {
        cleanup();
        reject(this.exitError(exit));
      };
      if (this.exitInfo !== null) return reject(this.exitError(this.exitInfo));
      this.events.on('event', onEvent);
      this.events.once('exit', onExit);
    });
  }

  /** Asks with `command`, then escalates to SIGKILL if the child is still there after `graceMs`. */
  async shutdown(command: Command, graceMs: number): Promise<ChildExit> {
    if (this.exitInfo !== null) return this.exitInfo;
    this.send(command);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exitInfo === null) this.child.kill(signal);
  }

  private exitError(exit: ChildExit): LabcastError {
    const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    return new LabcastError('CHILD_FAILED', `the ${this.role} process ${how}`);
  }
}

/** A child forked ahead of its init: whether it has asked for it yet, and the init once start() gives it. */
interface ForkedAhead {
  readonly child: ChildProcess;
  asked: boolean;
  init: InitMessage | null;
}

/** Children forked ahead of their init (LabcastChild.forkAhead), by script, until start() takes them. */
const forkedAhead = new Map<string, ForkedAhead>();

/** The child forked ahead for `script`, if it is still there to take its init; null otherwise. */
function takeForkedAhead(script: URL): ForkedAhead | null {
  const ahead = forkedAhead.get(script.href);
  if (ahead === undefined) return null;
  forkedAhead.delete(script.href);
  const { child } = ahead;
  // One that died while loading is forked again, with its init (its exit event may be past, and would be missed).
  if (child.exitCode === null && child.signalCode === null && child.connected) return ahead;
  child.kill('SIGKILL');
  return null;
}

function sendInitWhenAsked(ahead: ForkedAhead): void {
  if (ahead.asked && ahead.init !== null && ahead.child.connected) ahead.child.send(ahead.init, () => undefined);
}

/** Ends the children forked ahead that no start() took (the command failed before starting them). */
export function discardForkedAhead(): void {
  for (const { child } of forkedAhead.values()) child.kill('SIGKILL');
  forkedAhead.clear();
}

/**
 * Forks `script` with `args`, at this process's log level. Its stderr is
 * relayed to ours line by line: its logger's lines keep their tag, and
 * anything else it writes there (a crash's stack, a library's message) gets
 * `[logRole]`, so every line says which process wrote it.
 */
function forkChild(script: URL, args: string[], logRole: string): ChildProcess {
  const child = fork(script, args, {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: childEnvironment(script),
  });
  relayStderr(child, logRole);
  return child;
}

/**
 * This process's environment as `script` gets it: our log level, malloc's
 * tunables, no TLS set-up it never uses, and the TLS set-up the `labcast`
 * command put aside (HANDED_ON_CA_CERTS) given back to one that may.
 */
export function childEnvironment(script: URL): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [LOG_LEVEL_ENV]: log().level,
    GLIBC_TUNABLES: keepFreedMemoryTunables(process.env.GLIBC_TUNABLES),
  };
  if (SCRIPTS_WITHOUT_TLS.has(script.href)) delete env.NODE_EXTRA_CA_CERTS;
  else if (env.NODE_EXTRA_CA_CERTS === undefined && env[HANDED_ON_CA_CERTS] !== undefined) {
    env.NODE_EXTRA_CA_CERTS = env[HANDED_ON_CA_CERTS];
  }
  return env;
}

/**
 * glibc's malloc, told at exec to keep freed blocks (mmap threshold 32 MiB,
 * trim threshold 256 MiB) rather than give them back to the kernel and fault
 * in fresh zeroed pages for the next: the children pass frames through
 * malloc'd memory at the data rate (1 MiB blocks of small frames, ZeroMQ's
 * receive buffers), ~180 000 page faults per 200 000 64² frames otherwise.
 * Set in the environment rather than by mallopt through the native addon,
 * so the acquisition need not load the addon before its first ring
 * (docs/performance.md). Tunables the user set come first.
 */
export function keepFreedMemoryTunables(existing: string | undefined): string {
  const ours = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456';
  return existing === undefined || existing === '' ? ours : `${ours}:${existing}`;
}

function relayStderr(child: ChildProcess, logRole: string): void {
  if (child.stderr === null) return;
  child.stderr.on('error', () => undefined);
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    const tagged = TAGGED_LINE.test(line) ? line : `${new Date().toISOString()} [${logRole}] ${line}`;
    process.stderr.write(`${tagged}\n`);
  });
}
