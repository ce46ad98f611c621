import type { AnalysisResult } from '../protocol/analysis.js';
import { ResultsSubscriber } from '../transport/results-subscriber.js';

/**
 * The web server's subscription to analysis results (serve's results
 * endpoint), shared by every browser on /ws/results and open only while one
 * is connected. Each result goes to each browser as one text message:
 *
 *   {"type":"result","name","kind","run_id","seq","camera_ts_ns":"<decimal>",
 *    "shape","analysis_ms","body":{...},"arrays":{name:[...]}}
 *
 * A browser whose socket is backed up skips results (counted in `skipped`)
 * rather than queueing them: the page wants the newest.
 */

/** What the hub needs of a WebSocket (the `ws` library's satisfies it). */
export interface ResultsSocket {
  send(data: string, callback: (error?: Error) => void): void;
  readonly bufferedAmount: number;
  readonly readyState: number;
}

const OPEN = 1;
/** Beyond this much unsent data a browser skips results. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** Typed-array parts larger than this are not forwarded to browsers (their length is). */
const MAX_FORWARDED_ARRAY = 65_536;

export class ResultsClient {
  sent = 0;
  skipped = 0;
  constructor(readonly socket: ResultsSocket) {}
}

export class ResultsHub {
  private readonly clients = new Set<ResultsClient>();
  private subscriber: ResultsSubscriber | null = null;
  /** Counts of the subscribers closed so far (one per spell with a browser attached). */
  private earlier = { received: 0, malformed: 0 };
  private closed = false;

  /** `serverKey`: the CURVE public key of the results endpoint's server, when it has one. */
  constructor(
    private readonly endpoint: string | null,
    private readonly serverKey: string | null = null,
  ) {}

  get received(): number {
    return this.earlier.received + (this.subscriber?.received ?? 0);
  }

  get malformed(): number {
    return this.earlier.malformed + (this.subscriber?.malformed ?? 0);
  }

  get available(): boolean {
    return this.endpoint !== null;
  }

  attach(socket: ResultsSocket): ResultsClient {
    const client = new ResultsClient(socket);
    this.clients.add(client);
    if (this.subscriber === null && !this.closed && this.endpoint !== null) this.subscribe(this.endpoint);
    return client;
  }

  detach(client: ResultsClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.unsubscribe();
  }

  close(): void {
    this.closed = true;
    this.clients.clear();
    this.unsubscribe();
  }

  private subscribe(endpoint: string): void {
    const subscriber = ResultsSubscriber.connect(endpoint, this.serverKey);
    this.subscriber = subscriber;
    void (async () => {
      for await (const result of subscriber) this.dispatch(browserMessage(result));
    })();
  }

  private unsubscribe(): void {
    if (this.subscriber === null) return;
    this.subscriber.close();
    this.earlier.received += this.subscriber.received;
    this.earlier.malformed += this.subscriber.malformed;
    this.subscriber = null;
  }

  private dispatch(message: string): void {
    for (const client of this.clients) {
      const { socket } = client;
      if (socket.readyState !== OPEN) continue;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        client.skipped += 1;
        continue;
      }
      client.sent += 1;
      socket.send(message, () => undefined);
    }
  }
}

/** A result as the page takes it: nanoseconds as decimal strings, small arrays as JSON lists. */
export function browserMessage(result: AnalysisResult): string {
  const { header, body } = result;
  const arrays: Record<string, number[] | { length: number }> = {};
  for (const [name, array] of Object.entries(result.arrays)) {
    arrays[name] = array.length <= MAX_FORWARDED_ARRAY ? Array.from(array) : { length: array.length };
  }
  return JSON.stringify(
    {
      type: 'result',
      name: header.name,
      kind: header.kind ?? null,
      run_id: header.run_id,
      seq: header.seq,
      camera_ts_ns: header.camera_ts_ns.toString(),
      shape: header.shape ?? null,
      analysis_ms: header.analysis_ms ?? null,
      body,
      arrays,
    },
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
  );
}
