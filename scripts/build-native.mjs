#!/usr/bin/env node
/**
 * Builds the native HDF5 writer (native/labcast_hdf5.c) with gcc against the
 * system libhdf5, into build/native/labcast_hdf5.node, and, where Aravis is
 * installed (pkg-config aravis-0.8), the GenICam camera binding
 * (native/labcast_aravis.c) into build/native/labcast_aravis.node. No node-gyp and nothing
 * downloaded: the Node-API headers come from the node-api-headers package (or
 * Node's own include directory), HDF5's from the system (Debian: libhdf5-dev).
 *
 * Optional by design: without a compiler or the HDF5 headers, or if anything
 * fails, it prints one line saying so and exits 0, and labcast writes through
 * h5wasm. `npm ci` must work on a machine that has neither. The two addons are
 * built independently: one failing leaves the other alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The binding, the HDF5 file driver that writes frame chunks with O_DIRECT, the frame ring's shared memory,
// the chunk compression (codecs, bitshuffle, the worker threads), and the ffmpeg driver's frame pipe.
const hdf5Sources = [
  'labcast_hdf5.c',
  'direct_vfd.c',
  'write_staging.c',
  'shared_memory.c',
  'chunk_codec.c',
  'bitshuffle.c',
  'chunk_pipeline.c',
  'frame_pipe.c',
].map((name) => join(root, 'native', name));
const aravisSources = [join(root, 'native', 'labcast_aravis.c')];
// LABCAST_NATIVE_BUILD_DIR: build elsewhere (the tests of this script use it).
const outDir = resolve(process.env.LABCAST_NATIVE_BUILD_DIR ?? join(root, 'build', 'native'));
const hdf5Target = join(outDir, 'labcast_hdf5.node');
const aravisTarget = join(outDir, 'labcast_aravis.node');

class NotBuilt extends Error {}

function run(command, args) {
  return spawnSync(command, args, { encoding: 'utf8' });
}

function requireCompiler() {
  const probe = run('gcc', ['--version']);
  if (probe.error !== undefined || probe.status !== 0) throw new NotBuilt('gcc not found');
}

function nodeApiIncludeDir() {
  try {
    const { include_dir: dir } = createRequire(import.meta.url)('node-api-headers');
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  } catch {
    // Not installed (e.g. a production install without devDependencies): try Node's own headers.
  }
  const nodeHeaders = resolve(dirname(process.execPath), '..', 'include', 'node');
  if (existsSync(join(nodeHeaders, 'node_api.h'))) return nodeHeaders;
  throw new NotBuilt('Node-API headers not found (npm package node-api-headers)');
}

/** Compiler and linker flags for libhdf5: pkg-config first, then the places Debian and others use. */
function hdf5Flags() {
  for (const name of ['hdf5-serial', 'hdf5']) {
    const cflags = run('pkg-config', ['--cflags', name]);
    const libs = run('pkg-config', ['--libs', name]);
    if (cflags.status === 0 && libs.status === 0) {
      const libFlags = libs.stdout.trim().split(/\s+/).filter(Boolean);
      // An -L directory outside the loader's path must also be found at run time.
      const rpath = libFlags.filter((flag) => flag.startsWith('-L')).map((flag) => `-Wl,-rpath,${flag.slice(2)}`);
      return { cflags: cflags.stdout.trim().split(/\s+/).filter(Boolean), libs: [...libFlags, ...rpath] };
    }
  }
  const multiarch = run('gcc', ['-print-multiarch']).stdout?.trim() || 'x86_64-linux-gnu';
  const debianInclude = '/usr/include/hdf5/serial';
  const debianLib = `/usr/lib/${multiarch}/hdf5/serial`;
  if (existsSync(join(debianInclude, 'hdf5.h')) && existsSync(debianLib)) {
    return { cflags: [`-I${debianInclude}`], libs: [`-L${debianLib}`, '-lhdf5'] };
  }
  if (existsSync('/usr/include/hdf5.h') || existsSync('/usr/local/include/hdf5.h')) {
    return { cflags: [], libs: ['-lhdf5'] };
  }
  throw new NotBuilt('libhdf5 headers not found; install libhdf5-dev');
}

/**
 * The compression libraries (docs/decisions/0008-compression.md), each
 * optional: a codec whose library is missing is left out of the addon, and
 * refused when asked for, naming the package to install.
 */
const CODEC_LIBRARIES = [
  { define: 'LABCAST_HAVE_LZ4', header: 'lz4.h', lib: '-llz4', pkg: 'liblz4', codecs: 'lz4, bitshuffle-lz4', apt: 'liblz4-dev' },
  { define: 'LABCAST_HAVE_BLOSC', header: 'blosc.h', lib: '-lblosc', pkg: 'blosc', codecs: 'zstd', apt: 'libblosc-dev libzstd-dev' },
];

