import { spawnSync } from 'node:child_process';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Frame } from '../../src/devices/camera.js';
import { GenicamCamera } from '../../src/devices/genicam/genicam-camera.js';
import { genicamCameraSpecSchema } from '../../src/camera-spec/genicam-spec.js';
import { createCamera, parseCameraSpec } from '../../src/devices/registry.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { aravisOrSkip, runWithFakeGvCamera } from '../helpers/aravis.js';

/*
 * Against Aravis's in-process fake camera (interface "Fake", device Fake_1):
 * real GenICam node map and stream code, no network. Its image
 * (arvfakecamera.c, arv_fake_camera_diagonal_ramp) is, for frame id f,
 * Mono8 pixel (x, y) = ((x + y + f) mod 255) · scale and Mono16
 * ((256·(x + y + f)) mod 65535) · scale, clamped, where
 * scale = 1 + GainRaw + log10(exposure µs / 10000): 1 at 10 ms and gain 0.
 */

const FAST = { Width: 64, Height: 48, AcquisitionFrameRate: 200 } as const;

async function withFake(t: TestContext, options: Record<string, unknown>, body: (camera: GenicamCamera) => Promise<void>): Promise<void> {
  if (aravisOrSkip(t) === null) return;
  const spec = genicamCameraSpecSchema.parse({ driver: 'genicam', id: 'Fake_1', ...options });
  const camera = new GenicamCamera(spec);
  await camera.open();
  try {
    await body(camera);
  } finally {
    await camera.close();
  }
}

async function take(camera: GenicamCamera, count: number, onFrame?: (frame: Frame, index: number) => Promise<void>): Promise<Frame[]> {
  const stop = new AbortController();
  const frames: Frame[] = [];
  for await (const frame of camera.stream(stop.signal)) {
    frames.push(frame);
    await onFrame?.(frame, frames.length - 1);
    if (frames.length === count) stop.abort();
  }
  return frames;
}

/** Checks a Mono8 frame against the fake camera's ramp; returns its frame id mod 255. */
function checkMono8Ramp(frame: Frame, width: number, height: number): number {
  const phase = frame.pixels[0]!;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const expected = (x + y + phase) % 255;
      if (frame.pixels[y * width + x] !== expected)
        assert.fail(`pixel (${x}, ${y}) is ${frame.pixels[y * width + x]}, the ramp says ${expected}`);
    }
  }
  return phase;
}

