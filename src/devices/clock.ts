/**
 * Integer nanoseconds since the Unix epoch with monotonic steps: the wall
 * clock is read once, then advanced by the monotonic clock, so timestamps
 * never go backwards when NTP adjusts the system time mid-run.
 */
const anchorWallNs = BigInt(Date.now()) * 1_000_000n;
const anchorMonotonicNs = process.hrtime.bigint();

export function epochNowNs(): bigint {
  return anchorWallNs + (process.hrtime.bigint() - anchorMonotonicNs);
}

/** Capture timestamps for one camera: strictly increasing, so two frames never share a stamp. */
export class CaptureClock {
  private lastNs = 0n;

  nextTimestampNs(): bigint {
    let now = epochNowNs();
    if (now <= this.lastNs) now = this.lastNs + 1n;
    this.lastNs = now;
    return now;
  }
}
