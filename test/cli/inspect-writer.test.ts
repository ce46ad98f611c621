import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { childProcessesOf, collect, runLabcast, scratchDir, startLabcast, waitForOutput } from '../helpers/processes.js';

/**
 * `labcast inspect` on an unfinished file tells a live writer (a recording
 * still going) from a dead one (its saver killed), from the writer's identity
 * stored in the file (docs/hdf5-layout.md, /entry@writer_process).
 */

interface Inspected {
  finished: boolean;
  writer: { state: string; pid?: number } | null;
  frameCount: number;
}

async function inspect(path: string): Promise<{ text: string; json: Inspected }> {
  const text = await runLabcast(['inspect', path]);
  assert.equal(text.code, 0, text.stderr);
  const json = await runLabcast(['inspect', path, '--json']);
  assert.equal(json.code, 0, json.stderr);
  return { text: text.stdout, json: JSON.parse(json.stdout) as Inspected };
}

const RECORD = ['record', '--fps', '50', '--width', '64', '--height', '48', '--publish', 'tcp://127.0.0.1:*'];

describe('inspect: being written or abandoned', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('a recording in progress is being written, by its saver', async () => {
    const out = join(scratch.dir, 'live.h5');
    const child = startLabcast([...RECORD, '--out', out]);
    const finished = collect(child);
    try {
      // Past the first one-second flush, so the file holds frames.
      await waitForOutput(child, /recording (\d+) frames .* ([\d.]+) s$/, (m) => Number(m[2]) >= 2);
      const [saver] = await childProcessesOf(child.pid!, 'labcast-saver');
      assert.ok(saver !== undefined, 'the saver runs');
      const { text, json } = await inspect(out);
      assert.equal(json.finished, false);
      assert.deepEqual(json.writer, { state: 'being-written', pid: saver });
      assert.match(text, new RegExp(`^status +BEING WRITTEN by process ${saver} \\(not finished yet\\)`, 'm'));
    } finally {
      child.kill('SIGINT');
      await finished;
    }
    const done = await inspect(out);
    assert.equal(done.json.finished, true);
    assert.equal(done.json.writer, null);
    assert.match(done.text, /^status +finished$/m);
  });

  test('a recording whose saver was killed (SIGKILL) is abandoned', async () => {
    const out = join(scratch.dir, 'killed.h5');
    const child = startLabcast([...RECORD, '--out', out]);
    const finished = collect(child);
    await waitForOutput(child, /recording (\d+) frames .* ([\d.]+) s$/, (m) => Number(m[2]) >= 2);
    const [saver] = await childProcessesOf(child.pid!, 'labcast-saver');
    assert.ok(saver !== undefined, 'the saver runs');
    process.kill(saver, 'SIGKILL');
    const result = await finished;
    assert.equal(result.code, 1, 'the recording failed');
    const { text, json } = await inspect(out);
    assert.equal(json.finished, false);
    assert.equal(json.writer?.state, 'abandoned');
    assert.equal(json.writer?.pid, saver);
    assert.ok(json.frameCount > 0, 'the flushed frames are there');
    assert.match(text, new RegExp(`^status +ABANDONED: not finished, and its writer is gone \\(process ${saver} is gone\\)`, 'm'));
  });
});
