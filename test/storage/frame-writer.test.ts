import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isLabcastError } from '../../src/protocol/errors.js';
import { parseWithNs } from '../../src/protocol/json-ns.js';
import { inspectRecording } from '../../src/hdf5/file-inspector.js';
import { MAX_FRAMES_PER_CHUNK } from '../../src/storage/frames-dataset.js';
import { describeHdf5Error } from '../../src/hdf5/h5wasm-runtime.js';
import { isoFromNs } from '../../src/storage/run-metadata.js';
import {
  appendFrames,
  dumpWithH5py,
  FRAME_PERIOD_NS,
  framePixels,
  h5pyMissing,
  makeHeader,
  makeRunEnd,
  makeRunStart,
  mountSmallDisk,
  range,
  readValidFrames,
  runH5dump,
  sha256,
  START_NS,
  tempDir,
  unmountSmallDisk,
  WALL_OFFSET_NS,
  writeKilledRecording,
} from './fixtures.js';
import { WRITERS } from './writer-backends.js';

const noH5py = h5pyMissing();

/** 256 KiB of uint16: the smallest frame that gets a chunk of its own. */
const LARGE_FRAME = [512, 256];

function expectedSha(start: ReturnType<typeof makeRunStart>, seqs: number[]): string[] {
  return seqs.map((seq) => sha256(framePixels(start.shape, start.dtype, seq)));
}

