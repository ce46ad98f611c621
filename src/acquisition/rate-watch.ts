/**
 * The rate a camera delivers, against the rate it was asked for. A camera
 * that cannot keep up (a simulator asked for 1000 fps at 1024², a process
 * short of CPU) must say so rather than run slower in silence.
 */

/** The current rate is judged over at least this long, so one late frame is no shortfall. */
export const RATE_WINDOW_MS = 1000;

export interface RateReport {
  /** What the camera was asked for; null when nothing sets a rate. */
  readonly requested: number | null;
  /** Over the last RATE_WINDOW_MS or more; null until the run is that long. */
  readonly achieved: number | null;
}

/** Frame arrivals of one run: the current rate over a sliding window, and the rate over the whole run. */
export class RateWatch {
  private frames = 0;
  private firstMs: number | null = null;
  private lastMs: number | null = null;
  /** (time, frames so far) at each sample(); the oldest kept is the newest at least a window old. */
  private samples: { atMs: number; frames: number }[] = [];

  constructor(readonly requested: number | null) {}

  /** One frame arrived (monotonic ms, performance.now()). */
  frame(atMs: number): void {
    this.frames += 1;
    this.firstMs ??= atMs;
    this.lastMs = atMs;
  }

  /** Called periodically (each progress report): remembers where the count stood. */
  sample(atMs: number): void {
    this.samples.push({ atMs, frames: this.frames });
    while (this.samples.length > 2 && atMs - this.samples[1]!.atMs >= RATE_WINDOW_MS) this.samples.shift();
  }

  /** The rate over the last window (RATE_WINDOW_MS or a little more); null until a window has passed. */
  current(): RateReport {
    const oldest = this.samples[0];
    const newest = this.samples[this.samples.length - 1];
    if (oldest === undefined || newest === undefined || newest.atMs - oldest.atMs < RATE_WINDOW_MS) {
      return { requested: this.requested, achieved: null };
    }
    return { requested: this.requested, achieved: ((newest.frames - oldest.frames) * 1000) / (newest.atMs - oldest.atMs) };
  }

  /**
   * The rate over the whole run: frame intervals over the time from the first
   * frame to the last. Null for fewer than two frames, or a run shorter than a
   * window (too short to judge a rate by).
   */
  overall(): RateReport {
    if (this.firstMs === null || this.lastMs === null || this.frames < 2) return { requested: this.requested, achieved: null };
    const spanMs = this.lastMs - this.firstMs;
    if (spanMs < RATE_WINDOW_MS) return { requested: this.requested, achieved: null };
    return { requested: this.requested, achieved: ((this.frames - 1) * 1000) / spanMs };
  }
}