function assertLabcastError(error: unknown, code: string, message: RegExp): true {
  assert.ok(error instanceof LabcastError, `a LabcastError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, message);
  return true;
}

describe("GenICam camera on Aravis's fake interface", () => {
  test('genicam:ID and the object form go through the registry', async () => {
    assert.deepEqual({ ...parseCameraSpec('genicam:Fake_1') }, { driver: 'genicam', id: 'Fake_1', packet_size: 'auto', buffers: 16 });
    const full = parseCameraSpec({
      driver: 'genicam',
      id: '192.168.1.20',
      pixel_format: 'Mono12',
      trigger: { mode: 'external', source: 'Line1', activation: 'falling_edge' },
      packet_size: 8192,
      features: { BinningHorizontal: 2, ReverseX: true },
    });
    assert.equal(full.driver, 'genicam');
    assert.throws(() => parseCameraSpec({ driver: 'genicam', id: 'x', trigger: { mode: 'sometimes' } }), /trigger\.mode/);
    assert.throws(() => parseCameraSpec('genicam:'), /nothing after "genicam:"/);
    assert.ok((await createCamera('genicam:Fake_1')) instanceof GenicamCamera);
  });

  test('open: model, frame format, and the node map as settings with type, unit, range, entries and access', async (t) => {
    await withFake(t, {}, async (camera) => {
      assert.equal(camera.info.driver, 'genicam');
      assert.match(camera.info.model, /^Aravis Fake \(serial 1/);
      assert.deepEqual(camera.frameFormat(), { shape: [512, 512], dtype: 'uint8' });
      const specs = new Map(camera.settingSpecs().map((spec) => [spec.name, spec]));
      const exposure = specs.get('exposure_ms')!;
      assert.deepEqual([exposure.unit, exposure.min, exposure.max, exposure.integer], ['ms', 0.01, 10000, false]);
      assert.match(exposure.description, /ExposureTimeAbs/);
      assert.equal(specs.get('gain')?.integer, true);
      assert.equal(specs.get('roi_width')?.changeable_while_streaming, false);
      assert.equal(specs.get('exposure_ms')?.changeable_while_streaming, true);
      const pixelFormat = specs.get('PixelFormat')!;
      assert.equal(pixelFormat.type, 'enumeration');
      assert.deepEqual([...pixelFormat.entries!].sort(), ['BayerBG8', 'BayerGB8', 'BayerGR8', 'BayerRG8', 'Mono16', 'Mono8', 'RGB8']);
      assert.equal(specs.get('SensorWidth')?.access, 'RO');
      assert.equal(specs.get('Width')?.access, 'RW');
      assert.equal(specs.get('DeviceVendorName')?.type, 'string');
      const settings = camera.getSettings();
      assert.equal(settings.exposure_ms, 10);
      assert.equal(settings.ExposureTimeAbs, 10000);
      assert.equal(settings.PixelFormat, 'Mono8');
      assert.equal(settings.bit_depth, 8);
      assert.equal(settings.DeviceVendorName, 'Aravis');
    });
  });

  test('exposure, gain and ROI by labcast name reach the GenICam features; bad values name what is accepted', async (t) => {
    await withFake(t, {}, async (camera) => {
      await camera.setSetting('exposure_ms', 2.5);
      await camera.setSetting('gain', 3);
      await camera.setSetting('roi_width', 100);
      await camera.setSetting('roi_height', 60);
      await camera.setSetting('roi_x', 8);
      await camera.setSetting('binning', 2);
      const settings = camera.getSettings();
      assert.equal(settings.ExposureTimeAbs, 2500);
      assert.equal(settings.GainRaw, 3);
      assert.deepEqual([settings.Width, settings.Height, settings.OffsetX], [100, 60, 8]);
      assert.deepEqual([settings.BinningHorizontal, settings.BinningVertical], [2, 2]);
      assert.deepEqual(camera.frameFormat(), { shape: [60, 100], dtype: 'uint8' });
      await camera.setSetting('ExposureTimeAbs', 4000);
      assert.equal(camera.getSettings().exposure_ms, 4);

      await assert.rejects(camera.setSetting('gain', 11), (error) =>
        assertLabcastError(error, 'BAD_SETTING', /"gain" accepts integers 0\.\.10/),
      );
      await assert.rejects(camera.setSetting('PixelFormat', 'Mono99'), (error) =>
        assertLabcastError(error, 'BAD_SETTING', /"PixelFormat" accepts one of BayerBG8, .*Mono8.*, got "Mono99"/),
      );
      await assert.rejects(camera.setSetting('SensorWidth', 100), (error) => assertLabcastError(error, 'BAD_SETTING', /read-only/));
      await assert.rejects(camera.setSetting('NoSuchFeature', 1), (error) =>
        assertLabcastError(error, 'BAD_SETTING', /unknown setting "NoSuchFeature"/),
      );
      await camera.setSetting('PixelFormat', 'Mono16');
      assert.deepEqual(camera.frameFormat(), { shape: [60, 100], dtype: 'uint16' });
      assert.equal(camera.getSettings().bit_depth, 16);
      await camera.setSetting('PixelFormat', 'BayerRG8');
      assert.equal(camera.getSettings().bayer_pattern, 'RG');
    });
  });

  test("stream: frames of the promised shape and dtype, contiguous indices, the fake's ramp advancing one id at a time", async (t) => {
    await withFake(t, { features: FAST }, async (camera) => {
      const frames = await take(camera, 12);
      assert.deepEqual(
        frames.map((frame) => frame.cameraIndex),
        [...Array(12).keys()],
      );
      const phases = frames.map((frame) => {
        assert.deepEqual(frame.shape, [48, 64]);
        assert.equal(frame.dtype, 'uint8');
        assert.equal(frame.pixels.byteLength, 48 * 64);
        assert.equal(frame.lostBefore, undefined);
        // The in-process fake renders into Aravis's buffer (no transport copy); labcast copied it into the frame's memory.
        assert.equal(frame.pixelCopies, 1);
        return checkMono8Ramp(frame, 64, 48);
      });
      for (let i = 1; i < phases.length; i++) assert.equal(phases[i], (phases[i - 1]! + 1) % 255, `frame ${i} follows frame ${i - 1}`);
      for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.timestampNs > frames[i - 1]!.timestampNs);
      const now = BigInt(Date.now()) * 1_000_000n;
      assert.ok(frames[0]!.hostTimestampNs! <= now && frames[0]!.hostTimestampNs! > now - 60_000_000_000n, 'host arrival is epoch ns');
      const stats = camera.streamStatistics();
      assert.ok(stats.n_completed_buffers! >= 12, JSON.stringify(stats));
      assert.equal(stats.n_failures, 0);
      assert.equal(stats.frames_lost, 0);
    });
  });

  test("stream in Mono16: uint16 frames with the fake camera's 16-bit ramp", async (t) => {
    await withFake(t, { pixel_format: 'Mono16', features: FAST }, async (camera) => {
      assert.deepEqual(camera.frameFormat(), { shape: [48, 64], dtype: 'uint16' });
      const [frame] = await take(camera, 1);
      const words = new Uint16Array(frame!.pixels.buffer, frame!.pixels.byteOffset, 64 * 48);
      // Pixel (0, 0) is (256·f) mod 65535; every other pixel follows from it.
      const origin = words[0]!;
      for (let y = 0; y < 48; y++) {
        for (let x = 0; x < 64; x++) {
          if (words[y * 64 + x] !== (origin + 256 * (x + y)) % 65535)
            assert.fail(`pixel (${x}, ${y}) = ${words[y * 64 + x]} is off the ramp`);
        }
      }
    });
  });

  test('stream in RGB8 gives [H, W, 3] uint8 frames; BayerRG8 raw [H, W] with the pattern recorded', async (t) => {
    await withFake(t, { pixel_format: 'RGB8', features: FAST }, async (camera) => {
      const [frame] = await take(camera, 1);
      assert.deepEqual([frame!.shape, frame!.dtype, frame!.pixels.byteLength], [[48, 64, 3], 'uint8', 48 * 64 * 3]);
      assert.equal(camera.getSettings().bit_depth, 8);
    });
    await withFake(t, { pixel_format: 'BayerRG8', features: FAST }, async (camera) => {
      const [frame] = await take(camera, 1);
      assert.deepEqual([frame!.shape, frame!.dtype], [[48, 64], 'uint8']);
      assert.equal(camera.getSettings().bayer_pattern, 'RG');
    });
  });

  test('settings that change the frames are refused while streaming, saying so; exposure is not', async (t) => {
    await withFake(t, { features: FAST }, async (camera) => {
      await take(camera, 3, async (_frame, index) => {
        if (index !== 0) return;
        for (const name of ['roi_width', 'Width', 'PixelFormat', 'binning', 'OffsetX']) {
          const value = name === 'PixelFormat' ? 'Mono16' : 2;
          await assert.rejects(camera.setSetting(name, value), (error) =>
            assertLabcastError(error, 'CAMERA_STATE', /cannot change while streaming.*TLParamsLocked.*stop the stream first/),
          );
        }
        await camera.setSetting('exposure_ms', 5);
        assert.equal(camera.getSettings().ExposureTimeAbs, 5000);
      });
      await camera.setSetting('roi_width', 32);
      assert.deepEqual(camera.frameFormat().shape, [48, 32]);
    });
  });

  test('snap: one frame outside a stream, snaps counted on their own; refused while streaming', async (t) => {
    await withFake(t, { features: FAST }, async (camera) => {
      const first = await camera.snap();
      const second = await camera.snap();
      assert.deepEqual(first.shape, [48, 64]);
      assert.deepEqual([first.cameraIndex, second.cameraIndex], [0, 1]);
      checkMono8Ramp(second, 64, 48);
      await take(camera, 1, async () => {
        await assert.rejects(camera.snap(), (error) => assertLabcastError(error, 'CAMERA_STATE', /while streaming/));
      });
    });
  });

  test('software trigger (fake GigE Vision camera, in a network namespace): one frame per trigger and none without', (t) => {
    if (aravisOrSkip(t) === null) return;
    // Aravis's in-process fake stream ignores triggers; its GigE Vision fake camera honours them.
    const driver = fileURLToPath(new URL('../../src/devices/genicam/genicam-camera.js', import.meta.url));
    const options = fileURLToPath(new URL('../../src/camera-spec/genicam-spec.js', import.meta.url));
    const script = `
      import { setTimeout as sleep } from 'node:timers/promises';
      const { GenicamCamera } = await import(${JSON.stringify(driver)});
      const { genicamCameraSpecSchema } = await import(${JSON.stringify(options)});
      const spec = genicamCameraSpecSchema.parse({ driver: 'genicam', id: '127.0.0.1', interfaces: ['GigEVision'],
        trigger: { mode: 'software' }, features: { Width: 64, Height: 48 } });
      let camera;
      for (let attempt = 0; ; attempt++) {
        camera = new GenicamCamera(spec);
        try { await camera.open(); break; } catch (error) { if (attempt === 50) throw error; await sleep(100); }
      }
      const stop = new AbortController();
      const arrivals = [];
      const streaming = (async () => { for await (const frame of camera.stream(stop.signal)) arrivals.push(frame.cameraIndex); })();
      await sleep(500);
      const counts = [arrivals.length];
      for (let i = 0; i < 3; i++) {
        await camera.softwareTrigger();
        const deadline = Date.now() + 5000;
        while (arrivals.length < i + 1 && Date.now() < deadline) await sleep(10);
        await sleep(200);
        counts.push(arrivals.length);
      }
      stop.abort();
      await streaming;
      const stats = camera.streamStatistics();
      await camera.close();
      const { triggers_sent: sent, triggers_missed: missed, n_completed_buffers: completed } = stats;
      console.log(JSON.stringify({ counts, arrivals, sent, missed, completed }));
    `;
    const run = runWithFakeGvCamera(t, script);
    if (run === null) return;
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.deepEqual(result.counts, [0, 1, 2, 3], 'none before the first trigger, then one per trigger');
    assert.deepEqual(result.arrivals, [0, 1, 2]);
    assert.deepEqual([result.sent, result.missed, result.completed], [3, 0, 3]);
  });

  test('a GigE Vision camera that stops answering mid-stream (fake camera killed) ends the stream with CAMERA_FAILED', (t) => {
    if (aravisOrSkip(t) === null) return;
    const driver = fileURLToPath(new URL('../../src/devices/genicam/genicam-camera.js', import.meta.url));
    const options = fileURLToPath(new URL('../../src/camera-spec/genicam-spec.js', import.meta.url));
    const script = `
      import { setTimeout as sleep } from 'node:timers/promises';
      const { GenicamCamera } = await import(${JSON.stringify(driver)});
      const { genicamCameraSpecSchema } = await import(${JSON.stringify(options)});
      const features = { Width: 64, Height: 48 };
      const spec = genicamCameraSpecSchema.parse({ driver: 'genicam', id: '127.0.0.1', interfaces: ['GigEVision'], features });
      let camera;
      for (let attempt = 0; ; attempt++) {
        camera = new GenicamCamera(spec);
        try { await camera.open(); break; } catch (error) { if (attempt === 50) throw error; await sleep(100); }
      }
      let frames = 0;
      let outcome = 'ended without an error';
      try {
        for await (const frame of camera.stream(new AbortController().signal)) {
          frames += 1;
          if (frames === 5) process.kill(Number(process.env.FAKE_CAMERA_PID), 'SIGKILL');
        }
      } catch (error) {
        outcome = error.code + ': ' + error.message;
      }
      await camera.close();
      console.log(JSON.stringify({ frames, outcome }));
    `;
    const run = runWithFakeGvCamera(t, script);
    if (run === null) return;
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as { frames: number; outcome: string };
    assert.ok(result.frames >= 5);
    assert.match(result.outcome, /^CAMERA_FAILED: GenICam camera 127\.0\.0\.1: the camera stopped answering/);
  });

  test('a software trigger refused when the camera is free-running; a snap in software-trigger mode triggers itself', async (t) => {
    await withFake(t, { features: FAST }, async (camera) => {
      await take(camera, 1, async () => {
        await assert.rejects(camera.softwareTrigger(), (error) =>
          assertLabcastError(error, 'CAMERA_STATE', /not in software-trigger mode/),
        );
      });
    });
    await withFake(t, { trigger: { mode: 'software' }, features: FAST }, async (camera) => {
      assert.equal(camera.getSettings().TriggerSource, 'Software');
      const frame = await camera.snap();
      assert.deepEqual(frame.shape, [48, 64]);
      assert.equal(camera.streamStatistics().triggers_sent, 1, 'the snap sent its own trigger');
    });
  });

  test('external trigger: source and activation set on the camera; a missing entry names what the camera has', async (t) => {
    await withFake(t, { trigger: { mode: 'external', source: 'Line0', activation: 'rising_edge' } }, async (camera) => {
      const settings = camera.getSettings();
      assert.deepEqual([settings.TriggerMode, settings.TriggerSource, settings.TriggerActivation], ['On', 'Line0', 'RisingEdge']);
    });
    if (aravisOrSkip(t) === null) return;
    const camera = new GenicamCamera(
      genicamCameraSpecSchema.parse({
        driver: 'genicam',
        id: 'Fake_1',
        trigger: { mode: 'external', source: 'Line0', activation: 'falling_edge' },
      }),
    );
    await assert.rejects(camera.open(), (error) =>
      assertLabcastError(
        error,
        'BAD_SETTING',
        /^trigger\.activation: setting "TriggerActivation" accepts one of RisingEdge, got "FallingEdge"/,
      ),
    );
  });

  test('features are applied in order at open, each checked against the node map', async (t) => {
    await withFake(t, { features: { Width: 80, OffsetX: 16, GainRaw: 2 } }, async (camera) => {
      assert.deepEqual([camera.getSettings().Width, camera.getSettings().OffsetX, camera.getSettings().gain], [80, 16, 2]);
    });
    if (aravisOrSkip(t) === null) return;
    const open = async (features: Record<string, unknown>): Promise<void> => {
      const camera = new GenicamCamera(genicamCameraSpecSchema.parse({ driver: 'genicam', id: 'Fake_1', features }));
      try {
        await camera.open();
      } finally {
        await camera.close();
      }
    };
    await assert.rejects(open({ Frobnicate: 1 }), (error) =>
      assertLabcastError(error, 'BAD_SETTING', /^features\.Frobnicate: the camera has no feature "Frobnicate"/),
    );
    await assert.rejects(open({ GainRaw: 50 }), (error) =>
      assertLabcastError(error, 'BAD_SETTING', /^features\.GainRaw: .*accepts integers 0\.\.10, got 50/),
    );
    await assert.rejects(open({ AcquisitionMode: 'Forever' }), (error) =>
      assertLabcastError(error, 'BAD_SETTING', /accepts one of Continuous, SingleFrame, MultiFrame, got "Forever"/),
    );
    await assert.rejects(open({ SensorWidth: 10 }), (error) => assertLabcastError(error, 'BAD_SETTING', /read-only/));
  });

  test('pixel_format must be one the camera offers and labcast records', async (t) => {
    if (aravisOrSkip(t) === null) return;
    const camera = new GenicamCamera(genicamCameraSpecSchema.parse({ driver: 'genicam', id: 'Fake_1', pixel_format: 'Mono12p' }));
    await assert.rejects(camera.open(), (error) =>
      assertLabcastError(error, 'BAD_SETTING', /^pixel_format: .*accepts one of .*got "Mono12p"/),
    );
  });

  test('a camera that is not there: CAMERA_UNAVAILABLE naming it and what was found', async (t) => {
    await withFake(t, {}, async () => undefined);
    const camera = new GenicamCamera(genicamCameraSpecSchema.parse({ driver: 'genicam', id: 'Fake_9', interfaces: ['Fake'] }));
    await assert.rejects(camera.open(), (error) =>
      assertLabcastError(error, 'CAMERA_UNAVAILABLE', /Fake_9 not found.*cameras found: Fake_1/),
    );
  });

  test('the serial number opens the camera too (looked up in the device list)', async (t) => {
    await withFake(t, { id: '1', interfaces: ['Fake'] }, async (camera) => {
      assert.match(camera.info.model, /serial 1/);
    });
  });

  test('without the Aravis binding, genicam: fails with MISSING_TOOL and the apt-get line', () => {
    const registry = fileURLToPath(new URL('../../src/devices/registry.js', import.meta.url));
    const script = `
      const { createCamera } = await import(${JSON.stringify(registry)});
      try { await (await createCamera('genicam:Fake_1')).open(); console.log('opened'); }
      catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, LABCAST_ARAVIS_ADDON: '/nonexistent/labcast_aravis.node' },
      encoding: 'utf8',
    });
    const result = JSON.parse(run.stdout) as { code: string; message: string };
    assert.equal(result.code, 'MISSING_TOOL');
    assert.match(result.message, /apt-get install libaravis-dev libusb-1\.0-0-dev aravis-tools/);
    assert.match(result.message, /npm run build/);
  });
});
