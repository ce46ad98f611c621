/**
 * Start-up of the CLI as a user meets it: wall time from process start to
 * exit of `labcast version` and of `labcast record --frames 1` (both processes
 * started, the file closed), beside a bare `node -e 0` measured in the same
 * loop: the machine's speed of the minute (it ran 60-100 ms on the
 * development VM on one day), which every Node process pays. Medians;
 * nothing here asserts a time.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
export const STARTUP_RUNS = 5;

export interface StartupTimes {
  /** `node -e 0`: what any Node process costs here, now. */
  readonly bareNodeS: number;
  readonly versionS: number;
  readonly recordOneFrameS: number;
}

function wallSeconds(args: string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
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
  const bare: number[] = [];
  const version: number[] = [];
  const recordOne: number[] = [];
  for (let run = 0; run < STARTUP_RUNS; run++) {
    bare.push(wallSeconds(['-e', '0']));
    version.push(wallSeconds([CLI, 'version']));
    recordOne.push(wallSeconds([CLI, ...record]));
  }
  rmSync(out, { force: true });
  return { bareNodeS: median(bare), versionS: median(version), recordOneFrameS: median(recordOne) };
}
