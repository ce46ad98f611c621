import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ADDON_PATH, loadNativeAddon, type Hdf5Addon } from '../../src/native/native-addon.js';
import { h5pyMissing, PYTHON, tempDir } from './fixtures.js';
import { writerNamed } from './writer-backends.js';

function addon(): Hdf5Addon {
  const loaded = loadNativeAddon();
  if ('failure' in loaded) throw new Error(loaded.failure);
  return loaded.addon;
}

function withFile(run: (hdf5: Hdf5Addon, file: bigint, dir: string) => void): void {
  const { dir, remove } = tempDir();
  const hdf5 = addon();
  const file = hdf5.createFile(join(dir, 'a.h5'), true, true);
  try {
    run(hdf5, file, dir);
  } finally {
    hdf5.closeFile(file);
    remove();
  }
}

describe('the native addon', { skip: writerNamed('native').skip }, () => {
  test('reports the libhdf5 it runs on', () => {
    assert.match(addon().version(), /^1\.(1[0-9]|[2-9][0-9])\.\d+$/);
  });

  test('HDF5 failures throw with the cause from the error stack and print nothing', () => {
    // In a child process, so that anything HDF5 prints on its own shows on its stderr.
    const script = `
      const hdf5 = require(${JSON.stringify(ADDON_PATH)});
      const out = [];
      const attempt = (f) => { try { f(); out.push(null); } catch (e) { out.push({ message: e.message, stack: e.hdf5Stack }); } };
      attempt(() => hdf5.createFile(process.argv[1] + '/missing/a.h5', true, true));
      const file = hdf5.createFile(process.argv[1] + '/a.h5', true, true);
      attempt(() => hdf5.createFile(process.argv[1] + '/a.h5', true, true));
      hdf5.createGroup(file, '/g');
      attempt(() => hdf5.createGroup(file, '/g'));
      attempt(() => hdf5.setAttribute(file, '/nowhere', 'a', 'int32', [], Int32Array.of(1)));
      hdf5.closeFile(file);
      attempt(() => hdf5.flush(file));
      process.stdout.write(JSON.stringify(out));
    `;
    const { dir, remove } = tempDir();
    try {
      const child = spawnSync(process.execPath, ['-e', script, dir], { encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      assert.equal(child.stderr, '', 'HDF5 printed nothing');
      const [missingDir, exists, duplicate, noObject, closed] = JSON.parse(child.stdout) as Array<{ message: string; stack: string[] }>;
      assert.match(
        missingDir!.message,
        /^cannot create .*missing\/a\.h5: No such file or directory \(errno 2; HDF5: unable to open file\)$/,
      );
      assert.ok(missingDir!.stack.length > 0 && missingDir!.stack.every((line) => typeof line === 'string'));
      assert.match(exists!.message, /file exists/);
      assert.match(duplicate!.message, /^cannot create group \/g: HDF5: .*name already exists/);
      assert.match(noObject!.message, /^cannot write attribute a of \/nowhere: HDF5: /);
      assert.match(closed!.message, /invalid file identifier/);
    } finally {
      remove();
    }
  });

  test('refuses data that does not fit what it is written to, before HDF5 sees it', () => {
    withFile((hdf5, file) => {
      const frames = hdf5.createDataset(file, '/frames', 'uint16', [0, 4, 4], [-1, 4, 4], [2, 4, 4]);
      hdf5.setExtent(frames, [4, 4, 4]);
      const chunk = new Uint8Array(2 * 4 * 4 * 2);
      assert.throws(() => hdf5.writeChunk(frames, [0, 0, 0], chunk.subarray(2)), { name: 'RangeError', message: /not exactly one chunk/ });
      assert.throws(() => hdf5.writeChunk(frames, [1, 0, 0], chunk), { name: 'RangeError', message: /chunk boundary/ });
      assert.throws(() => hdf5.writeChunk(frames, [0, 0], chunk), { name: 'RangeError', message: /rank/ });
      assert.throws(() => hdf5.writeChunk(frames, [8, 0, 0], chunk), /offset exceeds dimensions/);
      hdf5.writeChunk(frames, [2, 0, 0], chunk);

      const ids = hdf5.createDataset(file, '/ids', 'int64', [3], [-1], [8]);
      assert.throws(() => hdf5.writeHyperslab(ids, [0], [3], BigInt64Array.of(1n, 2n)), { name: 'RangeError' });
      assert.throws(() => hdf5.writeHyperslab(ids, [0], [3], [1, 2, 3] as unknown as BigInt64Array), { name: 'TypeError' });
      hdf5.writeHyperslab(ids, [0], [3], BigInt64Array.of(1n, 2n, 3n));

      assert.throws(() => hdf5.createDataset(file, '/x', 'complex64' as 'int8', [1], null, null), { name: 'TypeError' });
      assert.throws(() => hdf5.setAttribute(file, '/', 'axes', 'string', [2], ['a']), { name: 'RangeError' });
      assert.throws(() => hdf5.setExtent(0n, [1]), /invalid|not a dataset|identifier/);
      assert.throws(() => hdf5.flush(1 as unknown as bigint), { name: 'TypeError', message: /bigint/ });
      assert.throws(() => hdf5.createDataset(file, '/y', 'int8', [-1], null, null), { name: 'RangeError' });
    });
  });

  test('attributes are replaced when set again, whatever their type', { skip: h5pyMissing() }, () => {
    const { dir, remove } = tempDir();
    try {
      const hdf5 = addon();
      const path = join(dir, 'attrs.h5');
      const file = hdf5.createFile(path, true, true);
      hdf5.setAttribute(file, '/', 'n', 'int64', [], BigInt64Array.of(1n));
      hdf5.setAttribute(file, '/', 'n', 'int64', [], BigInt64Array.of(2n));
      hdf5.setAttribute(file, '/', 'm', 'int64', [], BigInt64Array.of(3n));
      hdf5.setAttribute(file, '/', 'm', 'string', [], 'three');
      hdf5.closeFile(file);
      const read = spawnSync(PYTHON, ['-c', 'import sys, h5py; f = h5py.File(sys.argv[1]); print(int(f.attrs["n"]), f.attrs["m"])', path], {
        encoding: 'utf8',
      });
      assert.equal(read.status, 0, read.stderr);
      assert.equal(read.stdout.trim(), '2 three');
    } finally {
      remove();
    }
  });

  // Whole-dataset writes convert text in strips of 16 KiB (native/labcast_hdf5.c,
  // WHOLE_WRITE_BUFFER_BYTES): a text array of many strips, and one text longer than a strip, read back whole.
  test('text datasets larger than a conversion strip are written whole', { skip: h5pyMissing() }, () => {
    const { dir, remove } = tempDir();
    try {
      const hdf5 = addon();
      const path = join(dir, 'texts.h5');
      const file = hdf5.createFile(path, true, true);
      const many = Array.from({ length: 5000 }, (_, i) => `text ${i} ${'é'.repeat(i % 7)}`);
      const list = hdf5.createDataset(file, '/many', 'string', [many.length], null, null);
      hdf5.writeDataset(list, many);
      hdf5.closeDataset(list);
      const long = 'λ'.repeat(40_000);
      const one = hdf5.createDataset(file, '/long', 'string', [], null, null);
      hdf5.writeDataset(one, long);
      hdf5.closeDataset(one);
      hdf5.closeFile(file);
      const script =
        'import sys, json, h5py\nwith h5py.File(sys.argv[1]) as f:\n' +
        '    print(json.dumps([f["many"].asstr()[:].tolist(), f["long"].asstr()[()]]))';
      const read = spawnSync(PYTHON, ['-c', script, path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.equal(read.status, 0, read.stderr);
      const [readMany, readLong] = JSON.parse(read.stdout) as [string[], string];
      assert.deepEqual(readMany, many);
      assert.equal(readLong, long);
    } finally {
      remove();
    }
  });
});
