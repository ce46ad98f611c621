import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Acquisition } from '../../src/acquisition/acquisition.js';
import { softwareInfo } from '../../src/config/software.js';
import { genicamCameraSpecSchema } from '../../src/camera-spec/genicam-spec.js';
import type { Frame } from '../../src/devices/camera.js';
import { GenicamCamera } from '../../src/devices/genicam/genicam-camera.js';
import type { AravisAddon, AravisCameraHandle, AravisStreamEvent } from '../../src/native/aravis-addon.js';
import { receiverSharedMemory } from '../../src/native/shared-frames.js';
import type { RunEnd } from '../../src/protocol/messages.js';
import { LivePublisher } from '../../src/transport/live-publisher.js';
import { LosslessSender } from '../../src/transport/lossless-sender.js';
import { aravisOrSkip } from '../helpers/aravis.js';
import { delay, scratchDir } from '../helpers/processes.js';

/*
 * GenICam frames made in the saver's shared-memory ring: the driver copies
 * each image from Aravis's stream buffer straight into the slot the lossless
 * sender hands out (FrameMemory.take), so the slot is sent as it is. Against
 * Aravis's in-process fake camera (no network), with the real Acquisition,
 * sender and a saver-like child process that reads the slots in place and
 * checks each frame against the fake camera's Mono8 ramp:
 * pixel (x, y) = (x + y + f) mod 255 for frame id f (see genicam-camera.test.ts).
 */

const scratch = scratchDir();
after(() => scratch.cleanup());

const sharedMemory = receiverSharedMemory();
/** 512 KiB Mono8 frames: above the ring's 256 KiB threshold. */
const LARGE = { Width: 1024, Height: 512, AcquisitionFrameRate: 100 } as const;

const RECEIVER_MODULE = fileURLToPath(new URL('../../src/transport/data-receiver.js', import.meta.url));
const SHARED_MODULE = fileURLToPath(new URL('../../src/native/shared-frames.js', import.meta.url));

interface Received {
  /** [seq, the frame's ramp phase, whether every pixel is on the ramp]. */
  readonly frames: [number, number, boolean][];
  readonly ended: string | null;
  readonly malformed: number;
}

/** The in-process Fake camera opened through the addon, 64x48 at 200 fps (closed again if setting it up fails). */
function openSmallFake(addon: AravisAddon): AravisCameraHandle {
  addon.useInterfaces(['Fake']);
  const handle = addon.openCamera('Fake_1');
  try {
    addon.setFeature(handle, 'Width', 64);
    addon.setFeature(handle, 'Height', 48);
    addon.setFeature(handle, 'AcquisitionFrameRate', 200);
    return handle;
  } catch (error) {
    addon.closeCamera(handle);
    throw error;
  }
}

/** A saver-like process: takes the run's frames (slots viewed in place) until run-end, checking each against the ramp. */
function receiveInChild(endpoint: string, width: number, height: number, slowMs = 0): Promise<Received> {
  const code = `
    const { DataReceiver } = await import(${JSON.stringify(RECEIVER_MODULE)});
    const { receiverSharedMemory } = await import(${JSON.stringify(SHARED_MODULE)});
    const [endpoint, width, height] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
    const receiver = DataReceiver.pull(endpoint, null, receiverSharedMemory());
    const frames = [];
    let ended = null;
    for await (const m of receiver.messages()) {
      if (m.topic === 'run-end') { ended = m.header.reason; break; }
      if (m.topic !== 'frame') continue;
      const p = m.pixels;
      const phase = p[0];
      let ok = p.length === width * height;
      for (let y = 0; y < height && ok; y++) for (let x = 0; x < width; x++) if (p[y * width + x] !== (x + y + phase) % 255) { ok = false; break; }
      frames.push([m.header.seq, phase, ok]);
      if (Number(process.argv[4]) > 0) await new Promise((r) => setTimeout(r, Number(process.argv[4])));
    }
    process.stdout.write(JSON.stringify({ frames, ended, malformed: receiver.malformed.count }));
    receiver.close();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, endpoint, String(width), String(height), String(slowMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', (status) =>
      status === 0 ? resolve(JSON.parse(out) as Received) : reject(new Error(`receiver exited ${status}: ${err}`)),
    );
  });
}

async function openFake(t: TestContext, options: Record<string, unknown>): Promise<GenicamCamera | null> {
  if (aravisOrSkip(t) === null) return null;
  const camera = new GenicamCamera(genicamCameraSpecSchema.parse({ driver: 'genicam', id: 'Fake_1', ...options }));
  await camera.open();
  return camera;
}

/** One saving run of the real Acquisition from `camera` to a receiver child; `during` runs while it goes (e.g. a stop). */
async function recordRun(
  camera: GenicamCamera,
  name: string,
  frames: number | null,
  shared: boolean,
  during?: (acquisition: Acquisition) => Promise<void>,
  slowMs = 0,
): Promise<{ end: RunEnd; received: Received; sender: LosslessSender }> {
  const sender = await LosslessSender.bind(`ipc://${scratch.dir}/${name}.sock`, 256 * 1024 * 1024, null, shared ? sharedMemory : null);
  const live = await LivePublisher.bind(`ipc://${scratch.dir}/${name}-live.sock`);
  const { shape } = camera.frameFormat();
  const receiving = receiveInChild(sender.endpoint, shape[1]!, shape[0]!, slowMs);
  const acquisition = new Acquisition({ camera, live, lossless: sender, config: {}, software: softwareInfo() });
  try {
    const running = acquisition.start({ runId: name, frames, durationS: null, save: true });
    await during?.(acquisition);
    const end = await running;
    return { end, received: await receiving, sender };
  } finally {
    sender.close(0);
    live.close();
  }
}

