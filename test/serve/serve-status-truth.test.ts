import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { collect, delay, runLabcast, runPython, startLabcast } from '../helpers/processes.js';
import { serveForSuite } from '../helpers/serve.js';

/** Asks a serve for its status as fast as it answers, for `seconds`; prints one JSON status per line. */
const POLL_STATUS = `
import json, sys, time, zmq
ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.setsockopt(zmq.RCVTIMEO, 5000)
req.connect(sys.argv[1])
end = time.monotonic() + float(sys.argv[2])
try:
    while time.monotonic() < end:
        req.send_string(json.dumps({"cmd": "status"}))
        reply = json.loads(req.recv())
        print(json.dumps(reply["result"]))
        time.sleep(0.005)
finally:
    req.close(linger=0)
    ctx.term()
`;

async function pollStatus(control: string, seconds: number): Promise<ExperimentStatus[]> {
  const ran = await runPython(POLL_STATUS, [control, String(seconds)]);
  assert.equal(ran.code, 0, ran.stderr);
  return ran.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ExperimentStatus);
}

describe('the status tells the truth: no rate while idle, counters consistent at every moment, a run’s progress', () => {
  const suite = serveForSuite({ width: 64, height: 48, fps: 200 });

  test('after stop, `ctl status` and the status `ctl watch` is left with say 0 fps at once', async () => {
    const serve = suite.serve();
    const watch = startLabcast(['ctl', '--control', serve.control, '--status', serve.status, 'watch', '--json']);
    const finished = collect(watch);
    let stdout = '';
    watch.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const statuses = (): ExperimentStatus[] =>
      stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ExperimentStatus);
    try {
      const deadline = Date.now() + 10_000;
      while (statuses().length === 0 && Date.now() < deadline) await delay(50);
      assert.equal((await serve.ctl(['live'])).code, 0);
      await serve.waitFor((s) => s.state === 'live' && s.fps > 50);
      // The watcher has seen frames flow at a rate.
      while (!statuses().some((s) => s.state === 'live' && s.fps > 50) && Date.now() < deadline) await delay(50);
      const stopped = await serve.ctl(['stop']);
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.equal((stopped.result as ExperimentStatus).fps, 0, 'the stop reply');
      const now = await serve.statusNow();
      assert.equal(now.state, 'idle');
      assert.equal(now.fps, 0, 'status right after stop');
      assert.equal(now.mb_per_s, 0);
      // The last status the watcher got is the idle one, without a rate, and nothing follows it.
      while (statuses().at(-1)?.state !== 'idle' && Date.now() < deadline) await delay(50);
      await delay(1200);
      const last = statuses().at(-1)!;
      assert.equal(last.state, 'idle');
      assert.equal(last.fps, 0, `watch's last status: ${JSON.stringify(last)}`);
      assert.equal(last.mb_per_s, 0);
      assert.equal(last.progress ?? null, null, 'no progress while idle');
    } finally {
      watch.kill('SIGINT');
      await finished;
    }
  });

  test('during a recording, every status has saved ≤ acquired − dropped and published + skipped ≤ acquired', async () => {
    const serve = suite.serve();
    const started = await serve.ctl(['record', '--frames', '600']);
    assert.equal(started.code, 0, started.stderr);
    const samples = await pollStatus(serve.control, 2.5);
    const recording = samples.filter((s) => s.state === 'recording' || s.state === 'stopping');
    assert.ok(recording.length > 50, `${recording.length} statuses sampled while recording`);
    assert.ok(
      recording.some((s) => s.frames.saved > 0),
      'frames were being saved',
    );
    for (const s of recording) {
      const { acquired, saved, dropped, published, live_skipped } = s.frames;
      assert.ok(saved + dropped <= acquired, `saved ${saved} + dropped ${dropped} > acquired ${acquired}`);
      assert.ok(published + live_skipped <= acquired, `published ${published} + skipped ${live_skipped} > acquired ${acquired}`);
    }
    // Progress: frames of 600, and a time left that shrinks to 0.
    const progressed = recording.filter((s) => s.progress);
    assert.equal(progressed.length, recording.length, 'every recording status has its progress');
    for (const s of progressed) {
      assert.equal(s.progress!.frames_target, 600);
      assert.equal(s.progress!.duration_target_s, null);
      assert.equal(s.progress!.frames, s.frames.acquired);
    }
    const etas = progressed.map((s) => s.progress!.eta_s).filter((eta): eta is number => eta !== null);
    assert.ok(etas.length > 0, 'an ETA once the rate is known');
    assert.ok(etas[0]! <= 600 / 100, `first ETA ${etas[0]} s`);
    const done = await serve.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_written === 600, 30_000);
    assert.equal(done.progress ?? null, null);
    assert.equal(done.fps, 0);
  });

  test('a timed recording reports seconds of S', async () => {
    const serve = suite.serve();
    const started = await serve.ctl(['record', '--duration', '3']);
    assert.equal(started.code, 0, started.stderr);
    const during = await serve.waitFor((s) => s.state === 'recording' && (s.progress?.elapsed_s ?? 0) > 0.5);
    assert.equal(during.progress!.duration_target_s, 3);
    assert.equal(during.progress!.frames_target, null);
    assert.ok(during.progress!.eta_s! <= 2.5 && during.progress!.eta_s! >= 0, `eta ${during.progress!.eta_s}`);
    const shown = await runLabcast(['ctl', '--control', serve.control, 'status']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /progress +frame \d+, \d+\.\d of 3 s, \d+\.\d s left/);
    const text = await serve.ctl(['stop']);
    assert.equal(text.code, 0);
  });
});
