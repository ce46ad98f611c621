import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { RunStart } from '../../src/protocol/messages.js';
import { loadNativeAddon, type Hdf5Addon } from '../../src/native/native-addon.js';
import { DIRECT_IO_ENV, directIoWanted } from '../../src/storage/native-backend.js';
import { openNativeWriter } from '../../src/storage/native-writer.js';
import {
  appendFrames,
  framePixels,
  h5pyMissing,
  makeHeader,
  makeRunEnd,
  makeRunStart,
  range,
  readValidFrames,
  sha256,
  tempDir,
  writeKilledRecording,
} from './fixtures.js';
import { writerNamed } from './writer-backends.js';

const native = writerNamed('native');
const skip = native.skip || h5pyMissing();

function addon(): Hdf5Addon {
  const loaded = loadNativeAddon();
  if ('failure' in loaded) throw new Error(loaded.failure);
  return loaded.addon;
}

/** Ring frames copied into huge pages before their O_DIRECT write (native/write_staging.c): 1 always, 0 never. */
const STAGING_ENV = 'LABCAST_DIRECT_STAGING';

const expectedSha = (start: RunStart, seqs: number[]): string[] => seqs.map((seq) => sha256(framePixels(start.shape, start.dtype, seq)));
const frameBytes = (start: RunStart): number => start.shape.reduce((n, d) => n * d, 1) * (start.dtype === 'uint16' ? 2 : 1);

/**
 * Appends `frames` frames to `writer` as the saver does from the acquisition's
 * ring of `slots` slots (page 0 the release count, then the slots): each
 * frame's pixels in its slot, appended from there and the slot released; a
 * slot is filled again only once it has been released, as the acquisition
 * does. `afterAppend` runs after each frame (with the release count, to
 * read); a frame for which `copiedBefore` says so is marked as the saver
 * marks one that took a copy on its way into its slot. Returns the release count.
 */
async function appendThroughRing(
  writer: Awaited<ReturnType<typeof openNativeWriter>>,
  start: RunStart,
  frames: number,
  slots: number,
  pixelsOf: (seq: number) => Uint8Array,
  {
    afterAppend = () => {},
    copiedBefore = () => false,
  }: { afterAppend?: (seq: number, releasedCount: () => number) => void; copiedBefore?: (seq: number) => boolean } = {},
): Promise<() => number> {
  const bytes = frameBytes(start);
  const ring = addon().createSharedMemory(4096 + slots * bytes).buffer;
  const released = new BigInt64Array(ring, 0, 1);
  const releasedCount = (): number => Number(Atomics.load(released, 0));
  for (let seq = 0; seq < frames; seq++) {
    while (releasedCount() < seq - slots + 1) await new Promise((resolve) => setTimeout(resolve, 1));
    const offset = 4096 + (seq % slots) * bytes;
    const slot = new Uint8Array(ring, offset, bytes);
    slot.set(pixelsOf(seq));
    if (copiedBefore(seq)) addon().markSharedSlotCopied(ring, offset, bytes);
    writer.append(makeHeader(start, seq), slot);
    addon().releaseSharedSlot(ring, offset, bytes);
    afterAppend(seq, releasedCount);
  }
  return releasedCount;
}

/** `run` with the environment variable `name` set to `value` (undefined: unset), then as it was. */
async function withEnv<T>(name: string, value: string | undefined, run: () => Promise<T>): Promise<T> {
  const saved = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  }
}

/** Writes `frames` frames with a flush every `flushEvery`, finishes, and returns the addon's counters' growth. */
async function recordCounting(path: string, start: RunStart, frames: number, flushEvery: number, env: string | undefined) {
  const before = addon().ioCounters();
  await withEnv(DIRECT_IO_ENV, env, async () => {
    const writer = await openNativeWriter(path, start, { overwrite: false });
    for (let seq = 0; seq < frames; seq++) {
      appendFrames(writer, start, [seq]);
      if (seq % flushEvery === flushEvery - 1) writer.flush();
    }
    writer.finish(makeRunEnd(start, { frames_acquired: frames }));
  });
  const after = addon().ioCounters();
  return { direct: after.directBytes - before.directBytes, buffered: after.bufferedBytes - before.bufferedBytes };
}

