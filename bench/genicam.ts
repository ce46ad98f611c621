/**
 * GenICam over GigE Vision: labcast recording (camera -> closed HDF5 file)
 * beside Aravis's own arv-camera-test-0.8 merely receiving the same stream —
 * the same fake GigE camera (arv-fake-gv-camera-0.8), size, pixel format,
 * requested rate, socket buffer (auto on both) and network namespace — in the
 * same invocation. Figures are ratios to the anchor; nothing asserts a time.
 *
 * Runs inside a network namespace of its own (discovery must never reach the
 * host's interfaces). Where that or the Aravis binding is unavailable it says
 * why and measures nothing.
 *
 * Standalone: `node dist/bench/genicam.js` (LABCAST_GENICAM_BENCH_S sets the
 * seconds per measurement, LABCAST_GENICAM_BENCH_FPS the requested rate).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAravisAddon } from '../src/native/aravis-addon.js';
import type { RingWrites } from '../src/protocol/process-messages.js';
import { saverCopies } from './saver-copies.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const FAKE_CAMERA = 'arv-fake-gv-camera-0.8';
const CAMERA_TEST = 'arv-camera-test-0.8';
const SERIAL = 'BENCH';
const SIZE = 1024;
const FORMATS = ['Mono8', 'Mono16'] as const;
export const GENICAM_BENCH = {
  size: SIZE,
  seconds: Number(process.env.LABCAST_GENICAM_BENCH_S ?? 10),
  fps: Number(process.env.LABCAST_GENICAM_BENCH_FPS ?? 100),
  /** Anchor and labcast alternate this many times per format; figures are medians (the machine's load drifts). */
  runs: Number(process.env.LABCAST_BENCH_RUNS ?? 3),
};
const CLOCK_TICKS = 100;

export interface GenicamFormatFigures {
  readonly format: string;
  /** arv-camera-test: completed buffers per second, and its failed buffers. */
  readonly anchorFps: number;
  readonly anchorFailed: number;
  /** labcast record: frames written per second of the recording, frames lost (counted gaps), camera-failed buffers. */
  readonly labcastFps: number;
  readonly labcastLost: number;
  readonly labcastFailed: number;
  readonly framesWritten: number;
  /** The acquisition process's CPU time per frame acquired, ms. */
  readonly acquisitionCpuMsPerFrame: number | null;
  /** The saver's copies of a frame (bench/saver-copies.ts): none where Aravis assembled it in its ring slot. */
  readonly saverCopies: string;
  /** The recording's error, if it ended with one (its figures are still what it wrote). */
  readonly error: string | null;
  /** Each run's rate, in order (anchor and labcast alternate). */
  readonly anchorFpsRuns?: readonly number[];
  readonly labcastFpsRuns?: readonly number[];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export type GenicamBenchResult = { readonly skipped: string } | { readonly figures: readonly GenicamFormatFigures[] };

/** Why the bench cannot run here, or null. */
function unavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for a network namespace';
  if (spawnSync('unshare', ['--version']).error !== undefined) return 'needs unshare (util-linux)';
  for (const tool of [FAKE_CAMERA, CAMERA_TEST]) {
    if (spawnSync(tool, ['--help']).error !== undefined) return `needs ${tool} (Debian package aravis-tools)`;
  }
  const load = loadAravisAddon();
  if ('failure' in load) return `needs the Aravis binding: ${load.failure}`;
  return null;
}

/**
 * The measuring itself runs as this same script in `--inside` mode under
 * `unshare -n`: everything it starts (fake camera, arv-camera-test, labcast)
 * is then in that namespace.
 */
