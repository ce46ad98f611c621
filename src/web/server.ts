import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { parseControlRequest } from '../protocol/control.js';
import { errorCodeSpec, isLabcastError, LabcastError } from '../protocol/errors.js';
import { stringifyWithNs } from '../protocol/json-ns.js';
import { LiveView, type LiveSocket } from './live-view.js';
import { isOwnOrigin, presentedToken, TOKEN_COOKIE, tokenMatches } from './origin.js';
import { registerRecordingRoutes } from './recording-routes.js';
import { RecordingsIndex } from './recordings.js';
import { ResultsHub, type ResultsSocket } from './results-hub.js';
import { StatusHub } from './status-hub.js';
import { connectControl, type CommandChannel } from './web-control.js';

/**
 * The web UI: one more view of the experiment controller. Commands go
 * through the control API (as `labcast ctl` sends them), the status comes
 * from the status stream, live frames from a subscriber of the data stream.
 *
 * Routes
 *   GET  /                 the UI (src/web/ui)
 *   GET  /vendor/uplot/*   uPlot, from node_modules
 *   GET  /api/status       {ok, result: status}
 *   POST /api/command      body: a control request, e.g. {"cmd":"record","frames":50}; {ok, result | error}
 *   GET  /api/live         {ok, result: {clients, frames_received, malformed_messages}} of the live view
 *   GET  /api/recordings   {ok, result: [recording, ...]} newest first
 *   GET  /api/recordings/NAME[/frames/K[/raw|/overlay|/tiff]|/stack.tiff]  one recording, frame K (recording-routes.ts)
 *   WS   /ws/status        text: {"type":"status","status":{...}} now and at every change
 *   WS   /ws/live          binary frames for display, latest only (see live-view.ts)
 *   WS   /ws/results       text: analysis results as they come (see results-hub.ts)
 * POSTs and WebSocket upgrades whose Origin is another site get 403. With an
 * access token (off loopback), every request without it gets 401.
 */

export interface WebServerOptions {
  readonly control: CommandChannel;
  /** The status stream; null = no push updates (the page still polls /api/status). */
  readonly statusEndpoint: string | null;
  /** The data stream (may change when the controller restarts acquisition). */
  readonly dataEndpoint: () => string;
  /** serve's analysis results endpoint (XPUB); null or absent = no results on /ws/results. */
  readonly resultsEndpoint?: string | null;
  readonly dataDir: string;
  /** The address listened on; decides which Host names count as this server's own origin. */
  readonly host: string;
  /** The CURVE public key of serve's endpoints (data, status), when it has security keys. */
  readonly serverKey?: string | null;
  /** The access token every request must carry (off loopback); null or absent = none. */
  readonly token?: string | null;
  /** The camera's pixel size in the sample plane (config camera.pixel_size_um), for the scale bar; null or absent = unknown. */
  readonly pixelSizeUm?: number | null;
}

const UI_ROOT = findUiRoot();
const UPLOT_DIST = dirname(createRequire(import.meta.url).resolve('uplot'));

/** src/web/ui beside this file when run from source, or in the source tree when run from dist/. */
function findUiRoot(): string {
  const candidates = [new URL('./ui/', import.meta.url), new URL('../../../src/web/ui/', import.meta.url)];
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    if (existsSync(`${path}index.html`)) return path;
  }
  throw new Error(`labcast: the web UI files are missing (looked in ${candidates.map((c) => fileURLToPath(c)).join(', ')})`);
}

function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const labcast = isLabcastError(error) ? error : new LabcastError('INTERNAL', error instanceof Error ? error.message : String(error));
  return reply
    .code(errorCodeSpec(labcast.code).http)
    .type('application/json')
    .send(JSON.stringify({ ok: false, error: labcast.toJSON() }));
}

function sendResult(reply: FastifyReply, result: unknown): FastifyReply {
  // Results may hold bigint nanoseconds; they go out as JSON integers.
  return reply.type('application/json').send(stringifyWithNs({ ok: true, result }));
}

