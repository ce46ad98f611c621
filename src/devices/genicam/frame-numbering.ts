/**
 * Turns a camera's own frame ids (GVSP block ids) into a continuous count of
 * frames, so that a frame the camera sent but labcast never got whole is a
 * counted gap rather than a silent one. GigE Vision 1.x block ids are 16 bits,
 * skip 0 and wrap from 65535 to 1; GEV 2 extended ids and USB3 Vision ids are
 * 64 bits and do not wrap in practice.
 */
export type FrameIdWidth = 16 | 64;

export class FrameNumbering {
  private previous: bigint | null = null;
  /** Frames lost since the last good frame (failed buffers and skipped ids). */
  private pendingLoss = 0;
  private totalLost = 0;
  /** Failed buffers without an id since the last id seen. */
  private unidentified = 0;

  constructor(private readonly width: FrameIdWidth) {}

  /** Frames lost so far in this stream. */
  get lost(): number {
    return this.totalLost + this.unidentified;
  }

  /**
   * A complete frame arrived with `frameId`: returns how many frames were lost
   * just before it (0 when it follows the previous buffer's id).
   */
  good(frameId: bigint): number {
    this.advance(frameId);
    const lost = this.pendingLoss;
    this.pendingLoss = 0;
    return lost;
  }

  /** A buffer arrived incomplete (missing packets, timeout...): it counts as one lost frame, and so do ids skipped before it. */
  failed(frameId: bigint): void {
    // A failed buffer with id 0 carries no id (GigE Vision never uses 0), and one whose id is not
    // ahead of the last (its leader was lost: Aravis leaves a stale id) cannot be placed either:
    // the next id gap includes it, if that gap is larger.
    if ((frameId === 0n && this.width === 16) || !this.isAhead(frameId)) {
      this.unidentified += 1;
      return;
    }
    this.advance(frameId);
    this.pendingLoss += 1;
    this.totalLost += 1;
  }

  private advance(frameId: bigint): void {
    const previous = this.previous;
    this.previous = frameId;
    const skipped = previous === null ? 0 : this.distance(previous, frameId) - 1;
    const counted = Math.max(skipped, this.unidentified);
    this.unidentified = 0;
    this.pendingLoss += counted;
    this.totalLost += counted;
  }

  private isAhead(frameId: bigint): boolean {
    if (this.previous === null) return true;
    if (this.width === 64) return frameId > this.previous;
    const ring = 65535n;
    const step = (((frameId - 1n - (this.previous - 1n)) % ring) + ring) % ring;
    return step !== 0n && step <= ring / 2n;
  }

  /** Ids from `from` to `to`, forwards; 1 for consecutive ids. A repeated or backward id (a camera restart) counts as 1. */
  private distance(from: bigint, to: bigint): number {
    if (this.width === 16) {
      // Ids 1..65535 in a ring: 0 is never used.
      const ring = 65535n;
      const step = (((to - 1n - (from - 1n)) % ring) + ring) % ring;
      // Half the ring or more ahead is far likelier a reordered or repeated buffer than 32k lost frames.
      return step === 0n || step > ring / 2n ? 1 : Number(step);
    }
    return to > from ? Number(to - from) : 1;
  }
}

/** The id width of a camera's stream: 16 bits unless it is known to use extended (64-bit) ids. */
export function frameIdWidth(options: { isGigE: boolean; isUsb3: boolean; extendedIds: boolean }): FrameIdWidth {
  if (options.isUsb3) return 64;
  if (options.isGigE) return options.extendedIds ? 64 : 16;
  // Aravis's in-process fake camera counts like a GigE Vision 1.x camera.
  return 16;
}