export async function measureGenicam(): Promise<GenicamBenchResult> {
  const cannot = unavailable();
  if (cannot !== null) return { skipped: cannot };
  const script = fileURLToPath(import.meta.url);
  const ran = spawnSync('unshare', ['-n', process.execPath, script, '--inside'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (ran.status !== 0) return { skipped: `the measurement failed (exit ${ran.status}): ${ran.error?.message ?? 'see above'}` };
  const line = ran.stdout.trim().split('\n').pop() ?? '';
  return { figures: JSON.parse(line) as GenicamFormatFigures[] };
}

// ---- inside the namespace ----

function waitMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function startFakeCamera(): Promise<ReturnType<typeof spawn>> {
  const camera = spawn(FAKE_CAMERA, ['-i', '127.0.0.1', '-s', SERIAL], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    if (spawnSync('ss', ['-uln'], { encoding: 'utf8' }).stdout.includes('127.0.0.1:3956')) return camera;
    await waitMs(100);
  }
  camera.kill('SIGKILL');
  throw new Error(`${FAKE_CAMERA} did not start listening`);
}

function anchor(format: string): { fps: number; failed: number } {
  const ran = spawnSync(
    CAMERA_TEST,
    [
      '-n',
      `Aravis-Fake-${SERIAL}`,
      '-w',
      String(SIZE),
      '-h',
      String(SIZE),
      '-f',
      String(GENICAM_BENCH.fps),
      '-a',
      '--features',
      `PixelFormat=${format}`,
      '--duration',
      String(GENICAM_BENCH.seconds),
    ],
    { encoding: 'utf8', timeout: (GENICAM_BENCH.seconds + 30) * 1000 },
  );
  const output = `${ran.stdout}${ran.stderr}`;
  const counter = (name: string): number => {
    const match = new RegExp(`${name}\\s*=\\s*(\\d+)`).exec(output);
    if (match === null) throw new Error(`${CAMERA_TEST} printed no ${name}: ${output.slice(-2000)}`);
    return Number(match[1]);
  };
  // Its once-a-second "N frames/s" lines, without the first (start-up): the rate while streaming, as labcast's
  // frames over its run's duration is. Its total over --duration also counts the seconds before the first frame.
  const perSecond = [...output.matchAll(/^\s*(\d+) frames\/s/gm)].map((match) => Number(match[1])).slice(1);
  const fps =
    perSecond.length > 0 ? perSecond.reduce((a, b) => a + b, 0) / perSecond.length : counter('n_completed_buffers') / GENICAM_BENCH.seconds;
  return { fps, failed: counter('n_failures') };
}

/** CPU seconds (user + system) of a process, from /proc; null once it is gone. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** The acquisition process among `parent`'s children. */
function acquisitionPid(parent: number): number | null {
  const ran = spawnSync('pgrep', ['-P', String(parent)], { encoding: 'utf8' });
  for (const pid of (ran.stdout ?? '').split('\n').filter(Boolean).map(Number)) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('acquisition-process')) return pid;
    } catch {
      // Gone already.
    }
  }
  return null;
}

async function labcastRecord(
  dir: string,
  format: string,
): Promise<
  Pick<GenicamFormatFigures, 'labcastFps' | 'labcastLost' | 'labcastFailed' | 'framesWritten' | 'acquisitionCpuMsPerFrame' | 'error'> & {
    readonly written: { readonly bytesWritten: number; readonly ringWrites?: RingWrites };
  }
