import type { AnalysisResult } from '../protocol/analysis.js';
import { ResultsSubscriber } from '../transport/results-subscriber.js';

/**
 * The saver's subscription to analysis results: taken from serve's results
 * channel from the moment it connects (before the run starts, so that results
 * of its first frames are not missed) and handed to the run's listener.
 */
export class ResultsSubscription {
  private listener: (result: AnalysisResult) => void = () => undefined;

  private constructor(private readonly subscriber: ResultsSubscriber) {
    void this.take();
  }

  /** `serverKey`: serve's CURVE public key when its endpoints are secured (the same key as the record endpoint's). */
  static connect(endpoint: string, serverKey: string | null = null): ResultsSubscription {
    // A deep queue: a run's results may arrive faster than the saver, busy writing frames, takes them.
    return new ResultsSubscription(ResultsSubscriber.connect(endpoint, serverKey, 10_000));
  }

  get received(): number {
    return this.subscriber.received;
  }

  get malformed(): number {
    return this.subscriber.malformed;
  }

  get lastMalformed(): string | null {
    return this.subscriber.lastMalformed;
  }

  onResult(listener: (result: AnalysisResult) => void): void {
    this.listener = listener;
  }

  close(): void {
    this.subscriber.close();
  }

  private async take(): Promise<void> {
    for await (const result of this.subscriber) {
      try {
        this.listener(result);
      } catch {
        // The listener (the writer's buffer) does not throw; if it did, the result is lost, not the saver.
      }
    }
  }
}
