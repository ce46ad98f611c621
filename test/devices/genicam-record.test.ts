import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { aravisOrSkip, FAKE_ONLY_ENV, runWithFakeGvCamera } from '../helpers/aravis.js';
import { CLI, runLabcast, runPython, scratchDir } from '../helpers/processes.js';

const READ_BACK = `
import sys, json
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    frames = f["entry/data/frames"][:]
    h, w = frames.shape[1], frames.shape[2]
    ramp = (np.arange(w)[None, :] + np.arange(h)[:, None])
    phases = [int(frame[0, 0]) for frame in frames]
    on_ramp = [bool(np.array_equal(frame, ((ramp + p) % 255).astype(np.uint8))) for frame, p in zip(frames, phases)]
    acq = f["entry/acquisition"]
    cam = f["entry/instrument/camera"]
    print(json.dumps({
        "shape": list(frames.shape),
        "dtype": str(frames.dtype),
        "ids": f["entry/data/frame_id"][:].tolist(),
        "phases": phases,
        "on_ramp": on_ramp,
        "gaps": acq["gaps"][:].tolist(),
        "lost_camera": int(acq["frames_lost_camera"][()]),
        "completed": float(acq["camera_statistics/n_completed_buffers"][()]),
        "pixel_format": cam["PixelFormat"].asstr()[()],
        "bit_depth": float(cam["bit_depth"][()]),
        "exposure_ms": float(cam["exposure_ms"][()]),
        "exposure_us": float(cam["ExposureTimeAbs"][()]),
        "driver": cam["driver"].asstr()[()],
    }))
`;

const scratch = scratchDir();
after(() => scratch.cleanup());

test("labcast record --camera genicam:Fake_1 → a file whose frames are the fake camera's ramp, read back by h5py", async (t) => {
  if (aravisOrSkip(t) === null) return;
  const out = join(scratch.dir, 'genicam.h5');
  const camera = JSON.stringify({ driver: 'genicam', id: 'Fake_1', features: { Width: 64, Height: 48, AcquisitionFrameRate: 100 } });
  const run = await runLabcast(['record', '--camera', camera, '--frames', '30', '--out', out, '--json'], FAKE_ONLY_ENV);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.equal(summary.framesWritten, 30);
  assert.equal(summary.framesLostCamera, 0);
  assert.ok((summary.cameraStatistics as Record<string, number>).n_completed_buffers! >= 30);

  const read = await runPython(READ_BACK, [out]);
  assert.equal(read.code, 0, read.stderr);
  const file = JSON.parse(read.stdout) as Record<string, unknown>;
  assert.deepEqual(file.shape, [30, 48, 64]);
  assert.equal(file.dtype, 'uint8');
  assert.deepEqual(file.ids, [...Array(30).keys()]);
  assert.ok((file.on_ramp as boolean[]).every(Boolean), 'every frame is the diagonal ramp of its frame id');
  const phases = file.phases as number[];
  for (let i = 1; i < phases.length; i++) assert.equal(phases[i], (phases[i - 1]! + 1) % 255, `frame ${i} is the next frame id`);
  assert.deepEqual(file.gaps, []);
  assert.equal(file.lost_camera, 0);
  assert.ok((file.completed as number) >= 30);
  assert.deepEqual(
    [file.pixel_format, file.bit_depth, file.exposure_ms, file.exposure_us, file.driver],
    ['Mono8', 8, 10, 10000, 'genicam'],
  );
});

test('labcast record of large GenICam frames: assembled by Aravis in ring slots, written from there; the file is whole', async (t) => {
  if (aravisOrSkip(t) === null) return;
  const out = join(scratch.dir, 'genicam-large.h5');
  // 1 MiB frames: through the saver's shared-memory ring.
  const camera = JSON.stringify({ driver: 'genicam', id: 'Fake_1', features: { Width: 1024, Height: 1024, AcquisitionFrameRate: 50 } });
  const run = await runLabcast(['record', '--camera', camera, '--frames', '40', '--out', out, '--json'], FAKE_ONLY_ENV);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.equal(summary.framesWritten, 40);
  const statistics = summary.cameraStatistics as Record<string, number>;
  assert.ok(statistics.frames_assembled_in_ring! >= 30, JSON.stringify(statistics));
  // Stopping a stream with slots queued must leave Aravis nothing to complain of as it is freed.
  assert.doesNotMatch(run.stderr, /CRITICAL|WARNING/, run.stderr);
  const read = await runPython(READ_BACK, [out]);
  assert.equal(read.code, 0, read.stderr);
  const file = JSON.parse(read.stdout) as Record<string, unknown>;
  assert.deepEqual(file.shape, [40, 1024, 1024]);
  assert.deepEqual(file.ids, [...Array(40).keys()]);
  assert.ok((file.on_ramp as boolean[]).every(Boolean), 'every frame is the diagonal ramp of its frame id');
  const phases = file.phases as number[];
  for (let i = 1; i < phases.length; i++) assert.equal(phases[i], (phases[i - 1]! + 1) % 255, `frame ${i} is the next frame id`);
  assert.deepEqual(file.gaps, []);
});

