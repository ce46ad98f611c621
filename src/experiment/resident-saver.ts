import { log } from '../log/logger.js';
import type { ResidentSaverInit, SaverCommand, SaverConnection, SaverEvent, SaverInit, SaverRun } from '../protocol/process-messages.js';
import { LabcastChild, type ChildExit } from './child-process.js';
import type { SaverKeeper, SaverPort, StartSaver } from './ports.js';

const SAVER_SCRIPT = new URL('../saver/saver-process.js', import.meta.url);
const SAVER_EXIT_GRACE_MS = 10_000;
/**
 * Savers that keep dying this soon after they were ready (more than
 * QUICK_DEATHS_REPLACED in a row) are not replaced at once any more: the next
 * recording starts one. A saver that cannot live is not restarted in a loop.
 */
const SHORTEST_LIFE_MS = 1000;
const QUICK_DEATHS_REPLACED = 2;

type SaverEventOf<T extends SaverEvent['type']> = Extract<SaverEvent, { type: T }>;

/** What the keeper needs of a saver process; a LabcastChild running saver-process.js is the real one. */
export type ResidentProcess = Pick<
  LabcastChild<SaverCommand, SaverEvent>,
  'pid' | 'hasExited' | 'onEvent' | 'onExit' | 'waitFor' | 'send' | 'shutdown'
>;

/** Starts a saver process with a connection and no run (saver-process.js in resident mode). */
export function startResidentSaverProcess(init: ResidentSaverInit): ResidentProcess {
  return LabcastChild.start<SaverCommand, SaverEvent>('saver', SAVER_SCRIPT, init);
}

/**
 * One resident saver process. `starting` until its ready, `idle` waiting for
 * a run, `busy` with a recording's run, `retiring` once shut down (or dead).
 */
interface Resident {
  readonly process: ResidentProcess;
  readonly connection: SaverConnection;
  /** Settles once the process is ready (connected, waiting for runs); rejects if it dies or fails first. */
  readonly ready: Promise<void>;
  /** When it got ready (performance.now()); null until then. */
  readyAt: number | null;
  state: 'idle' | 'busy' | 'retiring';
}

/**
 * serve's resident saver: a saver process started when serve starts (and
 * again whenever it dies), connected to the record endpoint and idle, so a
 * recording (a snap above all) hands it its run instead of waiting ~0.2 s for
 * a Node process to start, load the addon and connect
 * (docs/performance.md). It saves one run at a time, each to its own file
 * with its own run-start; after a run whose file closed cleanly it waits for
 * the next. A run that failed (its file could not be written, the recording
 * asked it to shut down, the acquisition died) retires it, and a fresh one
 * takes its place; so does its death, idle or mid-run (the recording reports
 * that death as before: resident-saver.ts changes nothing in how a recording
 * accounts for its saver).
 */
export class ResidentSaver implements SaverKeeper {
  private resident: Resident | null = null;
  /** What to keep a saver ready for; null until keepReady. */
  private connection: SaverConnection | null = null;
  private stopped = false;
  /** Savers in a row that died within SHORTEST_LIFE_MS of being ready. */
  private quickDeaths = 0;
  /** Retired processes still on their way out. */
  private readonly leaving = new Set<Promise<ChildExit>>();

  constructor(private readonly spawn: (init: ResidentSaverInit) => ResidentProcess = startResidentSaverProcess) {}

  keepReady(connection: SaverConnection): void {
    this.connection = normalised(connection);
    const current = this.resident;
    if (this.stopped || (current !== null && sameConnection(current.connection, this.connection))) return;
    // A busy one finishes its run and is then replaced (handBack).
    if (current !== null && current.state === 'busy') return;
    if (current !== null) this.retire(current);
    this.resident = this.start(this.connection);
  }

  get idle(): { readonly pid: number | undefined } | null {
    const current = this.resident;
    return current === null || current.state !== 'idle' || current.process.hasExited ? null : { pid: current.process.pid };
  }

  readonly startSaver: StartSaver = (init) => {
    const connection = normalised(init);
    let resident = this.resident;
    if (resident === null || resident.state !== 'idle' || resident.process.hasExited || !sameConnection(resident.connection, connection)) {
      if (resident !== null && resident.state === 'idle') this.retire(resident);
      resident = this.start(connection);
      this.resident = resident;
    }
    resident.state = 'busy';
    const chosen = resident;
    return new ResidentRun(chosen, runOf(init), () => this.handBack(chosen));
  };

  async shutdown(): Promise<void> {
    this.stopped = true;
    const current = this.resident;
    this.resident = null;
    if (current !== null && current.state !== 'busy') this.retire(current);
    await Promise.all([...this.leaving]);
  }

  private start(connection: SaverConnection): Resident {
    const process = this.spawn({ resident: true, ...connection });
    const resident: Resident = {
      process,
      connection,
      // Listened for now: 'ready' may come before anyone asks for it.
      ready: process.waitFor('ready').then(() => {
        resident.readyAt = performance.now();
      }),
      readyAt: null,
      state: 'idle',
    };
    resident.ready.catch(() => undefined);
    process.onExit((exit) => this.exited(resident, exit));
    return resident;
  }

