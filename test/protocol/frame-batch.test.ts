import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeDataMessage,
  decodeDataMessages,
  encodeFrame,
  encodeFrameBatch,
  encodeRunEnd,
  isEncodedFrame,
} from '../../src/protocol/codec.js';
import { parseWithNs, stringifyWithNs } from '../../src/protocol/json-ns.js';
import { frameByteLength } from '../../src/protocol/dtype.js';
import { frameHeaderSchema, type FrameHeader } from '../../src/protocol/messages.js';

function frame(seq: number, shape: number[] = [2, 3]): [Buffer, Buffer, Uint8Array] {
  const header: FrameHeader = {
    protocol: 1,
    run_id: 'run-7',
    seq,
    camera_ts_ns: 1_795_468_123_456_789_012n + BigInt(seq),
    wall_ts_ns: 1_795_468_123_457_001_235n + BigInt(seq),
    shape,
    dtype: 'uint16',
  };
  const bytes = shape.reduce((a, b) => a * b, 2);
  return encodeFrame(
    header,
    new Uint8Array(bytes).map((_, i) => (seq * 7 + i) & 0xff),
  );
}

describe('frame batches', () => {
  test('frames made back to back in one block go out as one view of it, and decode intact', () => {
    const block = new Uint8Array(64);
    const frames = [0, 1, 2].map((seq) => {
      const pixels = block.subarray(seq * 12, seq * 12 + 12);
      pixels.set(frame(seq)[2]);
      return [frame(seq)[0], frame(seq)[1], pixels] as const;
    });
    const batch = encodeFrameBatch(frames);
    assert.equal(batch[2].buffer, block.buffer, 'no copy of the pixels');
    assert.equal(batch[2].byteLength, 36);
    const decoded = decodeDataMessages(batch);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    decoded.messages.forEach((message, i) => {
      assert.ok(message.topic === 'frame');
      assert.deepEqual([...message.pixels], [...frame(i)[2]]);
    });
    // Not back to back (a gap, or another block): copied, as before.
    const apart = [frames[0]!, frames[2]!];
    const copied = encodeFrameBatch(apart);
    assert.notEqual(copied[2].buffer, block.buffer);
    assert.deepEqual([...copied[2]], [...frame(0)[2], ...frame(2)[2]]);
  });

  test('a batch decodes to its frames in order, headers and pixels intact', () => {
    const frames = [frame(0), frame(1), frame(2, [4, 1]), frame(3)];
    const decoded = decodeDataMessages(encodeFrameBatch(frames));
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.equal(decoded.messages.length, 4);
    decoded.messages.forEach((message, i) => {
      const single = decodeDataMessage(frames[i]!);
      assert.ok(single.ok && single.message.topic === 'frame' && message.topic === 'frame');
      assert.deepEqual(message.header, single.message.header);
      assert.equal(Buffer.compare(message.pixels, single.message.pixels), 0);
    });
  });

  test('only frames as encodeFrame makes them can join a batch', () => {
    assert.equal(isEncodedFrame(frame(0)), true);
    assert.equal(isEncodedFrame([Buffer.from('frame'), Buffer.from('{}'), new Uint8Array(1)]), false);
    assert.equal(
      isEncodedFrame(
        encodeRunEnd({
          protocol: 1,
          run_id: 'r',
          reason: 'completed',
          error: null,
          end_wall_ns: 1n,
          frames_acquired: 0,
          frames_dropped: 0,
          drops: [],
        }),
      ),
      false,
    );
  });

  test('a malformed batch is refused whole, with the reason', () => {
    const good = encodeFrameBatch([frame(0), frame(1)]);
    const cases: [string, Uint8Array[], RegExp][] = [
      ['wrong part count', [good[0], good[1]], /parts, expected 3/],
      ['header not an array', [good[0], Buffer.from('{"protocol":1}'), good[2]], /non-empty array/],
      ['empty array', [good[0], Buffer.from('[]'), good[2]], /non-empty array/],
      ['not JSON', [good[0], Buffer.from('[{'), good[2]], /not valid JSON/],
      ['payload short', [good[0], good[1], good[2].subarray(1)], /payload is/],
      ['payload long', [good[0], good[1], Buffer.concat([good[2], Buffer.alloc(1)])], /payload is/],
      ['bad header inside', [good[0], Buffer.from(good[1].toString().replace('"seq":1', '"seq":-1')), good[2]], /frame 1 of the batch/],
      [
        'other protocol',
        [good[0], Buffer.from(good[1].toString().replace('"protocol":1', '"protocol":2')), good[2]],
        /frame 0 of the batch/,
      ],
    ];
    for (const [name, parts, reason] of cases) {
      const decoded = decodeDataMessages(parts);
      assert.equal(decoded.ok, false, name);
      if (!decoded.ok) assert.match(decoded.reason, reason, name);
    }
  });
});

