import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseControlRequest } from '../../src/protocol/control.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { serveForSuite } from '../helpers/serve.js';

/**
 * `trigger` through the real CLI and a real serve whose camera (the
 * simulator) has no software trigger: refused with words saying why, and
 * nothing changes. GenICam cameras that take triggers are tested in
 * test/devices/genicam-gige.test.ts and test/web/genicam-browser.test.ts.
 */
describe('labcast ctl trigger', () => {
  const suite = serveForSuite();

  test('while idle: refused, saying a stream must run', async () => {
    const answer = await suite.serve().ctl(['trigger']);
    assert.equal(answer.code, 2, answer.stderr);
    assert.match(answer.stderr, /CAMERA_STATE|needs a running stream/);
    assert.match(answer.stderr, /idle/);
  });

  test('while live, a camera without a software trigger: refused naming the driver; the stream goes on', async () => {
    const live = await suite.serve().ctl(['live']);
    assert.equal(live.code, 0, live.stderr);
    await suite.serve().waitFor((s) => s.frames.acquired > 5);
    const answer = await suite.serve().ctl(['trigger']);
    assert.equal(answer.code, 2, answer.stderr);
    assert.match(answer.stderr, /the sim camera .* has no software trigger/);
    const status = await suite.serve().statusNow();
    assert.equal(status.state, 'live');
    assert.equal(status.stream, undefined, 'the simulator reports no stream health');
    assert.equal((await suite.serve().ctl(['stop'])).code, 0);
  });

  test('the request takes no arguments', () => {
    assert.deepEqual(parseControlRequest({ cmd: 'trigger' }), { cmd: 'trigger' });
    assert.throws(
      () => parseControlRequest({ cmd: 'trigger', count: 2 }),
      (error: unknown) =>
        error instanceof LabcastError && error.code === 'BAD_REQUEST' && /"trigger" takes no arguments/.test(error.message),
    );
  });
});
