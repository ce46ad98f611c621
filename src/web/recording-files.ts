import { promises as fs } from 'node:fs';
import { RecordingFile } from '../hdf5/recording-file.js';
import { recordingPath } from './recording-path.js';

/** Files kept open between requests (a viewer steps through one file; a few tabs may look at others). */
const MAX_OPEN_FILES = 4;
/** An open file not asked for this long is closed. */
const IDLE_CLOSE_MS = 30_000;

/**
 * Open recording files, shared between requests. Only finished files stay
 * open (until idle): HDF5 shares one view of a file among all its opens in a
 * process, so a file kept open while its writer still changes it would show
 * every later open (the recordings list's inspector too) a stale state. A file
 * being written is opened for each request and closed after it, so each
 * request sees what the writer last flushed.
 */
export class RecordingFiles {
  private readonly open = new Map<string, RecordingFile>();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly dataDir: string) {
    this.timer = setInterval(() => this.closeIdle(), IDLE_CLOSE_MS / 2);
    this.timer.unref();
  }

  /** Runs `use` with the current version of recording `name`; the file stays open until it returns. */
  async use<T>(name: string, use: (file: RecordingFile) => T | Promise<T>): Promise<T> {
    const file = await this.acquire(name);
    try {
      return await use(file);
    } finally {
      this.release(file);
    }
  }

  async acquire(name: string): Promise<RecordingFile> {
    const path = await recordingPath(this.dataDir, name);
    const stat = await fs.stat(path);
    let file = this.open.get(path);
    if (file !== undefined && (file.mtimeMs !== stat.mtimeMs || file.size !== stat.size)) {
      this.open.delete(path);
      if (file.users === 0) file.close();
      else this.stale.add(file);
      file = undefined;
    }
    if (file === undefined) {
      file = await RecordingFile.open(path, stat.mtimeMs, stat.size);
      this.open.set(path, file);
      this.trim();
    }
    file.users += 1;
    file.lastUsedMs = Date.now();
    return file;
  }

  release(file: RecordingFile): void {
    file.users -= 1;
    file.lastUsedMs = Date.now();
    if (file.users > 0) return;
    if (this.stale.delete(file)) {
      file.close();
    } else if (!file.finished) {
      if (this.open.get(file.path) === file) this.open.delete(file.path);
      file.close();
    }
  }

  /** Closes the open version of `path` if no request uses it (before another reader opens the file afresh). */
  forget(path: string): void {
    const file = this.open.get(path);
    if (file === undefined || file.users > 0) return;
    this.open.delete(path);
    file.close();
  }

  close(): void {
    clearInterval(this.timer);
    for (const file of this.open.values()) if (file.users === 0) file.close();
    this.open.clear();
  }

  /** Replaced versions still in use (a stack being streamed): closed when released. */
  private readonly stale = new Set<RecordingFile>();

  private trim(): void {
    const idle = [...this.open.values()].filter((file) => file.users === 0).sort((a, b) => a.lastUsedMs - b.lastUsedMs);
    while (this.open.size > MAX_OPEN_FILES && idle.length > 0) {
      const oldest = idle.shift()!;
      this.open.delete(oldest.path);
      oldest.close();
    }
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [path, file] of this.open) {
      if (file.users === 0 && now - file.lastUsedMs > IDLE_CLOSE_MS) {
        this.open.delete(path);
        file.close();
      }
    }
  }
}
