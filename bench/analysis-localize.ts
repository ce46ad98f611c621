/**
 * Localisation and frame-statistics throughput on one core: 1024×1024 uint16
 * simulated frames with 50 particles (the default 12-bit camera, sigma 2, SNR
 * 18..42). Frames are rendered first; only the analysis is timed. Prints
 * frames per second, the median of several runs (LABCAST_BENCH_RUNS, default
 * 5). Asserts nothing.
 */
import { pathToFileURL } from 'node:url';
import { frameStats } from '../src/analysis/frame-stats.js';
import { localizeSpots } from '../src/analysis/localize.js';
import { parseSimCameraOptions } from '../src/camera-spec/sim-options.js';
import { renderSimFrame } from '../src/devices/sim/render.js';

const RUNS = Number(process.env.LABCAST_BENCH_RUNS ?? 5);
const FRAMES = 100;
const SIDE = 1024;
const GOAL_FPS = 100;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function fps(label: string, frames: readonly Uint8Array[], analyse: (pixels: Uint8Array) => number): number {
  for (const pixels of frames.slice(0, 10)) analyse(pixels); // warm-up
  const rates: number[] = [];
  let checksum = 0;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    for (const pixels of frames) checksum += analyse(pixels);
    rates.push(frames.length / ((performance.now() - started) / 1000));
  }
  const result = median(rates);
  console.log(
    `${label}: ${result.toFixed(0)} frames/s (median of ${RUNS} runs of ${frames.length} frames; ` +
      `runs ${rates.map((r) => r.toFixed(0)).join(', ')}; checksum ${checksum})`,
  );
  return result;
}

export function benchAnalysis(): { localizeFps: number; statsFps: number } {
  const options = parseSimCameraOptions({ width: SIDE, height: SIDE, dtype: 'uint16', pattern: 'particles', particle_count: 50, seed: 1 });
  const frames = Array.from({ length: FRAMES }, (_, index) => renderSimFrame(options, {}, index));
  const shape = [SIDE, SIDE];
  console.log(`analysis: ${SIDE}×${SIDE} uint16, 50 particles, one core (node ${process.version})`);
  const localizeFps = fps('  localizeSpots', frames, (pixels) => localizeSpots(pixels, shape, 'uint16').spots.length);
  const histogram = new Uint32Array(256);
  const statsFps = fps('  frameStats   ', frames, (pixels) => frameStats(pixels, shape, 'uint16', { histogram }).max);
  console.log(`  goal ≥ ${GOAL_FPS} frames/s for localisation: ${localizeFps >= GOAL_FPS ? 'met' : 'NOT met'}`);
  return { localizeFps, statsFps };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) benchAnalysis();
