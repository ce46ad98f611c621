import { setTimeout as delay } from 'node:timers/promises';
import { Push } from './zeromq.js';
import { encodeFrameBatch, encodePackedBatch, encodeSharedFrame, isEncodedFrame, type PackedFrame } from '../protocol/codec.js';
import type { FrameHeader } from '../protocol/messages.js';
import { LabcastError } from '../protocol/errors.js';
import { curveServerOptions, onHandshakeFailure, type CurveKeyPair } from './curve.js';
import { bindEndpoint } from './endpoints.js';
import type { SharedMemoryAddon } from '../native/native-addon.js';
import { LENDING_MIN_SLOTS, RING_FRAME_BYTES, SharedFrameOutlet, type SlotClaim } from './frame-ring.js';
import { FifoQueue } from './fifo-queue.js';

type Parts = readonly (Buffer | Uint8Array)[];

export interface LosslessSenderStats {
  readonly queuedFrames: number;
  readonly queuedBytes: number;
  readonly peakQueuedBytes: number;
  readonly sentMessages: number;
  /** Frames whose pixels went through shared memory rather than the socket. */
  readonly sharedFrames: number;
  /** Of those, frames made in their slot (take()), never copied in this process. */
  readonly madeInRing: number;
  readonly peers: number;
}

interface Queued {
  readonly parts: Parts;
  readonly bytes: number;
  /** The frame's sequence number; null for run messages. */
  readonly seq: number | null;
  /** The ring slot the frame was made in (frames born in the ring): sent as it is. */
  readonly claim?: SlotClaim;
  /** User-space copies the frame's pixels took so far (Frame.pixelCopies); a copy into a ring slot here adds one. */
  readonly copies?: number;
  /** A small frame offered by header (offerPacked): no parts; it goes out in a packed batch. */
  readonly header?: FrameHeader;
  readonly pixels?: Uint8Array;
}

/** The parts of a frame offered by header: it has none of its own. */
const NO_PARTS: Parts = [];

/** A slot handed out by take() or lend() whose frame has not been offered yet. */
interface LentSlot extends SlotClaim {
  readonly outlet: SharedFrameOutlet;
  /** Handed out by take(): given back when the camera's next frame is not it (FrameMemory's one-at-a-time contract). */
  readonly taken: boolean;
}

/**
 * Frames smaller than this travel together when several are queued: below it
 * the cost per message outweighs the cost per byte. A batch never waits for
 * frames to arrive, so batching adds no latency; it only forms under load.
 */
const BATCH_FRAME_BYTES = 256 * 1024;
const BATCH_MAX_BYTES = 1024 * 1024;
const BATCH_MAX_FRAMES = 1024;
/**
 * Small frames are made back to back in blocks of this size (take()): one
 * allocation per block rather than a fresh buffer (and its garbage) per
 * frame, and a batch of them goes out as one view of the block, not a copy.
 */
const SMALL_FRAME_BLOCK_BYTES = 1024 * 1024;
/**
 * How far a source that can wait (waitForRoom) runs ahead of the saver with
 * small frames. Further ahead gains nothing, since the saver sets the pace,
 * and costs much: at fps 0 the simulator used to fill the whole buffer (512
 * MiB, ~65 000 64² frames), each frame's objects surviving into the old
 * generation and every block fresh memory, so the acquisition spent more on
 * garbage collection and page faults than on its frames. A few full batches
 * ahead keeps the saver fed.
 */
const PACED_SMALL_FRAME_BYTES = 8 * 1024 * 1024;
/** Frames start on this boundary in a block, so any typed array fits over them. */
const SMALL_FRAME_ALIGN = 8;

const REBIND_ATTEMPTS = 50;
const REBIND_PAUSE_MS = 20;

/**
 * The saver's path: a PUSH socket (which waits rather than drops when the
 * peer is slow) behind a bounded queue in this process. The queue is the one
 * place where a frame can be lost, and `offer` says so, so the caller counts it.
 */
export class LosslessSender {
  private socket: Push;
  private queue = new FifoQueue<Queued>();
  private queuedBytes = 0;
  private peakQueuedBytes = 0;
  private sentMessages = 0;
  private sharedFrames = 0;
  private madeInRing = 0;
  private peers = 0;
  private pumping = false;
  private idleWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  private peerWaiters: (() => void)[] = [];
  private failure: Error | null = null;
  /** Large frames' way through shared memory to the current saver; null without shared memory. */
  private outlet: SharedFrameOutlet | null;
  /**
   * Slots handed to the camera whose frames are not offered yet, by their
   * view: any of them may be offered or given back, in any order (the ring
   * frees slots in the order they are sent, frame-ring.ts).
   */
  private lent = new Map<Uint8Array, LentSlot>();
  /** The block small frames are made in, and how much of it they have used. */
  private smallBlock: Uint8Array | null = null;
  private smallBlockUsed = 0;

