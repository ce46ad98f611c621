import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { CLI, collect, delay, runLabcast, scratchDir, type Finished } from '../helpers/processes.js';
import { assertEveryFrameAccounted, readFileCounts } from './file-counts.js';

/**
 * Two hosts on one machine: network namespaces joined by a veth pair, with the
 * acquisition (labcast serve) on one and a `labcast save` on the other, over
 * TCP with CURVE. Addresses exist only inside the two namespaces; the host's
 * own interfaces are never touched.
 */
const NS_SERVE = `labcast-t${process.pid}-serve`;
const NS_SAVE = `labcast-t${process.pid}-save`;
const SERVE_ADDRESS = '10.231.0.1';
const SAVE_ADDRESS = '10.231.0.2';
const FRAMES = 500;

function ip(args: string[]): { ok: boolean; output: string } {
  const ran = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: ran.status === 0, output: `${ran.stdout ?? ''}${ran.stderr ?? ''}${ran.error?.message ?? ''}`.trim() };
}

/** Why two namespaces cannot be made here, or null when they were. */
function makeNamespaces(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces (run the tests as root, as CI does)';
  if (spawnSync('ip', ['-V']).error !== undefined) return 'needs the `ip` command (Debian package iproute2)';
  const steps: string[][] = [
    ['netns', 'add', NS_SERVE],
    ['netns', 'add', NS_SAVE],
    // Created inside the first namespace, its peer moved straight into the second.
    ['-n', NS_SERVE, 'link', 'add', 'veth-serve', 'type', 'veth', 'peer', 'name', 'veth-save', 'netns', NS_SAVE],
    ['-n', NS_SERVE, 'addr', 'add', `${SERVE_ADDRESS}/24`, 'dev', 'veth-serve'],
    ['-n', NS_SAVE, 'addr', 'add', `${SAVE_ADDRESS}/24`, 'dev', 'veth-save'],
    ['-n', NS_SERVE, 'link', 'set', 'veth-serve', 'up'],
    ['-n', NS_SAVE, 'link', 'set', 'veth-save', 'up'],
    ['-n', NS_SERVE, 'link', 'set', 'lo', 'up'],
    ['-n', NS_SAVE, 'link', 'set', 'lo', 'up'],
  ];
  for (const step of steps) {
    const ran = ip(step);
    if (!ran.ok) return `cannot set up network namespaces: ip ${step.join(' ')}: ${ran.output}`;
  }
  return null;
}

function removeNamespaces(): void {
  // Deleting a namespace removes its veth end, and so the pair.
  ip(['netns', 'del', NS_SERVE]);
  ip(['netns', 'del', NS_SAVE]);
}

/** A labcast command inside a namespace; its pid is labcast's own (`ip netns exec` execs it). */
function inNamespace(namespace: string, args: string[]): { child: ChildProcess; finished: Promise<Finished>; output(): string } {
  const child = spawn('ip', ['netns', 'exec', namespace, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, finished: collect(child), output: () => output };
}

async function ctlFrom(namespace: string, args: string[]): Promise<Finished> {
  const run = inNamespace(namespace, ['ctl', '--control', `tcp://${SERVE_ADDRESS}:5556`, ...args]);
  return run.finished;
}

async function stop(run: { child: ChildProcess; finished: Promise<Finished> } | undefined): Promise<void> {
  if (run === undefined || run.child.exitCode !== null || run.child.signalCode !== null) return;
  run.child.kill('SIGTERM');
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 20_000);
  await run.finished;
  clearTimeout(timer);
}

