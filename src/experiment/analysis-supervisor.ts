import { resolve } from 'node:path';
import type { LabcastConfig } from '../config/schema.js';
import { analysisTopic, type AnalysisCommand, type AnalysisEvent, type AnalysisInit, type AnalysisKind } from '../protocol/analysis.js';
import type { AnalysisInfo, AnalysisState, ProcessInfo } from '../protocol/control.js';
import { LabcastError } from '../protocol/errors.js';
import { LabcastChild, type ChildExit } from './child-process.js';
import { RateMeter } from './rate-meter.js';

const ANALYSIS_SCRIPT = new URL('../analysis/analysis-process.js', import.meta.url);
/** Loading a module and connecting two sockets; generous for a loaded CI machine. */
const READY_TIMEOUT_MS = 20_000;
const EXIT_GRACE_MS = 5_000;
const PROGRESS_INTERVAL_MS = 250;

/** An analysis the server can run: one from the config, or a built-in one. */
export interface AnalysisDefinition {
  readonly name: string;
  readonly kind: AnalysisKind;
  readonly options: unknown;
  /** Absolute path of the user module (kind `module`). */
  readonly module: string | null;
  readonly autostart: boolean;
}

/** Built in: available under these names unless the config defines them otherwise. */
const BUILT_IN: readonly AnalysisDefinition[] = [
  { name: 'stats', kind: 'stats', options: {}, module: null, autostart: false },
  { name: 'localize', kind: 'localize', options: {}, module: null, autostart: false },
];

/** The config's analyses, then the built-in ones it does not redefine. Module paths are taken relative to `cwd`. */
export function analysisDefinitions(config: LabcastConfig['analysis'], cwd = process.cwd()): AnalysisDefinition[] {
  const configured: AnalysisDefinition[] = Object.entries(config).map(([name, entry]) => ({
    name,
    kind: entry.kind,
    options: entry.options,
    module: entry.kind === 'module' ? resolve(cwd, entry.module) : null,
    autostart: entry.autostart,
  }));
  return [...configured, ...BUILT_IN.filter((builtIn) => !(builtIn.name in config))];
}

interface Entry {
  readonly definition: AnalysisDefinition;
  state: AnalysisState;
  child: LabcastChild<AnalysisCommand, AnalysisEvent> | null;
  error: string | null;
  /** The error the process reported before exiting, if it did. */
  reported: string | null;
  analysed: number;
  skipped: number;
  frameErrors: number;
  analysisMs: number;
  readonly rate: RateMeter;
  /** Start and stop of one analysis happen one at a time. */
  lock: Promise<unknown>;
}

export interface AnalysisEndpoints {
  /** The data endpoint frames are published on. */
  readonly data: string;
  /** serve's results_in (XSUB); null before serve has bound it. */
  readonly resultsIn: string | null;
}

/**
 * The analysis processes of labcast serve: started and stopped by name at
 * runtime, each a child process subscribed to the data endpoint and
 * publishing to results_in. One that crashes is marked `failed` with the
 * reason, and can be started again; nothing else is affected.
 */
export class AnalysisSupervisor {
  private readonly entries = new Map<string, Entry>();
  private shuttingDown = false;