  private constructor(
    socket: Push,
    private boundEndpoint: string,
    readonly maxQueuedBytes: number,
    private readonly curve: CurveKeyPair | null = null,
    private readonly sharedMemory: SharedMemoryAddon | null = null,
    private readonly packsBatches = false,
  ) {
    this.socket = socket;
    this.outlet = sharedMemory === null ? null : new SharedFrameOutlet(sharedMemory);
    // Small frames' blocks are allocated at the data rate: the process's malloc keeps freed memory (GLIBC_TUNABLES at fork, experiment/child-process.ts).
    this.watchPeers(socket);
  }

  /**
   * With `curve`, a CURVE server: only savers holding its public key get
   * frames. With `sharedMemory` (a saver on this host), large frames cross
   * through a shared-memory ring rather than the socket (frame-ring.ts).
   * With `packsBatches` (the saver is labcast's own), small frames offered
   * by header go out as packed batches (offerPacked).
   */
  static async bind(
    endpoint: string,
    maxQueuedBytes: number,
    curve: CurveKeyPair | null = null,
    sharedMemory: SharedMemoryAddon | null = null,
    packsBatches = false,
  ): Promise<LosslessSender> {
    const socket = LosslessSender.newSocket(curve);
    // Made (and its peers watched) before it is bound: a saver already waiting
    // (labcast record starts it alongside) connects the moment it is, and a
    // handshake before the watch would never be counted.
    const sender = new LosslessSender(socket, endpoint, maxQueuedBytes, curve, sharedMemory, packsBatches);
    sender.boundEndpoint = await bindEndpoint(socket, endpoint, 'record');
    return sender;
  }

  /** The endpoint as bound (a tcp port asked as * resolved). */
  get endpoint(): string {
    return this.boundEndpoint;
  }

  private static newSocket(curve: CurveKeyPair | null): Push {
    // A small ZeroMQ queue keeps the accounting here, where drops are counted;
    // linger -1 so close() still delivers what was queued.
    return new Push({ sendHighWaterMark: 4, linger: -1, ...curveServerOptions(curve) });
  }

  get stats(): LosslessSenderStats {
    return {
      queuedFrames: this.queue.length,
      queuedBytes: this.queuedBytes,
      peakQueuedBytes: this.peakQueuedBytes,
      sentMessages: this.sentMessages,
      sharedFrames: this.sharedFrames,
      madeInRing: this.madeInRing,
      peers: this.peers,
    };
  }

  hasRoomFor(bytes: number): boolean {
    // An empty queue always takes one frame, so a frame larger than the
    // buffer is still delivered rather than dropped forever.
    return this.queue.length === 0 || this.queuedBytes + bytes <= this.maxQueuedBytes;
  }

  /**
   * The camera's FrameMemory (devices/camera.ts, which this layer may not
   * import; the acquisition hands the sender over as one): a free slot of the saver's ring for the next
   * frame, so it is made where the saver writes it from and never copied
   * here; null (the camera uses memory of its own) when the frame is not for
   * the ring or no slot is free right now. The frame must be offered next, or
   * the slot given back (a slot taken before and not offered is given back now).
   */
  take(bytes: number): Uint8Array | null {
    this.giveBack();
    if (bytes < BATCH_FRAME_BYTES) return this.takeSmall(bytes);
    return this.lendSlot(bytes, true);
  }

  /**
   * A slot of the ring for a frame of `bytes` that the camera may hold while
   * it takes others (GenICam's stream buffers over slots): offered with its
   * frame, or given back with giveBack(slot), in any order; null when the
   * frame is not for the ring, no slot is free, or the camera holds its share
   * of the ring already (SharedFrameOutlet.claim). The slot holds `capacity`
   * bytes from the view's start (a device's payload may be larger than the image).
   */
  lend(bytes: number, capacity = bytes): Uint8Array | null {
    if (bytes < RING_FRAME_BYTES) return null;
    return this.lendSlot(bytes, false, capacity);
  }