describe('frame chunks written with O_DIRECT (native/direct_vfd.c)', { skip }, () => {
  const cases: Array<[string, RunStart, number]> = [
    // A whole number of pages: all of it direct.
    ['1 MiB frames, one chunk each', makeRunStart({ shape: [1024, 512], frames_requested: 24 }), 24],
    // 2 000 000 bytes, not a whole number of pages: the last page of each chunk goes through the page cache.
    ['1000x1000 frames, chunks that end mid-page', makeRunStart({ shape: [1000, 1000], frames_requested: 12 }), 12],
    // 8 KiB frames, 128 to a 1 MiB chunk, the partly filled chunk rewritten at each flush.
    ['64x64 frames sharing chunks', makeRunStart({ shape: [64, 64], frames_requested: 700 }), 700],
  ];
  for (const [label, start, frames] of cases) {
    test(`every frame reads back byte for byte, and the frames bypassed the page cache: ${label}`, async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'direct.h5');
        const counted = await recordCounting(path, start, frames, 5, undefined);
        const read = readValidFrames(path);
        assert.equal(read.valid, frames);
        assert.deepEqual(read.frameSha256, expectedSha(start, range(0, frames)));
        assert.deepEqual(read.frameIds, range(0, frames));
        const total = frames * frameBytes(start);
        assert.ok(counted.direct >= 0.9 * total, `${counted.direct} of ${total} frame bytes went with O_DIRECT`);
      } finally {
        remove();
      }
    });
  }

  test(`${DIRECT_IO_ENV}=0: every byte through the page cache, the same frames in the file`, async () => {
    const { dir, remove } = tempDir();
    try {
      const start = makeRunStart({ shape: [1024, 512], frames_requested: 8 });
      const path = join(dir, 'buffered.h5');
      const counted = await recordCounting(path, start, 8, 3, '0');
      assert.equal(counted.direct, 0);
      assert.equal(counted.buffered, 0, 'sec2, not the direct driver, wrote the file');
      assert.deepEqual(readValidFrames(path).frameSha256, expectedSha(start, range(0, 8)));
    } finally {
      remove();
    }
  });

  test('chunks of small frames that follow one another while the device is busy go to it together, intact', async () => {
    const { dir, remove } = tempDir();
    try {
      // 8 KiB frames, 128 to a 1 MiB chunk: 100 chunks appended as fast as the writer takes them.
      const chunks = 100;
      const frames = chunks * 128;
      const start = makeRunStart({ shape: [64, 64], frames_requested: frames });
      const path = join(dir, 'coalesced.h5');
      const before = addon().ioCounters();
      const writer = await openNativeWriter(path, start, { overwrite: false });
      // Frames back to back in one buffer per chunk, as a batch arrives, so each chunk is written from it.
      const batch = new Uint8Array(128 * 8192);
      for (let seq = 0; seq < frames; seq++) {
        const i = seq % 128;
        if (i === 0) for (let j = 0; j < 128; j++) batch.set(framePixels(start.shape, start.dtype, seq + j), j * 8192);
        writer.append(makeHeader(start, seq), batch.subarray(i * 8192, (i + 1) * 8192));
      }
      writer.finish(makeRunEnd(start, { frames_acquired: frames }));
      const after = addon().ioCounters();
      const writes = after.directWrites - before.directWrites;
      assert.ok(writes > 0 && writes < chunks, `${writes} direct writes for ${chunks} chunks: none shared a write`);
      assert.ok(after.directBytes - before.directBytes >= chunks * 1024 * 1024);
      const read = readValidFrames(path);
      assert.equal(read.valid, frames);
      assert.deepEqual(read.frameSha256, expectedSha(start, range(0, frames)));
    } finally {
      remove();
    }
  });

  test('a reader sees every flushed frame while the recording goes on', async () => {
    const { dir, remove } = tempDir();
    try {
      const start = makeRunStart({ shape: [1024, 512], frames_requested: null });
      const path = join(dir, 'live.h5');
      const writer = await openNativeWriter(path, start, { overwrite: false });
      appendFrames(writer, start, range(0, 10));
      writer.flush();
      // Queued but not flushed: the reader must not be shown them, nor be confused by them.
      appendFrames(writer, start, range(10, 13));
      const during = readValidFrames(path);
      assert.equal(during.valid, 10);
      assert.deepEqual(during.frameSha256, expectedSha(start, range(0, 10)));
      writer.finish(makeRunEnd(start, { frames_acquired: 13 }));
      assert.deepEqual(readValidFrames(path).frameSha256, expectedSha(start, range(0, 13)));
    } finally {
      remove();
    }
  });

  test('frames in a shared-memory ring slot are written from where they lie; a slot goes back only after its write', async () => {
    const { dir, remove } = tempDir();
    try {
      const frames = 24;
      const start = makeRunStart({ shape: [1024, 512], frames_requested: frames });
      const bytes = frameBytes(start);
      const path = join(dir, 'in-place.h5');
      const before = addon().ioCounters();
      // Written in place whatever this disk would choose (ringStaging, tested below).
      const writer = await withEnv(STAGING_ENV, '0', () => openNativeWriter(path, start, { overwrite: false }));
      const released = await appendThroughRing(writer, start, frames, 4, (seq) => framePixels(start.shape, start.dtype, seq), {
        afterAppend: (seq) => {
          if (seq % 5 === 4) writer.flush();
        },
      });
      writer.finish(makeRunEnd(start, { frames_acquired: frames }));
      assert.equal(released(), frames, 'every slot released once its write was done');
      const inPlace = addon().ioCounters().inPlaceBytes - before.inPlaceBytes;
      assert.equal(inPlace, frames * bytes, 'every frame written from its slot, not copied');
      assert.deepEqual(readValidFrames(path).frameSha256, expectedSha(start, range(0, frames)));
    } finally {
      remove();
    }
  });

  test('ring slots queued one after another in the file go to the device together, released in order, intact', async () => {
    const { dir, remove } = tempDir();
    try {
      // 1 MiB frames appended as fast as slots come back: several are queued while the device writes one.
      const frames = 64;
      const start = makeRunStart({ shape: [1024, 512], frames_requested: frames });
      const bytes = frameBytes(start);
      const path = join(dir, 'merged.h5');
      // Made beforehand, so that the loop outruns the device.
      const pixels = range(0, frames).map((seq) => framePixels(start.shape, start.dtype, seq));
      const before = addon().ioCounters();
      const writer = await withEnv(STAGING_ENV, '0', () => openNativeWriter(path, start, { overwrite: false }));
      const released = await appendThroughRing(writer, start, frames, 8, (seq) => pixels[seq]!);
      writer.finish(makeRunEnd(start, { frames_acquired: frames }));
      const after = addon().ioCounters();
      assert.equal(released(), frames, 'every slot released once its write was done');
      assert.equal(after.inPlaceBytes - before.inPlaceBytes, frames * bytes, 'every frame written from its slot');
      const writes = after.directWrites - before.directWrites;
      assert.ok(writes < frames, `${writes} direct writes for ${frames} slots: none shared a write`);
      assert.deepEqual(readValidFrames(path).frameSha256, expectedSha(start, range(0, frames)));
    } finally {
      remove();
    }
  });

  // 2 MiB frames, one a buffer; 8 MiB frames, copied in two 4 MiB pieces.
  for (const [size, frames] of [
    [1024, 24],
    [2048, 12],
  ] as const) {
    test(`${STAGING_ENV}=1: ${size}² ring frames are copied into huge pages first, each slot back at once, intact`, async () => {
      const { dir, remove } = tempDir();
      try {
        const start = makeRunStart({ shape: [size, size], frames_requested: frames });
        const bytes = frameBytes(start);
        const path = join(dir, 'staged.h5');
        const before = addon().ioCounters();
        const writer = await withEnv(STAGING_ENV, '1', () => openNativeWriter(path, start, { overwrite: false }));
        const heldBack: number[] = [];
        await appendThroughRing(writer, start, frames, 4, (seq) => framePixels(start.shape, start.dtype, seq), {
          afterAppend: (seq, releasedCount) => {
            // Copied, so not held until the write is done: the acquisition may fill the slot again now.
            if (releasedCount() !== seq + 1) heldBack.push(seq);
          },
        });
        writer.finish(makeRunEnd(start, { frames_acquired: frames }));
        const after = addon().ioCounters();
        assert.deepEqual(heldBack, [], 'slots released as soon as their frame was copied');
        assert.equal(after.stagedBytes - before.stagedBytes, frames * bytes, 'every frame copied into the huge pages');
        assert.equal(after.inPlaceBytes - before.inPlaceBytes, 0, 'none written from its slot');
        assert.ok(after.directBytes - before.directBytes >= frames * bytes, 'and still past the page cache');
        assert.deepEqual(readValidFrames(path).frameSha256, expectedSha(start, range(0, frames)));
      } finally {
        remove();
      }
    });
  }

  test(`${STAGING_ENV}=1: a frame that took a copy on its way into the ring is written in place, never copied twice`, async () => {
    const { dir, remove } = tempDir();
    try {
      const frames = 24;
      const start = makeRunStart({ shape: [1024, 1024], frames_requested: frames });
      const bytes = frameBytes(start);
      const path = join(dir, 'copied-before.h5');
      const before = addon().ioCounters();
      const writer = await withEnv(STAGING_ENV, '1', () => openNativeWriter(path, start, { overwrite: false }));
      // Odd frames as a GigE Vision image Aravis assembled from packets; even ones as rendered in their slot.
      const copiedBefore = (seq: number): boolean => seq % 2 === 1;
      const released = await appendThroughRing(writer, start, frames, 4, (seq) => framePixels(start.shape, start.dtype, seq), {
        copiedBefore,
      });
      writer.finish(makeRunEnd(start, { frames_acquired: frames }));
      const after = addon().ioCounters();
      assert.equal(released(), frames, 'every slot released, the copied ones once their write was done');
      assert.equal(after.stagedBytes - before.stagedBytes, (frames / 2) * bytes, 'the frames made in their slot copied into huge pages');
      assert.equal(after.inPlaceBytes - before.inPlaceBytes, (frames / 2) * bytes, 'the frames copied before written from their slot');
      assert.deepEqual(readValidFrames(path).frameSha256, expectedSha(start, range(0, frames)));
      // The mark ends with the slot's release: a frame made in the same slot later is staged again.
      const again = join(dir, 'after-release.h5');
      const beforeAgain = addon().ioCounters();
      const next = await withEnv(STAGING_ENV, '1', () => openNativeWriter(again, start, { overwrite: false }));
      await appendThroughRing(next, start, 4, 4, (seq) => framePixels(start.shape, start.dtype, seq));
      next.finish(makeRunEnd(start, { frames_acquired: 4 }));
      assert.equal(addon().ioCounters().stagedBytes - beforeAgain.stagedBytes, 4 * bytes, 'no mark outlives its slot');
    } finally {
      remove();
    }
  });

  test('ringStaging tells, for a directory, whether its files stage ring frames and why; the writer does as it says', async () => {
    const { dir, remove } = tempDir();
    try {
      const decision = addon().ringStaging(dir);
      assert.ok(decision.reason.length > 0, 'a reason is given');
      const frames = 8;
      const start = makeRunStart({ shape: [1024, 1024], frames_requested: frames });
      const path = join(dir, 'decided.h5');
      const before = addon().ioCounters();
      const writer = await withEnv(STAGING_ENV, undefined, () => openNativeWriter(path, start, { overwrite: false }));
      await appendThroughRing(writer, start, frames, 4, (seq) => framePixels(start.shape, start.dtype, seq));
      writer.finish(makeRunEnd(start, { frames_acquired: frames }));
      const after = addon().ioCounters();
      const bytes = frames * frameBytes(start);
      assert.equal(after.stagedBytes - before.stagedBytes, decision.staged ? bytes : 0, `staged: ${decision.reason}`);
      assert.equal(after.inPlaceBytes - before.inPlaceBytes, decision.staged ? 0 : bytes, `in place: ${decision.reason}`);
      assert.deepEqual(readValidFrames(path).frameSha256, expectedSha(start, range(0, frames)));

      for (const forced of ['1', '0']) {
        const said = await withEnv(STAGING_ENV, forced, async () => addon().ringStaging(dir));
        assert.deepEqual(said, { staged: forced === '1', reason: `${STAGING_ENV}=${forced}` });
      }
      assert.throws(() => addon().ringStaging(join(dir, 'no', 'such')), /ringStaging: .*no\/such: No such file/);
    } finally {
      remove();
    }
  });

  test('kill -9 with direct writes queued keeps exactly the flushed frames', async () => {
    const { dir, remove } = tempDir();
    try {
      const start = makeRunStart({ shape: [1024, 1024], frames_requested: null });
      const path = join(dir, 'killed.h5');
      await writeKilledRecording(path, start, 20, 6, native);
      const read = readValidFrames(path);
      assert.equal(read.valid, 20);
      assert.deepEqual(read.frameSha256, expectedSha(start, range(0, 20)));
    } finally {
      remove();
    }
  });
});

test(`${DIRECT_IO_ENV} takes 1 or 0 and names itself when it is anything else`, () => {
  assert.equal(directIoWanted({}), true);
  assert.equal(directIoWanted({ [DIRECT_IO_ENV]: '1' }), true);
  assert.equal(directIoWanted({ [DIRECT_IO_ENV]: ' 0 ' }), false);
  assert.throws(() => directIoWanted({ [DIRECT_IO_ENV]: 'yes' }), { code: 'BAD_CONFIG', message: /LABCAST_DIRECT_IO=yes/ });
});
