import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { ProcessInfo } from '../../src/protocol/control.js';
import { loadAravisAddon } from '../../src/native/aravis-addon.js';
import { receiverSharedMemory } from '../../src/native/shared-frames.js';
import { runPython } from '../helpers/processes.js';
import { serveForSuite, type RunningServe } from '../helpers/serve.js';

/**
 * Large frames reach serve's own saver through the shared-memory ring
 * (src/transport/frame-ring.ts). The guarantees of the socket path must hold
 * on it too: every frame in the file, and a saver killed mid-run reported with
 * what it saved kept, after which a new saver gets a ring of its own.
 */

const READ_FILE = `
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    frames = f["entry/data/frames"]
    print(json.dumps({
        "frames": frames.shape[0],
        "ids": f["entry/data/frame_id"][:].tolist(),
        # The gradient moves every frame: equal neighbours would mean a slot reused too early.
        "distinct": all(not np.array_equal(frames[i], frames[i + 1]) for i in range(frames.shape[0] - 1)),
    }))
`;

async function readFile(path: string): Promise<{ frames: number; ids: number[]; distinct: boolean }> {
  const read = await runPython(READ_FILE, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as { frames: number; ids: number[]; distinct: boolean };
}

/** Starts an endless recording, kills its saver with SIGKILL once 30 frames are saved, and checks that the error is reported and the file holds frames 0..N-1 as status says. */
async function killSaverMidRecording(serve: RunningServe): Promise<void> {
  await serve.ctl(['record']);
  await serve.waitFor((s) => s.state === 'recording' && s.frames.saved > 30);
  const processes = (await serve.ctl(['subscribers'])).result as ProcessInfo[];
  const saver = processes.find((p) => p.role === 'saver');
  assert.ok(saver?.pid);
  process.kill(saver.pid, 'SIGKILL');
  const failed = await serve.waitFor((s) => s.state === 'error');
  const lost = failed.last_recording!;
  assert.ok(lost.error !== null);
  const file = await readFile(lost.path!);
  assert.equal(file.frames, lost.frames_written, 'status reports what the file really holds');
  assert.deepEqual(
    file.ids,
    Array.from({ length: file.frames }, (_, i) => i),
  );
}

/** The memfds a process holds: how the ring shows from outside. */
function ringsOf(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith('/memfd:labcast-frames'));
}

describe(
  'serve with 512x512 uint16 frames: through shared memory to its saver',
  { skip: receiverSharedMemory() === null ? 'native addon not built' : false },
  () => {
    const suite = serveForSuite({ width: 512, height: 512, fps: 100, pattern: 'gradient' });

    test('a recording holds every frame, distinct and in order, and went through a ring', async () => {
      const serve = suite.serve();
      assert.equal((await serve.ctl(['record', '--frames', '300'])).code, 0);
      await serve.waitFor((s) => s.state === 'recording' && s.frames.saved > 10);
      const acquisition = (await serve.statusNow()).processes.find((p) => p.role === 'acquisition');
      assert.ok(acquisition?.pid !== undefined);
      assert.equal(ringsOf(acquisition.pid!).length, 1, 'the acquisition holds one frame ring');
      const done = await serve.waitFor((s) => s.state === 'idle' && s.last_recording !== null, 30_000);
      const saved = done.last_recording!;
      assert.equal(saved.error, null);
      assert.equal(saved.frames_written, 300);
      assert.equal(saved.frames_lost, 0);
      const file = await readFile(saved.path!);
      assert.equal(file.frames, 300);
      assert.deepEqual(
        file.ids,
        Array.from({ length: 300 }, (_, i) => i),
      );
      assert.ok(file.distinct);

      // The next recording (serve's saver, kept between recordings) carries on in the same ring where the last left off.
      assert.equal((await serve.ctl(['record', '--frames', '50'])).code, 0);
      const next = await serve.waitFor(
        (s) => s.state === 'idle' && s.last_recording !== null && s.last_recording.path !== saved.path,
        30_000,
      );
      assert.equal(next.last_recording!.frames_written, 50);
      assert.equal(ringsOf(acquisition.pid!).length, 1, 'still one ring');
      const nextFile = await readFile(next.last_recording!.path!);
      assert.deepEqual(
        nextFile.ids,
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.ok(nextFile.distinct);
    });

    test('a saver killed mid-recording: reported, what it saved kept; after reset the next saver records through a new ring', async () => {
      const serve = suite.serve();
      await killSaverMidRecording(serve);

      assert.equal((await serve.ctl(['reset'])).code, 0);
      await serve.ctl(['record', '--frames', '40']);
      const done = await serve.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_written === 40, 30_000);
      assert.equal(done.last_recording!.error, null);
      const next = await readFile(done.last_recording!.path!);
      assert.equal(next.frames, 40);
      assert.ok(next.distinct);
    });
  },
);

describe(
  'serve with a GenICam camera (Aravis fake, 1024x512 Mono8): images assembled in ring slots',
  { skip: receiverSharedMemory() === null || !('addon' in loadAravisAddon()) ? 'native addons not built' : false },
  () => {
    const suite = serveForSuite({ driver: 'genicam', id: 'Fake_1', features: { Width: 1024, Height: 512, AcquisitionFrameRate: 100 } });

    test('a saver killed mid-recording: what it saved kept; the next saver gets the rest of the stream, whole, through a new ring', async () => {
      const serve = suite.serve();
      // Slots lie queued in Aravis, over the ring of the saver about to die.
      await killSaverMidRecording(serve);

      assert.equal((await serve.ctl(['reset'])).code, 0);
      await serve.ctl(['record', '--frames', '60']);
      const done = await serve.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_written === 60, 30_000);
      assert.equal(done.last_recording!.error, null);
      assert.equal(done.last_recording!.frames_lost, 0);
      const next = await readFile(done.last_recording!.path!);
      assert.deepEqual(
        next.ids,
        Array.from({ length: 60 }, (_, i) => i),
      );
      assert.ok(next.distinct, 'no slot reused too early');
      const statistics = await readCameraStatistics(done.last_recording!.path!);
      assert.ok(statistics.frames_assembled_in_ring! >= 30, JSON.stringify(statistics));
    });
  },
);

async function readCameraStatistics(path: string): Promise<Record<string, number>> {
  const read = await runPython(
    `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    g = f["entry/acquisition/camera_statistics"]
    print(json.dumps({k: float(g[k][()]) for k in g}))
`,
    [path],
  );
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as Record<string, number>;
}
