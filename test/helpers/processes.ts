import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled CLI, which the `labcast` command (bin/labcast, what `npx labcast` runs) starts. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Debian's python3 sees Debian's h5py/zmq; a python3 earlier on PATH may not. */
export const PYTHON = process.env.LABCAST_PYTHON ?? '/usr/bin/python3';

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function collect(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function startLabcast(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runLabcast(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return collect(startLabcast(args, env));
}

export function runPython(script: string, args: string[] = []): Promise<Finished> {
  return collect(spawn(PYTHON, ['-c', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

export function runPythonFile(file: string, args: string[] = []): Promise<Finished> {
  return collect(spawn(PYTHON, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A directory removed when the returned function is called. */
export function scratchDir(prefix = 'labcast-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A loopback TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** PIDs of live processes whose command line mentions `needle` (Linux /proc). */
export async function processesMatching(needle: string): Promise<number[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Live processes whose parent is `parentPid` and whose command line has `needle`. */
export async function childProcessesOf(parentPid: number, needle = ''): Promise<number[]> {
  const { readFileSync } = await import('node:fs');
  return (await processesMatching(needle)).filter((pid) => {
    try {
      // Field 4 of /proc/PID/stat is the parent; the command name (field 2) has no spaces in ours.
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[3] === String(parentPid);
    } catch {
      return false;
    }
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The Python block of a doc whose first line is `# labcast-example: NAME`, verbatim. */
export function pythonExampleFromDoc(docPath: string, name: string): string {
  const doc = readFileSync(docPath, 'utf8');
  const block = new RegExp('```python\\n(# labcast-example: ' + name + '\\n[\\s\\S]*?)```').exec(doc);
  if (block === null) throw new Error(`${docPath} has no Python example marked "# labcast-example: ${name}"`);
  return block[1]!;
}

/**
 * Resolves once the child's output (stdout or stderr) has a line where `pattern`
 * matches and `accept` agrees: tests wait for what a process says, not for a
 * fixed time that a busy machine may not honour.
 */
export function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  accept: (match: RegExpExecArray) => boolean = () => true,
  timeoutMs = 60_000,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => finish(new Error(`no output matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString();
      const lines = pending.split(/[\r\n]/);
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match !== null && accept(match)) return finish(null, match);
      }
    };
    const onClose = (): void => finish(new Error(`the process ended before printing ${pattern}`));
    function finish(error: Error | null, match?: RegExpExecArray): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('close', onClose);
      if (error !== null) reject(error);
      else resolve(match!);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('close', onClose);
  });
}
