import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { SharedMemoryAddon } from '../native/native-addon.js';

/**
 * Large frames from the acquisition to a saver on the same host through
 * shared memory instead of through the record socket: the pixels lie in the
 * next slot of a ring (the camera made them there, claim(), or they are
 * copied in, put()) and the acquisition sends only the frame header and a
 * reference to the slot (a `shared-frame` message, protocol.md); the saver
 * views the slot in place, writes it (the file driver with O_DIRECT straight
 * from the slot), and releases it once written. On the development VM
 * the two socket copies and the saver's fresh 2 MiB Buffer per frame (with
 * the garbage collection they bring) were a large share of the pipeline's
 * CPU (docs/performance.md).
 *
 * The ring is memory of the native addon's (native/shared_memory.c): an
 * anonymous memfd that lives as long as a process maps it. Its first page
 * holds the count of slots the saver has released; the acquisition alone
 * knows which slots it sent, in which order. Slots are released in the order
 * they were sent (one saver, PUSH/PULL keeps order), so the first
 * `released` slots sent are free again, whichever slots they were.
 *
 * The release count is an int64 changed only atomically (a sequentially
 * consistent add by the saver's addon, releaseSharedSlot, which keeps
 * releases in order behind writes still reading a slot; Atomics.load by the
 * acquisition): no torn read, no lost update, and the saver's
 * reads of a slot are ordered before the release the acquisition sees (the
 * sequentially consistent read-modify-write is a full fence), so a slot is
 * never overwritten while it is still being read. The mapping is an external
 * ArrayBuffer, not a SharedArrayBuffer (Node-API cannot make one of foreign
 * memory), so the JavaScript memory model does not formally cover it; V8
 * performs Atomics on any ArrayBuffer with the processor's atomic
 * instructions, and test/transport/frame-ring.test.ts checks that two
 * processes incrementing the count at once lose nothing.
 * The ring is not a buffer in which frames can be lost: a frame waits in the
 * lossless sender's counted queue until a slot is free, as it would wait for
 * the socket.
 */

const PAGE_BYTES = 4096;
/** Page 0: [0] released slot count (an int64, changed only with Atomics). */
const HEADER_BYTES = PAGE_BYTES;
const RING_TARGET_BYTES = 32 * 1024 * 1024;
const MIN_SLOTS = 4;
/**
 * A ring whose slots a camera holds queued (GenICam's stream buffers over
 * slots) has at least this many: the camera holds all but one, and with
 * 8 MiB frames a ring of 4 left the stream without a slot queued for ~6 %
 * of the frames at full speed (those take a copy from Aravis's own buffer).
 */
export const LENDING_MIN_SLOTS = 8;
const MAX_SLOTS = 64;
/** A receiver maps no more than this, whatever a message says. */
const MAX_RING_BYTES = 1024 * 1024 * 1024;

/** How often an acquisition waiting for a free slot looks again. */
const RING_POLL_MS = 1;
/**
 * A saver that releases no slot for this long while the ring is full may be
 * unable to map it (another user, say): later frames go on the socket again,
 * until it releases one. A safety net, not a path: the frames already in the
 * ring are lost to such a saver (counted as malformed, gaps in its file), and
 * only savers the controller started itself on this host get the ring.
 */
const RING_STALL_MS = 2000;

/** Frames at least this large go through the ring: below it, batching on the socket wins. */
export const RING_FRAME_BYTES = 256 * 1024;
/** Larger frames stay on the socket: a ring of MIN_SLOTS of them would pass what a receiver maps. */
const RING_MAX_FRAME_BYTES = Math.floor((MAX_RING_BYTES - HEADER_BYTES) / MIN_SLOTS / PAGE_BYTES) * PAGE_BYTES;

/** What a `shared-frame` message carries besides the frame header. */
export const ringRefSchema = z.object({
  ring: z.string().min(1).max(64),
  path: z.string().regex(/^\/proc\/\d+\/fd\/\d+$/, 'a /proc/PID/fd/FD path'),
  ring_bytes: z.number().int().positive().max(MAX_RING_BYTES),
  slot_bytes: z.number().int().positive(),
  slots: z.number().int().min(1).max(MAX_SLOTS),
  slot: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /**
   * Copies the pixels took in user space before they lay in the slot (the
   * camera stack's, or the acquisition's into the slot): a saver may spend
   * one of its own only where this is 0. Absent (an older sender): 0.
   */
  copies: z.number().int().min(0).max(16).default(0),
});
export type RingRef = z.infer<typeof ringRefSchema>;