> {
  const camera = {
    driver: 'genicam',
    id: SERIAL,
    pixel_format: format,
    features: { Width: SIZE, Height: SIZE, AcquisitionFrameRate: GENICAM_BENCH.fps },
  };
  const out = join(dir, `genicam-${format}.h5`);
  const child = spawn(
    process.execPath,
    [CLI, 'record', '--camera', JSON.stringify(camera), '--duration', String(GENICAM_BENCH.seconds), '--out', out, '--overwrite', '--json'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  // The acquisition process's CPU, sampled until it exits (the last sample is within 100 ms of its end).
  let cpu: number | null = null;
  let pid: number | null = null;
  let running = true;
  void closed.then(() => (running = false));
  while (running) {
    pid ??= child.pid === undefined ? null : acquisitionPid(child.pid);
    if (pid !== null) cpu = cpuSeconds(pid) ?? cpu;
    await waitMs(100);
  }
  const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
    framesWritten: number;
    framesAcquired: number;
    framesLost: number;
    durationS: number;
    error: string | null;
    stream?: Record<string, number>;
    bytesWritten: number;
    ringWrites?: RingWrites;
  };
  rmSync(out, { force: true });
  return {
    labcastFps: summary.framesWritten / summary.durationS,
    labcastLost: summary.framesLost,
    labcastFailed: summary.stream?.n_failures ?? 0,
    framesWritten: summary.framesWritten,
    acquisitionCpuMsPerFrame: cpu === null || summary.framesAcquired === 0 ? null : (cpu * 1000) / summary.framesAcquired,
    error: summary.error,
    written: { bytesWritten: summary.bytesWritten, ...(summary.ringWrites === undefined ? {} : { ringWrites: summary.ringWrites }) },
  };
}

async function inside(): Promise<void> {
  spawnSync('ip', ['link', 'set', 'lo', 'up']);
  const dir = mkdtempSync(join(process.cwd(), '.bench-genicam-'));
  const camera = await startFakeCamera();
  try {
    const figures: GenicamFormatFigures[] = [];
    for (const format of FORMATS) {
      const references: ReturnType<typeof anchor>[] = [];
      const recordings: Awaited<ReturnType<typeof labcastRecord>>[] = [];
      for (let run = 1; run <= GENICAM_BENCH.runs; run++) {
        process.stderr.write(
          `genicam ${format} ${SIZE}x${SIZE} run ${run}/${GENICAM_BENCH.runs}: arv-camera-test ${GENICAM_BENCH.seconds} s, then ` +
            `labcast record ${GENICAM_BENCH.seconds} s...\n`,
        );
        references.push(anchor(format));
        recordings.push(await labcastRecord(dir, format));
      }
      const cpu = recordings.map((r) => r.acquisitionCpuMsPerFrame).filter((ms): ms is number => ms !== null);
      figures.push({
        format,
        anchorFps: median(references.map((r) => r.fps)),
        anchorFailed: references.reduce((n, r) => n + r.failed, 0),
        labcastFps: median(recordings.map((r) => r.labcastFps)),
        labcastLost: recordings.reduce((n, r) => n + r.labcastLost, 0),
        labcastFailed: recordings.reduce((n, r) => n + r.labcastFailed, 0),
        framesWritten: recordings.reduce((n, r) => n + r.framesWritten, 0),
        acquisitionCpuMsPerFrame: cpu.length === 0 ? null : median(cpu),
        saverCopies: saverCopies(recordings.map((r) => r.written)),
        error: recordings.map((r) => r.error).find((error) => error !== null) ?? null,
        anchorFpsRuns: references.map((r) => r.fps),
        labcastFpsRuns: recordings.map((r) => r.labcastFps),
      });
    }
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    camera.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

function runsOf(rates: readonly number[] | undefined): string {
  return rates === undefined || rates.length < 2 ? '' : ` (runs: ${rates.map((fps) => fps.toFixed(1)).join(', ')})`;
}

/** Rows for the bench table. */
export function genicamRows(result: GenicamBenchResult): [string, string][] {
  const title =
    `GenICam fake GigE camera ${SIZE}x${SIZE}, requested ${GENICAM_BENCH.fps} fps, ${GENICAM_BENCH.seconds} s x ` +
    `${GENICAM_BENCH.runs} runs, netns loopback`;
  if ('skipped' in result) return [[title, `skipped: ${result.skipped}`]];
  return [
    [title, 'anchor: arv-camera-test-0.8 receiving the same stream'],
    ...result.figures.flatMap((f): [string, string][] => [
      [
        `  ${f.format}: arv-camera-test receives (median)`,
        `${f.anchorFps.toFixed(1)} frames/s, ${f.anchorFailed} failed${runsOf(f.anchorFpsRuns)}`,
      ],
      [
        `  ${f.format}: labcast records, closed file (median)`,
        `${f.labcastFps.toFixed(1)} frames/s, ${f.labcastFailed} failed, ${f.labcastLost} lost (counted gaps)${runsOf(f.labcastFpsRuns)}`,
      ],
      [`  ${f.format}: labcast / arv-camera-test (goal >= 95 %)`, `${((f.labcastFps / f.anchorFps) * 100).toFixed(0)} %`],
      [
        `  ${f.format}: acquisition CPU per frame`,
        f.acquisitionCpuMsPerFrame === null ? 'not measured' : `${f.acquisitionCpuMsPerFrame.toFixed(2)} ms`,
      ],
      [`  ${f.format}: saver copies of a frame (Aravis assembled it from packets: its 1 copy)`, f.saverCopies],
      ...(f.error === null ? [] : [[`  ${f.format}: labcast record error`, f.error] as [string, string]]),
    ]),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--inside') {
    inside().catch((error: unknown) => {
      process.stderr.write(`genicam bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    });
  } else {
    measureGenicam().then(
      (result) => {
        const rows = genicamRows(result);
        const width = Math.max(...rows.map(([k]) => k.length));
        process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`.trimEnd()).join('\n')}\n`);
      },
      (error: unknown) => {
        process.stderr.write(`genicam bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
