import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { after, before } from 'node:test';
import { collect, delay, freePort, runLabcast, scratchDir, startLabcast, type Finished } from './processes.js';

export interface RunningServe {
  readonly child: ChildProcess;
  readonly control: string;
  readonly status: string;
  readonly data: string;
  /** Analysis results: subscribe here (XPUB); publish to resultsIn (XSUB). */
  readonly results: string;
  readonly resultsIn: string;
  /** Base URL of the web UI, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly web: string;
  readonly dataDir: string;
  readonly finished: Promise<Finished>;
  /** `labcast ctl ARGS --json` against this serve; the parsed result, or the failure. */
  ctl(args: string[]): Promise<{ code: number | null; result: unknown; stderr: string }>;
  statusNow(): Promise<ExperimentStatus>;
  /** Polls status until `accept` holds (or fails after `timeoutMs`). */
  waitFor(accept: (status: ExperimentStatus) => boolean, timeoutMs?: number): Promise<ExperimentStatus>;
  /** SIGTERM (SIGKILL if it has not exited after 20 s); resolves when it has gone. Harmless if already gone. */
  stop(): Promise<Finished>;
}

const STOP_GRACE_MS = 20_000;

export interface ServeOptions {
  /** Extra environment of serve (and so of its children), e.g. a test hook. */
  readonly env?: NodeJS.ProcessEnv;
  /** The serve's CURVE public key file, for `ctl` (--server-key) when it has security keys. */
  readonly serverKeyFile?: string;
  /** More command-line flags of serve, after --config. */
  readonly args?: readonly string[];
}

/**
 * A serve for the tests of the calling suite: started before them in a
 * scratch directory, stopped and removed after them.
 */
export function serveForSuite(camera: Record<string, unknown> = {}): { readonly dir: string; serve(): RunningServe } {
  const scratch = scratchDir();
  let running: RunningServe | undefined;
  before(async () => {
    running = await startServe(scratch.dir, camera);
  });
  after(async () => {
    await running?.stop();
    scratch.cleanup();
  });
  return {
    dir: scratch.dir,
    serve: () => {
      if (running === undefined) throw new Error('serve has not started (the before hook failed)');
      return running;
    },
  };
}

export type ServeEndpoints = Record<'data' | 'control' | 'record' | 'status' | 'results' | 'results_in', string>;

/** Loopback endpoints on free ports for every socket serve binds, and a free port for the web UI. */
export async function freeServePorts(): Promise<{ endpoints: ServeEndpoints; webPort: number }> {
  const [data, control, record, status, web, results, resultsIn] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const at = (port: number): string => `tcp://127.0.0.1:${port}`;
  return {
    endpoints: {
      data: at(data),
      control: at(control),
      record: at(record),
      status: at(status),
      results: at(results),
      results_in: at(resultsIn),
    },
    webPort: web,
  };
}

/**
 * Starts `labcast serve` on free loopback ports with a config written into `dir`;
 * `sections` adds or replaces top-level config sections (e.g. analysis, settings).
 */
export async function startServe(
  dir: string,
  camera: Record<string, unknown> = {},
  sections: Record<string, unknown> = {},
  options: ServeOptions = {},
): Promise<RunningServe> {
  const { endpoints, webPort: web } = await freeServePorts();
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const config = {
    // Another driver's options replace the simulator's; sim options are merged into small fast defaults.
    camera:
      camera.driver === undefined || camera.driver === 'sim' ? { driver: 'sim', width: 128, height: 96, fps: 100, ...camera } : camera,
    endpoints,
    web: { host: '127.0.0.1', port: web },
    storage: { data_dir: dataDir },
    ...sections,
  };
  const configPath = join(dir, 'lab.yaml');
  // JSON is valid YAML.
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const child = startLabcast(['serve', '--config', configPath, ...(options.args ?? [])], options.env);
  const finished = collect(child);
  const serve: RunningServe = {
    child,
    control: config.endpoints.control,
    status: config.endpoints.status,
    data: config.endpoints.data,
    results: config.endpoints.results,
    resultsIn: config.endpoints.results_in,
    web: `http://127.0.0.1:${web}`,
    dataDir,
    finished,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await finished;
        clearTimeout(timer);
      }
      return finished;
    },
    async ctl(args) {
      const key = options.serverKeyFile === undefined ? [] : ['--server-key', options.serverKeyFile];
      const ran = await runLabcast(['ctl', '--control', config.endpoints.control, ...key, '--json', ...args]);
      let result: unknown = null;
      if (ran.stdout.trim() !== '') result = JSON.parse(ran.stdout);
      return { code: ran.code, result, stderr: ran.stderr };
    },
    async statusNow() {
      const answer = await serve.ctl(['status']);
      if (answer.code !== 0) throw new Error(`status failed: ${answer.stderr}`);
      return answer.result as ExperimentStatus;
    },
    async waitFor(accept, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: ExperimentStatus | null = null;
      while (Date.now() < deadline) {
        try {
          last = await serve.statusNow();
          if (accept(last)) return last;
        } catch {
          // Not answering yet.
        }
        await delay(100);
      }
      throw new Error(`status never matched; last: ${JSON.stringify(last)}`);
    },
  };
  await serve.waitFor((s) => s.state === 'idle');
  return serve;
}
