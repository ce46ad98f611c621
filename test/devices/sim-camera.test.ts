import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Frame } from '../../src/devices/camera.js';
import { renderSimFrame } from '../../src/devices/sim/render.js';
import { SimCamera } from '../../src/devices/sim/sim-camera.js';
import type { SimCameraOptionsInput } from '../../src/camera-spec/sim-options.js';

const SMALL = { width: 64, height: 48 } as const;

/** An open camera, closed after `body` whatever happens. */
async function withCamera(options: SimCameraOptionsInput, body: (camera: SimCamera) => Promise<void>): Promise<void> {
  const camera = new SimCamera({ ...SMALL, ...options });
  await camera.open();
  try {
    await body(camera);
  } finally {
    await camera.close();
  }
}

/** The first `count` frames of a stream, which is then stopped. */
async function takeFrames(camera: SimCamera, count: number, onFrame?: (frame: Frame) => Promise<void> | void): Promise<Frame[]> {
  const controller = new AbortController();
  const frames: Frame[] = [];
  for await (const frame of camera.stream(controller.signal)) {
    frames.push(frame);
    await onFrame?.(frame);
    if (frames.length === count) controller.abort();
  }
  return frames;
}

const nowMs = (): number => performance.now();

describe('streaming', () => {
  test('frames have contiguous indices from 0, strictly increasing epoch timestamps, and the promised format', async () => {
    await withCamera({ fps: 0, pattern: 'particles' }, async (camera) => {
      const before = BigInt(Date.now() - 1000) * 1_000_000n;
      const frames = await takeFrames(camera, 30);
      const after = BigInt(Date.now() + 1000) * 1_000_000n;
      assert.deepEqual(
        frames.map((frame) => frame.cameraIndex),
        Array.from({ length: 30 }, (_, i) => i),
      );
      for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.timestampNs > frames[i - 1]!.timestampNs);
      assert.ok(frames[0]!.timestampNs > before && frames.at(-1)!.timestampNs < after, 'timestamps are ns since the epoch');
      for (const frame of frames) {
        assert.deepEqual(frame.shape, camera.frameFormat().shape);
        assert.deepEqual(frame.shape, [48, 64]);
        assert.equal(frame.dtype, 'uint16');
        assert.equal(frame.pixels.byteLength, 64 * 48 * 2);
      }
      // Each frame owns its memory: it may go to ZeroMQ zero-copy.
      assert.equal(new Set(frames.map((frame) => frame.pixels.buffer)).size, frames.length);
    });
  });

  test('pixels of stream frame n are renderSimFrame(options, settings, n)', async () => {
    await withCamera({ fps: 0, pattern: 'particles', seed: 9 }, async (camera) => {
      await camera.setSetting('exposure_ms', 12);
      const frames = await takeFrames(camera, 10);
      frames.forEach((frame, n) => assert.deepEqual(frame.pixels, renderSimFrame(camera.options, camera.getSettings(), n)));
    });
  });

  test('each stream starts again at cameraIndex 0', async () => {
    await withCamera({ fps: 0 }, async (camera) => {
      await takeFrames(camera, 5);
      const second = await takeFrames(camera, 3);
      assert.deepEqual(
        second.map((frame) => frame.cameraIndex),
        [0, 1, 2],
      );
    });
  });

  test('fps paces the stream: 20 frames at 100 fps take about 190 ms', async () => {
    await withCamera({ fps: 100 }, async (camera) => {
      assert.equal(camera.freeRunning, true);
      const startWallNs = BigInt(Date.now()) * 1_000_000n;
      const start = nowMs();
      const frames = await takeFrames(camera, 20);
      const elapsed = nowMs() - start;
      assert.equal(frames.length, 20);
      assert.ok(elapsed >= 180, `20 frames took only ${elapsed.toFixed(1)} ms`);
      assert.ok(elapsed < 1000, `20 frames took ${elapsed.toFixed(1)} ms`);
      // Frame 19 is due 190 ms after the start (the clocks may disagree by a millisecond or so).
      const lastMs = Number(frames[19]!.timestampNs - startWallNs) / 1e6;
      assert.ok(lastMs >= 185, `frame 19 stamped ${lastMs.toFixed(1)} ms after the start`);
    });
  });

  test('a late consumer gets every frame, late rather than skipped', async () => {
    await withCamera({ fps: 200 }, async (camera) => {
      const frames = await takeFrames(camera, 8, () => sleep(15));
      assert.deepEqual(
        frames.map((frame) => frame.cameraIndex),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
    });
  });

  test('fps 0 makes frames on demand, not free-running, and lets the event loop turn while streaming', async () => {
    await withCamera({ fps: 0, width: 16, height: 16 }, async (camera) => {
      assert.equal(camera.freeRunning, false);
      // A task that re-queues itself once per event-loop turn: it only runs if the stream yields to the loop.
      let turns = 0;
      let ticker = setImmediate(function tick() {
        turns++;
        ticker = setImmediate(tick);
      });
      try {
        const start = nowMs();
        let turnsBetween = 0;
        const frames = await takeFrames(camera, 2000, async () => {
          // Busy work between frames, as a consumer has: a turn is due every 0.2 ms of it.
          const until = nowMs() + 0.01;
          while (nowMs() < until);
          turnsBetween = turns;
        });
        assert.equal(frames.length, 2000);
        assert.ok(nowMs() - start < 5000);
        assert.ok(turnsBetween >= 2, `only ${turnsBetween} event-loop turns during 2000 frames`);
      } finally {
        clearImmediate(ticker);
      }
    });
  });

  test('abort wakes a pending wait: the stream ends well within one frame period', async () => {
    await withCamera({ fps: 10 }, async (camera) => {
      const controller = new AbortController();
      const iterator = camera.stream(controller.signal)[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).done, false); // frame 0 comes at once
      const pending = iterator.next(); // frame 1 is due 100 ms after the start
      await sleep(10);
      const abortedAt = nowMs();
      controller.abort();
      const result = await pending;
      const latency = nowMs() - abortedAt;
      assert.equal(result.done, true);
      assert.ok(latency < 50, `stream ended ${latency.toFixed(1)} ms after the abort`);
      assert.equal(camera.streaming, false);
    });
  });

  test('abort while the consumer holds a frame: the camera is idle at once and the stream ends on the next pull', async () => {
    await withCamera({ fps: 10 }, async (camera) => {
      const controller = new AbortController();
      const iterator = camera.stream(controller.signal)[Symbol.asyncIterator]();
      await iterator.next();
      controller.abort();
      assert.equal(camera.streaming, false);
      await camera.snap();
      assert.equal((await iterator.next()).done, true);
    });
  });

  test('an already aborted signal yields no frames', async () => {
    await withCamera({ fps: 0 }, async (camera) => {
      const frames: Frame[] = [];
      for await (const frame of camera.stream(AbortSignal.abort())) frames.push(frame);
      assert.equal(frames.length, 0);
    });
  });

  test('close ends a running stream', async () => {
    const camera = new SimCamera({ ...SMALL, fps: 20 });
    await camera.open();
    const iterator = camera.stream(new AbortController().signal)[Symbol.asyncIterator]();
    await iterator.next();
    const pending = iterator.next();
    await camera.close();
    assert.equal((await pending).done, true);
  });
});

