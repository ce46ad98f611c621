import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { launchChromium } from '../helpers/chromium.js';
import type { ControlRequest } from '../../src/protocol/control.js';
import type { LabcastError } from '../../src/protocol/errors.js';
import { TOKEN_COOKIE, webAccessToken } from '../../src/web/origin.js';
import { createWebServer } from '../../src/web/server.js';
import { collect, delay, scratchDir, startLabcast, type Finished } from '../helpers/processes.js';
import { freeServePorts } from '../helpers/serve.js';
import { firstTextMessage, openWebSocket } from '../helpers/ws-client.js';

const TOKEN = 'Zq3_tok-en_for-the-tests_0123456789';

/** Stands in for the controller: answers status, records what it was sent. */
class FakeControl {
  readonly requests: ControlRequest[] = [];
  async request(request: ControlRequest): Promise<unknown> {
    this.requests.push(request);
    return { state: 'idle', file: null, echoed: request };
  }
  close(): void {}
}

type InjectWS = (path: string, context: { headers: Record<string, string> }) => Promise<{ terminate(): void }>;

describe('web UI off loopback: the access token (fastify inject)', () => {
  const scratch = scratchDir();
  const control = new FakeControl();
  let app: FastifyInstance;
  let open: FastifyInstance;

  before(async () => {
    const base = { control, statusEndpoint: null, dataEndpoint: () => 'tcp://127.0.0.1:1', dataDir: scratch.dir };
    app = await createWebServer({ ...base, host: '0.0.0.0', token: TOKEN });
    open = await createWebServer({ ...base, control: new FakeControl(), host: '127.0.0.1' });
  });
  after(async () => {
    await app.close();
    await open.close();
    scratch.cleanup();
  });

  test('without the token: 401 with a JSON error, for the page, the API and static files; nothing reaches the controller', async () => {
    const before = control.requests.length;
    for (const [method, url] of [
      ['GET', '/'],
      ['GET', '/api/status'],
      ['POST', '/api/command'],
      ['GET', '/app.js'],
      ['GET', '/api/recordings'],
      ['GET', '/api/recordings/run_0001.h5'],
      ['GET', '/api/recordings/run_0001.h5/frames/0/raw?x=0&y=0&w=1&h=1'],
      ['GET', '/api/recordings/run_0001.h5/frames/0/line?x0=0&y0=0&x1=5&y1=5'],
      ['GET', '/api/recordings/run_0001.h5/frames/0/stats?x=0&y=0&w=4&h=4'],
      ['GET', '/api/recordings/run_0001.h5/stack.tiff'],
    ] as const) {
      const reply = await app.inject({ method, url, ...(method === 'POST' ? { payload: { cmd: 'live' } } : {}) });
      assert.equal(reply.statusCode, 401, `${method} ${url}`);
      assert.match(reply.headers['content-type'] as string, /application\/json/);
      const body = reply.json<{ ok: boolean; error: { code: string; message: string } }>();
      assert.equal(body.ok, false);
      assert.equal(body.error.code, 'UNAUTHORIZED');
      assert.match(body.error.message, /access token: open the address labcast serve printed \(http:\/\/HOST:PORT\/\?token=\.\.\.\)/);
    }
    const wrong = await app.inject({ method: 'GET', url: '/api/status?token=guess' });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.json<{ error: { message: string } }>().error.message, /wrong access token/);
    const wrongCookie = await app.inject({ method: 'GET', url: '/api/status', headers: { cookie: `${TOKEN_COOKIE}=${TOKEN}x` } });
    assert.equal(wrongCookie.statusCode, 401);
    assert.equal(control.requests.length, before);
  });

  test('the first visit with ?token= sets an HttpOnly SameSite=Strict cookie and takes the token out of the address bar', async () => {
    const visit = await app.inject({ method: 'GET', url: `/?token=${TOKEN}` });
    assert.equal(visit.statusCode, 303);
    assert.equal(visit.headers.location, '/');
    const cookie = visit.headers['set-cookie'] as string;
    assert.equal(cookie, `${TOKEN_COOKIE}=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`);
    // The browser follows with the cookie: the page, its scripts and the API all answer.
    const headers = { cookie: cookie.split(';')[0]! };
    const page = await app.inject({ method: 'GET', url: '/', headers });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /aria-label="Live view"/);
    assert.equal((await app.inject({ method: 'GET', url: '/app.js', headers })).statusCode, 200);
    const status = await app.inject({ method: 'GET', url: '/api/status', headers });
    assert.equal(status.statusCode, 200);
    const command = await app.inject({ method: 'POST', url: '/api/command', headers, payload: { cmd: 'record', frames: 5 } });
    assert.equal(command.statusCode, 200, command.body);
    assert.deepEqual(command.json<{ result: { echoed: unknown } }>().result.echoed, { cmd: 'record', frames: 5 });
  });

  test('scripts send Authorization: Bearer TOKEN', async () => {
    const reply = await app.inject({ method: 'GET', url: '/api/status', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(reply.statusCode, 200);
  });

  test('WebSocket upgrades need the token too (the page sends the cookie with them)', async () => {
    const injectWS = (app as unknown as { injectWS: InjectWS }).injectWS.bind(app);
    await assert.rejects(injectWS('/ws/status', { headers: {} }), /401/);
    const socket = await injectWS('/ws/status', { headers: { cookie: `${TOKEN_COOKIE}=${TOKEN}` } });
    socket.terminate();
  });

  test('on loopback no token is asked for (as before)', async () => {
    assert.equal((await open.inject({ method: 'GET', url: '/api/status' })).statusCode, 200);
    assert.equal((await open.inject({ method: 'GET', url: '/' })).statusCode, 200);
  });

  test('webAccessToken: none on loopback, a fresh one elsewhere, or the one in web.token_file', () => {
    for (const host of ['127.0.0.1', '127.0.0.5', '::1', '[::1]', 'localhost'])
      assert.deepEqual(webAccessToken({ host }), { token: null, generated: false }, host);
    const first = webAccessToken({ host: '0.0.0.0' });
    const second = webAccessToken({ host: '192.168.1.20' });
    assert.equal(first.generated, true);
    assert.ok(first.token !== null && first.token.length >= 32);
    assert.notEqual(first.token, second.token);
    const file = join(scratch.dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    assert.deepEqual(webAccessToken({ host: '0.0.0.0', token_file: file }), { token: TOKEN, generated: false });
    assert.deepEqual(
      webAccessToken({ host: '127.0.0.1', token_file: file }),
      { token: TOKEN, generated: false },
      'a token file given is used even on loopback',
    );
    writeFileSync(file, 'short\n');
    assert.throws(
      () => webAccessToken({ host: '0.0.0.0', token_file: file }),
      (error: LabcastError) => {
        assert.equal(error.code, 'BAD_CONFIG');
        assert.equal(error.field, 'web.token_file');
        assert.match(error.message, /at least 16 characters/);
        return true;
      },
    );
  });
});

describe('labcast serve with web.host 0.0.0.0 (reached over 127.0.0.1 only)', () => {
  const scratch = scratchDir();
  let serve: ChildProcess;
  let finished: Promise<Finished>;
  let base: string;
  let stderr = '';

  before(async () => {
    const { endpoints, webPort: web } = await freeServePorts();
    base = `http://127.0.0.1:${web}`;
    const config = {
      camera: { driver: 'sim', width: 64, height: 48, fps: 30 },
      endpoints,
      web: { host: '0.0.0.0', port: web },
      storage: { data_dir: join(scratch.dir, 'data') },
    };
    const path = join(scratch.dir, 'lab.yaml');
    writeFileSync(path, JSON.stringify(config));
    serve = startLabcast(['serve', '--config', path]);
    serve.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    finished = collect(serve);
    for (let i = 0; i < 200 && !/Ctrl-C stops everything/.test(stderr); i++) await delay(100);
  });
  after(async () => {
    serve.kill('SIGTERM');
    await finished;
    scratch.cleanup();
  });

  test('serve prints the URL with a fresh token once; without it: 401; with it the page, API and WebSocket work', async () => {
    const banner = /web +(http:\/\/127\.0\.0\.1:\d+\/)\?token=([A-Za-z0-9_-]+) +\(open in a browser/.exec(stderr);
    assert.ok(banner, `the banner gives the URL with the token:\n${stderr}`);
    assert.equal(banner[1], `${base}/`);
    const token = banner[2]!;
    assert.equal(stderr.split(token).length - 1, 1, 'the token is printed once');

    const unauthorized = await fetch(`${base}/api/status`);
    assert.equal(unauthorized.status, 401);
    assert.equal(((await unauthorized.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    await assert.rejects(openWebSocket(`${base.replace('http', 'ws')}/ws/status`), /401/);

    const visit = await fetch(`${base}/?token=${token}`, { redirect: 'manual' });
    assert.equal(visit.status, 303);
    const cookie = visit.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${base}/`, { headers: { cookie } });
    assert.equal(page.status, 200);
    const status = await fetch(`${base}/api/status`, { headers: { cookie } });
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as { result: { state: string } }).result.state, 'idle');
    const first = await firstTextMessage(`${base.replace('http', 'ws')}/ws/status`, { cookie });
    assert.match(first, /"type":"status"/);
    assert.equal(serve.exitCode, null);
  });

  test('in Chromium: the printed address opens the UI, whose requests and WebSockets work; a browser without it gets 401', async () => {
    const token = /\?token=([A-Za-z0-9_-]+)/.exec(stderr)![1]!;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/?token=${token}`);
      assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
      await page.getByRole('button', { name: 'Live', exact: true }).click();
      const deadline = Date.now() + 15_000;
      let state: string | null = null;
      while (Date.now() < deadline && state !== 'live') {
        state = await page.locator('#status-state').textContent();
        await delay(100);
      }
      assert.equal(state, 'live', 'the command went through (fetch) and the status came back (WebSocket)');
      let fps = 0;
      while (Date.now() < deadline && !(fps > 1)) {
        fps = Number(await page.locator('#display-fps').textContent());
        await delay(100);
      }
      assert.ok(fps > 1, `live frames over /ws/live (${fps} fps shown)`);
      await page.getByRole('button', { name: 'Stop', exact: true }).click();
      const stranger = await (await browser.newContext()).newPage();
      const refused = await stranger.goto(`${base}/`);
      assert.equal(refused?.status(), 401);
      assert.match(await stranger.content(), /UNAUTHORIZED/);
    } finally {
      await browser.close();
    }
  });
});