/** Every frame the receiver got is the fake camera's frame, one frame id after the one before. */
function assertRampFrames(received: Received, count: number): void {
  assert.equal(received.malformed, 0);
  assert.equal(received.frames.length, count);
  assert.deepEqual(
    received.frames.map(([seq]) => seq),
    [...Array(count).keys()],
  );
  for (const [seq, phase, ok] of received.frames) {
    assert.ok(ok, `frame ${seq} is the fake camera's ramp`);
    if (seq > 0) assert.equal(phase, (received.frames[seq - 1]![1] + 1) % 255, `frame ${seq} is the next frame id`);
  }
}

describe(
  'GenICam frames made in ring slots (fake camera, real acquisition and sender, a receiving process)',
  {
    skip: sharedMemory === null ? 'the native addon is not built' : false,
  },
  () => {
    test("Aravis assembles each frame in its slot, which is sent as it lies; byte for byte the camera's", async (t) => {
      const camera = await openFake(t, { features: LARGE });
      if (camera === null) return;
      try {
        const { end, received, sender } = await recordRun(camera, 'ring', 60, true);
        assert.equal(end.reason, 'completed', end.error ?? '');
        assert.equal(end.frames_lost_camera, 0);
        assertRampFrames(received, 60);
        assert.equal(received.ended, 'completed');
        assert.equal(sender.stats.sharedFrames, 60, 'every frame went through shared memory');
        // Made in their slot: never copied into one by the sender. (Only a ring full under load makes a frame fall back.)
        assert.ok(sender.stats.madeInRing >= 50, `${sender.stats.madeInRing} of 60 frames made in their slot`);
        assert.equal(end.camera_statistics?.frames_copied_out, 0, 'a consumer that keeps up never copies an image out early');
        // Assembled by Aravis in the slot itself: labcast copied none of them.
        const inRing = end.camera_statistics?.frames_assembled_in_ring ?? 0;
        assert.ok(inRing >= 50 && inRing <= sender.stats.madeInRing, `${inRing} of 60 frames assembled in their slot`);
      } finally {
        await camera.close();
      }
    });

    test('a one-frame run (ctl snap, labcast snap): the image is assembled in its slot too, never copied', async (t) => {
      const camera = await openFake(t, { features: LARGE });
      if (camera === null) return;
      try {
        for (let run = 0; run < 3; run++) {
          const { end, received, sender } = await recordRun(camera, `snap-${run}`, 1, true);
          assert.equal(end.reason, 'completed', end.error ?? '');
          assertRampFrames(received, 1);
          // The stream's own buffers are queued only after its slots: the first image lands in a slot.
          assert.equal(end.camera_statistics?.frames_assembled_in_ring, 1, JSON.stringify(end.camera_statistics));
          assert.equal(sender.stats.madeInRing, 1);
        }
      } finally {
        await camera.close();
      }
    });

    test("a saver behind fills the ring: images go to Aravis's own buffers and are copied, and no frame is lost", async (t) => {
      // 1 MiB frames at 100 frames/s to a saver taking 25 ms a frame: the ring's 32 slots fill within a second.
      const camera = await openFake(t, { features: { Width: 1024, Height: 1024, AcquisitionFrameRate: 100 } });
      if (camera === null) return;
      try {
        const { end, received, sender } = await recordRun(camera, 'full', 150, true, undefined, 25);
        assert.equal(end.reason, 'completed', end.error ?? '');
        assert.equal(end.frames_lost_camera, 0, JSON.stringify(end.camera_statistics));
        assert.equal(end.frames_dropped, 0);
        assertRampFrames(received, 150);
        const inRing = end.camera_statistics?.frames_assembled_in_ring ?? 0;
        assert.ok(inRing >= 32, `${inRing} frames assembled in slots`);
        assert.ok(inRing < 150, "a full ring sent images to Aravis's own buffers");
        assert.equal(sender.stats.sharedFrames, 150, 'the copies went through the ring too, once slots came free');
      } finally {
        await camera.close();
      }
    });

    test('without shared memory (a remote saver) the frames go on the socket, each in memory of its own', async (t) => {
      const camera = await openFake(t, { features: LARGE });
      if (camera === null) return;
      try {
        const { end, received, sender } = await recordRun(camera, 'socket', 30, false);
        assert.equal(end.reason, 'completed', end.error ?? '');
        assertRampFrames(received, 30);
        assert.deepEqual([sender.stats.sharedFrames, sender.stats.madeInRing], [0, 0]);
      } finally {
        await camera.close();
      }
    });

    test('stopped mid-stream: every frame sent arrives whole, the lent buffers come back, and the camera streams and snaps again', async (t) => {
      const camera = await openFake(t, { features: LARGE, buffers: 4 });
      if (camera === null) return;
      try {
        const { end, received, sender } = await recordRun(camera, 'stop', null, true, async (acquisition) => {
          await delay(400);
          await acquisition.stop();
        });
        assert.equal(end.reason, 'stopped');
        assert.ok(end.frames_acquired > 0, 'frames before the stop');
        assertRampFrames(received, end.frames_acquired - (end.frames_lost_camera ?? 0));
        assert.ok(sender.stats.madeInRing > 0);
        assert.ok((end.camera_statistics?.frames_assembled_in_ring ?? 0) > 0, 'slots were queued in Aravis when it stopped');
        // With only 4 stream buffers, a buffer not given back at the stop would starve these.
        for (let round = 0; round < 2; round++) {
          const again = await recordRun(camera, `again-${round}`, 20, true);
          assert.equal(again.end.reason, 'completed', again.end.error ?? '');
          assertRampFrames(again.received, 20);
        }
        const snap = await camera.snap();
        assert.equal(snap.pixels.byteLength, 1024 * 512);
      } finally {
        await camera.close();
      }
    });
  },
);

