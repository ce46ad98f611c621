import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalysisInfo, ExperimentStatus } from '../../src/protocol/control.js';
import { runPython, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { ResultsSubscriber } from './results.js';

/** The benchmark's frames: 1024×1024 uint16, 50 particles, at a camera's 30 fps. */
const CAMERA = { width: 1024, height: 1024, fps: 30, particle_count: 50 };
const FRAMES = 300;

const READ_FILE = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    ids = f["entry/data/frame_id"][:]
    print(json.dumps({"frames": int(f["entry/data/frames"].shape[0]), "ids": ids.tolist()}))
`;

describe(`recording ${FRAMES} frames of 1024×1024 at 30 fps while stats and localize run`, () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let results: ResultsSubscriber;
  let status: ExperimentStatus;

  before(async () => {
    serve = await startServe(scratch.dir, CAMERA);
    results = new ResultsSubscriber(serve.results);
    for (const name of ['stats', 'localize']) {
      const started = await serve.ctl(['analysis', 'start', name]);
      assert.equal(started.code, 0, started.stderr);
    }
    const recording = await serve.ctl(['record', '--frames', String(FRAMES)]);
    assert.equal(recording.code, 0, recording.stderr);
    status = await serve.waitFor((s) => s.state === 'idle' && s.last_recording !== null, 60_000);
  });

  after(async () => {
    results?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test('the saver drops nothing: every frame is in the file, in order', async () => {
    const recording = status.last_recording!;
    assert.equal(recording.error, null);
    assert.equal(recording.end_reason, 'completed');
    assert.equal(recording.frames_acquired, FRAMES);
    assert.equal(recording.frames_lost, 0);
    assert.equal(recording.frames_written, FRAMES);
    const read = await runPython(READ_FILE, [recording.path!]);
    assert.equal(read.code, 0, read.stderr);
    const file = JSON.parse(read.stdout) as { frames: number; ids: number[] };
    assert.equal(file.frames, FRAMES);
    assert.deepEqual(
      file.ids,
      Array.from({ length: FRAMES }, (_, i) => i),
    );
  });

  test('both analyses ran alongside, on the frames of the recording', async () => {
    const runId = status.last_recording!.run_id;
    // Their counters arrive a few times a second: wait for the account of the whole run.
    const counted = (s: ExperimentStatus, name: string): number => {
      const a = s.analyses?.find((candidate) => candidate.name === name);
      return a === undefined ? 0 : a.frames_analysed + a.frames_skipped;
    };
    const final = await serve
      .waitFor((s) => counted(s, 'stats') === FRAMES && counted(s, 'localize') === FRAMES, 10_000)
      .catch(() => serve.statusNow());
    const info = (name: string): AnalysisInfo => final.analyses!.find((a) => a.name === name)!;
    for (const name of ['stats', 'localize']) {
      const a = info(name);
      assert.equal(a.state, 'running');
      assert.equal(a.frame_errors, 0);
      const mine = results.of(name).filter((r) => r.header.run_id === runId);
      if (process.env.LABCAST_ANALYSIS_VERBOSE) {
        const ms = mine.map((r) => r.header.analysis_ms ?? 0).sort((x, y) => x - y);
        const at = (q: number): number => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? NaN;
        console.log(
          `${name}: ${a.frames_analysed} analysed, ${a.frames_skipped} skipped; ${mine.length} results received; ` +
            `ms/frame p50 ${at(0.5)} p90 ${at(0.9)} max ${at(1)} (≈ ${Math.round(1000 / at(0.5))} frames/s in the process)`,
        );
      }
      assert.ok(
        a.frames_analysed + a.frames_skipped === FRAMES,
        `${name}: ${a.frames_analysed} + ${a.frames_skipped} = every frame of the run`,
      );
      // How many depends on the machine: analyses run at a lower priority and skip frames when CPU time is short.
      assert.ok(a.frames_analysed >= 30, `${name} analysed ${a.frames_analysed} of ${FRAMES}`);
      assert.ok(mine.length >= a.frames_analysed * 0.9, `${mine.length} results for ${a.frames_analysed} analysed`);
    }
    const spots = results
      .of('localize')
      .filter((r) => r.header.run_id === runId)
      .map((r) => (r.body as { count: number }).count);
    const median = [...spots].sort((a, b) => a - b)[Math.floor(spots.length / 2)]!;
    assert.ok(median >= 40 && median <= 55, `median spots per frame ${median} for 50 particles`);
  });
});
