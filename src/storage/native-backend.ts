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
    const dataset = this.addon.createDataset(
      this.id,
      path,
      spec.dtype,
      [0, ...spec.rowShape],
      [-1, ...spec.rowShape],
      [spec.chunkRows, ...spec.rowShape],
    );
    return new NativeExtendible(this.addon, this, dataset, spec);
  }

  flush(): void {
    this.addon.flush(this.id);
  }

  /** The file is opened with a strong close degree: its open datasets close with it. */
  close(): void {
    const id = this.id;
    this.closed = true;
    this.addon.closeFile(id);
  }
}

class NativeExtendible implements ExtendibleDataset {
  private readonly rowElements: number;
  /** Reused for every chunk: [firstRow, 0, 0, ...]. */
  private readonly chunkOffset: number[];
  private readonly rowStart: number[];

  constructor(
    private readonly addon: Hdf5Addon,
    private readonly file: NativeFile,
    private readonly datasetId: bigint,
    private readonly spec: ExtendibleDatasetSpec,
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
    this.addon.setExtent(this.id, [rows, ...this.spec.rowShape]);
  }

  /** The whole chunk, as HDF5 stores it; rows past `rows` lie beyond the extent (or are rewritten when the chunk fills). */
  writeChunk(firstRow: number, _rows: number, bytes: Uint8Array): void {
    this.chunkOffset[0] = firstRow;
    this.addon.writeChunk(this.id, this.chunkOffset, bytes);
  }

  writeRows(firstRow: number, values: NumericArray): void {
    this.rowStart[0] = firstRow;
    this.addon.writeHyperslab(this.id, this.rowStart, [values.length / this.rowElements, ...this.spec.rowShape], values);
  }
}
