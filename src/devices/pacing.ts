import { setImmediate, setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves true once the monotonic clock reaches `dueNs`, or false as soon as
 * `signal` aborts (a pending wait is woken at once). Always yields to the event
 * loop at least once, so sockets progress even when a late consumer means the
 * frame is already due.
 */
export async function waitUntil(dueNs: bigint, signal: AbortSignal): Promise<boolean> {
  if (!(await yieldToEventLoop(signal))) return false;
  for (;;) {
    const remainingNs = dueNs - process.hrtime.bigint();
    if (remainingNs <= 0n) return true;
    // Timers have millisecond granularity and may fire a little early: round up and re-check.
    const delayMs = Math.max(1, Math.ceil(Number(remainingNs) / 1e6));
    try {
      await sleep(delayMs, undefined, { signal });
    } catch (error) {
      if (signal.aborted) return false;
      throw error;
    }
  }
}

/** One turn of the event loop; false when `signal` has aborted. */
export async function yieldToEventLoop(signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  await setImmediate();
  return !signal.aborted;
}
