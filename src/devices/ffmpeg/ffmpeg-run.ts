import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LabcastError } from '../../protocol/errors.js';
import type { FramePipeAddon } from '../../native/native-addon.js';
import type { FrameMemory } from '../camera.js';
import { FramePipe } from './frame-pipe.js';
import { missingTool } from './tools.js';

/** Key the metadata filter tags every frame with, so that it prints each one. */
const TAG = 'labcast';

/**
 * The filter chain appended to the source: convert to the output pixel
 * format, put timestamps in nanoseconds, and log each frame's pts on stderr
 * (`[Parsed_metadata_N @ 0x...] [info] frame:N pts:P ...`, in output order,
 * written unbuffered, unlike the filter's file output).
 */
export function ptsFilter(pixelFormat: string): string {
  return `format=${pixelFormat},settb=1/1000000000,metadata=mode=add:key=${TAG}:value=1,metadata=mode=print:key=${TAG}`;
}

/** Logging that keeps the pts lines (info) and tags every line with its level. */
export const FFMPEG_LOG_ARGS = ['-nostats', '-loglevel', 'level+info'];

export interface RawFrame {
  readonly pixels: Uint8Array;
  /** The frame's pts in ns (the source's clock), or null when ffmpeg did not say. */
  readonly ptsNs: bigint | null;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Without the frame pipe: frames read ahead of the consumer before ffmpeg's stdout is paused (the pipe then holds ffmpeg back). */
const MAX_QUEUED_FRAMES = 4;
/** How long a frame waits for its pts line before it is stamped without one. */
const PTS_WAIT_MS = 1000;
const STDERR_LINE_KEEP = 4096;
/** ffmpeg lines quoted in a failure message. */
const MESSAGE_LINES = 4;
const KILL_GRACE_MS = 2000;

/**
 * One ffmpeg process writing raw frames to stdout, each paired with its pts
 * from the log on stderr.
 *
 * With the native addon (`pipe`), stdout is a pipe of labcast's own, read one
 * frame of exactly `frameBytes` at a time when the consumer asks for it,
 * straight into the memory it offers (a ring slot: no copy in this process)
 * or else a buffer of the frame's own; the enlarged pipe holds what ffmpeg
 * writes meanwhile. Without it, Node reads stdout as a stream and the frames
 * are cut from its chunks (a chunk may hold parts of several), up to
 * MAX_QUEUED_FRAMES ahead of the consumer, one fresh buffer per frame.
 */
export class FfmpegRun {
  private readonly child: ChildProcess;
  private readonly pipe: FramePipe | null;
  /** The pipe reached its end (ffmpeg closed it): what remains is ffmpeg's exit. */
  private pipeEnded = false;
  private readonly frames: Uint8Array[] = [];
  private readonly pts: (bigint | null)[] = [];
  /** Index (in output order) of the next frame handed out. */
  private taken = 0;
  private partial: Uint8Array | null = null;
  private filled = 0;
  private stderrLine = '';
  private ptsEnded = false;
  /** ffmpeg's recent warnings and errors, for the failure message. */
  private readonly problems: string[] = [];
  private exit: Exit | null = null;
  private failure: LabcastError | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private readonly closed: Promise<void>;

