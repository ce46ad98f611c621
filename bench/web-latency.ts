/**
 * Live-view latency in a real browser: from the camera timestamp of a frame to
 * the animation frame after the page drew it (performance.timeOrigin +
 * performance.now() in the requestAnimationFrame callback, minus
 * camera_ts_ns / 1e6; the camera clock and the browser's are the same host
 * clock). labcast serve with a simulated 1024×1024 uint16 camera at 30 fps,
 * the page in headless Chromium, frames through the whole path: acquisition →
 * ZeroMQ data stream → web server (8-bit, downscaled) → WebSocket → canvas.
 * The inspection tools are in use while it is measured (useInspectionTools):
 * a line profile, a rectangle's statistics and the pixel readout under a
 * cursor, each asking the server for raw values of the frame shown.
 */
import { launchChromium } from '../test/helpers/chromium.js';
import { delay, scratchDir } from '../test/helpers/processes.js';
import { startServe } from '../test/helpers/serve.js';

export const WEB_BENCH = {
  width: 1024,
  height: 1024,
  fps: 30,
  warmupS: 3,
  durationS: Number(process.env.LABCAST_BENCH_WEB_S ?? 10),
  /** LABCAST_BENCH_WEB_TOOLS=0 measures without the inspection tools in use. */
  tools: process.env.LABCAST_BENCH_WEB_TOOLS !== '0',
};

export interface WebLatencyResult {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  /** Frames painted in the browser during the window. */
  readonly shown: number;
  /** Frames published on the data stream during the window. */
  readonly published: number;
  readonly seconds: number;
  /** Size of the frames the page drew (the server downscales to the canvas). */
  readonly displaySize: string;
  /** p50 / p95 ms after the camera timestamp at which the frame was: received by the web server, sent, received by the browser. */
  readonly stages: {
    readonly serverReceived: [number, number];
    readonly serverSent: [number, number];
    readonly browserReceived: [number, number];
  };
}

interface PageStats {
  latencies: number[];
  stages: [number, number, number][];
  painted: number;
  last: { width: number; height: number; run_id: string };
}

/** Frames published so far in the current run, as the page itself asks (no process start-up in the way). */
async function publishedNow(page: import('playwright-core').Page): Promise<{ published: number; runId: string | null }> {
  return page.evaluate(async () => {
    const reply = (await (await fetch('/api/status')).json()) as { result: { frames: { published: number }; run_id: string | null } };
    return { published: reply.result.frames.published, runId: reply.result.run_id };
  });
}

/** A line profile and a rectangle drawn on the image, and the cursor left over it: every tool asking for raw values. */
async function useInspectionTools(page: import('playwright-core').Page): Promise<void> {
  const box = await page.locator('#canvas-box').boundingBox();
  if (box === null) throw new Error('no image on the page');
  const at = (fx: number, fy: number): [number, number] => [box.x + box.width * fx, box.y + box.height * fy];
  const drag = async (tool: string, from: [number, number], to: [number, number]): Promise<void> => {
    await page.getByLabel(tool).check();
    await page.mouse.move(...from);
    await page.mouse.down();
    await page.mouse.move(...to, { steps: 4 });
    await page.mouse.up();
  };
  await drag('Line profile', at(0.2, 0.3), at(0.8, 0.6));
  await drag('Rectangle', at(0.3, 0.3), at(0.6, 0.7));
  await page.mouse.move(...at(0.5, 0.5));
  const inUse = await page.evaluate(() => {
    const view = (globalThis as unknown as { labcastView: { profile: unknown; roiStats: unknown } }).labcastView;
    return view.profile !== null && view.roiStats !== null;
  });
  if (!inUse) await delay(1000);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function measureWebLatency(): Promise<WebLatencyResult> {
  const scratch = scratchDir('labcast-bench-web-');
  const serve = await startServe(scratch.dir, {
    width: WEB_BENCH.width,
    height: WEB_BENCH.height,
    fps: WEB_BENCH.fps,
    pattern: 'gradient',
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(serve.web);
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await delay(1000);
    if (WEB_BENCH.tools) await useInspectionTools(page);
    await delay(WEB_BENCH.warmupS * 1000);
    const before = await publishedNow(page);
    await page.evaluate(() => {
      const stats = (globalThis as unknown as { labcastLive: PageStats }).labcastLive;
      stats.latencies.length = 0;
      stats.stages.length = 0;
      stats.painted = 0;
    });
    const started = performance.now();
    await delay(WEB_BENCH.durationS * 1000);
    const collected = await page.evaluate(() => {
      const stats = (globalThis as unknown as { labcastLive: PageStats }).labcastLive;
      return {
        latencies: stats.latencies.slice(),
        stages: stats.stages.slice(),
        painted: stats.painted,
        width: stats.last.width,
        height: stats.last.height,
      };
    });
    const after = await publishedNow(page);
    const seconds = (performance.now() - started) / 1000;
    if (after.runId !== before.runId) throw new Error('the live run changed during the measurement');
    const sorted = [...collected.latencies].sort((a, b) => a - b);
    const stage = (index: number): [number, number] => {
      const values = collected.stages.map((row) => row[index]!).sort((a, b) => a - b);
      return [percentile(values, 50), percentile(values, 95)];
    };
    return {
      stages: { serverReceived: stage(0), serverSent: stage(1), browserReceived: stage(2) },
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      maxMs: sorted[sorted.length - 1] ?? NaN,
      shown: collected.painted,
      published: after.published - before.published,
      seconds,
      displaySize: `${collected.width}×${collected.height}`,
    };
  } finally {
    await browser.close();
    await serve.stop();
    scratch.cleanup();
  }
}
