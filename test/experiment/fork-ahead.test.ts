import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { childEnvironment, discardForkedAhead, keepFreedMemoryTunables, LabcastChild } from '../../src/experiment/child-process.js';
import { HANDED_ON_CA_CERTS, SAVER_SCRIPT } from '../../src/experiment/process-scripts.js';
import { collect, runLabcast, scratchDir } from '../helpers/processes.js';
import { waitUntil } from '../helpers/poll.js';

const PARENT_CHANNEL_MODULE = new URL('../../src/transport/parent-channel.js', import.meta.url).href;
const CHILD_MODULE = new URL('../../src/experiment/child-process.js', import.meta.url).href;

const scratch = scratchDir();
after(() => scratch.cleanup());

/**
 * A child as labcast's are, but slow to load, and with a listener for
 * messages from the start (as a library it loads might add): an init sent
 * while it loads would reach that listener only, and be lost to readInit.
 */
const childScript = join(scratch.dir, 'child.mjs');
writeFileSync(
  childScript,
  `process.on('message', () => undefined);
   const { readInit } = await import(${JSON.stringify(PARENT_CHANNEL_MODULE)});
   await new Promise((resolve) => setTimeout(resolve, 300));
   const init = await readInit('fixture');
   process.send({ type: 'ready', init });
   process.disconnect();`,
);
const CHILD = pathToFileURL(childScript);

type ChildEvent = { type: 'ready'; init: unknown };

/** Exited: no such process, or a zombie nobody has reaped yet (an orphan's, where init does not reap). */
function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') === true;
  } catch {
    return true;
  }
}

/** `promise`, or a failure after `ms` rather than a test that hangs. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  const timeout = delay(ms, undefined, { ref: false }).then(() => {
    throw new Error(`no ${what} within ${ms} ms`);
  });
  return Promise.race([promise, timeout]);
}

test('a child forked ahead gets the init it was given while it was still loading', async () => {
  LabcastChild.forkAhead(CHILD, 'fixture');
  const child = LabcastChild.start<{ type: string }, ChildEvent>('fixture', CHILD, { camera: 'sim', frames: 1 });
  const ready = await within(10_000, 'ready', child.waitFor('ready'));
  assert.deepEqual(ready.init, { camera: 'sim', frames: 1 });
  assert.deepEqual(await child.exited, { code: 0, signal: null });
});

test('children forked ahead that no command takes are ended', async () => {
  const pid = LabcastChild.forkAhead(CHILD, 'fixture');
  assert.ok(pid !== undefined);
  discardForkedAhead();
  await waitUntil(
    'the child to be gone',
    async () => isGone(pid),
    (gone) => gone,
  );
  // The next start forks afresh, with its init.
  const child = LabcastChild.start<{ type: string }, ChildEvent>('fixture', CHILD, { again: true });
  assert.deepEqual((await within(10_000, 'ready', child.waitFor('ready'))).init, { again: true });
  await child.exited;
});

test('a child forked ahead whose supervisor exits before giving it an init exits too', async () => {
  const supervisor = join(scratch.dir, 'supervisor.mjs');
  writeFileSync(
    supervisor,
    `const { LabcastChild } = await import(${JSON.stringify(CHILD_MODULE)});
     process.stdout.write(String(LabcastChild.forkAhead(new URL(${JSON.stringify(CHILD.href)}), 'fixture')));
     process.exit(0);`,
  );
  const finished = await collect(spawn(process.execPath, [supervisor], { stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.equal(finished.code, 0, finished.stderr);
  const pid = Number(finished.stdout);
  assert.ok(pid > 0, finished.stdout);
  await waitUntil(
    'the orphan to exit',
    async () => isGone(pid),
    (gone) => gone,
  );
});

/** Live processes whose environment holds `marker` (children inherit it): zombies do not count. */
function processesMarked(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker) && !isGone(Number(entry))) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

test('labcast record and snap refusing their flags leave none of the processes they forked ahead behind', async () => {
  for (const args of [
    ['record', '--frames', '1', '--width', '100000', '--out', join(scratch.dir, 'refused.h5')],
    ['snap', '--camera', 'nosuch:thing', '--out', join(scratch.dir, 'refused.h5')],
  ]) {
    const marker = `LABCAST_TEST_MARK=${randomUUID()}`;
    const [name, value] = marker.split('=') as [string, string];
    const finished = await runLabcast(args, { [name]: value });
    assert.equal(finished.code, 2, finished.stderr);
    assert.match(finished.stderr, /--width|--camera/);
    assert.deepEqual(processesMarked(marker), [], `${args[0]}: no process of this command is left`);
  }
});