/** Small random edits of a valid header: the fast check must never accept what the schema refuses. */
function mutations(seed: number): unknown[] {
  let state = seed;
  const random = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const values: unknown[] = [0, -1, 1.5, 2 ** 53, '', 'x'.repeat(129), 'uint32', null, true, [], {}, [1], [1, 2, 3, 4], [0, 3], 1n, '1'];
  const keys = ['protocol', 'run_id', 'seq', 'camera_ts_ns', 'wall_ts_ns', 'shape', 'dtype', 'extra'];
  const out: unknown[] = [];
  for (let i = 0; i < 3000; i++) {
    const base: Record<string, unknown> = {
      protocol: 1,
      run_id: 'r',
      seq: 3,
      camera_ts_ns: 5n,
      wall_ts_ns: 6n,
      shape: [2, 2],
      dtype: 'uint8',
    };
    const edits = 1 + Math.floor(random() * 2);
    for (let e = 0; e < edits; e++) {
      const key = keys[Math.floor(random() * keys.length)]!;
      if (random() < 0.15) delete base[key];
      else base[key] = values[Math.floor(random() * values.length)];
    }
    out.push(base);
  }
  return out;
}

describe('frame header check', () => {
  test('accepts exactly what the schema accepts (3000 edited headers)', () => {
    let accepted = 0;
    for (const header of mutations(42)) {
      const bytes = Array.isArray((header as { shape?: unknown }).shape) ? 8 : 0;
      const text = stringifyWithNs(header);
      const parts = [Buffer.from('frame'), Buffer.from(text), new Uint8Array(bytes)];
      // What the wire carries: an integer in an `_ns` field reads back as a bigint.
      let schemaOk = false;
      try {
        schemaOk = frameHeaderSchema.safeParse(parseWithNs(text)).success;
      } catch {
        // Text that does not read back as JSON is refused as a whole, by both.
      }
      const decoded = decodeDataMessage(parts);
      // The payload may not match a shape the schema accepts; only headers decide here.
      const headerOk = decoded.ok || /payload is/.test(decoded.reason);
      assert.equal(headerOk, schemaOk, `header ${stringifyWithNs(header)}: schema ${schemaOk}, decoder ${headerOk}`);
      if (schemaOk) accepted += 1;
    }
    assert.ok(accepted > 100, `only ${accepted} valid headers among the edits: the test would prove little`);
  });

  test("a batch of headers in the sender's own text reads as JSON.parse would read it, and refuses what the schema refuses", () => {
    let accepted = 0;
    for (const header of mutations(7)) {
      // Two of the same header: the sender's text is `[h,h]`, what encodeFrameBatch makes of two frames.
      const text = stringifyWithNs(header);
      let schemaOk = false;
      let expected: unknown = null;
      try {
        expected = parseWithNs(text);
        schemaOk = frameHeaderSchema.safeParse(expected).success;
      } catch {
        // Not JSON: refused as a whole.
      }
      const valid = schemaOk ? frameHeaderSchema.parse(expected) : null;
      const bytes = valid === null ? 8 : frameByteLength(valid.shape, valid.dtype);
      const parts = [Buffer.from('batch'), Buffer.from(`[${text},${text}]`), new Uint8Array(2 * bytes)];
      const decoded = decodeDataMessages(parts);
      const headerOk = decoded.ok || /payload is/.test(decoded.reason);
      assert.equal(headerOk, schemaOk, `batch of ${text}: schema ${schemaOk}, decoder ${headerOk}`);
      if (decoded.ok) {
        for (const message of decoded.messages) assert.deepEqual(message.header, frameHeaderSchema.parse(expected), text);
        accepted += 1;
      }
    }
    assert.ok(accepted > 100, `only ${accepted} valid batches among the edits: the test would prove little`);
    // Run ids, numbers and shapes at the edges of the sender's text, read the same as by JSON.parse.
    for (const runId of ['r', 'run-7', 'a b!#[]~', 'x'.repeat(128), 'quote"inside', 'back\\slash', 'tab\there', 'é-unicode', '日本']) {
      const header = {
        protocol: 1,
        run_id: runId,
        seq: 2 ** 40,
        camera_ts_ns: -5n,
        wall_ts_ns: 18_446_744_073_709_551_615n,
        shape: [3, 2, 3],
        dtype: 'uint8',
      };
      const text = stringifyWithNs(header);
      const decoded = decodeDataMessages([Buffer.from('batch'), Buffer.from(`[${text}]`), new Uint8Array(18)]);
      assert.ok(decoded.ok, `${runId}: ${decoded.ok ? '' : decoded.reason}`);
      assert.deepEqual(decoded.messages[0]!.header, parseWithNs(text), runId);
    }
    // Text that is not JSON stays refused, also where it looks like the sender's (a leading zero).
    const good = '{"protocol":1,"run_id":"r","seq":1,"camera_ts_ns":5,"wall_ts_ns":6,"shape":[2,2],"dtype":"uint8"}';
    for (const [from, to] of [
      ['"protocol":1,', '"protocol":01,'],
      ['"seq":1,', '"seq":01,'],
    ] as const) {
      const text = `[${good.replace(from, to)}]`;
      const decoded = decodeDataMessages([Buffer.from('batch'), Buffer.from(text), new Uint8Array(4)]);
      assert.equal(decoded.ok, false, text);
      if (!decoded.ok) assert.match(decoded.reason, /not valid JSON/, text);
    }
  });
});
