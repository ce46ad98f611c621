import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Push } from 'zeromq';
import { LabcastChild } from '../../src/experiment/child-process.js';
import { encodeFrame, encodeRunEnd, encodeRunStart } from '../../src/protocol/codec.js';
import type { RunStart } from '../../src/protocol/messages.js';
import type { SaverCommand, SaverEvent } from '../../src/protocol/process-messages.js';
import { runPython, scratchDir } from '../helpers/processes.js';
import { testRunEnd, testRunStart } from '../helpers/run-messages.js';

const SAVER = new URL('../../src/saver/saver-process.js', import.meta.url);
const scratch = scratchDir();
after(() => scratch.cleanup());

const SHAPE = [6, 10];
const T0 = 1_800_000_000_000_000_000n;

function runStart(runId: string): RunStart {
  return testRunStart(runId, { shape: SHAPE, start_wall_ns: T0, camera: { driver: 'test', model: 'resident', settings: {} } });
}

async function sendRun(push: Push, runId: string, frames: number): Promise<void> {
  await push.send(encodeRunStart(runStart(runId)));
  for (let seq = 0; seq < frames; seq++) {
    const pixels = new Uint8Array(6 * 10 * 2).fill(seq + 1);
    await push.send(
      encodeFrame(
        { protocol: 1, run_id: runId, seq, camera_ts_ns: T0 + BigInt(seq), wall_ts_ns: T0, shape: SHAPE, dtype: 'uint16' },
        pixels,
      ),
    );
  }
  await push.send(encodeRunEnd(testRunEnd(runId, frames)));
}

const READ = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    print(json.dumps({"run_id": f["entry"].attrs["run_id"], "ids": f["entry/data/frame_id"][:].tolist(),
                      "pid": json.loads(f["entry"].attrs["writer_process"])["pid"]}))
`;

async function readFile(path: string): Promise<{ run_id: string; ids: number[]; pid: number }> {
  const read = await runPython(READ, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as { run_id: string; ids: number[]; pid: number };
}

function saveCommand(runId: string, outPath: string): SaverCommand {
  return { type: 'save', run: { runId, outPath, overwrite: false, flushIntervalMs: 1000 } };
}

test('a resident saver saves the runs it is handed, one after another, each to its own file, and passes over the others', async () => {
  const push = new Push({ linger: 2000 });
  await push.bind('tcp://127.0.0.1:*');
  const saver = LabcastChild.start<SaverCommand, SaverEvent>('saver', SAVER, { resident: true, endpoint: push.lastEndpoint! });
  try {
    await saver.waitFor('ready');
    // A run nobody handed it (another saver's, say) is already on its way when run A is handed over.
    await sendRun(push, 'run-x', 3);
    const closedA = saver.waitFor('file-closed');
    saver.send(saveCommand('run-a', join(scratch.dir, 'a.h5')));
    await sendRun(push, 'run-a', 4);
    const a = await closedA;
    assert.equal(a.error, null);
    assert.equal(a.summary.framesWritten, 4);
    assert.equal(a.end?.run_id, 'run-a');
    assert.equal(saver.hasExited, false, 'it waits for the next run');

    const closedB = saver.waitFor('file-closed');
    saver.send(saveCommand('run-b', join(scratch.dir, 'b.h5')));
    await sendRun(push, 'run-b', 2);
    const b = await closedB;
    assert.equal(b.error, null);
    assert.equal(b.summary.framesWritten, 2);

    const exited = saver.exited;
    saver.send({ type: 'shutdown' });
    assert.deepEqual(await exited, { code: 0, signal: null });
  } finally {
    saver.kill('SIGKILL');
    push.close();
  }
  assert.deepEqual(readdirSync(scratch.dir).sort(), ['a.h5', 'b.h5'], 'no file for the run it was not handed');
  const fileA = await readFile(join(scratch.dir, 'a.h5'));
  const fileB = await readFile(join(scratch.dir, 'b.h5'));
  assert.deepEqual(fileA, { run_id: 'run-a', ids: [0, 1, 2, 3], pid: saver.pid });
  assert.deepEqual(fileB, { run_id: 'run-b', ids: [0, 1], pid: saver.pid });
});

test('a resident saver whose run lost its end closes the file when the next run starts, whoever it belongs to', async () => {
  const push = new Push({ linger: 2000 });
  await push.bind('tcp://127.0.0.1:*');
  const saver = LabcastChild.start<SaverCommand, SaverEvent>('saver', SAVER, { resident: true, endpoint: push.lastEndpoint! });
  try {
    await saver.waitFor('ready');
    const closed = saver.waitFor('file-closed');
    saver.send(saveCommand('run-c', join(scratch.dir, 'c.h5')));
    await push.send(encodeRunStart(runStart('run-c')));
    await push.send(
      encodeFrame(
        { protocol: 1, run_id: 'run-c', seq: 0, camera_ts_ns: T0, wall_ts_ns: T0, shape: SHAPE, dtype: 'uint16' },
        new Uint8Array(120),
      ),
    );
    // run-c's end never comes (the acquisition side was restarted); another run starts.
    await push.send(encodeRunStart(runStart('run-d')));
    const c = await closed;
    assert.equal(c.error, null);
    assert.equal(c.end, null, 'its end never arrived');
    assert.equal(c.summary.framesWritten, 1);
  } finally {
    saver.kill('SIGKILL');
    push.close();
  }
  assert.deepEqual((await readFile(join(scratch.dir, 'c.h5'))).ids, [0]);
});
