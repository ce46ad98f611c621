import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Frame } from '../../src/devices/camera.js';
import { FfmpegCamera } from '../../src/devices/ffmpeg/ffmpeg-camera.js';
import { FRAME_PIPE_ENV, FRAME_PIPE_MIN_BYTES, framePipeAddon } from '../../src/devices/ffmpeg/frame-pipe.js';
import { receiverSharedMemory } from '../../src/native/shared-frames.js';
import { parseCameraSpec } from '../../src/devices/registry.js';
import type { FfmpegCameraSpec } from '../../src/camera-spec/ffmpeg-spec.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { recordInProcess } from '../helpers/record-in-process.js';
import { runPython, scratchDir } from '../helpers/processes.js';
import { ffmpegChildren, ffmpegFromGraph } from '../helpers/ffmpeg.js';

// ffmpeg frames read from its pipe straight into the saver's ring slots
// (src/devices/ffmpeg/frame-pipe.ts), through a real saver process, read back by h5py.

const scratch = scratchDir();
after(() => scratch.cleanup());

const skip = receiverSharedMemory() === null ? 'the native addon is not built' : false;

/** 1 MiB gray16le frames: large enough for the ring. */
const GRAPH = 'testsrc2=size=1024x512:rate=25';

function camera(spec: Record<string, unknown>): FfmpegCamera {
  return new FfmpegCamera(parseCameraSpec({ driver: 'lavfi', graph: GRAPH, pixel_format: 'gray16le', ...spec }) as FfmpegCameraSpec);
}

/** ffmpeg's own rawvideo output of the same source: the frames labcast must have stored. */
function reference(graph: string, frames: number, name: string): string {
  const path = join(scratch.dir, `${name}.raw`);
  ffmpegFromGraph(graph, ['-frames:v', String(frames), '-pix_fmt', 'gray16le', '-f', 'rawvideo', '-y', path]);
  return path;
}

const COMPARE = `
import sys, json, hashlib
import h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    data = f["entry/data"]
    frames = data["frames"]
    raw = np.fromfile(sys.argv[2], dtype="<u2").reshape((-1,) + frames.shape[1:])
    print(json.dumps({
        "shape": list(frames.shape),
        "dtype": str(frames.dtype),
        "equal": [bool(np.array_equal(frames[i], raw[i])) for i in range(frames.shape[0])],
        "distinct": len({hashlib.sha256(frames[i].tobytes()).hexdigest() for i in range(frames.shape[0])}),
        "ts_steps": np.diff(data["timestamp_ns"][:].astype(np.int64)).tolist(),
        "ids": data["frame_id"][:].tolist(),
    }))
`;

interface Compared {
  shape: number[];
  dtype: string;
  equal: boolean[];
  distinct: number;
  ts_steps: number[];
  ids: number[];
}

