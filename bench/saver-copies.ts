import type { RingWrites } from '../src/protocol/process-messages.js';

/**
 * The saver's copies of a frame's pixels (into huge pages before the write,
 * where the disk wants them: decision 0009), from the runs' ringWrites: the
 * share of the ring's bytes that were copied, and the share of all bytes
 * that came through the ring at all.
 */
export function saverCopies(runs: readonly { readonly bytesWritten: number; readonly ringWrites?: RingWrites }[]): string {
  const ring = runs.map((r) => r.ringWrites).filter((w): w is RingWrites => w !== undefined);
  if (ring.length === 0) return 'not reported (no frame came through the ring)';
  const staged = ring.reduce((n, w) => n + w.stagedBytes, 0);
  const inRing = ring.reduce((n, w) => n + w.stagedBytes + w.inPlaceBytes, 0);
  const written = runs.reduce((n, r) => n + r.bytesWritten, 0);
  return `${(staged / inRing).toFixed(2)} per frame (${((inRing / written) * 100).toFixed(0)} % of the bytes came through the ring)`;
}
