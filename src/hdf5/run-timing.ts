/**
 * The one definition of a run's duration and frame rate, used by the
 * recording summary, the status's last_recording, `labcast inspect` and the
 * file's /entry/acquisition/duration_s and frame_rate (docs/hdf5-layout.md):
 *
 *   duration = camera timestamp of the last frame in the file − that of the first
 *   rate     = (last frame id − first frame id) / duration
 *
 * The rate is the camera's, frames dropped on the way included (they have
 * ids); both are null with fewer than two frames. Start-up and the drain at
 * the end are not part of the run's duration.
 */
export interface RunTiming {
  readonly durationS: number | null;
  readonly fps: number | null;
}

export interface TimedFrame {
  readonly id: number;
  readonly cameraNs: bigint;
}

export function runTiming(first: TimedFrame | null, last: TimedFrame | null): RunTiming {
  if (first === null || last === null || last.id <= first.id) return { durationS: null, fps: null };
  const durationS = Number(last.cameraNs - first.cameraNs) / 1e9;
  return { durationS, fps: durationS > 0 ? (last.id - first.id) / durationS : null };
}

/** The first and last frame of a run as they are written, for runTiming. */
export class RunTimingTracker {
  private first: TimedFrame | null = null;
  private last: TimedFrame | null = null;

  observe(id: number, cameraNs: bigint): void {
    const frame = { id, cameraNs };
    this.first ??= frame;
    this.last = frame;
  }

  get timing(): RunTiming {
    return runTiming(this.first, this.last);
  }
}
