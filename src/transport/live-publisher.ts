import { XPublisher } from './zeromq.js';
import { curveServerOptions, type CurveKeyPair } from './curve.js';
import { bindEndpoint } from './endpoints.js';

type Parts = readonly (Buffer | Uint8Array)[];

/**
 * The data endpoint for viewers and analysis: PUB, so a slow subscriber never
 * slows the camera. ZeroMQ drops for a subscriber at its high-water mark;
 * subscribers see that as a gap in `seq` and count it themselves.
 *
 * An XPUB, so that it knows whether anyone subscribes: with no subscriber
 * ZeroMQ would discard every message anyway, and handing it over costs the
 * camera's process more per frame than the rest of the frame's handling.
 */
export class LivePublisher {
  private sending = false;
  /** Topics someone subscribes to (ZeroMQ reports each once, and its end once). */
  private readonly subscriptions = new Set<string>();

  private constructor(
    private readonly socket: XPublisher,
    readonly endpoint: string,
  ) {
    void this.followSubscriptions();
  }

  /** With `curve`, a CURVE server: only clients holding its public key get frames. */
  static async bind(endpoint: string, highWaterMark = 16, curve: CurveKeyPair | null = null): Promise<LivePublisher> {
    const socket = new XPublisher({ sendHighWaterMark: highWaterMark, linger: 0, ...curveServerOptions(curve) });
    const bound = await bindEndpoint(socket, endpoint, 'data');
    return new LivePublisher(socket, bound);
  }

  get subscribed(): boolean {
    return this.subscriptions.size > 0;
  }

  /**
   * Never waits: false when the message could not go out now (the caller
   * counts the skip). With no subscriber it is published to nobody, as PUB does.
   * `copyLast`: send a copy of the last part (the pixels), made only when the
   * message goes out.
   */
  publish(parts: Parts, copyLast = false): boolean {
    if (this.subscriptions.size === 0) return true;
    if (this.sending) return false;
    let sent: Promise<void>;
    try {
      // A frame made in the saver's ring slot (copyLast) is not ours to hand to ZeroMQ zero-copy.
      const message = copyLast ? [...parts.slice(0, -1), Buffer.from(parts.at(-1)!)] : parts;
      sent = this.socket.send(message as (Buffer | Uint8Array)[]);
    } catch {
      // zeromq.js can refuse synchronously (EBUSY, closed socket): a skip like any other.
      return false;
    }
    this.sending = true;
    sent
      .catch(() => undefined) // PUB refuses only when closing; viewers see the gap
      .finally(() => {
        this.sending = false;
      });
    return true;
  }

  close(): void {
    this.socket.close();
  }

  private async followSubscriptions(): Promise<void> {
    try {
      for await (const [message] of this.socket) {
        if (message === undefined || message.length === 0) continue;
        const topic = message.subarray(1).toString('latin1');
        if (message[0] === 1) this.subscriptions.add(topic);
        else if (message[0] === 0) this.subscriptions.delete(topic);
      }
    } catch {
      // Ends when the socket closes.
    }
  }
}
