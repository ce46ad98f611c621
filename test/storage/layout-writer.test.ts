import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLabcastError } from '../../src/protocol/errors.js';
import type { ExtendibleDataset, Hdf5Backend, Hdf5File } from '../../src/storage/hdf5-backend.js';
import { layoutWriterOpener } from '../../src/storage/layout-writer.js';
import { appendFrames, makeRunEnd, makeRunStart, range, tempDir } from './fixtures.js';

/**
 * An HDF5 backend that records what the writer asks of it and fails on
 * request, to check what happens around a failure without filling a disk.
 * It creates the file on disk (empty), as the disk sync needs one.
 */
class ScriptedBackend implements Hdf5Backend {
  readonly name = 'h5wasm';
  readonly description = 'scripted';
  readonly calls: string[] = [];
  failOnChunkWrite = Number.POSITIVE_INFINITY;
  private chunkWrites = 0;

  createFile(path: string): Hdf5File {
    const calls = this.calls;
    writeFileSync(path, '');
    const dataset = (name: string): ExtendibleDataset => ({
      resize: (rows) => void calls.push(`resize ${name} ${rows}`),
      writeChunk: (firstRow, rows) => {
        if (++this.chunkWrites >= this.failOnChunkWrite) throw new Error('file write failed: No space left on device');
        calls.push(`chunk ${name} ${firstRow}+${rows}`);
      },
      writeRows: (firstRow, values) => void calls.push(`rows ${name} ${firstRow}+${values.length}`),
    });
    return {
      createGroup: () => undefined,
      setAttribute: (path, name, value) => {
        if (name === 'valid_frames') calls.push(`valid_frames ${String((value as { data: BigInt64Array }).data[0])}`);
      },
      createDataset: () => undefined,
      createExtendible: (path) => dataset(path.slice(path.lastIndexOf('/') + 1)),
      flush: () => void calls.push('flush'),
      close: () => void calls.push('close'),
    };
  }
}

test('after a failed write the file is left as of its last flush: not flushed, not closed, and the count says so', async () => {
  const { dir, remove } = tempDir();
  try {
    const backend = new ScriptedBackend();
    const open = layoutWriterOpener(async () => backend);
    const start = makeRunStart({ shape: [512, 256] });
    const writer = await open(join(dir, 'failing.h5'), start, { overwrite: false });
    appendFrames(writer, start, range(0, 3));
    writer.flush();
    backend.failOnChunkWrite = 5;
    appendFrames(writer, start, [3]);
    assert.throws(() => appendFrames(writer, start, [4]), /No space left on device/);
    assert.equal(writer.framesWritten, 4, 'the frame whose write failed is not counted');

    const callsAtFailure = backend.calls.length;
    assert.throws(
      () => writer.flush(),
      (error: unknown) => isLabcastError(error) && error.code === 'WRITE_FAILED',
    );
    assert.throws(
      () => writer.finish(makeRunEnd(start)),
      (error: unknown) => {
        assert.ok(isLabcastError(error));
        assert.equal(error.code, 'WRITE_FAILED');
        assert.match(error.message, /left as of its last flush \(3 frames\).*No space left on device/);
        return true;
      },
    );
    assert.deepEqual(backend.calls.slice(callsAtFailure), [], 'nothing reached HDF5 after the failure');
    assert.equal(writer.framesFlushed, 3);
  } finally {
    remove();
  }
});

test('a flush writes the partly filled chunk of small frames, and the full chunk is written again when it fills', async () => {
  const { dir, remove } = tempDir();
  try {
    const backend = new ScriptedBackend();
    const open = layoutWriterOpener(async () => backend);
    // 8 KiB frames: 128 per chunk.
    const start = makeRunStart({ shape: [64, 64] });
    const writer = await open(join(dir, 'small.h5'), start, { overwrite: false });
    appendFrames(writer, start, range(0, 50));
    writer.flush();
    writer.flush();
    appendFrames(writer, start, range(50, 130));
    writer.finish(makeRunEnd(start, { frames_acquired: 130 }));
    assert.deepEqual(
      backend.calls.filter((call) => call.includes('frames') || call.startsWith('valid') || call === 'flush' || call === 'close'),
      [
        'valid_frames 0',
        'flush', // at open: an empty, valid file
        'resize frames 50',
        'chunk frames 0+50',
        'valid_frames 50',
        'flush',
        'flush', // nothing new: no rewrite
        'resize frames 128',
        'chunk frames 0+128',
        'resize frames 130',
        'chunk frames 128+2',
        'valid_frames 130',
        'close',
      ],
    );
  } finally {
    remove();
  }
});

test('after a failed write, finish() abandons the file (stops its compression threads) and never closes it', async () => {
  const { dir, remove } = tempDir();
  try {
    const backend = new ScriptedBackend();
    const start = makeRunStart({ shape: [512, 256] });
    const writer = await layoutWriterOpener(async () => ({
      name: backend.name,
      description: backend.description,
      createFile: (path: string) => ({ ...backend.createFile(path), abandon: () => void backend.calls.push('abandon') }),
    }))(join(dir, 'abandoned.h5'), start, { overwrite: false });
    appendFrames(writer, start, range(0, 2));
    writer.flush();
    backend.failOnChunkWrite = 3;
    assert.throws(() => appendFrames(writer, start, [2]), /No space left on device/);
    const callsAtFailure = backend.calls.length;
    assert.throws(() => writer.finish(makeRunEnd(start)), /left as of its last flush \(2 frames\)/);
    assert.deepEqual(backend.calls.slice(callsAtFailure), ['abandon'], 'abandoned once, not flushed, not closed');
  } finally {
    remove();
  }
});
