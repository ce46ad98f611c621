import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { File as H5File } from 'h5wasm/node';
import type { PixelDtype } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';

export type H5wasm = typeof import('h5wasm/node').default;

/**
 * The HDF5 filter plugins built for h5wasm (npm h5wasm-plugins): its `plugins`
 * folder. Looked up with h5wasm, not at import: every saver imports this module.
 */
function h5wasmPluginsDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('h5wasm-plugins')), 'plugins');
}

let loading: Promise<H5wasm> | null = null;

/**
 * The h5wasm library, initialised once per process. The throwing error handler
 * is switched on because h5wasm's default only prints HDF5 diagnostics to the
 * console and carries on with a negative status that most of its wrappers
 * ignore; a failed write must stop the writer instead.
 */
export function loadH5wasm(): Promise<H5wasm> {
  // Imported here, not at the top: compiling h5wasm's WebAssembly costs ~0.1 s
  // of start-up that a process writing through the native addon never needs.
  loading ??= import('h5wasm/node').then(async ({ default: h5wasm }) => {
    const module = await h5wasm.ready;
    module.activate_throwing_error_handler();
    // Compressed recordings (LZ4, bitshuffle, Blosc) read through the h5wasm-plugins filters, from the real file system.
    module.insert_plugin_search_path(h5wasmPluginsDir(), 0);
    return h5wasm;
  });
  return loading;
}

/** The frames dataset's pixel type, from h5wasm's dtype string; undefined for any other. */
export const PIXEL_DTYPE_OF: Readonly<Record<string, PixelDtype>> = { '<B': 'uint8', '<H': 'uint16' };

/** A recording opened read-only; a file HDF5 cannot open is a FILE_FORMAT error in plain words. */
export async function openForReading(path: string): Promise<H5File> {
  const h5 = await loadH5wasm();
  try {
    return new h5.File(path, 'r');
  } catch (error) {
    throw new LabcastError('FILE_FORMAT', `${path}: not a readable HDF5 file (${describeHdf5Error(error)})`);
  }
}

/**
 * The useful part of an HDF5 error stack, which is dozens of lines of source
 * locations: the "minor" lines and any OS error detail, innermost (the
 * actual cause) first.
 */
export function describeHdf5Error(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (!text.includes('HDF5-DIAG')) return text;
  // The operating system's words ("No space left on device") say more than any HDF5 line.
  const osMessage = /error message = '([^']+)'/.exec(text);
  if (osMessage !== null) return osMessage[1]!;
  const details = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('minor:') || /errno = \d+/.test(line))
    .map((line) => line.replace(/^minor:\s*/, '').replace(/^#\d+:\s*\S+ line \d+ in \S+:\s*/, ''));
  const unique = [...new Set(details.reverse())];
  return unique.length > 0 ? `HDF5: ${unique.join('; ')}` : (text.split('\n')[0] ?? text);
}
