import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, runLabcast } from '../helpers/processes.js';
import { aravisOrSkip, FAKE_ONLY_ENV } from '../helpers/aravis.js';

// GenICam discovery on GigE Vision broadcasts on every network interface: these
// runs search only Aravis's in-process fake camera, or run in a network namespace.
describe('labcast cameras', () => {
  test('lists the simulated camera (and the V4L2 devices there are; none in CI)', async () => {
    const run = await runLabcast(['cameras'], FAKE_ONLY_ENV);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^sim {2}labcast simulated camera/);
    assert.match(run.stdout, /v4l2:\/dev\/video\d+|no V4L2 devices/);
  });

  test('--json gives each camera with the --camera value that opens it', async () => {
    const run = await runLabcast(['cameras', '--json'], FAKE_ONLY_ENV);
    assert.equal(run.code, 0, run.stderr);
    const { cameras } = JSON.parse(run.stdout) as { cameras: { camera: string; driver: string; formats: unknown[] }[] };
    assert.equal(cameras[0]?.camera, 'sim');
    for (const camera of cameras.slice(1)) assert.match(camera.camera, /^(v4l2:\/dev\/video\d+|genicam:.+)$/);
  });

  test('GenICam cameras: vendor, model, serial, address and the genicam:ID that opens each', async (t) => {
    if (aravisOrSkip(t) === null) return;
    const run = await runLabcast(['cameras'], FAKE_ONLY_ENV);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^genicam:Fake_1 {2}Aravis Fake \(serial 1; Fake 0\.0\.0\.0 Fake_1\)$/m);
    const json = await runLabcast(['cameras', '--json'], FAKE_ONLY_ENV);
    const { cameras } = JSON.parse(json.stdout) as { cameras: Record<string, unknown>[] };
    const fake = cameras.find((camera) => camera.driver === 'genicam');
    assert.deepEqual(
      { camera: fake?.camera, vendor: fake?.vendor, model: fake?.model, serial: fake?.serial, protocol: fake?.protocol },
      { camera: 'genicam:Fake_1', vendor: 'Aravis', model: 'Fake', serial: '1', protocol: 'Fake' },
    );
  });

  test('without the Aravis binding: one line saying how to get it, and the rest as before', async () => {
    const run = await runLabcast(['cameras'], { ...FAKE_ONLY_ENV, LABCAST_ARAVIS_ADDON: '/nonexistent/labcast_aravis.node' });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^sim {2}/);
    assert.match(
      run.stdout,
      /^\(GenICam cameras .* need Aravis: sudo apt-get install libaravis-dev libusb-1.0-0-dev aravis-tools, then npm run build\)$/m,
    );
  });

  test('default discovery (GigE Vision, USB3 Vision) in a network namespace of its own finds nothing and says so', async (t) => {
    if (aravisOrSkip(t) === null) return;
    const probe = spawnSync('unshare', ['-n', 'true']);
    if (probe.status !== 0) {
      t.skip('unshare -n is not permitted here (needs root or user namespaces)');
      return;
    }
    const env = { ...process.env };
    delete env.LABCAST_GENICAM_INTERFACES;
    const run = spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" "${CLI}" cameras`], {
      env,
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^\(no GenICam cameras found on GigEVision, USB3Vision\)$/m);
  });

  test('help and a bad flag', async () => {
    assert.match((await runLabcast(['help', 'cameras'])).stdout, /usage: labcast cameras \[--json\]/);
    const bad = await runLabcast(['cameras', '--jsn'], FAKE_ONLY_ENV);
    assert.equal(bad.code, 2);
  });
});