describe('settings', () => {
  test('changes while streaming apply from the next frame', async () => {
    await withCamera({ fps: 0, pattern: 'noise' }, async (camera) => {
      const frames = await takeFrames(camera, 6, async (frame) => {
        if (frame.cameraIndex === 2) await camera.setSetting('gain', 0.5);
      });
      assert.deepEqual(frames[2]!.pixels, renderSimFrame(camera.options, {}, 2));
      assert.deepEqual(frames[3]!.pixels, renderSimFrame(camera.options, { gain: 0.5 }, 3));
    });
  });

  test('out-of-range and unknown settings are refused naming the setting and range', async () => {
    await withCamera({}, async (camera) => {
      await assert.rejects(camera.setSetting('exposure_ms', 0), {
        code: 'BAD_SETTING',
        field: 'exposure_ms',
        message: /exposure_ms.*0\.01\.\.10000 ms.*got 0/,
      });
      await assert.rejects(camera.setSetting('gain', Number.NaN), { code: 'BAD_SETTING', field: 'gain' });
      await assert.rejects(camera.setSetting('roi_x', 2.5), { code: 'BAD_SETTING', message: /integer/ });
      await assert.rejects(camera.setSetting('shutter', 1), { code: 'BAD_SETTING', message: /exposure_ms, gain, brightness/ });
      assert.equal(camera.getSettings().exposure_ms, 10, 'a refused value changes nothing');
    });
  });

  test('the ROI sets the frame format, moves only within the sensor, and waits for idle', async () => {
    await withCamera({ fps: 0 }, async (camera) => {
      await assert.rejects(camera.setSetting('roi_x', 8), { code: 'BAD_SETTING', field: 'roi_x', message: /0\.\.0 px/ });
      await camera.setSetting('roi_width', 32);
      await camera.setSetting('roi_x', 32);
      await camera.setSetting('roi_height', 10);
      assert.deepEqual(camera.frameFormat().shape, [10, 32]);
      const roiX = camera.settingSpecs().find((spec) => spec.name === 'roi_x');
      assert.equal(roiX?.max, 32);
      assert.equal(roiX?.changeable_while_streaming, false);
      const snap = await camera.snap();
      assert.deepEqual(snap.shape, [10, 32]);
      assert.equal(snap.pixels.byteLength, 10 * 32 * 2);

      const controller = new AbortController();
      const iterator = camera.stream(controller.signal)[Symbol.asyncIterator]();
      await iterator.next();
      await assert.rejects(camera.setSetting('roi_y', 1), { code: 'CAMERA_STATE', field: 'roi_y' });
      await camera.setSetting('brightness', 3); // still allowed
      controller.abort();
      await iterator.next();
    });
  });

  test('settingSpecs describe every setting with its default', () => {
    const camera = new SimCamera(SMALL);
    const specs = camera.settingSpecs();
    assert.deepEqual(
      specs.map((spec) => spec.name),
      [
        'exposure_ms',
        'gain',
        'brightness',
        'roi_x',
        'roi_y',
        'roi_width',
        'roi_height',
        'bit_depth',
        'gain_dn_per_e',
        'offset_dn',
        'read_noise_e',
        'dark_current_e_per_s',
        'quantum_efficiency',
        'photons_per_bead',
        'background_photons',
      ],
    );
    assert.deepEqual(Object.fromEntries(specs.map((spec) => [spec.name, spec.default])), camera.getSettings());
    const units = Object.fromEntries(specs.map((spec) => [spec.name, spec.unit]));
    assert.equal(units.gain_dn_per_e, 'DN/e⁻');
    assert.equal(units.read_noise_e, 'e⁻');
    assert.equal(units.dark_current_e_per_s, 'e⁻/s');
    assert.equal(units.bit_depth, 'bit');
  });

  test('the default is a 12-bit CMOS camera in uint16; the DN defaults follow the bit depth', () => {
    const twelve = new SimCamera(SMALL);
    assert.equal(twelve.frameFormat().dtype, 'uint16');
    assert.deepEqual(
      [
        twelve.getSettings().bit_depth,
        twelve.getSettings().gain_dn_per_e,
        twelve.getSettings().offset_dn,
        twelve.getSettings().read_noise_e,
      ],
      [12, 0.5, 100, 2],
    );
    const sixteen = new SimCamera({ ...SMALL, bit_depth: 16 });
    assert.equal(sixteen.frameFormat().dtype, 'uint16');
    assert.deepEqual([sixteen.getSettings().gain_dn_per_e, sixteen.getSettings().offset_dn], [8, 1600]);
    const eight = new SimCamera({ ...SMALL, bit_depth: 8 });
    assert.equal(eight.frameFormat().dtype, 'uint8');
    assert.equal(new SimCamera({ ...SMALL, dtype: 'uint8' }).getSettings().bit_depth, 8);
    assert.equal(eight.settingSpecs().find((spec) => spec.name === 'bit_depth')?.access, 'RO');
  });

  test('sensor settings are validated naming the field; bit_depth is read-only (a camera option)', async () => {
    await withCamera({ fps: 0 }, async (camera) => {
      await assert.rejects(camera.setSetting('quantum_efficiency', 1.5), {
        code: 'BAD_SETTING',
        field: 'quantum_efficiency',
        message: /quantum_efficiency.*0\.\.1.*got 1\.5/,
      });
      await assert.rejects(camera.setSetting('read_noise_e', -1), { code: 'BAD_SETTING', field: 'read_noise_e', message: /e⁻/ });
      await assert.rejects(camera.setSetting('offset_dn', 5000), { code: 'BAD_SETTING', field: 'offset_dn', message: /0\.\.4095 DN/ });
      await assert.rejects(camera.setSetting('bit_depth', 16), {
        code: 'BAD_SETTING',
        field: 'bit_depth',
        message: /read-only.*camera option "bit_depth"/,
      });
      await camera.setSetting('bit_depth', 12); // its own value is no change
      // Changeable while streaming, like gain.
      const frames = await takeFrames(camera, 4, async (frame) => {
        if (frame.cameraIndex === 1) await camera.setSetting('read_noise_e', 5);
      });
      assert.deepEqual(frames[2]!.pixels, renderSimFrame(camera.options, { read_noise_e: 5 }, 2));
    });
  });
});

