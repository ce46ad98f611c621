/**
 * npm run bench: end-to-end recording throughput beside the raw speed of the
 * same disk, measured in the same run. Figures are ratios to that baseline,
 * medians of several runs; nothing here asserts a time. Then the web live
 * view's latency from camera to painted frame (bench/web-latency.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAnalysis } from './analysis-localize.js';
import { rawWriteMBps } from './raw-disk.js';
import { measureWebLatency, WEB_BENCH } from './web-latency.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
// The script is not compiled: it sits beside this file's source, two levels up from dist/bench.
const PYTHON_PIPELINE = fileURLToPath(new URL('../../bench/python_pipeline.py', import.meta.url));
const PYTHON = process.env.LABCAST_PYTHON ?? '/usr/bin/python3';
const RUNS = Number(process.env.LABCAST_BENCH_RUNS ?? 3);
const FRAMES = 500;
const WIDTH = 1024;
const HEIGHT = 1024;
const FRAME_BYTES = WIDTH * HEIGHT * 2;

interface RecordSummary {
  framesWritten: number;
  framesLost: number;
  bytesWritten: number;
  durationS: number;
  error: string | null;
}

function fmtPair([p50, p95]: [number, number]): string {
  return `${p50.toFixed(1)} / ${p95.toFixed(1)} ms`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function recordOnce(dir: string, run: number): { mbps: number; wallMBps: number; summary: RecordSummary } {
  const out = join(dir, `bench_${run}.h5`);
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      CLI, 'record', '--frames', String(FRAMES), '--width', String(WIDTH), '--height', String(HEIGHT),
      '--dtype', 'uint16', '--fps', '0', '--pattern', 'gradient', '--out', out, '--json',
      '--publish', 'tcp://127.0.0.1:*',
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const wallS = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`labcast record failed (${result.status}): ${result.stderr}`);
  const summary = JSON.parse(result.stdout) as RecordSummary;
  rmSync(out, { force: true });
  return { mbps: summary.bytesWritten / 1e6 / summary.durationS, wallMBps: summary.bytesWritten / 1e6 / wallS, summary };
}

/** The classic pyzmq PUB/SUB + h5py recipe on the same workload (bench/python_pipeline.py, Debian's python3). */
function pythonOnce(dir: string, run: number): { mbps: number; frames: number } {
  const out = join(dir, `python_${run}.h5`);
  const result = spawnSync(PYTHON, [PYTHON_PIPELINE, out, String(FRAMES), String(HEIGHT), String(WIDTH)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the Python pipeline failed (${result.status}): ${result.stderr}`);
  const summary = JSON.parse(result.stdout) as { frames: number; seconds: number; bytes: number };
  rmSync(out, { force: true });
  return { mbps: summary.bytes / 1e6 / summary.seconds, frames: summary.frames };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(process.cwd(), '.bench-'));
  try {
    const raw: number[] = [];
    const e2e: number[] = [];
    const wall: number[] = [];
    const python: number[] = [];
    let lost = 0;
    let pythonLost = 0;
    for (let run = 0; run < RUNS; run++) {
      raw.push(rawWriteMBps(join(dir, 'raw.bin'), FRAMES * FRAME_BYTES));
      const recorded = recordOnce(dir, run);
      if (recorded.summary.framesWritten !== FRAMES) throw new Error(`run ${run}: ${recorded.summary.framesWritten} of ${FRAMES} frames written`);
      lost += recorded.summary.framesLost;
      e2e.push(recorded.mbps);
      wall.push(recorded.wallMBps);
      const baseline = pythonOnce(dir, run);
      python.push(baseline.mbps);
      pythonLost += FRAMES - baseline.frames;
      process.stderr.write(
        `run ${run + 1}/${RUNS}: raw ${raw[run]!.toFixed(0)} MB/s, labcast ${recorded.mbps.toFixed(0)} MB/s, python ${baseline.mbps.toFixed(0)} MB/s\n`,
      );
    }
    const rawMedian = median(raw);
    const e2eMedian = median(e2e);
    const analysis = benchAnalysis();
    process.stderr.write(`web live view: ${WEB_BENCH.durationS} s in headless Chromium...\n`);
    const web = await measureWebLatency();
    const rows: [string, string][] = [
      ['workload', `${FRAMES} frames ${WIDTH}x${HEIGHT} uint16 (${((FRAMES * FRAME_BYTES) / 1e6).toFixed(0)} MB), sim camera fps 0, gradient`],
      ['raw disk (2 MiB writes + fsync)', `${rawMedian.toFixed(0)} MB/s`],
      ['labcast camera -> ZMQ -> HDF5 (closed, fsync)', `${e2eMedian.toFixed(0)} MB/s`],
      ['  ratio to raw disk', `${((e2eMedian / rawMedian) * 100).toFixed(0)} %`],
      ['  incl. process start-up (whole command)', `${median(wall).toFixed(0)} MB/s`],
      ['frames lost', String(lost)],
      ['python pyzmq PUB/SUB + h5py (closed, fsync)', `${median(python).toFixed(0)} MB/s, ${pythonLost} frames lost`],
      ['  labcast / python', `${(e2eMedian / median(python)).toFixed(2)}x`],
      ['runs (median of)', String(RUNS)],
      ['analysis, 1024x1024 uint16, 50 particles, one core', `localisation ${analysis.localizeFps.toFixed(0)} frames/s (goal >= 100), statistics ${analysis.statsFps.toFixed(0)} frames/s`],
      ['web live view', `sim ${WEB_BENCH.width}x${WEB_BENCH.height} uint16 at ${WEB_BENCH.fps} fps, gradient, headless Chromium, drawn at ${web.displaySize}`],
      ['  latency camera -> painted, p50', `${web.p50Ms.toFixed(1)} ms`],
      ['  latency camera -> painted, p95 (goal < 50)', `${web.p95Ms.toFixed(1)} ms`],
      ['  latency max', `${web.maxMs.toFixed(1)} ms`],
      ['  p50 / p95: at the web server', fmtPair(web.stages.serverReceived)],
      ['  p50 / p95: converted and sent', fmtPair(web.stages.serverSent)],
      ['  p50 / p95: in the browser', fmtPair(web.stages.browserReceived)],
      ['  frames shown / published', `${web.shown} / ${web.published} in ${web.seconds.toFixed(1)} s`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
