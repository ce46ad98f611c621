/**
 * Dropped sequence numbers of one run, kept as [first_seq, count] ranges so a
 * long overload costs one entry, not one per frame.
 */
export class DropLedger {
  private readonly ranges: [number, number][] = [];
  private total = 0;

  record(seq: number): void {
    this.recordRun(seq, 1);
  }

  /** `count` consecutive sequence numbers from `first`. */
  recordRun(first: number, count: number): void {
    if (count <= 0) return;
    const last = this.ranges[this.ranges.length - 1];
    if (last !== undefined && last[0] + last[1] === first) last[1] += count;
    else this.ranges.push([first, count]);
    this.total += count;
  }

  get count(): number {
    return this.total;
  }

  snapshot(): [number, number][] {
    return this.ranges.map(([first, count]) => [first, count]);
  }
}
