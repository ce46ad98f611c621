import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameNumbering, frameIdWidth } from '../../src/devices/genicam/frame-numbering.js';

test('consecutive 16-bit ids lose nothing, across the wrap from 65535 to 1 (0 is never used)', () => {
  const numbering = new FrameNumbering(16);
  assert.deepEqual(
    [65533n, 65534n, 65535n, 1n, 2n].map((id) => numbering.good(id)),
    [0, 0, 0, 0, 0],
  );
  assert.equal(numbering.lost, 0);
});

test('skipped 16-bit ids are counted before the next good frame, across the wrap too', () => {
  const numbering = new FrameNumbering(16);
  assert.equal(numbering.good(65534n), 0);
  assert.equal(numbering.good(2n), 2, '65535 and 1 skipped');
  assert.equal(numbering.good(10n), 7, '3..9 skipped');
  assert.equal(numbering.lost, 9);
});

test('a failed buffer is one lost frame, reported with the next good one', () => {
  const numbering = new FrameNumbering(16);
  numbering.good(10n);
  numbering.failed(11n);
  numbering.failed(13n); // 12 never came either
  assert.equal(numbering.good(14n), 3);
  assert.equal(numbering.good(15n), 0);
  assert.equal(numbering.lost, 3);
});

test('a failed 16-bit buffer without an id counts one frame and keeps the baseline', () => {
  const numbering = new FrameNumbering(16);
  numbering.good(5n);
  numbering.failed(0n);
  assert.equal(numbering.good(7n), 1, 'id 6 is the failed one');
});

test('64-bit ids count plain differences; a backward id (a restarted counter) counts nothing', () => {
  const numbering = new FrameNumbering(64);
  numbering.good(100_000n);
  assert.equal(numbering.good(100_005n), 4);
  assert.equal(numbering.good(3n), 0);
  assert.equal(numbering.good(4n), 0);
});

test('id width: USB3 Vision and GEV extended ids are 64-bit, GigE Vision 1.x and the fake camera 16-bit', () => {
  assert.equal(frameIdWidth({ isGigE: false, isUsb3: true, extendedIds: false }), 64);
  assert.equal(frameIdWidth({ isGigE: true, isUsb3: false, extendedIds: true }), 64);
  assert.equal(frameIdWidth({ isGigE: true, isUsb3: false, extendedIds: false }), 16);
  assert.equal(frameIdWidth({ isGigE: false, isUsb3: false, extendedIds: false }), 16);
});

test('a failed buffer with a stale id (behind the last) is one lost frame that does not move the baseline', () => {
  // Seen with the fake GigE camera losing packets: ... 65463x 65464x 65449x 65466 ... (x = failed).
  const numbering = new FrameNumbering(16);
  numbering.good(65462n);
  numbering.failed(65463n);
  numbering.failed(65464n);
  numbering.failed(65449n);
  assert.equal(numbering.good(65466n), 3, '65463, 65464 and 65465 (the stale one)');
  assert.equal(numbering.good(65467n), 0);
  assert.equal(numbering.lost, 3);
});
