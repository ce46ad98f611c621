import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, delay, scratchDir, startLabcast, waitForOutput } from '../helpers/processes.js';
import { freeServePorts } from '../helpers/serve.js';
import { SAME_PRESS_MS } from '../../src/cli/interrupts.js';

/**
 * Ctrl-C in a terminal sends SIGINT to the whole foreground process group:
 * npx, the shell npx runs the command in, labcast and its children. A clean
 * stop by the user is exit 0 (README: exit codes) for `labcast record` and
 * `labcast serve`, also run as the README shows them, through `npx labcast`.
 */

const CLONE = fileURLToPath(new URL('../../../', import.meta.url));

/** `npx labcast ARGS` in the clone, in a process group of its own as a terminal's foreground job. */
function npxLabcast(args: string[]): ChildProcess {
  return spawn('npx', ['labcast', ...args], { cwd: CLONE, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What the terminal does on Ctrl-C. */
function ctrlC(child: ChildProcess): void {
  process.kill(-child.pid!, 'SIGINT');
}

describe('Ctrl-C is a clean stop: exit 0', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('npx labcast record: drained, summary printed, exit 0', async () => {
    const out = join(scratch.dir, 'stopped.h5');
    const child = npxLabcast(['record', '--fps', '50', '--width', '64', '--height', '48', '--out', out, '--publish', 'tcp://127.0.0.1:*']);
    const finished = collect(child);
    await waitForOutput(child, /recording (\d+) frames/, (m) => Number(m[1]) >= 10, 120_000);
    ctrlC(child);
    const result = await finished;
    assert.equal(result.signal, null, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Recorded .*stopped\.h5$/m);
    assert.match(result.stdout, /\(stopped\)/);
  });

  test('npx labcast serve: stopped, exit 0', async () => {
    const { endpoints, webPort } = await freeServePorts();
    const config = join(scratch.dir, 'lab.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        camera: { driver: 'sim', width: 64, height: 48, fps: 50 },
        endpoints,
        web: { host: '127.0.0.1', port: webPort },
        storage: { data_dir: join(scratch.dir, 'data') },
      }),
    );
    const child = npxLabcast(['serve', '--config', config]);
    const finished = collect(child);
    await waitForOutput(child, /Ctrl-C stops everything cleanly/, () => true, 120_000);
    ctrlC(child);
    const result = await finished;
    assert.equal(result.signal, null, result.stderr);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /labcast serve: stopped/);
  });

  test('one press delivered twice is one Ctrl-C; a second press later abandons the drain', async () => {
    const out = join(scratch.dir, 'slow.h5');
    // A slow saver, so that the drain is still going when the second press comes.
    const child = startLabcast(
      ['record', '--fps', '200', '--width', '64', '--height', '48', '--out', out, '--publish', 'tcp://127.0.0.1:*'],
      { LABCAST_TEST_SAVER_DELAY_MS: '40' },
    );
    const finished = collect(child);
    await waitForOutput(child, /recording (\d+) frames/, (m) => Number(m[1]) >= 5);
    await delay(1000);
    child.kill('SIGINT');
    child.kill('SIGINT');
    await waitForOutput(child, /stopping: draining/);
    await delay(SAME_PRESS_MS + 300);
    assert.equal(child.exitCode, null, 'still draining');
    child.kill('SIGINT');
    const result = await finished;
    assert.equal((result.stderr.match(/stopping: draining/g) ?? []).length, 1);
    assert.equal((result.stderr.match(/abandoning the drain/g) ?? []).length, 1, result.stderr);
    assert.equal(result.code, 1, 'an abandoned drain is a failed recording (README: exit codes)');
  });
});