  private lendSlot(bytes: number, taken: boolean, capacity = bytes): Uint8Array | null {
    if (this.outlet === null || this.failure !== null) return null;
    // A camera that holds slots queued (lend) gets a ring with room for them.
    const claim = this.outlet.claim(bytes, capacity, taken ? undefined : LENDING_MIN_SLOTS);
    if (claim === null) return null;
    this.lent.set(claim.view, { ...claim, outlet: this.outlet, taken });
    return claim.view;
  }

  /**
   * Memory for a small frame in the current block, after the frames before it.
   * Never reused: a block is dropped when full and collected once every frame
   * made in it has been sent (ZeroMQ may still hold a batch's view of it).
   */
  private takeSmall(bytes: number): Uint8Array {
    const start = Math.ceil(this.smallBlockUsed / SMALL_FRAME_ALIGN) * SMALL_FRAME_ALIGN;
    if (this.smallBlock === null || start + bytes > this.smallBlock.byteLength) {
      const block = Buffer.allocUnsafeSlow(Math.max(SMALL_FRAME_BLOCK_BYTES, bytes));
      this.smallBlock = new Uint8Array(block.buffer, block.byteOffset, block.byteLength);
      this.smallBlockUsed = bytes;
      return this.smallBlock.subarray(0, bytes);
    }
    this.smallBlockUsed = start + bytes;
    return this.smallBlock.subarray(start, start + bytes);
  }

  /** Whether `pixels` are a slot take() or lend() gave and not yet offered (memory shared with the saver). */
  isSlot(pixels: Uint8Array): boolean {
    return this.lent.has(pixels);
  }

  /**
   * A slot whose frame will not be offered goes back to the ring: `slot`
   * (one lend() or take() gave), or without it the slot take() gave (a no-op
   * when there is none). A slot of a saver gone since is only forgotten.
   */
  giveBack(slot?: Uint8Array): void {
    if (slot !== undefined) {
      const lent = this.lent.get(slot);
      if (lent !== undefined) this.unlend(lent);
      return;
    }
    for (const lent of this.lent.values()) if (lent.taken) this.unlend(lent);
  }

  /** How many slots the camera holds (lent or taken, not yet offered nor given back). */
  get lentSlots(): number {
    return this.lent.size;
  }

  private unlend(lent: LentSlot): void {
    this.lent.delete(lent.view);
    if (lent.outlet === this.outlet) lent.outlet.unclaim(lent);
  }

  /** Whether waitForSlot(bytes) may have to wait at all (frames for the ring); when false it resolves at once. */
  mayWaitForSlot(bytes: number): boolean {
    return this.outlet !== null && bytes >= RING_FRAME_BYTES;
  }

  /**
   * For a source that can wait: resolves once the next frame of `bytes` can
   * be made in a ring slot (take() will give one), or when it will not go
   * through the ring at all, so a paced source never falls back to copying.
   */
  async waitForSlot(bytes: number): Promise<void> {
    const outlet = this.outlet;
    if (outlet === null || bytes < RING_FRAME_BYTES) return;
    const gone = (): boolean => outlet !== this.outlet || this.failure !== null;
    if (outlet.wants(bytes)) await outlet.waitForSlot(bytes, gone, true);
  }

  /** Queues a frame if the buffer has room; false means it was not queued (a drop). */
  offer(parts: Parts, bytes: number, seq: number, copies = 0): boolean {
    const pixels = parts[2];
    const claim = pixels === undefined ? undefined : this.lent.get(pixels);
    // A frame made elsewhere: the slot take() gave for it was not used.
    if (claim === undefined) this.giveBack();
    this.throwIfFailed();
    if (!this.hasRoomFor(bytes)) {
      if (claim !== undefined) this.unlend(claim);
      this.giveBack();
      return false;
    }
    if (claim !== undefined) this.lent.delete(claim.view);
    // A slot of a saver gone since (a new outlet) goes to the new saver as memory of its own: copied into its ring.
    this.enqueue(
      claim === undefined || claim.outlet !== this.outlet ? { parts, bytes, seq, copies } : { parts, bytes, seq, copies, claim },
    );
    return true;
  }

  /**
   * Whether a frame of `bytes` (without truth) is to be offered by header
   * (offerPacked) rather than as encoded parts: small frames, for a saver
   * that reads packed batches (labcast's own).
   */
  packs(bytes: number): boolean {
    return this.packsBatches && bytes < BATCH_FRAME_BYTES;
  }

