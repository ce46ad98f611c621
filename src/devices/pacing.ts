import { setImmediate, setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves true once the monotonic clock reaches `dueNs`, or false as soon as
 * `signal` aborts (a pending wait is woken at once). Yields to the event loop
 * (see yieldToEventLoop), so sockets progress even when a late consumer means
 * the frame is already due.
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

/**
 * A full turn of the event loop at least this often. A turn per frame costs
 * more than a small frame's whole handling; one per slice still lets sockets,
 * timers and a stop command through within a fraction of a millisecond.
 */
const TURN_EVERY_NS = 200_000n;
let lastTurnNs = 0n;

/**
 * Lets the event loop turn (at least every 0.2 ms); false when `signal` has
 * aborted. A plain boolean when no turn is due, so that a caller can skip the
 * await (and its microtask) for most small frames.
 */
export function yieldToEventLoop(signal: AbortSignal): boolean | Promise<boolean> {
  if (signal.aborted) return false;
  if (process.hrtime.bigint() - lastTurnNs < TURN_EVERY_NS) return true;
  return turnEventLoop(signal);
}

async function turnEventLoop(signal: AbortSignal): Promise<boolean> {
  await setImmediate();
  lastTurnNs = process.hrtime.bigint();
  return !signal.aborted;
}
