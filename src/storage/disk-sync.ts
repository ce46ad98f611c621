import fs from 'node:fs';
import { LabcastError } from '../protocol/errors.js';

/**
 * fdatasync for a file that HDF5 writes: h5wasm's file driver never syncs, so
 * without this the data reaches the disk only when the kernel decides (a hard
 * kill of the process loses nothing, a power cut may lose everything unsynced).
 */
export class DiskSync {
  private inFlight = false;
  private failure: NodeJS.ErrnoException | null = null;

  constructor(private readonly path: string) {}

  /**
   * Starts an fdatasync on libuv's thread pool and returns at once. A
   * synchronous sync once per second would stop the writer for the whole
   * writeback (measured 300-600 ms per second of 2 MB frames on this disk),
   * where the kernel could otherwise write back while frames keep arriving.
   * One sync at a time: a flush that finds one running leaves its data to the next.
   */
  startInBackground(): void {
    this.throwIfFailed();
    if (this.inFlight) return;
    const fd = fs.openSync(this.path, 'r');
    this.inFlight = true;
    fs.fdatasync(fd, (error) => {
      fs.close(fd, () => undefined);
      this.inFlight = false;
      if (error !== null) this.failure ??= error;
    });
  }

  /** Returns once everything written so far is on the disk. */
  now(): void {
    this.throwIfFailed();
    const fd = fs.openSync(this.path, 'r');
    try {
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** An I/O error from a background sync must not pass unseen: the next call reports it. */
  private throwIfFailed(): void {
    if (this.failure !== null) {
      throw new LabcastError('OUTPUT_UNWRITABLE', `${this.path}: syncing to disk failed: ${this.failure.message}`);
    }
  }
}
