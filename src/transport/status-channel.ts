import { Publisher, Subscriber } from './zeromq.js';
import { experimentStatusSchema, STATUS_TOPIC, type ExperimentStatus } from '../protocol/control.js';
import { parseWithNs, stringifyWithNs } from '../protocol/json-ns.js';
import type { MalformedReport } from './data-receiver.js';
import { curveClientOptions, curveServerOptions, type CurveKeyPair } from './curve.js';
import { bindEndpoint } from './endpoints.js';
import { receiveUnlessClosed } from './receive.js';

/** How long, on close, the last statuses may take to reach subscribers (often the final "idle"). */
const CLOSE_LINGER_MS = 500;
/** Statuses waiting for the socket; beyond this the oldest go, as a view only needs the latest. */
const MAX_QUEUED_STATUSES = 64;

/**
 * The controller's side of the status stream: PUB, so views learn of every
 * change without polling and a slow view never holds up the controller.
 */
export class StatusPublisher {
  private readonly queue: string[] = [];
  private sending = false;
  private closeRequested = false;
  private failed = 0;

  private constructor(
    private readonly socket: Publisher,
    readonly endpoint: string,
  ) {}

  /** With `curve`, a CURVE server: only clients holding its public key get statuses. */
  static async bind(endpoint: string, curve: CurveKeyPair | null = null): Promise<StatusPublisher> {
    const socket = new Publisher({ sendHighWaterMark: 64, linger: CLOSE_LINGER_MS, ...curveServerOptions(curve) });
    const bound = await bindEndpoint(socket, endpoint, 'status');
    return new StatusPublisher(socket, bound);
  }

  /** Statuses not published: the oldest of a backlog, or refused by ZeroMQ. */
  get failures(): number {
    return this.failed;
  }

  /**
   * Never waits or throws. Statuses go out in order; PUB drops for a
   * subscriber that is a full queue behind, which catches up on the next one.
   */
  publish(status: ExperimentStatus): void {
    if (this.closeRequested) return;
    if (this.queue.length >= MAX_QUEUED_STATUSES) {
      this.queue.shift();
      this.failed += 1;
    }
    this.queue.push(stringifyWithNs(status));
    if (!this.sending) void this.pump();
  }

  /** Closes once the statuses already published are handed to ZeroMQ. */
  close(): void {
    this.closeRequested = true;
    if (!this.sending && !this.socket.closed) this.socket.close();
  }

  /** zeromq.js allows one send in progress per socket (another throws EBUSY). */
  private async pump(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      try {
        await this.socket.send([STATUS_TOPIC, this.queue.shift()!]);
      } catch {
        this.failed += 1;
      }
    }
    this.sending = false;
    if (this.closeRequested && !this.socket.closed) this.socket.close();
  }
}

/**
 * A view's side of the status stream: every valid status until closed. A
 * malformed message is counted and skipped, never thrown, so a bad peer cannot
 * stop a view. Statuses published before the connection is made are not seen:
 * ask the control API for `status` once to start from the current one.
 */
export class StatusSubscriber implements AsyncIterable<ExperimentStatus> {
  private malformedCount = 0;
  private lastMalformedReason: string | null = null;

  private constructor(private readonly socket: Subscriber) {}

  /** `serverKey`: the public key of a CURVE server (labcast serve with security keys). */
  static connect(endpoint: string, serverKey: string | null = null): StatusSubscriber {
    const socket = new Subscriber({ receiveHighWaterMark: 256, linger: 0, ...curveClientOptions(serverKey) });
    socket.connect(endpoint);
    socket.subscribe(STATUS_TOPIC);
    return new StatusSubscriber(socket);
  }

  get malformed(): MalformedReport {
    return { count: this.malformedCount, lastReason: this.lastMalformedReason };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ExperimentStatus> {
    while (!this.socket.closed) {
      const parts = await receiveUnlessClosed(this.socket);
      if (parts === null) return;
      const decoded = decodeStatus(parts);
      if (decoded.ok) {
        yield decoded.status;
      } else {
        this.malformedCount += 1;
        this.lastMalformedReason = decoded.reason;
      }
    }
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}

function decodeStatus(parts: Buffer[]): { ok: true; status: ExperimentStatus } | { ok: false; reason: string } {
  const [topic, body, ...extra] = parts;
  // Subscription is by prefix, so "statusX" would get through it.
  if (topic?.toString('utf8') !== STATUS_TOPIC) return { ok: false, reason: 'not a status topic' };
  if (body === undefined || extra.length > 0) return { ok: false, reason: `status message has ${parts.length} parts, expected 2` };
  let value: unknown;
  try {
    value = parseWithNs(body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'status is not valid JSON' };
  }
  const status = experimentStatusSchema.safeParse(value);
  if (!status.success) {
    const issue = status.error.issues[0]!;
    return { ok: false, reason: `status does not follow the protocol: ${issue.path.join('.') || '(status)'}: ${issue.message}` };
  }
  return { ok: true, status: status.data };
}
