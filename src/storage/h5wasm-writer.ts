import type { OpenFrameWriter } from './frame-writer.js';
import { loadH5wasmBackend } from './h5wasm-backend.js';
import { layoutWriterOpener } from './layout-writer.js';

/** Writes recordings through h5wasm: the fallback that needs no compiler and no system HDF5. */
export const openH5wasmWriter: OpenFrameWriter = layoutWriterOpener(loadH5wasmBackend);
