import type { NumericArray, NumericDtype } from '../native/native-addon.js';
import type { CompressionSpec } from '../protocol/compression.js';

/**
 * The few HDF5 operations the recording layout needs, behind one interface
 * with two implementations: the native addon over the system libhdf5
 * (native-backend.ts) and h5wasm (h5wasm-backend.ts). The layout itself is
 * written once, in layout-writer.ts, against this interface.
 *
 * All calls are synchronous and throw on failure; paths are absolute HDF5
 * paths ("/entry/data").
 */

export type Hdf5BackendName = 'native' | 'h5wasm';

// The element types are the native addon's (the lower module); h5wasm takes the same.
export type { NumericArray, NumericDtype };

/** The typed array of each numeric dtype: `new` over a buffer or a length, `from` a list of values. */
export interface NumericArrayType {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
  new (length: number): NumericArray;
  from(values: ArrayLike<number> | ArrayLike<bigint>): NumericArray;
}

export const NUMERIC_ARRAY_TYPES = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
} as Readonly<Record<NumericDtype, NumericArrayType>>;

/** Numbers with their HDF5 type stated: a JavaScript number does not say whether it is an int32 or a float64. */
export interface NumericValue {
  readonly dtype: NumericDtype;
  /** [] for a scalar. */
  readonly shape: readonly number[];
  readonly data: NumericArray;
}

/** Text is variable-length UTF-8: a string is a scalar, an array of strings a 1-D array. */
export type Hdf5Value = string | readonly string[] | NumericValue;

export const int64 = (value: bigint | number): NumericValue => ({ dtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(value)) });
export const int32 = (value: number): NumericValue => ({ dtype: 'int32', shape: [], data: Int32Array.of(value) });
export const int8 = (value: number): NumericValue => ({ dtype: 'int8', shape: [], data: Int8Array.of(value) });
export const float64 = (value: number): NumericValue => ({ dtype: 'float64', shape: [], data: Float64Array.of(value) });

export function isText(value: Hdf5Value): value is string | readonly string[] {
  return typeof value === 'string' || Array.isArray(value);
}

export const BYTES_PER_ELEMENT: Record<NumericDtype, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  uint32: 4,
  int32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
};

/** A dataset that grows along its first dimension, stored in chunks of `chunkRows` rows. */
export interface ExtendibleDatasetSpec {
  readonly dtype: NumericDtype;
  /** The shape of one row: every dimension after the first. */
  readonly rowShape: readonly number[];
  readonly chunkRows: number;
  /** Chunks written compressed (native backend only); absent or codec none: raw. */
  readonly compression?: CompressionSpec;
}

export interface ExtendibleDataset {
  /** Sets the number of rows (grows or trims). */
  resize(rows: number): void;
  /**
   * Writes one chunk: `bytes` holds exactly chunkRows rows of raw
   * little-endian values, starting at `firstRow` (a multiple of chunkRows),
   * of which the first `rows` are real. The rows must be within the extent.
   */
  writeChunk(firstRow: number, rows: number, bytes: Uint8Array): void;
  /** Writes whole rows from `firstRow` on; the row count follows from the length of `values`. */
  writeRows(firstRow: number, values: NumericArray): void;
  /**
   * A compressed dataset: writes every chunk still being compressed and
   * returns the bytes its chunks take in the file. Null for a raw one.
   */
  settleCompressed?(): number | null;
}

export interface Hdf5File {
  createGroup(path: string): void;
  /** Creates or replaces an attribute of the group or dataset at `objectPath`. */
  setAttribute(objectPath: string, name: string, value: Hdf5Value): void;
  /** A fixed-size dataset holding `value`. */
  createDataset(path: string, value: Hdf5Value): void;
  createExtendible(path: string, spec: ExtendibleDatasetSpec): ExtendibleDataset;
  /** Hands everything written so far to the operating system: other processes can read it, a crash of this one loses none of it. */
  flush(): void;
  close(): void;
  /**
   * After a failed write, instead of close(): stops what works beside the
   * file (compression threads) without another HDF5 call, leaving the file
   * as of its last flush.
   */
  abandon?(): void;
}

export interface Hdf5Backend {
  readonly name: Hdf5BackendName;
  /** Which writer and HDF5 library, as stored in the files it writes (e.g. "native (libhdf5 1.10.8)"). */
  readonly description: string;
  /** 'exclusive' fails if the file exists; 'truncate' replaces it. */
  createFile(path: string, mode: 'exclusive' | 'truncate'): Hdf5File;
}

export function product(numbers: readonly number[]): number {
  return numbers.reduce((total, n) => total * n, 1);
}