export async function createWebServer(options: WebServerOptions): Promise<FastifyInstance> {
  // maxParamLength: a recording's name (recording-routes.ts) is one URL-encoded path parameter.
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, routerOptions: { maxParamLength: 2048 } });
  const hub = new StatusHub(options.control);
  const live = new LiveView(
    options.dataEndpoint,
    options.serverKey ?? null,
    () => hub.latest?.camera?.settings,
    options.pixelSizeUm ?? null,
  );
  const results = new ResultsHub(options.resultsEndpoint ?? null, options.serverKey ?? null);
  const recordings = new RecordingsIndex(options.dataDir);

  app.setErrorHandler((error, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ ok: false, error: { code: 'BAD_REQUEST', message: (error as Error).message } });
    }
    return sendError(reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ ok: false, error: { code: 'BAD_REQUEST', message: `no such page: ${request.method} ${request.url}` } }),
  );

  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });

  // First of all, off loopback: the access token, given once as ?token= (then
  // kept in an HttpOnly cookie, so the page's own fetch and WebSocket calls
  // carry it), or as Authorization: Bearer TOKEN by scripts.
  const token = options.token ?? null;
  if (token !== null) {
    app.addHook('onRequest', async (request, reply) => {
      const presented = presentedToken(request.url, request.headers);
      if (presented === null || !tokenMatches(presented.token, token)) {
        await sendError(
          reply,
          new LabcastError(
            'UNAUTHORIZED',
            presented === null
              ? 'this labcast web UI asks for its access token: open the address labcast serve printed (http://HOST:PORT/?token=...), ' +
                  'or send the header Authorization: Bearer TOKEN'
              : 'wrong access token; use the one labcast serve printed at start (or the one in web.token_file)',
          ),
        );
        return;
      }
      if (presented.from !== 'query') return;
      reply.header('set-cookie', `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      const url = new URL(request.url, 'http://labcast');
      if (request.method === 'GET' && !request.ws && url.pathname === '/') {
        // The page: the cookie holds the token now, so take it out of the address bar and history.
        url.searchParams.delete('token');
        await reply.redirect(`${url.pathname}${url.search}`, 303);
      }
    });
  }

  // Before any route: a browser on another site must not drive the camera.
  app.addHook('onRequest', async (request, reply) => {
    const changes = request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS';
    const origin = request.headers.origin;
    if (!(changes || request.ws) || origin === undefined) return;
    if (isOwnOrigin(origin, request.headers.host, options.host)) return;
    await sendError(
      reply,
      new LabcastError(
        'FORBIDDEN_ORIGIN',
        `refused: this request comes from a page at ${origin}, not from the labcast web UI itself; open the UI at its own address instead`,
      ),
    );
  });

  await app.register(fastifyStatic, { root: UI_ROOT, prefix: '/', index: 'index.html' });
  await app.register(fastifyStatic, { root: UPLOT_DIST, prefix: '/vendor/uplot/', decorateReply: false });

  app.get('/api/status', async (_request, reply) => {
    try {
      return sendResult(reply, await hub.refresh());
    } catch (error) {
      return sendError(reply, error);
    }
  });

  app.post('/api/command', async (request, reply) => {
    try {
      const command = parseControlRequest(request.body);
      return sendResult(reply, await options.control.request(command));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  // The live-view bridge's counters: browsers watching, frames taken from the data stream, malformed messages skipped.
  app.get('/api/live', async (_request, reply) =>
    sendResult(reply, { clients: live.clientCount, frames_received: live.framesReceived, malformed_messages: live.malformedMessages }),
  );

  app.get('/api/recordings', async (_request, reply) => {
    try {
      return sendResult(reply, await recordings.list({ activeFile: hub.latest?.file ?? null }));
    } catch (error) {
      return sendError(reply, error);
    }
  });

  registerRecordingRoutes(app, { dataDir: options.dataDir, activeFile: () => hub.latest?.file ?? null, sendResult, sendError });

  app.get('/ws/status', { websocket: true }, (socket: WsSocket) => {
    const send = (status: unknown): void => {
      if (socket.readyState === 1) socket.send(stringifyWithNs({ type: 'status', status }));
    };
    if (hub.latest !== null) send(hub.latest);
    const stop = hub.listen(send);
    socket.on('close', stop);
    void hub.refresh().catch(() => undefined);
  });

  app.get('/ws/live', { websocket: true }, (socket: WsSocket) => {
    const client = live.attach(socket);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) client.receive(data.toString('utf8'));
    });
    socket.on('close', () => live.detach(client));
  });

  app.get('/ws/results', { websocket: true }, (socket: WsSocket) => {
    const client = results.attach(socket);
    socket.on('close', () => results.detach(client));
  });

  app.addHook('onClose', async () => {
    results.close();
    live.close();
    hub.close();
    options.control.close();
  });

  hub.start(options.statusEndpoint, options.serverKey ?? null);
  return app;
}

/** The parts of a `ws` WebSocket used here (@fastify/websocket hands us one). */
interface WsSocket extends LiveSocket, ResultsSocket {
  send(data: string | Buffer, callback?: (error?: Error) => void): void;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'close', listener: () => void): void;
}

export interface WebServerStart {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly controlEndpoint: string;
  readonly statusEndpoint: string;
  readonly dataEndpoint: () => string;
  readonly resultsEndpoint?: string | null;
  readonly dataDir: string;
  /** The CURVE public key of serve's endpoints, when it has security keys. */
  readonly serverKey?: string | null;
  /** The access token every request must carry; null or absent = none. */
  readonly token?: string | null;
  /** The camera's pixel size in the sample plane, µm; null or absent = unknown. */
  readonly pixelSizeUm?: number | null;
}

export interface RunningWebServer {
  readonly app: FastifyInstance;
  /** e.g. http://127.0.0.1:8080/ */
  readonly url: string;
  close(): Promise<void>;
}

/** Creates and listens; a port in use is LabcastError ENDPOINT_IN_USE (exit 2), as for the ZeroMQ endpoints. */
export async function startWebServer(options: WebServerStart): Promise<RunningWebServer> {
  const app = await createWebServer({
    control: connectControl(options.controlEndpoint, options.serverKey ?? null),
    statusEndpoint: options.statusEndpoint,
    dataEndpoint: options.dataEndpoint,
    resultsEndpoint: options.resultsEndpoint ?? null,
    dataDir: options.dataDir,
    host: options.host,
    serverKey: options.serverKey ?? null,
    token: options.token ?? null,
    pixelSizeUm: options.pixelSizeUm ?? null,
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    const code = (error as { code?: string }).code;
    const where = `${options.host}:${options.port}`;
    if (code === 'EADDRINUSE') {
      throw new LabcastError(
        'ENDPOINT_IN_USE',
        `the web port ${where} is already in use (is another labcast serve running?); ` +
          `set web.port in the config to another port, or 0 for any free port`,
        'web.port',
      );
    }
    throw new LabcastError('BAD_CONFIG', `cannot listen on web ${where}: ${(error as Error).message}`, 'web.host');
  }
  const address = app.server.address() as AddressInfo;
  const shownHost = ['0.0.0.0', '::', ''].includes(options.host) ? '127.0.0.1' : options.host;
  const hostPart = shownHost.includes(':') ? `[${shownHost}]` : shownHost;
  return { app, url: `http://${hostPart}:${address.port}/`, close: () => app.close() };
}
