import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runLabcast } from '../helpers/processes.js';

describe('labcast cameras', () => {
  test('lists the simulated camera (and the V4L2 devices there are; none in CI)', async () => {
    const run = await runLabcast(['cameras']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^sim {2}labcast simulated camera/);
    assert.match(run.stdout, /v4l2:\/dev\/video\d+|no V4L2 devices/);
  });

  test('--json gives each camera with the --camera value that opens it', async () => {
    const run = await runLabcast(['cameras', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const { cameras } = JSON.parse(run.stdout) as { cameras: { camera: string; driver: string; formats: unknown[] }[] };
    assert.equal(cameras[0]?.camera, 'sim');
    for (const camera of cameras.slice(1)) assert.match(camera.camera, /^v4l2:\/dev\/video\d+$/);
  });

  test('help and a bad flag', async () => {
    assert.match((await runLabcast(['help', 'cameras'])).stdout, /usage: labcast cameras \[--json\]/);
    const bad = await runLabcast(['cameras', '--jsn']);
    assert.equal(bad.code, 2);
  });
});
