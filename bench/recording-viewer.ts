/**
 * The recording viewer's step time in a real browser: from a step (→ key) to
 * the animation frame after the new frame was drawn (the page's own
 * performance.now() at the step and in the requestAnimationFrame callback,
 * recording-viewer.js viewerStats.stepMs). A 1024×1024 uint16 recording made
 * by `labcast record`, served by labcast serve, the page in headless
 * Chromium: each step reads frame k from the file on the server (one
 * hyperslab), renders it for the canvas (downscale + levels → 8 bits), sends
 * it with its overlay, and the page draws it.
 */
import { join } from 'node:path';
import { launchChromium } from '../test/helpers/chromium.js';
import { runLabcast, scratchDir } from '../test/helpers/processes.js';
import { startServe } from '../test/helpers/serve.js';

export const VIEWER_BENCH = { size: 1024, frames: 60, steps: Number(process.env.LABCAST_BENCH_VIEWER_STEPS ?? 150), jumps: 40 };

export interface ViewerStepResult {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly steps: number;
  /** Jumps to a frame picked at random on the slider (never fetched ahead): p50, p95. */
  readonly jumpP50Ms: number;
  readonly jumpP95Ms: number;
  /** Size of the frames the page drew (the server downscales to the canvas). */
  readonly displaySize: string;
}

interface PageViewerStats {
  index: number | null;
  stepMs: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function measureViewerSteps(): Promise<ViewerStepResult> {
  const scratch = scratchDir('labcast-bench-viewer-');
  const { size, frames, steps } = VIEWER_BENCH;
  const file = join(scratch.dir, 'data', 'viewer_bench.h5');
  const serve = await startServe(scratch.dir, { width: 64, height: 48, fps: 10 });
  const browser = await launchChromium();
  try {
    const recorded = await runLabcast([
      'record',
      '--frames',
      String(frames),
      '--width',
      String(size),
      '--height',
      String(size),
      '--dtype',
      'uint16',
      '--fps',
      '0',
      '--pattern',
      'particles',
      '--publish',
      'tcp://127.0.0.1:*',
      '--out',
      file,
    ]);
    if (recorded.code !== 0) throw new Error(`labcast record failed: ${recorded.stderr}`);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(serve.web);
    await page.getByRole('button', { name: 'Open viewer_bench.h5' }).click();
    const stats = (): Promise<PageViewerStats> =>
      page.evaluate(() => {
        const s = (globalThis as unknown as { labcastViewer: PageViewerStats }).labcastViewer;
        return { index: s.index, stepMs: [...s.stepMs] };
      });
    const waitFor = async (accept: (s: PageViewerStats) => boolean): Promise<PageViewerStats> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const s = await stats();
        if (accept(s)) return s;
        if (Date.now() > deadline) throw new Error(`the viewer did not get there: ${JSON.stringify({ index: s.index })}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await waitFor((s) => s.index === 0);
    await page.getByRole('button', { name: 'Next frame' }).focus();
    const before = (await stats()).stepMs.length;
    // One step at a time, each waited for, forwards through the file and back (Home), as a person steps
    // (the viewer fetches the next frame ahead while one is shown).
    let index = 0;
    for (let step = 0; step < steps; step++) {
      const next = index + 1 < frames ? index + 1 : 0;
      await page.keyboard.press(next === 0 ? 'Home' : 'ArrowRight');
      const count = before + step + 1;
      await waitFor((s) => s.index === next && s.stepMs.length >= count);
      index = next;
    }
    const measured = (await stats()).stepMs.slice(before).sort((a, b) => a - b);
    // Jumps: the slider set to a frame far from the one shown, which the viewer has not fetched ahead.
    const slider = page.getByRole('slider', { name: 'Frame slider' });
    const jumpsFrom = (await stats()).stepMs.length;
    let seed = 12345;
    for (let jump = 0; jump < VIEWER_BENCH.jumps; jump++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const target = (index + 10 + (seed % (frames - 20))) % frames;
      await slider.fill(String(target));
      await waitFor((s) => s.index === target && s.stepMs.length >= jumpsFrom + jump + 1);
      index = target;
    }
    const jumps = (await stats()).stepMs.slice(jumpsFrom).sort((a, b) => a - b);
    const displaySize = await page.getByRole('img', { name: 'Recorded frame' }).evaluate((element) => {
      const canvas = element as unknown as { width: number; height: number };
      return `${canvas.width}x${canvas.height}`;
    });
    return {
      p50Ms: percentile(measured, 50),
      p95Ms: percentile(measured, 95),
      maxMs: measured[measured.length - 1] ?? NaN,
      steps: measured.length,
      jumpP50Ms: percentile(jumps, 50),
      jumpP95Ms: percentile(jumps, 95),
      displaySize,
    };
  } finally {
    await browser.close();
    await serve.stop();
    scratch.cleanup();
  }
}

/** Runs alone: node dist/bench/recording-viewer.js */
if (process.argv[1]?.endsWith('recording-viewer.js')) {
  measureViewerSteps()
    .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    });
}
