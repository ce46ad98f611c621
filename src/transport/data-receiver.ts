import type { Socket } from 'zeromq';
import { Pull, Subscriber } from './zeromq.js';
import { decodeDataMessages, type DataMessage } from '../protocol/codec.js';
import { curveClientOptions, onHandshakeFailure } from './curve.js';
import type { SharedMemoryAddon } from '../native/native-addon.js';
import { FrameRingReaders, ringRefSchema } from './frame-ring.js';
import { receiveUnlessClosed } from './receive.js';

export interface MalformedReport {
  readonly count: number;
  readonly lastReason: string | null;
}

/**
 * The receiving end of the data stream, for any subscriber process: connects,
 * decodes and validates each message. A malformed message is counted and
 * skipped, never thrown, so a bad peer cannot kill a subscriber.
 */
export class DataReceiver {
  private malformedCount = 0;
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | null = null;
  private lastMalformedReason: string | null = null;

  private readonly rings: FrameRingReaders | null;

  private constructor(
    private readonly socket: Pull | Subscriber,
    sharedMemory: SharedMemoryAddon | null = null,
  ) {
    this.rings = sharedMemory === null ? null : new FrameRingReaders(sharedMemory);
    // ZeroMQ allocates a buffer for every message received: reuse freed memory rather than fault in fresh pages.
    sharedMemory?.keepFreedMemory();
  }

  /**
   * The lossless path (the saver's): PULL from the acquisition's record
   * endpoint. With `sharedMemory`, frames sent through shared memory are
   * taken too (src/transport/frame-ring.ts): each is valid until the consumer
   * asks for the next message.
   */
  static pull(endpoint: string, serverKey: string | null = null, sharedMemory: SharedMemoryAddon | null = null): DataReceiver {
    // A local (ipc) saver may start before its acquisition binds the socket:
    // retry the connection soon, not after libzmq's default 100 ms.
    const reconnect = endpoint.startsWith('ipc://') ? { reconnectInterval: 10 } : {};
    const socket = new Pull({ receiveHighWaterMark: 4, linger: 0, ...reconnect, ...curveClientOptions(serverKey) });
    socket.connect(endpoint);
    return new DataReceiver(socket, sharedMemory);
  }

  /** The live path (viewers, analysis): SUB to the data endpoint. */
  static subscribe(endpoint: string, topics: readonly string[] = [''], serverKey: string | null = null): DataReceiver {
    const socket = new Subscriber({ receiveHighWaterMark: 16, linger: 0, ...curveClientOptions(serverKey) });
    socket.connect(endpoint);
    for (const topic of topics) socket.subscribe(topic);
    return new DataReceiver(socket);
  }

  get malformed(): MalformedReport {
    return { count: this.malformedCount, lastReason: this.lastMalformedReason };
  }

  /** Calls `listener` when the peer refuses the security handshake (a wrong or missing CURVE server key). */
  onHandshakeFailure(listener: (code: string) => void): void {
    onHandshakeFailure(this.socket, listener);
  }

  get closed(): boolean {
    return (this.socket as Socket).closed;
  }

  /** Valid messages until the socket is closed. */
  async *messages(): AsyncGenerator<DataMessage> {
    for await (const received of this.received()) yield* received;
  }

  /**
   * Like messages(), a received message at a time: a batch's frames come
   * together, so a consumer that handles them synchronously takes no turn of
   * the event loop per frame (an async generator's yield per frame cost
   * ~0.35 µs, ~5 % of the saver's CPU per 64² frame). A frame in shared
   * memory is valid until the next call.
   */
  async *received(): AsyncGenerator<readonly DataMessage[]> {
    const rings = this.rings;
    const sharedPixels = rings === null ? null : (reference: unknown) => rings.view(ringRefSchema.parse(reference));
    try {
      while (!this.socket.closed) {
        const parts = await receiveUnlessClosed(this.socket);
        if (parts === null) return;
        this.lastActivity = Date.now();
        const decoded = decodeDataMessages(parts, sharedPixels);
        if (decoded.ok) {
          yield decoded.messages;
        } else {
          this.malformedCount += 1;
          this.lastMalformedReason = decoded.reason;
        }
        // The consumer is done with the frame (or it was refused): its shared-memory slot goes back.
        rings?.release();
      }
    } finally {
      rings?.release();
    }
  }

  /**
   * Ends `messages()` once nothing has arrived for `idleMs`, so what a dead
   * peer already delivered is still consumed rather than discarded.
   */
  closeWhenIdle(idleMs: number): void {
    // Already closed (the run ended): a timer now would only hold the process up for idleMs.
    if (this.idleTimer !== null || this.socket.closed) return;
    this.lastActivity = Date.now();
    this.idleTimer = setInterval(
      () => {
        if (Date.now() - this.lastActivity >= idleMs) this.close();
      },
      Math.max(10, idleMs / 5),
    );
  }

  close(): void {
    if (this.idleTimer !== null) clearInterval(this.idleTimer);
    this.idleTimer = null;
    if (!this.socket.closed) this.socket.close();
  }
}
