import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openLabcastPage, readCanvas } from '../helpers/chromium.js';
import { waitUntil } from '../helpers/poll.js';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { runPython, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

const READ_FRAMES = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    print(json.dumps({"frames": f["entry/data/frames"].shape[0], "ids": f["entry/data/frame_id"][:].tolist()}))
`;

async function framesInFile(path: string): Promise<{ frames: number; ids: number[] }> {
  const read = await runPython(READ_FRAMES, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as { frames: number; ids: number[] };
}

describe('web UI in headless Chromium against a real labcast serve', () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    [serve, browser] = await Promise.all([startServe(scratch.dir, { width: 160, height: 120, fps: 50 }), launchChromium()]);
    page = await openLabcastPage(browser, serve.web, { width: 1400, height: 1000 }, pageErrors);
  });

  after(async () => {
    if (page !== undefined) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'web-ui.png'), fullPage: true }).catch(() => undefined);
    }
    await browser?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test('Live: the live view shows frames and its pixels change', async () => {
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    const first = await waitUntil(
      'a frame on the canvas',
      () => readCanvas(page),
      (s) => s.width > 1 && s.mean > 0,
    );
    assert.ok(first.width <= 160 && first.height <= 120, `drawn at ${first.width}×${first.height}`);
    await waitUntil(
      'the pixels to change',
      () => readCanvas(page),
      (s) => s.digest !== first.digest,
    );
    await waitUntil(
      'the status panel to say live',
      () => page.locator('#status-state').textContent(),
      (t) => t === 'live',
    );
    const fps = await waitUntil(
      'a frame-rate readout',
      () => page.locator('#display-fps').textContent(),
      (t) => Number(t) > 5,
    );
    assert.ok(Number(fps) <= 60, `display fps ${fps}`);
  });

  test('Brightness: moving the slider changes the image (manual levels)', async () => {
    // With auto levels a brightness offset would be stretched away; fix the levels to the full range
    // of the simulator's 12-bit camera (background ~112 DN).
    await page.getByLabel('Auto (min to max of each frame)').uncheck();
    // The camera reports bit_depth 12: the level sliders span 0..4095, not the uint16 range.
    assert.equal(await page.getByLabel('White').getAttribute('max'), '4095');
    await page.getByLabel('Black').fill('0');
    await page.getByLabel('White').fill('4095');
    await page.getByLabel('White').dispatchEvent('change');
    const dark = await waitUntil(
      'manual levels to apply',
      () => readCanvas(page),
      (s) => s.mean < 60,
    );
    await page.getByLabel('brightness', { exact: true }).fill('60');
    const bright = await waitUntil(
      'the image to brighten',
      () => readCanvas(page),
      (s) => s.mean > dark.mean + 100,
    );
    assert.ok(bright.mean > 150, `mean ${bright.mean}`);
    const setting = await serve.ctl(['get', 'brightness']);
    assert.equal((setting.result as { value: number }).value, 60, 'the camera setting itself changed');
    // The mean-intensity readout (raw units) follows too: 60 % of the 12-bit full scale is an offset of ~2457.
    const mean = await waitUntil(
      'the mean readout',
      () => page.locator('#display-mean').textContent(),
      (t) => Number(t) > 2400,
    );
    assert.ok(Number(mean) < 4096);
    await page.getByLabel('brightness', { exact: true }).fill('0');
    await page.getByLabel('Auto (min to max of each frame)').check();
  });

  test('Record 50 frames: the status reaches 50 saved and the file appears in the list, with 50 frames on disk', async () => {
    await page.getByLabel('Frames').fill('50');
    await page.getByRole('button', { name: 'Record', exact: true }).click();
    const last = await waitUntil(
      'the status to report 50 frames saved',
      () => page.locator('#status-last').textContent(),
      (t) => /50 frames saved, 0 lost \(completed\)/.test(t ?? ''),
      20_000,
    );
    const name = /^(\S+\.h5):/.exec(last ?? '')![1]!;
    const row = page.locator('#recordings-body tr', { hasText: name });
    await row.waitFor({ timeout: 15_000 });
    // The list may first show it being recorded (fetched as the recording started); it updates once closed.
    const cells = await waitUntil(
      'the list to show the closed file',
      () => row.locator('td').allTextContents(),
      (texts) => texts[1] !== 'being recorded…',
      15_000,
    );
    assert.equal(cells[0], name);
    assert.equal(cells[1], '50', `frames column of ${cells.join(' | ')}`);
    assert.equal(cells[6], 'completed');
    const status = await serve.statusNow();
    const path = status.last_recording!.path!;
    assert.equal(status.last_recording!.frames_written, 50);
    const file = await framesInFile(path);
    assert.equal(file.frames, 50);
    assert.deepEqual(
      file.ids,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test('Stop in the middle of a recording: drained and closed, the page and the file agree', async () => {
    await page.getByLabel('Frames').fill('');
    await page.getByRole('button', { name: 'Record', exact: true }).click();
    await waitUntil(
      'frames being saved',
      () => page.locator('#status-saved').textContent(),
      (t) => Number(t) >= 20,
      20_000,
    );
    assert.equal(await page.locator('#status-state').textContent(), 'recording');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await waitUntil(
      'the state to return to idle',
      () => page.locator('#status-state').textContent(),
      (t) => t === 'idle',
      20_000,
    );
    const last = await waitUntil(
      'the stopped recording in the status',
      () => page.locator('#status-last').textContent(),
      (t) => /\(stopped\)/.test(t ?? ''),
    );
    const saved = Number(/: (\d+) frames saved, 0 lost/.exec(last ?? '')![1]);
    assert.ok(saved >= 20, `saved ${saved}`);
    const status: ExperimentStatus = await serve.statusNow();
    assert.equal(status.last_recording!.frames_written, saved);
    const file = await framesInFile(status.last_recording!.path!);
    assert.equal(file.frames, saved);
    const name = status.last_recording!.path!.split('/').pop()!;
    const row = page.locator('#recordings-body tr', { hasText: name });
    await waitUntil(
      'the list to show the stopped file',
      async () => ((await row.count()) > 0 ? await row.locator('td').nth(1).textContent() : null),
      (t) => t === String(saved),
    );
  });

  test('no script errors in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
