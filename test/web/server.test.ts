import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { ControlRequest } from '../../src/protocol/control.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { openH5wasmWriter } from '../../src/storage/h5wasm-writer.js';
import { isOwnOrigin } from '../../src/web/origin.js';
import type { RecordingEntry } from '../../src/web/recordings.js';
import { createWebServer } from '../../src/web/server.js';
import { scratchDir } from '../helpers/processes.js';
import { appendFrames, makeRunEnd, makeRunStart } from '../storage/fixtures.js';

/** The body of every /api reply (server.ts sendResult/sendError). */
type ApiReply = { ok: boolean; result?: unknown; error: { code: string; message: string } };

/** Stands in for the controller: answers each command with `answer`, records what it was sent. */
class FakeControl {
  readonly requests: ControlRequest[] = [];
  answer: (request: ControlRequest) => unknown = () => ({});
  closed = false;
  async request(request: ControlRequest): Promise<unknown> {
    this.requests.push(request);
    return this.answer(request);
  }
  close(): void {
    this.closed = true;
  }
}

describe('web server (fastify inject, no port opened)', () => {
  const scratch = scratchDir();
  const control = new FakeControl();
  let app: FastifyInstance;

  before(async () => {
    control.answer = (request) => {
      if (request.cmd === 'status') return { state: 'idle', file: null };
      throw new LabcastError('INTERNAL', 'unexpected');
    };
    app = await createWebServer({
      control,
      statusEndpoint: null,
      dataEndpoint: () => 'tcp://127.0.0.1:1',
      dataDir: join(scratch.dir, 'data'),
      host: '127.0.0.1',
    });
  });
  after(async () => {
    await app.close();
    scratch.cleanup();
  });

  test('serves the page with the live view and the controls', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /aria-label="Live view"/);
    for (const name of ['Live', 'Stop', 'Snap', 'Record', 'Save']) assert.match(page.body, new RegExp(`>${name}</button>`));
    const uplot = await app.inject({ method: 'GET', url: '/vendor/uplot/uPlot.esm.js' });
    assert.equal(uplot.statusCode, 200);
    const script = await app.inject({ method: 'GET', url: '/app.js' });
    assert.equal(script.statusCode, 200);
  });

  test('a command from another origin is refused with 403 and never reaches the controller', async () => {
    const before = control.requests.length;
    const reply = await app.inject({
      method: 'POST',
      url: '/api/command',
      headers: { origin: 'http://evil.example', host: '127.0.0.1:8080' },
      payload: { cmd: 'live' },
    });
    assert.equal(reply.statusCode, 403);
    const body = reply.json<ApiReply>();
    assert.equal(body.ok, false);
    assert.equal(body.error.code, 'FORBIDDEN_ORIGIN');
    assert.match(body.error.message, /evil\.example/);
    assert.equal(control.requests.length, before);
  });

  test('a DNS-rebound name is not this server, even when Origin and Host agree', async () => {
    const reply = await app.inject({
      method: 'POST',
      url: '/api/command',
      headers: { origin: 'http://attacker.example:8080', host: 'attacker.example:8080' },
      payload: { cmd: 'status' },
    });
    assert.equal(reply.statusCode, 403);
  });

  test('a WebSocket upgrade from another origin is refused', async () => {
    await assert.rejects(
      (app as unknown as { injectWS: (path: string, context: object) => Promise<unknown> }).injectWS('/ws/status', {
        headers: { origin: 'http://evil.example', host: '127.0.0.1:8080' },
      }),
      /403/,
    );
  });

  test('commands from its own origin, or without Origin (scripts), are forwarded', async () => {
    control.answer = (request) => ({ echoed: request });
    for (const headers of [
      { origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' },
      { origin: 'http://localhost:8080', host: 'localhost:8080' },
      {},
    ]) {
      const reply = await app.inject({ method: 'POST', url: '/api/command', headers, payload: { cmd: 'record', frames: 50 } });
      assert.equal(reply.statusCode, 200, reply.body);
      assert.deepEqual(reply.json(), { ok: true, result: { echoed: { cmd: 'record', frames: 50 } } });
    }
  });

  test('a bad request is a 400 naming the problem, checked before the controller is asked', async () => {
    const before = control.requests.length;
    const cases: Array<[unknown, RegExp]> = [
      [{ cmd: 'bogus' }, /unknown command "bogus"; known commands: status, live/],
      [{ cmd: 'record', frames: 'ten' }, /frames/],
      [[1, 2], /must be a JSON object/],
    ];
    for (const [payload, message] of cases) {
      const reply = await app.inject({ method: 'POST', url: '/api/command', payload: payload as object });
      assert.equal(reply.statusCode, 400, reply.body);
      assert.equal(reply.json<ApiReply>().error.code, 'BAD_REQUEST');
      assert.match(reply.json<ApiReply>().error.message, message);
    }
    const notJson = await app.inject({
      method: 'POST',
      url: '/api/command',
      headers: { 'content-type': 'application/json' },
      payload: '{cmd',
    });
    assert.equal(notJson.statusCode, 400);
    assert.equal(notJson.json<ApiReply>().error.code, 'BAD_REQUEST');
    assert.equal(control.requests.length, before);
  });

  test("the controller's errors keep their code and message, with a matching HTTP status", async () => {
    const cases: Array<[LabcastError, number]> = [
      [new LabcastError('CAMERA_STATE', 'already recording to run_0001.h5; stop it first'), 409],
      [new LabcastError('BAD_SETTING', 'setting "exposure_ms" is out of range', 'value'), 400],
      [new LabcastError('PATH_OUTSIDE_DATA_DIR', 'outside'), 400],
      [new LabcastError('OUTPUT_EXISTS', 'exists'), 409],
      [new LabcastError('NO_SERVER', 'no labcast serve answered'), 503],
      [new LabcastError('TIMEOUT', 'did not reply'), 504],
      [new LabcastError('CHILD_FAILED', 'saver died'), 500],
    ];
    for (const [error, status] of cases) {
      control.answer = () => {
        throw error;
      };
      const reply = await app.inject({ method: 'POST', url: '/api/command', payload: { cmd: 'live' } });
      assert.equal(reply.statusCode, status, `${error.code} → ${status}`);
      assert.deepEqual(reply.json(), { ok: false, error: error.toJSON() });
    }
    control.answer = () => {
      throw new Error('socket exploded');
    };
    const reply = await app.inject({ method: 'GET', url: '/api/status' });
    assert.equal(reply.statusCode, 500);
    assert.equal(reply.json<ApiReply>().error.code, 'INTERNAL');
    assert.match(reply.json<ApiReply>().error.message, /socket exploded/);
  });

  test('the recordings list: every .h5 under the data directory, newest first, unreadable ones with the reason', async () => {
    const dataDir = join(scratch.dir, 'data');
    mkdirSync(join(dataDir, '2026-11-23'), { recursive: true });
    const start = makeRunStart({ frames_requested: 5 });
    const writer = await openH5wasmWriter(join(dataDir, '2026-11-23', 'run_0001.h5'), start, { overwrite: false });
    appendFrames(writer, start, [0, 1, 2, 4]);
    writer.finish(makeRunEnd(start, { frames_acquired: 5, frames_dropped: 1, drops: [[3, 1]] }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(join(dataDir, 'broken.h5'), 'not an HDF5 file');
    writeFileSync(join(dataDir, 'notes.txt'), 'ignored');
    control.answer = () => ({ state: 'idle', file: null });

    const reply = await app.inject({ method: 'GET', url: '/api/recordings' });
    assert.equal(reply.statusCode, 200, reply.body);
    const entries = reply.json<ApiReply>().result as RecordingEntry[];
    assert.deepEqual(
      entries.map((entry) => entry.name),
      ['broken.h5', '2026-11-23/run_0001.h5'],
    );
    const [broken, run] = entries;
    assert.equal(broken!.summary, null);
    assert.match(broken!.error!, /not a readable HDF5 file/);
    assert.equal(run!.error, null);
    assert.equal(run!.summary!.frames, 4);
    assert.deepEqual(run!.summary!.shape, [6, 8]);
    assert.equal(run!.summary!.dtype, 'uint16');
    assert.equal(run!.summary!.missing_frames, 1);
    assert.equal(run!.summary!.frames_dropped, 1);
    assert.equal(run!.summary!.end_reason, 'completed');
    assert.equal(run!.summary!.finished, true);
  });

  test('closing the server closes its control client', async () => {
    const other = new FakeControl();
    other.answer = () => ({});
    const second = await createWebServer({
      control: other,
      statusEndpoint: null,
      dataEndpoint: () => 'tcp://127.0.0.1:1',
      dataDir: scratch.dir,
      host: '127.0.0.1',
    });
    await second.close();
    assert.equal(other.closed, true);
  });
});

test('isOwnOrigin: same host:port as the request, on a name this server answers to', () => {
  assert.equal(isOwnOrigin('http://127.0.0.1:8080', '127.0.0.1:8080', '127.0.0.1'), true);
  assert.equal(isOwnOrigin('http://localhost:8080', 'localhost:8080', '127.0.0.1'), true);
  assert.equal(isOwnOrigin('http://[::1]:8080', '[::1]:8080', '127.0.0.1'), true);
  assert.equal(isOwnOrigin('http://127.0.0.1:9999', '127.0.0.1:8080', '127.0.0.1'), false, 'another port is another origin');
  assert.equal(isOwnOrigin('https://127.0.0.1:8080', '127.0.0.1:8080', '127.0.0.1'), false);
  assert.equal(isOwnOrigin('null', '127.0.0.1:8080', '127.0.0.1'), false, 'sandboxed pages and file:// send "null"');
  assert.equal(isOwnOrigin('http://scope-pc.lab:8080', 'scope-pc.lab:8080', '127.0.0.1'), false);
  assert.equal(isOwnOrigin('http://scope-pc.lab:8080', 'scope-pc.lab:8080', '0.0.0.0'), true, 'listening on all interfaces: any name');
  assert.equal(isOwnOrigin('http://10.0.0.5:8080', '10.0.0.5:8080', '10.0.0.5'), true);
  assert.equal(isOwnOrigin('http://127.0.0.1:8080', undefined, '127.0.0.1'), false);
});
