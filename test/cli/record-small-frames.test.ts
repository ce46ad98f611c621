import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSimCameraOptions } from '../../src/camera-spec/sim-options.js';
import { renderSimFrame } from '../../src/devices/sim/render.js';
import { runLabcast, runPython, scratchDir } from '../helpers/processes.js';

/**
 * Small frames as fast as the saver takes them: labcast record sends them to
 * its own saver in packed batches (a binary index per batch, frames in the
 * sender's blocks). Every frame must reach the file once, in order, intact.
 */
const READ_BACK = `
import sys, json, hashlib
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    data = f["entry/data"]
    frames = data["frames"][:]
    ids = data["frame_id"][:]
    ts = data["timestamp_ns"][:]
    print(json.dumps({
        "shape": list(frames.shape),
        "ids_in_order": bool(np.array_equal(ids, np.arange(frames.shape[0]))),
        "ts_increasing": bool(np.all(np.diff(ts.astype(np.int64)) > 0)),
        "sha256": hashlib.sha256(frames.astype("<u2").tobytes()).hexdigest(),
        "gaps": f["entry/acquisition/gaps"][:].tolist(),
        "dropped": int(f["entry/acquisition/frames_dropped"][()]),
    }))
`;

const FRAMES = 20_000;

describe('labcast record of 64x48 frames at fps 0 (packed batches), read back by h5py', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('the file holds every frame the simulator made, in order, with no gaps', async () => {
    const out = join(scratch.dir, 'small.h5');
    const camera = { width: 64, height: 48, dtype: 'uint16', pattern: 'gradient' } as const;
    const recorded = await runLabcast([
      'record',
      '--frames',
      String(FRAMES),
      '--width',
      '64',
      '--height',
      '48',
      '--dtype',
      'uint16',
      '--pattern',
      'gradient',
      '--fps',
      '0',
      '--out',
      out,
      '--json',
      '--publish',
      'tcp://127.0.0.1:*',
    ]);
    assert.equal(recorded.code, 0, recorded.stderr);
    const summary = JSON.parse(recorded.stdout) as { framesWritten: number; framesLost: number };
    assert.equal(summary.framesWritten, FRAMES);
    assert.equal(summary.framesLost, 0);

    const read = await runPython(READ_BACK, [out]);
    assert.equal(read.code, 0, read.stderr);
    const file = JSON.parse(read.stdout) as {
      shape: number[];
      ids_in_order: boolean;
      ts_increasing: boolean;
      sha256: string;
      gaps: number[][];
      dropped: number;
    };
    assert.deepEqual(file.shape, [FRAMES, 48, 64]);
    assert.ok(file.ids_in_order, 'frame_id is 0..N-1');
    assert.ok(file.ts_increasing, 'camera timestamps increase');
    assert.deepEqual(file.gaps, []);
    assert.equal(file.dropped, 0);
    const options = parseSimCameraOptions(camera);
    const expected = createHash('sha256');
    for (let i = 0; i < FRAMES; i++) expected.update(renderSimFrame(options, {}, i));
    assert.equal(file.sha256, expected.digest('hex'), 'the pixels of every frame');
  });
});
