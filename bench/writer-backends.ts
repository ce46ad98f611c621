/**
 * The HDF5 writers side by side, without the rest of the pipeline: frames
 * already in memory (as the saver receives them) go through each FrameWriter
 * with a flush every second, as the saver does, and finish() (which
 * fdatasyncs) ends the clock. Reports MB/s and CPU seconds per GB for large
 * frames, frames/s for small ones. The raw disk speed of the same directory
 * is measured alongside, since the VM's disk varies from run to run.
 *
 *   node dist/bench/writer-backends.js     (LABCAST_BENCH_RUNS=N, default 3)
 *
 * LABCAST_BENCH_DIR=/dev/shm runs it in memory: no disk in the way, so the
 * figures are the writers' own cost.
 *
 * benchWriterBackends() is exported for bench/run.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { frameByteLength, type PixelDtype } from '../src/protocol/dtype.js';
import type { FrameHeader, RunStart } from '../src/protocol/messages.js';
import type { OpenFrameWriter } from '../src/storage/frame-writer.js';
import { openH5wasmWriter } from '../src/storage/h5wasm-writer.js';
import type { Hdf5BackendName } from '../src/storage/hdf5-backend.js';
import { loadNativeAddon } from '../src/native/native-addon.js';
import { openNativeWriter } from '../src/storage/native-writer.js';
import { rawWriteMBps } from './raw-disk.js';

const FLUSH_INTERVAL_MS = 1000;
const DISTINCT_FRAMES = 8;

export interface WriterWorkload {
  readonly label: string;
  readonly frames: number;
  readonly shape: readonly number[];
  readonly dtype: PixelDtype;
}

export const LARGE_FRAMES: WriterWorkload = { label: '500 x 1024x1024 uint16', frames: 500, shape: [1024, 1024], dtype: 'uint16' };
export const SMALL_FRAMES: WriterWorkload = { label: '50 000 x 64x64 uint16', frames: 50_000, shape: [64, 64], dtype: 'uint16' };

export interface WriterRun {
  readonly mbps: number;
  readonly framesPerS: number;
  /** User + system CPU of this process (the background fdatasync included) per GB written. */
  readonly cpuSPerGB: number;
  /** User CPU alone: the writer's own work (system time is mostly copying into the page cache, the same for both). */
  readonly userCpuSPerGB: number;
}

export interface WriterResult {
  readonly backend: Hdf5BackendName;
  readonly workload: WriterWorkload;
  readonly runs: readonly WriterRun[];
  readonly median: WriterRun;
}

const WRITERS: Record<Hdf5BackendName, OpenFrameWriter> = { native: openNativeWriter, h5wasm: openH5wasmWriter };

function runStart(workload: WriterWorkload): RunStart {
  return {
    protocol: 1,
    run_id: 'bench',
    shape: [...workload.shape],
    dtype: workload.dtype,
    frames_requested: workload.frames,
    duration_s: null,
    start_wall_ns: BigInt(Date.now()) * 1_000_000n,
    camera: { driver: 'sim', model: 'bench', settings: {} },
    config: null,
    software: { name: 'labcast', version: 'bench', node: process.version, host: 'bench' },
  };
}

/** A few distinct frames, as Buffers like the ones the data stream delivers. */
function framePool(workload: WriterWorkload): Buffer[] {
  const bytes = frameByteLength(workload.shape, workload.dtype);
  return Array.from({ length: DISTINCT_FRAMES }, (_, k) => {
    const frame = Buffer.allocUnsafe(bytes);
    for (let i = 0; i < bytes; i += 2) frame.writeUInt16LE((i * 31 + k * 7919) & 0xffff, i);
    return frame;
  });
}