const roundToPage = (bytes: number): number => Math.ceil(bytes / PAGE_BYTES) * PAGE_BYTES;

/**
 * The acquisition's side: one ring for frames up to `slotBytes`. Slots are
 * claimed in any order (a camera may hold several at once and fill them in
 * any order, GenICam's stream buffers over slots) and given back by identity
 * when their frame is not sent; the saver releases slots by count in the
 * order it received them, which is the order they were sent, so the writer
 * keeps a FIFO of the slots it sent and frees its first `released - freed` entries.
 */
export class FrameRingWriter {
  /** Slots neither claimed nor waiting for the saver's release. */
  private readonly free: number[];
  /** Slots sent and not yet freed, in the order they were sent (= the order the saver releases them). */
  private readonly sentOrder: number[] = [];
  /** Index of the first slot of sentOrder not yet freed (entries before it are dropped now and then). */
  private sentHead = 0;
  /** Sent slots freed so far: the release count they account for. */
  private freed = 0;
  /** Slots claimed and not yet sent nor given back. */
  private claimedCount = 0;
  private readonly released: BigInt64Array;
  private readonly memory: Uint8Array;

  private constructor(
    private readonly id: string,
    private readonly path: string,
    private readonly buffer: ArrayBuffer,
    readonly slotBytes: number,
    readonly slots: number,
  ) {
    this.released = new BigInt64Array(buffer, 0, 1);
    this.memory = new Uint8Array(buffer);
    // Popped from the end: slot 0 first, as before.
    this.free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  /** A ring of ~RING_TARGET_BYTES for frames of `frameBytes`, with at least `minSlots` slots where what a receiver maps allows. */
  static create(addon: SharedMemoryAddon, frameBytes: number, minSlots = MIN_SLOTS): FrameRingWriter {
    const slotBytes = roundToPage(frameBytes);
    const mappable = Math.floor((MAX_RING_BYTES - HEADER_BYTES) / slotBytes);
    const slots = Math.max(MIN_SLOTS, Math.min(MAX_SLOTS, mappable, Math.max(minSlots, Math.floor(RING_TARGET_BYTES / slotBytes))));
    const { buffer, path } = addon.createSharedMemory(HEADER_BYTES + slots * slotBytes);
    return new FrameRingWriter(randomUUID(), path, buffer, slotBytes, slots);
  }

  fits(bytes: number): boolean {
    return bytes <= this.slotBytes;
  }

  hasFreeSlot(): boolean {
    this.reclaim();
    return this.free.length > 0;
  }

  /** Slots claimed and neither sent nor given back yet. */
  get claimed(): number {
    return this.claimedCount;
  }

  /** How many slots the saver has released so far. */
  get releasedCount(): number {
    return Number(Atomics.load(this.released, 0));
  }

  /** Every slot claimed has been sent or given back and every slot sent has been released: the saver has finished with this ring. */
  get idle(): boolean {
    return this.claimedCount === 0 && this.freed + (this.sentOrder.length - this.sentHead) === this.releasedCount;
  }

  /** Copies `pixels` into a free slot and counts it sent (the caller sends it next); call only when hasFreeSlot(). */
  put(pixels: Uint8Array): RingRef {
    const claimed = this.claim(pixels.byteLength);
    claimed.view.set(pixels);
    this.sent(claimed.ref.slot);
    return claimed.ref;
  }

  /** A free slot, for a frame of `bytes` to be made in place; call only when hasFreeSlot(). Then sent() or unclaim() it. */
  claim(bytes: number): { view: Uint8Array; ref: RingRef } {
    this.reclaim();
    const slot = this.free.pop();
    if (slot === undefined) throw new Error(`ring ${this.id}: no free slot to claim`);
    this.claimedCount += 1;
    const offset = HEADER_BYTES + slot * this.slotBytes;
    const ref = {
      ring: this.id,
      path: this.path,
      ring_bytes: this.buffer.byteLength,
      slot_bytes: this.slotBytes,
      slots: this.slots,
      slot,
      bytes,
      // Whoever fills the slot says how the pixels got there (LosslessSender).
      copies: 0,
    };
    return { view: this.memory.subarray(offset, offset + bytes), ref };
  }

  /** The claimed `slot` is being sent: the saver will release it after the slots sent before it. */
  sent(slot: number): void {
    this.claimedCount -= 1;
    this.sentOrder.push(slot);
  }

  /** Takes back a claimed slot that was never sent (its frame was dropped or not made). */
  unclaim(slot: number): void {
    this.claimedCount -= 1;
    this.free.push(slot);
  }

  /** Frees the slots the saver released since the last look, oldest sent first. */
  private reclaim(): void {
    const toFree = Math.min(this.releasedCount - this.freed, this.sentOrder.length - this.sentHead);
    for (let i = 0; i < toFree; i++) this.free.push(this.sentOrder[this.sentHead++]!);
    this.freed += toFree;
    if (this.sentHead > 1024) {
      this.sentOrder.splice(0, this.sentHead);
      this.sentHead = 0;
    }
  }
}

/** A slot a frame is made in before it is queued: sent as it is, never copied. */
export interface SlotClaim {
  readonly view: Uint8Array;
  readonly ref: RingRef;
  readonly ring: FrameRingWriter;
}

/**
 * The acquisition's rings for one saver (a new saver gets a new outlet): which
 * frames go through a ring, and a free slot for them.
 */
export class SharedFrameOutlet {
  private ring: FrameRingWriter | null = null;
  /** Set when the saver stopped releasing slots: its frames go on the socket until it releases one. */
  private stalled = false;
  private releasedSeen = 0;
  /** No shared memory to be had (memfd refused, out of memory): the socket still works. */
  private unavailable = false;