  /**
   * offer() for a frame that packs(): by its header, with no text made for
   * it; it goes out in a packed batch with the frames queued beside it.
   */
  offerPacked(header: FrameHeader, pixels: Uint8Array): boolean {
    this.giveBack();
    this.throwIfFailed();
    const bytes = pixels.byteLength;
    if (!this.hasRoomFor(bytes)) return false;
    this.enqueue({ parts: NO_PARTS, bytes, seq: header.seq, header, pixels });
    return true;
  }

  /** Queues a run message; these are never dropped. */
  sendAlways(parts: Parts): void {
    this.throwIfFailed();
    this.enqueue({ parts, bytes: 0, seq: null });
  }

  /**
   * For a source that can wait: whether a frame of `bytes` may be queued now
   * (else waitForRoom). Small frames are held to PACED_SMALL_FRAME_BYTES ahead.
   */
  hasPacedRoomFor(bytes: number): boolean {
    if (bytes >= BATCH_FRAME_BYTES) return this.hasRoomFor(bytes);
    return this.queue.length === 0 || this.queuedBytes + bytes <= Math.min(this.maxQueuedBytes, PACED_SMALL_FRAME_BYTES);
  }

  /** Resolves once `bytes` fit as hasPacedRoomFor says: for sources that can wait for the saver. */
  async waitForRoom(bytes: number): Promise<void> {
    while (!this.hasPacedRoomFor(bytes)) {
      this.throwIfFailed();
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /**
   * Resolves when exactly `count` savers are connected. PUSH deals messages
   * round-robin, so a second peer (a saver still closing) would get half a run.
   */
  async waitForPeers(count: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.peers !== count) {
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new LabcastError(
          'NO_SAVER',
          `expected ${count} saver(s) on the record endpoint ${this.endpoint}, found ${this.peers} after ${Math.round(timeoutMs / 1000)} s`,
        );
      }
      // Unreferenced: the timer outlives a saver that connects first, and must not hold a process that is done up to 100 ms.
      await Promise.race([
        new Promise<void>((resolve) => this.peerWaiters.push(resolve)),
        delay(Math.min(left, 100), undefined, { ref: false }),
      ]);
    }
  }

  /** Resolves when every queued message has been handed to ZeroMQ. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.pumping) {
      this.throwIfFailed();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    this.throwIfFailed();
  }

  /**
   * The saver is gone: drops everything queued and returns the sequence
   * numbers of the frames among it, so they are counted. Follow with rebind().
   */
  discardQueued(): number[] {
    const lost = this.queue
      .toArray()
      .filter((q) => q.seq !== null)
      .map((q) => q.seq as number);
    this.queue = new FifoQueue<Queued>();
    this.queuedBytes = 0;
    return lost;
  }

