import type { OpenFrameWriter } from './frame-writer.js';
import { layoutWriterOpener } from './layout-writer.js';

/** Writes recordings through h5wasm: the fallback that needs no compiler and no system HDF5. */
// The backend (and h5wasm with it) is imported on the first open: selecting
// this writer, or only naming it, must not cost h5wasm's start-up.
export const openH5wasmWriter: OpenFrameWriter = layoutWriterOpener(async () => (await import('./h5wasm-backend.js')).loadH5wasmBackend());