describe('GenICam stream buffers lent to the driver', () => {
  test('the addon: ring slots lent to the stream come back as the same views, filled in place; stopping ends all writing to them', async (t) => {
    const addon = aravisOrSkip(t);
    if (addon === null || sharedMemory === null) return;
    const handle = openSmallFake(addon);
    try {
      const bytes = 64 * 48;
      assert.equal(addon.payloadBytes(handle), bytes);
      const ring = new Uint8Array(sharedMemory.createSharedMemory(4 * 4096).buffer);
      const slots = [0, 1, 2].map((i) => ring.subarray(4096 * i, 4096 * i + bytes));
      const events: AravisStreamEvent[] = [];
      // minQueued 1: the stream's own buffers wait in reserve while a slot is queued.
      addon.startStream(handle, 2, (event) => events.push(event), 1);
      for (const slot of slots.slice(0, 2)) addon.pushSlot(handle, slot, bytes);
      assert.throws(() => addon.pushSlot(handle, slots[2]!, 4 * 4096), /capacity/);
      const back = (): Extract<AravisStreamEvent, { status: number }>[] =>
        events.filter(
          (event): event is Extract<AravisStreamEvent, { status: number }> => event.error === undefined && event.slot !== undefined,
        );
      for (let i = 0; i < 100 && back().length < 2; i++) await delay(20);
      const [first, second] = back();
      assert.ok(first !== undefined && second !== undefined, 'both slots came back');
      assert.equal(first.slot, slots[0], 'the very view lent');
      assert.equal(second.slot, slots[1]);
      assert.equal(first.data!.buffer, ring.buffer, 'assembled in the ring');
      assert.equal(first.data!.byteOffset, 0);
      const phase = slots[0]![0]!;
      assert.equal(slots[0]![65], (1 + 1 + phase) % 255, 'the slot holds the image');
      assert.equal(first.serial, undefined, 'no loan of a stream buffer to end');
      // The stream had its own buffers once both slots were out: images kept coming.
      for (let i = 0; i < 100 && events.filter((event) => event.error === undefined && event.serial !== undefined).length < 1; i++) {
        await delay(20);
      }
      assert.ok(
        events.some((event) => event.error === undefined && event.serial !== undefined),
        "images in the stream's own buffers",
      );
      for (const event of events) if (event.error === undefined && event.serial !== undefined) addon.releaseBuffer(handle, event.serial);
      addon.pushSlot(handle, slots[2]!, bytes);
      addon.stopStream(handle);
      const count = events.length;
      // A slot still queued at the stop: nothing writes it after stopStream returns.
      slots[2]!.fill(0xee);
      await delay(200);
      assert.ok(
        slots[2]!.every((value) => value === 0xee),
        'no write after the stop',
      );
      assert.equal(events.length, count, 'no event after the stop');
    } finally {
      addon.closeCamera(handle);
    }
  });

  test('a consumer that falls behind gets images copied out early, so the camera keeps buffers to fill; frames stay whole', async (t) => {
    const camera = await openFake(t, { features: { Width: 256, Height: 128, AcquisitionFrameRate: 200 }, buffers: 4 });
    if (camera === null) return;
    try {
      const stop = new AbortController();
      const frames: Frame[] = [];
      for await (const frame of camera.stream(stop.signal)) {
        frames.push(frame);
        // 50 ms per frame at 200 frames/s: ten frames arrive while the consumer sleeps.
        await delay(50);
        if (frames.length === 8) stop.abort();
      }
      for (const frame of frames) {
        const phase = frame.pixels[0]!;
        for (let i = 0; i < 256 * 128; i++) {
          if (frame.pixels[i] !== ((i % 256) + Math.floor(i / 256) + phase) % 255)
            assert.fail(`frame ${frame.cameraIndex}, byte ${i}: off the ramp`);
        }
      }
      const stats = camera.streamStatistics();
      assert.ok(stats.frames_copied_out! > 0, JSON.stringify(stats));
    } finally {
      await camera.close();
    }
  });

  test('the addon: a lent image views the stream buffer until released, then reads empty; stopping takes back every loan', async (t) => {
    const addon = aravisOrSkip(t);
    if (addon === null) return;
    const handle = openSmallFake(addon);
    try {
      const events: AravisStreamEvent[] = [];
      addon.startStream(handle, 3, (event) => events.push(event));
      const lent = (): Extract<AravisStreamEvent, { status: number }>[] =>
        events.filter(
          (event): event is Extract<AravisStreamEvent, { status: number }> => event.error === undefined && event.serial !== undefined,
        );
      for (let i = 0; i < 100 && lent().length < 3; i++) await delay(20);
      const [first, second, third] = lent();
      assert.ok(first !== undefined && second !== undefined && third !== undefined, 'three images lent');
      assert.equal(first.data!.byteLength, 64 * 48);
      // All three buffers are lent: the camera has none to fill, so nothing more arrives.
      await delay(200);
      assert.equal(lent().length, 3, 'no buffer arrives while all are lent');
      assert.ok(addon.streamStatistics(handle).n_underruns! > 0, JSON.stringify(addon.streamStatistics(handle)));
      const phase = first.data![0]!;
      assert.equal(first.data![65], (1 + 1 + phase) % 255, 'the view is the image');
      assert.equal(addon.releaseBuffer(handle, first.serial!), true);
      assert.equal(first.data!.byteLength, 0, 'a released view reads empty');
      assert.equal(addon.releaseBuffer(handle, first.serial!), false, 'released once');
      for (let i = 0; i < 100 && lent().length < 4; i++) await delay(20);
      assert.equal(lent().length, 4, 'the released buffer was filled again');
      addon.stopStream(handle);
      assert.deepEqual(
        [second, third, lent()[3]!].map((event) => event.data!.byteLength),
        [0, 0, 0],
        'the stop took back every loan',
      );
      assert.equal(addon.releaseBuffer(handle, second.serial!), false);
    } finally {
      addon.closeCamera(handle);
    }
  });
});
