import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus, RecordingInfo } from '../../src/protocol/control.js';
import { childProcessesOf, runPython } from '../helpers/processes.js';
import { serveForSuite, type RunningServe } from '../helpers/serve.js';

/** What a recording's file says of itself: its frames, its run (run-start metadata) and the process that wrote it. */
const READ_FILE = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    entry = f["entry"]
    acq = entry["acquisition"]
    print(json.dumps({
        "frames": entry["data/frames"].shape[0],
        "shape": list(entry["data/frames"].shape[1:]),
        "ids": entry["data/frame_id"][:].tolist(),
        "run_id": entry.attrs["run_id"],
        "start_time_ns": int(entry.attrs["start_time_ns"]),
        "frames_requested": int(acq["frames_requested"][()]) if "frames_requested" in acq else None,
        "end_reason": acq["end_reason"].asstr()[()] if "end_reason" in acq else None,
        "writer_pid": json.loads(entry.attrs["writer_process"])["pid"],
    }))
`;

interface FileFacts {
  frames: number;
  shape: number[];
  ids: number[];
  run_id: string;
  start_time_ns: number;
  frames_requested: number | null;
  end_reason: string | null;
  writer_pid: number;
}

async function readFile(path: string): Promise<FileFacts> {
  const read = await runPython(READ_FILE, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as FileFacts;
}

const contiguous = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The saver status lists (the resident one while idle), or null. */
function saverPid(status: ExperimentStatus): number | null {
  return status.processes.find((p) => p.role === 'saver')?.pid ?? null;
}

async function snap(serve: RunningServe): Promise<RecordingInfo> {
  const reply = await serve.ctl(['snap']);
  assert.equal(reply.code, 0, reply.stderr);
  const info = reply.result as RecordingInfo;
  assert.equal(info.error, null);
  assert.equal(info.frames_written, 1);
  return info;
}

describe('serve keeps a resident saver', () => {
  // 512x512 uint16 frames (512 KiB) cross through the shared-memory ring.
  const suite = serveForSuite({ width: 512, height: 512, dtype: 'uint16', fps: 50 });

  test('it is started with serve, before any request, and takes every recording: each its own complete file', async () => {
    const serve = suite.serve();
    // startServe only asked for status: no recording has been requested yet.
    const before = await serve.waitFor((s) => saverPid(s) !== null);
    assert.equal(before.state, 'idle');
    assert.equal(before.last_recording, null, 'nothing recorded yet');
    const resident = saverPid(before)!;
    assert.ok(
      (await childProcessesOf(serve.child.pid!, 'labcast-saver')).includes(resident),
      `pid ${resident} is a saver process of this serve`,
    );

    const first = await snap(serve);
    const second = await snap(serve);
    // A snap from live view: the stream is live again afterwards.
    assert.equal((await serve.ctl(['live'])).code, 0);
    const third = await snap(serve);
    assert.equal((await serve.statusNow()).state, 'live');
    assert.equal((await serve.ctl(['stop'])).code, 0);

    const started = await serve.ctl(['record', '--frames', '100']);
    assert.equal(started.code, 0, started.stderr);
    const runId = (started.result as ExperimentStatus).run_id;
    const during = await serve.waitFor((s) => s.state === 'recording' && s.frames.saved > 5);
    assert.equal(saverPid(during), resident, 'the recording is saved by the resident saver');
    const done = await serve.waitFor((s) => s.state === 'idle' && s.last_recording?.run_id === runId, 30_000);
    const recorded = done.last_recording!;
    assert.equal(recorded.error, null);
    assert.equal(recorded.frames_written, 100);
    assert.equal(saverPid(done), resident, 'still the same saver, idle again');

    const infos = [first, second, third, recorded];
    assert.equal(new Set(infos.map((info) => info.path)).size, 4, 'every recording gets its own file');
    const files = await Promise.all(infos.map((info) => readFile(info.path!)));
    for (const [i, file] of files.entries()) {
      const info = infos[i]!;
      assert.equal(file.writer_pid, resident, `${info.path} was written by the resident saver`);
      assert.equal(file.run_id, info.run_id, 'each file has its own run-start');
      assert.equal(file.end_reason, 'completed');
      assert.equal(file.frames, info.frames_written);
      assert.deepEqual(file.ids, contiguous(info.frames_written));
      assert.deepEqual(file.shape, [512, 512]);
    }
    assert.deepEqual(
      files.map((file) => file.frames_requested),
      [1, 1, 1, 100],
    );
    const starts = files.map((file) => file.start_time_ns);
    assert.deepEqual(
      [...starts].sort((a, b) => a - b),
      starts,
      'start times in order: each file its own run-start',
    );
  });

  test('a killed idle saver is replaced at once: serve stays idle, and the next snap is saved by the new one', async () => {
    const serve = suite.serve();
    const killed = saverPid(await serve.waitFor((s) => saverPid(s) !== null))!;
    process.kill(killed, 'SIGKILL');
    const after = await serve.waitFor((s) => saverPid(s) !== null && saverPid(s) !== killed);
    assert.equal(after.state, 'idle', 'an idle saver dying is no failure of the experiment');
    assert.equal(after.error, null);
    const replacement = saverPid(after)!;

    const info = await snap(serve);
    const file = await readFile(info.path!);
    assert.equal(file.frames, 1);
    assert.equal(file.writer_pid, replacement);
    assert.equal(file.run_id, info.run_id);
  });

  test('a saver killed mid-recording is reported; a new one is ready, and after reset it takes the next recording', async () => {
    const serve = suite.serve();
    assert.equal((await serve.ctl(['record'])).code, 0);
    const recording = await serve.waitFor((s) => s.state === 'recording' && s.frames.saved > 10);
    const killed = saverPid(recording)!;
    process.kill(killed, 'SIGKILL');
    const failed = await serve.waitFor((s) => s.state === 'error' && saverPid(s) !== null && saverPid(s) !== killed);
    assert.match(failed.error ?? '', /saver/);
    const lost = failed.last_recording!;
    assert.ok(lost.error !== null, 'the recording says its saver died');
    const kept = await readFile(lost.path!);
    assert.equal(kept.frames, lost.frames_written, 'status reports what the file really holds');
    assert.equal(kept.writer_pid, killed);

    assert.equal((await serve.ctl(['reset'])).code, 0);
    const replacement = saverPid(failed)!;
    const info = await snap(serve);
    const file = await readFile(info.path!);
    assert.equal(file.frames, 1);
    assert.equal(file.writer_pid, replacement);
  });
});
