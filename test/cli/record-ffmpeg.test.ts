import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, delay, runLabcast, runPython, scratchDir, startLabcast } from '../helpers/processes.js';
import { ffmpegFromGraph } from '../helpers/ffmpeg.js';

const READ_BACK = `
import sys, json, hashlib
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    data = f["entry/data"]
    frames = data["frames"]
    ts = data["timestamp_ns"][:].astype(np.int64)
    acq = f["entry/acquisition"]
    print(json.dumps({
        "shape": list(frames.shape),
        "dtype": str(frames.dtype),
        "interpretation": frames.attrs.get("interpretation"),
        "ids": data["frame_id"][:].tolist(),
        "ts_steps": np.diff(ts).tolist(),
        "hashes": [hashlib.sha256(frames[i].tobytes()).hexdigest() for i in range(frames.shape[0])],
        "driver": f["entry/instrument/camera/driver"].asstr()[()],
        "end_reason": acq["end_reason"].asstr()[()],
        "error": acq["error"].asstr()[()],
    }))
`;

interface ReadBack {
  shape: number[];
  dtype: string;
  interpretation: string;
  ids: number[];
  ts_steps: number[];
  hashes: string[];
  driver: string;
  end_reason: string;
  error: string;
}

async function readBack(path: string): Promise<ReadBack> {
  const read = await runPython(READ_BACK, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as ReadBack;
}

const ANY_PORT = ['--publish', 'tcp://127.0.0.1:*'];
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('labcast record --camera (ffmpeg and replay), read back by h5py', () => {
  const scratch = scratchDir();
  const clip = join(scratch.dir, 'clip.mp4');
  before(() => {
    ffmpegFromGraph('testsrc=size=128x96:rate=10', ['-t', '2', '-pix_fmt', 'yuv420p', clip]);
  });
  after(() => scratch.cleanup());

  test('lavfi gray: uint8 [N,H,W], every frame, timestamps one period apart', async () => {
    const out = join(scratch.dir, 'gray.h5');
    const run = await runLabcast([
      'record',
      '--camera',
      'lavfi:testsrc2=size=160x120:rate=30,format=gray',
      '--frames',
      '30',
      '--out',
      out,
      ...ANY_PORT,
    ]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const file = await readBack(out);
    assert.deepEqual(file.shape, [30, 120, 160]);
    assert.equal(file.dtype, 'uint8');
    assert.deepEqual(file.ids, range(30));
    assert.ok(
      file.ts_steps.every((step) => Math.abs(step - 1e9 / 30) <= 1),
      `steps ${file.ts_steps.join(',')}`,
    );
    assert.equal(file.driver, 'lavfi');
    assert.equal(file.end_reason, 'completed');
  });

  test('lavfi colour: uint8 [N,H,W,3] stored as a colour image (interpretation rgba-image, see docs/hdf5-layout.md)', async () => {
    const out = join(scratch.dir, 'rgb.h5');
    const run = await runLabcast([
      'record',
      '--camera',
      'lavfi:testsrc2=size=320x240:rate=30',
      '--frames',
      '30',
      '--out',
      out,
      ...ANY_PORT,
    ]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const file = await readBack(out);
    assert.deepEqual(file.shape, [30, 240, 320, 3]);
    assert.equal(file.dtype, 'uint8');
    assert.equal(file.interpretation, 'rgba-image');
    assert.ok(file.ts_steps.every((step) => step > 0));
  });

  test('a video file: all 20 frames at its own 10 fps timing, the run completes at the end of the file', async () => {
    const out = join(scratch.dir, 'clip.h5');
    const run = await runLabcast(['record', '--camera', `file:${clip}`, '--frames', '100', '--out', out, ...ANY_PORT]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(run.stdout, /frames written\s+20 of 20 acquired/);
    const file = await readBack(out);
    assert.deepEqual(file.shape, [20, 96, 128, 3]);
    assert.deepEqual(file.ts_steps, Array(19).fill(100_000_000));
  });

  test('replay of a sim recording gives back exactly the same pixels, at the recorded timing or as fast as possible', async () => {
    const original = join(scratch.dir, 'sim.h5');
    const sim = await runLabcast([
      'record',
      '--frames',
      '25',
      '--width',
      '64',
      '--height',
      '48',
      '--fps',
      '50',
      '--out',
      original,
      ...ANY_PORT,
    ]);
    assert.equal(sim.code, 0, sim.stderr);
    const source = await readBack(original);
    for (const fps of [undefined, '0']) {
      const copy = join(scratch.dir, `copy-${fps ?? 'recorded'}.h5`);
      const args = ['record', '--camera', `replay:${original}`, '--out', copy, ...ANY_PORT];
      if (fps !== undefined) args.push('--fps', fps);
      const run = await runLabcast(args);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const replayed = await readBack(copy);
      assert.deepEqual(replayed.shape, source.shape);
      assert.equal(replayed.dtype, 'uint16');
      assert.deepEqual(replayed.hashes, source.hashes);
      assert.equal(replayed.driver, 'replay');
      if (fps === undefined) {
        // The recorded spacing (within 1 ns of rounding to keep stamps strictly increasing).
        replayed.ts_steps.forEach((step, i) => assert.ok(Math.abs(step - source.ts_steps[i]!) <= 1));
      }
    }
  });

  test('ffmpeg killed mid-recording: exit 1, the error in the summary, a valid file with the frames received', async () => {
    const out = join(scratch.dir, 'killed.h5');
    const child = startLabcast([
      'record',
      '--camera',
      'lavfi:testsrc2=size=160x120:rate=30',
      '--frames',
      '1000',
      '--out',
      out,
      '--json',
      ...ANY_PORT,
    ]);
    const finished = collect(child);
    let ffmpeg: number | undefined;
    for (let tries = 0; tries < 100 && ffmpeg === undefined; tries++) {
      await delay(100);
      ffmpeg = ffmpegUnder(child.pid!);
    }
    assert.ok(ffmpeg !== undefined, 'ffmpeg runs under the labcast-acquisition process');
    await delay(1000);
    process.kill(ffmpeg, 'SIGKILL');
    const run = await finished;
    assert.equal(run.code, 1, run.stderr + run.stdout);
    const summary = JSON.parse(run.stdout) as { framesWritten: number; endReason: string; error: string };
    assert.equal(summary.endReason, 'error');
    assert.match(summary.error, /ffmpeg was killed by SIGKILL/);
    assert.ok(summary.framesWritten > 5 && summary.framesWritten < 1000, `${summary.framesWritten} frames`);
    const file = await readBack(out);
    assert.equal(file.shape[0], summary.framesWritten);
    assert.deepEqual(file.ids, range(summary.framesWritten));
    assert.equal(file.end_reason, 'error');
    assert.match(file.error, /SIGKILL/);
  });

  test('bad input: exit 2 naming --camera, and nothing is written', async () => {
    const cases: [string[], RegExp][] = [
      [['--camera', 'webcam:0'], /--camera: unknown camera "webcam:0"; expected one of: sim, v4l2:DEVICE/],
      [['--camera', 'v4l2:/dev/video99'], /--camera: no such camera device \/dev\/video99/],
      [['--camera', `file:${join(scratch.dir, 'missing.mp4')}`], /--camera: no such video file/],
      [['--camera', `replay:${clip}`], /--camera: cannot replay .*not a readable HDF5 file/],
      [['--camera', `file:${clip}`, '--width', '64'], /--width applies only to the simulated camera/],
      [['--camera', `file:${clip}`, '--gain', '2'], /--gain: setting "gain" is not supported by this camera \(file\)/],
    ];
    for (const [args, message] of cases) {
      const out = join(scratch.dir, 'bad.h5');
      const run = await runLabcast(['record', ...args, '--frames', '3', '--out', out, ...ANY_PORT]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(existsSync(out), false);
    }
  });

  test('ffmpeg not installed: exit 1 with the install hint', async () => {
    const run = await runLabcast(
      ['record', '--camera', 'lavfi:testsrc2', '--frames', '3', '--out', join(scratch.dir, 'none.h5'), ...ANY_PORT],
      {
        PATH: dirname(process.execPath) === '/usr/bin' ? '/nonexistent' : dirname(process.execPath),
      },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /ffprobe \(part of ffmpeg\) is not installed.*apt-get install ffmpeg/);
  });
});

/** An ffmpeg whose parent is a child of `pid` (labcast record → labcast-acquisition → ffmpeg). */
function ffmpegUnder(pid: number): number | undefined {
  const parentOf = (candidate: string): number | undefined => {
    try {
      const match = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${candidate}/status`, 'utf8'));
      return match === null ? undefined : Number(match[1]);
    } catch {
      return undefined;
    }
  };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'ffmpeg') continue;
    } catch {
      continue;
    }
    const parent = parentOf(entry);
    if (parent !== undefined && parentOf(String(parent)) === pid) return Number(entry);
  }
  return undefined;
}
