/**
 * Compression (docs/performance.md#compression): the ratio of each codec on
 * simulator and ffmpeg data; each codec's throughput on one and two worker
 * threads beside the O_DIRECT speed of the disk; 1024x1024 uint16 particles
 * at fps 0 into a closed file, raw against each codec (frames/s, file size,
 * saver CPU per GB); and the same on a deliberately slow disk (a loop device
 * throttled with the blkio cgroup), or a model of it where that cannot be
 * made. Part of `npm run bench`; alone: `node dist/bench/compression.js`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadH5wasm } from '../src/hdf5/h5wasm-runtime.js';
import { loadNativeAddon, type Hdf5Addon } from '../src/native/native-addon.js';
import { describeCompression, type CompressionSpec } from '../src/protocol/compression.js';
import { rawDirectWriteMBps } from './raw-disk.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const RUNS = Number(process.env.LABCAST_BENCH_RUNS ?? 3);
const MEMORY_FS = '/dev/shm';

const CODECS: readonly CompressionSpec[] = [
  { codec: 'lz4', level: null },
  { codec: 'bitshuffle-lz4', level: null },
  { codec: 'zstd', level: 1 },
  { codec: 'zstd', level: 5 },
];
const NONE: CompressionSpec = { codec: 'none', level: null };

/** The data whose ratio is reported: the simulator's default scene and variants, and natural-looking ffmpeg video. */
const DATA_SETS: ReadonlyArray<{ readonly name: string; readonly args: readonly string[] }> = [
  {
    name: 'sim particles 1024x1024 uint16, 12-bit (default camera)',
    args: ['--width', '1024', '--height', '1024', '--frames', '60', '--fps', '0'],
  },
  {
    name: 'sim particles 1024x1024 uint16, 16-bit variant',
    args: ['--camera', JSON.stringify({ driver: 'sim', width: 1024, height: 1024, bit_depth: 16, fps: 0 }), '--frames', '60'],
  },
  {
    name: 'sim particles 1024x1024 uint8',
    args: ['--width', '1024', '--height', '1024', '--dtype', 'uint8', '--frames', '60', '--fps', '0'],
  },
  {
    name: 'ffmpeg lavfi mandelbrot 512x512 grey (uint8)',
    args: [
      '--camera',
      JSON.stringify({ driver: 'lavfi', graph: 'mandelbrot=size=512x512:rate=1000', pixel_format: 'gray' }),
      '--frames',
      '60',
    ],
  },
  {
    name: 'ffmpeg lavfi testsrc2 512x512 grey (uint8)',
    args: [
      '--camera',
      JSON.stringify({ driver: 'lavfi', graph: 'testsrc2=size=512x512:rate=1000', pixel_format: 'gray' }),
      '--frames',
      '60',
    ],
  },
];

/** The end-to-end workload of the issue: 1024x1024 uint16 particles, fps 0, into a closed file. */
const MEGAPIXEL_FRAMES = 500;
const MEGAPIXEL_ARGS = ['--width', '1024', '--height', '1024', '--dtype', 'uint16', '--pattern', 'particles', '--fps', '0'];
const FRAME_BYTES = 1024 * 1024 * 2;
/** The slow disk: write bandwidth of the throttled loop device, and frames recorded on it. */
const SLOW_DISK_MBPS = 50;
const SLOW_FRAMES = 200;

interface RecordJson {
  framesWritten: number;
  framesLost: number;
  bytesWritten: number;
  elapsedS: number;
  saverCpuS?: number;
  compression?: { ratio: number | null; bytesOut: number };
}

interface Recording {
  readonly json: RecordJson;
  readonly fileBytes: number;
  /** Frames per second from run start until the file was closed (start-up of the run and drain included). */
  readonly fps: number;
  readonly cpuPerGB: number | null;
}

function codecArgs(spec: CompressionSpec): string[] {
  if (spec.codec === 'none') return [];
  return ['--compression', spec.codec, ...(spec.level === null ? [] : ['--compression-level', String(spec.level)])];
}

