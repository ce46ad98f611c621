import { promises as fs } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { inspectRecording, type RecordingSummary } from '../hdf5/file-inspector.js';

/** One file of the data directory as the recordings list shows it: what `labcast inspect` reports. */
export interface RecordingEntry {
  /** Relative to the data directory, with "/" separators. */
  readonly name: string;
  readonly path: string;
  readonly bytes: number;
  readonly modified: string;
  /** The file the current recording is writing: not inspected until it is closed. */
  readonly active: boolean;
  /** Why the file could not be read, in plain words; the fields below are then null. */
  readonly error: string | null;
  readonly summary: {
    readonly finished: boolean;
    readonly frames: number;
    readonly shape: readonly number[];
    readonly dtype: string;
    readonly duration_s: number | null;
    readonly fps: number | null;
    readonly missing_frames: number;
    readonly gaps: number;
    readonly frames_dropped: number | null;
    readonly end_reason: string | null;
    readonly camera: string;
    readonly settings: Readonly<Record<string, number | string | boolean>>;
    readonly start_time: string;
    readonly run_id: string;
    /** Null for raw frames; bytes as of the file's last flush (docs/hdf5-layout.md#compression). */
    readonly compression: {
      readonly codec: string;
      readonly level: number | null;
      readonly bytes_in: number | null;
      readonly bytes_out: number | null;
      readonly ratio: number | null;
    } | null;
  } | null;
}

export interface ListOptions {
  /** The file being written now (status.file), if any. */
  readonly activeFile?: string | null;
  /** At most this many, newest first. */
  readonly limit?: number;
}

const DEFAULT_LIMIT = 200;
/** Directories deeper than this are not searched (date folders are one level). */
const MAX_DEPTH = 8;

interface Cached {
  readonly mtimeMs: number;
  readonly size: number;
  readonly entry: RecordingEntry;
}

/**
 * Lists *.h5 files under a data directory, newest first, each inspected once
 * per version (cached by modification time and size). A file that cannot be
 * read is listed with the reason rather than failing the list.
 */
export class RecordingsIndex {
  private readonly cache = new Map<string, Cached>();

  constructor(readonly dataDir: string) {}

  async list(options: ListOptions = {}): Promise<RecordingEntry[]> {
    const root = resolve(this.dataDir);
    const files = await findH5Files(root);
    files.sort((a, b) => b.mtimeMs - a.mtimeMs || a.path.localeCompare(b.path));
    const chosen = files.slice(0, options.limit ?? DEFAULT_LIMIT);
    const active = options.activeFile == null ? null : resolve(options.activeFile);
    const entries: RecordingEntry[] = [];
    for (const file of chosen) {
      const base = {
        name: relative(root, file.path).split('\\').join('/'),
        path: file.path,
        bytes: file.size,
        modified: new Date(file.mtimeMs).toISOString(),
      };
      if (file.path === active) {
        entries.push({ ...base, active: true, error: null, summary: null });
        continue;
      }
      const cached = this.cache.get(file.path);
      if (cached !== undefined && cached.mtimeMs === file.mtimeMs && cached.size === file.size) {
        entries.push(cached.entry);
        continue;
      }
      const entry = await inspectEntry(base, file.path);
      this.cache.set(file.path, { mtimeMs: file.mtimeMs, size: file.size, entry });
      entries.push(entry);
    }
    const listed = new Set(files.map((file) => file.path));
    for (const path of this.cache.keys()) if (!listed.has(path)) this.cache.delete(path);
    return entries;
  }
}

async function inspectEntry(base: Omit<RecordingEntry, 'active' | 'error' | 'summary'>, path: string): Promise<RecordingEntry> {
  try {
    return { ...base, active: false, error: null, summary: summaryOf(await inspectRecording(path)) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // The inspector's messages start with the path, which the list already shows.
    return { ...base, active: false, error: message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message, summary: null };
  }
}

function summaryOf(summary: RecordingSummary): NonNullable<RecordingEntry['summary']> {
  return {
    finished: summary.finished,
    frames: summary.frameCount,
    shape: summary.frameShape,
    dtype: summary.dtype,
    duration_s: summary.durationS,
    fps: summary.fps,
    missing_frames: summary.missingFrames,
    gaps: summary.gaps.length,
    frames_dropped: summary.acquisition.framesDropped,
    end_reason: summary.acquisition.endReason,
    camera: `${summary.camera.driver} (${summary.camera.model})`,
    settings: summary.camera.settings,
    start_time: summary.provenance.startTime,
    run_id: summary.provenance.runId,
    compression:
      summary.compression === null
        ? null
        : {
            codec: summary.compression.codec,
            level: summary.compression.level,
            bytes_in: summary.compression.bytesIn,
            bytes_out: summary.compression.bytesOut,
            ratio: summary.compression.ratio,
          },
  };
}

interface FoundFile {
  readonly path: string;
  readonly mtimeMs: number;
  readonly size: number;
}

/** Regular *.h5 files under `dir`; symlinks are not followed, unreadable directories are skipped. */
async function findH5Files(dir: string, depth = 0): Promise<FoundFile[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const found: FoundFile[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth < MAX_DEPTH) {
      found.push(...(await findH5Files(path, depth + 1)));
    } else if (entry.isFile() && entry.name.toLowerCase().endsWith('.h5')) {
      try {
        const stat = await fs.stat(path);
        found.push({ path, mtimeMs: stat.mtimeMs, size: stat.size });
      } catch {
        // Removed while we looked.
      }
    }
  }
  return found;
}
