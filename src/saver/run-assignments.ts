import type { SaverRun } from '../protocol/process-messages.js';

/**
 * The runs a saver process is to save, in the order they were handed to it:
 * the one it was started with (labcast record's saver), or those serve hands
 * its resident saver one by one (`save` commands). `end()` says no more will
 * come (shutdown, or the supervisor gone).
 */
export class RunAssignments {
  private readonly runs: SaverRun[] = [];
  private ended = false;
  private waiter: (() => void) | null = null;

  add(run: SaverRun): void {
    if (this.ended) return;
    this.runs.push(run);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** No run waits to be taken. */
  get idle(): boolean {
    return this.runs.length === 0;
  }

  /** The next run, once there is one; null once ended with none left. */
  async next(): Promise<SaverRun | null> {
    while (this.runs.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    return this.runs.shift() ?? null;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}
