/** Frames per second over a sliding window of counter samples. */
export class RateMeter {
  private samples: { at: number; count: number }[] = [];

  constructor(private readonly windowMs = 2000) {}

  sample(count: number, at = performance.now()): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && count < last.count) this.samples = []; // a new run restarted the counter
    this.samples.push({ at, count });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }

  reset(): void {
    this.samples = [];
  }

  perSecond(now = performance.now()): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last === first) return 0;
    // A counter that stopped moving has no rate, however recent its last change.
    if (now - last.at > this.windowMs) return 0;
    return ((last.count - first.count) * 1000) / (last.at - first.at);
  }
}