/** A child that reports the malloc tunables it was started with (read in the child: /proc/PID/environ may still be the parent's before exec). */
const tunablesScript = join(scratch.dir, 'tunables.mjs');
writeFileSync(
  tunablesScript,
  `const { readInit } = await import(${JSON.stringify(PARENT_CHANNEL_MODULE)});
   await readInit('fixture');
   process.send({ type: 'ready', init: process.env.GLIBC_TUNABLES ?? null });
   process.disconnect();`,
);

test("labcast's children run with malloc told to keep freed memory, after the user's own tunables", async () => {
  const child = LabcastChild.start<{ type: string }, ChildEvent>('fixture', pathToFileURL(tunablesScript), {});
  const ready = await within(10_000, 'ready', child.waitFor('ready'));
  assert.equal(ready.init, keepFreedMemoryTunables(undefined));
  assert.match(String(ready.init), /glibc\.malloc\.mmap_threshold=33554432/);
  await child.exited;
  // A user's own setting stays, and wins where both set the same tunable (glibc takes the last).
  assert.equal(
    keepFreedMemoryTunables('glibc.malloc.trim_threshold=1'),
    'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456:glibc.malloc.trim_threshold=1',
  );
});

test('labcast record starts its acquisition and saver without NODE_EXTRA_CA_CERTS, which only the parent reads', async () => {
  // Node reads the file at every process start and warns when it cannot: one
  // warning is the parent's; the children, which make no TLS connection, skip it.
  const missing = join(scratch.dir, 'no-such-bundle.pem');
  const finished = await runLabcast(
    ['record', '--frames', '1', '--width', '64', '--height', '48', '--out', join(scratch.dir, 'certs.h5'), '--json'],
    { NODE_EXTRA_CA_CERTS: missing },
  );
  assert.equal(finished.code, 0, finished.stderr);
  const warnings = finished.stderr.split('\n').filter((line) => line.includes('Ignoring extra certs'));
  assert.equal(warnings.length, 1, finished.stderr);
  assert.doesNotMatch(warnings[0]!, /\[(saver|acquisition)\]/);
});

/** The `labcast` command as npm installs it (package.json "bin"), two levels above dist/test. */
const LABCAST_COMMAND = fileURLToPath(new URL('../../../bin/labcast', import.meta.url));

test('the labcast command starts the CLI without NODE_EXTRA_CA_CERTS too: no process of a recording parses it', async () => {
  const missing = join(scratch.dir, 'no-such-bundle.pem');
  // Through a symlink, as npm links it into node_modules/.bin.
  const linked = join(scratch.dir, 'labcast');
  symlinkSync(LABCAST_COMMAND, linked);
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: missing };
  const out = join(scratch.dir, 'command.h5');
  const finished = await collect(
    spawn(linked, ['record', '--frames', '1', '--width', '64', '--height', '48', '--out', out, '--json'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  assert.equal(finished.code, 0, finished.stderr);
  assert.equal((JSON.parse(finished.stdout) as { framesWritten: number }).framesWritten, 1);
  assert.doesNotMatch(finished.stderr, /Ignoring extra certs/);
  // Arguments and exit codes pass through unchanged.
  const unknown = await collect(spawn(linked, ['recrod'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "recrod" \(did you mean "record"\?\)/);
});

test('a child that may load TLS-using code gets back the bundle the labcast command put aside; acquisition and saver do not', () => {
  const saved = { handed: process.env[HANDED_ON_CA_CERTS], own: process.env.NODE_EXTRA_CA_CERTS };
  process.env[HANDED_ON_CA_CERTS] = '/etc/ssl/lab-proxy.pem';
  delete process.env.NODE_EXTRA_CA_CERTS;
  try {
    const analysis = new URL('../../src/analysis/analysis-process.js', import.meta.url);
    assert.equal(childEnvironment(analysis).NODE_EXTRA_CA_CERTS, '/etc/ssl/lab-proxy.pem');
    assert.equal(childEnvironment(SAVER_SCRIPT).NODE_EXTRA_CA_CERTS, undefined);
    // One the user set for labcast's own Node is theirs, and stays.
    process.env.NODE_EXTRA_CA_CERTS = '/etc/ssl/own.pem';
    assert.equal(childEnvironment(analysis).NODE_EXTRA_CA_CERTS, '/etc/ssl/own.pem');
  } finally {
    for (const [name, value] of [
      [HANDED_ON_CA_CERTS, saved.handed],
      ['NODE_EXTRA_CA_CERTS', saved.own],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});