  constructor(
    binary: string,
    args: readonly string[],
    private readonly frameBytes: number,
    pipeAddon: FramePipeAddon | null = null,
  ) {
    this.pipe = pipeAddon === null ? null : new FramePipe(pipeAddon, frameBytes);
    try {
      this.child = spawn(binary, args, { stdio: ['ignore', this.pipe?.writeEnd ?? 'pipe', 'pipe'] });
    } catch (error) {
      void this.pipe?.close();
      throw error;
    }
    // ffmpeg has its own copy now: once it exits, the pipe ends.
    this.pipe?.closeWriteEnd();
    const stderr = this.child.stderr as Readable;
    if (this.pipe === null) {
      const stdout = this.child.stdout as Readable;
      stdout.on('data', (chunk: Buffer) => this.onPixels(chunk));
      // Errors on the pipe (EPIPE after a kill) are not ours to report; the exit says what happened.
      stdout.on('error', () => undefined);
    }
    stderr.on('data', (chunk: Buffer) => this.onStderr(chunk.toString('utf8')));
    stderr.on('end', () => {
      this.ptsEnded = true;
      this.notify();
    });
    stderr.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      this.child.on('error', (error: NodeJS.ErrnoException) => {
        this.failure =
          error.code === 'ENOENT' || error.code === 'EACCES'
            ? missingTool('ffmpeg', binary)
            : new LabcastError('CAMERA_FAILED', `could not start ${binary}: ${error.message}`);
        this.exit ??= { code: null, signal: null };
        this.notify();
        resolve();
      });
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        this.ptsEnded = true;
        this.notify();
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * The next frame; null when the source ended normally or `signal` aborted.
   * Throws CAMERA_FAILED when ffmpeg failed, after every complete frame it sent
   * has been handed out (a frame cut short by the failure is not one).
   * `memory`: where to read the frame into, when the frame pipe is in use.
   */
  async next(signal: AbortSignal, memory?: FrameMemory): Promise<RawFrame | null> {
    return this.pipe === null ? this.nextAssembled(signal) : this.nextFromPipe(this.pipe, signal, memory);
  }

  /**
   * Reads the next frame from the pipe into the memory `memory` gives, or a
   * buffer of its own when it gives none. If no frame is returned, the
   * memory taken is not used (the FrameMemory takes its slot back).
   */
  private async nextFromPipe(pipe: FramePipe, signal: AbortSignal, memory: FrameMemory | undefined): Promise<RawFrame | null> {
    const onAbort = (): void => {
      pipe.cancel();
      this.notify();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted || this.stopping) return null;
      if (!this.pipeEnded) {
        const pixels = memory?.take(this.frameBytes) ?? ownFrameMemory(this.frameBytes);
        const read = await pipe.read(pixels);
        if (read.end === 'cancelled' || signal.aborted) return null;
        if (read.end === 'full') return await this.withPts(pixels, signal);
        // The pipe ended, after part of a frame when ffmpeg died mid-write: its exit says why.
        this.pipeEnded = true;
      }
      while (this.exit === null) {
        if (signal.aborted) return null;
        await this.sleep(null);
      }
      const failure = this.failure ?? this.exitFailure();
      if (failure !== null) throw failure;
      return null;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** The frame with its pts, once ffmpeg has logged it (or has stopped logging, or after PTS_WAIT_MS); null on abort. */
  private async withPts(pixels: Uint8Array, signal: AbortSignal): Promise<RawFrame | null> {
    const deadline = Date.now() + PTS_WAIT_MS;
    for (;;) {
      if (signal.aborted) return null;
      const pts = this.pts[this.taken];
      if (pts !== undefined || this.ptsEnded || Date.now() >= deadline) {
        this.taken += 1;
        return { pixels, ptsNs: pts ?? null };
      }
      await this.sleep(Math.max(1, deadline - Date.now()));
    }
  }

  private async nextAssembled(signal: AbortSignal): Promise<RawFrame | null> {
    const onAbort = (): void => this.notify();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      let ptsDeadline: number | null = null;
      for (;;) {
        if (signal.aborted) return null;
        const pixels = this.frames[0];
        if (pixels !== undefined) {
          const pts = this.pts[this.taken];
          if (pts !== undefined || this.ptsEnded) return this.take(pixels, pts ?? null);
          ptsDeadline ??= Date.now() + PTS_WAIT_MS;
          if (Date.now() >= ptsDeadline) return this.take(pixels, null);
        } else if (this.exit !== null) {
          const failure = this.failure ?? this.exitFailure();
          if (failure !== null) throw failure;
          return null;
        }
        await this.sleep(ptsDeadline === null ? null : Math.max(1, ptsDeadline - Date.now()));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Ends ffmpeg (TERM, then KILL) and resolves once it is gone. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    // A read in progress lets go of its memory first; then closing the read end unblocks ffmpeg.
    await this.pipe?.close();
    if (this.exit === null) {
      // Unblock an ffmpeg stuck writing to a paused pipe, then ask it to quit.
      this.child.stdout?.destroy();
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), KILL_GRACE_MS);
      await this.closed;
      clearTimeout(timer);
    }
    this.frames.length = 0;
  }

  private take(pixels: Uint8Array, pts: bigint | null): RawFrame {
    this.frames.shift();
    this.taken += 1;
    if (this.frames.length < MAX_QUEUED_FRAMES && this.exit === null) (this.child.stdout as Readable).resume();
    return { pixels, ptsNs: pts };
  }

  private exitFailure(): LabcastError | null {
    const exit = this.exit;
    if (exit === null || this.stopping) return null;
    if (exit.code === 0) return null;
    const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const tail = this.problems.slice(-MESSAGE_LINES).join(' | ');
    return new LabcastError('CAMERA_FAILED', `ffmpeg ${how}: ${tail === '' ? 'it printed no error message' : tail}`);
  }

  private onPixels(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const count = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      this.partial ??= ownFrameMemory(this.frameBytes);
      this.partial.set(chunk.subarray(offset, offset + count), this.filled);
      this.filled += count;
      offset += count;
      if (this.filled === this.frameBytes) {
        this.frames.push(this.partial);
        this.partial = null;
        this.filled = 0;
      }
    }
    if (this.frames.length >= MAX_QUEUED_FRAMES) (this.child.stdout as Readable).pause();
    this.notify();
  }

  private onStderr(text: string): void {
    const lines = (this.stderrLine + text).split('\n');
    this.stderrLine = (lines.pop() ?? '').slice(-STDERR_LINE_KEEP);
    for (const line of lines) {
      const pts = /\] \[info\] frame:(\d+)\s+pts:(\S+)/.exec(line);
      if (pts !== null) {
        const value = pts[2] ?? '';
        this.pts[Number(pts[1])] = /^-?\d+$/.test(value) ? BigInt(value) : null;
        continue;
      }
      if (line.includes(`] [info] ${TAG}=`)) continue;
      const tagged = /^(?:\[[^\]]* @ 0x[0-9a-f]+\] )?\[(\w+)\] (.*)$/.exec(line);
      const level = tagged?.[1] ?? 'info';
      const message = (tagged?.[2] ?? line).trim();
      if (message === '' || !['warning', 'error', 'fatal', 'panic'].includes(level)) continue;
      this.problems.push(message);
      if (this.problems.length > MESSAGE_LINES) this.problems.shift();
    }
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private sleep(timeoutMs: number | null): Promise<void> {
    return new Promise((resolve) => {
      const timer = timeoutMs === null ? null : setTimeout(() => this.notify(), timeoutMs);
      this.wake = () => {
        if (timer !== null) clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * A buffer of a frame's own, for a frame the FrameMemory gives no memory for:
 * not zero-filled (the read fills all of it), and never reused, since its
 * ownership passes on with the frame (ZeroMQ may send it zero-copy, and says
 * nothing when it is done with it).
 */
function ownFrameMemory(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, bytes);
}
