import { Push } from 'zeromq';
import { bindEndpoint } from './endpoints.js';

type Parts = readonly (Buffer | Uint8Array)[];

export interface LosslessSenderStats {
  readonly queuedFrames: number;
  readonly queuedBytes: number;
  readonly peakQueuedBytes: number;
  readonly sentMessages: number;
}

/**
 * The saver's path: a PUSH socket (which waits rather than drops when the
 * peer is slow) behind a bounded queue in this process. The queue is the one
 * place where a frame can be lost, and `offer` says so, so the caller counts it.
 */
export class LosslessSender {
  private readonly socket: Push;
  private readonly queue: { parts: Parts; bytes: number }[] = [];
  private queuedBytes = 0;
  private peakQueuedBytes = 0;
  private sentMessages = 0;
  private pumping = false;
  private idleWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  private failure: Error | null = null;

  private constructor(
    socket: Push,
    readonly endpoint: string,
    readonly maxQueuedBytes: number,
  ) {
    this.socket = socket;
  }

  static async bind(endpoint: string, maxQueuedBytes: number): Promise<LosslessSender> {
    // A small ZeroMQ queue keeps the accounting here, where drops are counted;
    // linger -1 so close() still delivers what was queued.
    const socket = new Push({ sendHighWaterMark: 4, linger: -1 });
    const bound = await bindEndpoint(socket, endpoint, 'record');
    return new LosslessSender(socket, bound, maxQueuedBytes);
  }

  get stats(): LosslessSenderStats {
    return {
      queuedFrames: this.queue.length,
      queuedBytes: this.queuedBytes,
      peakQueuedBytes: this.peakQueuedBytes,
      sentMessages: this.sentMessages,
    };
  }

  hasRoomFor(bytes: number): boolean {
    // An empty queue always takes one frame, so a frame larger than the
    // buffer is still delivered rather than dropped forever.
    return this.queue.length === 0 || this.queuedBytes + bytes <= this.maxQueuedBytes;
  }

  /** Queues a frame if the buffer has room; false means it was not queued (a drop). */
  offer(parts: Parts, bytes: number): boolean {
    this.throwIfFailed();
    if (!this.hasRoomFor(bytes)) return false;
    this.enqueue(parts, bytes);
    return true;
  }

  /** Queues a run message; these are never dropped. */
  sendAlways(parts: Parts): void {
    this.throwIfFailed();
    this.enqueue(parts, 0);
  }

  /** Resolves once `bytes` fit: for sources that can wait for the saver. */
  async waitForRoom(bytes: number): Promise<void> {
    while (!this.hasRoomFor(bytes)) {
      this.throwIfFailed();
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /** Resolves when every queued message has been handed to ZeroMQ. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.pumping) {
      this.throwIfFailed();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    this.throwIfFailed();
  }

  /** Closes after ZeroMQ delivered what it holds (bounded by lingerMs). */
  close(lingerMs = -1): void {
    this.socket.linger = lingerMs;
    this.socket.close();
  }

  private enqueue(parts: Parts, bytes: number): void {
    this.queue.push({ parts, bytes });
    this.queuedBytes += bytes;
    if (this.queuedBytes > this.peakQueuedBytes) this.peakQueuedBytes = this.queuedBytes;
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        await this.socket.send(next.parts as (Buffer | Uint8Array)[]);
        this.queue.shift();
        this.queuedBytes -= next.bytes;
        this.sentMessages += 1;
        this.wake(this.roomWaiters);
      }
    } catch (error) {
      this.failure = error as Error;
      this.wake(this.roomWaiters);
    } finally {
      this.pumping = false;
      this.wake(this.idleWaiters);
    }
  }

  private wake(waiters: (() => void)[]): void {
    const all = waiters.splice(0, waiters.length);
    for (const resolve of all) resolve();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}
