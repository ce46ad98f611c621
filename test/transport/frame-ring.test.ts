import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { setImmediate as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Pull } from 'zeromq';
import { decodeDataMessages, encodeFrame, encodeSharedFrame } from '../../src/protocol/codec.js';
import type { FrameHeader } from '../../src/protocol/messages.js';
import { DataReceiver } from '../../src/transport/data-receiver.js';
import { receiverSharedMemory, senderSharedMemory, SHARED_FRAMES_ENV } from '../../src/native/shared-frames.js';
import { FrameRingWriter, LENDING_MIN_SLOTS, SharedFrameOutlet, type RingRef } from '../../src/transport/frame-ring.js';
import { LosslessSender } from '../../src/transport/lossless-sender.js';
import { scratchDir } from '../helpers/processes.js';
import { writerNamed } from '../storage/writer-backends.js';

const scratch = scratchDir();
after(() => scratch.cleanup());

const sharedMemory = receiverSharedMemory();
const skip = writerNamed('native').skip || (sharedMemory === null ? 'the native addon is not built' : false);

const header = (seq: number, shape: number[]): FrameHeader => ({
  protocol: 1,
  run_id: 'ring',
  seq,
  camera_ts_ns: BigInt(seq),
  wall_ts_ns: BigInt(seq),
  shape,
  dtype: 'uint16',
});

