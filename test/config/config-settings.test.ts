import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSettingsBeforeStart } from '../../src/devices/settings-check.js';
import { freeServePorts } from '../helpers/serve.js';
import { runLabcast, scratchDir } from '../helpers/processes.js';

const scratch = scratchDir('labcast-config-settings-');
after(() => scratch.cleanup());

/**
 * The config's `settings:` are checked against the camera's own ranges at
 * start, every problem at once, reported like every other config error:
 * file:line:column, the path `settings.NAME`, what is allowed — and nothing
 * starts.
 */
describe('settings in the config: checked against the camera before serve starts anything', () => {
  test('labcast serve --config: exit 2, every bad setting at its file:line:column, no file, no process', async () => {
    const dir = join(scratch.dir, 'bad');
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const { endpoints, webPort } = await freeServePorts();
    const path = join(dir, 'lab.yaml');
    writeFileSync(
      path,
      [
        'camera:',
        '  driver: sim',
        '  width: 320',
        '  height: 240',
        'settings:',
        '  exposure_ms: 1e9',
        '  gain: 2',
        '  brightnes: 5',
        '  roi_width: 1000',
        'storage:',
        `  data_dir: ${dataDir}`,
        `endpoints: ${JSON.stringify(endpoints)}`,
        `web: {port: ${webPort}}`,
        '',
      ].join('\n'),
    );
    const ran = await runLabcast(['serve', '--config', path]);
    assert.equal(ran.code, 2, ran.stderr);
    const lines = ran.stderr.trim().split('\n');
    assert.match(lines[0]!, /lab\.yaml: 3 problems:$/);
    assert.match(ran.stderr, /lab\.yaml:6:16: settings\.exposure_ms: must be a number in 0\.01\.\.10000 ms \(got 1000000000\)/);
    assert.match(
      ran.stderr,
      /lab\.yaml:8:14: settings\.brightnes: unknown setting \(did you mean "brightness"\?\); this camera has: exposure_ms, gain,/,
    );
    assert.match(ran.stderr, /lab\.yaml:9:14: settings\.roi_width: must be an integer in 1\.\.320 px \(got 1000\)/);
    assert.doesNotMatch(ran.stderr, /settings\.gain/, 'a good setting is not reported');
    assert.doesNotMatch(ran.stderr, /labcast serve: .* ready/, 'nothing started');
    assert.deepEqual(readdirSync(dataDir), []);
  });

  test('checked in the order the camera applies them: shrinking the ROI before moving it is fine, the other way round is not', async () => {
    const camera = { driver: 'sim', width: 320, height: 240 };
    assert.deepEqual(await checkSettingsBeforeStart(camera, { roi_width: 100, roi_x: 200 }), []);
    const reversed = await checkSettingsBeforeStart(camera, { roi_x: 200, roi_width: 100 });
    assert.deepEqual(reversed, [{ name: 'roi_x', message: 'must be an integer in 0..0 px (got 200)' }]);
  });

  test('a camera without settings (lavfi) refuses any, naming it; one whose controls need its device waits for it', async () => {
    assert.deepEqual(await checkSettingsBeforeStart({ driver: 'lavfi', graph: 'testsrc2=size=64x48:rate=10' }, { gain: 2 }), [
      { name: 'gain', message: 'unknown setting: this camera (lavfi) has no settings' },
    ]);
    assert.equal(await checkSettingsBeforeStart({ driver: 'v4l2', device: '/dev/video0' }, { gain: 2 }), null);
  });
});
