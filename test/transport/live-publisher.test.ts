import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Subscriber } from 'zeromq';
import { LivePublisher } from '../../src/transport/live-publisher.js';

test("a frame in memory that is not the publisher's (a ring slot) goes out as a copy, made when someone watches", async () => {
  const publisher = await LivePublisher.bind('tcp://127.0.0.1:*');
  const viewer = new Subscriber({ linger: 0 });
  try {
    viewer.connect(publisher.endpoint);
    viewer.subscribe('');
    for (let i = 0; i < 500 && !publisher.subscribed; i++) await delay(10);
    assert.ok(publisher.subscribed, 'the viewer subscribed');
    const slot = new Uint8Array(1 << 20).fill(7);
    assert.ok(publisher.publish([Buffer.from('frame'), Buffer.from('{}'), slot], true));
    // The slot goes back to the acquisition and is filled with the next frame at once.
    slot.fill(0);
    const [, , pixels] = await viewer.receive();
    assert.equal(pixels!.byteLength, slot.byteLength);
    assert.ok(
      pixels!.every((byte) => byte === 7),
      'the viewer got the frame as it was when published',
    );
  } finally {
    viewer.close();
    publisher.close();
  }
});