  constructor(private readonly addon: SharedMemoryAddon) {}

  /** Whether a frame of `bytes` goes through a ring (else on the socket, as before). */
  wants(bytes: number): boolean {
    if (this.unavailable || bytes < RING_FRAME_BYTES || bytes > RING_MAX_FRAME_BYTES) return false;
    // A saver that was only slow releases its slots in the end: then the ring is used again.
    if (this.stalled && this.ring !== null && this.ring.releasedCount !== this.releasedSeen) this.stalled = false;
    return !this.stalled;
  }

  /**
   * Copies `pixels` into a slot once one is free and returns where; null when
   * the frame must go on the socket instead (the saver stopped releasing
   * slots, or there is no shared memory) or when `cancelled()` (the saver
   * went away). A ring for another frame size replaces the current one once
   * the saver has released all of its slots.
   */
  async put(pixels: Uint8Array, cancelled: () => boolean): Promise<RingRef | null> {
    for (;;) {
      const ring = await this.waitForSlot(pixels.byteLength, cancelled);
      if (ring === null) return null;
      // The camera may have claimed the slot while this resumed: look again.
      if (ring.hasFreeSlot()) return ring.put(pixels);
    }
  }

  /**
   * A free slot for a frame of `bytes` now, for the frame to be made in
   * (frames born in the ring; the slot holds `capacity` bytes from the
   * view's start), or null: no slot free at once, the camera
   * holds its share already, or the frame goes on the socket. Slots may be
   * claimed while a frame made elsewhere waits in put() for one: a camera
   * holds at most slots - 1 claimed and unsent (lent to it, or queued behind
   * that frame), so at least one slot is free or sent, and a sent slot comes
   * free once the saver has written it; put() cannot wait for ever on slots
   * that wait for it.
   */
  claim(bytes: number, capacity = bytes, minSlots = MIN_SLOTS): SlotClaim | null {
    if (!this.wants(bytes) || !this.wants(capacity)) return null;
    const ring = this.ringFor(capacity, minSlots);
    if (ring === null || !ring.fits(capacity) || !this.mayClaim(ring)) return null;
    return { ...ring.claim(bytes), ring };
  }

  /** Takes back `claim`, a slot claimed and never sent (its frame was dropped or never made). */
  unclaim(claim: SlotClaim): void {
    claim.ring.unclaim(claim.ref.slot);
  }