  constructor(
    definitions: readonly AnalysisDefinition[],
    private readonly endpoints: () => AnalysisEndpoints,
    private readonly changed: () => void,
    /** serve's CURVE public key, for analysis processes to reach its endpoints; null without keys. */
    private readonly serverKey: string | null = null,
  ) {
    for (const definition of definitions) {
      this.entries.set(definition.name, {
        definition,
        state: 'stopped',
        child: null,
        error: null,
        reported: null,
        analysed: 0,
        skipped: 0,
        frameErrors: 0,
        analysisMs: 0,
        rate: new RateMeter(),
        lock: Promise.resolve(),
      });
    }
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  /** The `analysis` command. */
  async handle(action: 'start' | 'stop' | 'list', name: string | undefined): Promise<AnalysisInfo[]> {
    if (action === 'list') return this.infos();
    if (name === undefined) {
      throw new LabcastError('BAD_REQUEST', `analysis ${action}: "name" is required: one of ${this.knownList()}`, 'name');
    }
    const entry = this.entry(name);
    const run = action === 'start' ? () => this.start(entry) : () => this.stop(entry);
    const done = entry.lock.then(run, run);
    entry.lock = done.catch(() => undefined);
    await done;
    return this.infos();
  }

  /** Starts those marked `autostart`; failures are reported in their status and returned, not thrown. */
  async autostart(): Promise<{ name: string; error: string }[]> {
    const failures: { name: string; error: string }[] = [];
    for (const entry of this.entries.values()) {
      if (!entry.definition.autostart) continue;
      try {
        await this.handle('start', entry.definition.name);
      } catch (error) {
        failures.push({ name: entry.definition.name, error: (error as Error).message });
      }
    }
    return failures;
  }

  infos(): AnalysisInfo[] {
    return [...this.entries.values()].map((entry) => ({
      name: entry.definition.name,
      kind: entry.definition.kind,
      topic: analysisTopic(entry.definition.name),
      state: entry.state,
      pid: entry.child?.pid ?? null,
      autostart: entry.definition.autostart,
      frames_analysed: entry.analysed,
      frames_skipped: entry.skipped,
      results_per_s: Math.round(entry.rate.perSecond() * 100) / 100,
      analysis_ms: entry.analysisMs,
      frame_errors: entry.frameErrors,
      error: entry.error,
    }));
  }

  /** Running analysis processes, for the `subscribers` list. */
  processes(): ProcessInfo[] {
    return [...this.entries.values()]
      .filter((entry) => entry.child !== null)
      .map((entry) => ({
        role: `analysis:${entry.definition.name}`,
        title: `labcast-analysis ${entry.definition.name}`,
        pid: entry.child!.pid ?? null,
        running: !entry.child!.hasExited,
      }));
  }

  /** Stops every analysis process. Idempotent. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all([...this.entries.values()].map((entry) => this.stop(entry)));
  }

  private knownList(): string {
    return this.names.map((name) => JSON.stringify(name)).join(', ');
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      throw new LabcastError(
        'BAD_ARGUMENT',
        `unknown analysis ${JSON.stringify(name.slice(0, 100))}; known analyses: ${this.knownList()}`,
        'name',
      );
    }
    return entry;
  }

  private async start(entry: Entry): Promise<void> {
    if (entry.child !== null && !entry.child.hasExited) return; // already running (or starting)
    if (this.shuttingDown) throw new LabcastError('CAMERA_STATE', 'labcast serve is shutting down');
    const { data, resultsIn } = this.endpoints();
    if (resultsIn === null) throw new LabcastError('CAMERA_STATE', 'the results endpoint is not bound yet; try again in a moment');
    const { definition } = entry;
    const init: AnalysisInit = {
      name: definition.name,
      kind: definition.kind,
      options: definition.options,
      module: definition.module,
      dataEndpoint: data,
      resultsEndpoint: resultsIn,
      serverKey: this.serverKey,
      progressIntervalMs: PROGRESS_INTERVAL_MS,
    };
    Object.assign(entry, { state: 'starting', error: null, reported: null, analysed: 0, skipped: 0, frameErrors: 0, analysisMs: 0 });
    entry.rate.reset();
    const child = LabcastChild.start<AnalysisCommand, AnalysisEvent>(
      `analysis ${definition.name}`,
      ANALYSIS_SCRIPT,
      init,
      `analysis:${definition.name}`,
    );
    entry.child = child;
    this.changed();
    child.onEvent((event) => {
      if (event.type === 'progress') {
        entry.analysed = event.analysed;
        entry.skipped = event.skipped;
        entry.frameErrors = event.errors;
        entry.analysisMs = event.analysisMs;
        if (event.lastError !== null && entry.state === 'running') entry.error = event.lastError;
        entry.rate.sample(event.results);
      } else if (event.type === 'error') {
        entry.reported = event.error.message;
      }
    });
    child.onExit((exit) => this.exited(entry, child, exit));

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new LabcastError('CHILD_FAILED', `it did not report ready within ${READY_TIMEOUT_MS / 1000} s`)),
        READY_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([child.waitFor('ready'), timeout]);
    } catch (error) {
      child.kill('SIGKILL');
      const reason = entry.reported ?? (error as Error).message;
      entry.state = 'failed';
      entry.error = `could not start: ${reason}`;
      this.changed();
      throw new LabcastError('CHILD_FAILED', `analysis "${definition.name}" could not start: ${reason}`, 'name');
    } finally {
      clearTimeout(timer);
    }
    if (entry.child === child && entry.state === 'starting') {
      entry.state = 'running';
      this.changed();
    }
  }

  private async stop(entry: Entry): Promise<void> {
    const child = entry.child;
    if (child === null || child.hasExited) return;
    entry.state = 'stopping';
    this.changed();
    await child.shutdown({ type: 'shutdown' }, EXIT_GRACE_MS);
  }

  private exited(entry: Entry, child: LabcastChild<AnalysisCommand, AnalysisEvent>, exit: ChildExit): void {
    if (entry.child !== child) return;
    entry.child = null;
    entry.rate.reset();
    if (entry.state === 'stopping' && exit.code === 0) {
      entry.state = 'stopped';
    } else if (entry.state !== 'failed') {
      const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      entry.state = 'failed';
      entry.error = `the analysis process ${how}${entry.reported === null ? '' : `: ${entry.reported}`}`;
    }
    this.changed();
  }
}
