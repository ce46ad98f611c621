/**
 * A first-in first-out queue whose head moves instead of its items: the
 * lossless queue of a source running ahead holds tens of thousands of small
 * frames, and taking a batch off the front of a plain array (splice) moved
 * all of them, per batch.
 */
export class FifoQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** The item `index` places from the front; call only with index < length. */
  at(index: number): T {
    return this.items[this.head + index] as T;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The first `count` items, as an array of their own. */
  first(count: number): T[] {
    return this.items.slice(this.head, this.head + count) as T[];
  }

  dropFirst(count: number): void {
    const end = Math.min(this.items.length, this.head + count);
    // Let go of what was taken, so it can be collected.
    this.items.fill(undefined, this.head, end);
    this.head = end;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  toArray(): T[] {
    return this.items.slice(this.head) as T[];
  }
}