describe('state', () => {
  test('snap while streaming is refused, and so is a second stream', async () => {
    await withCamera({ fps: 50 }, async (camera) => {
      const controller = new AbortController();
      const iterator = camera.stream(controller.signal)[Symbol.asyncIterator]();
      await iterator.next();
      await assert.rejects(camera.snap(), { code: 'CAMERA_STATE', message: /streaming/ });
      assert.throws(() => camera.stream(new AbortController().signal), { code: 'CAMERA_STATE' });
      controller.abort();
      await iterator.next();
      await camera.snap();
    });
  });

  test('snaps count on their own and match the renderer', async () => {
    await withCamera({ pattern: 'gradient' }, async (camera) => {
      const snaps = [await camera.snap(), await camera.snap(), await camera.snap()];
      assert.deepEqual(
        snaps.map((frame) => frame.cameraIndex),
        [0, 1, 2],
      );
      snaps.forEach((frame, n) => assert.deepEqual(frame.pixels, renderSimFrame(camera.options, {}, n)));
      assert.ok(snaps[1]!.timestampNs > snaps[0]!.timestampNs);
    });
  });

  test('a closed camera refuses to work; open and close are idempotent', async () => {
    const camera = new SimCamera(SMALL);
    await assert.rejects(camera.snap(), { code: 'CAMERA_STATE', message: /closed/ });
    assert.throws(() => camera.stream(new AbortController().signal), { code: 'CAMERA_STATE' });
    await assert.rejects(camera.setSetting('gain', 2), { code: 'CAMERA_STATE' });
    await camera.open();
    await camera.open();
    const first = await camera.snap();
    await camera.close();
    await camera.close();
    await assert.rejects(camera.snap(), { code: 'CAMERA_STATE' });
    await camera.open();
    const second = await camera.snap();
    assert.ok(second.timestampNs > first.timestampNs, 'timestamps keep increasing across reopen');
    await camera.close();
  });

  test('info names the driver and pattern', () => {
    const camera = new SimCamera({ pattern: 'noise' });
    assert.deepEqual(camera.info, { driver: 'sim', model: 'labcast simulated camera (noise)' });
  });
});
