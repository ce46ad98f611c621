/**
 * Dropped sequence numbers of one run, kept as [first_seq, count] ranges so a
 * long overload costs one entry, not one per frame. Ranges are always sorted
 * and merged: drops arrive in order while the run goes, but the frames lost to
 * a saver that went away (abandonSaving) are recorded at the end, after later
 * drops, and land in their place.
 */
export class DropLedger {
  private readonly ranges: [number, number][] = [];
  private total = 0;

  record(seq: number): void {
    this.recordRun(seq, 1);
  }

  /** `count` consecutive sequence numbers from `first`; numbers already recorded count once. */
  recordRun(first: number, count: number): void {
    if (count <= 0) return;
    const ranges = this.ranges;
    // Back from the end to the first range that touches [first, ...) (in-order drops: the last one, at once).
    let index = ranges.length;
    while (index > 0 && ranges[index - 1]![0] + ranges[index - 1]![1] >= first) index -= 1;
    // Every range from there that starts no later than the new one's end merges with it.
    let start = first;
    let end = first + count;
    let alreadyRecorded = 0;
    let next = index;
    for (; next < ranges.length && ranges[next]![0] <= end; next++) {
      const [rangeFirst, rangeCount] = ranges[next]!;
      alreadyRecorded += rangeCount;
      start = Math.min(start, rangeFirst);
      end = Math.max(end, rangeFirst + rangeCount);
    }
    ranges.splice(index, next - index, [start, end - start]);
    this.total += end - start - alreadyRecorded;
  }

  get count(): number {
    return this.total;
  }

  snapshot(): [number, number][] {
    return this.ranges.map(([first, count]) => [first, count]);
  }
}
