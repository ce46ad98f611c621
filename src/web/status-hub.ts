import type { ExperimentStatus } from '../protocol/control.js';
import { StatusSubscriber } from '../transport/status-channel.js';
import type { CommandChannel } from './web-control.js';

export type StatusListener = (status: ExperimentStatus) => void;

/**
 * The web server's one subscription to the controller's status stream,
 * shared by every browser: the latest status (asked for once at start, as
 * the stream only carries changes) and a fan-out to listeners.
 */
export class StatusHub {
  latest: ExperimentStatus | null = null;
  private readonly listeners = new Set<StatusListener>();
  private subscriber: StatusSubscriber | null = null;

  constructor(private readonly control: CommandChannel) {}

  /** Subscribes to `endpoint` (if given; `serverKey` for a CURVE server) and fetches the current status. */
  start(endpoint: string | null, serverKey: string | null = null): void {
    if (endpoint !== null) {
      const subscriber = StatusSubscriber.connect(endpoint, serverKey);
      this.subscriber = subscriber;
      void (async () => {
        for await (const status of subscriber) this.update(status);
      })();
    }
    void this.refresh().catch(() => undefined);
  }

  /** Asks the controller for the status now. */
  async refresh(): Promise<ExperimentStatus> {
    const status = (await this.control.request({ cmd: 'status' })) as ExperimentStatus;
    this.update(status);
    return status;
  }

  /** Also called with the status a command replied with, which can be newer than the stream's last. */
  update(status: ExperimentStatus): void {
    this.latest = status;
    for (const listener of this.listeners) listener(status);
  }

  listen(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    this.subscriber?.close();
    this.subscriber = null;
  }
}
