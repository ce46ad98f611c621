import fs from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { frameByteLength, type PixelDtype } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';
import type { AnalysisResult } from '../protocol/analysis.js';
import type { FrameHeader, RunEnd, RunStart } from '../protocol/messages.js';
import { AnalysisResultsStore, type ResultsReceipt } from './analysis-results.js';
import { DiskSync } from './disk-sync.js';
import { FrameGapTracker } from '../hdf5/frame-gaps.js';
import type { FrameWriter, OpenFrameWriter, WriterSummary } from './frame-writer.js';
import type { FramesDataset } from './frames-dataset.js';
import { describeHdf5Error } from '../hdf5/h5wasm-runtime.js';
import { int64, type Hdf5Backend, type Hdf5File } from './hdf5-backend.js';
import { COMPRESSION_ATTRS, PATHS, VALID_FRAMES_ATTR } from '../hdf5/hdf5-layout.js';
import { NO_COMPRESSION, type CompressionSpec } from '../protocol/compression.js';
import { refuseUnavailableCompression } from './compression-support.js';
import { PendingFrameIndex, type FrameIndexDatasets } from './pending-frame-index.js';
import { writeRunEnd, writeRunStart, type RunDatasets } from './run-metadata.js';
import { RunTimingTracker } from '../hdf5/run-timing.js';
import { TruthTable } from './truth-table.js';

/**
 * The recording writer of docs/hdf5-layout.md, over either HDF5 backend: the
 * same file, the same flush and crash guarantees, whichever writes it.
 */
