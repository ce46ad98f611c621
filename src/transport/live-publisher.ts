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
  private skipped = 0;
  private published = 0;

  private constructor(
    private readonly socket: Publisher,
    readonly endpoint: string,
  ) {}

  static async bind(endpoint: string, highWaterMark = 16): Promise<LivePublisher> {
    const socket = new Publisher({ sendHighWaterMark: highWaterMark, linger: 0 });
    const bound = await bindEndpoint(socket, endpoint, 'data');
    return new LivePublisher(socket, bound);
  }

  get stats(): { published: number; skipped: number } {
    return { published: this.published, skipped: this.skipped };
  }

  /** Never waits: a message that cannot go out now is skipped and counted. */
  publish(parts: Parts): void {
    if (this.sending) {
      this.skipped += 1;
      return;
    }
    this.sending = true;
    this.socket
      .send(parts as (Buffer | Uint8Array)[])
      .then(
        () => {
          this.published += 1;
        },
        () => {
          this.skipped += 1;
        },
      )
      .finally(() => {
        this.sending = false;
      });
  }

  close(): void {
    this.socket.close();
  }
}