async function writeOnce(open: OpenFrameWriter, path: string, workload: WriterWorkload, pool: Buffer[]): Promise<WriterRun> {
  const start = runStart(workload);
  const cpuBefore = process.cpuUsage();
  const began = performance.now();
  const writer = await open(path, start, { overwrite: true });
  let lastFlush = began;
  for (let seq = 0; seq < workload.frames; seq++) {
    const ns = start.start_wall_ns + BigInt(seq) * 1_000_000n;
    const header: FrameHeader = {
      protocol: 1,
      run_id: start.run_id,
      seq,
      camera_ts_ns: ns,
      wall_ts_ns: ns,
      shape: start.shape,
      dtype: start.dtype,
    };
    writer.append(header, pool[seq % pool.length]!);
    const now = performance.now();
    if (now - lastFlush >= FLUSH_INTERVAL_MS) {
      writer.flush();
      lastFlush = now;
    }
  }
  const summary = writer.finish(null);
  const seconds = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  rmSync(path, { force: true });
  const gb = summary.bytesWritten / 1e9;
  return {
    mbps: (gb * 1000) / seconds,
    framesPerS: workload.frames / seconds,
    cpuSPerGB: (cpu.user + cpu.system) / 1e6 / gb,
    userCpuSPerGB: cpu.user / 1e6 / gb,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function availableBackends(): Hdf5BackendName[] {
  return 'addon' in loadNativeAddon() ? ['native', 'h5wasm'] : ['h5wasm'];
}

/**
 * Each workload through each backend `runs` times, the backends alternating
 * so that a slow spell of the disk does not land on one of them only.
 */
export async function benchWriterBackends(
  dir: string,
  runs: number,
  workloads: readonly WriterWorkload[] = [LARGE_FRAMES, SMALL_FRAMES],
  backends: readonly Hdf5BackendName[] = availableBackends(),
  progress: (line: string) => void = () => undefined,
): Promise<WriterResult[]> {
  const results: WriterResult[] = [];
  for (const workload of workloads) {
    const pool = framePool(workload);
    const byBackend = new Map<Hdf5BackendName, WriterRun[]>(backends.map((name) => [name, []]));
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? backends : [...backends].reverse();
      for (const backend of order) {
        const measured = await writeOnce(WRITERS[backend], join(dir, `${backend}.h5`), workload, pool);
        byBackend.get(backend)!.push(measured);
        progress(
          `${workload.label}, run ${run + 1}/${runs}, ${backend}: ${measured.mbps.toFixed(0)} MB/s, ` +
            `${measured.framesPerS.toFixed(0)} frames/s, ${measured.cpuSPerGB.toFixed(2)} CPU s/GB ` +
            `(user ${measured.userCpuSPerGB.toFixed(2)})`,
        );
      }
    }
    for (const [backend, measured] of byBackend) {
      results.push({
        backend,
        workload,
        runs: measured,
        median: {
          mbps: median(measured.map((m) => m.mbps)),
          framesPerS: median(measured.map((m) => m.framesPerS)),
          cpuSPerGB: median(measured.map((m) => m.cpuSPerGB)),
          userCpuSPerGB: median(measured.map((m) => m.userCpuSPerGB)),
        },
      });
    }
  }
  return results;
}

async function main(): Promise<void> {
  const runs = Number(process.env.LABCAST_BENCH_RUNS ?? 3);
  const dir = mkdtempSync(join(process.env.LABCAST_BENCH_DIR ?? process.cwd(), '.bench-writers-'));
  try {
    const log = (line: string): void => void process.stderr.write(`${line}\n`);
    const raw = median(Array.from({ length: runs }, () => rawWriteMBps(join(dir, 'raw.bin'), 500 * 2 * 1024 * 1024)));
    log(`raw disk (2 MiB writes + fsync, 1049 MB): ${raw.toFixed(0)} MB/s (median of ${runs})`);
    const results = await benchWriterBackends(dir, runs, undefined, undefined, log);
    process.stdout.write(`\n${dir}: median of ${runs} runs; raw disk ${raw.toFixed(0)} MB/s\n`);
    for (const { backend, workload, median: m } of results) {
      process.stdout.write(
        `${workload.label.padEnd(24)} ${backend.padEnd(7)} ${m.mbps.toFixed(0).padStart(5)} MB/s ` +
          `${m.framesPerS.toFixed(0).padStart(7)} frames/s ${m.cpuSPerGB.toFixed(2).padStart(6)} CPU s/GB ` +
          `(user ${m.userCpuSPerGB.toFixed(2)})\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
