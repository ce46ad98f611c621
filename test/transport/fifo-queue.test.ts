import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FifoQueue } from '../../src/transport/fifo-queue.js';

test('items come out in the order they went in, across batches taken off the front and compactions', () => {
  const queue = new FifoQueue<number>();
  let next = 0;
  let expected = 0;
  // Long enough that the head passes the compaction threshold many times, with items added in between.
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 97; i++) queue.push(next++);
    const take = Math.min(queue.length, 61 + (round % 7));
    assert.deepEqual(
      queue.first(take),
      Array.from({ length: take }, (_, i) => expected + i),
    );
    assert.equal(queue.at(0), expected);
    queue.dropFirst(take);
    expected += take;
    assert.equal(queue.length, next - expected);
  }
  assert.deepEqual(
    queue.toArray(),
    Array.from({ length: next - expected }, (_, i) => expected + i),
  );
  queue.dropFirst(queue.length);
  assert.equal(queue.length, 0);
  assert.deepEqual(queue.toArray(), []);
  queue.push(7);
  assert.equal(queue.at(0), 7);
});
