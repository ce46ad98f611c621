import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { yieldToEventLoop } from '../../src/devices/pacing.js';

test('yieldToEventLoop turns the event loop every 0.2 ms and is a plain boolean in between', async () => {
  const signal = new AbortController().signal;
  await delay(1);
  // Due: a promise that resolves after a turn of the event loop (an immediate queued first runs before it).
  let immediateRan = false;
  setImmediate(() => (immediateRan = true));
  const due = yieldToEventLoop(signal);
  assert.ok(due instanceof Promise);
  assert.equal(await due, true);
  assert.ok(immediateRan, 'the event loop turned');
  // Right after a turn: nothing to await, so a small frame's loop takes no microtask.
  assert.equal(yieldToEventLoop(signal), true);
  const aborted = new AbortController();
  aborted.abort();
  assert.equal(yieldToEventLoop(aborted.signal), false);
});
