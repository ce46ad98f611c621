/**
 * Start-up of the CLI as a user meets it: wall time from process start to
 * exit of the `labcast` command (bin/labcast, what `npx labcast` and an
 * installed labcast run) for `version` and for `record --frames 1` (both
 * processes started, the file closed), beside a bare `node -e 0` measured in
 * the same loop: the machine's speed of the minute, which every Node process
 * pays. Where the environment sets NODE_EXTRA_CA_CERTS (this VM does), Node
 * parses that bundle at every start: the bare start is measured with and
 * without it, and the CLI run directly (`node dist/src/cli/main.js`, which
 * parses it) beside the command (which does not). Medians; nothing here
 * asserts a time.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
/** The `labcast` command, two levels above dist/bench. */
const COMMAND = fileURLToPath(new URL('../../bin/labcast', import.meta.url));
export const STARTUP_RUNS = 5;

export interface StartupTimes {
  /** `node -e 0`: what any Node process costs here, now, in this environment. */
  readonly bareNodeS: number;
  /** The same without NODE_EXTRA_CA_CERTS, when the environment sets it. */
  readonly bareNodeWithoutCertsS: number | null;
  readonly versionS: number;
  readonly recordOneFrameS: number;
  /** `node dist/src/cli/main.js record --frames 1`: the CLI started without the command, certificates parsed. */
  readonly recordOneFrameDirectS: number;
}

function wallSeconds(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const started = performance.now();
  const result = spawnSync(file, args, { encoding: 'utf8', env });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function measureStartup(dir: string): StartupTimes {
  const out = join(dir, 'startup.h5');
  const record = ['record', '--frames', '1', '--width', '64', '--height', '48', '--out', out, '--overwrite', '--json'];
  const withoutCerts = process.env.NODE_EXTRA_CA_CERTS === undefined ? null : { ...process.env, NODE_EXTRA_CA_CERTS: undefined };
  const bare: number[] = [];
  const bareWithoutCerts: number[] = [];
  const version: number[] = [];
  const recordOne: number[] = [];
  const recordOneDirect: number[] = [];
  for (let run = 0; run < STARTUP_RUNS; run++) {
    bare.push(wallSeconds(process.execPath, ['-e', '0']));
    if (withoutCerts !== null) bareWithoutCerts.push(wallSeconds(process.execPath, ['-e', '0'], withoutCerts));
    version.push(wallSeconds(COMMAND, ['version']));
    recordOne.push(wallSeconds(COMMAND, record));
    recordOneDirect.push(wallSeconds(process.execPath, [CLI, ...record]));
  }
  rmSync(out, { force: true });
  return {
    bareNodeS: median(bare),
    bareNodeWithoutCertsS: withoutCerts === null ? null : median(bareWithoutCerts),
    versionS: median(version),
    recordOneFrameS: median(recordOne),
    recordOneFrameDirectS: median(recordOneDirect),
  };
}
