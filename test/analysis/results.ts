import { Subscriber } from 'zeromq';
import { decodeAnalysisResult, type AnalysisResult } from '../../src/protocol/analysis.js';
import type { FrameHeader } from '../../src/protocol/messages.js';
import { DataReceiver } from '../../src/transport/data-receiver.js';

/**
 * A subscriber of serve's results endpoint for tests: every result of the
 * topics asked for, decoded; malformed messages are collected too, so a test
 * can assert there were none.
 */
export class ResultsSubscriber {
  readonly results: AnalysisResult[] = [];
  readonly malformed: string[] = [];
  private readonly socket: Subscriber;
  private readonly waiters: { accept: () => boolean; resolve: () => void }[] = [];

  constructor(endpoint: string, topics: readonly string[] = ['analysis/']) {
    this.socket = new Subscriber({ receiveHighWaterMark: 10_000, linger: 0 });
    this.socket.connect(endpoint);
    for (const topic of topics) this.socket.subscribe(topic);
    void this.loop();
  }

  /** Results of analysis `name` received so far. */
  of(name: string): AnalysisResult[] {
    return this.results.filter((result) => result.header.name === name);
  }

  /** Resolves once `count` results of `name` have arrived; rejects after `timeoutMs` saying how many did. */
  async waitFor(name: string, count: number, timeoutMs = 20_000): Promise<AnalysisResult[]> {
    const malformed = (): string =>
      this.malformed.length === 0 ? '' : `; ${this.malformed.length} malformed, the last: ${this.malformed[this.malformed.length - 1]}`;
    await this.until(
      () => this.of(name).length >= count,
      timeoutMs,
      () => `${count} results of "${name}" (got ${this.of(name).length}${malformed()})`,
    );
    return this.of(name);
  }

  async until(accept: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (accept()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what()}`)), timeoutMs);
      this.waiters.push({
        accept,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  close(): void {
    this.socket.close();
  }

  private async loop(): Promise<void> {
    for (;;) {
      let parts: Buffer[];
      try {
        parts = await this.socket.receive();
      } catch {
        return; // closed
      }
      const decoded = decodeAnalysisResult(parts);
      if (decoded.ok) this.results.push(decoded.result);
      else this.malformed.push(decoded.reason);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const waiter = this.waiters[i]!;
        if (waiter.accept()) {
          this.waiters.splice(i, 1);
          waiter.resolve();
        }
      }
    }
  }
}

/** Frame headers (and optionally pixels) from the data endpoint, by `${run_id}:${seq}`. */
export class FrameCollector {
  readonly headers = new Map<string, FrameHeader>();
  readonly pixels = new Map<string, Uint8Array>();
  private readonly receiver: DataReceiver;

  constructor(endpoint: string, keepPixels = false) {
    const receiver = DataReceiver.subscribe(endpoint, ['frame']);
    this.receiver = receiver;
    void (async () => {
      for await (const message of receiver.messages()) {
        if (message.topic !== 'frame') continue;
        const key = `${message.header.run_id}:${message.header.seq}`;
        this.headers.set(key, message.header);
        if (keepPixels) this.pixels.set(key, new Uint8Array(message.pixels));
      }
    })();
  }

  close(): void {
    this.receiver.close();
  }
}

export function frameKey(header: { run_id: string; seq: number }): string {
  return `${header.run_id}:${header.seq}`;
}