/** Distinct pixels per frame, so a slot reused too early or read twice shows. */
function pixelsOf(seq: number, shape: number[]): Uint8Array {
  const samples = new Uint16Array(shape[0]! * shape[1]!);
  for (let i = 0; i < samples.length; i += 97) samples[i] = (seq * 131 + i) & 0xffff;
  samples[0] = seq;
  return new Uint8Array(samples.buffer);
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const FRAME_RING_MODULE = fileURLToPath(new URL('../../src/transport/frame-ring.js', import.meta.url));
const RECEIVER_MODULE = fileURLToPath(new URL('../../src/transport/data-receiver.js', import.meta.url));
const RING_MODULE = fileURLToPath(new URL('../../src/native/shared-frames.js', import.meta.url));

/** A saver-like process: takes `count` frames from `endpoint` with shared memory, prints their seq and hash. */
function receiveInChild(endpoint: string, count: number): Promise<{ frames: [number, string][]; malformed: { count: number } }> {
  const code = `
    const { DataReceiver } = await import(${JSON.stringify(RECEIVER_MODULE)});
    const { receiverSharedMemory } = await import(${JSON.stringify(RING_MODULE)});
    const { createHash } = await import('node:crypto');
    const receiver = DataReceiver.pull(process.argv[1], null, receiverSharedMemory());
    const frames = [];
    for await (const m of receiver.messages()) {
      frames.push([m.header.seq, createHash('sha256').update(m.pixels).digest('hex')]);
      // As slow as a busy saver now and then, so the ring fills and slots are reused.
      if (frames.length % 10 === 0) await new Promise((r) => setTimeout(r, 20));
      if (frames.length === Number(process.argv[2])) break;
    }
    process.stdout.write(JSON.stringify({ frames, malformed: receiver.malformed }));
    receiver.close();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, endpoint, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as { frames: [number, string][]; malformed: { count: number } })
        : reject(new Error(`receiver exited ${code}: ${err}`)),
    );
  });
}

describe('large frames through the shared-memory ring (real processes, real sockets)', { skip }, () => {
  test('every frame arrives once, in order, byte for byte, through reused slots; a new frame size gets a new ring', async () => {
    const endpoint = `ipc://${scratch.dir}/ring.sock`;
    const sender = await LosslessSender.bind(endpoint, 256 * 1024 * 1024, null, sharedMemory);
    // 1 MiB frames: 32 slots; 300 of them reuse each slot ~9 times. Then 2 MiB frames: a second ring.
    const shapes = [...Array.from({ length: 300 }, () => [1024, 512]), ...Array.from({ length: 40 }, () => [1024, 1024])];
    const receiving = receiveInChild(sender.endpoint, shapes.length);
    await sender.waitForPeers(1, 10_000);
    const expected: [number, string][] = [];
    for (const [seq, shape] of shapes.entries()) {
      const pixels = pixelsOf(seq, shape);
      expected.push([seq, sha(pixels)]);
      await sender.waitForRoom(pixels.byteLength);
      assert.ok(sender.offer(encodeFrame(header(seq, shape), pixels), pixels.byteLength, seq));
    }
    await sender.drain();
    const received = await receiving;
    assert.deepEqual(received.frames, expected);
    assert.equal(received.malformed.count, 0);
    assert.equal(sender.stats.sharedFrames, shapes.length, 'every frame went through shared memory');
    sender.close(0);
  });

  test('frames made in their slot (take) arrive byte for byte, among frames made elsewhere and slots given back', async () => {
    const endpoint = `ipc://${scratch.dir}/ring-take.sock`;
    const sender = await LosslessSender.bind(endpoint, 256 * 1024 * 1024, null, sharedMemory);
    const shape = [1024, 512];
    const bytes = shape[0]! * shape[1]! * 2;
    const frames = 200;
    const receiving = receiveInChild(sender.endpoint, frames);
    await sender.waitForPeers(1, 10_000);
    const expected: [number, string][] = [];
    let taken = 0;
    for (let seq = 0; seq < frames; seq++) {
      await sender.waitForRoom(bytes);
      // A slot taken for a frame that is never made goes back, and the next frame gets it.
      if (seq % 7 === 3 && sender.take(bytes) !== null) sender.giveBack();
      // Every fifth frame is made in memory of its own (a camera that ignores FrameMemory): copied into a slot.
      const slot = seq % 5 === 0 ? null : sender.take(bytes);
      if (slot !== null) taken += 1;
      const pixels = slot ?? new Uint8Array(bytes);
      pixels.set(pixelsOf(seq, shape));
      expected.push([seq, sha(pixels)]);
      assert.equal(sender.isSlot(pixels), slot !== null);
      assert.ok(sender.offer(encodeFrame(header(seq, shape), pixels), bytes, seq));
      // As a paced source does, except now and then, so that some frames find the ring full.
      if (seq % 3 !== 0) await sender.waitForSlot(bytes);
    }
    await sender.drain();
    const received = await receiving;
    assert.deepEqual(received.frames, expected);
    assert.equal(received.malformed.count, 0);
    assert.equal(sender.stats.sharedFrames, frames, 'every frame went through shared memory');
    assert.equal(sender.stats.madeInRing, taken, 'frames made in their slot were sent from it');
    assert.ok(taken >= frames / 2, `${taken} of ${frames} frames made in their slot`);
    sender.close(0);
  });

  test('slots lent several at a time are offered or given back in any order; frames made elsewhere still get slots', async () => {
    const endpoint = `ipc://${scratch.dir}/ring-lend.sock`;
    const sender = await LosslessSender.bind(endpoint, 256 * 1024 * 1024, null, sharedMemory);
    // 8 MiB frames: a ring of LENDING_MIN_SLOTS slots for a camera that holds them queued, all but one of which it may hold.
    const share = LENDING_MIN_SLOTS - 1;
    const shape = [2048, 2048];
    const bytes = shape[0]! * shape[1]! * 2;
    const frames = 60;
    const receiving = receiveInChild(sender.endpoint, frames);
    await sender.waitForPeers(1, 10_000);
    const expected: [number, string][] = [];
    const held: Uint8Array[] = [];
    let made = 0;
    let givenBack = 0;
    for (let turn = 0; expected.length < frames; turn++) {
      for (let slot = sender.lend(bytes); slot !== null; slot = held.length < share ? sender.lend(bytes) : null) held.push(slot);
      if (held.length === share) assert.equal(sender.lend(bytes), null, 'a camera holds at most slots - 1');
      const seq = expected.length;
      let pixels: Uint8Array;
      if (held.length === 0 && turn % 6 !== 5) {
        // As a camera whose slots are all queued: it waits for one (a real one would copy, see below).
        await sender.waitForSlot(bytes);
        continue;
      }
      if (turn % 6 === 5) {
        // Made in memory of its own (no slot to hand, or a camera's copy): the pump copies it into a slot.
        pixels = new Uint8Array(bytes);
      } else {
        // Filled out of the order lent, as a device fills its buffers.
        pixels = held.splice((turn * 7) % held.length, 1)[0]!;
        if (turn % 5 === 2) {
          sender.giveBack(pixels);
          givenBack += 1;
          continue;
        }
        made += 1;
      }
      pixels.set(pixelsOf(seq, shape));
      expected.push([seq, sha(pixels)]);
      await sender.waitForRoom(bytes);
      assert.ok(sender.offer(encodeFrame(header(seq, shape), pixels), bytes, seq));
    }
    for (const slot of held.splice(0)) sender.giveBack(slot);
    assert.equal(sender.lentSlots, 0);
    await sender.drain();
    const received = await receiving;
    assert.deepEqual(received.frames, expected);
    assert.equal(received.malformed.count, 0);
    assert.equal(sender.stats.sharedFrames, frames, 'every frame went through shared memory');
    assert.equal(sender.stats.madeInRing, made, 'frames made in lent slots were sent from them');
    assert.ok(made >= frames / 2 && givenBack > 0, `${made} made in their slot, ${givenBack} given back`);
    sender.close(0);
  });

  test('a frame made elsewhere at the head of the queue gets a slot while the camera holds all it may', async () => {
    const endpoint = `ipc://${scratch.dir}/ring-head.sock`;
    const sender = await LosslessSender.bind(endpoint, 256 * 1024 * 1024, null, sharedMemory);
    const shape = [2048, 2048];
    const bytes = shape[0]! * shape[1]! * 2;
    const share = LENDING_MIN_SLOTS - 1;
    const receiving = receiveInChild(sender.endpoint, share + 2);
    await sender.waitForPeers(1, 10_000);
    const held = Array.from({ length: share }, () => sender.lend(bytes)).filter((slot) => slot !== null);
    assert.equal(held.length, share);
    // Were the last slot lent too, the frames below would wait for ever: two made elsewhere need slots, the rest queue behind them.
    assert.equal(sender.lend(bytes), null);
    const expected: [number, string][] = [];
    const offer = (pixels: Uint8Array): void => {
      const seq = expected.length;
      pixels.set(pixelsOf(seq, shape));
      expected.push([seq, sha(pixels)]);
      assert.ok(sender.offer(encodeFrame(header(seq, shape), pixels), bytes, seq));
    };
    offer(new Uint8Array(bytes));
    offer(new Uint8Array(bytes));
    for (const slot of held.reverse()) offer(slot);
    await sender.drain();
    const received = await receiving;
    assert.deepEqual(received.frames, expected);
    assert.equal(sender.stats.madeInRing, share);
    assert.equal(sender.stats.sharedFrames, share + 2);
    sender.close(0);
  });

  test('a slot of a saver gone since goes to the next saver as memory of its own, copied into its ring', async () => {
    const endpoint = `ipc://${scratch.dir}/ring-rebind.sock`;
    const sender = await LosslessSender.bind(endpoint, 256 * 1024 * 1024, null, sharedMemory);
    const shape = [1024, 512];
    const bytes = shape[0]! * shape[1]! * 2;
    const [kept, dropped] = [sender.lend(bytes), sender.lend(bytes)];
    assert.ok(kept !== null && dropped !== null);
    // The saver went away while the camera held these (a stream still filling them): a new outlet and ring.
    await sender.rebind();
    sender.giveBack(dropped);
    assert.equal(sender.lentSlots, 1, 'a slot of the old ring is only forgotten');
    const receiving = receiveInChild(sender.endpoint, 2);
    await sender.waitForPeers(1, 10_000);
    const expected: [number, string][] = [];
    for (const [seq, pixels] of [kept, sender.lend(bytes)!].entries()) {
      pixels.set(pixelsOf(seq, shape));
      expected.push([seq, sha(pixels)]);
      assert.ok(sender.offer(encodeFrame(header(seq, shape), pixels), bytes, seq));
    }
    await sender.drain();
    assert.deepEqual((await receiving).frames, expected);
    assert.equal(sender.stats.sharedFrames, 2);
    assert.equal(sender.stats.madeInRing, 1, "the old ring's frame was copied into the new ring");
    sender.close(0);
  });

  test("each reference says how many copies the frame's pixels took: the camera's, plus one where the sender copied them in", async () => {
    const sender = await LosslessSender.bind(`ipc://${scratch.dir}/ring-copies.sock`, 256 * 1024 * 1024, null, sharedMemory);
    const pull = new Pull();
    pull.connect(sender.endpoint);
    try {
      await sender.waitForPeers(1, 10_000);
      const shape = [1024, 256];
      const bytes = shape[0]! * shape[1]! * 2;
      // [made in a slot (take), copies the camera reports, copies the reference must say]
      const cases = [
        [true, 0, 0],
        [false, 0, 1],
        [true, 1, 1],
        [false, 2, 3],
      ] as const;
      for (const [seq, [inSlot, copies]] of cases.entries()) {
        const pixels = (inSlot ? sender.take(bytes) : null) ?? new Uint8Array(bytes);
        assert.equal(sender.isSlot(pixels), inSlot);
        pixels.set(pixelsOf(seq, shape));
        assert.ok(sender.offer(encodeFrame(header(seq, shape), pixels), bytes, seq, copies));
      }
      await sender.drain();
      for (const [seq, [, , said]] of cases.entries()) {
        const parts = await pull.receive();
        assert.equal(parts[0]!.toString(), 'shared-frame');
        const ref = JSON.parse(parts[2]!.toString()) as RingRef;
        assert.equal(ref.copies, said, `frame ${seq}: ${parts[2]!.toString()}`);
      }
    } finally {
      pull.close();
      sender.close(0);
    }
  });

  test('small frames stay on the socket, batched as before', async () => {
    const endpoint = `ipc://${scratch.dir}/ring-small.sock`;
    const sender = await LosslessSender.bind(endpoint, 64 * 1024 * 1024, null, sharedMemory);
    const receiving = receiveInChild(sender.endpoint, 500);
    await sender.waitForPeers(1, 10_000);
    const expected: [number, string][] = [];
    for (let seq = 0; seq < 500; seq++) {
      const pixels = pixelsOf(seq, [64, 64]);
      expected.push([seq, sha(pixels)]);
      assert.ok(sender.offer(encodeFrame(header(seq, [64, 64]), pixels), pixels.byteLength, seq));
    }
    await sender.drain();
    assert.deepEqual((await receiving).frames, expected);
    assert.equal(sender.stats.sharedFrames, 0);
    sender.close(0);
  });

  test('a saver that cannot map the ring: the frames it could not read are counted as malformed, the rest come by socket', async () => {
    const endpoint = `ipc://${scratch.dir}/ring-blind.sock`;
    const sender = await LosslessSender.bind(endpoint, 256 * 1024 * 1024, null, sharedMemory);
    // Without shared memory, as a saver of another user would be.
    const receiver = DataReceiver.pull(sender.endpoint);
    await sender.waitForPeers(1, 10_000);
    const total = 50;
    for (let seq = 0; seq < total; seq++) {
      const pixels = pixelsOf(seq, [1024, 512]);
      assert.ok(sender.offer(encodeFrame(header(seq, [1024, 512]), pixels), pixels.byteLength, seq));
    }
    const seqs: number[] = [];
    const shared = (): number => sender.stats.sharedFrames;
    for await (const message of receiver.messages()) {
      if (message.topic === 'frame') seqs.push(message.header.seq);
      if (seqs.length + receiver.malformed.count === total) break;
    }
    await sender.drain();
    // The ring's 32 slots filled, nothing was released for the stall time, and the sender fell back.
    assert.equal(shared(), 32);
    assert.equal(receiver.malformed.count, 32);
    assert.match(receiver.malformed.lastReason ?? '', /shared-frame message on a receiver without shared memory/);
    assert.deepEqual(
      seqs,
      Array.from({ length: total - 32 }, (_, i) => 32 + i),
    );
    receiver.close();
    sender.close(0);
  });
});

