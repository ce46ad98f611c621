import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { loadAravisAddon } from '../../src/native/aravis-addon.js';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { launchChromium, openLabcastPage, readCanvas } from '../helpers/chromium.js';
import { skipOrFail } from '../helpers/fake-gige.js';
import { waitUntil } from '../helpers/poll.js';
import { scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { readFileCounts } from '../reliability/file-counts.js';

/**
 * `labcast serve` with a GenICam camera, driven from the web UI in headless
 * Chromium. The camera is Aravis's in-process fake (Fake_1, the same node map
 * and pattern as the fake GigE camera) so no network is involved at all;
 * LABCAST_GENICAM_INTERFACES=Fake keeps discovery off every other interface.
 */
const ONLY_FAKE = { LABCAST_GENICAM_INTERFACES: 'Fake' };

function addonMissing(): string | null {
  const load = loadAravisAddon();
  return 'failure' in load ? `needs the Aravis binding: ${load.failure}` : null;
}

const stateText = (page: Page): Promise<string | null> => page.locator('#status-state').textContent();

describe('web UI with a GenICam camera (Aravis in-process fake)', () => {
  const scratch = scratchDir('labcast-genicam-web-');
  let cannot: string | null = null;
  let browser: Browser | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    cannot = addonMissing();
    if (cannot === null) browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    scratch.cleanup();
  });

  async function openServe(t: TestContext, camera: Record<string, unknown>): Promise<{ serve: RunningServe; page: Page } | null> {
    if (cannot !== null || browser === undefined) {
      skipOrFail(t, cannot ?? 'no browser');
      return null;
    }
    const serve = await startServe(scratch.dir, { driver: 'genicam', id: 'Fake_1', ...camera }, {}, { env: ONLY_FAKE });
    t.after(() => serve.stop());
    const page = await openLabcastPage(browser, serve.web, { width: 1400, height: 1000 }, pageErrors);
    t.after(() => page.close());
    return { serve, page };
  }

  test('live view, an exposure change from the UI, record 20 frames, stop', async (t) => {
    const opened = await openServe(t, {});
    if (opened === null) return;
    const { serve, page } = opened;
    // Free-running: no Trigger button.
    assert.equal(await page.locator('#btn-trigger').isHidden(), true);

    await page.getByRole('button', { name: 'Live', exact: true }).click();
    const first = await waitUntil(
      'a frame on the canvas',
      () => readCanvas(page),
      (s) => s.width > 1 && s.mean > 0,
      30_000,
    );
    await waitUntil(
      'the pixels to change',
      () => readCanvas(page),
      (s) => s.digest !== first.digest,
    );
    await waitUntil(
      'the status panel to say live',
      () => stateText(page),
      (text) => text === 'live',
    );

    // The Exposure field is bound to the camera's exposure_ms (ExposureTimeAbs on this node map).
    const exposure = page.getByLabel('exposure_ms', { exact: true });
    await waitUntil(
      'the exposure field to be enabled',
      () => exposure.isEnabled(),
      (enabled) => enabled,
    );
    await exposure.fill('20');
    await exposure.dispatchEvent('change');
    const changed = await waitUntil(
      'the camera to report the new exposure',
      () => serve.ctl(['get', 'exposure_ms']),
      (answer) => answer.code === 0 && Math.abs((answer.result as { value: number }).value - 20) < 0.01,
    );
    assert.equal(changed.code, 0);

    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await waitUntil(
      'idle',
      () => stateText(page),
      (text) => text === 'idle',
      20_000,
    );
    await page.getByLabel('Frames', { exact: true }).fill('20');
    await page.getByRole('button', { name: 'Record', exact: true }).click();
    await waitUntil(
      'the status to report 20 frames saved',
      () => page.locator('#status-last').textContent(),
      (text) => /20 frames saved, 0 lost \(completed\)/.test(text ?? ''),
      30_000,
    );
    const status: ExperimentStatus = await serve.statusNow();
    assert.equal(status.last_recording!.frames_written, 20);
    assert.ok(status.stream !== undefined, 'stream health in status');
    const counts = await readFileCounts(status.last_recording!.path!);
    assert.equal(counts.written, 20);
    assert.deepEqual(counts.gaps, []);
  });

  // Aravis's in-process fake free-runs whatever its trigger mode (only the fake GigE camera waits for
  // triggers), so one frame per trigger is tested over GigE (test/devices/genicam-gige.test.ts);
  // here: the button shows in software-trigger mode and each press reaches the camera.
  test('software-trigger mode: the Trigger button shows, and each press is a trigger sent to the camera', async (t) => {
    const opened = await openServe(t, { trigger: { mode: 'software' } });
    if (opened === null) return;
    const { serve, page } = opened;
    const trigger = page.getByRole('button', { name: 'Trigger', exact: true });
    await trigger.waitFor({ state: 'visible', timeout: 15_000 });
    assert.equal(await trigger.isDisabled(), true, 'no trigger while idle');
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await waitUntil(
      'live',
      () => stateText(page),
      (text) => text === 'live',
    );
    await waitUntil(
      'the Trigger button to enable',
      () => trigger.isEnabled(),
      (enabled) => enabled,
    );
    for (let i = 1; i <= 3; i++) {
      await trigger.click();
      await waitUntil(
        `trigger ${i} sent`,
        () => serve.statusNow(),
        (s) => s.stream?.triggers_sent === i,
      );
      await waitUntil(
        'the button back',
        () => trigger.isEnabled(),
        (enabled) => enabled,
      );
    }
    assert.equal(await page.locator('#command-message').textContent(), 'Triggered.');
  });

  test('a Bayer camera is shown in colour: the raw mosaic is demosaiced for the live view', async (t) => {
    const opened = await openServe(t, { pixel_format: 'BayerRG8' });
    if (opened === null) return;
    const { serve, page } = opened;
    assert.equal((await serve.statusNow()).camera?.settings.bayer_pattern, 'RG');
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await waitUntil(
      'a frame on the canvas',
      () => readCanvas(page),
      (s) => s.width > 1 && s.mean > 0,
      30_000,
    );
    // The fake's ramp saturates a quarter of the samples, which the view marks in magenta by default:
    // the demosaiced colours are checked without that highlight.
    await page.getByLabel('Saturated in').uncheck();
    // Shown as grey, every canvas pixel would have red = green = blue; the
    // fake's ramp gives each 2x2 cell a red below its blue.
    const colourful = await page.getByRole('img', { name: 'Live view' }).evaluate((element) => {
      const canvas = element as unknown as {
        width: number;
        height: number;
        getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
      };
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let differing = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] !== data[i + 2]) differing += 1;
      return differing / (data.length / 4);
    });
    assert.ok(colourful > 0.5, `most pixels are coloured (red differs from blue): ${colourful}`);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await waitUntil(
      'idle',
      () => stateText(page),
      (text) => text === 'idle',
      20_000,
    );
  });

  test('the settings panel shows the node map from the camera’s specs: enumerations, read-only features, the ROI with Full frame', async (t) => {
    const opened = await openServe(t, {});
    if (opened === null) return;
    const { serve, page } = opened;
    const { specs } = (await serve.ctl(['settings'])).result as {
      specs: { name: string; type?: string; access?: string; entries?: string[]; max: number }[];
    };
    await page.locator('.setting-row').first().waitFor();
    assert.equal(await page.locator('.setting-row').count(), specs.length, 'one row per setting');
    // Each setting gets the field its type asks for.
    const kinds = await page.locator('.setting-row').evaluateAll((rows) =>
      rows.map((row) => {
        const element = row as unknown as {
          dataset: { setting: string };
          querySelector(s: string): { tagName: string; type?: string } | null;
        };
        const input = element.querySelector('input, select')!;
        return [element.dataset.setting, input.tagName === 'SELECT' ? 'select' : input.type!] as const;
      }),
    );
    const kindOf = new Map(kinds);
    const expected = { enumeration: 'select', boolean: 'checkbox', string: 'text', integer: 'number', float: 'number' } as const;
    for (const spec of specs) {
      assert.equal(kindOf.get(spec.name), expected[(spec.type ?? 'float') as keyof typeof expected], `${spec.name} (${spec.type})`);
    }
    t.diagnostic(`setting types: ${[...new Set(specs.map((spec) => spec.type ?? 'float'))].join(', ')}`);
    const enumeration = specs.find((spec) => spec.type === 'enumeration' && spec.access !== 'RO' && (spec.entries?.length ?? 0) > 1)!;
    const select = page.getByLabel(enumeration.name, { exact: true });
    assert.deepEqual(await select.locator('option').allTextContents(), enumeration.entries);
    const readOnly = specs.find((spec) => spec.access === 'RO')!;
    assert.equal(await page.getByLabel(readOnly.name, { exact: true }).isDisabled(), true, `${readOnly.name} is read-only`);
    assert.match((await page.locator(`.setting-row[data-setting="${readOnly.name}"] .unit`).textContent()) ?? '', /read-only/);
    // A long node map can be narrowed down.
    const filter = page.getByLabel('Filter settings');
    await filter.fill('offset');
    const shown = await page.locator('.setting-row:visible label').allTextContents();
    assert.ok(shown.includes('OffsetX') && shown.includes('roi_x'), shown.join(', '));
    assert.ok(shown.length < specs.length / 2, `${shown.length} rows shown`);
    await filter.fill('');
    // The ROI through the common names, then back to the whole sensor.
    const fullWidth = specs.find((spec) => spec.name === 'roi_width')!.max;
    const width = page.getByLabel('roi_width', { exact: true });
    await width.fill(String(fullWidth / 2));
    await width.dispatchEvent('change');
    await waitUntil(
      'the camera Width to halve',
      async () => ((await serve.ctl(['get', 'Width'])).result as { value: number }).value,
      (value) => value === fullWidth / 2,
    );
    await page.getByRole('button', { name: 'Full frame' }).click();
    await waitUntil(
      'the whole sensor again',
      async () => ((await serve.ctl(['get', 'Width'])).result as { value: number }).value,
      (value) => value === fullWidth,
    );
    await page.screenshot({ path: 'test-artifacts/web-ui-genicam-settings.png', fullPage: true }).catch(() => undefined);
  });

  test('a rectangle drawn on the image becomes the GenICam ROI (OffsetX/Y, Width, Height); "Full frame" is the whole sensor', async (t) => {
    const opened = await openServe(t, {});
    if (opened === null) return;
    const { serve, page } = opened;
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    const shape = (): Promise<number[]> =>
      page.evaluate(() => (globalThis as unknown as { labcastLive: { last: { shape: number[] } | null } }).labcastLive.last?.shape ?? []);
    await waitUntil('a 512×512 frame', shape, (s) => s[0] === 512 && s[1] === 512, 30_000);
    // The centre of frame pixel (x, y) on the page, from where the image is drawn (fitted: the whole frame).
    const box = (await page.locator('#live-canvas').boundingBox())!;
    const at = (x: number, y: number): [number, number] => [box.x + ((x + 0.5) * box.width) / 512, box.y + ((y + 0.5) * box.height) / 512];
    await page.getByLabel('Rectangle').check();
    await page.mouse.move(...at(100, 60));
    await page.mouse.down();
    await page.mouse.move(...at(299, 139), { steps: 6 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Set camera ROI' }).click();
    await waitUntil('frames of the ROI', shape, (s) => s[0] === 80 && s[1] === 200, 30_000);
    const set = await serve.statusNow();
    assert.deepEqual(
      ['OffsetX', 'OffsetY', 'Width', 'Height'].map((name) => set.camera!.settings[name]),
      [100, 60, 200, 80],
    );
    assert.equal(set.state, 'live', 'live again after the change');
    await page.getByRole('button', { name: 'Full frame' }).click();
    await waitUntil('frames of the whole sensor', shape, (s) => s[0] === 2048 && s[1] === 2048, 30_000);
    const full = await serve.statusNow();
    assert.deepEqual(
      ['OffsetX', 'OffsetY', 'Width', 'Height'].map((name) => full.camera!.settings[name]),
      [0, 0, 2048, 2048],
    );
  });

  test('no script errors in the pages', () => {
    assert.deepEqual(pageErrors, []);
  });
});
