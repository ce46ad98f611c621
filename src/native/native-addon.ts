import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Numeric element types. Stored little-endian. */
export type NumericDtype = 'uint8' | 'int8' | 'uint16' | 'uint32' | 'int32' | 'int64' | 'uint64' | 'float32' | 'float64';

export type NumericArray =
  Uint8Array | Int8Array | Uint16Array | Uint32Array | Int32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/** The native addon's shared-memory functions (native/shared_memory.c), for the frame ring (transport/frame-ring.ts). */
export interface SharedMemoryAddon {
  createSharedMemory(bytes: number): { buffer: ArrayBuffer; path: string };
  openSharedMemory(path: string, bytes: number): ArrayBuffer;
  /**
   * Counts the slot [offset, offset + bytes) of `ring` released (its first 8
   * bytes, an int64): now, or once the file driver's writes that still read
   * it or an earlier slot in place are done. Slots are released in call order.
   */
  releaseSharedSlot(ring: ArrayBuffer, offset: number, bytes: number): void;
  /**
   * The frame in slot [offset, offset + bytes) of `ring` took a copy already
   * on its way there (RingRef.copies): until the slot is released the file
   * driver writes it in place rather than copy it into huge pages, so no
   * frame is copied twice (native/write_staging.c).
   */
  markSharedSlotCopied(ring: ArrayBuffer, offset: number, bytes: number): void;
  /**
   * Freed heap memory stays with this process for reuse instead of going back
   * to the kernel (and being faulted in again, zeroed): for the processes
   * that pass frames through malloc'd buffers (native/shared_memory.c).
   */
  keepFreedMemory(): void;
}

/** The native addon's frame pipe (native/frame_pipe.c), for the ffmpeg driver (devices/ffmpeg/frame-pipe.ts). */
export interface FramePipeAddon {
  /**
   * A pipe (read end non-blocking, both ends close-on-exec) enlarged towards
   * `bytes` within /proc/sys/fs/pipe-max-size, and an eventfd that cancels reads.
   */
  openFramePipe(bytes: number): { readFd: number; writeFd: number; cancelFd: number; pipeBytes: number };
  /**
   * Fills view[offset..] from the pipe on a worker thread; settles when it is
   * full, at end of file, or once cancelFd is signalled. The caller must not
   * close either descriptor, or touch the view, until it settles.
   */
  readFramePipe(readFd: number, cancelFd: number, view: Uint8Array, offset: number): Promise<FramePipeRead>;
}

/** How far a read into a view got (bytes: the view's bytes filled, from its start), and why it ended. */
export interface FramePipeRead {
  readonly bytes: number;
  readonly end: 'full' | 'eof' | 'cancelled';
}

/**
 * The native addon's functions (native/labcast_hdf5.c). Handles are HDF5 ids
 * as BigInts; every failure throws an Error whose message carries the HDF5
 * error stack's cause (and `hdf5Stack`, the whole stack as lines).
 */