for (const backend of WRITERS) {
  describe(`${backend.name} writer`, { skip: backend.skip }, () => {
    test('a finished uint16 recording reads back in h5py with the full NeXus layout', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'run.h5');
        const start = makeRunStart();
        const seqs = [0, 1, 2, 5, 6, 7, 9];
        const writer = await backend.open(path, start, { overwrite: false });
        appendFrames(writer, start, seqs.slice(0, 3));
        writer.flush();
        appendFrames(writer, start, seqs.slice(3));
        const summary = writer.finish(makeRunEnd(start, { frames_acquired: 12, frames_dropped: 0 }));

        assert.deepEqual(summary, {
          path,
          framesWritten: 7,
          gaps: [
            [3, 2],
            [8, 1],
            [10, 2],
          ],
          bytesWritten: 7 * 6 * 8 * 2,
          // Frames 0..9, 10 ms apart: run-timing.ts's duration and rate.
          timing: { durationS: 0.09, fps: 9 / 0.09 },
        });

        const h5 = dumpWithH5py(path);
        const root = h5['/']!;
        assert.equal(root.attrs.default, 'entry');
        assert.equal(root.attrs.creator, 'labcast');
        assert.equal(root.attrs.NX_class, 'NXroot');

        const entry = h5['/entry']!;
        assert.equal(entry.attrs.NX_class, 'NXentry');
        assert.equal(entry.attrs.default, 'data');
        assert.equal(entry.attrs.labcast_version, '0.1.0-test');
        assert.equal(entry.attrs.node_version, process.version);
        assert.equal(entry.attrs.host, 'test-host');
        assert.equal(entry.attrs.run_id, 'run-test-1');
        assert.match(entry.attrs.hdf5_writer as string, backend.name === 'native' ? /^native \(libhdf5 1\.\d+\.\d+\)$/ : /^h5wasm \d/);
        assert.equal(entry.attrs.start_time_ns, START_NS.toString());
        assert.equal(entry.attrs.end_time_ns, (START_NS + 5_000_000_000n).toString());
        assert.deepEqual(parseWithNs(entry.attrs.config_json as string), start.config);
        assert.equal(h5['/entry/start_time']!.value, '2024-05-01T12:51:30.123456789Z');
        assert.deepEqual(h5['/entry/start_time']!.shape, []);
        assert.equal(h5['/entry/end_time']!.value, '2024-05-01T12:51:35.123456789Z');

        const data = h5['/entry/data']!;
        assert.equal(data.attrs.NX_class, 'NXdata');
        assert.equal(data.attrs.signal, 'frames');
        assert.deepEqual(data.attrs.axes, ['frame_id', '.', '.']);

        const frames = h5['/entry/data/frames']!;
        assert.deepEqual(frames.shape, [7, 6, 8]);
        assert.equal(frames.dtype, '<u2');
        // 96-byte frames: many per chunk, up to the cap.
        assert.deepEqual(frames.chunks, [MAX_FRAMES_PER_CHUNK, 6, 8]);
        assert.deepEqual(frames.maxshape, [null, 6, 8]);
        assert.equal(frames.compression, null);
        assert.equal(frames.attrs.interpretation, 'image');
        assert.equal(frames.attrs.valid_frames, 7);
        assert.deepEqual(frames.frameSha256, expectedSha(start, seqs));

        assert.deepEqual(h5['/entry/data/frame_id']!.value, seqs);
        assert.equal(h5['/entry/data/frame_id']!.dtype, '<i8');
        assert.deepEqual(
          h5['/entry/data/timestamp_ns']!.value,
          seqs.map((seq) => (START_NS + BigInt(seq) * FRAME_PERIOD_NS).toString()),
        );
        assert.equal(h5['/entry/data/timestamp_ns']!.attrs.units, 'ns');
        assert.deepEqual(
          h5['/entry/data/wall_timestamp_ns']!.value,
          seqs.map((seq) => (START_NS + BigInt(seq) * FRAME_PERIOD_NS + WALL_OFFSET_NS).toString()),
        );

        assert.equal(h5['/entry/instrument']!.attrs.NX_class, 'NXinstrument');
        const camera = h5['/entry/instrument/camera']!;
        assert.equal(camera.attrs.NX_class, 'NXdetector');
        assert.deepEqual(JSON.parse(camera.attrs.settings_json as string), start.camera.settings);
        assert.equal(h5['/entry/instrument/camera/driver']!.value, 'sim');
        assert.equal(h5['/entry/instrument/camera/model']!.value, 'labcast simulated camera (test)');
        assert.equal(h5['/entry/instrument/camera/exposure_ms']!.value, 12.5);
        assert.equal(h5['/entry/instrument/camera/exposure_ms']!.dtype, '<f8');
        assert.equal(h5['/entry/instrument/camera/gain']!.dtype, '<f8');
        assert.equal(h5['/entry/instrument/camera/pattern']!.value, 'particles');
        assert.equal(h5['/entry/instrument/camera/mirror']!.value, 1);

        assert.equal(h5['/entry/acquisition']!.attrs.NX_class, 'NXcollection');
        const acquisition = (name: string): unknown => h5[`/entry/acquisition/${name}`]!.value;
        assert.equal(acquisition('frames_requested'), 12);
        assert.equal(acquisition('duration_requested_s'), -1);
        assert.equal(acquisition('frames_written'), 7);
        assert.equal(acquisition('frames_acquired'), 12);
        assert.equal(acquisition('frames_dropped'), 0);
        assert.equal(acquisition('end_reason'), 'completed');
        assert.equal(acquisition('error'), '');
        assert.deepEqual(acquisition('gaps'), [
          [3, 2],
          [8, 1],
          [10, 2],
        ]);
        assert.equal(h5['/entry/acquisition/gaps']!.dtype, '<i8');
      } finally {
        remove();
      }
    });

    test("the config's camera.pixel_size_um is the detector's NeXus x_pixel_size and y_pixel_size, in um", { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const sized = makeRunStart({ config: { camera: { driver: 'sim', pixel_size_um: 6.5 } } });
        const path = join(dir, 'sized.h5');
        const writer = await backend.open(path, sized, { overwrite: false });
        appendFrames(writer, sized, [0]);
        writer.finish(makeRunEnd(sized, { frames_acquired: 1, frames_dropped: 0 }));
        const h5 = dumpWithH5py(path);
        for (const name of ['x_pixel_size', 'y_pixel_size']) {
          const field = h5[`/entry/instrument/camera/${name}`]!;
          assert.equal(field.value, 6.5, name);
          assert.equal(field.dtype, '<f8');
          assert.equal(field.attrs.units, 'um');
        }
        // Without it the fields are absent: no made-up size.
        const plain = makeRunStart();
        const plainPath = join(dir, 'plain.h5');
        const plainWriter = await backend.open(plainPath, plain, { overwrite: false });
        appendFrames(plainWriter, plain, [0]);
        plainWriter.finish(makeRunEnd(plain, { frames_acquired: 1, frames_dropped: 0 }));
        assert.equal(dumpWithH5py(plainPath)['/entry/instrument/camera/x_pixel_size'], undefined);
      } finally {
        remove();
      }
    });

    test('the HDF5 1.10 h5dump tool reads the file, which has superblock v2 (no "open for write" flag)', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'run.h5');
        const start = makeRunStart();
        const writer = await backend.open(path, start, { overwrite: false });
        appendFrames(writer, start, range(0, 3));
        writer.finish(makeRunEnd(start, { frames_acquired: 3 }));
        const dump = runH5dump(['-B', '-H', path]);
        assert.equal(dump.status, 0, dump.stderr);
        assert.match(dump.stdout, /SUPERBLOCK_VERSION 2/);
        assert.match(dump.stdout, /DATASET "frames"/);
      } finally {
        remove();
      }
    });

    test('colour frames are stored as [N, H, W, C] uint8, marked as colour images for silx and h5web', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'colour.h5');
        const start = makeRunStart({ shape: [4, 5, 3], dtype: 'uint8' });
        const writer = await backend.open(path, start, { overwrite: false });
        appendFrames(writer, start, range(0, 4));
        writer.finish(makeRunEnd(start, { frames_acquired: 4 }));

        const h5 = dumpWithH5py(path);
        const frames = h5['/entry/data/frames']!;
        assert.deepEqual(frames.shape, [4, 4, 5, 3]);
        assert.equal(frames.dtype, '|u1');
        assert.deepEqual(frames.chunks, [MAX_FRAMES_PER_CHUNK, 4, 5, 3]);
        assert.deepEqual(frames.maxshape, [null, 4, 5, 3]);
        assert.equal(frames.attrs.interpretation, 'rgba-image');
        assert.equal(frames.attrs.CLASS, 'IMAGE');
        assert.equal(frames.attrs.IMAGE_SUBCLASS, 'IMAGE_TRUECOLOR');
        assert.deepEqual(h5['/entry/data']!.attrs.axes, ['frame_id', '.', '.', '.']);
        assert.deepEqual(frames.frameSha256, expectedSha(start, range(0, 4)));
      } finally {
        remove();
      }
    });

    test('a run without gaps and without a run end has an empty [0, 2] gap table and "unknown" counters', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'no-end.h5');
        const start = makeRunStart({ frames_requested: null, duration_s: 2.5 });
        const writer = await backend.open(path, start, { overwrite: false });
        appendFrames(writer, start, range(0, 5));
        const before = Date.now();
        const summary = writer.finish(null);
        assert.deepEqual(summary.gaps, []);

        const h5 = dumpWithH5py(path);
        const gaps = h5['/entry/acquisition/gaps']!;
        assert.deepEqual(gaps.shape, [0, 2]);
        assert.equal(gaps.dtype, '<i8');
        assert.equal(h5['/entry/acquisition/end_reason']!.value, 'unknown');
        assert.equal(h5['/entry/acquisition/frames_requested']!.value, -1);
        assert.equal(h5['/entry/acquisition/duration_requested_s']!.value, 2.5);
        assert.equal(h5['/entry/acquisition/frames_acquired']!.value, -1);
        assert.equal(h5['/entry/acquisition/frames_dropped']!.value, -1);
        assert.equal(h5['/entry/acquisition/frames_written']!.value, 5);
        // Without a run end, the end time is when the writer closed the file.
        const endNs = BigInt(h5['/entry']!.attrs.end_time_ns as string);
        assert.ok(endNs >= BigInt(before) * 1_000_000n && endNs <= BigInt(Date.now()) * 1_000_000n);
      } finally {
        remove();
      }
    });

    test('the error of a failed run is recorded', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'failed.h5');
        const start = makeRunStart();
        const writer = await backend.open(path, start, { overwrite: false });
        appendFrames(writer, start, range(0, 2));
        writer.finish(makeRunEnd(start, { reason: 'error', error: 'camera unplugged', frames_acquired: 4, frames_dropped: 1 }));
        const h5 = dumpWithH5py(path);
        assert.equal(h5['/entry/acquisition/end_reason']!.value, 'error');
        assert.equal(h5['/entry/acquisition/error']!.value, 'camera unplugged');
        assert.equal(h5['/entry/acquisition/frames_dropped']!.value, 1);
        assert.deepEqual(h5['/entry/acquisition/gaps']!.value, [[2, 2]]);
      } finally {
        remove();
      }
    });

    test('no trailing empty frames: flush and finish trim the block-grown dataset to the frames written', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'trim.h5');
        const start = makeRunStart({ shape: [2, 3] });
        const writer = await backend.open(path, start, { overwrite: false });
        // More than one growth block, and a flush in the middle of the second block.
        appendFrames(writer, start, range(0, 129));
        writer.flush();
        const flushed = dumpWithH5py(path);
        assert.deepEqual(flushed['/entry/data/frames']!.shape, [129, 2, 3]);
        assert.deepEqual(flushed['/entry/data/frame_id']!.shape, [129]);
        assert.equal(flushed['/entry/data/frames']!.attrs.valid_frames, 129);

        appendFrames(writer, start, range(129, 131));
        writer.finish(makeRunEnd(start, { frames_acquired: 131 }));
        const h5 = dumpWithH5py(path);
        assert.deepEqual(h5['/entry/data/frames']!.shape, [131, 2, 3]);
        assert.deepEqual(h5['/entry/data/frames']!.frameSha256, expectedSha(start, range(0, 131)));
        for (const name of ['frame_id', 'timestamp_ns', 'wall_timestamp_ns']) {
          assert.deepEqual(h5[`/entry/data/${name}`]!.shape, [131], name);
        }
        assert.deepEqual(h5['/entry/data/frame_id']!.value, range(0, 131));
      } finally {
        remove();
      }
    });

    test('flush() makes appended frames visible to h5py while the writer keeps the file open', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'live.h5');
        const start = makeRunStart();
        const writer = await backend.open(path, start, { overwrite: false });
        const atOpen = dumpWithH5py(path);
        assert.deepEqual(atOpen['/entry/data/frames']!.shape, [0, 6, 8]);

        appendFrames(writer, start, range(0, 3));
        writer.flush();
        const first = dumpWithH5py(path);
        assert.deepEqual(first['/entry/data/frames']!.frameSha256, expectedSha(start, range(0, 3)));
        assert.deepEqual(first['/entry/data/frame_id']!.value, [0, 1, 2]);

        appendFrames(writer, start, range(3, 8));
        writer.flush();
        const second = dumpWithH5py(path);
        assert.deepEqual(second['/entry/data/frames']!.frameSha256, expectedSha(start, range(0, 8)));
        assert.deepEqual(second['/entry/data/frame_id']!.value, range(0, 8));
        writer.finish(makeRunEnd(start, { frames_acquired: 8 }));
      } finally {
        remove();
      }
    });

    test(
      'a writer killed with SIGKILL after a flush leaves a file h5py opens, holding exactly the flushed frames',
      { skip: noH5py },
      async () => {
        const { dir, remove } = tempDir();
        try {
          const path = join(dir, 'killed.h5');
          const start = makeRunStart();
          await writeKilledRecording(path, start, 10, 5, backend);

          const h5 = dumpWithH5py(path);
          const frames = h5['/entry/data/frames']!;
          assert.deepEqual(frames.shape, [10, 6, 8]);
          assert.equal(frames.attrs.valid_frames, 10);
          assert.deepEqual(frames.frameSha256, expectedSha(start, range(0, 10)));
          assert.deepEqual(h5['/entry/data/frame_id']!.value, range(0, 10));
          assert.deepEqual(h5['/entry/data/timestamp_ns']!.shape, [10]);
          assert.equal(h5['/entry/acquisition/frames_requested']!.value, 12);
          assert.equal(h5['/entry/acquisition/end_reason'], undefined, 'an unfinished file has no end reason');
          assert.equal(h5['/entry']!.attrs.run_id, 'run-test-1');

          const summary = await inspectRecording(path);
          assert.equal(summary.finished, false);
          assert.equal(summary.frameCount, 10);
          assert.equal(summary.lastFrameId, 9);
          assert.equal(summary.acquisition.endReason, null);
        } finally {
          remove();
        }
      },
    );

    test('16-bit frames at an odd byte offset are written correctly, small (shared chunks) and large', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        for (const shape of [[6, 8], LARGE_FRAME]) {
          const path = join(dir, `odd-${shape.join('x')}.h5`);
          const start = makeRunStart({ shape });
          const writer = await backend.open(path, start, { overwrite: false });
          for (const seq of range(0, 3)) {
            const pixels = framePixels(start.shape, start.dtype, seq);
            const carrier = new Uint8Array(pixels.length + 1);
            carrier.set(pixels, 1);
            writer.append(makeHeader(start, seq), carrier.subarray(1));
          }
          writer.finish(makeRunEnd(start, { frames_acquired: 3 }));
          assert.deepEqual(dumpWithH5py(path)['/entry/data/frames']!.frameSha256, expectedSha(start, range(0, 3)), shape.join('x'));
        }
      } finally {
        remove();
      }
    });

    test('an existing file is refused unless overwrite is asked for', async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'exists.h5');
        writeFileSync(path, 'precious data');
        await assert.rejects(backend.open(path, makeRunStart(), { overwrite: false }), (error: unknown) => {
          assert.ok(isLabcastError(error));
          assert.equal(error.code, 'OUTPUT_EXISTS');
          assert.ok(error.message.includes(path), error.message);
          return true;
        });
        assert.equal(readFileSync(path, 'utf8'), 'precious data');

        const start = makeRunStart();
        const writer = await backend.open(path, start, { overwrite: true });
        appendFrames(writer, start, range(0, 1));
        writer.finish(makeRunEnd(start, { frames_acquired: 1 }));
        assert.equal((await inspectRecording(path)).frameCount, 1);
      } finally {
        remove();
      }
    });

    test('an unwritable location is OUTPUT_UNWRITABLE', async () => {
      const { dir, remove } = tempDir();
      try {
        const notADirectory = join(dir, 'plain-file');
        writeFileSync(notADirectory, '');
        const targets = [join(dir, 'missing-dir', 'run.h5'), join(notADirectory, 'run.h5')];
        // Root may write anywhere, so a read-only directory proves nothing there.
        if (process.getuid?.() !== 0) {
          const readOnly = join(dir, 'read-only');
          mkdirSync(readOnly);
          chmodSync(readOnly, 0o555);
          targets.push(join(readOnly, 'run.h5'));
        }
        for (const target of targets) {
          await assert.rejects(backend.open(target, makeRunStart(), { overwrite: false }), (error: unknown) => {
            assert.ok(isLabcastError(error));
            assert.equal(error.code, 'OUTPUT_UNWRITABLE', error.message);
            assert.ok(error.message.includes(target), error.message);
            return true;
          });
          assert.equal(existsSync(target), false);
        }
      } finally {
        remove();
      }
    });

    test('append() and flush() after finish() throw; a second finish() returns the first summary', async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'closed.h5');
        const start = makeRunStart();
        const writer = await backend.open(path, start, { overwrite: false });
        appendFrames(writer, start, range(0, 2));
        const summary = writer.finish(makeRunEnd(start, { frames_acquired: 2 }));
        assert.throws(() => appendFrames(writer, start, [2]), /after finish\(\)/);
        assert.throws(() => writer.flush(), /after finish\(\)/);
        assert.equal(writer.finish(null), summary);
        assert.equal(writer.framesWritten, 2);
      } finally {
        remove();
      }
    });

    test('frames that do not match the run, or arrive out of order, are refused as BAD_MESSAGE and not written', async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'refused.h5');
        const start = makeRunStart();
        const writer = await backend.open(path, start, { overwrite: false });
        appendFrames(writer, start, [0, 1, 2]);
        const good = framePixels(start.shape, start.dtype, 3);
        const refusals: Array<[string, () => void, RegExp]> = [
          ['short pixels', () => writer.append(makeHeader(start, 3), good.subarray(2)), /needs 96/],
          ['other shape', () => writer.append({ ...makeHeader(start, 3), shape: [8, 6] }, good), /\[8, 6\]/],
          ['other dtype', () => writer.append({ ...makeHeader(start, 3), dtype: 'uint8' }, good), /uint8/],
          ['other run', () => writer.append({ ...makeHeader(start, 3), run_id: 'other' }, good), /run other/],
          ['repeated id', () => writer.append(makeHeader(start, 2), good), /increasing/],
        ];
        for (const [label, append, message] of refusals) {
          assert.throws(append, (error: unknown) => {
            assert.ok(isLabcastError(error), label);
            assert.equal(error.code, 'BAD_MESSAGE', label);
            assert.match(error.message, message, label);
            return true;
          });
        }
        assert.equal(writer.framesWritten, 3);
        writer.append(makeHeader(start, 3), good);
        writer.finish(makeRunEnd(start, { frames_acquired: 4 }));
        assert.deepEqual((await inspectRecording(path)).gaps, []);
      } finally {
        remove();
      }
    });

    test('small frames share ~1 MiB chunks and read back exactly, across flushes and chunk boundaries', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'small.h5');
        // 8 KiB frames: 128 to a chunk.
        const start = makeRunStart({ shape: [64, 64], frames_requested: 300 });
        const writer = await backend.open(path, start, { overwrite: false });

        appendFrames(writer, start, range(0, 50));
        writer.flush();
        const partial = dumpWithH5py(path)['/entry/data/frames']!;
        assert.deepEqual(partial.shape, [50, 64, 64], 'a partly filled chunk is readable after a flush');
        assert.equal(partial.attrs.valid_frames, 50);
        assert.deepEqual(partial.frameSha256, expectedSha(start, range(0, 50)));

        appendFrames(writer, start, range(50, 200));
        writer.flush();
        const crossed = dumpWithH5py(path);
        assert.deepEqual(crossed['/entry/data/frames']!.frameSha256, expectedSha(start, range(0, 200)));
        assert.deepEqual(crossed['/entry/data/frame_id']!.value, range(0, 200));

        appendFrames(writer, start, range(200, 300));
        writer.finish(makeRunEnd(start, { frames_acquired: 300 }));
        const h5 = dumpWithH5py(path);
        const frames = h5['/entry/data/frames']!;
        assert.deepEqual(frames.chunks, [128, 64, 64]);
        assert.deepEqual(frames.shape, [300, 64, 64]);
        assert.equal(frames.attrs.valid_frames, 300);
        assert.deepEqual(frames.frameSha256, expectedSha(start, range(0, 300)));
        assert.deepEqual(h5['/entry/data/frame_id']!.value, range(0, 300));
        assert.equal((await inspectRecording(path)).frameCount, 300);
      } finally {
        remove();
      }
    });

    test(
      'small frames received back to back in one buffer read back exactly, however batches and flushes fall',
      { skip: noH5py },
      async () => {
        const { dir, remove } = tempDir();
        try {
          const path = join(dir, 'batched.h5');
          // 8 KiB frames: 128 to a chunk. Batches as a receiver gets them: each one buffer, frames back to back.
          const start = makeRunStart({ shape: [64, 64], frames_requested: 1100 });
          const writer = await backend.open(path, start, { overwrite: false });
          const frameBytes = 64 * 64 * 2;
          const batches: Uint8Array[] = [];
          let seq = 0;
          const appendBatch = (count: number): void => {
            const batch = new Uint8Array(count * frameBytes);
            for (let i = 0; i < count; i++) batch.set(framePixels(start.shape, start.dtype, seq + i), i * frameBytes);
            for (let i = 0; i < count; i++) writer.append(makeHeader(start, seq + i), batch.subarray(i * frameBytes, (i + 1) * frameBytes));
            batches.push(batch);
            seq += count;
          };
          appendBatch(128); // exactly one chunk
          appendBatch(50); // a chunk begun from one batch...
          appendBatch(78); // ...ended from another
          appendBatch(200); // across a chunk boundary
          appendBatch(30);
          writer.flush(); // mid-chunk: the partly filled chunk is written
          // What the writer was given is the caller's again once flushed.
          for (const batch of batches) batch.fill(0xee);
          appendBatch(226); // ends exactly on a chunk boundary (640)
          appendBatch(1);
          appendBatch(127);
          appendBatch(128 + 100);
          writer.flush();
          for (const batch of batches) batch.fill(0xee);
          assert.equal(seq, 1068);
          for (; seq < 1100; seq++) writer.append(makeHeader(start, seq), framePixels(start.shape, start.dtype, seq));
          writer.finish(makeRunEnd(start, { frames_acquired: 1100 }));
          const frames = dumpWithH5py(path)['/entry/data/frames']!;
          assert.deepEqual(frames.shape, [1100, 64, 64]);
          assert.deepEqual(frames.frameSha256, expectedSha(start, range(0, 1100)));
        } finally {
          remove();
        }
      },
    );

    test('large frames are one chunk each; the extent grows in blocks and flush trims it', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'large.h5');
        const start = makeRunStart({ shape: LARGE_FRAME, frames_requested: 131 });
        const writer = await backend.open(path, start, { overwrite: false });
        // Past the first growth block of 128, flushed in the second.
        appendFrames(writer, start, range(0, 129));
        writer.flush();
        const flushed = dumpWithH5py(path)['/entry/data/frames']!;
        assert.deepEqual(flushed.shape, [129, ...LARGE_FRAME]);
        assert.deepEqual(flushed.chunks, [1, ...LARGE_FRAME]);

        appendFrames(writer, start, range(129, 131));
        writer.finish(makeRunEnd(start, { frames_acquired: 131 }));
        const frames = dumpWithH5py(path)['/entry/data/frames']!;
        assert.deepEqual(frames.shape, [131, ...LARGE_FRAME]);
        assert.deepEqual(frames.frameSha256, expectedSha(start, range(0, 131)));
      } finally {
        remove();
      }
    });

    test('a kill after a flush that wrote a partly filled chunk keeps exactly the flushed frames', { skip: noH5py }, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'killed-small.h5');
        const start = makeRunStart({ shape: [64, 64] });
        await writeKilledRecording(path, start, 50, 20, backend);
        const frames = dumpWithH5py(path)['/entry/data/frames']!;
        assert.deepEqual(frames.shape, [50, 64, 64]);
        assert.equal(frames.attrs.valid_frames, 50);
        assert.deepEqual(frames.frameSha256, expectedSha(start, range(0, 50)));
        const summary = await inspectRecording(path);
        assert.equal(summary.finished, false);
        assert.equal(summary.frameCount, 50);
      } finally {
        remove();
      }
    });

    test(
      'a full disk stops the writer with "No space left on device"; the file keeps the frames of its last flush',
      { skip: noH5py },
      async (t) => {
        const { dir, remove } = tempDir();
        const disk = join(dir, 'small-disk');
        const cannotMount = mountSmallDisk(disk, 6);
        if (cannotMount !== null) {
          remove();
          return t.skip(cannotMount);
        }
        try {
          const path = join(disk, 'full.h5');
          // 512 KiB frames, a flush every third: the 6 MB disk fills after a few flushes.
          const start = makeRunStart({ shape: [512, 512], frames_requested: null });
          const writer = await backend.open(path, start, { overwrite: false });
          let failure: unknown = null;
          for (let seq = 0; seq < 100 && failure === null; seq++) {
            try {
              writer.append(makeHeader(start, seq), framePixels(start.shape, start.dtype, seq));
              if (seq % 3 === 2) writer.flush();
            } catch (error) {
              failure = error;
            }
          }
          assert.ok(failure !== null, 'the disk filled up');
          const message = describeHdf5Error(failure);
          assert.match(message, /No space left on device/);
          assert.doesNotMatch(message, /HDF5-DIAG/);
          // As the saver does after a failed write: close what can be closed, keep the flushed frames.
          try {
            writer.finish(null);
          } catch {
            // Expected on a full disk.
          }
          const kept = writer.framesFlushed;
          assert.ok(kept > 0, 'frames were flushed before the disk filled');
          const read = readValidFrames(path);
          assert.equal(read.valid, kept, 'valid_frames is the count of the last flush');
          assert.deepEqual(read.frameSha256, expectedSha(start, range(0, kept)));
          assert.deepEqual(read.frameIds, range(0, kept));
        } finally {
          unmountSmallDisk(disk);
          remove();
        }
      },
    );
  });
}

test('isoFromNs keeps all nine digits of the nanoseconds', () => {
  assert.equal(isoFromNs(1_714_567_890_123_456_789n), '2024-05-01T12:51:30.123456789Z');
  assert.equal(isoFromNs(5n), '1970-01-01T00:00:00.000000005Z');
});

for (const backend of WRITERS) {
  test(`${backend.name} writer: a file that cannot be created is named once in the error`, { skip: backend.skip }, async () => {
    // /proc passes the permission checks for root, and no file can be created in it.
    await assert.rejects(backend.open('/proc/labcast-test.h5', makeRunStart(), { overwrite: false }), (error: Error) => {
      assert.match(error.message, /cannot create \/proc\/labcast-test\.h5/);
      assert.equal(error.message.split('/proc/labcast-test.h5').length - 1, 1, error.message);
      return true;
    });
  });
}
