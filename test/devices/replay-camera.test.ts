import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCamera } from '../../src/devices/registry.js';
import type { Camera, Frame } from '../../src/devices/camera.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { openH5wasmWriter } from '../../src/storage/h5wasm-writer.js';
import { loadConfig } from '../../src/config/load-config.js';
import { appendFrames, FRAME_PERIOD_NS, framePixels, makeRunEnd, makeRunStart, range, tempDir } from '../storage/fixtures.js';

async function take(camera: Camera, count: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const frame of camera.stream(new AbortController().signal)) {
    frames.push(frame);
    if (frames.length >= count) break;
  }
  return frames;
}

describe('replay camera', () => {
  const scratch = tempDir();
  const gray = join(scratch.dir, 'gray.h5');
  const rgb = join(scratch.dir, 'rgb.h5');
  const start = makeRunStart({ shape: [6, 8], dtype: 'uint16' });
  const rgbStart = makeRunStart({ shape: [4, 5, 3], dtype: 'uint8', run_id: 'rgb' });

  before(async () => {
    for (const [path, run] of [
      [gray, start],
      [rgb, rgbStart],
    ] as const) {
      const writer = await openH5wasmWriter(path, run, { overwrite: false });
      appendFrames(writer, run, range(0, 12));
      writer.finish(makeRunEnd(run));
    }
  });
  after(() => scratch.remove());

  test('plays every frame with its exact pixels, at the recorded timing, re-based to now', async () => {
    const camera = await createCamera(`replay:${gray}`);
    await camera.open();
    assert.equal(camera.freeRunning, true);
    assert.deepEqual(camera.frameFormat(), { shape: [6, 8], dtype: 'uint16' });
    const began = Date.now();
    const frames = await take(camera, 100);
    assert.equal(frames.length, 12, 'the stream ends after the last frame');
    frames.forEach((frame, seq) => assert.deepEqual(frame.pixels, framePixels([6, 8], 'uint16', seq)));
    const steps = frames.slice(1).map((frame, i) => frame.timestampNs - frames[i]!.timestampNs);
    assert.deepEqual(steps, Array(11).fill(FRAME_PERIOD_NS));
    assert.ok(Math.abs(Number(frames[0]!.timestampNs / 1_000_000n) - began) < 2000);
    assert.ok(Date.now() - began >= 100, 'paced: 11 periods of 10 ms');
    await camera.close();
  });

  test('a chosen fps paces and stamps on that grid; fps 0 is as fast as consumed and not free-running', async () => {
    const paced = await createCamera({ driver: 'replay', path: gray, fps: 50 });
    await paced.open();
    const frames = await take(paced, 3);
    assert.deepEqual(
      frames.slice(1).map((frame, i) => frame.timestampNs - frames[i]!.timestampNs),
      [20_000_000n, 20_000_000n],
    );
    await paced.close();
    const fast = await createCamera({ driver: 'replay', path: rgb, fps: 0 });
    await fast.open();
    assert.equal(fast.freeRunning, false);
    assert.deepEqual(fast.frameFormat(), { shape: [4, 5, 3], dtype: 'uint8' });
    const all = await take(fast, 100);
    assert.equal(all.length, 12);
    assert.deepEqual(all[3]!.pixels, framePixels([4, 5, 3], 'uint8', 3));
    assert.deepEqual(all[3]!.shape, [4, 5, 3]);
    await fast.close();
  });

  test('no settings; snaps cycle through the frames; a non-labcast file is CAMERA_UNAVAILABLE', async () => {
    const camera = await createCamera(`replay:${gray}`);
    await camera.open();
    assert.deepEqual(camera.settingSpecs(), []);
    await assert.rejects(
      camera.setSetting('gain', 1),
      (error: LabcastError) => error.code === 'BAD_SETTING' && /not supported by this camera \(replay\)/.test(error.message),
    );
    assert.deepEqual((await camera.snap()).pixels, framePixels([6, 8], 'uint16', 0));
    assert.deepEqual((await camera.snap()).pixels, framePixels([6, 8], 'uint16', 1));
    await camera.close();
    const text = join(scratch.dir, 'notes.h5');
    writeFileSync(text, 'not hdf5');
    await assert.rejects((await createCamera(`replay:${text}`)).open(), (error: LabcastError) => error.code === 'CAMERA_UNAVAILABLE');
  });

  test('the config file takes the string forms as well as objects', () => {
    const config = join(scratch.dir, 'lab.yaml');
    writeFileSync(config, `camera: "replay:${gray}"\n`);
    assert.deepEqual(loadConfig(config).camera, { driver: 'replay', path: gray });
    writeFileSync(config, 'camera: v4l2:/dev/video2\n');
    assert.deepEqual(loadConfig(config).camera, { driver: 'v4l2', device: '/dev/video2', ffmpeg_path: 'ffmpeg', input_options: [] });
    writeFileSync(config, 'camera: webcam:0\n');
    assert.throws(
      () => loadConfig(config),
      (error: LabcastError) =>
        error.code === 'BAD_CONFIG' &&
        /camera: unknown camera "webcam:0"; expected one of: sim, v4l2:DEVICE/.test(error.message) &&
        !/camera\.driver/.test(error.message),
    );
  });
});
