/** A run of missing frame ids: [first_missing_id, count]. */
export type FrameGap = readonly [number, number];

/**
 * Finds missing frame ids from the ids a consumer receives. Ids start at 0 for
 * each run and must arrive in increasing order; a frame that arrives at or
 * below the last id seen is refused, since it would make the gap list lie.
 */
export class FrameGapTracker {
  private nextExpected = 0;
  private readonly found: FrameGap[] = [];

  /** Returns a message describing why the id is refused, or null when accepted. */
  check(id: number): string | null {
    if (!Number.isSafeInteger(id) || id < 0) return `frame id ${id} is not a non-negative integer`;
    if (id < this.nextExpected) {
      return `frame id ${id} arrived after id ${this.nextExpected - 1}; frames must arrive in increasing id order`;
    }
    return null;
  }

  /** Records an id that check() accepted. */
  observe(id: number): void {
    const refusal = this.check(id);
    if (refusal !== null) throw new RangeError(refusal);
    if (id > this.nextExpected) this.found.push([this.nextExpected, id - this.nextExpected]);
    this.nextExpected = id + 1;
  }

  /**
   * Gaps so far, plus the frames missing at the end when the producer's total
   * is known (missing trailing frames cannot be seen from the ids alone).
   */
  gaps(totalProduced: number | null = null): FrameGap[] {
    const all = [...this.found];
    if (totalProduced !== null && totalProduced > this.nextExpected) {
      all.push([this.nextExpected, totalProduced - this.nextExpected]);
    }
    return all;
  }
}

/** Gaps in an increasing list of ids (used to read a file whose gap list was never written). */
export function gapsInIds(ids: Iterable<number>): FrameGap[] {
  const tracker = new FrameGapTracker();
  for (const id of ids) tracker.observe(id);
  return tracker.gaps();
}
