import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { runLabcast, runPython, scratchDir } from '../helpers/processes.js';
import { serveForSuite } from '../helpers/serve.js';

/**
 * One definition of a run's duration and rate (src/hdf5/run-timing.ts):
 * the recording summary, the status's last_recording, `labcast inspect` and
 * the file say the same thing about the same run.
 */

const READ_TIMING = `
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    acq = f["entry/acquisition"]
    ids = f["entry/data/frame_id"][:]
    ts = f["entry/data/timestamp_ns"][:].astype(np.int64)
    print(json.dumps({
        "duration_s": float(acq["duration_s"][()]),
        "frame_rate": float(acq["frame_rate"][()]),
        "from_frames_s": int(ts[-1] - ts[0]) / 1e9 if len(ts) > 1 else None,
        "id_span": int(ids[-1] - ids[0]) if len(ids) > 1 else None,
    }))
`;

interface FileTiming {
  duration_s: number;
  frame_rate: number;
  from_frames_s: number | null;
  id_span: number | null;
}

async function fileTiming(path: string): Promise<FileTiming> {
  const read = await runPython(READ_TIMING, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as FileTiming;
}

async function inspectJson(path: string): Promise<{ durationS: number | null; fps: number | null }> {
  const shown = await runLabcast(['inspect', path, '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  return JSON.parse(shown.stdout) as { durationS: number | null; fps: number | null };
}

const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b));

describe('a run has one duration and one rate', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('record: summary (text and --json), inspect and the file agree', async () => {
    const out = join(scratch.dir, 'thirty.h5');
    const common = ['--frames', '30', '--fps', '30', '--width', '64', '--height', '48', '--publish', 'tcp://127.0.0.1:*'];
    const recorded = await runLabcast(['record', ...common, '--out', out, '--json']);
    assert.equal(recorded.code, 0, recorded.stderr);
    const summary = JSON.parse(recorded.stdout) as { durationS: number; fps: number; elapsedS: number; firstFrameToClosedS: number };
    const inspected = await inspectJson(out);
    const file = await fileTiming(out);

    // 30 frames at 30 fps: 29 periods.
    assert.ok(close(file.from_frames_s!, file.duration_s), `file: ${JSON.stringify(file)}`);
    assert.ok(close(file.frame_rate, file.id_span! / file.duration_s));
    assert.ok(Math.abs(file.duration_s - 29 / 30) < 0.05, `duration ${file.duration_s}`);
    assert.ok(close(summary.durationS, file.duration_s) && close(summary.fps, file.frame_rate), JSON.stringify(summary));
    assert.ok(close(inspected.durationS!, file.duration_s) && close(inspected.fps!, file.frame_rate), JSON.stringify(inspected));
    assert.ok(summary.elapsedS > summary.durationS, 'start-up and drain are in the elapsed time, not the duration');
    // The saver's first frame → file closed spans the camera's first to last frame and the close after it, not the start-up.
    assert.ok(
      summary.firstFrameToClosedS >= summary.durationS - 0.05 && summary.firstFrameToClosedS < summary.elapsedS,
      `first frame to closed ${summary.firstFrameToClosedS} s, duration ${summary.durationS} s, elapsed ${summary.elapsedS} s`,
    );

    // The text summary prints the figures inspect prints.
    const text = join(scratch.dir, 'text.h5');
    const plain = await runLabcast(['record', ...common, '--out', text]);
    assert.equal(plain.code, 0, plain.stderr);
    const shown = await runLabcast(['inspect', text]);
    const inspectDuration = /^duration +([\d.]+) s$/m.exec(shown.stdout)?.[1];
    const inspectFps = /^fps +([\d.]+)$/m.exec(shown.stdout)?.[1];
    assert.ok(inspectDuration !== undefined && inspectFps !== undefined, shown.stdout);
    assert.match(plain.stdout, new RegExp(`^ {2}duration +${inspectDuration} s {2}\\(${inspectFps} fps`, 'm'));
  });

  test('one frame: no duration or rate anywhere (-1 in the file)', async () => {
    const out = join(scratch.dir, 'one.h5');
    const recorded = await runLabcast(['snap', '--out', out, '--width', '64', '--height', '48', '--json']);
    assert.equal(recorded.code, 0, recorded.stderr);
    const summary = JSON.parse(recorded.stdout) as { durationS: number | null; fps: number | null };
    assert.equal(summary.durationS, null);
    assert.equal(summary.fps, null);
    const file = await fileTiming(out);
    assert.equal(file.duration_s, -1);
    assert.equal(file.frame_rate, -1);
    assert.deepEqual(await inspectJson(out), { ...(await inspectJson(out)), durationS: null, fps: null });
  });
});

describe("serve's last_recording has the same duration and rate as the file", () => {
  const suite = serveForSuite({ fps: 50 });

  test('ctl record --frames 20, then status', async () => {
    const serve = suite.serve();
    const started = await serve.ctl(['record', '--frames', '20']);
    assert.equal(started.code, 0, started.stderr);
    const status: ExperimentStatus = await serve.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_written === 20);
    const last = status.last_recording!;
    const file = await fileTiming(last.path!);
    assert.ok(close(last.duration_s!, file.duration_s), `${last.duration_s} vs ${file.duration_s}`);
    assert.ok(close(last.fps!, file.frame_rate));
    const shown = await runLabcast(['ctl', '--control', serve.control, 'status']);
    assert.match(
      shown.stdout,
      new RegExp(`20 of 20 frames written, 0 lost, ${file.duration_s.toFixed(3)} s at ${file.frame_rate.toFixed(2)} fps`),
    );
  });
});