  /** A recording is done with `resident`, whose file closed cleanly: it waits for the next run, unless it is no longer wanted. */
  private handBack(resident: Resident): void {
    const wanted = this.connection === null || sameConnection(resident.connection, this.connection);
    if (this.stopped || this.resident !== resident || !wanted) {
      this.retire(resident);
      if (this.resident === resident) this.resident = null;
      this.replace();
      return;
    }
    resident.state = 'idle';
  }

  private exited(resident: Resident, exit: ChildExit): void {
    if (this.resident !== resident) return;
    this.resident = null;
    if (this.stopped) return;
    if (resident.state === 'idle') {
      log().warn(`the idle saver process (pid ${resident.process.pid}) ${describeExit(exit)}; starting another`);
    }
    // One that never got ready (it cannot start here) is not restarted in a
    // loop, nor are savers that keep dying at once: the next recording starts
    // one, and reports why it failed.
    if (resident.readyAt === null) return;
    if (resident.state === 'retiring' || performance.now() - resident.readyAt >= SHORTEST_LIFE_MS) this.quickDeaths = 0;
    else this.quickDeaths += 1;
    if (this.quickDeaths <= QUICK_DEATHS_REPLACED) this.replace();
  }

  private replace(): void {
    if (!this.stopped && this.resident === null && this.connection !== null) this.resident = this.start(this.connection);
  }

  private retire(resident: Resident): void {
    if (resident.state === 'retiring') return;
    resident.state = 'retiring';
    const leaving = resident.process.shutdown({ type: 'shutdown' }, SAVER_EXIT_GRACE_MS);
    this.leaving.add(leaving);
    void leaving.finally(() => this.leaving.delete(leaving));
  }
}

/**
 * A recording's use of a resident saver: its events while the run lasts,
 * `ready` once the run has been handed over, and at the end (shutdown) the
 * saver handed back when the file closed cleanly, or shut down otherwise.
 */
class ResidentRun implements SaverPort {
  private readonly detach: (() => void)[] = [];
  private readonly assigned: Promise<SaverEventOf<'ready'>>;
  private closedCleanly = false;
  private shutdownAsked = false;
  private ended: Promise<ChildExit | null> | null = null;

  constructor(
    private readonly resident: Resident,
    run: SaverRun & { readonly runId: string },
    private readonly handBack: () => void,
  ) {
    const process = resident.process;
    // Sent once it listens for commands (ready): a message before that would be lost.
    this.assigned = resident.ready.then(() => {
      process.send({ type: 'save', run });
      return { type: 'ready' } as const;
    });
    this.assigned.catch(() => undefined);
    this.detach.push(
      process.onEvent((event) => {
        if (event.type === 'file-closed') this.closedCleanly = event.error === null;
      }),
    );
  }

  get pid(): number | undefined {
    return this.resident.process.pid;
  }

  get hasExited(): boolean {
    return this.resident.process.hasExited;
  }

  onEvent(listener: (event: SaverEvent) => void): () => void {
    const off = this.resident.process.onEvent(listener);
    this.detach.push(off);
    return off;
  }

  waitFor<T extends SaverEvent['type']>(type: T, accept?: (event: SaverEventOf<T>) => boolean): Promise<SaverEventOf<T>> {
    if (type === 'ready' && accept === undefined) return this.assigned as Promise<SaverEventOf<T>>;
    return this.resident.process.waitFor(type, accept);
  }

  send(command: SaverCommand): void {
    if (command.type === 'shutdown') this.shutdownAsked = true;
    this.resident.process.send(command);
  }

  shutdown(command: SaverCommand, graceMs: number): Promise<ChildExit | null> {
    this.ended ??= this.end(command, graceMs);
    return this.ended;
  }

  private async end(command: SaverCommand, graceMs: number): Promise<ChildExit | null> {
    for (const off of this.detach.splice(0)) off();
    const process = this.resident.process;
    if (this.closedCleanly && !this.shutdownAsked && !process.hasExited) {
      this.handBack();
      return null;
    }
    this.resident.state = 'retiring';
    return process.shutdown(command, graceMs);
  }
}

function normalised(connection: SaverConnection): SaverConnection {
  return { endpoint: connection.endpoint, serverKey: connection.serverKey ?? null, resultsEndpoint: connection.resultsEndpoint ?? null };
}

function sameConnection(a: SaverConnection, b: SaverConnection): boolean {
  return (
    a.endpoint === b.endpoint &&
    (a.serverKey ?? null) === (b.serverKey ?? null) &&
    (a.resultsEndpoint ?? null) === (b.resultsEndpoint ?? null)
  );
}

function runOf(init: SaverInit): SaverRun & { readonly runId: string } {
  if (init.runId === undefined) throw new Error('a resident saver is handed a run by its run id, and this one has none');
  return {
    runId: init.runId,
    outPath: init.outPath,
    overwrite: init.overwrite,
    flushIntervalMs: init.flushIntervalMs,
    ...(init.compression === undefined ? {} : { compression: init.compression }),
  };
}

function describeExit(exit: ChildExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
