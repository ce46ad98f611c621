import {
  isText,
  product,
  type ExtendibleDataset,
  type ExtendibleDatasetSpec,
  type Hdf5Backend,
  type Hdf5File,
  type Hdf5Value,
  type NumericArray,
  type NumericDtype,
} from './hdf5-backend.js';
import type { Hdf5Addon } from '../native/native-addon.js';
import { speedUpOn } from '../native/speed-switch.js';
import { LabcastError } from '../protocol/errors.js';

/**
 * "0" writes frame chunks through the page cache like every other write
 * (HDF5's sec2 driver); unset or "1" writes them with O_DIRECT
 * (native/direct_vfd.c), for A/B measurements and file systems where
 * O_DIRECT misbehaves without refusing.
 */
export const DIRECT_IO_ENV = 'LABCAST_DIRECT_IO';

export function directIoWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return speedUpOn(env, DIRECT_IO_ENV, 'frames written with O_DIRECT');
}

/** Worker threads compressing frame chunks (default 2: one more core beside the saver's own thread). */
export const COMPRESSION_THREADS_ENV = 'LABCAST_COMPRESSION_THREADS';

export function compressionThreads(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[COMPRESSION_THREADS_ENV]?.trim() ?? '';
  if (text === '') return 2;
  const threads = Number(text);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new LabcastError('BAD_CONFIG', `${COMPRESSION_THREADS_ENV}=${text}: use an integer 1-64 (default 2)`);
  }
  return threads;
}

/**
 * The HDF5 backend over the native addon and the system libhdf5. Frames go to
 * HDF5 with H5Dwrite_chunk straight from the received buffer: no copy in
 * JavaScript, none into a wasm heap, no type conversion; the file driver
 * copies them once, into its page-aligned buffers for O_DIRECT.
 */
export function nativeBackend(addon: Hdf5Addon, directIo = directIoWanted()): Hdf5Backend {
  return {
    name: 'native',
    description: `native (libhdf5 ${addon.version()})`,
    createFile: (path, mode) => new NativeFile(addon, addon.createFile(path, mode === 'exclusive', directIo)),
  };
}

type Encoded = [dtype: NumericDtype | 'string', shape: readonly number[], data: string | readonly string[] | NumericArray];

function encode(value: Hdf5Value): Encoded {
  if (typeof value === 'string') return ['string', [], value];
  if (isText(value)) return ['string', [value.length], value];
  return [value.dtype, value.shape, value.data];
}

/**
 * After H5Fclose has been called once, the file id must not reach HDF5 again,
 * even if that close failed: HDF5 1.10 crashes the process (SIGSEGV) on a
 * second close of a file whose first close failed on a full disk.
 */
class NativeFile implements Hdf5File {
  private closed = false;
  /** Datasets whose chunks are compressed in worker threads: drained before every flush and close. */
  private readonly compressed: bigint[] = [];

  constructor(
    private readonly addon: Hdf5Addon,
    private readonly fileId: bigint,
  ) {}

  /** The file's id, for as long as it may be used. */
  get id(): bigint {
    if (this.closed) throw new Error('the HDF5 file was closed');
    return this.fileId;
  }

  createGroup(path: string): void {
    this.addon.createGroup(this.id, path);
  }

  setAttribute(objectPath: string, name: string, value: Hdf5Value): void {
    this.addon.setAttribute(this.id, objectPath, name, ...encode(value));
  }

  createDataset(path: string, value: Hdf5Value): void {
    const [dtype, shape, data] = encode(value);
    const dataset = this.addon.createDataset(this.id, path, dtype, shape, null, null);
    try {
      this.addon.writeDataset(dataset, data);
    } finally {
      this.addon.closeDataset(dataset);
    }
  }

  createExtendible(path: string, spec: ExtendibleDatasetSpec): ExtendibleDataset {
    const compression = spec.compression;
    if (compression !== undefined && compression.codec !== 'none') {
      const dataset = this.addon.createCompressedDataset(
        this.id,
        path,
        spec.dtype,
        [0, ...spec.rowShape],
        [-1, ...spec.rowShape],
        [spec.chunkRows, ...spec.rowShape],
        compression.codec,
        compression.level ?? 0,
        compressionThreads(),
      );
      this.compressed.push(dataset);
      return new NativeExtendible(this.addon, this, dataset, spec, true);
    }
    const dataset = this.addon.createDataset(
      this.id,
      path,
      spec.dtype,
      [0, ...spec.rowShape],
      [-1, ...spec.rowShape],
      [spec.chunkRows, ...spec.rowShape],
    );
    return new NativeExtendible(this.addon, this, dataset, spec, false);
  }

  flush(): void {
    for (const dataset of this.compressed) this.addon.drainCompressed(dataset);
    this.addon.flush(this.id);
  }

  /**
   * The file is opened with a strong close degree: its open datasets close
   * with it. Compressed chunks still queued are written first; if that
   * fails the file is not closed (a close after a failed write can make the
   * flushed frames unreadable, see layout-writer.ts), only its threads stopped.
   */
  close(): void {
    const id = this.id;
    this.closed = true;
    try {
      for (const dataset of this.compressed) this.addon.drainCompressed(dataset);
    } finally {
      for (const dataset of this.compressed) this.addon.endCompressed(dataset);
    }
    this.addon.closeFile(id);
  }

  abandon(): void {
    for (const dataset of this.compressed) this.addon.endCompressed(dataset);
    this.compressed.length = 0;
  }
}

class NativeExtendible implements ExtendibleDataset {
  private readonly rowElements: number;
  /** Reused for every chunk: [firstRow, 0, 0, ...]. */
  private readonly chunkOffset: number[];
  private readonly rowStart: number[];
  private rows = 0;

  constructor(
    private readonly addon: Hdf5Addon,
    private readonly file: NativeFile,
    private readonly datasetId: bigint,
    private readonly spec: ExtendibleDatasetSpec,
    private readonly compressed: boolean,
  ) {
    this.rowElements = product(spec.rowShape);
    this.chunkOffset = [0, ...spec.rowShape.map(() => 0)];
    this.rowStart = [0, ...spec.rowShape.map(() => 0)];
  }

  /** The dataset's id, while its file is open (closing the file closed the dataset). */
  private get id(): bigint {
    void this.file.id;
    return this.datasetId;
  }

  resize(rows: number): void {
    // A shrinking extent makes HDF5 rewrite the chunk it cuts: that chunk must be in the file first, not queued.
    if (this.compressed && rows < this.rows) this.addon.drainCompressed(this.id);
    this.addon.setExtent(this.id, [rows, ...this.spec.rowShape]);
    this.rows = rows;
  }

  /** The whole chunk, as HDF5 stores it; rows past `rows` lie beyond the extent (or are rewritten when the chunk fills). */
  writeChunk(firstRow: number, _rows: number, bytes: Uint8Array): void {
    this.chunkOffset[0] = firstRow;
    if (this.compressed) this.addon.writeCompressedChunk(this.id, this.chunkOffset, bytes);
    else this.addon.writeChunk(this.id, this.chunkOffset, bytes);
  }

  settleCompressed(): number | null {
    if (!this.compressed) return null;
    this.addon.drainCompressed(this.id);
    return this.addon.storedBytes(this.id);
  }

  writeRows(firstRow: number, values: NumericArray): void {
    this.rowStart[0] = firstRow;
    this.addon.writeHyperslab(this.id, this.rowStart, [values.length / this.rowElements, ...this.spec.rowShape], values);
  }
}
