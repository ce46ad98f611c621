import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAravisAddon } from '../../src/native/aravis-addon.js';
import { skipOrFail } from '../helpers/fake-gige.js';
import { runLabcast, scratchDir } from '../helpers/processes.js';
import { startServe } from '../helpers/serve.js';

/**
 * `labcast ctl set` of GenICam enumeration features through the real CLI and
 * a real serve whose camera is Aravis's in-process fake (Fake_1): no network,
 * LABCAST_GENICAM_INTERFACES=Fake keeps discovery off every other interface.
 */
describe('labcast ctl set with a GenICam camera', () => {
  const scratch = scratchDir('labcast-genicam-set-');
  after(() => scratch.cleanup());

  test('an enumeration entry is sent as text, and get reads it back; text for a number is refused naming the feature', async (t) => {
    const load = loadAravisAddon();
    if ('failure' in load) return skipOrFail(t, `needs the Aravis binding: ${load.failure}`);
    const serve = await startServe(scratch.dir, { driver: 'genicam', id: 'Fake_1' }, {}, { env: { LABCAST_GENICAM_INTERFACES: 'Fake' } });
    t.after(() => serve.stop());
    await serve.waitFor((status) => status.camera !== undefined, 30_000);
    const ctl = (args: string[]) => runLabcast(['ctl', '--control', serve.control, ...args]);

    const set = await ctl(['set', 'PixelFormat', 'Mono16']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^PixelFormat = Mono16\b/);
    const get = await ctl(['get', 'PixelFormat']);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /^PixelFormat = Mono16\b/);
    assert.match((await ctl(['get', 'bit_depth'])).stdout, /^bit_depth = 16\b/);

    const trigger = await ctl(['set', 'TriggerMode', 'On']);
    assert.equal(trigger.code, 0, trigger.stderr);
    assert.match((await ctl(['get', 'TriggerMode'])).stdout, /^TriggerMode = On\b/);

    const refused = await ctl(['set', 'Width', 'wide']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^labcast ctl set: .*"Width".*got "wide"/);
    const unknownEntry = await ctl(['set', 'PixelFormat', 'Mono99']);
    assert.equal(unknownEntry.code, 2);
    assert.match(unknownEntry.stderr, /"PixelFormat" accepts one of .*Mono8.*, got "Mono99"/);
  });
});
