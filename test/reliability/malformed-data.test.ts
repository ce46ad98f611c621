import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Push } from 'zeromq';
import { LabcastChild } from '../../src/experiment/child-process.js';
import { encodeFrame, encodePackedBatch, encodeRunEnd, encodeRunStart } from '../../src/protocol/codec.js';
import { stringifyWithNs } from '../../src/protocol/json-ns.js';
import type { FrameHeader, RunStart } from '../../src/protocol/messages.js';
import type { SaverCommand, SaverEvent } from '../../src/protocol/process-messages.js';
import { runPython, scratchDir } from '../helpers/processes.js';
import { testRunEnd, testRunStart } from '../helpers/run-messages.js';

const SAVER = new URL('../../src/saver/saver-process.js', import.meta.url);
const scratch = scratchDir();
after(() => scratch.cleanup());

const RUN = 'fuzzed-run';
const SHAPE = [8, 12];

function frameHeader(seq: number): FrameHeader {
  return {
    protocol: 1,
    run_id: RUN,
    seq,
    camera_ts_ns: 1_800_000_000_000_000_000n + BigInt(seq) * 1000n,
    wall_ts_ns: 1_800_000_000_000_000_000n,
    shape: SHAPE,
    dtype: 'uint16',
  };
}

/** Reproducible garbage of every kind a broken or hostile peer could send. */
function malformed(i: number, random: () => number): Buffer[] {
  const good = frameHeader(0);
  const pixels = Buffer.alloc(8 * 12 * 2);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  const packed = (): [Buffer, Buffer, Buffer, Buffer] => encodePackedBatch([{ header: good, pixels }]);
  switch (i % 11) {
    case 0:
      return [Buffer.from('frame'), Buffer.from(stringifyWithNs(good))]; // wrong part count
    case 1:
      return [Buffer.from('frame'), Buffer.from('{"protocol":1,'), pixels]; // invalid JSON
    case 2:
      return [Buffer.from('frame'), Buffer.from(stringifyWithNs(good)), pixels.subarray(0, 100)]; // payload length
    case 3:
      return [Buffer.from('frame'), Buffer.from(stringifyWithNs({ ...good, protocol: 9 })), pixels]; // version
    case 4:
      return [Buffer.from('frame'), Buffer.from(stringifyWithNs({ ...good, shape: [-1, 5] })), pixels]; // bad shape
    case 5:
      return [bytes(1 + Math.floor(random() * 40))]; // random single part
    case 6:
      return [Buffer.from('run-end'), bytes(64)]; // garbage run-end
    case 7:
      return [Buffer.from('frame'), Buffer.from(stringifyWithNs({ ...good, seq: 'seven' })), pixels]; // wrong type
    case 8: {
      const [topic, common, index, payload] = packed();
      return [topic, common, index, payload.subarray(0, 1 + Math.floor(random() * 100))]; // packed: payload length
    }
    case 9: {
      const [topic, common, , payload] = packed();
      return [topic, common, bytes(1 + Math.floor(random() * 23)), payload]; // packed: ragged index
    }
    default: {
      const [topic, , index, payload] = packed();
      return [topic, bytes(Math.floor(random() * 40)), index, payload]; // packed: garbage shared header
    }
  }
}

test('10 000 malformed data messages are counted and skipped by the saver; the valid run around them is saved whole', async () => {
  const push = new Push({ linger: 2000 });
  await push.bind('tcp://127.0.0.1:*');
  const outPath = join(scratch.dir, 'fuzzed.h5');
  const saver = LabcastChild.start<SaverCommand, SaverEvent>('saver', SAVER, {
    endpoint: push.lastEndpoint,
    outPath,
    overwrite: false,
    flushIntervalMs: 1000,
  });
  await saver.waitFor('ready');
  const closed = saver.waitFor('file-closed');

  let state = 42;
  const random = (): number => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const start: RunStart = testRunStart(RUN, {
    shape: SHAPE,
    frames_requested: 20,
    camera: { driver: 'test', model: 'fuzz', settings: {} },
  });
  await push.send(encodeRunStart(start));
  let sentFrames = 0;
  for (let i = 0; i < 10_000; i++) {
    await push.send(malformed(i, random));
    if (i % 500 === 0 && sentFrames < 20) {
      const pixels = new Uint8Array(8 * 12 * 2).fill(sentFrames);
      if (sentFrames % 3 !== 1 || sentFrames + 2 > 20) {
        await push.send(encodeFrame(frameHeader(sentFrames), pixels));
        sentFrames += 1;
      } else {
        // Two frames in a packed batch, as labcast's own sender makes them.
        const next = new Uint8Array(8 * 12 * 2).fill(sentFrames + 1);
        await push.send(
          encodePackedBatch([
            { header: frameHeader(sentFrames), pixels },
            { header: frameHeader(sentFrames + 1), pixels: next },
          ]),
        );
        sentFrames += 2;
      }
    }
  }
  await push.send(encodeRunEnd(testRunEnd(RUN, 20, { end_wall_ns: 1_800_000_000_100_000_000n })));
  const result = await closed;
  await saver.exited;
  push.close();

  assert.equal(sentFrames, 20);
  assert.equal(result.malformedMessages, 10_000);
  assert.equal(result.summary.framesWritten, 20);
  assert.deepEqual(result.summary.gaps, []);
  const read = await runPython(
    'import sys,h5py\nf=h5py.File(sys.argv[1],"r")\nd=f["entry/data"]\n' +
      'print(d["frames"].shape[0], d["frame_id"][:].tolist()==list(range(20)), int(d["frames"][19,0,0]))',
    [outPath],
  );
  assert.equal(read.code, 0, read.stderr);
  assert.equal(read.stdout.trim(), '20 True 4883'); // frame 19 was filled with byte 19: 0x1313
});