export interface Hdf5Addon extends SharedMemoryAddon, FramePipeAddon {
  /** The libhdf5 version in use, e.g. "1.10.8". */
  version(): string;
  /**
   * Library-version bounds [v1.8, v1.10], no file locking; exclusive = fail if
   * the file exists, else truncate; directIo = large raw-data writes (frame
   * chunks) with O_DIRECT, past the page cache (native/direct_vfd.c).
   */
  createFile(path: string, exclusive: boolean, directIo: boolean): bigint;
  /**
   * This process's bytes written so far by files with directIo, how many went
   * with O_DIRECT, how many of those straight from a shared-memory ring slot (no copy),
   * and how many ring bytes were copied into huge pages first (ringStaging).
   */
  ioCounters(): {
    directBytes: number;
    bufferedBytes: number;
    directRefused: number;
    inPlaceBytes: number;
    stagedBytes: number;
    directWrites: number;
  };
  /**
   * Whether a file with directIo created at `path` (a directory or a file on
   * the same disk) copies ring frames into huge pages before writing them,
   * because its disk takes a frame in fewer requests from them, and why
   * (native/write_staging.c). LABCAST_DIRECT_STAGING=1 / =0 forces it.
   */
  ringStaging(path: string): { staged: boolean; reason: string };
  flush(file: bigint): void;
  /** Also closes every dataset still open in the file. */
  closeFile(file: bigint): void;
  createGroup(file: bigint, path: string): void;
  /** Creates or replaces an attribute. dtype "string": a string (shape []) or strings (shape [n]). */
  setAttribute(
    file: bigint,
    objectPath: string,
    name: string,
    dtype: NumericDtype | 'string',
    shape: readonly number[],
    data: string | readonly string[] | NumericArray,
  ): void;
  /** maxShape null = fixed, -1 in it = unlimited; chunks null = contiguous. */
  createDataset(
    file: bigint,
    path: string,
    dtype: NumericDtype | 'string',
    shape: readonly number[],
    maxShape: readonly number[] | null,
    chunks: readonly number[] | null,
  ): bigint;
  closeDataset(dataset: bigint): void;
  /** Writes the whole dataset. */
  writeDataset(dataset: bigint, data: string | readonly string[] | NumericArray): void;
  setExtent(dataset: bigint, shape: readonly number[]): void;
  /** One whole chunk of raw file bytes at a chunk-aligned offset, with H5Dwrite_chunk: no conversion, no copy but the file driver's. */
  writeChunk(dataset: bigint, offset: readonly number[], data: ArrayBufferView): void;
  writeHyperslab(dataset: bigint, start: readonly number[], count: readonly number[], data: NumericArray): void;
  /** Per codec (lz4, bitshuffle-lz4, zstd): null when built in, else the Debian package that was missing at build time. */
  compressionCodecs(): Record<string, string | null>;
  /**
   * An extendible chunked dataset whose chunks are compressed by `threads`
   * worker threads and written under the codec's HDF5 filter
   * (native/chunk_codec.h); level 0 for codecs without one.
   */
  createCompressedDataset(
    file: bigint,
    path: string,
    dtype: NumericDtype,
    shape: readonly number[],
    maxShape: readonly number[],
    chunks: readonly number[],
    codec: string,
    level: number,
    threads: number,
  ): bigint;
  /** Queues a copy of one whole uncompressed chunk; chunks compressed by then are written, in order. */
  writeCompressedChunk(dataset: bigint, offset: readonly number[], data: ArrayBufferView): void;
  /** Writes every queued chunk; the totals of the chunks written so far (a rewritten chunk counts each time). */
  drainCompressed(dataset: bigint): { bytesIn: number; bytesOut: number; chunks: number };
  /** The bytes the dataset's chunks take in the file. */
  storedBytes(dataset: bigint): number;
  /** Stops the dataset's compression threads (chunks not drained are dropped). */
  endCompressed(dataset: bigint): void;
}

/** Where scripts/build-native.mjs puts the addon: build/native at the package root. */
export const ADDON_PATH = fileURLToPath(new URL('../../../build/native/labcast_hdf5.node', import.meta.url));

export const BUILD_COMMAND = 'node scripts/build-native.mjs';

export type AddonLoad = { readonly addon: Hdf5Addon } | { readonly failure: string };

let loaded: AddonLoad | null = null;

/** Loads the addon once per process; a failure is kept as a reason, for the fallback and for error messages. */
export function loadNativeAddon(): AddonLoad {
  loaded ??= tryLoad();
  return loaded;
}

/** Whether the addon was built (without loading it). */
export function addonBuilt(): boolean {
  return fs.existsSync(ADDON_PATH);
}

function tryLoad(): AddonLoad {
  if (!addonBuilt()) return { failure: `${ADDON_PATH} does not exist (it was not built)` };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as Hdf5Addon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { failure: `${ADDON_PATH} does not load: ${message.split('\n')[0]}` };
  }
}

/** The message for a run that asked for the native writer where it cannot be had. */
export function nativeUnavailableMessage(failure: string): string {
  return (
    `the native HDF5 writer is not available: ${failure}. ` +
    `Build it with \`${BUILD_COMMAND}\` (needs gcc and Debian's libhdf5-dev), or set LABCAST_HDF5=h5wasm`
  );
}
