import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { countCanvasPixels, launchChromium, openLabcastPage, readCanvas } from '../helpers/chromium.js';
import { waitUntil } from '../helpers/poll.js';
import { linePixels } from '../helpers/line-pixels.js';
import { runPython, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

/**
 * The image view's inspection tools used as a person would — wheel, drag, buttons — in
 * headless Chromium against a real labcast serve, checked against the recorded file read by h5py.
 */

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const SENSOR = { width: 1024, height: 768 };
/** The config's camera.pixel_size_um: the scale bar's µm, and the file's x/y_pixel_size. */
const PIXEL_SIZE_UM = 0.5;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What the tests read of the page: the live header and the view's state (window.labcastLive / labcastView). */
interface PageView {
  seq: number;
  shape: number[];
  region: Rect;
  width: number;
  height: number;
  zoom: string;
  readout: { x: number; y: number; values: number[]; seq: number } | null;
  profile: { points: [number, number][]; values: number[][]; seq: number } | null;
  roiStats: (Rect & { pixels: number; channels: { mean: number; std: number; min: number; max: number; sum: number }[] }) | null;
}

function pageView(page: Page): Promise<PageView> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      labcastLive: { last: { seq: number; shape: number[]; region: Rect; width: number; height: number } };
      labcastView: Pick<PageView, 'readout' | 'profile' | 'roiStats'>;
      document: { querySelector(s: string): { textContent: string } | null };
    };
    const { seq, shape, region, width, height } = g.labcastLive.last;
    const view = g.labcastView;
    return {
      seq,
      shape,
      region,
      width,
      height,
      zoom: g.document.querySelector('output[aria-label="Zoom"]')?.textContent ?? '',
      readout: view.readout,
      profile: view.profile,
      roiStats: view.roiStats,
    };
  });
}

/** Frame `seq` of the recording, at the given pixels ([x, y]), and the statistics of a rectangle, read by h5py. */
const READ_FILE = `
import sys, json, h5py, numpy as np
path, seq, points, rect = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
with h5py.File(path, "r") as f:
    ids = f["entry/data/frame_id"][:].tolist()
    frame = f["entry/data/frames"][ids.index(seq)]
roi = frame[rect["y"]:rect["y"] + rect["height"], rect["x"]:rect["x"] + rect["width"]].astype(np.float64)
print(json.dumps({
    "values": [int(frame[y, x]) for x, y in points],
    "stats": {"mean": roi.mean(), "std": roi.std(), "min": int(roi.min()), "max": int(roi.max()), "sum": int(roi.sum())},
}))
`;

