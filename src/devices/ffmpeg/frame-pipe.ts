import { closeSync, writeSync } from 'node:fs';
import { loadNativeAddon, type FramePipeAddon, type FramePipeRead } from '../../native/native-addon.js';
import { speedUpOn } from '../../native/speed-switch.js';

/** "0" has Node assemble ffmpeg's frames from its stdout's chunks (one copy more), as without the native addon. */
export const FRAME_PIPE_ENV = 'LABCAST_FFMPEG_PIPE_READ';

/**
 * Smaller frames are cut from Node's stdout chunks instead: a chunk holds
 * many of them, and one read of the pipe per frame, each a thread-pool hop,
 * cost more than copying them (bench/ffmpeg-source.ts at 64²: 89 against 59
 * MB/s). From this size on frames go through the saver's ring
 * (transport/frame-ring.ts RING_FRAME_BYTES), where reading into the slot
 * saves a copy of the whole frame.
 */
export const FRAME_PIPE_MIN_BYTES = 256 * 1024;
/** The pipe should hold a few frames while one is handed on; the system caps it (pipe-max-size, 1 MiB by default). */
const PIPE_FRAMES = 4;
const PIPE_MIN_BYTES = 1024 * 1024;

/** The addon's frame pipe for frames of `frameBytes`, or null: small frames, not built, or turned off with LABCAST_FFMPEG_PIPE_READ=0. */
export function framePipeAddon(frameBytes: number, env: NodeJS.ProcessEnv = process.env): FramePipeAddon | null {
  if (frameBytes < FRAME_PIPE_MIN_BYTES) return null;
  if (!speedUpOn(env, FRAME_PIPE_ENV, 'ffmpeg frames read from the pipe straight into their memory')) return null;
  const loaded = loadNativeAddon();
  return 'addon' in loaded ? loaded.addon : null;
}

/**
 * The pipe ffmpeg writes raw frames to, read one whole frame at a time into
 * memory the reader chooses (a ring slot): kernel → that memory, no copy in
 * between. Reads happen only when asked for; meanwhile the pipe (enlarged)
 * holds what ffmpeg writes. One read at a time; cancel() ends a read waiting
 * for data at once, and every later one.
 */
export class FramePipe {
  private readonly readFd: number;
  private readonly cancelFd: number;
  /** The write end, in this process until ffmpeg has its own copy. */
  private writeFd: number | null;
  readonly pipeBytes: number;
  private reading: Promise<unknown> | null = null;
  private cancelled = false;
  private closed = false;

  constructor(
    private readonly addon: FramePipeAddon,
    frameBytes: number,
  ) {
    const pipe = addon.openFramePipe(Math.max(PIPE_FRAMES * frameBytes, PIPE_MIN_BYTES));
    this.readFd = pipe.readFd;
    this.writeFd = pipe.writeFd;
    this.cancelFd = pipe.cancelFd;
    this.pipeBytes = pipe.pipeBytes;
  }

  /** The descriptor ffmpeg's stdout is made from. */
  get writeEnd(): number {
    if (this.writeFd === null) throw new Error('the frame pipe write end is already closed');
    return this.writeFd;
  }

  /** Once ffmpeg has the write end (or failed to start): this process's copy goes, so ffmpeg's exit is the pipe's end of file. */
  closeWriteEnd(): void {
    if (this.writeFd === null) return;
    closeSync(this.writeFd);
    this.writeFd = null;
  }

  /** Fills `into` with the next frame: 'full', or 'eof' (bytes = how much of a frame came before the end), or 'cancelled'. */
  async read(into: Uint8Array): Promise<FramePipeRead> {
    if (this.reading !== null) throw new Error('one frame pipe read at a time');
    if (this.cancelled || this.closed) return { bytes: 0, end: 'cancelled' };
    const reading = this.addon.readFramePipe(this.readFd, this.cancelFd, into, 0);
    this.reading = reading;
    try {
      return await reading;
    } finally {
      this.reading = null;
    }
  }

  /** Ends the read in progress (it settles 'cancelled' or with what it had) and every later one. */
  cancel(): void {
    if (this.cancelled || this.closed) return;
    this.cancelled = true;
    const one = Buffer.alloc(8);
    one.writeBigUInt64LE(1n);
    writeSync(this.cancelFd, one);
  }

  /** Cancels, waits for a read in progress to let go of its memory and descriptors, then closes them. Idempotent. */
  async close(): Promise<void> {
    this.cancel();
    await this.reading?.catch(() => undefined);
    if (this.closed) return;
    this.closed = true;
    this.closeWriteEnd();
    closeSync(this.readFd);
    closeSync(this.cancelFd);
  }
}
