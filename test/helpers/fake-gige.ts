import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { loadAravisAddon } from '../../src/native/aravis-addon.js';
import { CLI, collect, delay, type Finished } from './processes.js';

/**
 * Aravis's fake GigE Vision camera (real GVCP/GVSP over UDP) inside a network
 * namespace of the test's own, with labcast's processes in the same namespace.
 * Discovery broadcasts on every interface it sees, so nothing here ever runs
 * on the host's interfaces: the namespace has only its loopback, up, with
 * 127.0.0.2 added so that two cameras can listen at once.
 */

export const FAKE_CAMERA_TOOL = 'arv-fake-gv-camera-0.8';
export const CAMERA_TEST_TOOL = 'arv-camera-test-0.8';
/** Where each fake camera listens; GVCP's port is fixed (3956), so one camera per address. */
export const CAMERA_ADDRESSES = ['127.0.0.1', '127.0.0.2'] as const;

let namespaceCount = 0;

function run(command: string, args: readonly string[]): { ok: boolean; output: string } {
  const ran = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: ran.status === 0, output: `${ran.stdout ?? ''}${ran.stderr ?? ''}${ran.error?.message ?? ''}`.trim() };
}

/** Why the GigE path cannot be tested here (no root, no `ip`, no aravis-tools, no addon), or null. */
export function fakeGigeUnavailable(options: { addon?: boolean } = {}): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace for the fake GigE camera (CI runs as root)';
  if (spawnSync('ip', ['-V']).error !== undefined) return 'needs the `ip` command (Debian package iproute2)';
  if (spawnSync(FAKE_CAMERA_TOOL, ['--help']).error !== undefined) {
    return `needs ${FAKE_CAMERA_TOOL} (Debian package aravis-tools)`;
  }
  if (options.addon !== false) {
    const load = loadAravisAddon();
    if ('failure' in load) return `needs the Aravis binding: ${load.failure}`;
  }
  return null;
}

/** In CI a missing prerequisite is a failure (the tests must run there); elsewhere a skip with the reason. */
export function skipOrFail(t: TestContext, reason: string): void {
  if (process.env.CI === 'true' || process.env.CI === '1') assert.fail(`the GenICam end-to-end tests must run in CI: ${reason}`);
  t.skip(reason);
}

export interface NamespacedProcess {
  readonly child: ChildProcess;
  readonly finished: Promise<Finished>;
  /** stdout and stderr so far. */
  output(): string;
}

export interface FakeCameraOptions {
  readonly address: (typeof CAMERA_ADDRESSES)[number];
  readonly serial: string;
  /** GVSP packets the camera drops, per thousand (its -r option). */
  readonly lostPacketsPerThousand?: number;
}

/** A running fake camera: its serial, address and the name labcast and Aravis know it by. */
export interface FakeCamera extends NamespacedProcess {
  readonly serial: string;
  readonly address: string;
  /** Aravis's device id: "Aravis-Fake-SERIAL". */
  readonly deviceId: string;
}

export class FakeGigeNetwork {
  private readonly processes: NamespacedProcess[] = [];

  private constructor(readonly namespace: string) {}

  /** A fresh namespace with lo up and both camera addresses, or the reason it could not be made. */
  static create(): FakeGigeNetwork | string {
    const namespace = `labcast-gige-${process.pid}-${namespaceCount++}`;
    const steps = [
      ['netns', 'add', namespace],
      ['-n', namespace, 'link', 'set', 'lo', 'up'],
      // 127.0.0.1 is lo's already; a second camera needs an address of its own on an interface.
      ['-n', namespace, 'addr', 'add', `${CAMERA_ADDRESSES[1]}/8`, 'dev', 'lo'],
    ];
    for (const step of steps) {
      const ran = run('ip', step);
      if (!ran.ok) {
        run('ip', ['netns', 'del', namespace]);
        return `cannot set up a network namespace: ip ${step.join(' ')}: ${ran.output}`;
      }
    }
    return new FakeGigeNetwork(namespace);
  }

  /** Any program inside the namespace; `ip netns exec` execs it, so the pid is the program's. */
  exec(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): NamespacedProcess {
    const child = spawn('ip', ['netns', 'exec', this.namespace, command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started: NamespacedProcess = { child, finished: collect(child), output: () => output };
    this.processes.push(started);
    return started;
  }

  /** The labcast CLI inside the namespace. */
  labcast(args: readonly string[], env: NodeJS.ProcessEnv = {}): NamespacedProcess {
    return this.exec(process.execPath, [CLI, ...args], env);
  }

  /** Starts a fake camera and resolves once it listens for GVCP. */
  async startCamera(options: FakeCameraOptions): Promise<FakeCamera> {
    const args = ['-i', options.address, '-s', options.serial];
    if (options.lostPacketsPerThousand !== undefined) args.push('-r', String(options.lostPacketsPerThousand));
    const started = this.exec(FAKE_CAMERA_TOOL, args);
    const listening = `${options.address}:3956`;
    for (let attempt = 0; attempt < 100; attempt++) {
      if (started.child.exitCode !== null) break;
      if (run('ip', ['netns', 'exec', this.namespace, 'ss', '-uln']).output.includes(listening)) {
        return { ...started, serial: options.serial, address: options.address, deviceId: `Aravis-Fake-${options.serial}` };
      }
      await delay(100);
    }
    started.child.kill('SIGKILL');
    throw new Error(`${FAKE_CAMERA_TOOL} ${args.join(' ')} did not listen on ${listening}: ${started.output()}`);
  }

  /** Ends one process (SIGTERM, then SIGKILL after `graceMs`) and waits for it. */
  async stop(target: NamespacedProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<Finished> {
    if (target.child.exitCode === null && target.child.signalCode === null) target.child.kill(signal);
    const timer = setTimeout(() => target.child.kill('SIGKILL'), graceMs);
    const finished = await target.finished;
    clearTimeout(timer);
    return finished;
  }

  /** Ends every process started here and deletes the namespace. */
  async remove(): Promise<void> {
    await Promise.all(this.processes.map((started) => this.stop(started, 'SIGTERM', 5_000)));
    run('ip', ['netns', 'del', this.namespace]);
  }
}
