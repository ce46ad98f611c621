/**
 * An ffmpeg camera recorded as fast as it goes, its frames read from ffmpeg's
 * pipe straight into ring slots (the default) against assembled from Node's
 * pipe chunks and copied into a slot (LABCAST_FFMPEG_PIPE_READ=0), the two
 * alternated run by run. The acquisition runs in this process, so its CPU
 * time is this process's; the saver is a real `labcast save` writing HDF5.
 *
 *   node dist/bench/ffmpeg-source.js [pairs] [frames] [size]
 *
 * Sources: a rawvideo file of gray16le frames (ffmpeg only demuxes and
 * copies) and lavfi testsrc2 converted to gray16le, both unpaced (not
 * free-running: the saver paces them).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FfmpegCamera } from '../src/devices/ffmpeg/ffmpeg-camera.js';
import { FRAME_PIPE_ENV } from '../src/devices/ffmpeg/frame-pipe.js';
import { parseCameraSpec } from '../src/devices/registry.js';
import type { FfmpegCameraSpec } from '../src/camera-spec/ffmpeg-spec.js';
import { recordInProcess } from '../test/helpers/record-in-process.js';
import { scratchDir } from '../test/helpers/processes.js';
import { ffmpegFromGraph } from '../test/helpers/ffmpeg.js';

const pairs = Number(process.argv[2] ?? 3);
const frames = Number(process.argv[3] ?? 500);
const size = Number(process.argv[4] ?? 1024);
const scratch = scratchDir('labcast-bench-ffmpeg-');

const clip = join(scratch.dir, 'clip.nut');
ffmpegFromGraph(`testsrc2=size=${size}x${size}:rate=100`, ['-frames:v', String(frames), '-pix_fmt', 'gray16le', '-c:v', 'rawvideo', clip]);

const sources: Record<string, unknown> = {
  'rawvideo file': { driver: 'file', path: clip },
  'lavfi testsrc2': { driver: 'lavfi', graph: `testsrc2=size=${size}x${size}:rate=1000`, pixel_format: 'gray16le', realtime: false },
};

interface Sample {
  mbPerS: number;
  cpuSPerGb: number;
  systemSPerGb: number;
  madeInRing: number;
}

async function once(spec: unknown, direct: boolean, run: number): Promise<Sample> {
  process.env[FRAME_PIPE_ENV] = direct ? '1' : '0';
  const camera = new FfmpegCamera(parseCameraSpec(spec) as FfmpegCameraSpec);
  await camera.open();
  const dir = join(scratch.dir, `run-${run}`);
  try {
    const recording = await recordInProcess(camera, { dir, frames, shared: true });
    if (recording.end.frames_dropped !== 0 || recording.end.frames_acquired !== frames) {
      throw new Error(`run ${run}: ${recording.end.frames_acquired} acquired, ${recording.end.frames_dropped} dropped`);
    }
    const bytes = frames * size * size * 2;
    return {
      mbPerS: bytes / 1e6 / recording.wallS,
      cpuSPerGb: recording.cpuS / (bytes / 1e9),
      systemSPerGb: recording.systemCpuS / (bytes / 1e9),
      madeInRing: recording.sender.madeInRing,
    };
  } finally {
    await camera.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  let run = 0;
  for (const [name, spec] of Object.entries(sources)) {
    const results = { chunks: [] as Sample[], direct: [] as Sample[] };
    for (let pair = 0; pair < pairs; pair++) {
      // Alternated, the order swapped each pair, so a change in the machine's load hits both alike.
      const order = pair % 2 === 0 ? [false, true] : [true, false];
      for (const direct of order) {
        const sample = await once(spec, direct, run++);
        (direct ? results.direct : results.chunks).push(sample);
        console.log(
          `${name}, ${direct ? 'read into the slot' : 'assembled from chunks'}: ${sample.mbPerS.toFixed(0)} MB/s, ` +
            `acquisition CPU ${sample.cpuSPerGb.toFixed(3)} s/GB (system ${sample.systemSPerGb.toFixed(3)}), ${sample.madeInRing}/${frames} made in the ring`,
        );
      }
    }
    for (const [label, samples] of Object.entries(results)) {
      console.log(
        `${name} ${size}² gray16le × ${frames}, ${label}: median ${median(samples.map((s) => s.mbPerS)).toFixed(0)} MB/s, ` +
          `${median(samples.map((s) => s.cpuSPerGb)).toFixed(3)} s/GB acquisition CPU`,
      );
    }
  }
} finally {
  scratch.cleanup();
}
