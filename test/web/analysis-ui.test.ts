import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { countCanvasPixels, launchChromium, openLabcastPage } from '../helpers/chromium.js';
import { waitUntil } from '../helpers/poll.js';
import { scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const PARTICLES = 15;

interface OverlayStats {
  results: number;
  spotResults: number;
  statsResults: number;
  statsPoints: number;
  histogramBins: number;
  drawnSeq: number | null;
  resultSeq: number | null;
  exact: boolean;
  spotsDrawn: number;
  tracksDrawn: number;
}

const overlayStats = (page: Page): Promise<OverlayStats> =>
  page.evaluate(() => ({ ...(globalThis as unknown as { labcastOverlay: OverlayStats }).labcastOverlay }));

/** Marker pixels on the overlay canvas: opaque and green. */
function markerPixels(page: Page): Promise<number> {
  return countCanvasPixels(page.getByRole('img', { name: 'Analysis overlay' }), { r: [0, 119], g: [151, 255], a: [101, 255] });
}

describe('analysis in the web UI (headless Chromium, real labcast serve)', () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    [serve, browser] = await Promise.all([
      startServe(scratch.dir, { width: 256, height: 192, fps: 30, particle_count: PARTICLES, seed: 7 }),
      launchChromium(),
    ]);
    page = await openLabcastPage(browser, serve.web, { width: 1400, height: 1100 }, pageErrors);
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test('the analysis panel lists every analysis serve knows, each with a switch', async () => {
    const localize = page.getByLabel('localize', { exact: true });
    await localize.waitFor();
    assert.equal(await localize.isChecked(), false);
    assert.equal(await page.getByLabel('stats', { exact: true }).isChecked(), false);
  });

  test('starting localize from the UI: the process runs and spot markers are drawn over the live view, on the frame shown', async () => {
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await waitUntil(
      'the live view to show frames',
      () => page.locator('#display-seq').textContent(),
      (t) => /^\d+/.test(t ?? ''),
    );
    await page.getByLabel('localize', { exact: true }).check();
    const status = await serve.waitFor((s) => s.analyses?.find((a) => a.name === 'localize')?.state === 'running');
    assert.ok(status.analyses!.find((a) => a.name === 'localize')!.pid !== null);
    const drawn = await waitUntil(
      'markers drawn on the frame they were found in',
      () => overlayStats(page),
      (s) => s.exact && s.spotsDrawn > 0,
    );
    // One marker per bead (a pair that overlaps may be one spot).
    assert.ok(drawn.spotsDrawn >= PARTICLES - 3 && drawn.spotsDrawn <= PARTICLES, `${drawn.spotsDrawn} markers for ${PARTICLES} beads`);
    const green = await waitUntil(
      'green marker pixels on the overlay',
      () => markerPixels(page),
      (n) => n > 0,
    );
    assert.ok(green > 100, `${green} marker pixels`);
    await waitUntil(
      'tracks drawn as the beads move',
      () => overlayStats(page),
      (s) => s.tracksDrawn > PARTICLES / 2,
    );
    await waitUntil(
      'the spot readout',
      () => page.locator('#display-spots').textContent(),
      (t) => /^\d+ \(localize/.test(t ?? ''),
    );
    await waitUntil(
      'the panel to say running',
      () => page.locator('.analysis-row[data-state="running"]').count(),
      (n) => n === 1,
    );
  });

  test('stats from the UI: its plots fill (mean ± std over time, histogram)', async () => {
    await page.getByLabel('stats', { exact: true }).check();
    const plotted = await waitUntil(
      'stats results plotted',
      () => overlayStats(page),
      (s) => s.statsPoints > 20 && s.histogramBins === 256,
    );
    assert.ok(plotted.statsResults >= plotted.statsPoints);
    // The mean line (#1f6feb) is on the plot's canvas.
    const blue = await countCanvasPixels(page.locator('#stats-mean-plot canvas'), { r: [0, 79], b: [201, 255], a: [201, 255] });
    assert.ok(blue > 20, `${blue} pixels of the mean line`);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'web-analysis.png'), fullPage: true });
  });

  test('stopping localize from the UI: the process ends and the markers go', async () => {
    await page.getByLabel('localize', { exact: true }).uncheck();
    await serve.waitFor((s) => s.analyses?.find((a) => a.name === 'localize')?.state === 'stopped');
    await waitUntil(
      'no markers once the last results are too old for the frames shown',
      () => overlayStats(page),
      (s) => s.spotsDrawn === 0,
    );
    assert.equal(await markerPixels(page), 0);
    await page.getByLabel('stats', { exact: true }).uncheck();
    await serve.waitFor((s) => s.analyses?.every((a) => a.state === 'stopped') === true);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
  });

  test('no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