async function readFile(
  path: string,
  seq: number,
  points: [number, number][],
  rect: Rect,
): Promise<{ values: number[]; stats: { mean: number; std: number; min: number; max: number; sum: number } }> {
  const read = await runPython(READ_FILE, [path, String(seq), JSON.stringify(points), JSON.stringify(rect)]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as { values: number[]; stats: { mean: number; std: number; min: number; max: number; sum: number } };
}

/** The page position (CSS pixels) of the centre of frame pixel (x, y), from where the image canvas is on the page. */
async function pixelCentre(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  const box = (await page.locator('#live-canvas').boundingBox())!;
  const { region } = await pageView(page);
  return {
    x: box.x + ((x - region.x + 0.5) * box.width) / region.width,
    y: box.y + ((y - region.y + 0.5) * box.height) / region.height,
  };
}

describe('image inspection in headless Chromium against a real labcast serve', () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let recording = '';
  let shownSeq = -1;

  before(async () => {
    [serve, browser] = await Promise.all([
      startServe(scratch.dir, { ...SENSOR, fps: 10, pattern: 'particles', particle_count: 200, pixel_size_um: PIXEL_SIZE_UM }),
      launchChromium(),
    ]);
    page = await openLabcastPage(browser, serve.web, { width: 1400, height: 1000 }, pageErrors);
  });

  after(async () => {
    if (page !== undefined) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'image-inspect.png'), fullPage: true }).catch(() => undefined);
    }
    await browser?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test('record 10 frames while watching: the view keeps the last frame shown, which is in the file', async () => {
    await page.getByLabel('Frames').fill('10');
    await page.getByRole('button', { name: 'Record', exact: true }).click();
    const status = await serve.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_written === 10, 30_000);
    recording = status.last_recording!.path!;
    // The last frame published is the last one the page gets (it acknowledges each).
    const shown = await waitUntil(
      'the last recorded frame on the page',
      () => pageView(page),
      (v) => v.seq === 9,
    );
    shownSeq = shown.seq;
    assert.deepEqual(shown.shape, [SENSOR.height, SENSOR.width]);
    assert.deepEqual(shown.region, { x: 0, y: 0, width: SENSOR.width, height: SENSOR.height }, 'fitted: the whole frame');
    assert.ok(shown.width < SENSOR.width, `downscaled to fit: ${shown.width}`);
    const sizes = await runPython(
      `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    c = f["entry/instrument/camera"]
    print(json.dumps([[float(c[n][()]), c[n].attrs["units"]] for n in ("x_pixel_size", "y_pixel_size")]))
`,
      [recording],
    );
    assert.equal(sizes.code, 0, sizes.stderr);
    assert.deepEqual(JSON.parse(sizes.stdout), [
      [PIXEL_SIZE_UM, 'um'],
      [PIXEL_SIZE_UM, 'um'],
    ]);
  });

  test('the scale bar is in µm from the config; a colour map recolours the same frame', async () => {
    const bar = await page.evaluate(
      () => (globalThis as unknown as { labcastView: { scaleBar: { length: number; unit: string; pixels: number } } }).labcastView.scaleBar,
    );
    const { zoom } = await page.evaluate(() => ({ zoom: (globalThis as unknown as { labcastView: { zoom: number } }).labcastView.zoom }));
    assert.equal(bar.unit, 'µm');
    assert.ok(Math.abs(bar.pixels - (bar.length / PIXEL_SIZE_UM) * zoom) < 1e-6, JSON.stringify({ bar, zoom }));
    assert.match(String(bar.length), /^[125]0*$|^0\.0*[125]$/, 'a round length');

    const grey = await readCanvas(page);
    await page.getByLabel('Colour map').selectOption('inverted');
    const inverted = await waitUntil(
      'the inverted image',
      () => readCanvas(page),
      (c) => c.digest !== grey.digest,
    );
    assert.ok(Math.abs(inverted.mean - (255 - grey.mean)) < 1e-9, `${inverted.mean} vs 255 - ${grey.mean}`);
    await page.getByLabel('Colour map').selectOption('grey');
  });

  test('dragging across the histogram sets the display levels', async () => {
    const over = page.locator('#histogram-plot .u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    assert.equal(await page.getByLabel('Auto (min to max of each frame)').isChecked(), false);
    const black = Number(await page.getByLabel('Black').inputValue());
    const white = Number(await page.getByLabel('White').inputValue());
    // 10 % and 30 % of the histogram, which spans the camera's bit depth (0..full_scale), within a pixel's worth of the plot.
    const fullScale = await page.evaluate(
      () => (globalThis as unknown as { labcastLive: { last: { stats: { full_scale: number } } } }).labcastLive.last.stats.full_scale,
    );
    const near = (value: number, fraction: number): boolean => Math.abs(value - fraction * fullScale) < 0.011 * fullScale;
    assert.ok(near(black, 0.1) && near(white, 0.3), `${black}..${white} of 0..${fullScale}`);
    const applied = await waitUntil(
      'the server to apply them',
      () => page.evaluate(() => (globalThis as unknown as { labcastLive: { last: { black: number; white: number } } }).labcastLive.last),
      (last) => last.black === black && last.white === white,
    );
    assert.deepEqual([applied.black, applied.white], [black, white]);
    await page.getByLabel('Log scale').check();
    await page.getByLabel('Log scale').uncheck();
    await page.getByLabel('Auto (min to max of each frame)').check();
  });

  test('wheel-zoom to 1:1: the server sends the visible region at full resolution, and the readout under the cursor is the file value', async () => {
    const canvas = (await page.locator('#canvas-box').boundingBox())!;
    await page.mouse.move(canvas.x + canvas.width * 0.4, canvas.y + canvas.height * 0.6);
    // Until 1:1 or closer, and past the fitted view (which is itself above 1:1 when the page is wider than the frame).
    const zoomedIn = (v: PageView): boolean => Number(/(\d+)%/.exec(v.zoom)?.[1] ?? 0) >= 100 && v.region.width < SENSOR.width;
    for (let i = 0; i < 30 && !zoomedIn(await pageView(page)); i++) {
      await page.mouse.wheel(0, -100);
      await page.waitForTimeout(50);
    }
    const zoomed = await waitUntil(
      'the zoomed region at the frame scale',
      () => pageView(page),
      (v) => v.region.width < SENSOR.width && v.width === v.region.width && v.height === v.region.height,
    );
    assert.match(zoomed.zoom, /^\d+%$/);
    assert.ok(Number(/(\d+)%/.exec(zoomed.zoom)![1]) >= 100, zoomed.zoom);
    assert.equal(zoomed.seq, shownSeq, 'the same frame, re-rendered for the new view');

    // Three pixels in view, the cursor on each in turn.
    const { region } = zoomed;
    const targets: [number, number][] = [
      [region.x + 5, region.y + 7],
      [region.x + Math.floor(region.width / 2), region.y + Math.floor(region.height / 3)],
      [region.x + region.width - 9, region.y + region.height - 4],
    ];
    const file = await readFile(recording, shownSeq, targets, { x: 0, y: 0, width: 1, height: 1 });
    for (const [i, [x, y]] of targets.entries()) {
      const at = await pixelCentre(page, x, y);
      await page.mouse.move(at.x, at.y);
      const view = await waitUntil(
        `the readout at (${x}, ${y})`,
        () => pageView(page),
        (v) => v.readout?.x === x && v.readout.y === y,
      );
      assert.equal(view.readout!.seq, shownSeq);
      assert.deepEqual(view.readout!.values, [file.values[i]], `pixel (${x}, ${y})`);
      assert.equal(await page.getByLabel('Pixel value').textContent(), `(${x}, ${y}) = ${file.values[i]}`);
    }
  });

  test('a line drawn on the frame: its profile is the file values along it', async () => {
    await page.getByLabel('Line profile').check();
    const { region } = await pageView(page);
    const [x0, y0, x1, y1] = [region.x + 3, region.y + 4, region.x + 40, region.y + 25];
    const from = await pixelCentre(page, x0, y0);
    const to = await pixelCentre(page, x1, y1);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    const view = await waitUntil(
      'the profile',
      () => pageView(page),
      (v) => v.profile !== null,
    );
    const points = linePixels(x0, y0, x1, y1);
    assert.deepEqual(view.profile!.points, points);
    const file = await readFile(recording, shownSeq, points, { x: 0, y: 0, width: 1, height: 1 });
    assert.deepEqual(view.profile!.values, [file.values]);
    assert.ok(new Set(file.values).size > 3, 'a profile across varying pixels');
    assert.equal(await page.locator('.iv-profile').isVisible(), true);
  });

  test('a rectangle drawn on the frame: its statistics are those of the file', async () => {
    await page.getByLabel('Rectangle').check();
    const { region } = await pageView(page);
    const rect = { x: region.x + 10, y: region.y + 12, width: 31, height: 17 };
    const from = await pixelCentre(page, rect.x, rect.y);
    const to = await pixelCentre(page, rect.x + rect.width - 1, rect.y + rect.height - 1);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    const view = await waitUntil(
      'the ROI statistics',
      () => pageView(page),
      (v) => v.roiStats !== null,
    );
    const stats = view.roiStats!;
    assert.deepEqual({ x: stats.x, y: stats.y, width: stats.width, height: stats.height }, rect);
    const file = await readFile(recording, shownSeq, [], rect);
    const [channel] = stats.channels;
    assert.equal(channel!.min, file.stats.min);
    assert.equal(channel!.max, file.stats.max);
    assert.equal(channel!.sum, file.stats.sum);
    assert.ok(Math.abs(channel!.mean - file.stats.mean) < 1e-9 * file.stats.mean, `mean ${channel!.mean} vs ${file.stats.mean}`);
    assert.ok(Math.abs(channel!.std - file.stats.std) < 1e-6 * Math.max(1, file.stats.std), `std ${channel!.std} vs ${file.stats.std}`);
    assert.match((await page.getByLabel('ROI statistics').textContent()) ?? '', new RegExp(`sum ${file.stats.sum}`));
  });

  test('dragging in pan mode moves the view: the server sends the region now in view', async () => {
    await page.getByLabel('Pan').check();
    // The view as it is now (the page may have laid out again since the last frame came), once the server has sent it.
    const inView = (): Promise<Rect> =>
      page.evaluate(() => (globalThis as unknown as { labcastView: { visibleRegion(): Rect } }).labcastView.visibleRegion());
    const wanted = await inView();
    const before = await waitUntil(
      'the frame of the current view',
      () => pageView(page),
      (v) => JSON.stringify(v.region) === JSON.stringify(wanted),
    );
    const centre = (): Promise<{ zoom: number; cx: number; cy: number }> =>
      page.evaluate(() => {
        const { zoom, cx, cy } = (globalThis as unknown as { labcastView: { zoom: number; cx: number; cy: number } }).labcastView;
        return { zoom, cx, cy };
      });
    const { zoom, cx, cy } = await centre();
    const box = (await page.locator('#canvas-box').boundingBox())!;
    // 80 screen pixels towards the side with more of the frame beyond the view: dragging right shows what is left of it.
    const roomLeft = before.region.x;
    const dx = roomLeft > SENSOR.width - (before.region.x + before.region.width) ? 80 : -80;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + dx, box.y + box.height / 2, { steps: 10 });
    await page.mouse.up();
    // The region follows the drag as it goes; once it has ended, it is the region dx / zoom frame pixels over.
    const after = await waitUntil(
      'the panned region',
      () => pageView(page),
      (v) => Math.abs(before.region.x - v.region.x - dx / zoom) <= 1.5,
      5000,
    ).catch(async (error: Error) => {
      throw new Error(
        `${error.message}; before ${JSON.stringify({ cx, cy, region: before.region })}, now ${JSON.stringify(await centre())}`,
      );
    });
    assert.equal(after.region.y, before.region.y);
    assert.equal(after.width, after.region.width, 'still at the frame scale');
  });

  test('"Set camera ROI" makes the rectangle the camera frame; "Full frame" sets the sensor back, live', async () => {
    const rect = (await pageView(page)).roiStats!;
    await page.getByRole('button', { name: 'Set camera ROI' }).click();
    // The page sets the four one after another, roi_y last: a status between them shows a partial ROI.
    const status = await serve.waitFor((s) => s.camera?.settings.roi_width === rect.width && s.camera.settings.roi_y === rect.y);
    assert.deepEqual(
      ['roi_x', 'roi_y', 'roi_width', 'roi_height'].map((name) => status.camera!.settings[name]),
      [rect.x, rect.y, rect.width, rect.height],
    );
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    const cropped = await waitUntil(
      'frames of the new size',
      () => pageView(page),
      (v) => v.shape[0] === rect.height && v.shape[1] === rect.width,
      20_000,
    );
    assert.deepEqual(cropped.region, { x: 0, y: 0, width: rect.width, height: rect.height }, 'the view fits the new frame');
    await waitUntil(
      'the image size readout to follow',
      () => page.locator('#display-size').textContent(),
      (t) => (t ?? '').startsWith(`${rect.width}×${rect.height} `),
    );

    // While live: the page stops, resets the ROI and goes live again.
    await page.getByRole('button', { name: 'Full frame' }).click();
    await waitUntil(
      'full frames again',
      () => pageView(page),
      (v) => v.shape[0] === SENSOR.height && v.shape[1] === SENSOR.width,
      20_000,
    );
    const back = await serve.waitFor((s) => s.state === 'live');
    assert.deepEqual(
      ['roi_x', 'roi_y', 'roi_width', 'roi_height'].map((name) => back.camera!.settings[name]),
      [0, 0, SENSOR.width, SENSOR.height],
    );
  });

  test('a saturated image is drawn in the saturation colour with a count, not black', async () => {
    await page.getByRole('button', { name: 'Fit' }).click();
    const set = await serve.ctl(['set', 'brightness', '100']);
    assert.equal(set.code, 0, set.stderr);
    const warning = await waitUntil(
      'the saturation warning for the whole frame',
      () => page.getByRole('status', { name: 'Saturation' }).textContent(),
      // Overlapping beads may saturate a few pixels before: wait for the frame at full brightness.
      (t) => /100\.0 %/.test(t ?? ''),
    );
    // The full scale is the camera's bit depth (the simulator's default is 12 bits), not the dtype's.
    const fullScale = await page.evaluate(
      () => (globalThis as unknown as { labcastLive: { last: { stats: { full_scale: number } } } }).labcastLive.last.stats.full_scale,
    );
    assert.ok(fullScale < 65535, `full scale ${fullScale}`);
    assert.match(
      warning ?? '',
      new RegExp(`${SENSOR.width * SENSOR.height} saturated samples \\(100\\.0 %\\) at the full scale ${fullScale}$`),
    );
    const canvas = page.locator('#live-canvas');
    const [width, height] = await canvas.evaluate((c) => [
      (c as unknown as { width: number }).width,
      (c as unknown as { height: number }).height,
    ]);
    const red = await waitUntil(
      'every pixel in red',
      () => countCanvasPixels(canvas, { r: [255, 255], g: [0, 0], b: [0, 0] }),
      (n) => n === width * height,
    );
    assert.ok(red > 0);
    // Without the highlight the frame is white (the absolute scale of a flat frame), never black.
    await page.getByLabel('Saturated in').uncheck();
    const white = await countCanvasPixels(canvas, { r: [255, 255], g: [255, 255], b: [255, 255] });
    assert.equal(white, width * height);
    await page.getByLabel('Saturated in').check();
    await serve.ctl(['set', 'brightness', '0']);
    await waitUntil(
      'the warning to go (or count only a few bright beads)',
      () =>
        page.evaluate(
          () => (globalThis as unknown as { labcastLive: { last: { stats: { saturated: number } } } }).labcastLive.last.stats.saturated,
        ),
      (saturated) => saturated < 1000,
    );
  });

  test('no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
