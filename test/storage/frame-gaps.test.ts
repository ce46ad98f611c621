import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameGapTracker, gapsInIds } from '../../src/hdf5/frame-gaps.js';

test('contiguous ids from 0 have no gaps', () => {
  assert.deepEqual(gapsInIds([0, 1, 2, 3]), []);
});

test('a jump from 4 to 7 is the gap (5, 2); missing leading ids count too', () => {
  assert.deepEqual(gapsInIds([0, 1, 2, 3, 4, 7, 8]), [[5, 2]]);
  assert.deepEqual(gapsInIds([3, 4, 6]), [
    [0, 3],
    [5, 1],
  ]);
});

test('frames missing at the end are known only from the producer total', () => {
  const tracker = new FrameGapTracker();
  for (const id of [0, 1, 4]) tracker.observe(id);
  assert.deepEqual(tracker.gaps(), [[2, 2]]);
  assert.deepEqual(tracker.gaps(9), [
    [2, 2],
    [5, 4],
  ]);
  assert.deepEqual(tracker.gaps(5), [[2, 2]], 'a total equal to last id + 1 adds nothing');
});

test('with no frames at all, the whole run is one gap', () => {
  assert.deepEqual(new FrameGapTracker().gaps(3), [[0, 3]]);
});

test('repeated, decreasing and invalid ids are refused without changing the gaps', () => {
  const tracker = new FrameGapTracker();
  tracker.observe(0);
  tracker.observe(2);
  assert.match(tracker.check(2) ?? '', /arrived after id 2/);
  assert.match(tracker.check(1) ?? '', /increasing/);
  assert.match(tracker.check(-1) ?? '', /non-negative integer/);
  assert.match(tracker.check(1.5) ?? '', /non-negative integer/);
  assert.throws(() => tracker.observe(1), RangeError);
  assert.equal(tracker.check(3), null);
  assert.deepEqual(tracker.gaps(), [[1, 1]]);
});
