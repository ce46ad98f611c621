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
    const ranges = this.ranges;
    // The first range that starts after seq (in-order drops: the end, at once).
    let index = ranges.length;
    while (index > 0 && ranges[index - 1]![0] > seq) index -= 1;
    const before = ranges[index - 1];
    if (before !== undefined && seq < before[0] + before[1]) return; // already recorded
    const after = ranges[index];
    const joinsBefore = before !== undefined && before[0] + before[1] === seq;
    const joinsAfter = after !== undefined && after[0] === seq + 1;
    if (joinsBefore && joinsAfter) {
      before[1] += 1 + after[1];
      ranges.splice(index, 1);
    } else if (joinsBefore) {
      before[1] += 1;
    } else if (joinsAfter) {
      after[0] = seq;
      after[1] += 1;
    } else {
      ranges.splice(index, 0, [seq, 1]);
    }
    this.total += 1;
  }

  /** `count` consecutive sequence numbers from `first` (in order, as a camera reports a loss, so each joins at the end). */
  recordRun(first: number, count: number): void {
    for (let seq = first; seq < first + count; seq++) this.record(seq);
  }

  get count(): number {
    return this.total;
  }

  snapshot(): [number, number][] {
    return this.ranges.map(([first, count]) => [first, count]);
  }
}
