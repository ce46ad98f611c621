import { Subscriber } from './zeromq.js';
import { decodeAnalysisResult, type AnalysisResult } from '../protocol/analysis.js';
import { ANALYSIS_TOPIC_PREFIX } from '../protocol/messages.js';
import { curveClientOptions } from './curve.js';
import { receiveUnlessClosed } from './receive.js';

/**
 * A subscriber to analysis results (serve's results endpoint, topic prefix
 * `analysis/`), as an async iterable of decoded results that ends when the
 * subscriber is closed. Results are small and lossy by design: SUB drops what
 * it cannot take (beyond `receiveHighWaterMark`), nothing here waits on the
 * frames' path, and a message that is not a valid result is counted and
 * skipped (anyone may publish to results_in). One consumer iterates it.
 */
export class ResultsSubscriber implements AsyncIterable<AnalysisResult> {
  received = 0;
  malformed = 0;
  lastMalformed: string | null = null;

  private constructor(private readonly socket: Subscriber) {}

  /** `serverKey`: serve's CURVE public key when its endpoints are secured (the same key as the record endpoint's). */
  static connect(endpoint: string, serverKey: string | null = null, receiveHighWaterMark = 1000): ResultsSubscriber {
    const socket = new Subscriber({ receiveHighWaterMark, linger: 0, ...curveClientOptions(serverKey) });
    socket.connect(endpoint);
    socket.subscribe(ANALYSIS_TOPIC_PREFIX);
    return new ResultsSubscriber(socket);
  }

  get closed(): boolean {
    return this.socket.closed;
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AnalysisResult> {
    for (;;) {
      const parts = await receiveUnlessClosed(this.socket).catch(() => null);
      if (parts === null) return;
      const decoded = decodeAnalysisResult(parts);
      if (!decoded.ok) {
        this.malformed += 1;
        this.lastMalformed = decoded.reason.slice(0, 500);
        continue;
      }
      this.received += 1;
      yield decoded.result;
    }
  }
}