export function layoutWriterOpener(loadBackend: () => Promise<Hdf5Backend>): OpenFrameWriter {
  return async (path, start, options) => {
    const backend = await loadBackend();
    const compression = options.compression ?? NO_COMPRESSION;
    refuseUnavailableCompression(compression, backend.name, 'storage.compression');
    refuseUnusableOutput(path, options.overwrite);
    const file = createFile(backend, path, options.overwrite);
    try {
      const datasets = writeRunStart(file, start, basename(path), backend.description, compression);
      // A reader (or a crash) from here on finds a valid file with zero frames.
      file.flush();
      return new LayoutFrameWriter(path, file, start, datasets, backend.description, compression);
    } catch (error) {
      closeQuietly(file);
      fs.rmSync(path, { force: true });
      throw new LabcastError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${describeHdf5Error(error)}`);
    }
  };
}

/** Checked before HDF5 is asked, because its errors name neither the cause nor the path clearly. */
function refuseUnusableOutput(path: string, overwrite: boolean): void {
  const directory = dirname(resolve(path));
  let directoryStat: fs.Stats;
  try {
    directoryStat = fs.statSync(directory);
  } catch {
    throw new LabcastError('OUTPUT_UNWRITABLE', `cannot write ${path}: directory ${directory} does not exist`);
  }
  if (!directoryStat.isDirectory()) {
    throw new LabcastError('OUTPUT_UNWRITABLE', `cannot write ${path}: ${directory} is not a directory`);
  }
  try {
    fs.accessSync(directory, fs.constants.W_OK);
  } catch {
    throw new LabcastError('OUTPUT_UNWRITABLE', `cannot write ${path}: no write permission in ${directory}`);
  }
  const existing = fs.statSync(path, { throwIfNoEntry: false });
  if (existing === undefined) return;
  if (!overwrite) {
    throw new LabcastError('OUTPUT_EXISTS', `output file ${path} already exists (overwrite was not asked for)`);
  }
  if (!existing.isFile()) {
    throw new LabcastError('OUTPUT_UNWRITABLE', `cannot write ${path}: it exists and is not a regular file`);
  }
}

function createFile(backend: Hdf5Backend, path: string, overwrite: boolean): Hdf5File {
  try {
    // Exclusive create closes the race between the check above and the create.
    return backend.createFile(path, overwrite ? 'truncate' : 'exclusive');
  } catch (error) {
    if (!overwrite && fs.existsSync(path)) {
      throw new LabcastError('OUTPUT_EXISTS', `output file ${path} already exists (overwrite was not asked for)`);
    }
    const described = describeHdf5Error(error);
    // The native writer's own message already starts "cannot create PATH": say it once.
    throw new LabcastError(
      'OUTPUT_UNWRITABLE',
      described.startsWith(`cannot create ${path}`) ? described : `cannot create ${path}: ${described}`,
    );
  }
}

function closeQuietly(file: Hdf5File): void {
  try {
    file.close();
  } catch {
    // Already failing: the first error is the one worth reporting.
  }
}

class LayoutFrameWriter implements FrameWriter {
  readonly path: string;
  private file: Hdf5File | null;
  private readonly diskSync: DiskSync;
  private readonly frames: FramesDataset;
  private readonly index: FrameIndexDatasets;
  private readonly runId: string;
  private readonly frameShape: readonly number[];
  private readonly dtype: PixelDtype;
  private readonly frameBytes: number;
  private readonly pending = new PendingFrameIndex();
  private readonly gaps = new FrameGapTracker();
  private readonly timing = new RunTimingTracker();
  /** The simulator's ground truth of the frames (pattern particles), committed with them. */
  private readonly truth = new TruthTable();
  private readonly results: AnalysisResultsStore;
  private written = 0;
  /** Rows whose ids and timestamps are in their datasets, and counted by valid_frames. */
  private indexed = 0;
  /** Frames in the file as of the last successful flush (or close): what a reader is sure to find. */
  private flushed = 0;
  private bytes = 0;
  /** Compressed frames: the bytes their chunks took in the file at the last commit. */
  private storedBytes = 0;
  private summary: WriterSummary | null = null;
  /**
   * The first failed HDF5 operation. From then on the file is left alone:
   * HDF5's in-memory state no longer matches the disk, and flushing or
   * closing it (measured on a full disk) can write metadata that points past
   * the end of the file, making even the flushed frames unreadable.
   */
  private failure: unknown = null;

  constructor(
    path: string,
    file: Hdf5File,
    start: RunStart,
    datasets: RunDatasets,
    readonly hdf5Writer: string,
    private readonly compression: CompressionSpec,
  ) {
    this.path = path;
    this.results = new AnalysisResultsStore(start.config);
    this.file = file;
    this.diskSync = new DiskSync(path);
    this.frames = datasets.frames;
    this.index = datasets.index;
    this.runId = start.run_id;
    this.frameShape = [...start.shape];
    this.dtype = start.dtype;
    this.frameBytes = frameByteLength(start.shape, start.dtype);
  }

  get framesWritten(): number {
    return this.written;
  }

  get framesFlushed(): number {
    return this.flushed;
  }

  append(header: FrameHeader, pixels: Uint8Array): void {
    this.usableFile('append');
    this.refuseMismatch(header, pixels);
    this.guard(() => this.frames.append(this.written, pixels));
    this.gaps.observe(header.seq);
    this.pending.push(header.seq, header.camera_ts_ns, header.wall_ts_ns);
    this.timing.observe(header.seq, header.camera_ts_ns);
    if (header.truth !== undefined) this.truth.add(header.seq, header.truth);
    this.written++;
    this.bytes += pixels.byteLength;
  }

  addResult(result: AnalysisResult): void {
    if (this.file === null || this.failure !== null) return;
    this.results.add(result);
  }

  /**
   * Visible to other readers and safe from a crash of this process when it
   * returns; on the disk (safe from a power cut) once the background sync it
   * starts has finished, normally well within the next flush interval.
   */
  flush(): void {
    const file = this.usableFile('flush');
    this.guard(() => {
      this.commit(file);
      file.flush();
    });
    this.flushed = this.written;
    this.diskSync.startInBackground();
  }

  finish(end: RunEnd | null, results: ResultsReceipt | null = null): WriterSummary {
    if (this.summary !== null) return this.summary;
    if (this.file === null) throw new Error(`finish() on ${this.path} after finish()`);
    const file = this.file;
    this.file = null;
    if (this.failure !== null) {
      file.abandon?.();
      return this.abandon();
    }
    const gaps = this.gaps.gaps(end?.frames_acquired ?? null);
    try {
      this.guard(() => {
        this.commit(file);
        // Never throws: results that cannot be written are counted, the frames kept.
        this.results.finish(file, results);
        writeRunEnd(file, { framesWritten: this.written, gaps, end, closedAtNs: nowNs(), timing: this.timing.timing });
        file.close();
      });
    } catch (error) {
      throw new LabcastError('OUTPUT_UNWRITABLE', `cannot finish ${this.path}: ${describeHdf5Error(error)}`);
    }
    this.flushed = this.written;
    this.diskSync.now();
    const account = this.results.account;
    this.summary = {
      path: this.path,
      framesWritten: this.written,
      gaps,
      bytesWritten: this.bytes,
      timing: this.timing.timing,
      ...(Object.keys(account.stored).length === 0 && account.writeErrors === 0 ? {} : { results: account }),
      ...(this.compression.codec === 'none'
        ? {}
        : {
            compression: {
              codec: this.compression.codec,
              level: this.compression.level,
              bytesIn: this.written * this.frameBytes,
              bytesOut: this.storedBytes,
            },
          }),
    };
    return this.summary;
  }

  /** After a failed write: the file is not touched again, and keeps what its last flush wrote. */
  private abandon(): never {
    try {
      this.diskSync.now();
    } catch {
      // Best effort: the failure being reported is the write's.
    }
    throw new LabcastError(
      'WRITE_FAILED',
      `${this.path} was left as of its last flush (${this.flushed} frames) after a failed write: ${describeHdf5Error(this.failure)}`,
    );
  }

  private usableFile(operation: string): Hdf5File {
    if (this.file === null) throw new Error(`${operation}() on ${this.path} after finish()`);
    if (this.failure !== null) {
      throw new LabcastError('WRITE_FAILED', `${operation}() on ${this.path} after a failed write: ${describeHdf5Error(this.failure)}`);
    }
    return this.file;
  }

  private guard(operation: () => void): void {
    try {
      operation();
    } catch (error) {
      this.failure ??= error;
      throw error;
    }
  }

  private refuseMismatch(header: FrameHeader, pixels: Uint8Array): void {
    const problem =
      header.run_id !== this.runId
        ? `frame of run ${header.run_id} sent to the file of run ${this.runId}`
        : header.dtype !== this.dtype || !sameShape(header.shape, this.frameShape)
          ? `frame ${header.seq} is ${header.dtype} [${header.shape.join(', ')}]; the run is ${this.dtype} [${this.frameShape.join(', ')}]`
          : pixels.byteLength !== this.frameBytes
            ? `frame ${header.seq} has ${pixels.byteLength} bytes of pixels; ` +
              `${this.dtype} [${this.frameShape.join(', ')}] needs ${this.frameBytes}`
            : this.gaps.check(header.seq);
    if (problem !== null) throw new LabcastError('BAD_MESSAGE', `${this.path}: ${problem}`);
  }

  /**
   * Brings the file to a state that claims exactly the frames written: any
   * partly filled chunk written, ids and timestamps appended, the extent
   * trimmed, and the valid_frames count updated for readers of a file that
   * later crashes.
   */
  private commit(file: Hdf5File): void {
    this.frames.commit(this.written);
    // Results first: they never throw, and must not wait for a frame to be written.
    this.results.commit(file);
    if (this.indexed === this.written) return;
    this.pending.writeTo(this.index, this.indexed);
    this.truth.commit(file);
    // Compressed: every chunk out of the compression threads and in the file before valid_frames counts it.
    const stored = this.frames.settleCompressed();
    if (stored !== null) {
      this.storedBytes = stored;
      file.setAttribute(PATHS.frames, COMPRESSION_ATTRS.bytesIn, int64(this.written * this.frameBytes));
      file.setAttribute(PATHS.frames, COMPRESSION_ATTRS.bytesOut, int64(stored));
    }
    file.setAttribute(PATHS.frames, VALID_FRAMES_ATTR, int64(this.written));
    this.indexed = this.written;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
