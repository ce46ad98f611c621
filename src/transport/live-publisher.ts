import { Publisher } from 'zeromq';
import { bindEndpoint } from './endpoints.js';

type Parts = readonly (Buffer | Uint8Array)[];

/**
 * The data endpoint for viewers and analysis: PUB, so a slow subscriber never
 * slows the camera. ZeroMQ drops for a subscriber at its high-water mark;
 * subscribers see that as a gap in `seq` and count it themselves.
 */
export class LivePublisher {
  private sending = false;

  private constructor(
    private readonly socket: Publisher,
    readonly endpoint: string,
  ) {}

  static async bind(endpoint: string, highWaterMark = 16): Promise<LivePublisher> {
    const socket = new Publisher({ sendHighWaterMark: highWaterMark, linger: 0 });
    const bound = await bindEndpoint(socket, endpoint, 'data');
    return new LivePublisher(socket, bound);
  }

  /** Never waits: false when the message could not go out now (the caller counts the skip). */
  publish(parts: Parts): boolean {
    if (this.sending) return false;
    let sent: Promise<void>;
    try {
      sent = this.socket.send(parts as (Buffer | Uint8Array)[]);
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
}
