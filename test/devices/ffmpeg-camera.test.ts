import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FfmpegCamera } from '../../src/devices/ffmpeg/ffmpeg-camera.js';
import { outputPixelFormat } from '../../src/devices/ffmpeg/probe.js';
import { CAMERA_DRIVERS, cameraSpecFromString, createCamera, parseCameraSpec } from '../../src/devices/registry.js';
import type { Camera, Frame } from '../../src/devices/camera.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { scratchDir } from '../helpers/processes.js';
import { ffmpegChildren, ffmpegFromGraph } from '../helpers/ffmpeg.js';

async function take(camera: Camera, count: number): Promise<Frame[]> {
  const frames: Frame[] = [];
  const stop = new AbortController();
  for await (const frame of camera.stream(stop.signal)) {
    frames.push(frame);
    if (frames.length >= count) break;
  }
  return frames;
}

const isCode =
  (code: string) =>
  (error: unknown): boolean =>
    error instanceof LabcastError && error.code === code;

describe('camera specs: string forms and objects', () => {
  test('every string form becomes its driver spec', () => {
    assert.deepEqual(cameraSpecFromString('sim'), { driver: 'sim' });
    assert.deepEqual(cameraSpecFromString('v4l2:/dev/video2'), { driver: 'v4l2', device: '/dev/video2' });
    assert.deepEqual(cameraSpecFromString('v4l2:1'), { driver: 'v4l2', device: '/dev/video1' });
    assert.deepEqual(cameraSpecFromString('file:clip.mp4'), { driver: 'file', path: 'clip.mp4' });
    assert.deepEqual(cameraSpecFromString('url:rtsp://host:554/stream'), { driver: 'url', url: 'rtsp://host:554/stream' });
    assert.deepEqual(cameraSpecFromString('lavfi:testsrc2=size=320x240:rate=30'), {
      driver: 'lavfi',
      graph: 'testsrc2=size=320x240:rate=30',
    });
    assert.deepEqual(cameraSpecFromString('replay:run.h5'), { driver: 'replay', path: 'run.h5' });
    assert.deepEqual(cameraSpecFromString('{"driver":"file","path":"a.mkv","realtime":true}'), {
      driver: 'file',
      path: 'a.mkv',
      realtime: true,
    });
    assert.deepEqual(CAMERA_DRIVERS, ['sim', 'v4l2', 'file', 'url', 'lavfi', 'replay', 'genicam']);
  });

  test('defaults are applied and unknown forms and options are refused with the field', () => {
    const v4l2 = parseCameraSpec('v4l2:/dev/video0');
    assert.deepEqual(v4l2, { driver: 'v4l2', device: '/dev/video0', ffmpeg_path: 'ffmpeg', input_options: [] });
    assert.equal((parseCameraSpec('lavfi:testsrc') as { realtime: boolean }).realtime, true);
    assert.equal((parseCameraSpec('file:x.mp4') as { realtime: boolean }).realtime, false);
    assert.throws(
      () => parseCameraSpec('webcam:0'),
      (error: LabcastError) => error.code === 'BAD_ARGUMENT' && error.field === 'camera',
    );
    assert.throws(() => parseCameraSpec('file:'), /nothing after "file:"/);
    assert.throws(
      () => parseCameraSpec({ driver: 'file', path: 'x', width: 3 }),
      (error: LabcastError) => error.code === 'BAD_ARGUMENT' && /unknown file camera option "width"/.test(error.message),
    );
    assert.throws(
      () => parseCameraSpec({ driver: 'v4l2', pixel_format: 'yuv' }),
      (error: LabcastError) => error.field === 'pixel_format',
    );
  });

  test('pixel formats: 8-bit mono → gray, deeper mono → gray16le, colour → rgb24', () => {
    assert.equal(outputPixelFormat('gray'), 'gray');
    assert.equal(outputPixelFormat('gray16le'), 'gray16le');
    assert.equal(outputPixelFormat('gray12be'), 'gray16le');
    assert.equal(outputPixelFormat('yuyv422'), 'rgb24');
    assert.equal(outputPixelFormat('yuvj420p'), 'rgb24');
  });
});

