import { loadNativeAddon } from '../native/native-addon.js';

/**
 * How the native writer wrote the frames that lay in the shared-memory ring
 * (native/direct_vfd.c): from their slot, as they lie, or copied into huge
 * pages first where the disk takes them faster so (native/write_staging.c).
 * The copy is the saver's one copy of a frame, spent only on a frame that had
 * none on its way into the ring, so these say how many copies a run's frames
 * took in the saver.
 */
export interface RingWrites {
  /** Bytes written with O_DIRECT straight from ring slots: no copy in the saver. */
  readonly inPlaceBytes: number;
  /** Bytes copied into huge pages before their O_DIRECT write: one copy each. */
  readonly stagedBytes: number;
}

/** The process's totals so far; null without the native addon (its writer wrote nothing from a ring). */
export function ringWritesSoFar(): RingWrites | null {
  const loaded = loadNativeAddon();
  if (!('addon' in loaded)) return null;
  const { inPlaceBytes, stagedBytes } = loaded.addon.ioCounters();
  return { inPlaceBytes, stagedBytes };
}

/** What was written from the ring since `start` (ringWritesSoFar before a run); null when nothing was. */
export function ringWritesSince(start: RingWrites | null): RingWrites | null {
  const now = ringWritesSoFar();
  if (start === null || now === null) return null;
  const since = { inPlaceBytes: now.inPlaceBytes - start.inPlaceBytes, stagedBytes: now.stagedBytes - start.stagedBytes };
  return since.inPlaceBytes + since.stagedBytes > 0 ? since : null;
}
