import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus, WaitResult } from '../../src/protocol/control.js';
import { ControlClient } from '../../src/transport/control-client.js';
import { collect, runLabcast, scratchDir, startLabcast, waitForOutput } from '../helpers/processes.js';
import { serveForSuite, startServe, type RunningServe } from '../helpers/serve.js';

/**
 * Waiting for a recording of labcast serve: `ctl record --wait` (progress,
 * summary, the exit codes of `labcast record`), `ctl wait`, and the control
 * API's `wait`, which must not hold up other clients while it is pending.
 */
describe('waiting for a recording of labcast serve', () => {
  const suite = serveForSuite();

  test('ctl record --wait returns when the recording has ended, with its summary, exit 0, serve back to idle', async () => {
    const ran = await runLabcast(['ctl', '--control', suite.serve().control, 'record', '--frames', '40', '--out', 'waited.h5', '--wait']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /Recorded .*waited\.h5/);
    assert.match(ran.stdout, /frames written\s+40 of 40 acquired/);
    assert.match(ran.stdout, /frames dropped\s+0/);
    assert.match(ran.stdout, /serve now\s+idle/);
    assert.match(ran.stderr, /recording .*40\/40 frames/, 'the progress goes to stderr');
    assert.ok(existsSync(join(suite.serve().dataDir, 'waited.h5')));
    assert.equal((await suite.serve().statusNow()).state, 'idle');
  });

  test('from live, ctl record --wait --json reports the recording and the state after it: live again', async () => {
    assert.equal((await suite.serve().ctl(['live'])).code, 0);
    try {
      const reply = await suite.serve().ctl(['record', '--frames', '25', '--wait']);
      assert.equal(reply.code, 0, reply.stderr);
      const waited = reply.result as WaitResult;
      assert.equal(waited.ended, true);
      assert.equal(waited.recording!.frames_written, 25);
      assert.equal(waited.recording!.error, null);
      assert.equal(waited.status.state, 'live', 'a recording started from live goes back to live, not idle');
    } finally {
      await suite.serve().ctl(['stop']);
    }
  });

  test('a pending wait answers ended:false after timeout_s, holds up no other client, and answers once stop ends the run', async () => {
    const started = await suite.serve().ctl(['record']);
    assert.equal(started.code, 0, started.stderr);
    const runId = (started.result as ExperimentStatus).run_id!;
    const waiter = ControlClient.connect(suite.serve().control, { timeoutMs: 30_000 });
    const other = ControlClient.connect(suite.serve().control, { timeoutMs: 30_000 });
    try {
      const pending = waiter.request({ cmd: 'wait', run_id: runId, timeout_s: 20 });
      let settled = false;
      void pending.then(() => (settled = true));
      // Another client's requests are answered while the wait is pending.
      const status = (await other.request({ cmd: 'status' })) as ExperimentStatus;
      assert.equal(status.state, 'recording');
      assert.equal(settled, false, 'the wait is still pending while the run records');
      const short = (await other.request({ cmd: 'wait', run_id: runId, timeout_s: 0.2 })) as WaitResult;
      assert.equal(short.ended, false);
      assert.equal(short.recording, null);
      assert.equal(short.status.state, 'recording');

      const stopped = (await other.request({ cmd: 'stop' })) as ExperimentStatus;
      const waited = (await pending) as WaitResult;
      assert.equal(waited.ended, true);
      assert.equal(waited.recording!.run_id, runId);
      assert.equal(waited.recording!.end_reason, 'stopped');
      assert.equal(waited.recording!.frames_written, stopped.last_recording!.frames_written);
      assert.equal(waited.status.state, 'idle');
      // An ended run can still be asked about: the answer comes at once.
      const again = (await other.request({ cmd: 'wait', run_id: runId })) as WaitResult;
      assert.equal(again.ended, true);
      assert.deepEqual(again.recording, waited.recording);
    } finally {
      waiter.close();
      other.close();
    }
  });

  test('at most 64 waits pend at once, so the server always has room for other requests', async () => {
    const started = await suite.serve().ctl(['record']);
    assert.equal(started.code, 0, started.stderr);
    const runId = (started.result as ExperimentStatus).run_id!;
    const clients = Array.from({ length: 65 }, () => ControlClient.connect(suite.serve().control, { timeoutMs: 30_000 }));
    const other = ControlClient.connect(suite.serve().control, { timeoutMs: 30_000 });
    try {
      // 65 at once: whichever arrives last is refused at once; the other 64 pend.
      const settled = clients.map((client) =>
        client.request({ cmd: 'wait', run_id: runId, timeout_s: 25 }).then(
          (result) => ({ result: result as WaitResult, error: null }),
          (error: Error & { code?: string }) => ({ result: null, error }),
        ),
      );
      const refused = await Promise.race(settled);
      assert.equal(refused.error?.code, 'CAMERA_STATE', `the first answer is a refusal: ${JSON.stringify(refused)}`);
      assert.match(refused.error.message, /64 waits are pending already/);
      assert.equal(((await other.request({ cmd: 'status' })) as ExperimentStatus).state, 'recording', 'other requests are answered');
      await other.request({ cmd: 'stop' });
      const answers = await Promise.all(settled);
      assert.equal(answers.filter((answer) => answer.error !== null).length, 1);
      assert.ok(answers.every((answer) => answer.error !== null || (answer.result.ended && answer.result.recording!.run_id === runId)));
    } finally {
      await other.request({ cmd: 'stop' }).catch(() => undefined);
      for (const client of clients) client.close();
      other.close();
    }
  });

  test('ctl wait prints the last recording; an unknown run id is refused with exit 2', async () => {
    const ran = await runLabcast(['ctl', '--control', suite.serve().control, 'wait']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /\(stopped\)/);
    const unknown = await runLabcast(['ctl', '--control', suite.serve().control, 'wait', 'no-such-run']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /run "no-such-run" is not a recent recording/);
  });

  test('Ctrl-C during ctl wait stops waiting and leaves the recording running', async () => {
    const started = await suite.serve().ctl(['record']);
    assert.equal(started.code, 0, started.stderr);
    try {
      const child = startLabcast(['ctl', '--control', suite.serve().control, 'wait']);
      const finished = collect(child);
      await waitForOutput(child, /recording \d+ frames/);
      child.kill('SIGINT');
      const ran = await finished;
      assert.equal(ran.code, 1, ran.stderr);
      assert.match(ran.stderr, /stopped waiting; labcast serve carries on/);
      assert.equal((await suite.serve().statusNow()).state, 'recording');
    } finally {
      await suite.serve().ctl(['stop']);
    }
  });

  test('Ctrl-C during ctl record --wait stops the recording, which is drained and summarised', async () => {
    const child = startLabcast(['ctl', '--control', suite.serve().control, 'record', '--wait']);
    const finished = collect(child);
    await waitForOutput(child, /recording (\d+) frames/, (match) => Number(match[1]) > 10);
    child.kill('SIGINT');
    const ran = await finished;
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stderr, /stopping: the recording is drained and closed/);
    assert.match(ran.stdout, /\(stopped\)/);
    const written = Number(/frames written\s+(\d+) of (\d+)/.exec(ran.stdout)![1]);
    const status = await suite.serve().statusNow();
    assert.equal(status.state, 'idle');
    assert.equal(status.last_recording!.frames_written, written);
  });
});

describe('ctl record --wait when frames are lost', () => {
  const scratch = scratchDir();
  let serve: RunningServe;

  before(async () => {
    // A saver held to 20 frames/s, against a camera at 100 fps: the frames of
    // 512 KiB fill the shared-memory ring (~64 of them) and the 0.5 MB buffer.
    serve = await startServe(
      scratch.dir,
      { fps: 100, width: 512, height: 512, dtype: 'uint16' },
      { saver: { buffer_mb: 0.5 } },
      { env: { LABCAST_TEST_SAVER_DELAY_MS: '50' } },
    );
  });
  after(async () => {
    await serve.stop();
    scratch.cleanup();
  });

  test('exits 3, as labcast record does, and the summary lists the missing frames', async () => {
    const ran = await runLabcast(['ctl', '--control', serve.control, 'record', '--frames', '200', '--wait']);
    assert.equal(ran.code, 3, ran.stderr);
    assert.match(ran.stdout, /frames written\s+\d+ of 200 acquired/);
    assert.match(ran.stdout, /frames dropped\s+[1-9]\d*\s+\(missing frame ids: /);
  });
});
