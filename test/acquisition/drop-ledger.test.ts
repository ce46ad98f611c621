import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DropLedger } from '../../src/acquisition/drop-ledger.js';

test('consecutive drops merge into one range; the count is exact', () => {
  const ledger = new DropLedger();
  for (const seq of [3, 4, 5, 9, 11, 12]) ledger.record(seq);
  assert.equal(ledger.count, 6);
  assert.deepEqual(ledger.snapshot(), [[3, 3], [9, 1], [11, 2]]);
});
