import { Router } from './zeromq.js';
import { MAX_CONTROL_REQUEST_BYTES, parseControlRequest, type ControlRequest } from '../protocol/control.js';
import { LabcastError, isLabcastError } from '../protocol/errors.js';
import { stringifyWithNs } from '../protocol/json-ns.js';
import { curveServerOptions, type CurveKeyPair } from './curve.js';
import { bindEndpoint } from './endpoints.js';
import { receiveUnlessClosed } from './receive.js';

/** Answers one valid request; a LabcastError it throws goes back to the client as is. */
export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

/**
 * A part larger than this makes ZeroMQ drop the connection unread: a guard
 * for memory, far above the request limit, so anything up to it still gets
 * an error reply that says what was wrong.
 */
const MAX_MESSAGE_PART_BYTES = 16 * 1024 * 1024;
/** Requests handled at once; more wait in ZeroMQ's queue, so a flood slows clients down instead of filling memory. */
export const MAX_REQUESTS_IN_FLIGHT = 256;
/** How long, on close, replies already handed to ZeroMQ may take to reach their clients. */
const CLOSE_LINGER_MS = 1000;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The server end of the control API: a ROUTER, so that REQ clients (pyzmq's
 * included) and DEALER clients all work, and so that a slow request (a `stop`
 * that drains a recording) never holds up another client's `status`. Every
 * message gets exactly one reply on the envelope it came with; no message, however
 * malformed, can stop the server.
 */
export class ControlServer {
  private readonly inFlight = new Set<Promise<void>>();
  private outbox: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly socket: Router,
    readonly endpoint: string,
    private readonly handler: ControlHandler,
  ) {}

  /** With `curve`, a CURVE server: only clients holding its public key are answered. */
  static async bind(endpoint: string, handler: ControlHandler, curve: CurveKeyPair | null = null): Promise<ControlServer> {
    const socket = new Router({ linger: 0, maxMessageSize: MAX_MESSAGE_PART_BYTES, ...curveServerOptions(curve) });
    const bound = await bindEndpoint(socket, endpoint, 'control');
    const server = new ControlServer(socket, bound, handler);
    void server.serve();
    return server;
  }

  /**
   * Stops once the requests in progress are answered (waiting at most
   * `graceMs` for them). Do not await it inside the handler: it would wait for
   * that very request.
   */
  close(graceMs = 10_000): Promise<void> {
    this.closing ??= this.closeAfterInFlight(graceMs);
    return this.closing;
  }

  private async serve(): Promise<void> {
    while (!this.socket.closed) {
      if (this.inFlight.size >= MAX_REQUESTS_IN_FLIGHT) {
        await Promise.race(this.inFlight);
        continue;
      }
      const parts = await receiveUnlessClosed(this.socket);
      if (parts === null) return;
      const answering: Promise<void> = this.answer(parts).finally(() => this.inFlight.delete(answering));
      this.inFlight.add(answering);
    }
  }

  /** Never rejects. */
  private async answer(parts: Buffer[]): Promise<void> {
    const { envelope, body } = splitEnvelope(parts);
    const reply = await this.replyTo(body);
    try {
      await this.send([...envelope, reply]);
    } catch {
      // The server is closing: the client will time out, which is all it could learn anyway.
    }
  }

  /**
   * zeromq.js allows one send in progress per socket (another throws EBUSY),
   * and replies are ready in any order, so they go out through this queue.
   */
  private send(parts: (Buffer | string)[]): Promise<void> {
    const sent = this.outbox.then(() => this.socket.send(parts));
    this.outbox = sent.catch(() => undefined);
    return sent;
  }

  private async replyTo(body: Buffer[]): Promise<string> {
    try {
      const request = decodeRequest(body);
      const result = await this.handler(request);
      return stringifyWithNs({ ok: true, result: result ?? null });
    } catch (error) {
      return errorReply(error);
    }
  }

  private async closeAfterInFlight(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
      await Promise.race([Promise.all(this.inFlight), graceOver]);
      clearTimeout(timer);
    }
    this.socket.linger = CLOSE_LINGER_MS;
    this.socket.close();
  }
}

/**
 * The route back is everything up to and including the first empty part (REQ
 * sockets, DEALERs that mimic them, and proxies in between all add one); a bare
 * DEALER adds none, and then the route is the sender's identity alone.
 */
function splitEnvelope(parts: Buffer[]): { envelope: Buffer[]; body: Buffer[] } {
  const delimiter = parts.findIndex((part, index) => index > 0 && part.length === 0);
  const end = delimiter === -1 ? 1 : delimiter + 1;
  return { envelope: parts.slice(0, end), body: parts.slice(end) };
}

function badRequest(message: string): LabcastError {
  return new LabcastError('BAD_REQUEST', message);
}

function decodeRequest(body: Buffer[]): ControlRequest {
  const size = body.reduce((total, part) => total + part.length, 0);
  if (size === 0) throw badRequest('the request is empty; send one JSON object such as {"cmd":"status"}');
  if (size > MAX_CONTROL_REQUEST_BYTES) {
    throw badRequest(`the request is ${size} bytes; requests are limited to ${MAX_CONTROL_REQUEST_BYTES} bytes`);
  }
  if (body.length > 1) {
    throw badRequest(`the request has ${body.length} message parts; send one part holding a JSON object such as {"cmd":"status"}`);
  }
  let text: string;
  try {
    text = utf8.decode(body[0]);
  } catch {
    throw badRequest('the request is not UTF-8 text; send a JSON object such as {"cmd":"status"}');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`the request is not valid JSON (${(error as Error).message}); send a JSON object such as {"cmd":"status"}`);
  }
  return parseControlRequest(value);
}

function errorReply(error: unknown): string {
  const body = isLabcastError(error) ? error.toJSON() : { code: 'INTERNAL', message: describeUnexpected(error) };
  return JSON.stringify({ ok: false, error: body });
}

function describeUnexpected(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return 'the handler failed with a value that cannot be described';
  }
}
