import { LabcastError } from '../protocol/errors.js';
import type { OpenFrameWriter } from './frame-writer.js';
import { layoutWriterOpener } from './layout-writer.js';
import { loadNativeAddon, nativeUnavailableMessage } from '../native/native-addon.js';
import { nativeBackend } from './native-backend.js';

/** Writes recordings through the native addon over the system libhdf5 (build: scripts/build-native.mjs). */
export const openNativeWriter: OpenFrameWriter = layoutWriterOpener(async () => {
  const loaded = loadNativeAddon();
  if ('failure' in loaded) throw new LabcastError('BAD_CONFIG', nativeUnavailableMessage(loaded.failure));
  return nativeBackend(loaded.addon);
});
