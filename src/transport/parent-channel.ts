import { log } from '../log/logger.js';
import { LabcastError, type ErrorCode } from '../protocol/errors.js';
import type { ErrorPayload, InitMessage, InitRequest } from '../protocol/process-messages.js';

/**
 * The child side of a labcast child process: events up to the supervisor over
 * Node IPC, commands down. Works without a parent too (a saver started by hand
 * on another machine), in which case events go nowhere and `connected` is false.
 */
export class ParentChannel<Command extends { type: string }, Event extends { type: string }> {
  constructor(readonly role: string) {}

  get connected(): boolean {
    return typeof process.send === 'function' && process.connected;
  }

  send(event: Event): void {
    if (this.connected) process.send!(event);
  }

  /** Reports a fatal error (to the parent, else to stderr) and exits non-zero once it is sent. */
  failAndExit(error: unknown): void {
    const payload = errorPayload(error);
    if (!this.connected) {
      log().error(payload.message);
      process.exit(1);
    }
    process.send!({ type: 'error', error: payload }, () => process.exit(1));
  }

  onCommand(handler: (command: Command) => void): void {
    process.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string') {
        handler(message as Command);
      }
    });
  }

  /** Called when the supervisor goes away, so an orphan can finish cleanly. */
  onParentGone(handler: () => void): void {
    // The supervisor may already be gone before this child finished loading.
    if (typeof process.send === 'function' && !process.connected) setImmediate(handler);
    else process.on('disconnect', handler);
  }

  /**
   * Ctrl-C in a terminal reaches the whole process group; the supervisor
   * decides how to stop (drain first), so a supervised child ignores it.
   */
  leaveSignalsToParent(): void {
    if (!this.connected) return;
    process.on('SIGINT', () => undefined);
  }
}

export function errorPayload(error: unknown): ErrorPayload {
  if (error instanceof LabcastError) return error.toJSON();
  const message = error instanceof Error ? error.message : String(error);
  const code: ErrorCode = 'CHILD_FAILED';
  return { code, message };
}

/** Reads the child's init options from its first argument (JSON). */
export function readInitArgument(role: string): unknown {
  const raw = process.argv[2];
  if (raw === undefined) throw new LabcastError('BAD_ARGUMENT', `${role}: missing init argument (JSON)`);
  try {
    return JSON.parse(raw);
  } catch {
    throw new LabcastError('BAD_ARGUMENT', `${role}: init argument is not valid JSON`);
  }
}

/**
 * The child's init options: its first argument (JSON), or, for a child forked
 * before its supervisor knew them (LabcastChild.forkAhead: it loads its
 * modules meanwhile), the supervisor's reply to its InitRequest. A child forked ahead
 * whose supervisor goes away without sending one was not needed: it exits.
 */
export async function readInit(role: string): Promise<unknown> {
  if (process.argv[2] !== undefined || typeof process.send !== 'function') return readInitArgument(role);
  if (!process.connected) process.exit(0);
  return new Promise((resolve) => {
    const onMessage = (message: unknown): void => {
      if ((message as Partial<InitMessage> | null)?.type !== 'init') return;
      process.off('message', onMessage);
      process.off('disconnect', onGone);
      resolve((message as InitMessage).init);
    };
    const onGone = (): void => process.exit(0);
    process.on('message', onMessage);
    process.once('disconnect', onGone);
    const request: InitRequest = { type: 'awaiting-init' };
    process.send!(request);
  });
}