describe('ffmpeg camera (lavfi test sources and a generated video file)', () => {
  const scratch = scratchDir();
  const clip = join(scratch.dir, 'clip.mkv');
  before(() => {
    // 2 s at 10 fps: 20 frames of 96x64, lossless so pixels are exact.
    ffmpegFromGraph('testsrc=size=96x64:rate=10', ['-t', '2', '-c:v', 'ffv1', clip]);
  });
  after(() => scratch.cleanup());

  test('lavfi gray: frameFormat from ffprobe, uint8 [H,W], timestamps one frame period apart, free-running', async () => {
    const camera = await createCamera('lavfi:testsrc2=size=160x120:rate=50,format=gray');
    await camera.open();
    try {
      assert.deepEqual(camera.frameFormat(), { shape: [120, 160], dtype: 'uint8' });
      assert.equal(camera.freeRunning, true);
      assert.deepEqual(camera.settingSpecs(), []);
      const frames = await take(camera, 10);
      assert.deepEqual(
        frames.map((frame) => frame.cameraIndex),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
      for (const frame of frames) assert.equal(frame.pixels.byteLength, 160 * 120);
      const steps = frames.slice(1).map((frame, i) => Number(frame.timestampNs - frames[i]!.timestampNs));
      assert.deepEqual(steps, Array(9).fill(20_000_000), 'pts at 50 fps, not the time Node read the pipe');
      assert.ok(Math.abs(Date.now() - Number(frames[0]!.timestampNs / 1_000_000n)) < 10_000);
      // Frames own their buffers.
      assert.notEqual(frames[0]!.pixels.buffer, frames[1]!.pixels.buffer);
    } finally {
      await camera.close();
    }
  });

  test('lavfi colour: rgb24 as uint8 [H,W,3]; gray16le on request; big frames come whole from the pipe', async () => {
    const rgb = await createCamera('lavfi:testsrc2=size=640x480:rate=25');
    await rgb.open();
    assert.deepEqual(rgb.frameFormat(), { shape: [480, 640, 3], dtype: 'uint8' });
    const frames = await take(rgb, 3);
    assert.deepEqual(
      frames.map((frame) => frame.pixels.byteLength),
      [921600, 921600, 921600],
    );
    assert.deepEqual(frames[0]!.shape, [480, 640, 3]);
    await rgb.close();

    const deep = await createCamera({ driver: 'lavfi', graph: 'testsrc2=size=64x32:rate=25', pixel_format: 'gray16le', realtime: false });
    await deep.open();
    assert.equal(deep.freeRunning, false);
    assert.deepEqual(deep.frameFormat(), { shape: [32, 64], dtype: 'uint16' });
    const [frame] = await take(deep, 1);
    assert.equal(frame!.pixels.byteLength, 64 * 32 * 2);
    await deep.close();
  });

  test('a video file: every frame once, pts re-based to the start, not free-running, then the stream ends', async () => {
    const camera = await createCamera(`file:${clip}`);
    await camera.open();
    try {
      assert.equal(camera.freeRunning, false);
      assert.deepEqual(camera.frameFormat(), { shape: [64, 96, 3], dtype: 'uint8' });
      const frames = await take(camera, 1000);
      assert.equal(frames.length, 20);
      const steps = frames.slice(1).map((frame, i) => Number(frame.timestampNs - frames[i]!.timestampNs));
      assert.deepEqual(steps, Array(19).fill(100_000_000));
      // A second stream replays the file from the start.
      const again = await take(camera, 2);
      assert.deepEqual(again[0]!.pixels, frames[0]!.pixels);
      assert.ok(again[0]!.timestampNs > frames[19]!.timestampNs);
      const snap = await (camera as FfmpegCamera).snap();
      assert.deepEqual(snap.pixels, frames[0]!.pixels);
    } finally {
      await camera.close();
    }
  });

  test('ffmpeg killed mid-stream: the frames so far, then CAMERA_FAILED naming the signal', async () => {
    const camera = await createCamera('lavfi:testsrc2=size=64x48:rate=100');
    await camera.open();
    const stop = new AbortController();
    const received: Frame[] = [];
    const pidsBefore = ffmpegChildren();
    await assert.rejects(
      (async () => {
        for await (const frame of camera.stream(stop.signal)) {
          received.push(frame);
          if (received.length === 5) {
            const pid = ffmpegChildren().find((candidate) => !pidsBefore.includes(candidate));
            assert.ok(pid !== undefined, 'ffmpeg runs as a child of this process');
            process.kill(pid, 'SIGKILL');
          }
        }
      })(),
      (error: LabcastError) => error.code === 'CAMERA_FAILED' && /ffmpeg was killed by SIGKILL/.test(error.message),
    );
    assert.ok(received.length >= 5);
    await camera.close();
  });

  test('an abort ends the stream quietly (no error)', async () => {
    const camera = await createCamera('lavfi:testsrc2=size=64x48:rate=100');
    await camera.open();
    const stop = new AbortController();
    let count = 0;
    for await (const _frame of camera.stream(stop.signal)) {
      if (++count === 3) stop.abort();
    }
    assert.equal(count, 3);
    await camera.close();
  });

  test('settings: none for lavfi and files; setting one says it is not supported', async () => {
    const camera = await createCamera(`file:${clip}`);
    await camera.open();
    await assert.rejects(
      camera.setSetting('exposure_ms', 10),
      (error: LabcastError) => error.code === 'BAD_SETTING' && /not supported by this camera \(file\)/.test(error.message),
    );
    await camera.close();
  });

  test('missing device, missing file, missing ffmpeg: clear errors at open', async () => {
    await assert.rejects(
      (await createCamera('v4l2:/dev/video99')).open(),
      (error: LabcastError) => error.code === 'CAMERA_UNAVAILABLE' && /\/dev\/video99/.test(error.message),
    );
    await assert.rejects((await createCamera(`file:${join(scratch.dir, 'nope.mp4')}`)).open(), isCode('CAMERA_UNAVAILABLE'));
    await assert.rejects((await createCamera(`file:${scratch.dir}`)).open(), isCode('CAMERA_UNAVAILABLE'));
    await assert.rejects(
      (await createCamera({ driver: 'lavfi', graph: 'testsrc2', ffmpeg_path: join(scratch.dir, 'bin', 'ffmpeg') })).open(),
      (error: LabcastError) => error.code === 'MISSING_TOOL' && /apt-get install ffmpeg/.test(error.message),
    );
    await assert.rejects((await createCamera('lavfi:nosuchfilter=1')).open(), isCode('CAMERA_UNAVAILABLE'));
  });
});