test('a shared-frame message whose reference does not fit is malformed, with the reason', () => {
  const parts = encodeSharedFrame(encodeFrame(header(0, [4, 4]), new Uint8Array(32)), { ring: 'x' });
  const withoutMemory = decodeDataMessages(parts);
  assert.equal(withoutMemory.ok, false);
  const refused = decodeDataMessages(parts, () => {
    throw new Error('ring x is not mapped');
  });
  assert.deepEqual(refused, { ok: false, reason: 'shared-frame reference: ring x is not mapped' });
  const wrongSize = decodeDataMessages(parts, () => new Uint8Array(10));
  assert.deepEqual(wrongSize, { ok: false, reason: 'shared frame is 10 bytes, header says 32' });
});

/**
 * A process that maps the ring of `ref`, says "ready", waits for the go flag
 * (byte 64 of the ring's first page), then views and releases a slot `count`
 * times as fast as it can.
 */
function releaseInChild(ref: RingRef, count: number): { ready: Promise<void>; done: Promise<void> } {
  const code = `
    const { FrameRingReaders } = await import(${JSON.stringify(FRAME_RING_MODULE)});
    const { receiverSharedMemory } = await import(${JSON.stringify(RING_MODULE)});
    const ref = JSON.parse(process.argv[1]);
    const addon = receiverSharedMemory();
    const go = new Int32Array(addon.openSharedMemory(ref.path, ref.ring_bytes), 64, 1);
    const readers = new FrameRingReaders(addon);
    process.stdout.write('ready\\n');
    while (Atomics.load(go, 0) === 0) {}
    for (let i = 0; i < Number(process.argv[2]); i++) readers.view(ref);
    readers.release();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, JSON.stringify(ref), String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const ready = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const done = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`releasing process exited ${code}: ${err}`))));
  });
  return { ready, done };
}

test(
  'the release count is atomic across processes: two releasing at once lose no release, and the reader never sees it go back',
  { skip },
  async () => {
    const ring = FrameRingWriter.create(sharedMemory!, 4096);
    const ref = ring.put(new Uint8Array(16));
    const perProcess = 2_000_000;
    const releasers = [releaseInChild(ref, perProcess), releaseInChild(ref, perProcess)];
    await Promise.all(releasers.map((releaser) => releaser.ready));
    new Int32Array(sharedMemory!.openSharedMemory(ref.path, ref.ring_bytes), 64, 1)[0] = 1;
    let last = 0;
    let finished = false;
    const done = Promise.all(releasers.map((releaser) => releaser.done)).finally(() => (finished = true));
    while (!finished) {
      const seen = ring.releasedCount;
      assert.ok(Number.isInteger(seen) && seen >= last, `the count went from ${last} to ${seen}`);
      last = seen;
      await delay(0);
    }
    await done;
    assert.equal(ring.releasedCount, 2 * perProcess, 'every release counted');
  },
);

test('a receiver maps only labcast frame rings, whatever path a message gives', { skip }, () => {
  const path = `${scratch.dir}/not-a-ring.bin`;
  writeFileSync(path, Buffer.alloc(8192, 7));
  assert.throws(() => sharedMemory!.openSharedMemory(path, 8192), /not a labcast frame ring/);
  assert.deepEqual(readFileSync(path), Buffer.alloc(8192, 7), 'the file is untouched');
  const ring = sharedMemory!.createSharedMemory(8192);
  assert.equal(sharedMemory!.openSharedMemory(ring.path, 8192).byteLength, 8192);
});

test(`${SHARED_FRAMES_ENV}=0 keeps frames on the socket; other values are refused naming it`, () => {
  assert.equal(senderSharedMemory(true, { [SHARED_FRAMES_ENV]: '0' }), null);
  assert.equal(senderSharedMemory(false, {}), null, 'never for a saver that may be elsewhere');
  assert.equal(senderSharedMemory(true, {}) !== null, sharedMemory !== null, 'whenever the addon is built');
  assert.throws(() => senderSharedMemory(true, { [SHARED_FRAMES_ENV]: 'yes' }), {
    code: 'BAD_CONFIG',
    message: /LABCAST_SHARED_FRAMES=yes/,
  });
});

test('slots are claimed and given back in any order, and freed in the order they were sent', { skip }, () => {
  // 8 MiB slots: a ring of 4.
  const ring = FrameRingWriter.create(sharedMemory!, 8 * 1024 * 1024);
  assert.equal(ring.slots, 4);
  const first = ring.claim(16).ref;
  const released = new BigInt64Array(sharedMemory!.openSharedMemory(first.path, first.ring_bytes), 0, 1);
  const release = (count: number): void => void Atomics.add(released, 0, BigInt(count));
  const [a, b, c, d] = [first.slot, ring.claim(16).ref.slot, ring.claim(16).ref.slot, ring.claim(16).ref.slot];
  assert.deepEqual([a, b, c, d].sort(), [0, 1, 2, 3], 'four distinct slots');
  assert.equal(ring.hasFreeSlot(), false);
  // Given back by identity, not only the last claimed: that very slot is free again.
  ring.unclaim(b);
  assert.equal(ring.claim(16).ref.slot, b);
  // Sent out of claim order: the saver releases in send order, so the first release frees c.
  ring.sent(c);
  ring.sent(a);
  ring.sent(d);
  ring.unclaim(b);
  assert.equal(ring.claim(16).ref.slot, b, 'only the given-back slot is free before any release');
  assert.equal(ring.hasFreeSlot(), false);
  release(1);
  assert.equal(ring.claim(16).ref.slot, c, 'the first slot sent is the first freed');
  assert.equal(ring.idle, false, 'slots are still claimed');
  ring.unclaim(b);
  ring.unclaim(c);
  assert.equal(ring.idle, false, 'a and d are still being written');
  release(2);
  assert.equal(ring.idle, true);
  assert.deepEqual([ring.claim(16), ring.claim(16), ring.claim(16), ring.claim(16)].map((s) => s.ref.slot).sort(), [0, 1, 2, 3]);
});

test(
  'a camera that holds slots queued (lend) gets a ring of at least 8 slots for 8 MiB frames; one slot at a time (take) keeps 4',
  { skip },
  () => {
    const frameBytes = 2048 * 2048 * 2;
    const outlet = new SharedFrameOutlet(sharedMemory!);
    const taken = outlet.claim(frameBytes);
    assert.ok(taken !== null);
    assert.equal(taken.ref.slots, 4, '32 MiB of 8 MiB slots');
    // Not replaced while a slot of it is out; replaced by a larger one once idle.
    const sameRing = outlet.claim(frameBytes, frameBytes, LENDING_MIN_SLOTS)!;
    assert.equal(sameRing.ref.ring, taken.ref.ring);
    outlet.unclaim(sameRing);
    outlet.unclaim(taken);
    const lent = outlet.claim(frameBytes, frameBytes, LENDING_MIN_SLOTS);
    assert.ok(lent !== null);
    assert.notEqual(lent.ref.ring, taken.ref.ring);
    assert.equal(lent.ref.slots, LENDING_MIN_SLOTS);
    // The camera holds all slots but one.
    const held = [lent];
    for (;;) {
      const next = outlet.claim(frameBytes, frameBytes, LENDING_MIN_SLOTS);
      if (next === null) break;
      held.push(next);
    }
    assert.equal(held.length, LENDING_MIN_SLOTS - 1);
    // Frames so large that 8 slots would pass what a receiver maps still get a ring (of fewer slots).
    const huge = new SharedFrameOutlet(sharedMemory!).claim(200 * 1024 * 1024, 200 * 1024 * 1024, LENDING_MIN_SLOTS);
    assert.ok(huge !== null);
    assert.ok(huge.ref.slots >= 4 && huge.ref.ring_bytes <= 1024 * 1024 * 1024, JSON.stringify(huge.ref));
  },
);
