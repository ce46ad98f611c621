import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataReceiver } from '../../src/transport/data-receiver.js';

const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('data receiver', () => {
  test('closeWhenIdle after close starts no timer, so a saver that finished exits at once', () => {
    const receiver = DataReceiver.pull('tcp://127.0.0.1:1');
    receiver.close();
    const before = timers();
    // The saver's shutdown command and its parent's disconnect both arrive after the run closed it.
    receiver.closeWhenIdle(60_000);
    assert.equal(timers(), before, 'a timer would keep the process alive for the idle time');
  });

  test('closeWhenIdle on an open receiver closes it once idle', async () => {
    const receiver = DataReceiver.pull('tcp://127.0.0.1:1');
    receiver.closeWhenIdle(20);
    const messages = receiver.messages();
    assert.equal((await messages.next()).done, true, 'the stream ends when the idle close comes');
    assert.equal(receiver.closed, true);
  });
});
