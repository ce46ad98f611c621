import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { RunStart } from '../../src/protocol/messages.js';
import {
  appendFrames,
  dumpWithH5py,
  framePixels,
  h5pyMissing,
  makeRunEnd,
  makeRunStart,
  range,
  runH5dump,
  tempDir,
  type H5pyObject,
} from './fixtures.js';
import { writerNamed, type WriterUnderTest } from './writer-backends.js';

const native = writerNamed('native');
const h5wasm = writerNamed('h5wasm');
const skip = native.skip || h5pyMissing();

/** Attributes that differ between any two files: when and by what they were written. */
const VOLATILE_ATTRS: Record<string, string[]> = { '/': ['file_time'], '/entry': ['hdf5_writer'] };

async function record(writer: WriterUnderTest, dir: string, start: RunStart, seqs: number[]): Promise<string> {
  mkdirSync(join(dir, writer.name));
  const path = join(dir, writer.name, 'run.h5');
  const opened = await writer.open(path, start, { overwrite: false });
  appendFrames(opened, start, seqs.slice(0, 5));
  opened.flush();
  appendFrames(opened, start, seqs.slice(5));
  opened.finish(makeRunEnd(start, { frames_acquired: (seqs.at(-1) ?? 0) + 3, frames_dropped: 1 }));
  return path;
}

function withoutVolatile(dump: Record<string, H5pyObject>): Record<string, H5pyObject> {
  return Object.fromEntries(
    Object.entries(dump).map(([path, object]) => {
      const attrs = Object.fromEntries(Object.entries(object.attrs).filter(([name]) => !VOLATILE_ATTRS[path]?.includes(name)));
      return [path, { ...object, attrs }];
    }),
  );
}

describe('native writer against h5wasm and independent readers', { skip }, () => {
  const cases: Array<[string, RunStart]> = [
    ['tiny uint16 frames', makeRunStart()],
    ['64x64 frames sharing chunks', makeRunStart({ shape: [64, 64] })],
    ['large frames, one per chunk', makeRunStart({ shape: [512, 256] })],
    ['colour frames', makeRunStart({ shape: [4, 5, 3], dtype: 'uint8' })],
  ];
  for (const [label, start] of cases) {
    test(`writes the same file as h5wasm, object for object and value for value: ${label}`, async () => {
      const { dir, remove } = tempDir();
      try {
        const seqs = [0, 1, 2, 4, 5, 6, 9, 10, 11];
        const nativeDump = dumpWithH5py(await record(native, dir, start, seqs));
        const h5wasmDump = dumpWithH5py(await record(h5wasm, dir, start, seqs));
        assert.deepEqual(Object.keys(nativeDump).sort(), Object.keys(h5wasmDump).sort());
        assert.deepEqual(withoutVolatile(nativeDump), withoutVolatile(h5wasmDump));
        assert.match(nativeDump['/entry']!.attrs.hdf5_writer as string, /^native \(libhdf5 /);
      } finally {
        remove();
      }
    });
  }

  test('h5dump (HDF5 1.10) reads the pixels of a native file', async () => {
    const { dir, remove } = tempDir();
    try {
      const start = makeRunStart({ shape: [64, 64] });
      const path = await record(native, dir, start, range(0, 200));
      // Frame 150 lies in the second, partly filled chunk of 128 frames.
      const dump = runH5dump(['-d', '/entry/data/frames', '-s', '150,3,0', '-c', '1,1,4', '-A', '0', path]);
      assert.equal(dump.status, 0, dump.stderr);
      const values = /\(150,3,0\): ([\d, ]+)/
        .exec(dump.stdout)?.[1]
        ?.split(',')
        .map((v) => Number(v.trim()));
      const pixels = new DataView(framePixels(start.shape, start.dtype, 150).buffer);
      assert.deepEqual(
        values,
        range(0, 4).map((x) => pixels.getUint16(2 * (3 * 64 + x), true)),
      );

      const header = runH5dump(['-B', '-H', path]);
      assert.equal(header.status, 0, header.stderr);
      assert.match(header.stdout, /SUPERBLOCK_VERSION 2/);
    } finally {
      remove();
    }
  });

  test('a config too large for the object header is stored (dense attributes) and reads back', async () => {
    const { dir, remove } = tempDir();
    try {
      const config = { notes: 'x'.repeat(100_000) };
      const start = makeRunStart({ config });
      const path = await record(native, dir, start, range(0, 3));
      assert.equal((JSON.parse(dumpWithH5py(path)['/entry']!.attrs.config_json as string) as { notes: unknown }).notes, config.notes);
    } finally {
      remove();
    }
  });
});
