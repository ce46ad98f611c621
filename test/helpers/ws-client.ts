import { createRequire } from 'node:module';

/**
 * A real WebSocket client for the tests (Node 20 has none built in): the `ws`
 * package that @fastify/websocket itself runs on, typed here as far as used.
 */
export interface TestWebSocket {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  on(event: 'open', listener: () => void): this;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'unexpected-response', listener: (request: unknown, response: { statusCode: number }) => void): this;
}

type WebSocketConstructor = new (url: string, options?: { headers?: Record<string, string> }) => TestWebSocket;

const WebSocket = createRequire(import.meta.url)('ws') as WebSocketConstructor;

/** Opens `url`; rejects with the HTTP status when the upgrade is refused (e.g. "401"). */
export function openWebSocket(url: string, headers: Record<string, string> = {}): Promise<TestWebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('open', () => resolve(socket));
    socket.on('unexpected-response', (_request, response) => reject(new Error(String(response.statusCode))));
    socket.on('error', reject);
  });
}

/**
 * Opens `url` and resolves with its first text message. The listener is in
 * place before the connection opens: a server that sends at once (as
 * /ws/status does) may deliver its message in the same read as the upgrade.
 */
export function firstTextMessage(url: string, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no message from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      clearTimeout(timer);
      socket.close();
      resolve(data.toString());
    });
    socket.on('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      reject(new Error(String(response.statusCode)));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The JSON header of a /ws/live message: [u32 LE length][JSON][pixels]. */
export function liveHeader(message: Buffer): { seq: number; run_id: string; width: number; height: number } {
  return JSON.parse(message.subarray(4, 4 + message.readUInt32LE(0)).toString('utf8')) as {
    seq: number;
    run_id: string;
    width: number;
    height: number;
  };
}

/**
 * Watches /ws/live as the page does: asks for a display size, acknowledges each
 * frame; `frames` holds the headers of the frames received.
 */
export function watchLive(socket: TestWebSocket): { readonly frames: ReturnType<typeof liveHeader>[] } {
  const frames: ReturnType<typeof liveHeader>[] = [];
  socket.send(JSON.stringify({ type: 'display', max_width: 256, max_height: 256, levels: { mode: 'auto' } }));
  socket.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const header = liveHeader(data);
    frames.push(header);
    socket.send(JSON.stringify({ type: 'ack', seq: header.seq }));
  });
  return { frames };
}
