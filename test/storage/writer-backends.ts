import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { OpenFrameWriter } from '../../src/storage/frame-writer.js';
import { openH5wasmWriter } from '../../src/storage/h5wasm-writer.js';
import type { Hdf5BackendName } from '../../src/storage/hdf5-backend.js';
import { loadNativeAddon } from '../../src/native/native-addon.js';
import { openNativeWriter } from '../../src/storage/native-writer.js';

export interface WriterUnderTest {
  readonly name: Hdf5BackendName;
  readonly open: OpenFrameWriter;
  /** For a child process: the compiled module and the export that opens this writer. */
  readonly module: string;
  readonly exportName: string;
  /** A skip reason, or false to run. */
  readonly skip: string | false;
}

/**
 * Why the native writer must be there, or null when its absence is acceptable.
 * Expected on CI, and wherever it could have been built (gcc and libhdf5's
 * headers present): a build that silently fell back to h5wasm there is a
 * failure, not a skip. LABCAST_EXPECT_NATIVE=1/0 overrides.
 */
export function nativeExpectedBecause(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.LABCAST_EXPECT_NATIVE === '0') return null;
  if (env.LABCAST_EXPECT_NATIVE === '1') return 'LABCAST_EXPECT_NATIVE=1';
  if (env.CI === 'true' || env.CI === '1') return `CI=${env.CI}`;
  const headers = ['/usr/include/hdf5/serial/hdf5.h', '/usr/include/hdf5.h'].find((path) => existsSync(path));
  const gcc = spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status === 0;
  return headers !== undefined && gcc ? `gcc and ${headers} are present` : null;
}

function nativeSkip(): string | false {
  const loaded = loadNativeAddon();
  if ('addon' in loaded) return false;
  const expected = nativeExpectedBecause();
  // Run anyway when expected: every native test then fails with the reason the addon did not load.
  return expected !== null ? false : `native HDF5 writer not built (${loaded.failure}) and not expected here`;
}

const module = (name: string): string => fileURLToPath(new URL(`../../src/storage/${name}`, import.meta.url));

export const WRITERS: readonly WriterUnderTest[] = [
  { name: 'h5wasm', open: openH5wasmWriter, module: module('h5wasm-writer.js'), exportName: 'openH5wasmWriter', skip: false },
  { name: 'native', open: openNativeWriter, module: module('native-writer.js'), exportName: 'openNativeWriter', skip: nativeSkip() },
];

export function writerNamed(name: Hdf5BackendName): WriterUnderTest {
  const found = WRITERS.find((writer) => writer.name === name);
  if (found === undefined) throw new Error(`no writer ${name}`);
  return found;
}
