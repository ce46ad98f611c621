import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDataMessage, decodeDataMessages, encodeFrame, encodePackedBatch, type PackedFrame } from '../../src/protocol/codec.js';
import type { FrameHeader } from '../../src/protocol/messages.js';

function packed(seq: number, block?: Uint8Array): PackedFrame {
  const header: FrameHeader = {
    protocol: 1,
    run_id: 'run-7',
    seq,
    camera_ts_ns: 1_795_468_123_456_789_012n + BigInt(seq),
    wall_ts_ns: -5n - BigInt(seq),
    shape: [2, 3],
    dtype: 'uint16',
  };
  const pixels = block === undefined ? new Uint8Array(12) : block.subarray(seq * 16, seq * 16 + 12);
  pixels.forEach((_, i) => (pixels[i] = (seq * 7 + i) & 0xff));
  return { header, pixels };
}

describe('packed batches', () => {
  test('decode to the same frames as one frame message each, pixels read in place', () => {
    const frames = [0, 1, 2, 2 ** 40 + 3].map((seq) => packed(seq));
    const parts = encodePackedBatch(frames);
    assert.equal(parts[0].toString(), 'packed-batch');
    assert.deepEqual(JSON.parse(parts[1].toString()), { protocol: 1, run_id: 'run-7', shape: [2, 3], dtype: 'uint16' });
    assert.equal(parts[2].byteLength, 4 * 24);
    const decoded = decodeDataMessages(parts);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.equal(decoded.messages.length, 4);
    decoded.messages.forEach((message, i) => {
      const single = decodeDataMessage(encodeFrame(frames[i]!.header, frames[i]!.pixels));
      assert.ok(single.ok && single.message.topic === 'frame' && message.topic === 'frame');
      assert.deepEqual(message.header, single.message.header);
      assert.equal(Buffer.compare(message.pixels, single.message.pixels), 0);
      assert.equal(message.pixels.buffer, decoded.messages[0]!.topic === 'frame' ? decoded.messages[0]!.pixels.buffer : null);
    });
  });

  test('the index is three little-endian int64 columns: seq, camera_ts_ns, wall_ts_ns', () => {
    const parts = encodePackedBatch([packed(5), packed(6)]);
    const index = parts[2];
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((i) => index.readBigInt64LE(i * 8)),
      [5n, 6n, 1_795_468_123_456_789_017n, 1_795_468_123_456_789_018n, -10n, -11n],
    );
  });

  test('frames made back to back in one block go out as one view of it', () => {
    const block = new Uint8Array(64);
    // 12-byte frames on 16-byte boundaries are not back to back: copied.
    const apart = encodePackedBatch([packed(0, block), packed(1, block)]);
    assert.notEqual(apart[3].buffer, block.buffer);
    const contiguous = [0, 1, 2].map((seq) => ({ ...packed(seq), pixels: block.subarray(seq * 12, seq * 12 + 12) }));
    const view = encodePackedBatch(contiguous);
    assert.equal(view[3].buffer, block.buffer, 'no copy of the pixels');
    assert.equal(view[3].byteLength, 36);
  });

  test('a malformed packed batch is refused whole, with the reason', () => {
    const good = encodePackedBatch([packed(0), packed(1)]);
    const header = (text: string): Buffer => Buffer.from(text);
    const badSeq = Buffer.from(good[2]);
    badSeq.writeInt32LE(-1, 8 + 4); // frame 1's seq negative
    const cases: [string, Uint8Array[], RegExp][] = [
      ['wrong part count', [good[0], good[1], good[2]], /parts, expected 4/],
      ['header not JSON', [good[0], header('{'), good[2], good[3]], /not valid JSON/],
      ['header an array', [good[0], header('[]'), good[2], good[3]], /must be \{protocol, run_id, shape, dtype\}/],
      [
        'header with a seq',
        [good[0], header('{"protocol":1,"run_id":"r","shape":[2,3],"dtype":"uint16","seq":1}'), good[2], good[3]],
        /must be/,
      ],
      ['other protocol', [good[0], header('{"protocol":2,"run_id":"r","shape":[2,3],"dtype":"uint16"}'), good[2], good[3]], /protocol/],
      ['bad dtype', [good[0], header('{"protocol":1,"run_id":"r","shape":[2,3],"dtype":"float64"}'), good[2], good[3]], /dtype/],
      ['bad shape', [good[0], header('{"protocol":1,"run_id":"r","shape":[0,3],"dtype":"uint16"}'), good[2], good[3]], /shape/],
      ['index empty', [good[0], good[1], Buffer.alloc(0), Buffer.alloc(0)], /index is 0 bytes/],
      ['index ragged', [good[0], good[1], good[2].subarray(1), good[3]], /not a positive multiple/],
      ['payload short', [good[0], good[1], good[2], good[3].subarray(1)], /payload is 23 bytes/],
      ['payload long', [good[0], good[1], good[2], Buffer.concat([good[3], Buffer.alloc(12)])], /payload is 36 bytes/],
      ['negative seq', [good[0], good[1], badSeq, good[3]], /frame 1: seq/],
    ];
    for (const [name, parts, reason] of cases) {
      const decoded = decodeDataMessages(parts);
      assert.equal(decoded.ok, false, name);
      if (!decoded.ok) assert.match(decoded.reason, reason, name);
    }
    // A refusal leaves nothing behind: the good batch still decodes.
    assert.ok(decodeDataMessages(good).ok);
  });
});
