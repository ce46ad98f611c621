import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DropLedger } from '../../src/acquisition/drop-ledger.js';

test('consecutive drops merge into one range; the count is exact', () => {
  const ledger = new DropLedger();
  for (const seq of [3, 4, 5, 9, 11, 12]) ledger.record(seq);
  assert.equal(ledger.count, 6);
  assert.deepEqual(ledger.snapshot(), [
    [3, 3],
    [9, 1],
    [11, 2],
  ]);
});

test('drops recorded out of order (frames lost to a saver that went away, after later drops) stay sorted and merged', () => {
  const ledger = new DropLedger();
  // During the run: the buffer refused 10-11 and 20; then the saver died with 5-9 and 12-19 queued.
  for (const seq of [10, 11, 20]) ledger.record(seq);
  for (const seq of [5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19]) ledger.record(seq);
  assert.equal(ledger.count, 16);
  assert.deepEqual(ledger.snapshot(), [[5, 16]]);
  ledger.record(2);
  ledger.record(30);
  ledger.record(3);
  assert.deepEqual(ledger.snapshot(), [
    [2, 2],
    [5, 16],
    [30, 1],
  ]);
  assert.equal(ledger.count, 19);
});

test('a sequence number recorded twice counts once', () => {
  const ledger = new DropLedger();
  for (const seq of [4, 5, 6, 5, 4]) ledger.record(seq);
  assert.equal(ledger.count, 3);
  assert.deepEqual(ledger.snapshot(), [[4, 3]]);
});