  /** Starts over on a fresh socket at the same endpoint, ready for the next saver. */
  async rebind(): Promise<void> {
    this.discardQueued();
    const old = this.socket;
    this.socket = LosslessSender.newSocket(this.curve);
    old.linger = 0;
    old.close();
    this.peers = 0;
    // The next saver gets rings of its own: the old one may hold slots the gone saver never released.
    this.outlet = this.sharedMemory === null ? null : new SharedFrameOutlet(this.sharedMemory);
    // Watched before it is bound: a saver already waiting connects the moment
    // it is, and a handshake before the watch would never be counted.
    this.watchPeers(this.socket);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.socket.bind(this.endpoint);
        break;
      } catch (error) {
        // The old socket releases the address asynchronously.
        if (attempt >= REBIND_ATTEMPTS) throw error;
        await delay(REBIND_PAUSE_MS);
      }
    }
    this.failure = null;
    this.wake(this.roomWaiters);
    this.wake(this.idleWaiters);
  }

  /** Closes after ZeroMQ delivered what it holds (bounded by lingerMs). */
  close(lingerMs = -1): void {
    this.socket.linger = lingerMs;
    this.socket.close();
  }

  /**
   * Counts savers whose handshake succeeded: a client with a wrong CURVE key is
   * accepted, fails the handshake and is dropped, and never takes a frame.
   * libzmq reports a failed handshake before that connection's disconnect, so
   * the disconnects of failed connections are told apart from those of savers.
   */
  private watchPeers(socket: Push): void {
    let failedHandshakes = 0;
    socket.events.on('handshake', () => {
      if (socket !== this.socket) return;
      this.peers += 1;
      this.wake(this.peerWaiters);
    });
    onHandshakeFailure(socket, () => {
      failedHandshakes += 1;
    });
    socket.events.on('disconnect', () => {
      if (failedHandshakes > 0) {
        failedHandshakes -= 1;
        return;
      }
      if (socket !== this.socket) return;
      this.peers = Math.max(0, this.peers - 1);
      this.wake(this.peerWaiters);
    });
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    this.queuedBytes += item.bytes;
    if (this.queuedBytes > this.peakQueuedBytes) this.peakQueuedBytes = this.queuedBytes;
    if (!this.pumping) void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    const socket = this.socket;
    try {
      while (this.queue.length > 0 && socket === this.socket) {
        const batch = this.nextBatch();
        let parts =
          batch[0]!.header !== undefined
            ? encodePackedBatch(batch as PackedFrame[])
            : batch.length === 1
              ? batch[0]!.parts
              : encodeFrameBatch(batch.map((q) => q.parts));
        const only = batch.length === 1 ? batch[0]! : null;
        if (only?.claim !== undefined) {
          // Made in its slot: nothing to copy.
          parts = encodeSharedFrame(parts, { ...only.claim.ref, copies: only.copies ?? 0 });
          only.claim.ring.sent(only.claim.ref.slot);
          this.sharedFrames += 1;
          this.madeInRing += 1;
        } else if (only !== null && only.seq !== null && this.outlet?.wants(only.bytes) === true && isEncodedFrame(parts)) {
          const ref = await this.outlet.put(parts[2]!, () => socket !== this.socket);
          if (socket !== this.socket) break;
          if (ref !== null) {
            parts = encodeSharedFrame(parts, { ...ref, copies: (only.copies ?? 0) + 1 });
            this.sharedFrames += 1;
          }
        }
        await socket.send(parts as (Buffer | Uint8Array)[]);
        if (socket !== this.socket) break;
        this.queue.dropFirst(batch.length);
        for (const sent of batch) this.queuedBytes -= sent.bytes;
        this.sentMessages += 1;
        this.wake(this.roomWaiters);
      }
    } catch (error) {
      // A send cut short by rebind() is expected, not a failure.
      if (socket === this.socket) {
        this.failure = error as Error;
        this.wake(this.roomWaiters);
      }
    } finally {
      this.pumping = false;
      this.wake(this.idleWaiters);
      if (this.queue.length > 0 && socket !== this.socket) void this.pump();
    }
  }

  /** The head of the queue: one message, or a run of small frames that go as one batch. */
  private nextBatch(): Queued[] {
    const batchable = (q: Queued): boolean => q.seq !== null && q.bytes < BATCH_FRAME_BYTES && isEncodedFrame(q.parts);
    const first = this.queue.at(0);
    if (first.header !== undefined) return this.nextPackedBatch(first.header);
    if (!batchable(first)) return [first];
    let bytes = first.bytes;
    let end = 1;
    while (end < this.queue.length && end < BATCH_MAX_FRAMES) {
      const next = this.queue.at(end);
      if (!batchable(next) || bytes + next.bytes > BATCH_MAX_BYTES) break;
      // Frames of one block go out as one view of it: a batch ends where the next block begins.
      if (inOtherBlock(this.queue.at(end - 1), next)) break;
      bytes += next.bytes;
      end += 1;
    }
    return this.queue.first(end);
  }

  /** The packed frames at the head of the queue that share the first one's run, shape and dtype (and block). */
  private nextPackedBatch(first: FrameHeader): Queued[] {
    let bytes = this.queue.at(0).bytes;
    let end = 1;
    while (end < this.queue.length && end < BATCH_MAX_FRAMES) {
      const next = this.queue.at(end);
      const header = next.header;
      if (header === undefined || bytes + next.bytes > BATCH_MAX_BYTES) break;
      if (header.run_id !== first.run_id || header.dtype !== first.dtype || !sameShape(header.shape, first.shape)) break;
      if (inOtherBlock(this.queue.at(end - 1), next)) break;
      bytes += next.bytes;
      end += 1;
    }
    return this.queue.first(end);
  }

  private wake(waiters: (() => void)[]): void {
    const all = waiters.splice(0, waiters.length);
    for (const resolve of all) resolve();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}

/** Whether `next` was made in another small-frame block than `previous` (both made in blocks). */
function inOtherBlock(previous: Queued, next: Queued): boolean {
  const before = (previous.pixels ?? previous.parts[2]!).buffer;
  const after = (next.pixels ?? next.parts[2]!).buffer;
  return before !== after && before.byteLength >= SMALL_FRAME_BLOCK_BYTES && after.byteLength >= SMALL_FRAME_BLOCK_BYTES;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
