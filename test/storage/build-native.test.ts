import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { tempDir } from './fixtures.js';
import { nativeExpectedBecause } from './writer-backends.js';

// scripts/ is not compiled: from dist/test/storage, three levels up to the package root.
const SCRIPT = fileURLToPath(new URL('../../../scripts/build-native.mjs', import.meta.url));

function build(outDir: string, path: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT], {
    encoding: 'utf8',
    env: { ...process.env, PATH: path, LABCAST_NATIVE_BUILD_DIR: outDir },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A directory holding a fake gcc that answers --version and fails every compilation. */
function brokenCompiler(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const gcc = join(bin, 'gcc');
  writeFileSync(gcc, '#!/bin/sh\n[ "$1" = --version ] && exit 0\necho "labcast_hdf5.c:1:1: error: simulated failure" >&2\nexit 1\n');
  chmodSync(gcc, 0o755);
  return bin;
}

describe('scripts/build-native.mjs', () => {
  test('without a compiler: one line saying so, exit 0, nothing built', () => {
    const { dir, remove } = tempDir();
    try {
      const result = build(join(dir, 'out'), join(dir, 'empty-path'));
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout, 'labcast: native HDF5 writer not built (gcc not found); using h5wasm\n');
      assert.equal(result.stderr, '');
      assert.equal(existsSync(join(dir, 'out', 'labcast_hdf5.node')), false);
    } finally {
      remove();
    }
  });

  test('a failed compilation: one line with the compiler error, exit 0, and no stale addon left', () => {
    const { dir, remove } = tempDir();
    try {
      const out = join(dir, 'out');
      mkdirSync(out);
      writeFileSync(join(out, 'labcast_hdf5.node'), 'an addon from an earlier build');
      const result = build(out, `${brokenCompiler(dir)}:${process.env.PATH ?? ''}`);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /^labcast: native HDF5 writer not built \(.*error: simulated failure\); using h5wasm\n$/);
      assert.equal(existsSync(join(out, 'labcast_hdf5.node')), false);
    } finally {
      remove();
    }
  });

  test('builds an addon that loads', { skip: nativeExpectedBecause() === null && 'gcc or libhdf5 headers missing here' }, () => {
    const { dir, remove } = tempDir();
    try {
      const out = join(dir, 'out');
      const result = build(out, process.env.PATH ?? '');
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /^labcast: native HDF5 writer built \(libhdf5 1\.\d+\.\d+\): .*labcast_hdf5\.node\n$/);
      const loaded = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(join(out, 'labcast_hdf5.node'))}).version())`], {
        encoding: 'utf8',
      });
      assert.equal(loaded.status, 0, loaded.stderr);
      assert.match(loaded.stdout, /^1\.\d+\.\d+$/);
    } finally {
      remove();
    }
  });
});
