import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { openH5wasmWriter } from '../../src/storage/h5wasm-writer.js';
import { countCanvasPixels, launchChromium, openLabcastPage } from '../helpers/chromium.js';
import { waitUntil } from '../helpers/poll.js';
import { linePixels } from '../helpers/line-pixels.js';
import { runPython, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { appendFrames, makeRunEnd, makeRunStart, range } from '../storage/fixtures.js';

/**
 * The recording viewer in headless Chromium against a real labcast serve,
 * used as a person would: open a recording from the list, step to frame k,
 * point at a pixel, export. What it shows is compared with h5py.
 */

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const PARTICLES = 8;

interface ViewerStats {
  name: string | null;
  index: number | null;
  frameId: number | null;
  frames: number;
  painted: number;
  stepMs: number[];
  spotsDrawn: number;
  tracksDrawn: number;
  truthDrawn: number;
}

const viewerStats = (page: Page): Promise<ViewerStats> =>
  page.evaluate(() => ({ ...(globalThis as unknown as { labcastViewer: ViewerStats }).labcastViewer }));

/** Frame k of a file as h5py reads it: the pixel at (x, y), the frame's sha256, its frame id, its spots and truth rows. */
const H5PY_FRAME = `
import sys, json, hashlib, h5py, numpy as np
path, k, x, y = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with h5py.File(path, "r") as f:
    d = f["entry/data/frames"]
    frame = d[k]
    fid = int(f["entry/data/frame_id"][k])
    spots = f.get("entry/analysis/localize/spots/frame_id")
    truth = f.get("entry/instrument/simulation/truth/frame_id")
    print(json.dumps({
        "value": int(frame[y, x]), "frame_id": fid, "frames": d.shape[0],
        "valid_frames": int(d.attrs["valid_frames"]),
        "sha256": hashlib.sha256(frame.astype("<u2").tobytes()).hexdigest(),
        "spots": None if spots is None else int((spots[:] == fid).sum()),
        "truth": None if truth is None else int((truth[:] == fid).sum()),
    }))
`;

interface H5Frame {
  value: number;
  frame_id: number;
  frames: number;
  valid_frames: number;
  sha256: string;
  spots: number | null;
  truth: number | null;
}

async function h5pyFrame(path: string, k: number, x = 0, y = 0): Promise<H5Frame> {
  const ran = await runPython(H5PY_FRAME, [path, String(k), String(x), String(y)]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as H5Frame;
}

/** The sha256 of a one-page TIFF's pixel strip, found from its tags. */
const TIFF_STRIP = `
import sys, json, struct, hashlib
data = open(sys.argv[1], "rb").read()
ifd = struct.unpack_from("<I", data, 4)[0]
tags = {}
for i in range(struct.unpack_from("<H", data, ifd)[0]):
    tag, typ, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * i)
    tags[tag] = value & 0xFFFF if typ == 3 else value
print(json.dumps({"width": tags[256], "height": tags[257], "bits": tags[258],
                  "sha256": hashlib.sha256(data[tags[273]:tags[273] + tags[279]]).hexdigest()}))
`;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What the tests read of the viewer's image view (window.labcastRecordingView): the frame shown and its tools. */
interface ViewState {
  seq: number;
  index: number;
  region: Rect;
  width: number;
  height: number;
  zoom: string;
  readout: { x: number; y: number; values: number[]; seq: number } | null;
  profile: { points: [number, number][]; values: number[][]; seq: number } | null;
}

function viewState(page: Page): Promise<ViewState> {
  return page.evaluate(() => {
    const g = globalThis as unknown as {
      labcastRecordingView: {
        header: { seq: number; index: number; region: Rect; width: number; height: number };
        readout: ViewState['readout'];
        profile: ViewState['profile'];
      };
      document: { querySelector(s: string): { textContent: string } | null };
    };
    const { header, readout, profile } = g.labcastRecordingView;
    return {
      ...header,
      zoom: g.document.querySelector('dialog output[aria-label="Zoom"]')?.textContent ?? '',
      readout,
      profile,
    };
  });
}

/** The page position of the centre of frame pixel (x, y), from where the viewer's image canvas is (the region it shows). */
async function pixelCentre(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  const box = (await page.getByRole('img', { name: 'Recorded frame' }).boundingBox())!;
  const { region } = await viewState(page);
  return {
    x: box.x + ((x - region.x + 0.5) * box.width) / region.width,
    y: box.y + ((y - region.y + 0.5) * box.height) / region.height,
  };
}

/** Moves the mouse over frame pixel (x, y) of the viewer. */
async function pointAtPixel(page: Page, x: number, y: number): Promise<void> {
  const at = await pixelCentre(page, x, y);
  await page.mouse.move(at.x, at.y);
}

/** Frame k's values at the given pixels ([x, y]), as h5py reads them. */
const H5PY_VALUES = `
import sys, json, h5py
path, k, points = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
with h5py.File(path, "r") as f:
    frame = f["entry/data/frames"][k]
print(json.dumps([int(frame[y, x]) for x, y in points]))
`;

async function h5pyValues(path: string, k: number, points: [number, number][]): Promise<number[]> {
  const ran = await runPython(H5PY_VALUES, [path, String(k), JSON.stringify(points)]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as number[];
}

describe('recording viewer in headless Chromium against a real labcast serve', () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let browser: Browser;
  let page: Page;
  let recorded: string;
  const pageErrors: string[] = [];

  before(async () => {
    [serve, browser] = await Promise.all([
      startServe(scratch.dir, { width: 160, height: 120, fps: 40, particle_count: PARTICLES, seed: 5 }),
      launchChromium(),
    ]);
    const started = await serve.ctl(['analysis', 'start', 'localize']);
    assert.equal(started.code, 0, started.stderr);
    await serve.waitFor((s) => s.analyses?.find((a) => a.name === 'localize')?.state === 'running', 30_000);
    const record = await serve.ctl(['record', '--frames', '40']);
    assert.equal(record.code, 0, record.stderr);
    const done = await serve.waitFor((s) => s.state !== 'recording' && s.last_recording?.frames_written === 40, 30_000);
    recorded = done.last_recording!.path!;
    page = await openLabcastPage(browser, serve.web, { width: 1400, height: 1000 }, pageErrors);
  });

  after(async () => {
    if (page !== undefined) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'recording-viewer.png') }).catch(() => undefined);
    }
    await browser?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test('Open from the list, step to frame k with the buttons and the arrow keys: exactly frame k of the file is shown', async () => {
    const name = recorded.split('/').pop()!;
    await page.getByRole('button', { name: `Open ${name}` }).click();
    await page.getByRole('dialog').waitFor();
    await waitUntil(
      'frame 0 shown',
      () => viewerStats(page),
      (s) => s.index === 0 && s.frames === 40,
    );
    for (let i = 0; i < 6; i++) await page.getByRole('button', { name: 'Next frame' }).click();
    await page.getByRole('button', { name: 'Previous frame' }).click();
    await waitUntil(
      'frame 5 shown',
      () => viewerStats(page),
      (s) => s.index === 5,
    );
    await page.getByRole('button', { name: 'Next frame' }).focus();
    for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowLeft');
    const k = 16;
    const shown = await waitUntil(
      `frame ${k} shown`,
      () => viewerStats(page),
      (s) => s.index === k,
    );
    const expected = await h5pyFrame(recorded, k, 37, 58);
    assert.equal(shown.frameId, expected.frame_id);
    assert.match((await page.locator('#rec-frame').textContent()) ?? '', new RegExp(`^${k} / 39 \\(id ${expected.frame_id}`));
    // The pixel readout under the cursor is the file's raw value at that position, in frame k.
    await pointAtPixel(page, 37, 58);
    const pixel = await waitUntil(
      'the pixel readout',
      () => viewState(page),
      (v) => v.index === k && v.readout?.x === 37 && v.readout.y === 58 && v.readout.seq === expected.frame_id,
    );
    assert.deepEqual(pixel.readout!.values, [expected.value]);
    assert.equal(await page.getByRole('dialog').getByLabel('Pixel value').textContent(), `(37, 58) = ${expected.value}`);
    // A recorded file is not the camera: the image tools offer no camera ROI.
    assert.equal(await page.getByRole('dialog').getByRole('button', { name: 'Set camera ROI' }).isVisible(), false);
  });

  test('wheel-zoom in: the server sends the visible region of frame k at full resolution, and the readout under the cursor is the file value', async () => {
    const k = (await viewerStats(page)).index!;
    const box = (await page.locator('#rec-box').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.55);
    // The frame (160×120) fits the box magnified; the wheel zooms in until only part of it is in view.
    for (let i = 0; i < 20 && (await viewState(page)).region.width > 100; i++) {
      await page.mouse.wheel(0, -100);
      await page.waitForTimeout(50);
    }
    const zoomed = await waitUntil(
      'the zoomed region, one display pixel per frame pixel',
      () => viewState(page),
      (v) => v.region.width <= 100 && v.region.height < 120 && v.width === v.region.width && v.height === v.region.height,
    );
    assert.match(zoomed.zoom, /^\d+%$/);
    assert.ok(Number(/(\d+)%/.exec(zoomed.zoom)![1]) >= 100, zoomed.zoom);
    assert.equal(zoomed.index, k, 'the same frame, fetched again for the new view');
    const { region } = zoomed;
    const targets: [number, number][] = [
      [region.x + 3, region.y + 4],
      [region.x + Math.floor(region.width / 2), region.y + Math.floor(region.height / 3)],
      [region.x + region.width - 5, region.y + region.height - 3],
    ];
    const values = await h5pyValues(recorded, k, targets);
    const frameId = (await h5pyFrame(recorded, k)).frame_id;
    for (const [i, [x, y]] of targets.entries()) {
      await pointAtPixel(page, x, y);
      const view = await waitUntil(
        `the readout at (${x}, ${y})`,
        () => viewState(page),
        (v) => v.readout?.x === x && v.readout.y === y,
      );
      assert.equal(view.readout!.seq, frameId);
      assert.deepEqual(view.readout!.values, [values[i]], `pixel (${x}, ${y})`);
    }
    // Stepping keeps the zoom: the next frame comes as the same region, and the readout follows it.
    const [x, y] = targets[targets.length - 1]!; // where the mouse is
    // By the keyboard: the mouse stays on the pixel.
    await page.getByRole('button', { name: 'Next frame' }).focus();
    await page.keyboard.press('ArrowRight');
    const [next] = await h5pyValues(recorded, k + 1, [[x, y]]);
    const stepped = await waitUntil(
      `frame ${k + 1} zoomed, its readout`,
      () => viewState(page),
      (v) => v.index === k + 1 && v.readout?.seq === frameId + 1,
    );
    assert.deepEqual(stepped.region, region);
    assert.deepEqual(stepped.readout!.values, [next]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'recording-viewer-zoomed.png') });
  });

  test('a line drawn on frame k: its profile is the values h5py reads along it', async () => {
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Line profile').check();
    const { region, index: k } = await viewState(page);
    const [x0, y0, x1, y1] = [region.x + 2, region.y + 3, region.x + region.width - 4, region.y + region.height - 5];
    const from = await pixelCentre(page, x0, y0);
    const to = await pixelCentre(page, x1, y1);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    const frameId = (await h5pyFrame(recorded, k)).frame_id;
    const view = await waitUntil(
      'the profile',
      () => viewState(page),
      (v) => v.profile !== null && v.profile.seq === frameId,
    );
    const points = linePixels(x0, y0, x1, y1);
    assert.deepEqual(view.profile!.points, points);
    const values = await h5pyValues(recorded, k, points);
    assert.deepEqual(view.profile!.values, [values]);
    assert.ok(new Set(values).size > 3, 'a profile across varying pixels');
    assert.equal(await dialog.locator('.iv-profile').isVisible(), true);
    await page.screenshot({ path: join(ARTIFACTS, 'recording-viewer-profile.png') });
    // Back to the whole frame and the pan tool for the tests that follow.
    await dialog.getByLabel('Pan').check();
    await dialog.getByRole('button', { name: 'Fit' }).click();
    await waitUntil(
      'the whole frame again',
      () => viewState(page),
      (v) => v.region.width === 160 && v.region.height === 120,
    );
  });

  test('spots and tracks of localize, and the ground truth, are drawn over frame k as the file stores them', async () => {
    const stats = await viewerStats(page);
    const expected = await h5pyFrame(recorded, stats.index!);
    assert.equal(expected.truth, PARTICLES);
    assert.equal(stats.truthDrawn, expected.truth, 'one cross per true particle');
    assert.notEqual(expected.spots, null, 'localize results were stored in the file');
    assert.equal(stats.spotsDrawn, expected.spots, 'one marker per stored spot of this frame');
    // Metadata panel: counts, camera settings and provenance are readable.
    const meta = (await page.locator('#rec-meta').textContent()) ?? '';
    assert.match(meta, /Frames40/);
    assert.match(meta, /Analysis localize/);
    assert.match(meta, /Ground truth\d+ rows/);
    assert.match(meta, /roi_width160/);
    assert.match(meta, /"particle_count": 8/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'recording-viewer-frame.png') });
  });

  test('Export TIFF: the raw frame, bit-exact with h5py; PNG: the frame as shown', async () => {
    const k = (await viewerStats(page)).index!;
    const [tiff] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'TIFF', exact: true }).click()]);
    const tiffPath = join(scratch.dir, 'export.tif');
    await tiff.saveAs(tiffPath);
    const read = await runPython(TIFF_STRIP, [tiffPath]);
    assert.equal(read.code, 0, read.stderr);
    const strip = JSON.parse(read.stdout) as { width: number; height: number; bits: number; sha256: string };
    assert.deepEqual(strip, { width: 160, height: 120, bits: 16, sha256: (await h5pyFrame(recorded, k)).sha256 });
    assert.match(tiff.suggestedFilename(), new RegExp(`_frame${k}\\.tif$`));
    const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'PNG', exact: true }).click()]);
    const pngPath = join(scratch.dir, 'export.png');
    await png.saveAs(pngPath);
    const bytes = readFileSync(pngPath);
    assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
    assert.ok(bytes.readUInt32BE(16) > 1 && bytes.readUInt32BE(20) > 1, 'a PNG of the displayed size');
  });

  test('Play runs through the frames at the recorded rate and stops at the last one', async () => {
    await page.keyboard.press('Home');
    await waitUntil(
      'frame 0',
      () => viewerStats(page),
      (s) => s.index === 0,
    );
    await page.getByRole('button', { name: 'Play' }).click();
    await waitUntil(
      'the last frame, played',
      () => viewerStats(page),
      (s) => s.index === 39,
      15_000,
    );
    assert.equal(await page.getByRole('button', { name: 'Play' }).getAttribute('aria-pressed'), 'false');
  });

  test('gaps are shown on the timeline, in proportion; stepping goes from the frame before a gap to the one after', async () => {
    await page.getByRole('button', { name: 'Close' }).click();
    const start = makeRunStart({ frames_requested: 20, run_id: 'run-with-gaps' });
    const writer = await openH5wasmWriter(join(serve.dataDir, 'gaps.h5'), start, { overwrite: false });
    appendFrames(writer, start, [...range(0, 5), ...range(8, 10), ...range(15, 18)]);
    writer.finish(
      makeRunEnd(start, {
        frames_acquired: 20,
        frames_dropped: 10,
        drops: [
          [5, 3],
          [10, 5],
          [18, 2],
        ],
      }),
    );
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('button', { name: 'Open gaps.h5' }).click();
    await waitUntil(
      'the file with gaps open',
      () => viewerStats(page),
      (s) => s.name === 'gaps.h5' && s.index === 0 && s.frames === 10,
    );
    const timeline = page.getByRole('img', { name: 'Timeline: frame ids, gaps in red' });
    const size = await timeline.evaluate((element) => {
      const canvas = element as unknown as { width: number; height: number };
      return canvas.width * canvas.height;
    });
    const red = await countCanvasPixels(timeline, { r: [180, 220], g: [20, 60], b: [20, 60] });
    // 10 of the 20 frame ids are missing (3 + 5, and 2 at the end).
    assert.ok(red / size > 0.4 && red / size < 0.6, `${((100 * red) / size).toFixed(0)} % of the timeline red`);
    assert.match((await timeline.getAttribute('title')) ?? '', /3 gaps: 3 from id 5, 5 from id 10, 2 from id 18/);
    for (let i = 0; i < 5; i++) await page.getByRole('button', { name: 'Next frame' }).click();
    const after = await waitUntil(
      'row 5',
      () => viewerStats(page),
      (s) => s.index === 5,
    );
    assert.equal(after.frameId, 8, 'the frame after the first gap');
    await page.screenshot({ path: join(ARTIFACTS, 'recording-viewer-gaps.png') });
  });

  test('a file still being written opens up to its valid frames, and grows', async () => {
    await page.getByRole('button', { name: 'Close' }).click();
    const record = await serve.ctl(['record']);
    assert.equal(record.code, 0, record.stderr);
    const status = await serve.waitFor((s) => s.state === 'recording' && (s.frames?.saved ?? 0) >= 60, 30_000);
    const path = status.file!;
    await page.getByRole('button', { name: 'Refresh' }).click();
    const name = path.split('/').pop()!;
    await page.getByRole('button', { name: `Open ${name}` }).click();
    const first = await waitUntil(
      'the growing file open',
      () => viewerStats(page),
      (s) => s.name === name && s.index === 0 && s.frames > 0,
    );
    await page.getByRole('button', { name: 'Next frame' }).focus();
    await page.keyboard.press('End');
    const last = await waitUntil(
      'its last valid frame',
      () => viewerStats(page),
      (s) => s.index !== null && s.index > 0 && s.index === s.frames - 1,
    );
    const expected = await h5pyFrame(path, last.index!);
    assert.ok(last.index! < expected.valid_frames, `frame ${last.index} is within the ${expected.valid_frames} valid frames`);
    assert.equal(last.frameId, expected.frame_id);
    await waitUntil(
      'more frames as the file grows',
      () => viewerStats(page),
      (s) => s.frames > first.frames,
      15_000,
    );
    await serve.ctl(['stop']);
    await serve.waitFor((s) => s.state !== 'recording');
    // The viewer's reads never disturb the list's: once closed, the file is listed as a whole recording.
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'Refresh' }).click();
    const cells = await waitUntil(
      'the list to show the closed file',
      () => page.locator('#recordings-body tr', { hasText: name }).locator('td').allTextContents(),
      (texts) => texts[1] !== undefined && texts[1] !== 'being recorded…',
    );
    assert.doesNotMatch(cells.join(' | '), /unreadable/);
    assert.equal(cells[6], 'stopped');
    await page.getByRole('button', { name: `Open ${name}` }).click();
    await waitUntil(
      'the closed file open',
      () => viewerStats(page),
      (s) => s.name === name && s.index === 0,
    );
    assert.deepEqual(pageErrors, []);
  });
});
