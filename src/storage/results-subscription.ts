import { Subscriber } from 'zeromq';
import { decodeAnalysisResult, type AnalysisResult } from '../protocol/analysis.js';
import { ANALYSIS_TOPIC_PREFIX } from '../protocol/messages.js';
import { curveClientOptions } from '../transport/curve.js';
import { receiveUnlessClosed } from '../transport/receive.js';

/**
 * The saver's subscription to analysis results (serve's results endpoint,
 * topic prefix `analysis/`). Results are small and lossy by design: SUB drops
 * what it cannot take, nothing here waits on the frames' path, and a message
 * that is not a valid result is counted and skipped.
 */
export class ResultsSubscription {
  received = 0;
  malformed = 0;
  lastMalformed: string | null = null;
  private listener: (result: AnalysisResult) => void = () => undefined;

  private constructor(private readonly socket: Subscriber) {
    void this.receive();
  }

  /** `serverKey`: serve's CURVE public key when its endpoints are secured (the same key as the record endpoint's). */
  static connect(endpoint: string, serverKey: string | null = null): ResultsSubscription {
    const socket = new Subscriber({ receiveHighWaterMark: 10_000, linger: 0, ...curveClientOptions(serverKey) });
    socket.connect(endpoint);
    socket.subscribe(ANALYSIS_TOPIC_PREFIX);
    return new ResultsSubscription(socket);
  }

  onResult(listener: (result: AnalysisResult) => void): void {
    this.listener = listener;
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }

  private async receive(): Promise<void> {
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
      try {
        this.listener(decoded.result);
      } catch {
        // The listener (the writer's buffer) does not throw; if it did, the result is lost, not the saver.
      }
    }
  }
}
