import { Dealer } from './zeromq.js';
import { controlReplySchema, parseControlRequest, type ControlRequest } from '../protocol/control.js';
import { isErrorCode, LabcastError } from '../protocol/errors.js';
import { parseWithNs } from '../protocol/json-ns.js';
import { curveClientOptions, handshakeFailedMessage, onHandshakeFailure } from './curve.js';

export interface ControlClientOptions {
  /** How long to wait for a reply. */
  readonly timeoutMs: number;
  /**
   * How long to wait for the connection itself, so that a missing server is
   * reported quickly even when replies may legitimately take long (a `stop`
   * draining a recording). Defaults to the smaller of timeoutMs and 3 s.
   */
  readonly connectTimeoutMs?: number;
  /** The public key of a CURVE server (a labcast serve with security keys); null or absent = plain ZeroMQ. */
  readonly serverKey?: string | null;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 3000;

/**
 * A Node client of the control API, one request at a time. It speaks as a
 * REQ socket would (an empty delimiter, then the JSON request), on a DEALER so
 * that a request can be abandoned: after a timeout the socket is replaced, so
 * a late reply can never be taken for the answer to the next request.
 */
export class ControlClient {
  private socket: Dealer | null = null;
  private peerConnected = false;
  /** Why the last security handshake failed, until one succeeds. */
  private handshakeError: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly serverKey: string | null;

  private constructor(
    readonly endpoint: string,
    options: ControlClientOptions,
  ) {
    this.serverKey = options.serverKey ?? null;
    this.timeoutMs = options.timeoutMs;
    this.connectTimeoutMs = Math.min(options.timeoutMs, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  }

  static connect(endpoint: string, options: ControlClientOptions): ControlClient {
    const client = new ControlClient(endpoint, options);
    client.openSocket();
    return client;
  }

  /**
   * The result of `request`. Throws LabcastError: BAD_REQUEST before sending
   * an invalid request; the server's code, message and field for an error
   * reply; NO_SERVER when nothing answers; TIMEOUT when the server is there but
   * does not reply in time.
   */
  request(request: ControlRequest): Promise<unknown> {
    const exchange = this.queue.then(() => this.exchange(request));
    this.queue = exchange.catch(() => undefined);
    return exchange;
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
    this.socket = null;
  }

  private openSocket(): Dealer {
    const socket = new Dealer({ linger: 0, ...curveClientOptions(this.serverKey) });
    this.peerConnected = false;
    // Connected once the handshake succeeded: with CURVE, a server that does not
    // take our key accepts the TCP connection and then drops it.
    socket.events.on('handshake', () => {
      if (this.socket !== socket) return;
      this.peerConnected = true;
      this.handshakeError = null;
    });
    onHandshakeFailure(socket, (code) => {
      if (this.socket === socket) this.handshakeError = code;
    });
    socket.events.on('disconnect', () => {
      if (this.socket === socket) this.peerConnected = false;
    });
    socket.connect(this.endpoint);
    this.socket = socket;
    return socket;
  }

  private async exchange(request: ControlRequest): Promise<unknown> {
    if (this.closed) throw new LabcastError('NO_SERVER', `the control client for ${this.endpoint} is closed`);
    const valid = parseControlRequest(request);
    const socket = this.socket ?? this.openSocket();
    const parts = await this.withDeadline(socket, valid.cmd, async () => {
      await socket.send(['', JSON.stringify(valid)]);
      return socket.receive();
    });
    return resultOf(parts);
  }

  /** Runs `exchange`; on timeout, throws away the socket so its late reply goes nowhere. */
  private withDeadline(socket: Dealer, cmd: string, exchange: () => Promise<Buffer[]>): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (finish: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        clearTimeout(replyTimer);
        finish();
      };
      const abandon = (error: LabcastError): void =>
        settle(() => {
          if (this.socket === socket) this.socket = null;
          socket.close();
          reject(error);
        });
      const connectTimer = setTimeout(() => {
        if (!this.peerConnected) abandon(this.noServer(this.connectTimeoutMs));
      }, this.connectTimeoutMs);
      const replyTimer = setTimeout(() => abandon(this.peerConnected ? this.noReply(cmd) : this.noServer(this.timeoutMs)), this.timeoutMs);
      exchange().then(
        (parts) => settle(() => resolve(parts)),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }

  private noServer(waitedMs: number): LabcastError {
    if (this.handshakeError !== null) {
      return new LabcastError('HANDSHAKE_FAILED', handshakeFailedMessage(this.endpoint, this.handshakeError, this.serverKey !== null));
    }
    return new LabcastError(
      'NO_SERVER',
      `no labcast serve answered at ${this.endpoint} within ${seconds(waitedMs)} s; ` +
        `start one with \`labcast serve\`, or give the endpoint of the one running`,
    );
  }

  private noReply(cmd: string): LabcastError {
    return new LabcastError(
      'TIMEOUT',
      `labcast serve at ${this.endpoint} did not reply to "${cmd}" within ${seconds(this.timeoutMs)} s; ` +
        `it may still be working on it (allow longer, or check its log)`,
    );
  }
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** The result of a reply as [delimiter, JSON]; an error reply becomes the LabcastError it describes. */
function resultOf(parts: Buffer[]): unknown {
  const [delimiter, payload, ...extra] = parts;
  if (delimiter === undefined || delimiter.length !== 0 || payload === undefined || extra.length > 0) {
    throw new LabcastError('BAD_MESSAGE', `the control reply has ${parts.length} parts, not an empty delimiter and one JSON part`);
  }
  let value: unknown;
  try {
    value = parseWithNs(payload.toString('utf8'));
  } catch {
    throw new LabcastError('BAD_MESSAGE', 'the control reply is not valid JSON');
  }
  const reply = controlReplySchema.safeParse(value);
  if (!reply.success) {
    throw new LabcastError('BAD_MESSAGE', 'the control reply is neither {"ok":true,"result":...} nor {"ok":false,"error":{...}}');
  }
  if (reply.data.ok) return reply.data.result ?? null;
  const { code, message, field } = reply.data.error;
  // A newer server may know codes this client does not; the message still says what happened.
  if (isErrorCode(code)) throw new LabcastError(code, message, field);
  throw new LabcastError('INTERNAL', `${code}: ${message}`, field);
}