/** Compiles and links a one-line program against the library: headers and library both present. */
function libraryUsable(library) {
  mkdirSync(outDir, { recursive: true });
  const probe = join(outDir, `probe-${process.pid}`);
  const result = spawnSync('gcc', ['-x', 'c', '-', '-o', probe, library.lib], {
    input: `#include <${library.header}>\nint main(void) { return 0; }\n`,
    encoding: 'utf8',
  });
  rmSync(probe, { force: true });
  return result.status === 0;
}

/** LABCAST_NATIVE_WITHOUT=lz4,blosc: build as if those libraries were missing (the tests of the refusal use it). */
const withoutLibraries = new Set((process.env.LABCAST_NATIVE_WITHOUT ?? '').split(',').map((name) => name.trim()));

function codecFlags() {
  const flags = { cflags: [], libs: [], missing: [] };
  for (const library of CODEC_LIBRARIES) {
    if (!withoutLibraries.has(library.pkg.replace(/^lib/, '')) && libraryUsable(library)) {
      flags.cflags.push(`-D${library.define}`);
      flags.libs.push(library.lib);
    } else {
      flags.missing.push(`${library.codecs} (install ${library.apt})`);
    }
  }
  return flags;
}

/** The first compiler error, which names the cause, rather than gcc's whole output. */
function firstError(output) {
  const lines = output.split('\n').map((line) => line.trim());
  return lines.find((line) => / error: /.test(line) || /^\/usr\/bin\/ld: /.test(line)) ?? lines.find(Boolean) ?? 'no output';
}

function compile(includeDir, hdf5, target = hdf5Target, sources = hdf5Sources) {
  mkdirSync(outDir, { recursive: true });
  // Built beside the target and renamed, so a failed build never leaves half a file to load.
  const partial = `${target}.${process.pid}.tmp`;
  const args = ['-O2', '-Wall', '-shared', '-fPIC', '-pthread', `-I${includeDir}`, ...hdf5.cflags, ...sources, '-o', partial, ...hdf5.libs];
  const result = run('gcc', args);
  if (result.error !== undefined || result.status !== 0) {
    rmSync(partial, { force: true });
    throw new NotBuilt(`compilation failed: ${firstError(`${result.stderr ?? ''}${result.error?.message ?? ''}`)}`);
  }
  renameSync(partial, target);
}

/** Loads the result in a fresh process: a library that cannot be found or initialised shows here, not in a saver. */
function checkLoads(target = hdf5Target) {
  const probe = run(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(target)}).version())`]);
  if (probe.status !== 0) {
    rmSync(target, { force: true });
    throw new NotBuilt(`built but does not load: ${firstError(probe.stderr)}`);
  }
  return probe.stdout.trim();
}

/**
 * Flags for libaravis, from pkg-config only (Debian's libaravis-dev). Its .pc
 * file names libusb-1.0, which Debian's package does not pull in: say so.
 */
function aravisFlags() {
  const cflags = run('pkg-config', ['--cflags', 'aravis-0.8']);
  const libs = run('pkg-config', ['--libs', 'aravis-0.8']);
  if (cflags.status === 0 && libs.status === 0) {
    return { cflags: cflags.stdout.trim().split(/\s+/).filter(Boolean), libs: libs.stdout.trim().split(/\s+/).filter(Boolean) };
  }
  const why = `${cflags.stderr ?? ''}`.includes('libusb') ? ' (libusb-1.0-0-dev is missing)' : '';
  throw new NotBuilt(`pkg-config aravis-0.8 failed${why}; install libaravis-dev libusb-1.0-0-dev`);
}

function reasonOf(error) {
  return error instanceof NotBuilt ? error.message : `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
}

try {
  // A stale addon from an earlier build must not outlive a failed one.
  rmSync(hdf5Target, { force: true });
  requireCompiler();
  const includeDir = nodeApiIncludeDir();
  const hdf5 = hdf5Flags();
  const codecs = codecFlags();
  compile(includeDir, { cflags: [...hdf5.cflags, ...codecs.cflags], libs: [...hdf5.libs, ...codecs.libs] });
  const version = checkLoads();
  console.log(`labcast: native HDF5 writer built (libhdf5 ${version}): ${hdf5Target}`);
  if (codecs.missing.length > 0) console.log(`labcast: compression not built in: ${codecs.missing.join('; ')}`);
} catch (error) {
  console.log(`labcast: native HDF5 writer not built (${reasonOf(error)}); using h5wasm`);
}

try {
  rmSync(aravisTarget, { force: true });
  requireCompiler();
  const includeDir = nodeApiIncludeDir();
  const aravis = aravisFlags();
  compile(includeDir, aravis, aravisTarget, aravisSources);
  const version = checkLoads(aravisTarget);
  console.log(`labcast: GenICam camera binding built (Aravis ${version}): ${aravisTarget}`);
} catch (error) {
  console.log(`labcast: GenICam camera binding not built (${reasonOf(error)}); genicam: cameras unavailable`);
}
