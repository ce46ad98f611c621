import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { launchChromium, openLabcastPage } from '../helpers/chromium.js';
import { waitUntil } from '../helpers/poll.js';
import { runLabcast, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

/**
 * A camera that cannot keep the rate asked of it says so — in serve's status,
 * in `ctl status`, in a recording's summary and in the web UI — and one that
 * keeps it says nothing of the kind.
 */
describe('serve with a camera that cannot keep its rate (simulator 1024x1024 at 1000 fps)', () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    [serve, browser] = await Promise.all([
      startServe(scratch.dir, { width: 1024, height: 1024, dtype: 'uint8', fps: 1000 }),
      launchChromium(),
    ]);
    page = await openLabcastPage(browser, serve.web, { width: 1400, height: 1000 }, pageErrors);
  });
  after(async () => {
    await browser?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test('status: requested 1000, achieved well short, and a warning; ctl status prints it', async () => {
    assert.equal((await serve.ctl(['live'])).code, 0);
    const status: ExperimentStatus = await serve.waitFor((s) => s.rate_warning !== null && s.rate_warning !== undefined);
    assert.equal(status.fps_requested, 1000);
    assert.ok(
      status.fps_achieved !== null && status.fps_achieved !== undefined && status.fps_achieved < 950,
      `achieved ${status.fps_achieved}`,
    );
    assert.match(status.rate_warning!, /^requested 1000 fps, achieved [\d.]+ fps \(camera-bound\)$/);
    const shown = await runLabcast(['ctl', '--control', serve.control, 'status']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /rate asked\s+WARNING: requested 1000 fps, achieved/);
  });

  test('the web UI status panel shows the shortfall', async () => {
    const shown = await waitUntil(
      'the camera rate warning',
      () => page.locator('#status-camera-rate').textContent(),
      (t) => /requested 1000 fps, achieved [\d.]+ fps \(camera-bound\)/.test(t ?? ''),
    );
    assert.match(shown!, /^⚠/);
    assert.equal(await page.locator('#status-camera-rate').getAttribute('data-warning'), 'true');
  });

  test("a recording's summary says it", async () => {
    const ran = await runLabcast(['ctl', '--control', serve.control, 'record', '--duration', '1.5', '--wait']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /camera rate\s+WARNING: requested 1000 fps, achieved [\d.]+ fps \(camera-bound\)/);
    await serve.ctl(['stop']);
    assert.deepEqual(pageErrors, []);
  });
});

describe('serve with a camera that keeps its rate (simulator 128x96 at 50 fps)', () => {
  const scratch = scratchDir();
  let serve: RunningServe;

  before(async () => {
    serve = await startServe(scratch.dir, { width: 128, height: 96, fps: 50 });
  });
  after(async () => {
    await serve?.stop();
    scratch.cleanup();
  });

  test('status: requested 50, achieved about 50, no warning; the summary has none either', async () => {
    assert.equal((await serve.ctl(['live'])).code, 0);
    const status = await serve.waitFor((s) => typeof s.fps_achieved === 'number');
    assert.equal(status.fps_requested, 50);
    assert.ok(Math.abs(status.fps_achieved! - 50) < 2.5, `achieved ${status.fps_achieved}`);
    assert.equal(status.rate_warning, null);
    const shown = await runLabcast(['ctl', '--control', serve.control, 'status']);
    assert.match(shown.stdout, /rate asked\s+50 fps, achieved [\d.]+ fps\n/);
    const ran = await runLabcast(['ctl', '--control', serve.control, 'record', '--duration', '1.5', '--wait']);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /camera rate\s+requested 50 fps, achieved [\d.]+ fps\n/);
    assert.doesNotMatch(ran.stdout, /WARNING/);
    await serve.ctl(['stop']);
  });
});
