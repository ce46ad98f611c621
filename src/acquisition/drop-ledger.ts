/**
 * Dropped sequence numbers of one run, kept as [first_seq, count] ranges so a
 * long overload costs one entry, not one per frame.
 */
export class DropLedger {
  private readonly ranges: [number, number][] = [];
  private total = 0;

  record(seq: number): void {
    const last = this.ranges[this.ranges.length - 1];
    if (last !== undefined && last[0] + last[1] === seq) last[1] += 1;
    else this.ranges.push([seq, 1]);
    this.total += 1;
  }

  get count(): number {
    return this.total;
  }

  snapshot(): [number, number][] {
    return this.ranges.map(([first, count]) => [first, count]);
  }
}
