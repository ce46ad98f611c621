import { existsSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus, ProcessInfo, RecordingInfo } from '../../src/protocol/control.js';
import { delay, processesMatching, runLabcast, runPython } from '../helpers/processes.js';
import { serveForSuite } from '../helpers/serve.js';

const READ_FILE = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    print(json.dumps({
        "frames": f["entry/data/frames"].shape[0],
        "ids": f["entry/data/frame_id"][:].tolist(),
        "dropped": int(f["entry/acquisition/frames_dropped"][()]) if "frames_dropped" in f["entry/acquisition"] else None,
    }))
`;

async function readFile(path: string): Promise<{ frames: number; ids: number[]; dropped: number | null }> {
  const read = await runPython(READ_FILE, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as { frames: number; ids: number[]; dropped: number | null };
}

const contiguous = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('labcast serve driven through labcast ctl', () => {
  const suite = serveForSuite();

  test('live → save on → save off → record N → stop: every file complete, counts match', async () => {
    let reply = await suite.serve().ctl(['live']);
    assert.equal(reply.code, 0, reply.stderr);
    await suite.serve().waitFor((s) => s.state === 'live' && s.frames.acquired > 20);

    reply = await suite.serve().ctl(['save', 'on']);
    assert.equal(reply.code, 0, reply.stderr);
    const saving = reply.result as ExperimentStatus;
    assert.equal(saving.state, 'recording');
    assert.ok(saving.file !== null && saving.file.startsWith(suite.serve().dataDir), `file ${saving.file} is in the data dir`);
    const childPids = (await suite.serve().statusNow()).processes.map((p) => p.pid!).filter(Boolean);
    assert.equal(childPids.length, 2, 'acquisition and saver');
    const subscribers = (await suite.serve().ctl(['subscribers'])).result as ProcessInfo[];
    assert.deepEqual(
      subscribers.map((p) => p.role),
      ['saver'],
      'subscribers: the saver, not the acquisition',
    );
    await suite.serve().waitFor((s) => s.frames.saved > 30);

    reply = await suite.serve().ctl(['save', 'off']);
    assert.equal(reply.code, 0, reply.stderr);
    let status = reply.result as ExperimentStatus;
    assert.equal(status.state, 'live', 'save off keeps the stream live');
    const saved = status.last_recording!;
    assert.equal(saved.error, null);
    assert.equal(saved.frames_lost, 0);
    let file = await readFile(saved.path!);
    assert.equal(file.frames, saved.frames_written);
    assert.deepEqual(file.ids, contiguous(saved.frames_written));

    reply = await suite.serve().ctl(['record', '--frames', '50']);
    assert.equal(reply.code, 0, reply.stderr);
    status = await suite.serve().waitFor((s) => s.state === 'live' && s.last_recording?.frames_written === 50);
    file = await readFile(status.last_recording!.path!);
    assert.equal(file.frames, 50);

    reply = await suite.serve().ctl(['stop']);
    assert.equal((reply.result as ExperimentStatus).state, 'idle');
  });

  test('stop in the middle of a recording drains it: status and file agree exactly', async () => {
    await suite.serve().ctl(['record']);
    await suite.serve().waitFor((s) => s.state === 'recording' && s.frames.saved > 40);
    const started = Date.now();
    const reply = await suite.serve().ctl(['stop']);
    assert.equal(reply.code, 0, reply.stderr);
    const status = reply.result as ExperimentStatus;
    assert.equal(status.state, 'idle');
    assert.ok(Date.now() - started < 5000, 'stop answers promptly');
    const last = status.last_recording as RecordingInfo;
    assert.equal(last.end_reason, 'stopped');
    assert.equal(last.frames_written, last.frames_acquired);
    const file = await readFile(last.path!);
    assert.equal(file.frames, last.frames_written);
    assert.equal(file.dropped, 0);
    assert.deepEqual(file.ids, contiguous(last.frames_written));
  });

  test('snap writes one frame to the named file inside the data directory', async () => {
    const reply = await suite.serve().ctl(['snap', '--out', 'snap.h5']);
    assert.equal(reply.code, 0, reply.stderr);
    const info = reply.result as RecordingInfo;
    assert.equal(info.path, join(suite.serve().dataDir, 'snap.h5'));
    assert.equal((await readFile(info.path)).frames, 1);
    const escape = await suite.serve().ctl(['snap', '--out', '../outside.h5']);
    assert.equal(escape.code, 2);
    assert.match(escape.stderr, /outside\.h5/);
    assert.equal(existsSync(join(suite.dir, 'outside.h5')), false);
  });

  test('settings round-trip; out-of-range and unknown values are refused with the range, state unchanged', async () => {
    let reply = await suite.serve().ctl(['set', 'exposure_ms', '20']);
    assert.equal(reply.code, 0, reply.stderr);
    reply = await suite.serve().ctl(['get', 'exposure_ms']);
    assert.equal((reply.result as { value: number }).value, 20);
    reply = await suite.serve().ctl(['set', 'exposure_ms', '1e9']);
    assert.equal(reply.code, 2);
    assert.match(reply.stderr, /exposure_ms/);
    assert.match(reply.stderr, /0\.01/);
    reply = await suite.serve().ctl(['set', 'shutter_speed', '3']);
    assert.equal(reply.code, 2);
    assert.match(reply.stderr, /shutter_speed.*exposure_ms/s);
    await suite.serve().ctl(['live']);
    reply = await suite.serve().ctl(['set', 'roi_width', '64']);
    assert.equal(reply.code, 2, 'the ROI cannot change while frames flow');
    assert.match(reply.stderr, /roi_width/);
    const status = await suite.serve().statusNow();
    assert.equal(status.state, 'live');
    assert.equal(status.camera?.settings.exposure_ms, 20);
    await suite.serve().ctl(['stop']);
  });

  test('a saver killed mid-recording is reported, what it saved is kept, and reset makes the next recording work', async () => {
    await suite.serve().ctl(['record']);
    await suite.serve().waitFor((s) => s.state === 'recording' && s.frames.saved > 30);
    const processes = (await suite.serve().ctl(['subscribers'])).result as ProcessInfo[];
    const saver = processes.find((p) => p.role === 'saver');
    assert.ok(saver?.pid, 'the saver is listed with its pid');
    process.kill(saver.pid, 'SIGKILL');
    const failed = await suite.serve().waitFor((s) => s.state === 'error');
    assert.match(failed.error ?? '', /saver/);
    const lost = failed.last_recording!;
    assert.ok(lost.error !== null);
    const file = await readFile(lost.path!);
    assert.equal(file.frames, lost.frames_written, 'status reports what the file really holds');

    const refused = await suite.serve().ctl(['record', '--frames', '5']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /reset/);
    assert.equal((await suite.serve().ctl(['reset'])).code, 0);
    await suite.serve().ctl(['record', '--frames', '20']);
    const done = await suite.serve().waitFor((s) => s.state === 'idle' && s.last_recording?.frames_written === 20);
    assert.equal(done.last_recording!.error, null);
  });

  test('a second serve on the same ports is refused with "in use"', async () => {
    const { writeFileSync } = await import('node:fs');
    const config = join(suite.dir, 'second.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        endpoints: { control: suite.serve().control, data: 'tcp://127.0.0.1:*', record: 'tcp://127.0.0.1:*', status: 'tcp://127.0.0.1:*' },
      }),
    );
    const second = await runLabcast(['serve', '--config', config]);
    assert.equal(second.code, 2);
    assert.match(second.stderr, /in use/);
  });
});

describe('labcast serve on SIGTERM', () => {
  const suite = serveForSuite();

  test('SIGTERM during a recording stops serve cleanly and leaves no child process', async () => {
    const serve = suite.serve();
    assert.equal((await serve.ctl(['live'])).code, 0);
    assert.equal((await serve.ctl(['save', 'on'])).code, 0);
    await serve.waitFor((s) => s.state === 'recording' && s.frames.saved > 5);
    // Its own serve's children, so the test never passes on pids it did not collect.
    // status lists every process (subscribers lists the saver alone).
    const childPids = (await serve.statusNow()).processes.map((p) => p.pid!).filter(Boolean);
    assert.equal(childPids.length, 2, 'acquisition and saver');
    serve.child.kill('SIGTERM');
    const ended = await serve.finished;
    assert.equal(ended.code, 0, ended.stderr);
    await delay(200);
    for (const pid of childPids) assert.throws(() => process.kill(pid, 0), `process ${pid} is gone`);
    assert.deepEqual(await processesHere('labcast-acquisition'), []);
    assert.deepEqual(await processesHere('labcast-saver'), []);
  });
});

/** Live processes with `title` started from this checkout (other checkouts on the machine may run their own). */
async function processesHere(title: string): Promise<number[]> {
  const here = (pid: number): boolean => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === process.cwd();
    } catch {
      return false; // it ended while we looked
    }
  };
  return (await processesMatching(title)).filter(here);
}

describe('labcast serve when the acquisition process dies', () => {
  const suite = serveForSuite();

  test('the controller enters error, the recording file is closed and valid, and reset starts a new acquisition', async () => {
    const serve = suite.serve();
    await serve.ctl(['record']);
    await serve.waitFor((s) => s.state === 'recording' && s.frames.saved > 30);
    const acquisition = (await serve.statusNow()).processes.find((p) => p.role === 'acquisition');
    assert.ok(acquisition?.pid);
    process.kill(acquisition.pid, 'SIGKILL');
    const failed = await serve.waitFor((s) => s.state === 'error' && s.last_recording !== null);
    assert.match(failed.error ?? '', /acquisition process was killed by SIGKILL/);
    const file = await readFile(failed.last_recording!.path!);
    assert.equal(file.frames, failed.last_recording!.frames_written);
    assert.ok(file.frames > 0);
    assert.deepEqual(file.ids, contiguous(file.frames));

    const reset = await serve.ctl(['reset']);
    assert.equal(reset.code, 0, reset.stderr);
    const fresh = (reset.result as ExperimentStatus).processes.find((p) => p.role === 'acquisition');
    assert.ok(fresh?.pid && fresh.pid !== acquisition.pid, 'a new acquisition process');
    await serve.ctl(['live']);
    const live = await serve.waitFor((s) => s.state === 'live' && s.frames.published > 10);
    assert.equal(live.frames.live_skipped + live.frames.published <= live.frames.acquired, true);
    await serve.ctl(['stop']);
  });
});
