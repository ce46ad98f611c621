import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { openH5wasmWriter } from '../../src/storage/h5wasm-writer.js';
import { countCanvasPixels, launchChromium, openLabcastPage } from '../helpers/chromium.js';
import { waitUntil } from '../helpers/poll.js';
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
  pixel: { index: number; x: number; y: number; values: number[] } | null;
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

/** Moves the mouse over image pixel (x, y) of the viewer's canvas (drawn with object-fit: contain). */
async function pointAtPixel(page: Page, x: number, y: number, shape: [number, number]): Promise<void> {
  const canvas = page.getByRole('img', { name: 'Recorded frame' });
  const box = (await canvas.boundingBox())!;
  const [height, width] = shape;
  const scale = Math.min(box.width / width, box.height / height);
  const left = box.x + (box.width - width * scale) / 2;
  const top = box.y + (box.height - height * scale) / 2;
  await page.mouse.move(left + (x + 0.5) * scale, top + (y + 0.5) * scale);
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
    await pointAtPixel(page, 37, 58, [120, 160]);
    const pixel = await waitUntil(
      'the pixel readout',
      () => viewerStats(page),
      (s) => s.pixel !== null && s.pixel.index === k && s.pixel.x === 37 && s.pixel.y === 58,
    );
    assert.deepEqual(pixel.pixel!.values, [expected.value]);
    assert.equal(await page.locator('#rec-pixel').textContent(), `(37, 58) = ${expected.value}`);
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
