import { loadNativeAddon } from '../native/native-addon.js';
import type { RingWrites } from '../protocol/process-messages.js';

/*
 * A run's RingWrites, from the native file driver's counters
 * (native/direct_vfd.c: ring frames written in place, or staged into huge
 * pages where the disk takes them faster so, native/write_staging.c).
 */

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
