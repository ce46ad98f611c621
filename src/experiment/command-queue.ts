/**
 * Runs state-changing work one piece at a time, in arrival order, so two
 * commands never interleave halfway through a transition.
 */
export class CommandQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
