// @ts-check
// Frames and their analysis results travel on separate sockets, and at 100 fps a marker drawn
// from an earlier frame's result sits visibly off the bead. While spot markers are shown, a
// frame is held (briefly) until its own result has come, and is then drawn with its markers;
// a frame whose result does not come in time (the analysis skipped it) is drawn without any.

/** How long a frame waits for its result before it is drawn without markers. */
export const HOLD_MS = 150;
/** Frames waiting at most; the oldest goes first when more come. */
const MAX_WAITING = 12;

/**
 * @typedef {object} HeldFrame
 * @property {string} run_id
 * @property {number} seq
 * @property {number} at performance.now() when it came
 * @property {() => void} show draws it
 */

export class FrameSync {
  /**
   * @param {(runId: string, seq: number) => boolean} hasResult whether the result of that frame is in
   * @param {() => boolean} active whether frames wait for results at all (markers shown, an analysis sending them)
   */
  constructor(hasResult, active) {
    this.hasResult = hasResult;
    this.active = active;
    /** @type {HeldFrame[]} oldest first */
    this.waiting = [];
    /** @type {{ run_id: string, seq: number } | null} */
    this.shown = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    /**
     * For tests and people: while frames wait for results, frames drawn with their own result and
     * without (it never came in time); `held`: frames that waited; `direct`: drawn at once, no analysis to wait for.
     */
    this.stats = { matched: 0, unmatched: 0, held: 0, direct: 0 };
  }

  /**
   * A frame came: drawn at once, or held until its result comes.
   * @param {{ run_id: string, seq: number }} frame
   * @param {() => void} show
   */
  offer(frame, show) {
    if (!this.active()) {
      this.waiting = [];
      this.present({ ...frame, at: 0, show }, null);
      return;
    }
    if (this.hasResult(frame.run_id, frame.seq)) {
      // Its result came first: whatever waited is older and goes.
      this.waiting = [];
      this.present({ ...frame, at: 0, show }, true);
      return;
    }
    this.stats.held += 1;
    this.waiting.push({ run_id: frame.run_id, seq: frame.seq, at: performance.now(), show });
    if (this.waiting.length > MAX_WAITING) this.waiting.shift();
    this.schedule();
  }

  /** A result came: the newest waiting frame that now has its result is drawn, the older ones go. */
  resultArrived() {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const held = this.waiting[i];
      if (this.hasResult(held.run_id, held.seq)) {
        this.waiting = this.waiting.slice(i + 1);
        this.present(held, true);
        this.schedule();
        return;
      }
    }
  }

  /** Frames that waited long enough are drawn without markers (the newest of them), unless a newer one is shown. */
  expire() {
    this.timer = null;
    const now = performance.now();
    let expired = -1;
    for (let i = 0; i < this.waiting.length; i++) if (now - this.waiting[i].at >= HOLD_MS) expired = i;
    if (expired >= 0) {
      const held = this.waiting[expired];
      this.waiting = this.waiting.slice(expired + 1);
      this.present(held, false);
    }
    this.schedule();
  }

  schedule() {
    if (this.timer !== null || this.waiting.length === 0) return;
    const wait = Math.max(0, HOLD_MS - (performance.now() - this.waiting[0].at));
    this.timer = setTimeout(() => this.expire(), wait);
  }

  /**
   * @param {HeldFrame} frame
   * @param {boolean | null} matched null: not synced (no analysis results to wait for)
   */
  present(frame, matched) {
    const shown = this.shown;
    // Never step back: a frame older than the one on screen is not drawn. The same frame again is
    // drawn: the server sends it re-rendered for new levels or a zoomed view when no newer one came.
    if (shown !== null && shown.run_id === frame.run_id && frame.seq < shown.seq) return;
    this.shown = { run_id: frame.run_id, seq: frame.seq };
    if (matched === null) this.stats.direct += 1;
    else if (matched) this.stats.matched += 1;
    else this.stats.unmatched += 1;
    frame.show();
  }
}
