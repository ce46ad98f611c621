import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlRequest } from '../../src/protocol/control.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { ControlClient } from '../../src/transport/control-client.js';
import { delay, freePort } from '../helpers/processes.js';
import { InProcessExperiment } from '../helpers/in-process-experiment.js';
import { closedAfterEachTest } from '../helpers/sockets.js';

const { open, serveControl: serve } = closedAfterEachTest();

function connect(endpoint: string, timeoutMs = 5000, connectTimeoutMs?: number): ControlClient {
  const client = ControlClient.connect(endpoint, connectTimeoutMs === undefined ? { timeoutMs } : { timeoutMs, connectTimeoutMs });
  open.push(client);
  return client;
}

/** The real controller (camera and saver in this process), closed after the test. */
async function startExperiment(): Promise<InProcessExperiment> {
  const experiment = await InProcessExperiment.start();
  open.push(experiment);
  return experiment;
}

describe('control client (real sockets)', () => {
  test('an invalid request is refused before it is sent, naming the field', async () => {
    const experiment = await startExperiment();
    const client = connect((await serve(experiment.handle)).endpoint);
    await assert.rejects(client.request({ cmd: 'record', frames: -3 }), (error: LabcastError) => {
      assert.equal(error.code, 'BAD_REQUEST');
      assert.equal(error.field, 'frames');
      assert.match(error.message, /whole number from 1 to 1e12, got -3/);
      return true;
    });
    await assert.rejects(client.request({ cmd: 'warp' } as unknown as ControlRequest), { code: 'BAD_REQUEST', field: 'cmd' });
    assert.deepEqual(experiment.handled, []);
    assert.deepEqual(await client.request({ cmd: 'get', name: 'exposure_ms' }).then((r) => (r as { value: number }).value), 10);
  });

  test("an error reply becomes a LabcastError with the server's code, message and field", async () => {
    const client = connect((await serve((await startExperiment()).handle)).endpoint);
    await assert.rejects(client.request({ cmd: 'set', name: 'exposure_ms', value: 1e9 }), (error: LabcastError) => {
      assert.ok(error instanceof LabcastError);
      assert.equal(error.code, 'BAD_SETTING');
      assert.equal(error.field, 'exposure_ms');
      assert.match(error.message, /out of range: must be in 0\.01\.\.10000 ms, got 1000000000/);
      return true;
    });
    const unknownCode = connect((await serve(async () => Promise.reject(new LabcastError('CHILD_FAILED', 'saver died')))).endpoint);
    await assert.rejects(unknownCode.request({ cmd: 'status' }), { code: 'CHILD_FAILED', message: 'saver died' });
  });

  test('no server: NO_SERVER within the connect timeout, naming the endpoint and labcast serve', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const client = connect(endpoint, 60_000, 500);
    const started = Date.now();
    await assert.rejects(client.request({ cmd: 'stop' }), (error: LabcastError) => {
      assert.equal(error.code, 'NO_SERVER');
      assert.equal(
        error.message,
        `no labcast serve answered at ${endpoint} within 0.5 s; start one with \`labcast serve\`, or give the endpoint of the one running`,
      );
      return true;
    });
    const waited = Date.now() - started;
    assert.ok(waited >= 450 && waited < 3000, `gave up after ${waited} ms, not the 60 s reply timeout`);
  });

  test('a server that starts after the request was sent still answers it', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const client = connect(endpoint, 5000, 3000);
    const answer = client.request({ cmd: 'status' });
    await delay(300);
    await serve((await startExperiment()).handle, endpoint);
    assert.equal(((await answer) as { state: string }).state, 'idle');
  });

  test('a reply that comes too late is TIMEOUT, and is never taken for the answer to the next request', async () => {
    const server = await serve(async (request) => {
      if (request.cmd === 'get' && request.name === 'slow') await delay(600);
      return request.cmd === 'get' ? request.name : request.cmd;
    });
    const client = connect(server.endpoint, 300);
    await assert.rejects(client.request({ cmd: 'get', name: 'slow' }), (error: LabcastError) => {
      assert.equal(error.code, 'TIMEOUT');
      assert.match(error.message, /labcast serve at tcp:\/\/127\.0\.0\.1:\d+ did not reply to "get" within 0\.3 s/);
      return true;
    });
    // The late "slow" reply arrives while these are in flight.
    const answers: unknown[] = [];
    for (let i = 0; i < 8; i++) {
      answers.push(await client.request({ cmd: 'get', name: `fast-${i}` }));
      await delay(100);
    }
    assert.deepEqual(
      answers,
      Array.from({ length: 8 }, (_, i) => `fast-${i}`),
    );
  });

  test('concurrent calls on one client are serialised, each resolving with its own result', async () => {
    const server = await serve(async (request) => {
      await delay(Math.random() * 5);
      return request.cmd === 'get' ? request.name : null;
    });
    const client = connect(server.endpoint);
    const names = Array.from({ length: 40 }, (_, i) => `setting-${i}`);
    assert.deepEqual(await Promise.all(names.map((name) => client.request({ cmd: 'get', name }))), names);
  });
});