  /** `claim`'s frame is about to be sent (in this order, which is the order the saver releases slots). */
  sent(claim: SlotClaim): void {
    claim.ring.sent(claim.ref.slot);
  }

  private mayClaim(ring: FrameRingWriter): boolean {
    return ring.claimed < ring.slots - 1 && ring.hasFreeSlot();
  }

  /** The current ring, or a new one for frames of `bytes` (and `minSlots`) once the current one is idle; null without shared memory. */
  private ringFor(bytes: number, minSlots = MIN_SLOTS): FrameRingWriter | null {
    // An idle ring is replaced when the frames outgrew it, or when a camera that holds slots queued wants more of them.
    if (this.ring === null || ((!this.ring.fits(bytes) || this.ring.slots < minSlots) && this.ring.idle)) {
      try {
        this.ring = FrameRingWriter.create(this.addon, bytes, minSlots);
      } catch {
        this.unavailable = true;
        return null;
      }
    }
    return this.ring;
  }

  /**
   * Resolves with the ring once it has a free slot for a frame of `bytes`
   * (`forClaim`: one claim() would give); null when the frame must go on the
   * socket instead (see put) or `cancelled()`.
   */
  async waitForSlot(bytes: number, cancelled: () => boolean, forClaim = false): Promise<FrameRingWriter | null> {
    let waitingSince: number | null = null;
    while (!cancelled()) {
      const ring = this.ringFor(bytes);
      if (ring === null) return null;
      if (ring.fits(bytes) && (forClaim ? this.mayClaim(ring) : ring.hasFreeSlot())) return ring;
      const released = ring.releasedCount;
      if (waitingSince === null || released !== this.releasedSeen) {
        waitingSince = performance.now();
        this.releasedSeen = released;
      } else if (performance.now() - waitingSince > RING_STALL_MS) {
        this.stalled = true;
        return null;
      }
      await delay(RING_POLL_MS);
    }
    return null;
  }
}

interface MappedRing {
  readonly id: string;
  readonly buffer: ArrayBuffer;
  readonly memory: Uint8Array;
}

/** The saver's side: the ring it is being sent, mapped on first use. */
export class FrameRingReaders {
  /** One at a time: the acquisition moves to a new ring only once the old one is idle. */
  private current: MappedRing | null = null;
  private toRelease: { ring: MappedRing; offset: number; bytes: number } | null = null;

  constructor(private readonly addon: SharedMemoryAddon) {}

  /** The slot's pixels, in place; valid until release(). Throws (with the reason) when the ring cannot be used. */
  view(ref: RingRef): Uint8Array {
    if (ref.slot >= ref.slots || ref.bytes > ref.slot_bytes || HEADER_BYTES + ref.slots * ref.slot_bytes > ref.ring_bytes) {
      throw new Error(`slot ${ref.slot} of ${ref.slots} (${ref.bytes} of ${ref.slot_bytes} bytes) does not lie in ring ${ref.ring}`);
    }
    const ring = this.ring(ref);
    this.release();
    const offset = HEADER_BYTES + ref.slot * ref.slot_bytes;
    this.toRelease = { ring, offset, bytes: ref.bytes };
    if (ref.copies > 0) this.addon.markSharedSlotCopied(ring.buffer, offset, ref.bytes);
    return ring.memory.subarray(offset, offset + ref.bytes);
  }

  /**
   * Hands the last viewed slot back to the acquisition: at once, or, when
   * the file driver still writes it with O_DIRECT from where it lies, once
   * that write is done (the addon releases slots in order and counts the
   * release with a sequentially consistent add, a full fence).
   */
  release(): void {
    const slot = this.toRelease;
    if (slot === null) return;
    this.toRelease = null;
    this.addon.releaseSharedSlot(slot.ring.buffer, slot.offset, slot.bytes);
  }

  private ring(ref: RingRef): MappedRing {
    if (this.current?.id === ref.ring) return this.current;
    const buffer = this.addon.openSharedMemory(ref.path, ref.ring_bytes);
    this.current = { id: ref.ring, buffer, memory: new Uint8Array(buffer) };
    return this.current;
  }
}
