import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSimCameraOptions } from '../../src/camera-spec/sim-options.js';
import { renderSimFrame } from '../../src/devices/sim/render.js';
import { runLabcast, runPython, scratchDir } from '../helpers/processes.js';

const READ_BACK = `
import sys, json, hashlib
import h5py
with h5py.File(sys.argv[1], "r") as f:
    frames = f["entry/data/frames"]
    camera = f["entry/instrument/camera"]
    names = ["bit_depth", "gain_dn_per_e", "offset_dn", "read_noise_e", "dark_current_e_per_s",
             "quantum_efficiency", "photons_per_bead", "background_photons", "gain"]
    print(json.dumps({
        "dtype": str(frames.dtype),
        "max": int(frames[()].max()),
        "scalars": {name: float(camera[name][()]) for name in names},
        "settings_json": json.loads(camera.attrs["settings_json"]),
        "hashes": [hashlib.sha256(frames[i].astype("<u2").tobytes()).hexdigest() for i in range(frames.shape[0])],
    }))
`;

interface ReadBack {
  dtype: string;
  max: number;
  scalars: Record<string, number>;
  settings_json: Record<string, number>;
  hashes: string[];
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('a simulated 10-bit camera recorded by labcast record, read back by h5py', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('the sensor settings are in the file with the others; the frames are bit-exact and within 10 bits', async () => {
    const camera = { driver: 'sim', width: 96, height: 64, fps: 0, bit_depth: 10, particle_count: 6, seed: 3 } as const;
    const out = join(scratch.dir, 'ten-bit.h5');
    const ran = await runLabcast([
      'record',
      '--camera',
      JSON.stringify(camera),
      '--frames',
      '8',
      '--gain',
      '2',
      '--out',
      out,
      '--publish',
      'tcp://127.0.0.1:*',
    ]);
    assert.equal(ran.code, 0, ran.stderr);
    const read = await runPython(READ_BACK, [out]);
    assert.equal(read.code, 0, read.stderr);
    const file = JSON.parse(read.stdout) as ReadBack;
    assert.equal(file.dtype, 'uint16');
    assert.ok(file.max <= 1023, `max ${file.max}`);
    // The 12-bit camera's DN defaults, a quarter at 10 bits; the rest as at any depth.
    const expected = {
      bit_depth: 10,
      gain_dn_per_e: 0.125,
      offset_dn: 25,
      read_noise_e: 2,
      dark_current_e_per_s: 1,
      quantum_efficiency: 0.8,
      photons_per_bead: 5000,
      background_photons: 30,
      gain: 2,
    };
    assert.deepEqual(file.scalars, expected);
    for (const [name, value] of Object.entries(expected)) assert.equal(file.settings_json[name], value, name);
    const { driver: _driver, ...options } = camera;
    const resolved = parseSimCameraOptions(options);
    file.hashes.forEach((hash, i) => assert.equal(hash, sha256(renderSimFrame(resolved, { gain: 2 }, i)), `frame ${i}`));
  });

  test('a bit depth that does not fit the dtype is refused naming bit_depth, before anything is written', async () => {
    const out = join(scratch.dir, 'refused.h5');
    const ran = await runLabcast([
      'record',
      '--camera',
      JSON.stringify({ driver: 'sim', dtype: 'uint8', bit_depth: 12 }),
      '--frames',
      '1',
      '--out',
      out,
    ]);
    assert.notEqual(ran.code, 0);
    assert.match(ran.stderr, /bit_depth.*12 bits do not fit dtype uint8/);
    assert.equal(existsSync(out), false);
  });
});
