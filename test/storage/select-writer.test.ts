import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isLabcastError } from '../../src/protocol/errors.js';
import { openH5wasmWriter } from '../../src/storage/h5wasm-writer.js';
import { BUILD_COMMAND, loadNativeAddon, type AddonLoad } from '../../src/native/native-addon.js';
import { openNativeWriter } from '../../src/storage/native-writer.js';
import { selectFrameWriter } from '../../src/storage/select-writer.js';
import { runLabcast, runPython } from '../helpers/processes.js';
import { h5pyMissing, tempDir } from './fixtures.js';
import { writerNamed } from './writer-backends.js';

const builtAddon = (): AddonLoad => ({ addon: {} as never });
const missingAddon = (): AddonLoad => ({ failure: 'build/native/labcast_hdf5.node does not exist (it was not built)' });

describe('choosing the HDF5 writer', () => {
  test('native when the addon loads, unless LABCAST_HDF5=h5wasm', () => {
    assert.equal(selectFrameWriter({}, builtAddon).backend, 'native');
    assert.equal(selectFrameWriter({}, builtAddon).open, openNativeWriter);
    assert.equal(selectFrameWriter({ LABCAST_HDF5: 'native' }, builtAddon).backend, 'native');
    const forced = selectFrameWriter({ LABCAST_HDF5: 'h5wasm' }, builtAddon);
    assert.equal(forced.backend, 'h5wasm');
    assert.equal(forced.open, openH5wasmWriter);
  });

  test('h5wasm, with the reason, when the addon does not load', () => {
    const choice = selectFrameWriter({}, missingAddon);
    assert.equal(choice.backend, 'h5wasm');
    assert.match(choice.fallbackReason ?? '', /not built/);
  });

  test('LABCAST_HDF5=native without the addon is an error naming the build step', () => {
    assert.throws(
      () => selectFrameWriter({ LABCAST_HDF5: 'native' }, missingAddon),
      (error: unknown) => {
        assert.ok(isLabcastError(error));
        assert.match(error.message, /LABCAST_HDF5=native/);
        assert.ok(error.message.includes(BUILD_COMMAND), error.message);
        assert.match(error.message, /libhdf5-dev/);
        return true;
      },
    );
  });

  test('an unknown LABCAST_HDF5 value is refused with the allowed ones', () => {
    assert.throws(() => selectFrameWriter({ LABCAST_HDF5: 'h5py' }, builtAddon), /LABCAST_HDF5=h5py .*native or h5wasm/);
  });

  test('this machine uses the native writer by default when it is built', { skip: writerNamed('native').skip }, () => {
    assert.ok('addon' in loadNativeAddon(), 'the addon loads');
    assert.equal(selectFrameWriter({}).backend, 'native');
  });

  test('labcast version says which writer recordings use', async () => {
    const forced = await runLabcast(['version'], { LABCAST_HDF5: 'h5wasm' });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /^labcast \d+\.\d+\.\d+\nhdf5 writer: h5wasm\n$/);
    const bad = await runLabcast(['version'], { LABCAST_HDF5: 'h5py' });
    assert.match(bad.stdout, /hdf5 writer: LABCAST_HDF5=h5py is not a writer/);
  });

  test('labcast version says how the native writer writes frames', { skip: writerNamed('native').skip }, async () => {
    const direct = await runLabcast(['version'], { LABCAST_HDF5: 'native' });
    // Whether this disk wants ring frames staged is the machine's (direct-io.test); that a reason is given is ours.
    assert.match(
      direct.stdout,
      /\nhdf5 writer: native, frame chunks with O_DIRECT\nframes recorded here: (copied into huge pages before each write, unless copied once already|written from shared memory in place) \(.+\)\n$/,
    );
    const inPlace = await runLabcast(['version'], { LABCAST_HDF5: 'native', LABCAST_DIRECT_STAGING: '0' });
    assert.match(inPlace.stdout, /\nframes recorded here: written from shared memory in place \(LABCAST_DIRECT_STAGING=0\)\n$/);
    const staged = await runLabcast(['version'], { LABCAST_HDF5: 'native', LABCAST_DIRECT_STAGING: '1' });
    assert.match(
      staged.stdout,
      /\nframes recorded here: copied into huge pages before each write, unless copied once already \(LABCAST_DIRECT_STAGING=1\)\n$/,
    );
    const buffered = await runLabcast(['version'], { LABCAST_HDF5: 'native', LABCAST_DIRECT_IO: '0' });
    assert.match(buffered.stdout, /\nhdf5 writer: native, frame chunks through the page cache \(LABCAST_DIRECT_IO=0\)\n$/);
    const bad = await runLabcast(['version'], { LABCAST_HDF5: 'native', LABCAST_DIRECT_IO: 'on' });
    assert.match(bad.stdout, /hdf5 writer: LABCAST_DIRECT_IO=on: use 1/);
  });
});

const WRITER_ATTR = `
import json, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    frames = f["entry/data/frames"]
    print(json.dumps({"writer": f["entry"].attrs["hdf5_writer"], "frames": frames.shape[0], "valid": int(frames.attrs["valid_frames"])}))
`;

describe('labcast record through each writer', { skip: h5pyMissing() }, () => {
  const cases: Array<[string, Record<string, string>, RegExp, string | false]> = [
    // Empty is unset: the default, whatever the environment running the tests says.
    ['by default', { LABCAST_HDF5: '' }, /^native \(libhdf5 /, writerNamed('native').skip],
    ['with LABCAST_HDF5=native', { LABCAST_HDF5: 'native' }, /^native \(libhdf5 /, writerNamed('native').skip],
    ['with LABCAST_HDF5=h5wasm (the fallback)', { LABCAST_HDF5: 'h5wasm' }, /^h5wasm /, false],
  ];
  for (const [label, env, writer, skip] of cases) {
    test(`records a readable file ${label}`, { skip }, async () => {
      const { dir, remove } = tempDir();
      try {
        const out = join(dir, 'run.h5');
        const result = await runLabcast(
          ['record', '--frames', '40', '--fps', '0', '--width', '64', '--height', '48', '--out', out, '--publish', 'tcp://127.0.0.1:*'],
          env,
        );
        assert.equal(result.code, 0, result.stdout + result.stderr);
        const read = await runPython(WRITER_ATTR, [out]);
        assert.equal(read.code, 0, read.stderr);
        const file = JSON.parse(read.stdout) as { writer: string; frames: number; valid: number };
        assert.match(file.writer, writer);
        assert.equal(file.frames, 40);
        assert.equal(file.valid, 40);
      } finally {
        remove();
      }
    });
  }
});
