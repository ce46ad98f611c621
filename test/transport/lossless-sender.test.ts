import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Pull, Subscriber } from 'zeromq';
import { decodeDataMessages, encodeFrame } from '../../src/protocol/codec.js';
import type { FrameHeader } from '../../src/protocol/messages.js';
import { LosslessSender } from '../../src/transport/lossless-sender.js';
import { LivePublisher } from '../../src/transport/live-publisher.js';
import { scratchDir } from '../helpers/processes.js';

const scratch = scratchDir();
after(() => scratch.cleanup());

const endpoints = (name: string): string[] => [`ipc://${scratch.dir}/${name}.sock`, 'tcp://127.0.0.1:*'];

describe('lossless sender (real sockets)', () => {
  for (const transport of ['ipc', 'tcp']) {
    test(`over ${transport}: with no reader it buffers up to its bound, refuses beyond, delivers all it accepted in order`, async () => {
      const endpoint = endpoints(`bound-${transport}`)[transport === 'ipc' ? 0 : 1]!;
      const sender = await LosslessSender.bind(endpoint, 10 * 1000);
      const accepted: number[] = [];
      for (let i = 0; i < 40; i++) {
        if (sender.offer([Buffer.from(String(i)), new Uint8Array(1000)], 1000, i)) accepted.push(i);
      }
      // ZeroMQ's own queue takes a few messages; the bounded buffer takes ten more.
      assert.ok(accepted.length >= 10 && accepted.length < 40, `accepted ${accepted.length}`);
      assert.deepEqual(
        accepted,
        Array.from({ length: accepted.length }, (_, i) => i),
        'refusals only at the end',
      );

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
      assert.ok(sender.offer([Buffer.from('x'), new Uint8Array(1000)], 1000, i));
    }
    await sender.drain();
    assert.equal(await receiving, 200);
    assert.ok(sender.stats.peakQueuedBytes <= 2000);
    pull.close();
    sender.close(0);
  });

  test('a patient source of small frames runs a few MiB ahead of the saver, not the whole buffer', async () => {
    const sender = await LosslessSender.bind('tcp://127.0.0.1:*', 512 * 1024 * 1024, null, null, true);
    const bytes = 64 * 64 * 2;
    // No saver yet: the source queues until it is told to wait.
    let queued = 0;
    while (sender.hasPacedRoomFor(bytes)) {
      const pixels = sender.take(bytes)!;
      assert.ok(
        sender.offerPacked(
          { protocol: 1, run_id: 'r', seq: queued, camera_ts_ns: 0n, wall_ts_ns: 0n, shape: [64, 64], dtype: 'uint16' },
          pixels,
        ),
      );
      queued += 1;
    }
    assert.ok(sender.stats.queuedBytes <= 8 * 1024 * 1024, `${sender.stats.queuedBytes} bytes ahead`);
    assert.ok(queued >= 512, `only ${queued} frames ahead: too few to fill batches`);
    assert.ok(sender.hasRoomFor(bytes), 'a source that cannot wait still has the whole buffer');
    assert.ok(sender.hasPacedRoomFor(1024 * 1024), 'large frames are paced by the buffer (and the ring) as before');
    const waiting = sender.waitForRoom(bytes);
    const pull = new Pull();
    pull.connect(sender.endpoint);
    await waiting;
    let received = 0;
    while (received < queued) {
      const decoded = decodeDataMessages(await pull.receive());
      assert.ok(decoded.ok);
      received += decoded.messages.length;
    }
    assert.equal(received, queued);
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

describe('lossless sender after its saver went away (rebind)', () => {
  test('a saver that connects the moment the endpoint is bound again is counted', async () => {
    const endpoint = `ipc://${scratch.dir}/rebind.sock`;
    const sender = await LosslessSender.bind(endpoint, 1 << 20);
    try {
      // The window is short (the bind done, its peers not yet watched): try it many times.
      for (let round = 0; round < 25; round++) {
        const gone = new Pull();
        gone.connect(endpoint);
        await sender.waitForPeers(1, 5000);
        gone.close();
        const rebinding = sender.rebind();
        // The next saver, connecting (and reconnecting) while the rebind is under way.
        const next = new Pull();
        next.connect(endpoint);
        await rebinding;
        await assert.doesNotReject(sender.waitForPeers(1, 3000), `round ${round}: the new saver is counted`);
        next.close();
        await sender.waitForPeers(0, 5000);
      }
    } finally {
      sender.close(0);
    }
  });

  test('a saver that connected before the first bind is counted (labcast record starts it first)', async () => {
    // The window is short (the bind done, its peers not yet watched): try it many times.
    for (let round = 0; round < 25; round++) {
      const endpoint = `ipc://${scratch.dir}/first-bind-${round}.sock`;
      const early = new Pull({ reconnectInterval: 1 });
      early.connect(endpoint);
      await delay(2);
      const sender = await LosslessSender.bind(endpoint, 1 << 20);
      try {
        await assert.doesNotReject(sender.waitForPeers(1, 3000), `round ${round}: the early saver is counted`);
      } finally {
        early.close();
        sender.close(0);
      }
    }
  });
});

describe('lossless sender batches small frames under load', () => {
  const header = (seq: number, shape: number[]): FrameHeader => ({
    protocol: 1,
    run_id: 'b',
    seq,
    camera_ts_ns: BigInt(seq),
    wall_ts_ns: BigInt(seq),
    shape,
    dtype: 'uint8',
  });

  test('queued small frames travel as batches; every frame arrives once, in order, pixels intact', async () => {
    const sender = await LosslessSender.bind('tcp://127.0.0.1:*', 64 * 1024 * 1024);
    // No reader yet: everything queues, so batches form.
    for (let seq = 0; seq < 3000; seq++) {
      const pixels = new Uint8Array(64 * 64).fill(seq & 0xff);
      assert.ok(sender.offer(encodeFrame(header(seq, [64, 64]), pixels), pixels.byteLength, seq));
    }
    const pull = new Pull();
    pull.connect(sender.endpoint);
    const seqs: number[] = [];
    let messages = 0;
    while (seqs.length < 3000) {
      const decoded = decodeDataMessages(await pull.receive());
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
      messages += 1;
      for (const message of decoded.messages) {
        assert.equal(message.topic, 'frame');
        if (message.topic !== 'frame') continue;
        assert.ok(message.pixels.every((v) => v === (message.header.seq & 0xff)));
        seqs.push(message.header.seq);
      }
    }
    await sender.drain();
    assert.deepEqual(
      seqs,
      Array.from({ length: 3000 }, (_, i) => i),
    );
    assert.ok(messages < 3000 / 10, `${messages} messages for 3000 frames`);
    pull.close();
    sender.close(0);
  });

  test("to labcast's own saver, small frames offered by header travel as packed batches, in order, pixels intact", async () => {
    const own = await LosslessSender.bind('tcp://127.0.0.1:*', 64 * 1024 * 1024, null, null, true);
    const other = await LosslessSender.bind('tcp://127.0.0.1:*', 64 * 1024 * 1024);
    assert.equal(own.packs(64 * 64), true);
    assert.equal(own.packs(512 * 512), false, 'large frames keep their own messages');
    assert.equal(other.packs(64 * 64), false, 'other savers get the documented JSON batches');
    other.close(0);
    // Frames made in the sender's blocks (take()), as a camera makes them, and one made elsewhere.
    for (let seq = 0; seq < 3000; seq++) {
      const pixels = seq === 1234 ? new Uint8Array(64 * 64) : own.take(64 * 64)!;
      pixels.fill(seq & 0xff);
      assert.ok(own.offerPacked(header(seq, [64, 64]), pixels));
    }
    own.sendAlways([Buffer.from('run-end'), Buffer.from('{}')]);
    const pull = new Pull();
    pull.connect(own.endpoint);
    const seqs: number[] = [];
    let messages = 0;
    while (seqs.length < 3000) {
      const parts = await pull.receive();
      assert.equal(parts[0]!.toString(), 'packed-batch');
      const decoded = decodeDataMessages(parts);
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
      messages += 1;
      for (const message of decoded.messages) {
        if (message.topic !== 'frame') continue;
        assert.ok(message.pixels.every((v) => v === (message.header.seq & 0xff)));
        assert.equal(message.header.camera_ts_ns, BigInt(message.header.seq));
        seqs.push(message.header.seq);
      }
    }
    assert.equal((await pull.receive())[0]!.toString(), 'run-end', 'run messages keep their place after the frames');
    await own.drain();
    assert.deepEqual(
      seqs,
      Array.from({ length: 3000 }, (_, i) => i),
    );
    assert.ok(messages < 3000 / 10, `${messages} messages for 3000 frames`);
    pull.close();
    own.close(0);
  });

  test('large frames and run messages are never batched', async () => {
    const sender = await LosslessSender.bind('tcp://127.0.0.1:*', 64 * 1024 * 1024);
    for (let seq = 0; seq < 5; seq++) {
      const pixels = new Uint8Array(512 * 512);
      assert.ok(sender.offer(encodeFrame(header(seq, [512, 512]), pixels), pixels.byteLength, seq));
    }
    const pull = new Pull();
    pull.connect(sender.endpoint);
    for (let seq = 0; seq < 5; seq++) {
      const parts = await pull.receive();
      assert.equal(parts[0]!.toString(), 'frame');
    }
    await sender.drain();
    pull.close();
    sender.close(0);
  });
});

describe('live publisher', () => {
  test('sends only while someone subscribes, and a subscriber gets what is published', async () => {
    const live = await LivePublisher.bind('tcp://127.0.0.1:*');
    assert.equal(live.subscribed, false);
    assert.equal(live.publish([Buffer.from('frame'), Buffer.from('nobody')]), true, 'published to nobody, as PUB does');
    const sub = new Subscriber();
    sub.connect(live.endpoint);
    sub.subscribe('frame');
    const deadline = Date.now() + 5000;
    while (!live.subscribed && Date.now() < deadline) await delay(5);
    assert.equal(live.subscribed, true);
    const receiving = sub.receive();
    // Published until one arrives: a new subscription may need a moment to reach the socket's filter.
    let got: Buffer[] | null = null;
    void receiving.then((parts) => (got = parts));
    while (got === null && Date.now() < deadline) {
      live.publish([Buffer.from('frame'), Buffer.from('hello')]);
      await delay(5);
    }
    assert.deepEqual(got!.map(String), ['frame', 'hello']);
    sub.close();
    while (live.subscribed && Date.now() < deadline) await delay(5);
    assert.equal(live.subscribed, false, 'the subscription ends when the subscriber goes');
    live.close();
  });
});
