import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSimCameraOptions } from '../../src/camera-spec/sim-options.js';
import { renderSimFrame } from '../../src/devices/sim/render.js';
import { runLabcast, runPython, scratchDir } from '../helpers/processes.js';

const READ_BACK = `
import sys, json, hashlib
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    data = f["entry/data"]
    frames = data["frames"]
    ids = data["frame_id"][:]
    ts = data["timestamp_ns"][:]
    print(json.dumps({
        "shape": list(frames.shape),
        "dtype": str(frames.dtype),
        "chunks": list(frames.chunks),
        "ids": ids.tolist(),
        "ts_increasing": bool(np.all(np.diff(ts.astype(np.int64)) > 0)),
        "ts_first": int(ts[0]),
        "hashes": [hashlib.sha256(frames[i].astype("<" + frames.dtype.str[1:]).tobytes()).hexdigest() for i in range(frames.shape[0])],
        "signal": data.attrs["signal"] if isinstance(data.attrs["signal"], str) else data.attrs["signal"].decode(),
        "gaps": f["entry/acquisition/gaps"][:].tolist(),
        "dropped": int(f["entry/acquisition/frames_dropped"][()]),
        "exposure": float(f["entry/instrument/camera/exposure_ms"][()]),
    }))
`;

interface ReadBack {
  shape: number[];
  dtype: string;
  chunks: number[];
  ids: number[];
  ts_increasing: boolean;
  ts_first: number;
  hashes: string[];
  signal: string;
  gaps: number[][];
  dropped: number;
  exposure: number;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('labcast record → HDF5, read back by h5py', () => {
  const scratch = scratchDir();
  const out = join(scratch.dir, 'run.h5');
  const camera = { width: 512, height: 384, dtype: 'uint16', pattern: 'particles', seed: 7 } as const;
  let recorded: Awaited<ReturnType<typeof runLabcast>>;

  before(async () => {
    recorded = await runLabcast([
      'record',
      '--frames',
      '200',
      '--width',
      '512',
      '--height',
      '384',
      '--seed',
      '7',
      '--fps',
      '400',
      '--exposure',
      '12',
      '--out',
      out,
      '--publish',
      'tcp://127.0.0.1:*',
    ]);
  });
  after(() => scratch.cleanup());

  test('exits 0 and prints a summary', () => {
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.match(recorded.stdout, /frames written\s+200 of 200 acquired/);
    assert.match(recorded.stdout, /frames dropped\s+0/);
    assert.match(recorded.stdout, /MB\/s/);
  });

  test('the file holds exactly the 200 frames the simulator made for that seed', async () => {
    const read = await runPython(READ_BACK, [out]);
    assert.equal(read.code, 0, read.stderr);
    const file = JSON.parse(read.stdout) as ReadBack;
    assert.deepEqual(file.shape, [200, 384, 512]);
    assert.equal(file.dtype, 'uint16');
    assert.deepEqual(file.chunks, [1, 384, 512]);
    assert.deepEqual(
      file.ids,
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.ok(file.ts_increasing, 'camera timestamps must increase');
    assert.ok(file.ts_first > 1.6e18, 'timestamps are ns since the Unix epoch');
    assert.equal(file.signal, 'frames');
    assert.deepEqual(file.gaps, []);
    assert.equal(file.dropped, 0);
    assert.equal(file.exposure, 12);

    const options = parseSimCameraOptions(camera);
    file.hashes.forEach((hash, i) => {
      assert.equal(hash, sha256(renderSimFrame(options, { exposure_ms: 12 }, i)), `pixels of frame ${i}`);
    });
  });

  test('inspect reports the recording', async () => {
    const shown = await runLabcast(['inspect', out]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /200/);
    assert.match(shown.stdout, /384/);
    assert.match(shown.stdout, /uint16/);
    assert.match(shown.stdout, /exposure_ms/);
    assert.ok(existsSync(out));
  });
});

describe('labcast record: requested vs achieved frame rate', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  interface RateSummary {
    fpsRequested: number | null;
    fpsAchieved: number | null;
  }

  async function recordJson(args: string[], name: string): Promise<{ summary: RateSummary; stdout: string }> {
    const ran = await runLabcast(['record', ...args, '--out', join(scratch.dir, name), '--publish', 'tcp://127.0.0.1:*', '--json']);
    assert.equal(ran.code, 0, ran.stderr);
    return { summary: JSON.parse(ran.stdout) as RateSummary, stdout: ran.stdout };
  }

  test('a rate the simulator cannot reach (1024x1024 at 1000 fps): the JSON carries both, the achieved one well short', async () => {
    const { summary } = await recordJson(
      ['--width', '1024', '--height', '1024', '--dtype', 'uint8', '--fps', '1000', '--duration', '1.5'],
      'fast.h5',
    );
    assert.equal(summary.fpsRequested, 1000);
    assert.ok(summary.fpsAchieved !== null && summary.fpsAchieved < 950, `achieved ${summary.fpsAchieved} fps`);
  });

  test('a rate it can reach (64x48 at 50 fps): achieved within 5 %, and the summary gives no warning', async () => {
    const { summary } = await recordJson(['--width', '64', '--height', '48', '--fps', '50', '--duration', '1.5'], 'slow.h5');
    assert.equal(summary.fpsRequested, 50);
    assert.ok(summary.fpsAchieved !== null && Math.abs(summary.fpsAchieved - 50) < 2.5, `achieved ${summary.fpsAchieved} fps`);
    const text = await runLabcast([
      'record',
      '--width',
      '64',
      '--height',
      '48',
      '--fps',
      '50',
      '--duration',
      '1.5',
      '--out',
      join(scratch.dir, 'slow-text.h5'),
      '--publish',
      'tcp://127.0.0.1:*',
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /camera rate\s+requested 50 fps, achieved \d+\.\d fps\n/);
    assert.doesNotMatch(text.stdout, /WARNING/);
  });

  test('fps 0 (as fast as the saver takes them) requests no rate, so nothing is compared', async () => {
    const { summary, stdout } = await recordJson(['--width', '64', '--height', '48', '--fps', '0', '--frames', '50'], 'free.h5');
    assert.equal(summary.fpsRequested, null);
    assert.doesNotMatch(stdout, /WARNING/);
  });
});
