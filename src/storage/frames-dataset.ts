import type { ExtendibleDataset } from './hdf5-backend.js';

/** Frames smaller than this share chunks; larger ones get one chunk each. */
export const SMALL_FRAME_BYTES = 256 * 1024;

/** The chunk size aimed at when several frames share one. */
export const CHUNK_TARGET_BYTES = 1024 * 1024;

/**
 * At most this many frames per chunk, so that a short recording of tiny
 * frames (a point detector) does not allocate a whole 1 MiB chunk.
 */
export const MAX_FRAMES_PER_CHUNK = 1024;

/**
 * Rows the dataset grows by when each frame is its own chunk. Resizing costs
 * an object-header update (25-150 µs in h5wasm); growing per frame halved the
 * rate for small frames before they were batched into chunks. Unwritten
 * chunks take no space, and every commit trims the extent back.
 */
export const ONE_FRAME_CHUNK_GROWTH = 128;

/**
 * Frames per chunk: one for large frames, so that each frame is written
 * whole, straight from the received buffer, and a reader can fetch one frame
 * alone; for small frames as many as fill ~1 MiB, because per-chunk costs
 * (an HDF5 call, a chunk-index entry) dominate below a few hundred KiB.
 */
export function framesPerChunk(frameBytes: number): number {
  if (frameBytes >= SMALL_FRAME_BYTES) return 1;
  return Math.max(1, Math.min(MAX_FRAMES_PER_CHUNK, Math.floor(CHUNK_TARGET_BYTES / Math.max(1, frameBytes))));
}

/**
 * The frames dataset, fed one frame at a time and written a chunk at a time.
 *
 * With one frame per chunk, each frame goes to HDF5 as it arrives, from the
 * caller's buffer. With several, frames are copied into a chunk-sized buffer
 * and written when it is full; commit() also writes a partly filled chunk,
 * which is written again, whole, once it fills. Frames that arrive back to
 * back in one buffer from the start of a chunk (a batch received whole) are
 * not copied at all: the chunk is written from where they lie. So the
 * pixels of a frame that shares chunks must stay unchanged until commit()
 * (the saver's come from received messages, which nothing rewrites; frames
 * in shared-memory slots are all of SMALL_FRAME_BYTES or more).
 *
 * The extent never ends inside a chunk that has not been written, and after
 * commit() it is exactly the frames appended.
 */
export class FramesDataset {
  readonly framesPerChunk: number;
  /** Null with one frame per chunk: frames are written from the caller's buffer. */
  private readonly chunk: Uint8Array | null;
  /** First row of the chunk being filled. */
  private chunkStart = 0;
  /** Frames in `chunk`, not yet written as a full chunk. */
  private buffered = 0;
  /** Whether `chunk` holds frames that the last commit() did not write. */
  private bufferChanged = false;
  /** Rows in the dataset's extent. */
  private capacity = 0;
  /**
   * The first `lentFrames` frames of the chunk being filled (all of its
   * frames so far, or none) still lie back to back in the caller's memory
   * from `lentStart` in `lentBuffer`, not copied into `chunk`.
   */
  private lentBuffer: ArrayBufferLike | null = null;
  private lentStart = 0;
  private lentFrames = 0;

  constructor(
    private readonly dataset: ExtendibleDataset,
    private readonly frameBytes: number,
    framesPerChunkCount: number,
  ) {
    this.framesPerChunk = framesPerChunkCount;
    this.chunk = framesPerChunkCount === 1 ? null : new Uint8Array(framesPerChunkCount * frameBytes);
  }

  /**
   * Appends the frame at `row`, the number of frames appended before it. If
   * it throws, the frame counts as not appended and the state is unchanged.
   */
  append(row: number, pixels: Uint8Array): void {
    if (this.chunk === null) {
      this.ensureRows(row + 1);
      this.dataset.writeChunk(row, 1, pixels);
      return;
    }
    const lends = this.lentFrames === this.buffered && this.followsLent(pixels);
    if (!lends) {
      this.copyLent();
      this.chunk.set(pixels, this.buffered * this.frameBytes);
    }
    if (this.buffered + 1 < this.framesPerChunk) {
      if (lends) this.lend(pixels);
      this.buffered++;
      this.bufferChanged = true;
      return;
    }
    this.ensureRows(this.chunkStart + this.framesPerChunk);
    // A whole chunk received back to back is written from where it lies.
    const start = lends && this.buffered > 0 ? this.lentStart : pixels.byteOffset;
    const bytes = lends ? new Uint8Array(pixels.buffer, start, this.framesPerChunk * this.frameBytes) : this.chunk;
    this.dataset.writeChunk(this.chunkStart, this.framesPerChunk, bytes);
    this.chunkStart += this.framesPerChunk;
    this.buffered = 0;
    this.bufferChanged = false;
    this.lentBuffer = null;
    this.lentFrames = 0;
  }

  /** Whether `pixels` lie right after the lent frames (or begin the chunk), so they can be lent too. */
  private followsLent(pixels: Uint8Array): boolean {
    if (pixels.byteLength !== this.frameBytes) return false;
    if (this.lentFrames === 0) return true;
    return pixels.buffer === this.lentBuffer && pixels.byteOffset === this.lentStart + this.lentFrames * this.frameBytes;
  }

  private lend(pixels: Uint8Array): void {
    if (this.lentFrames === 0) {
      this.lentBuffer = pixels.buffer;
      this.lentStart = pixels.byteOffset;
    }
    this.lentFrames++;
  }

  /** The lent frames into `chunk`: what follows them is not back to back, or the chunk is written partly filled. */
  private copyLent(): void {
    if (this.lentFrames === 0 || this.chunk === null) return;
    this.chunk.set(new Uint8Array(this.lentBuffer!, this.lentStart, this.lentFrames * this.frameBytes), 0);
    this.lentBuffer = null;
    this.lentFrames = 0;
  }

  /** Writes any partly filled chunk and sets the extent to exactly `rows`, the frames appended. */
  commit(rows: number): void {
    if (this.capacity < rows) this.setCapacity(rows);
    if (this.chunk !== null && this.bufferChanged) {
      this.copyLent();
      // The unfilled rows are stored too (beyond the extent); zeros rather than an older chunk's frames.
      this.chunk.fill(0, this.buffered * this.frameBytes);
      this.dataset.writeChunk(this.chunkStart, this.buffered, this.chunk);
      this.bufferChanged = false;
    }
    if (this.capacity > rows) this.setCapacity(rows);
  }

  /** Compressed frames: every chunk written (none left in the compression threads); the bytes they take in the file. */
  settleCompressed(): number | null {
    return this.dataset.settleCompressed?.() ?? null;
  }

  /** Grows the extent to at least `rows`, in whole chunks (or blocks of one-frame chunks). */
  private ensureRows(rows: number): void {
    if (rows <= this.capacity) return;
    const step = this.framesPerChunk === 1 ? ONE_FRAME_CHUNK_GROWTH : this.framesPerChunk;
    this.setCapacity(Math.ceil(rows / step) * step);
  }

  private setCapacity(rows: number): void {
    this.dataset.resize(rows);
    this.capacity = rows;
  }
}
