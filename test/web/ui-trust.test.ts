import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openLabcastPage } from '../helpers/chromium.js';
import { waitUntil } from '../helpers/poll.js';
import { collect, runPython, scratchDir, startLabcast } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const SENSOR = { width: 160, height: 120 };

const message = (page: Page): Promise<string | null> => page.locator('#command-message').textContent();
const stateText = (page: Page): Promise<string | null> => page.locator('#status-state').textContent();

async function waitForState(page: Page, state: string): Promise<void> {
  await waitUntil(
    `the page to say ${state}`,
    () => stateText(page),
    (t) => t === state,
    20_000,
  );
}

describe('a display you can trust (headless Chromium, real labcast serve)', () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    [serve, browser] = await Promise.all([startServe(scratch.dir, { ...SENSOR, fps: 100, particle_count: 12, seed: 3 }), launchChromium()]);
    page = await openLabcastPage(browser, serve.web, { width: 1400, height: 1100 }, pageErrors);
  });

  after(async () => {
    if (page !== undefined) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'web-ui-trust.png'), fullPage: true }).catch(() => undefined);
    }
    await browser?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test('"No frames yet — press Live." reads with its spaces', async () => {
    assert.equal(await page.locator('#no-frames').innerText(), 'No frames yet — press Live.');
  });

  test('the settings panel shows every camera setting from its specs, with units and what is idle-only', async () => {
    await page.locator('.setting-row').first().waitFor();
    const names = await page.locator('.setting-row label').allTextContents();
    const specs = (await serve.ctl(['settings'])).result as { specs: { name: string; unit: string }[] };
    assert.deepEqual([...names].sort(), specs.specs.map((s) => s.name).sort());
    assert.equal(await page.locator('.setting-row[data-setting="exposure_ms"] .unit').textContent(), 'ms');
    assert.equal(await page.getByLabel('exposure_ms', { exact: true }).inputValue(), '10');
    assert.equal(await page.getByLabel('roi_width', { exact: true }).getAttribute('max'), String(SENSOR.width));
  });

  test('a refused exposure goes back to the camera’s value, with the error shown', async () => {
    const exposure = page.getByLabel('exposure_ms', { exact: true });
    await exposure.fill('1000000000');
    await exposure.press('Enter');
    await exposure.dispatchEvent('change');
    const error = await waitUntil(
      'the error beside the field',
      () => page.locator('.setting-row[data-setting="exposure_ms"] .setting-error').textContent(),
      (t) => (t ?? '') !== '',
    );
    assert.match(error ?? '', /out of range/);
    await waitUntil(
      'the field back at the camera value',
      () => exposure.inputValue(),
      (v) => v === '10',
    );
    assert.equal(
      (await serve.ctl(['get', 'exposure_ms'])).result && ((await serve.ctl(['get', 'exposure_ms'])).result as { value: number }).value,
      10,
    );
    // An accepted one applies, and the error goes.
    await exposure.fill('12.5');
    await exposure.dispatchEvent('change');
    await waitUntil(
      'the camera to take 12.5 ms',
      async () => ((await serve.ctl(['get', 'exposure_ms'])).result as { value: number }).value,
      (v) => v === 12.5,
    );
    assert.equal(await page.locator('.setting-row[data-setting="exposure_ms"] .setting-error').textContent(), '');
  });

  test('ROI from the panel changes the frame, its fields idle-only while live; Full frame restores the whole sensor', async () => {
    const width = page.getByLabel('roi_width', { exact: true });
    await width.fill('64');
    await width.dispatchEvent('change');
    await waitUntil(
      'the camera ROI to be 64 wide',
      async () => ((await serve.ctl(['get', 'roi_width'])).result as { value: number }).value,
      (v) => v === 64,
    );
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await waitUntil(
      'a 64-wide frame',
      () => page.locator('#display-size').textContent(),
      (t) => /^64×120 /.test(t ?? ''),
    );
    assert.equal(await width.isDisabled(), true, 'the ROI cannot change while live');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await waitForState(page, 'idle');
    await waitUntil(
      'stopping plain live view to say so',
      () => message(page),
      (t) => t === 'Live view stopped.',
    );
    const fullFrame = page.getByRole('button', { name: 'Full frame' });
    await waitUntil(
      'Full frame enabled',
      () => fullFrame.isEnabled(),
      (e) => e,
    );
    await fullFrame.click();
    await waitUntil(
      'the whole sensor again',
      async () => (await serve.statusNow()).camera!.settings,
      (s) => s.roi_width === SENSOR.width && s.roi_height === SENSOR.height && s.roi_x === 0 && s.roi_y === 0,
    );
    await waitUntil(
      'the field to follow',
      () => width.inputValue(),
      (v) => v === String(SENSOR.width),
    );
  });

  test('a recording’s progress shows while it runs, and its message says how it ended, not what was started', async () => {
    await page.getByLabel('Frames', { exact: true }).fill('250');
    await page.getByRole('button', { name: 'Record', exact: true }).click();
    await waitUntil(
      'Recording to …',
      () => message(page),
      (t) => /^Recording to .* \(250 frames\)\.$/.test(t ?? ''),
    );
    const progress = await waitUntil(
      'the progress',
      () => page.locator('#status-progress').textContent(),
      (t) => /^frame \d+ of 250 · \d+\.\d s · \d+\.\d s left$/.test(t ?? ''),
    );
    assert.ok(progress !== null);
    assert.equal(await page.locator('#run-progress').isVisible(), true);
    const ended = await waitUntil(
      'the message to say it finished',
      () => message(page),
      (t) => /^Recording finished: /.test(t ?? ''),
      20_000,
    );
    assert.match(ended ?? '', /250 frames saved, 0 lost\.$/);
    await waitUntil(
      'no progress when idle',
      () => page.locator('#status-progress').textContent(),
      (t) => t === '–',
    );
    // Plain live view stopped afterwards does not claim that recording's frames.
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await waitForState(page, 'live');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await waitForState(page, 'idle');
    assert.equal(
      await waitUntil(
        'the stop message',
        () => message(page),
        (t) => (t ?? '') !== '',
      ),
      'Live view stopped.',
    );
  });

  test('a recording named and noted from the page: the name in the file name and title, notes before and after', async () => {
    await page.getByLabel('Frames', { exact: true }).fill('20');
    await page.getByLabel('Name', { exact: true }).fill('Page test 1');
    await page.getByLabel('Note', { exact: true }).fill('noted before');
    await page.getByRole('button', { name: 'Record', exact: true }).click();
    const ended = await waitUntil(
      'the recording to end',
      () => message(page),
      (t) => /^Recording finished: /.test(t ?? ''),
      20_000,
    );
    assert.match(ended ?? '', /run_\d{4}_Page-test-1\.h5, 20 frames saved/);
    assert.equal(await page.getByLabel('Note', { exact: true }).inputValue(), '', 'the note went with the recording');
    await page.getByLabel('Note', { exact: true }).fill('noted after');
    await page.getByRole('button', { name: 'Add to last' }).click();
    await waitUntil(
      'the note added',
      () => message(page),
      (t) => /^Note added to run_\d{4}_Page-test-1\.h5 \(2 in the file\)\.$/.test(t ?? ''),
    );
    const path = (await serve.statusNow()).last_recording!.path!;
    const read = await runPython(
      `import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    e = f["entry"]
    print(json.dumps([e["title"].asstr()[()], e["note_001/data"].asstr()[()], e["note_002/data"].asstr()[()], e["data/frames"].shape[0]]))`,
      [path],
    );
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(JSON.parse(read.stdout), ['Page test 1', 'noted before', 'noted after', 20]);
    await page.getByLabel('Name', { exact: true }).fill('');
  });

  test('spot markers are drawn only on the frame they were found in', async (t) => {
    await page.getByLabel('localize', { exact: true }).check();
    await serve.waitFor((s) => s.analyses?.find((a) => a.name === 'localize')?.state === 'running');
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await waitUntil(
      'markers drawn',
      () => page.evaluate(() => (globalThis as unknown as { labcastOverlay: { spotsDrawn: number } }).labcastOverlay.spotsDrawn),
      (n) => n > 0,
    );
    // Every animation frame for 3 s: whenever markers are on screen, they are the shown frame's.
    const samples = await page.evaluate(
      () =>
        new Promise<{ drawn: number; result: number | null; spots: number }[]>((resolve) => {
          const out: { drawn: number; result: number | null; spots: number }[] = [];
          const stats = (globalThis as unknown as { labcastOverlay: { drawnSeq: number; resultSeq: number | null; spotsDrawn: number } })
            .labcastOverlay;
          const raf = (globalThis as unknown as { requestAnimationFrame: (callback: () => void) => void }).requestAnimationFrame;
          const end = performance.now() + 3000;
          const tick = (): void => {
            out.push({ drawn: stats.drawnSeq, result: stats.resultSeq, spots: stats.spotsDrawn });
            if (performance.now() < end) raf(tick);
            else resolve(out);
          };
          raf(tick);
        }),
    );
    const withMarkers = samples.filter((s) => s.spots > 0);
    assert.ok(withMarkers.length > 10, `${withMarkers.length} of ${samples.length} samples with markers`);
    for (const s of withMarkers) assert.equal(s.result, s.drawn, `markers of frame ${s.result} over frame ${s.drawn}`);
    const sync = await page.evaluate(() => ({ ...(globalThis as unknown as { labcastFrameSync: { matched: number } }).labcastFrameSync }));
    assert.ok(sync.matched > 20, `frames drawn with their own result: ${JSON.stringify(sync)}`);
    const latency = await page.evaluate(() => {
      const all = (globalThis as unknown as { labcastLive: { latencies: number[] } }).labcastLive.latencies.slice(-200);
      const sorted = [...all].sort((a, b) => a - b);
      return { median: sorted[Math.floor(sorted.length / 2)], p95: sorted[Math.floor(sorted.length * 0.95)] };
    });
    t.diagnostic(
      `markers in ${withMarkers.length} of ${samples.length} animation frames; frames ${JSON.stringify(sync)}; ` +
        `camera→painted latency with markers shown: median ${latency.median?.toFixed(0)} ms, p95 ${latency.p95?.toFixed(0)} ms`,
    );
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await waitForState(page, 'idle');
    await page.getByLabel('localize', { exact: true }).uncheck();
    // No results flow any more: the readout does not keep waiting for one.
    await waitUntil(
      'the spot readout to stop waiting for results',
      () => page.locator('#display-spots').textContent(),
      (t) => !/no result/.test(t ?? ''),
    );
  });

  test('serve gone: DISCONNECTED within 2 s, controls off, no LIVE or rate; back by itself when serve returns', async () => {
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await waitForState(page, 'live');
    await waitUntil(
      'a rate',
      () => page.locator('#status-fps').textContent(),
      (t) => Number(t) > 10,
    );
    const killedAt = Date.now();
    serve.child.kill('SIGTERM');
    const banner = page.locator('#connection-banner');
    await waitUntil(
      'the banner',
      () => banner.isVisible(),
      (v) => v,
      10_000,
    );
    const shownAfterMs = Date.now() - killedAt;
    assert.ok(shownAfterMs < 2000, `shown ${shownAfterMs} ms after serve was killed`);
    assert.match((await banner.textContent()) ?? '', /^DISCONNECTED/);
    assert.equal(await page.locator('#state-badge').textContent(), 'disconnected');
    assert.equal(await page.locator('#status-fps').textContent(), '–');
    for (const name of ['Live', 'Stop', 'Snap', 'Record']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).isDisabled(), true, `${name} disabled`);
    }
    assert.equal(await page.getByLabel('exposure_ms', { exact: true }).isDisabled(), true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-disconnected.png'), fullPage: true }).catch(() => undefined);
    await serve.finished;

    // The same serve again, on the same ports (the same config file).
    const again = startLabcast(['serve', '--config', join(scratch.dir, 'lab.yaml')]);
    const finished = collect(again);
    try {
      await waitUntil(
        'the banner to go',
        () => banner.isVisible(),
        (v) => !v,
        30_000,
      );
      await waitUntil(
        'the badge to say idle',
        () => page.locator('#state-badge').textContent(),
        (t) => t === 'idle',
      );
      await waitUntil(
        'Live enabled',
        () => page.getByRole('button', { name: 'Live', exact: true }).isEnabled(),
        (e) => e,
      );
      assert.equal(await page.getByLabel('exposure_ms', { exact: true }).isEnabled(), true);
      await page.screenshot({ path: join(ARTIFACTS, 'web-ui-trust-reconnected.png'), fullPage: true }).catch(() => undefined);
    } finally {
      again.kill('SIGTERM');
      await finished;
    }
  });

  test('no script errors in the page', () => {
    // A dropped connection logs failed WebSocket attempts; nothing else may.
    assert.deepEqual(
      pageErrors.filter((e) => !/WebSocket connection to .* failed|Failed to load resource|ERR_CONNECTION_REFUSED/.test(e)),
      [],
    );
  });
});
