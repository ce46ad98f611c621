import { Publisher } from './zeromq.js';
import { encodeAnalysisResult, type AnalysisResultHeaderInput, type ResultArray } from '../protocol/analysis.js';
import { curveClientOptions } from './curve.js';

/** Results waiting for the socket; beyond this the oldest go (and are counted). */
const MAX_QUEUED = 256;
const CLOSE_LINGER_MS = 500;

/**
 * An analysis process's side of the results endpoint: a PUB connected to
 * serve's results_in (XSUB), which forwards to every subscriber of `results`.
 * Never waits, and throws only for a result that cannot be encoded: PUB drops
 * for a subscriber that is full, and a backlog here (one send at a time in
 * zeromq.js) is bounded.
 */
export class ResultsPublisher {
  private readonly queue: Buffer[][] = [];
  private sending = false;
  private closing: (() => void) | null = null;
  sent = 0;
  dropped = 0;

  private constructor(private readonly socket: Publisher) {}

  /** `serverKey`: serve's CURVE public key, when its endpoints have keys. */
  static connect(endpoint: string, serverKey: string | null = null): ResultsPublisher {
    const socket = new Publisher({ sendHighWaterMark: 1000, linger: CLOSE_LINGER_MS, ...curveClientOptions(serverKey) });
    socket.connect(endpoint);
    return new ResultsPublisher(socket);
  }

  /** Throws (before anything is queued) when the result cannot be encoded, e.g. a body JSON cannot hold. */
  publish(header: AnalysisResultHeaderInput, body: unknown, arrays: readonly (readonly [string, ResultArray])[] = []): void {
    const parts = encodeAnalysisResult(header, body, arrays);
    if (this.closing !== null || this.socket.closed) return;
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      this.dropped += 1;
    }
    this.queue.push(parts);
    if (!this.sending) void this.pump();
  }

  /** Closes once what was published is handed to ZeroMQ (which then lingers briefly to send it). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.closing = resolve;
      if (!this.sending) this.finish();
    });
  }

  private finish(): void {
    if (!this.socket.closed) this.socket.close();
    this.closing?.();
  }

  private async pump(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      try {
        await this.socket.send(this.queue.shift()!);
        this.sent += 1;
      } catch {
        this.dropped += 1;
      }
    }
    this.sending = false;
    if (this.closing !== null) this.finish();
  }
}