/** One `labcast record --json`, optionally inside a blkio cgroup; the file is measured, then removed. */
function record(out: string, args: readonly string[], spec: CompressionSpec, cgroup: string | null = null): Recording {
  const command = [CLI, 'record', ...args, ...codecArgs(spec), '--out', out, '--overwrite', '--json', '--publish', 'tcp://127.0.0.1:*'];
  const result =
    cgroup === null
      ? spawnSync(process.execPath, command, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
      : spawnSync('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$0" "$@"`, process.execPath, ...command], {
          encoding: 'utf8',
          maxBuffer: 16 * 1024 * 1024,
        });
  if (result.status !== 0) throw new Error(`labcast record ${describeCompression(spec)} failed (${result.status}): ${result.stderr}`);
  const json = JSON.parse(result.stdout) as RecordJson;
  const fileBytes = statSync(out).size;
  rmSync(out, { force: true });
  return {
    json,
    fileBytes,
    fps: json.framesWritten / json.elapsedS,
    cpuPerGB: json.saverCpuS === undefined ? null : json.saverCpuS / (json.bytesWritten / 1e9),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Frames of the simulator's default scene, 1024x1024 uint16, as the camera makes them (a raw recording read back). */
async function sampleFrames(dir: string, count: number): Promise<Uint8Array[]> {
  const out = join(dir, 'sample.h5');
  const made = spawnSync(
    process.execPath,
    [CLI, 'record', ...MEGAPIXEL_ARGS, '--frames', String(count), '--out', out, '--publish', 'tcp://127.0.0.1:*'],
    {
      encoding: 'utf8',
    },
  );
  if (made.status !== 0) throw new Error(`recording sample frames failed: ${made.stderr}`);
  const h5 = await loadH5wasm();
  const file = new h5.File(out, 'r');
  try {
    const frames = file.get('/entry/data/frames') as import('h5wasm/node').Dataset;
    return Array.from({ length: count }, (_, i) => {
      const values = frames.slice([[i, i + 1]]) as Uint16Array;
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    });
  } finally {
    file.close();
    rmSync(out, { force: true });
  }
}

interface Throughput {
  readonly spec: CompressionSpec;
  readonly threads: number;
  /** Rows of a chunk: 1024 = one frame per chunk, fewer = sub-frame chunks. */
  readonly chunkRows: number;
  /** MB/s of camera data in, compressed and written to a memory file system. */
  readonly mbps: number;
  /** CPU seconds of the whole process per GB in. */
  readonly cpuPerGB: number;
}

/**
 * Each codec through the native writer's compression threads into a file in
 * memory: what compression alone can carry. With chunkRows < 1024 each frame
 * is cut into sub-frame chunks (docs/decisions/0008-compression.md).
 */
function codecThroughput(
  addon: Hdf5Addon,
  dir: string,
  frames: Uint8Array[],
  spec: CompressionSpec,
  threads: number,
  chunkRows = 1024,
): Throughput {
  const count = 150;
  const parts = 1024 / chunkRows;
  const partBytes = FRAME_BYTES / parts;
  const path = join(dir, `throughput-${spec.codec}-${threads}-${chunkRows}.h5`);
  const file = addon.createFile(path, false, false);
  const dataset = addon.createCompressedDataset(
    file,
    '/frames',
    'uint16',
    [0, 1024, 1024],
    [-1, 1024, 1024],
    [1, chunkRows, 1024],
    spec.codec,
    spec.level ?? 0,
    threads,
  );
  addon.setExtent(dataset, [count, 1024, 1024]);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const offset = [0, 0, 0];
  for (let i = 0; i < count; i++) {
    const frame = frames[i % frames.length]!;
    offset[0] = i;
    for (let part = 0; part < parts; part++) {
      offset[1] = part * chunkRows;
      addon.writeCompressedChunk(dataset, offset, frame.subarray(part * partBytes, (part + 1) * partBytes));
    }
  }
  addon.drainCompressed(dataset);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  addon.endCompressed(dataset);
  addon.closeFile(file);
  rmSync(path, { force: true });
  const gb = (count * FRAME_BYTES) / 1e9;
  return { spec, threads, chunkRows, mbps: (gb * 1000) / seconds, cpuPerGB: (used.user + used.system) / 1e6 / gb };
}

/** A loop device throttled to SLOW_DISK_MBPS for one cgroup (cgroup v1 blkio; O_DIRECT writes are throttled). */
interface SlowDisk {
  readonly mount: string;
  readonly cgroup: string;
  readonly release: () => void;
}

function makeSlowDisk(dir: string): SlowDisk | string {
  if (process.getuid?.() !== 0) return 'needs root (losetup, mount, a blkio cgroup)';
  const blkio = '/sys/fs/cgroup/blkio';
  if (!existsSync(join(blkio, 'cgroup.procs'))) return 'no cgroup v1 blkio controller at /sys/fs/cgroup/blkio';
  const image = join(dir, 'slow-disk.img');
  const mount = join(dir, 'slow-disk');
  const cgroup = join(blkio, `labcast-bench-${process.pid}`);
  const undo: Array<() => void> = [() => rmSync(image, { force: true })];
  const release = (): void => {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // Best effort: the next step still runs.
      }
    }
  };
  const run = (command: string, args: string[]): string => {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr.trim() || result.error?.message}`);
    return result.stdout.trim();
  };
  try {
    writeFileSync(image, '');
    run('truncate', ['-s', `${Math.ceil((SLOW_FRAMES * FRAME_BYTES * 1.3) / 1e9) + 1}G`, image]);
    const loop = run('losetup', ['-f', '--show', image]);
    undo.push(() => run('losetup', ['-d', loop]));
    run('mkfs.ext4', ['-q', loop]);
    mkdirSync(mount, { recursive: true });
    run('mount', [loop, mount]);
    undo.push(() => run('umount', [mount]));
    const device = run('lsblk', ['-no', 'MAJ:MIN', loop]).replace(/\s/g, '');
    mkdirSync(cgroup);
    undo.push(() => rmdirSync(cgroup));
    writeFileSync(join(cgroup, 'blkio.throttle.write_bps_device'), `${device} ${SLOW_DISK_MBPS * 1e6}`);
    return { mount, cgroup, release };
  } catch (error) {
    release();
    return error instanceof Error ? error.message : String(error);
  }
}

export interface CompressionFigures {
  readonly ratios: ReadonlyArray<{
    readonly data: string;
    readonly ratios: ReadonlyArray<{ readonly spec: CompressionSpec; readonly ratio: number }>;
  }>;
  readonly throughput: readonly Throughput[];
  readonly rawDirectMBps: number | null;
  readonly megapixel: ReadonlyArray<{ readonly spec: CompressionSpec; readonly runs: readonly Recording[] }>;
  readonly slow: { readonly why: string } | { readonly runs: ReadonlyArray<{ readonly spec: CompressionSpec; readonly run: Recording }> };
}

export async function measureCompression(dir: string): Promise<CompressionFigures | string> {
  const loaded = loadNativeAddon();
  if ('failure' in loaded) return `not measured: the native writer is not built (${loaded.failure})`;
  const missing = Object.entries(loaded.addon.compressionCodecs()).filter(([, pkg]) => pkg !== null);
  if (missing.length > 0) return `not measured: codecs not built in: ${missing.map(([codec, pkg]) => `${codec} (${pkg})`).join(', ')}`;

  const ratios = DATA_SETS.map((data) => {
    process.stderr.write(`compression ratio: ${data.name}...\n`);
    return {
      data: data.name,
      ratios: CODECS.map((spec) => {
        const run = record(join(dir, 'ratio.h5'), data.args, spec);
        return { spec, ratio: run.json.compression?.ratio ?? Number.NaN };
      }),
    };
  });

  process.stderr.write('compression throughput, one and two threads, into memory...\n');
  const memory = existsSync(MEMORY_FS) ? mkdtempSync(join(MEMORY_FS, 'labcast-bench-')) : dir;
  let throughput: Throughput[];
  try {
    const frames = await sampleFrames(memory, 16);
    throughput = CODECS.flatMap((spec) => [1, 2].map((threads) => codecThroughput(loaded.addon, memory, frames, spec, threads)));
    // Sub-frame chunks (a quarter frame each) against one frame per chunk, two threads.
    for (const spec of CODECS.slice(0, 3)) throughput.push(codecThroughput(loaded.addon, memory, frames, spec, 2, 256));
  } finally {
    if (memory !== dir) rmSync(memory, { recursive: true, force: true });
  }

  const megapixel = [NONE, ...CODECS].map((spec) => ({ spec, runs: [] as Recording[] }));
  const direct: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const speed = rawDirectWriteMBps(join(dir, 'raw-direct.bin'), MEGAPIXEL_FRAMES * FRAME_BYTES);
    if (speed !== null) direct.push(speed);
    const line = [`raw O_DIRECT ${speed?.toFixed(0) ?? 'n/a'} MB/s`];
    for (const entry of megapixel) {
      const recorded = record(join(dir, 'megapixel.h5'), [...MEGAPIXEL_ARGS, '--frames', String(MEGAPIXEL_FRAMES)], entry.spec);
      entry.runs.push(recorded);
      line.push(`${describeCompression(entry.spec)} ${recorded.fps.toFixed(0)} frames/s`);
    }
    process.stderr.write(`compression 1024x1024 run ${run + 1}/${RUNS}: ${line.join(', ')}\n`);
  }

  process.stderr.write(`compression on a disk throttled to ${SLOW_DISK_MBPS} MB/s...\n`);
  const disk = makeSlowDisk(dir);
  let slow: CompressionFigures['slow'];
  if (typeof disk === 'string') {
    slow = { why: disk };
  } else {
    try {
      slow = {
        runs: ([NONE, { codec: 'bitshuffle-lz4', level: null }, { codec: 'zstd', level: 1 }] as CompressionSpec[]).map((spec) => ({
          spec,
          run: record(join(disk.mount, 'slow.h5'), [...MEGAPIXEL_ARGS, '--frames', String(SLOW_FRAMES)], spec, disk.cgroup),
        })),
      };
    } finally {
      disk.release();
    }
  }
  return { ratios, throughput, rawDirectMBps: direct.length > 0 ? median(direct) : null, megapixel, slow };
}

export function compressionRows(figures: CompressionFigures | string): [string, string][] {
  if (typeof figures === 'string') return [['compression', figures]];
  const rows: [string, string][] = [['compression ratio (camera bytes / bytes in the file)', CODECS.map(describeCompression).join(' | ')]];
  for (const { data, ratios } of figures.ratios) rows.push([`  ${data}`, ratios.map((r) => `${r.ratio.toFixed(2)}x`).join(' | ')]);
  rows.push([
    'compression throughput, 1024x1024 uint16 particles, into memory',
    `MB/s of camera data in (1 thread / 2 threads), CPU s per GB (2 threads); raw disk O_DIRECT ${figures.rawDirectMBps?.toFixed(0) ?? 'n/a'} MB/s`,
  ]);
  const whole = (t: Throughput): boolean => t.chunkRows === 1024;
  for (const spec of CODECS) {
    const [one, two] = [1, 2].map((threads) => figures.throughput.find((t) => t.spec === spec && t.threads === threads && whole(t))!);
    const quarter = figures.throughput.find((t) => t.spec === spec && !whole(t));
    rows.push([
      `  ${describeCompression(spec)}`,
      `${one!.mbps.toFixed(0)} / ${two!.mbps.toFixed(0)} MB/s, ${two!.cpuPerGB.toFixed(2)} s/GB` +
        (quarter === undefined ? '' : `; quarter-frame chunks ${quarter.mbps.toFixed(0)} MB/s`),
    ]);
  }
  const raw = figures.megapixel[0]!;
  const rawFps = median(raw.runs.map((r) => r.fps));
  const rawBytes = median(raw.runs.map((r) => r.fileBytes));
  rows.push([
    `1024x1024 uint16 particles, fps 0, ${MEGAPIXEL_FRAMES} frames, into a closed file (median of ${RUNS})`,
    'frames/s (run start to file closed), file size / raw file, saver CPU per GB, frames lost',
  ]);
  for (const { spec, runs } of figures.megapixel) {
    const fps = median(runs.map((r) => r.fps));
    const bytes = median(runs.map((r) => r.fileBytes));
    const cpu = runs.map((r) => r.cpuPerGB).filter((c): c is number => c !== null);
    const lost = runs.reduce((n, r) => n + r.json.framesLost, 0);
    rows.push([
      `  ${describeCompression(spec)}`,
      `${fps.toFixed(0)} frames/s (${((fps / rawFps) * 100).toFixed(0)} % of raw), file ${((bytes / rawBytes) * 100).toFixed(0)} %, ` +
        `saver CPU ${cpu.length > 0 ? median(cpu).toFixed(2) : 'n/a'} s/GB, ${lost} lost`,
    ]);
  }
  if ('why' in figures.slow) {
    rows.push([`slow disk (${SLOW_DISK_MBPS} MB/s)`, `not measured: ${figures.slow.why}; modelled below`]);
    for (const { spec, runs } of figures.megapixel.slice(1)) {
      const ratio = median(runs.map((r) => r.json.compression?.ratio ?? 1));
      const codec = figures.throughput.find((t) => t.spec === spec && t.threads === 2 && t.chunkRows === 1024)!;
      const fps = Math.min((SLOW_DISK_MBPS * ratio) / (FRAME_BYTES / 1e6), codec.mbps / (FRAME_BYTES / 1e6));
      rows.push([
        `  model ${describeCompression(spec)}`,
        `${fps.toFixed(1)} frames/s vs raw ${(SLOW_DISK_MBPS / (FRAME_BYTES / 1e6)).toFixed(1)}`,
      ]);
    }
  } else {
    rows.push([
      `slow disk: loop device throttled to ${SLOW_DISK_MBPS} MB/s (blkio cgroup), ${SLOW_FRAMES} frames 1024x1024 uint16 particles, fps 0`,
      'frames/s to a closed file, ratio',
    ]);
    const base = figures.slow.runs[0]!.run.fps;
    for (const { spec, run } of figures.slow.runs) {
      rows.push([
        `  ${describeCompression(spec)}`,
        `${run.fps.toFixed(1)} frames/s (${(run.fps / base).toFixed(2)}x raw), ${run.json.compression?.ratio?.toFixed(2) ?? '1.00'}x, ` +
          `${run.json.framesLost} lost`,
      ]);
    }
  }
  return rows;
}

/** Alone: `node dist/bench/compression.js` (after npm run build). */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = mkdtempSync(join(process.cwd(), '.bench-compression-'));
  measureCompression(dir)
    .then((figures) => {
      const rows = compressionRows(figures);
      const width = Math.max(...rows.map(([k]) => k.length));
      process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`.trimEnd()).join('\n')}\n`);
    })
    .catch((error: unknown) => {
      process.stderr.write(`compression bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    })
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}
