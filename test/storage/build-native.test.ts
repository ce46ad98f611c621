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
      // One line per addon: the HDF5 writer's, then the GenICam binding's.
      assert.equal(
        result.stdout,
        'labcast: native HDF5 writer not built (gcc not found); using h5wasm\n' +
          'labcast: GenICam camera binding not built (gcc not found); genicam: cameras unavailable\n',
      );
      assert.equal(result.stderr, '');
      assert.equal(existsSync(join(dir, 'out', 'labcast_hdf5.node')), false);
      assert.equal(existsSync(join(dir, 'out', 'labcast_aravis.node')), false);
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
      assert.match(result.stdout, /^labcast: native HDF5 writer not built \(.*error: simulated failure\); using h5wasm\n[^\n]*\n$/);
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
      assert.match(result.stdout, /^labcast: native HDF5 writer built \(libhdf5 1\.\d+\.\d+\): .*labcast_hdf5\.node\n/);
      const loaded = spawnSync(
        process.execPath,
        ['-e', `process.stdout.write(require(${JSON.stringify(join(out, 'labcast_hdf5.node'))}).version())`],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(loaded.status, 0, loaded.stderr);
      assert.match(loaded.stdout, /^1\.\d+\.\d+$/);
    } finally {
      remove();
    }
  });

  test('where Aravis is installed, the GenICam binding is built beside the HDF5 writer and loads', (t) => {
    if (spawnSync('pkg-config', ['--exists', 'aravis-0.8']).status !== 0) {
      if (process.env.CI === 'true') assert.fail('pkg-config aravis-0.8 fails in CI: .ci/run installs libaravis-dev libusb-1.0-0-dev');
      t.skip('Aravis is not installed here (libaravis-dev libusb-1.0-0-dev)');
      return;
    }
    const { dir, remove } = tempDir();
    try {
      const out = join(dir, 'out');
      const result = build(out, process.env.PATH ?? '');
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /\nlabcast: GenICam camera binding built \(Aravis 0\.8\.\d+\): .*labcast_aravis\.node\n$/);
      const loaded = spawnSync(
        process.execPath,
        ['-e', `process.stdout.write(require(${JSON.stringify(join(out, 'labcast_aravis.node'))}).version())`],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(loaded.status, 0, loaded.stderr);
      assert.match(loaded.stdout, /^0\.8\.\d+$/);
    } finally {
      remove();
    }
  });

  test(
    'without Aravis (pkg-config aravis-0.8 fails): one line saying what to install, and the HDF5 writer built as before',
    { skip: nativeExpectedBecause() === null && 'gcc or libhdf5 headers missing here' },
    () => {
      const { dir, remove } = tempDir();
      try {
        // A pkg-config that knows everything but Aravis.
        const bin = join(dir, 'bin');
        mkdirSync(bin);
        const real = spawnSync('sh', ['-c', 'command -v pkg-config'], { encoding: 'utf8' }).stdout.trim();
        writeFileSync(
          join(bin, 'pkg-config'),
          `#!/bin/sh\ncase "$*" in *aravis*) echo "Package aravis-0.8 was not found" >&2; exit 1;; esac\nexec ${real} "$@"\n`,
        );
        chmodSync(join(bin, 'pkg-config'), 0o755);
        const out = join(dir, 'out');
        const result = build(out, `${bin}:${process.env.PATH ?? ''}`);
        assert.equal(result.status, 0, result.stderr);
        const lines = result.stdout.split('\n');
        assert.match(lines[0]!, /^labcast: native HDF5 writer built /);
        assert.equal(
          lines[1],
          'labcast: GenICam camera binding not built (pkg-config aravis-0.8 failed; install libaravis-dev libusb-1.0-0-dev); genicam: ' +
            'cameras unavailable',
        );
        assert.equal(lines.length, 3);
        assert.equal(existsSync(join(out, 'labcast_hdf5.node')), true);
        assert.equal(existsSync(join(out, 'labcast_aravis.node')), false);
      } finally {
        remove();
      }
    },
  );
});
