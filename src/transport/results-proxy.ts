import { curveServerOptions, type CurveKeyPair } from './curve.js';
import { XPublisher, XSubscriber } from './zeromq.js';
import { bindEndpoint } from './endpoints.js';
import { receiveUnlessClosed } from './receive.js';

/**
 * The results hub of labcast serve: analysis processes (labcast's, or a
 * Python script) connect a PUB to `results_in` (XSUB); anyone subscribes to
 * `results` (XPUB) with a SUB. Results are forwarded one way and
 * subscriptions the other, so a publisher only sends topics someone wants.
 *
 * A small JavaScript loop rather than zeromq.js's Proxy: that one runs on a
 * libuv worker thread for the life of serve, and a process that exits while
 * it runs (a second Ctrl-C, a fatal error) hangs for ever in ZeroMQ's context
 * termination. Results are small and few (one per analysed frame), so the
 * event loop does not notice them; XPUB drops for a subscriber 1000 behind
 * instead of waiting, so a slow subscriber holds up no one.
 */
export class ResultsProxy {
  /** Messages forwarded from results_in to results. */
  forwarded = 0;

  private constructor(
    private readonly frontEnd: XSubscriber,
    private readonly backEnd: XPublisher,
    /** Subscribers connect here (SUB). */
    readonly results: string,
    /** Publishers connect here (PUB). */
    readonly resultsIn: string,
  ) {
    void this.forwardResults();
    void this.forwardSubscriptions();
  }

  /** Binds both endpoints (LabcastError ENDPOINT_IN_USE naming the role if one is taken) and starts forwarding. */
  static async bind(resultsEndpoint: string, resultsInEndpoint: string, curve: CurveKeyPair | null = null): Promise<ResultsProxy> {
    // With keys, both sides are CURVE servers: publishers and subscribers need the server key.
    const backEnd = new XPublisher({ sendHighWaterMark: 1000, linger: 0, ...curveServerOptions(curve) });
    const frontEnd = new XSubscriber({ receiveHighWaterMark: 1000, linger: 0, ...curveServerOptions(curve) });
    try {
      const resultsIn = await bindEndpoint(frontEnd, resultsInEndpoint, 'results_in');
      const results = await bindEndpoint(backEnd, resultsEndpoint, 'results');
      return new ResultsProxy(frontEnd, backEnd, results, resultsIn);
    } catch (error) {
      frontEnd.close();
      backEnd.close();
      throw error;
    }
  }

  /** Stops forwarding and closes both sockets. Idempotent. */
  async close(): Promise<void> {
    if (!this.frontEnd.closed) this.frontEnd.close();
    if (!this.backEnd.closed) this.backEnd.close();
  }

  private async forwardResults(): Promise<void> {
    for (;;) {
      const message = await receiveUnlessClosed(this.frontEnd).catch(() => null);
      if (message === null || this.backEnd.closed) return;
      try {
        await this.backEnd.send(message);
        this.forwarded += 1;
      } catch {
        if (this.backEnd.closed) return;
      }
    }
  }

  private async forwardSubscriptions(): Promise<void> {
    for (;;) {
      const message = await receiveUnlessClosed(this.backEnd).catch(() => null);
      if (message === null || this.frontEnd.closed) return;
      try {
        await this.frontEnd.send(message);
      } catch {
        if (this.frontEnd.closed) return;
      }
    }
  }
}
