import { LabcastError } from '../protocol/errors.js';
import { compressionFrom, describeCompression, type CompressionSpec } from '../protocol/compression.js';
import type { StorageConfig } from '../config/schema.js';
import { BUILD_COMMAND, loadNativeAddon, type AddonLoad } from '../native/native-addon.js';
import type { Hdf5BackendName } from './hdf5-backend.js';

/**
 * Refuses a compression the writer cannot do, before any file is made:
 * never a silent fallback to raw frames. `field` names the flag or config
 * key that asked for it.
 */
export function refuseUnavailableCompression(
  spec: CompressionSpec,
  backend: Hdf5BackendName,
  field: string,
  loadAddon: () => AddonLoad = loadNativeAddon,
): void {
  if (spec.codec === 'none') return;
  const asked = describeCompression(spec);
  if (backend === 'h5wasm') {
    throw new LabcastError(
      'BAD_CONFIG',
      `${field}: ${asked} needs the native HDF5 writer; the h5wasm writer only writes raw frames ` +
        `(build the native writer with \`${BUILD_COMMAND}\` (needs gcc and libhdf5-dev), or use compression none)`,
      field,
    );
  }
  const loaded = loadAddon();
  if ('failure' in loaded) {
    throw new LabcastError(
      'BAD_CONFIG',
      `${field}: ${asked} needs the native HDF5 writer, which is not available: ${loaded.failure}`,
      field,
    );
  }
  const missing = loaded.addon.compressionCodecs()[spec.codec];
  if (missing === undefined || missing === null) return;
  throw new LabcastError(
    'BAD_CONFIG',
    `${field}: ${spec.codec} was not built into the native HDF5 writer (its library was missing at build time): ` +
      `sudo apt-get install ${missing.replace(/ \(.*\)$/, '')} && ${BUILD_COMMAND}`,
    field,
  );
}

/** The compression storage.compression and storage.compression_level ask for (validated with the config). */
export function storageCompression(storage: Pick<StorageConfig, 'compression' | 'compression_level'>): CompressionSpec {
  return compressionFrom(
    storage.compression,
    storage.compression_level,
    { codec: 'storage.compression', level: 'storage.compression_level' },
    'BAD_CONFIG',
  );
}