async function compare(h5: string, raw: string): Promise<Compared> {
  const result = await runPython(COMPARE, [h5, raw]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Compared;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('which frames are read through the frame pipe', () => {
  test('frames of 256 KiB or more, unless LABCAST_FFMPEG_PIPE_READ=0; another value is refused naming it', () => {
    assert.equal(framePipeAddon(FRAME_PIPE_MIN_BYTES - 1, {}), null, 'small frames are cut from the stdout chunks');
    assert.equal(framePipeAddon(FRAME_PIPE_MIN_BYTES, { [FRAME_PIPE_ENV]: '0' }), null);
    if (skip === false) assert.notEqual(framePipeAddon(FRAME_PIPE_MIN_BYTES, {}), null);
    assert.throws(
      () => framePipeAddon(FRAME_PIPE_MIN_BYTES, { [FRAME_PIPE_ENV]: 'yes' }),
      (error: LabcastError) => error.code === 'BAD_CONFIG' && error.message.includes(`${FRAME_PIPE_ENV}=yes`),
    );
  });
});

describe('ffmpeg frames read into ring slots (real ffmpeg, real saver, h5py)', { skip }, () => {
  test('a paced source: every frame made in its slot, stored exactly as ffmpeg writes it', async () => {
    const frames = 40;
    const raw = reference(GRAPH, frames, 'paced');
    const source = camera({ realtime: false });
    await source.open();
    try {
      const recording = await recordInProcess(source, { dir: join(scratch.dir, 'paced'), frames, shared: true });
      assert.equal(recording.end.reason, 'completed', recording.end.error ?? '');
      assert.equal(recording.end.frames_dropped, 0);
      assert.equal(recording.sender.madeInRing, frames, 'every frame was read from the pipe into its ring slot');
      const stored = await compare(recording.path, raw);
      assert.deepEqual(stored.shape, [frames, 512, 1024]);
      assert.equal(stored.dtype, 'uint16');
      assert.deepEqual(stored.equal, Array(frames).fill(true), 'each frame equals ffmpeg’s own rawvideo output');
      assert.ok(stored.distinct > frames / 2, 'the frames differ (a slot reused too early would repeat one)');
      assert.deepEqual(stored.ids, range(frames));
    } finally {
      await source.close();
    }
  });

  test('a free-running source (paced by ffmpeg -re): frames in slots, on their pts, none lost', async () => {
    const frames = 25;
    const raw = reference(GRAPH, frames, 'free');
    const source = camera({ realtime: true });
    await source.open();
    assert.equal(source.freeRunning, true);
    try {
      const recording = await recordInProcess(source, { dir: join(scratch.dir, 'free'), frames, shared: true });
      assert.equal(recording.end.reason, 'completed', recording.end.error ?? '');
      assert.equal(recording.end.frames_dropped, 0);
      assert.equal(recording.sender.sharedFrames, frames);
      // The acquisition never waits for a slot here; at 25 fps the saver frees them long before they are needed.
      assert.ok(recording.sender.madeInRing >= frames / 2, `${recording.sender.madeInRing} of ${frames} made in their slot`);
      const stored = await compare(recording.path, raw);
      assert.deepEqual(stored.equal, Array(frames).fill(true));
      assert.deepEqual(stored.ts_steps, Array(frames - 1).fill(40_000_000), 'pts 40 ms apart, as ffmpeg stamped them');
    } finally {
      await source.close();
    }
  });

  test('without shared memory (remote saver) and without the frame pipe: the same frames, none made in a slot', async () => {
    const frames = 12;
    const raw = reference(GRAPH, frames, 'plain');
    for (const [shared, pipeRead] of [
      [false, '1'],
      [true, '0'],
    ] as const) {
      process.env[FRAME_PIPE_ENV] = pipeRead;
      const source = camera({ realtime: false });
      await source.open();
      try {
        const recording = await recordInProcess(source, { dir: join(scratch.dir, `plain-${shared}-${pipeRead}`), frames, shared });
        assert.equal(recording.end.reason, 'completed', recording.end.error ?? '');
        assert.equal(recording.sender.madeInRing, 0);
        assert.equal(recording.sender.sharedFrames, shared ? frames : 0);
        const stored = await compare(recording.path, raw);
        assert.deepEqual(stored.equal, Array(frames).fill(true), `shared ${shared}, ${FRAME_PIPE_ENV}=${pipeRead}`);
      } finally {
        delete process.env[FRAME_PIPE_ENV];
        await source.close();
      }
    }
  });

  test('stopped while a frame is being read into its slot: the run ends at once, the slot goes back, the file is whole', async () => {
    // One frame every 6 s (ffmpeg -re hands each out at the end of its period): the second read waits on an empty pipe when the stop comes.
    const graph = 'testsrc2=size=1024x512:rate=1/6';
    const source = camera({ graph, realtime: true });
    await source.open();
    const pipesBefore = openPipes();
    try {
      let stoppedAt = 0;
      const recording = await recordInProcess(source, {
        dir: join(scratch.dir, 'stop'),
        frames: null,
        shared: true,
        stopWhen: (progress) => {
          stoppedAt = Date.now();
          return progress.acquired >= 1;
        },
      });
      const stopS = (Number(recording.end.end_wall_ns / 1_000_000n) - stoppedAt) / 1000;
      assert.equal(recording.end.reason, 'stopped');
      assert.equal(recording.end.frames_acquired, 1);
      assert.ok(stopS < 4, `the stop did not wait for ffmpeg's next frame, 6 s away (${stopS.toFixed(1)} s)`);
      assert.equal(recording.sender.madeInRing, 1);
      const stored = await compare(recording.path, reference(graph, 1, 'stop'));
      assert.deepEqual(stored.equal, [true]);
    } finally {
      await source.close();
    }
    assert.equal(openPipes(), pipesBefore, 'the frame pipe and ffmpeg’s stderr are closed');
  });

  test('ffmpeg killed in the middle of writing a frame: the whole frames before it, then CAMERA_FAILED', async () => {
    // Frames twice the pipe's size: with the consumer away, ffmpeg blocks mid-frame with the pipe full.
    const pipeMax = Math.max(1024 * 1024, Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8')));
    const height = (2 * pipeMax) / (1024 * 2);
    const graph = `testsrc2=size=1024x${height}:rate=25`;
    const raw = readFileSync(reference(graph, 2, 'killed'));
    const source = camera({ graph, realtime: false });
    await source.open();
    const received: Frame[] = [];
    const stop = new AbortController();
    const before = new Set(ffmpegChildren());
    try {
      await assert.rejects(
        (async () => {
          for await (const frame of source.stream(stop.signal)) {
            received.push(frame);
            if (received.length === 2) {
              await new Promise((resolve) => setTimeout(resolve, 500));
              const pid = ffmpegChildren().find((candidate) => !before.has(candidate));
              assert.ok(pid !== undefined);
              process.kill(pid, 'SIGKILL');
            }
          }
        })(),
        (error: LabcastError) => error.code === 'CAMERA_FAILED' && /killed by SIGKILL/.test(error.message),
      );
      assert.equal(received.length, 2, 'the frame cut short is not handed out');
      const frameBytes = 1024 * height * 2;
      assert.ok(Buffer.from(received[0]!.pixels).equals(raw.subarray(0, frameBytes)));
      assert.ok(Buffer.from(received[1]!.pixels).equals(raw.subarray(frameBytes, 2 * frameBytes)));
    } finally {
      await source.close();
    }
  });

  test('a refused LABCAST_FFMPEG_PIPE_READ fails the stream naming it, and the camera streams again once it is fixed', async () => {
    const source = camera({ realtime: false });
    await source.open();
    const firstFrame = async (): Promise<Frame | undefined> => {
      for await (const frame of source.stream(new AbortController().signal)) return frame;
      return undefined;
    };
    try {
      process.env[FRAME_PIPE_ENV] = 'fast';
      await assert.rejects(firstFrame(), (error: LabcastError) => error.code === 'BAD_CONFIG' && error.message.includes(FRAME_PIPE_ENV));
      delete process.env[FRAME_PIPE_ENV];
      assert.equal((await firstFrame())?.pixels.byteLength, 1024 * 512 * 2);
    } finally {
      delete process.env[FRAME_PIPE_ENV];
      await source.close();
    }
  });

  test('snap and a stream without FrameMemory: frames in buffers of their own, one per frame', async () => {
    const source = camera({ realtime: false });
    await source.open();
    try {
      const raw = readFileSync(reference(GRAPH, 3, 'own'));
      const snap = await source.snap();
      assert.ok(Buffer.from(snap.pixels).equals(raw.subarray(0, 1024 * 512 * 2)));
      const frames: Frame[] = [];
      const stop = new AbortController();
      for await (const frame of source.stream(stop.signal)) {
        frames.push(frame);
        if (frames.length === 3) break;
      }
      assert.notEqual(frames[0]!.pixels.buffer, frames[1]!.pixels.buffer);
      frames.forEach((frame, i) => assert.ok(Buffer.from(frame.pixels).equals(raw.subarray(i * 1024 * 512 * 2, (i + 1) * 1024 * 512 * 2))));
    } finally {
      await source.close();
    }
  });
});

/** This process's open pipe descriptors. */
function openPipes(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('pipe:');
    } catch {
      return false;
    }
  }).length;
}