describe('across machines: serve in one network namespace, labcast save in another, over TCP with CURVE', () => {
  const scratch = scratchDir();
  let cannot: string | null = null;
  let serve: ReturnType<typeof inNamespace> | undefined;
  let saver: ReturnType<typeof inNamespace> | undefined;

  before(() => {
    cannot = makeNamespaces();
    if (cannot !== null) removeNamespaces();
  });
  after(async () => {
    await stop(saver);
    await stop(serve);
    removeNamespaces();
    scratch.cleanup();
  });

  test(`${FRAMES} frames recorded on one host are saved whole on the other`, async (t) => {
    if (cannot !== null) {
      if (process.env.CI === 'true') assert.fail(`the two-host test cannot run in CI: ${cannot}`);
      return t.skip(cannot);
    }
    const made = await runLabcast(['keys', '--out', join(scratch.dir, 'keys'), '--json']);
    assert.equal(made.code, 0, made.stderr);
    const keys = JSON.parse(made.stdout) as { public_key_file: string; secret_key_file: string };
    const config = {
      camera: { driver: 'sim', width: 256, height: 192, fps: 100 },
      endpoints: {
        data: `tcp://${SERVE_ADDRESS}:5555`,
        control: `tcp://${SERVE_ADDRESS}:5556`,
        record: `tcp://${SERVE_ADDRESS}:5557`,
        status: `tcp://${SERVE_ADDRESS}:5558`,
        // Analysis results stay on the serve host's loopback.
        results: 'tcp://127.0.0.1:5559',
        results_in: 'tcp://127.0.0.1:5560',
      },
      web: { host: '127.0.0.1', port: 8080 },
      storage: { data_dir: join(scratch.dir, 'serve-host-data') },
      saver: { mode: 'remote', remote_timeout_s: 10 },
      security: { server_public_key_file: keys.public_key_file, server_secret_key_file: keys.secret_key_file },
    };
    const configPath = join(scratch.dir, 'serve-host.yaml');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    serve = inNamespace(NS_SERVE, ['serve', '--config', configPath]);

    const key = ['--server-key', keys.public_key_file];
    let status: Finished | null = null;
    for (let i = 0; i < 150; i++) {
      status = await ctlFrom(NS_SAVE, [...key, '--json', '--timeout', '2', 'status']);
      if (status.code === 0) break;
      if (serve.child.exitCode !== null) break;
      await delay(200);
    }
    assert.equal(status?.code, 0, `serve answers from the other host: ${status?.stderr}\nserve: ${serve.output()}`);
    assert.equal((JSON.parse(status.stdout) as ExperimentStatus).state, 'idle');

    const withoutKey = await ctlFrom(NS_SAVE, ['--timeout', '3', 'status']);
    assert.equal(withoutKey.code, 1, 'without the server key nothing is answered');
    assert.match(withoutKey.stderr, /handshake .* failed/);

    const savedDir = join(scratch.dir, 'save-host-data');
    saver = inNamespace(NS_SAVE, ['save', '--connect', `tcp://${SERVE_ADDRESS}:5557`, '--out', savedDir, ...key, '--json']);
    for (let i = 0; i < 100 && !/waiting for runs/.test(saver.output()); i++) await delay(100);
    assert.match(saver.output(), /waiting for runs from tcp:\/\/10\.231\.0\.1:5557 \(CURVE\)/);

    const recorded = await ctlFrom(NS_SAVE, [...key, '--json', 'record', '--frames', String(FRAMES)]);
    assert.equal(recorded.code, 0, recorded.stderr);
    let last: ExperimentStatus['last_recording'] = null;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const now = await ctlFrom(NS_SAVE, [...key, '--json', 'status']);
      const parsed = JSON.parse(now.stdout) as ExperimentStatus;
      if (parsed.state === 'idle' && parsed.last_recording !== null) {
        last = parsed.last_recording;
        break;
      }
      await delay(200);
    }
    assert.ok(last !== null, 'the recording ended');
    assert.equal(last.error, null);
    assert.equal(last.frames_acquired, FRAMES);
    assert.equal(last.frames_written, FRAMES);
    assert.equal(last.frames_lost, 0);
    assert.equal(last.path, null, 'the remote saver names its files');
    assert.equal(last.saver, `remote saver on tcp://${SERVE_ADDRESS}:5557`);

    // Ctrl-C: the saver is idle between runs, so it just stops.
    for (let i = 0; i < 100 && !/"framesWritten"/.test(saver.output()); i++) await delay(100);
    saver.child.kill('SIGINT');
    const saved = await saver.finished;
    assert.equal(saved.code, 0, saved.stderr);
    const summary = JSON.parse(saved.stdout.trim().split('\n')[0]!) as {
      path: string;
      framesWritten: number;
      framesLost: number;
      endReason: string;
    };
    assert.equal(summary.path, join(savedDir, 'run_0001.h5'));
    assert.deepEqual([summary.framesWritten, summary.framesLost, summary.endReason], [FRAMES, 0, 'completed']);

    const file = await readFileCounts(summary.path);
    assert.equal(file.frames, FRAMES);
    assert.equal(file.valid, FRAMES);
    assert.equal(file.written, FRAMES);
    assert.equal(file.acquired, FRAMES);
    assert.equal(file.dropped, 0);
    assert.deepEqual(file.gaps, []);
    assert.equal(file.end_reason, 'completed');
    assertEveryFrameAccounted(file);
    assert.deepEqual(
      file.ids,
      Array.from({ length: FRAMES }, (_, i) => i),
    );
  });
});
