import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAMERA_DRIVERS, cameraSpecSchema, createCamera, parseCameraSpec, simCameraOptionsSchema } from '../../src/devices/registry.js';
import { LabcastError } from '../../src/protocol/errors.js';

/** Asserts `run` throws BAD_ARGUMENT about `field` with a message matching every pattern. */
function assertBadArgument(run: () => unknown, field: string | undefined, ...patterns: RegExp[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof LabcastError, `expected a LabcastError, got ${String(error)}`);
    assert.equal(error.code, 'BAD_ARGUMENT');
    assert.equal(error.field, field);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

test('createCamera builds a closed simulated camera with defaults applied', async () => {
  const camera = await createCamera({ driver: 'sim', width: 32, height: 16, dtype: 'uint8', fps: 0, pattern: 'noise' });
  assert.equal(camera.info.driver, 'sim');
  assert.deepEqual(camera.frameFormat(), { shape: [16, 32], dtype: 'uint8' });
  assert.equal(camera.freeRunning, false);
  await assert.rejects(camera.snap(), { code: 'CAMERA_STATE' });
  await camera.open();
  const frame = await camera.snap();
  assert.equal(frame.pixels.byteLength, 32 * 16);
  await camera.close();

  const defaults = await createCamera({ driver: 'sim' });
  assert.deepEqual(defaults.frameFormat(), { shape: [480, 640], dtype: 'uint16' });
  assert.equal(defaults.freeRunning, true);
});

test('parseCameraSpec applies defaults and freezes the result', () => {
  const spec = parseCameraSpec({ driver: 'sim', seed: 4 });
  assert.deepEqual(spec, {
    driver: 'sim',
    width: 640,
    height: 480,
    dtype: 'uint16',
    bit_depth: 12,
    fps: 30,
    pattern: 'particles',
    particle_count: 20,
    particle_sigma: 2,
    seed: 4,
  });
  assert.ok(Object.isFrozen(spec));
  // What the zod schemas give for config files is the same.
  assert.deepEqual(cameraSpecSchema.parse({ driver: 'sim', seed: 4 }), spec);
  const { driver: _driver, dtype: _dtype, bit_depth: _bitDepth, ...options } = spec;
  // The options schema alone leaves dtype and bit_depth to be resolved from each other.
  assert.deepEqual(simCameraOptionsSchema.parse({ seed: 4 }), options);
  assert.deepEqual(cameraSpecSchema.parse({ driver: 'sim', bit_depth: 8 }), { ...spec, seed: 1, dtype: 'uint8', bit_depth: 8 });
  assert.throws(
    () => cameraSpecSchema.parse({ driver: 'sim', dtype: 'uint8', bit_depth: 10 }),
    /bit_depth.*10 bits do not fit dtype uint8/s,
  );
});

test('errors name the field: unknown driver, bad values, unknown options', () => {
  assertBadArgument(
    () => parseCameraSpec({ driver: 'basler' }),
    'driver',
    /unknown camera driver "basler"/,
    /known drivers: sim, v4l2, file, url, lavfi, replay/,
  );
  assertBadArgument(() => parseCameraSpec({}), 'driver', /\(none\)/);
  assertBadArgument(() => parseCameraSpec({ driver: 'sim', width: 10_000 }), 'width', /"width"/, /8192/, /got 10000/);
  assertBadArgument(() => parseCameraSpec({ driver: 'sim', fps: -1 }), 'fps', /got -1/);
  assertBadArgument(() => parseCameraSpec({ driver: 'sim', height: 2.5 }), 'height', /integer/);
  assertBadArgument(() => parseCameraSpec({ driver: 'sim', pattern: 'stars' }), 'pattern', /noise/, /got "stars"/);
  assertBadArgument(() => parseCameraSpec({ driver: 'sim', dtype: 'float32' }), 'dtype', /uint8/);
  assertBadArgument(
    () => parseCameraSpec({ driver: 'sim', particles: 5 }),
    'particles',
    /unknown simulated camera option "particles"/,
    /particle_count/,
  );
  assertBadArgument(() => parseCameraSpec(42), undefined, /must be an object/);
  // Strings are the --camera forms.
  assert.deepEqual(parseCameraSpec('sim'), parseCameraSpec({ driver: 'sim' }));
  assertBadArgument(() => parseCameraSpec('basler:0'), 'camera', /unknown camera "basler:0"/, /v4l2:DEVICE/);
});

test('the schemas are strict, so a config typo is an error rather than ignored', () => {
  assert.equal(cameraSpecSchema.safeParse({ driver: 'sim', widht: 5 }).success, false);
  assert.equal(simCameraOptionsSchema.safeParse({ seeed: 5 }).success, false);
  assert.equal(cameraSpecSchema.safeParse({ driver: 'lavfi', graph: 'testsrc', widht: 5 }).success, false);
  assert.deepEqual(CAMERA_DRIVERS, ['sim', 'v4l2', 'file', 'url', 'lavfi', 'replay', 'genicam']);
});

test("createCamera makes every driver's camera, loading only that driver, and refuses bad options naming the field", async () => {
  const made: [unknown, string][] = [
    [{ driver: 'sim', width: 32, height: 16, dtype: 'uint8', fps: 0, pattern: 'noise', pixel_size_um: 6.5 }, 'sim'],
    ['lavfi:testsrc2=size=64x48:rate=25', 'lavfi'],
    ['url:rtsp://127.0.0.1:8554/stream', 'url'],
    ['replay:/nonexistent/run.h5', 'replay'],
    ['genicam:Fake_1', 'genicam'],
  ];
  for (const [spec, driver] of made) assert.equal((await createCamera(spec)).info.driver, driver, JSON.stringify(spec));
  await assert.rejects(createCamera({ driver: 'sim', width: 10_000 }), { code: 'BAD_ARGUMENT', field: 'width' });
});
