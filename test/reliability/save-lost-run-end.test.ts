import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Push } from 'zeromq';
import { encodeFrame, encodeRunEnd, encodeRunStart } from '../../src/protocol/codec.js';
import type { RunStart } from '../../src/protocol/messages.js';
import { collect, runPython, scratchDir, startLabcast, waitForOutput } from '../helpers/processes.js';
import { testRunEnd, testRunStart } from '../helpers/run-messages.js';

const scratch = scratchDir();
after(() => scratch.cleanup());

const SHAPE = [6, 10];
const T0 = 1_800_000_000_000_000_000n;

function runStart(runId: string): RunStart {
  return testRunStart(runId, { shape: SHAPE, start_wall_ns: T0, camera: { driver: 'test', model: 'lost-end', settings: {} } });
}

function frame(runId: string, seq: number): ReturnType<typeof encodeFrame> {
  const pixels = new Uint8Array(6 * 10 * 2).fill(seq + 1);
  return encodeFrame(
    { protocol: 1, run_id: runId, seq, camera_ts_ns: T0 + BigInt(seq), wall_ts_ns: T0, shape: SHAPE, dtype: 'uint16' },
    pixels,
  );
}

const READ = `
import sys, json, h5py
out = []
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        out.append(f["entry/data/frame_id"][:].tolist())
print(json.dumps(out))
`;

test('labcast save: a run that starts before the previous run-end arrived is saved whole in its own file', async () => {
  const push = new Push({ linger: 2000 });
  await push.bind('tcp://127.0.0.1:*');
  const out = join(scratch.dir, 'runs');
  const saver = startLabcast(['save', '--connect', push.lastEndpoint!, '--out', out, '--json']);
  const finished = collect(saver);
  await waitForOutput(saver, /waiting for runs/);
  // PUSH holds each send until the saver has connected.

  // Run A loses its end (the acquisition side was restarted); B and C are whole.
  await push.send(encodeRunStart(runStart('run-a')));
  for (let seq = 0; seq < 3; seq++) await push.send(frame('run-a', seq));
  for (const [runId, frames] of [
    ['run-b', 5],
    ['run-c', 2],
  ] as const) {
    await push.send(encodeRunStart(runStart(runId)));
    for (let seq = 0; seq < frames; seq++) await push.send(frame(runId, seq));
    await push.send(encodeRunEnd(testRunEnd(runId, frames)));
  }
  // Three files, the last one closed: then stop the saver.
  await waitForOutput(saver, /"runId":"run-c"/);
  saver.kill('SIGTERM');
  const result = await finished;
  push.close();
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /were skipped/, 'no frame taken for a stray');

  const summaries = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { runId: string; framesWritten: number; path: string });
  assert.deepEqual(
    summaries.map((s) => [s.framesWritten, s.runId]),
    [
      [3, '(unknown: the run had not ended)'],
      [5, 'run-b'],
      [2, 'run-c'],
    ],
  );
  const files = readdirSync(out, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.h5'))
    .map((f) => join(out, f));
  assert.equal(files.length, 3);
  const read = await runPython(
    READ,
    summaries.map((s) => s.path),
  );
  assert.equal(read.code, 0, read.stderr);
  assert.deepEqual(JSON.parse(read.stdout), [
    [0, 1, 2],
    [0, 1, 2, 3, 4],
    [0, 1],
  ]);
});