test('labcast record --camera genicam:Fake_9 (no such camera) fails naming it', async (t) => {
  if (aravisOrSkip(t) === null) return;
  const run = await runLabcast(
    ['record', '--camera', 'genicam:Fake_9', '--frames', '1', '--out', join(scratch.dir, 'none.h5')],
    FAKE_ONLY_ENV,
  );
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /Fake_9 not found/);
});

/** labcast record from the fake GigE camera (in a netns) losing `lossArg` of its packets: failed frames are counted gaps, file and summary agree. */
async function recordLossy(
  t: TestContext,
  name: string,
  width: number,
  height: number,
  lossArg: string,
  frames: number,
): Promise<Record<string, number> | null> {
  if (aravisOrSkip(t) === null) return null;
  const out = join(scratch.dir, `${name}.h5`);
  const camera = JSON.stringify({
    driver: 'genicam',
    id: '127.0.0.1',
    interfaces: ['GigEVision'],
    features: { Width: width, Height: height, AcquisitionFrameRate: 100 },
  });
  const script = `
    import { spawnSync } from 'node:child_process';
    import { setTimeout as sleep } from 'node:timers/promises';
    for (let attempt = 0; ; attempt++) {
      const run = spawnSync(process.execPath, [${JSON.stringify(CLI)}, 'record', '--camera', ${JSON.stringify(camera)},
        '--frames', '${frames}', '--out', ${JSON.stringify(out)}, '--overwrite', '--json'], { encoding: 'utf8' });
      if (/not found/.test(run.stderr) && attempt < 50) { await sleep(100); continue; }
      process.stdout.write(run.stdout);
      process.stderr.write(run.stderr);
      process.exit(run.status ?? 1);
    }
  `;
  const run = runWithFakeGvCamera(t, script, ['-r', lossArg]);
  if (run === null) return null;
  assert.equal(run.status, 3, `exit 3 (frames lost): ${run.stderr}`);
  const summary = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
    framesWritten: number;
    framesAcquired: number;
    framesLost: number;
    framesLostCamera: number;
    gaps: [number, number][];
    cameraStatistics: Record<string, number>;
  };
  assert.equal(summary.framesAcquired, frames);
  assert.ok(summary.framesLostCamera > 0, 'the camera lost frames');
  assert.equal(summary.framesLost, summary.framesLostCamera, 'all losses were at the camera');
  assert.equal(summary.framesWritten + summary.framesLostCamera, frames);
  assert.equal(
    summary.gaps.reduce((sum, [, count]) => sum + count, 0),
    summary.framesLostCamera,
  );
  assert.ok(summary.cameraStatistics.n_failures! > 0 && summary.cameraStatistics.n_missing_packets! > 0);

  const read = await runPython(
    `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    acq = f["entry/acquisition"]
    print(json.dumps({"ids": f["entry/data/frame_id"][:].tolist(), "gaps": acq["gaps"][:].tolist(),
      "lost": int(acq["frames_lost_camera"][()]), "acquired": int(acq["frames_acquired"][()])}))
`,
    [out],
  );
  assert.equal(read.code, 0, read.stderr);
  const file = JSON.parse(read.stdout) as { ids: number[]; gaps: number[][]; lost: number; acquired: number };
  assert.deepEqual(file.gaps, summary.gaps);
  assert.equal(file.lost, summary.framesLostCamera);
  assert.equal(file.acquired, frames);
  const missing = new Set(file.gaps.flatMap(([first, count]) => Array.from({ length: count }, (_, i) => first + i)));
  assert.deepEqual(
    file.ids,
    [...Array(frames).keys()].filter((id) => !missing.has(id)),
  );
  return summary.cameraStatistics;
}

test('packet loss at a fake GigE camera (in a netns): failed frames are counted gaps, file and summary agree', async (t) => {
  // -r 20: 2 % of the stream packets lost, so most 256x256 frames (~50 packets) arrive incomplete.
  await recordLossy(t, 'lossy', 256, 256, '20', 80);
});

test('packet loss with frames assembled in ring slots: an incomplete image gives its slot back, a counted gap', async (t) => {
  // 512 KiB frames (~370 packets) through the saver's ring; -r 2: 0.2 % of packets lost, about half the frames incomplete.
  const statistics = await recordLossy(t, 'lossy-ring', 1024, 512, '2', 40);
  if (statistics === null) return;
  assert.ok(statistics.frames_assembled_in_ring! > 0, JSON.stringify(statistics));
});
