import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pull } from 'zeromq';
import { LosslessSender } from '../../src/transport/lossless-sender.js';
import { LivePublisher } from '../../src/transport/live-publisher.js';
import { scratchDir } from '../helpers/processes.js';

const scratch = scratchDir();
after(() => scratch.cleanup());

const endpoints = (name: string): string[] => [`ipc://${scratch.dir}/${name}.sock`, 'tcp://127.0.0.1:*'];

describe('lossless sender (real sockets)', () => {
  for (const transport of ['ipc', 'tcp']) {
    test(`over ${transport}: with no reader it buffers up to its bound, refuses beyond, and delivers all it accepted in order`, async () => {
      const endpoint = endpoints(`bound-${transport}`)[transport === 'ipc' ? 0 : 1]!;
      const sender = await LosslessSender.bind(endpoint, 10 * 1000);
      const accepted: number[] = [];
      for (let i = 0; i < 40; i++) {
        if (sender.offer([Buffer.from(String(i)), new Uint8Array(1000)], 1000, i)) accepted.push(i);
      }
      // ZeroMQ's own queue takes a few messages; the bounded buffer takes ten more.
      assert.ok(accepted.length >= 10 && accepted.length < 40, `accepted ${accepted.length}`);
      assert.deepEqual(accepted, Array.from({ length: accepted.length }, (_, i) => i), 'refusals only at the end');

      const pull = new Pull();
      pull.connect(sender.endpoint);
      const received: number[] = [];
      for (let i = 0; i < accepted.length; i++) {
        const [topic] = await pull.receive();
        received.push(Number(topic!.toString()));
      }
      await sender.drain();
      assert.deepEqual(received, accepted);
      assert.equal(sender.stats.queuedBytes, 0);
      pull.close();
      sender.close(0);
    });
  }

  test('waitForRoom lets a patient source deliver everything through a tiny buffer', async () => {
    const sender = await LosslessSender.bind('tcp://127.0.0.1:*', 2000);
    const pull = new Pull();
    pull.connect(sender.endpoint);
    const receiving = (async () => {
      let n = 0;
      for (let i = 0; i < 200; i++) {
        await pull.receive();
        n += 1;
      }
      return n;
    })();
    for (let i = 0; i < 200; i++) {
      await sender.waitForRoom(1000);
      assert.ok(sender.offer([Buffer.from("x"), new Uint8Array(1000)], 1000, i));
    }
    await sender.drain();
    assert.equal(await receiving, 200);
    assert.ok(sender.stats.peakQueuedBytes <= 2000);
    pull.close();
    sender.close(0);
  });

  test('a second bind of the same endpoint is a clear "in use" error', async () => {
    const first = await LivePublisher.bind('tcp://127.0.0.1:*');
    await assert.rejects(LivePublisher.bind(first.endpoint), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ENDPOINT_IN_USE');
      assert.match(error.message, /already in use/);
      return true;
    });
    first.close();
  });
});
