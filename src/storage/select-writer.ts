import { LabcastError } from '../protocol/errors.js';
import type { OpenFrameWriter } from './frame-writer.js';
import { openH5wasmWriter } from './h5wasm-writer.js';
import type { Hdf5BackendName } from './hdf5-backend.js';
import { loadNativeAddon, nativeUnavailableMessage, type AddonLoad } from '../native/native-addon.js';
import { openNativeWriter } from './native-writer.js';

/** Forces one HDF5 writer: "native" or "h5wasm". Unset: native when its addon loads, else h5wasm. */
export const HDF5_WRITER_ENV = 'LABCAST_HDF5';

export interface WriterChoice {
  readonly backend: Hdf5BackendName;
  readonly open: OpenFrameWriter;
  /** Why the native writer is not used, when h5wasm was chosen by default. */
  readonly fallbackReason: string | null;
}

/**
 * The writer for recordings. The native one is ~2.5x cheaper in CPU and
 * writes frames past the page cache, so it is preferred; h5wasm keeps labcast working where the
 * addon could not be built (no compiler, no libhdf5-dev).
 */
export function selectFrameWriter(env: NodeJS.ProcessEnv = process.env, loadAddon: () => AddonLoad = loadNativeAddon): WriterChoice {
  const forced = env[HDF5_WRITER_ENV]?.trim() ?? '';
  if (forced === 'h5wasm') return { backend: 'h5wasm', open: openH5wasmWriter, fallbackReason: null };
  if (forced !== '' && forced !== 'native') {
    throw new LabcastError('BAD_CONFIG', `${HDF5_WRITER_ENV}=${forced} is not a writer: use native or h5wasm (or leave it unset)`);
  }
  const loaded = loadAddon();
  if ('addon' in loaded) return { backend: 'native', open: openNativeWriter, fallbackReason: null };
  if (forced === 'native') {
    throw new LabcastError('BAD_CONFIG', `${HDF5_WRITER_ENV}=native, but ${nativeUnavailableMessage(loaded.failure)}`);
  }
  return { backend: 'h5wasm', open: openH5wasmWriter, fallbackReason: loaded.failure };
}
