import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDataMessage, encodeFrame, encodeRunEnd, encodeRunStart } from '../../src/protocol/codec.js';
import { parseWithNs, stringifyWithNs } from '../../src/protocol/json-ns.js';
import type { FrameHeader, RunEnd, RunStart } from '../../src/protocol/messages.js';

const header: FrameHeader = {
  protocol: 1,
  run_id: 'run-1',
  seq: 41,
  camera_ts_ns: 1_795_468_123_456_789_012n,
  wall_ts_ns: 1_795_468_123_457_001_235n,
  shape: [2, 3],
  dtype: 'uint16',
};

const text = (s: string): Buffer => Buffer.from(s);

describe('nanosecond JSON', () => {
  test('keeps integers beyond 2^53 exact both ways, as plain JSON integers', () => {
    const json = stringifyWithNs({ t_ns: 1_795_468_123_456_789_013n, n: 1 });
    assert.equal(json, '{"t_ns":1795468123456789013,"n":1}');
    assert.deepEqual(parseWithNs(json), { t_ns: 1_795_468_123_456_789_013n, n: 1 });
  });
});

describe('data message codec', () => {
  test('a frame round-trips, pixels passed through without a copy', () => {
    const pixels = new Uint8Array(12).map((_, i) => i);
    const parts = encodeFrame(header, pixels);
    assert.equal(parts[2], pixels);
    const decoded = decodeDataMessage(parts);
    assert.ok(decoded.ok);
    assert.equal(decoded.message.topic, 'frame');
    assert.deepEqual(decoded.message.header, header);
  });

  test('frames of runs with different ids, one needing JSON escapes, each carry their own id', () => {
    const pixels = new Uint8Array(12);
    for (const run_id of ['run-1', 'say "cheese"\\ \u00e9t\u00e9 \u{1f4f7}', 'run-1', 'run-2']) {
      const decoded = decodeDataMessage(encodeFrame({ ...header, run_id }, pixels));
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.message.header, { ...header, run_id });
    }
  });

  test('run-start and run-end round-trip', () => {
    const start: RunStart = {
      protocol: 1,
      run_id: 'r',
      shape: [4, 4],
      dtype: 'uint8',
      frames_requested: null,
      duration_s: 2,
      start_wall_ns: 1_700_000_000_000_000_001n,
      camera: { driver: 'sim', model: 'm', settings: { exposure_ms: 10 } },
      config: { nested: [1, 'a'] },
      software: { name: 'labcast', version: '0', node: 'v20', host: 'h' },
    };
    const end: RunEnd = {
      protocol: 1,
      run_id: 'r',
      reason: 'stopped',
      error: null,
      end_wall_ns: 1_700_000_000_000_000_002n,
      frames_acquired: 10,
      frames_dropped: 3,
      drops: [
        [2, 1],
        [5, 2],
      ],
    };
    const s = decodeDataMessage(encodeRunStart(start));
    const e = decodeDataMessage(encodeRunEnd(end));
    assert.ok(s.ok && e.ok);
    assert.deepEqual(s.message.header, start);
    assert.deepEqual(e.message.header, end);
    // A failed run carries its error's code next to the message.
    const failed: RunEnd = {
      ...end,
      reason: 'error',
      error: 'GenICam camera 10.0.0.5: the camera stopped answering',
      error_code: 'CAMERA_FAILED',
    };
    const f = decodeDataMessage(encodeRunEnd(failed));
    assert.ok(f.ok);
    assert.deepEqual(f.message.header, failed);
  });

  const malformed: [string, Uint8Array[], RegExp][] = [
    ['no parts', [], /empty/],
    ['an unknown topic', [text('frames!'), text('{}')], /unknown topic/],
    ['a frame without pixels', [text('frame'), text(stringifyWithNs(header))], /2 parts, expected 3/],
    ['a header that is not JSON', [text('frame'), text('{nope'), new Uint8Array(12)], /not valid JSON/],
    [
      'another protocol version',
      [text('frame'), text(stringifyWithNs({ ...header, protocol: 2 })), new Uint8Array(12)],
      /protocol version 2/,
    ],
    ['a negative seq', [text('frame'), text(stringifyWithNs({ ...header, seq: -1 })), new Uint8Array(12)], /seq/],
    ['an unknown dtype', [text('frame'), text(stringifyWithNs({ ...header, dtype: 'float64' })), new Uint8Array(12)], /dtype/],
    [
      'a payload shorter than the header says',
      [text('frame'), text(stringifyWithNs(header)), new Uint8Array(11)],
      /11 bytes, header says 12/,
    ],
    ['a run-end with a bad reason', [text('run-end'), text('{"protocol":1,"run_id":"r","reason":"maybe"}')], /reason/],
  ];
  for (const [what, parts, reason] of malformed) {
    test(`${what} is reported, not thrown`, () => {
      const decoded = decodeDataMessage(parts);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.reason, reason);
    });
  }
});
