import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNativeAddon } from '../../src/native/native-addon.js';
import { CODECS, type Codec } from '../../src/protocol/compression.js';
import { RecordingsIndex } from '../../src/web/recordings.js';
import { startServe } from '../helpers/serve.js';
import { childProcessesOf, collect, runLabcast, runPython, scratchDir, startLabcast, waitForOutput } from '../helpers/processes.js';

/**
 * Recordings compressed on the fly (docs/hdf5-layout.md#compression), each
 * codec, read back bit-exact by Debian's h5py through Debian's filter
 * plugins, against the same frames recorded raw (the simulator is
 * deterministic by seed) or ffmpeg's own decoding (colour).
 *
 * In CI (CI=true) a codec the addon lacks, or a plugin h5py lacks, fails
 * these tests instead of skipping them: .ci/run installs both.
 */

const CODECS_COMPRESSED = CODECS.filter((codec): codec is Exclude<Codec, 'none'> => codec !== 'none');
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const FILTER_IDS = { lz4: 32004, 'bitshuffle-lz4': 32008, zstd: 32001 } as const;
const PUBLISH = ['--publish', 'tcp://127.0.0.1:*'];

function codecMissing(codec: Codec): string | false {
  const loaded = loadNativeAddon();
  if ('failure' in loaded) return `the native writer is not built: ${loaded.failure}`;
  const missing = loaded.addon.compressionCodecs()[codec];
  return missing === null || missing === undefined ? false : `${codec} not built in (install ${missing})`;
}

const PLUGIN_CHECK = `
import h5py, json
print(json.dumps({str(f): bool(h5py.h5z.filter_avail(f)) for f in (32001, 32004, 32008)}))
`;

/** Why this codec's test cannot run here; in CI never a reason to skip, but a failure. */
async function unusable(codec: Exclude<Codec, 'none'>): Promise<string | false> {
  const missing = codecMissing(codec);
  const plugins = await runPython(PLUGIN_CHECK);
  const pluginMissing =
    plugins.code !== 0
      ? `h5py is not installed: ${plugins.stderr.trim()}`
      : (JSON.parse(plugins.stdout) as Record<string, boolean>)[String(FILTER_IDS[codec])]
        ? false
        : `h5py has no plugin for filter ${FILTER_IDS[codec]} (apt-get install hdf5-filter-plugin bitshuffle hdf5-filter-plugin-blosc-serial)`;
  const reason = missing || pluginMissing;
  if (reason !== false && IN_CI) assert.fail(`CI must test compression: ${reason}`);
  return reason;
}

/** Every frame of `test` equals the same frame of `reference` (an HDF5 recording, or raw bytes with shape). */
const COMPARE = `
import sys, json, h5py, numpy as np
test_path, reference = sys.argv[1], sys.argv[2]
with h5py.File(test_path, "r") as f:
    frames = f["entry/data/frames"]
    n = int(frames.attrs["valid_frames"])
    got = frames[:n]
    if reference.endswith(".h5"):
        with h5py.File(reference, "r") as r:
            want = r["entry/data/frames"][:]
    else:
        want = np.fromfile(reference, dtype=got.dtype).reshape((-1,) + got.shape[1:])
    exact = [bool(np.array_equal(got[i], want[i])) for i in range(n)]
    print(json.dumps({
        "frames": n, "reference_frames": int(want.shape[0]), "exact": all(exact) and n == want.shape[0],
        "first_wrong": exact.index(False) if not all(exact) else None,
        "filters": {str(k): list(v) if v is not None else [] for k, v in frames._filters.items()},
        "chunks": list(frames.chunks),
        "attrs": {k: (v.item() if hasattr(v, "item") else v) for k, v in frames.attrs.items() if k.startswith("compression")},
    }))
`;

interface Compared {
  frames: number;
  reference_frames: number;
  exact: boolean;
  first_wrong: number | null;
  filters: Record<string, number[]>;
  chunks: number[];
  attrs: Record<string, string | number>;
}

async function compare(path: string, reference: string): Promise<Compared> {
  const read = await runPython(COMPARE, [path, reference]);
  assert.equal(read.code, 0, `h5py reads ${path}: ${read.stderr}`);
  return JSON.parse(read.stdout) as Compared;
}

async function record(args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const result = await runLabcast(['record', ...args, ...PUBLISH], env);
  assert.equal(result.code, 0, `labcast record ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
}

/** The cases: small frames batched into ~1 MiB chunks, large frames one per chunk, 8 and 16 bits, colour. */
const SIM_CASES = [
  { name: '64x64 uint8', args: ['--width', '64', '--height', '64', '--dtype', 'uint8', '--frames', '300', '--fps', '0'], elem: 1 },
  { name: '64x64 uint16', args: ['--width', '64', '--height', '64', '--dtype', 'uint16', '--frames', '300', '--fps', '0'], elem: 2 },
  { name: '1024x1024 uint8', args: ['--width', '1024', '--height', '1024', '--dtype', 'uint8', '--frames', '4', '--fps', '0'], elem: 1 },
  { name: '1024x1024 uint16', args: ['--width', '1024', '--height', '1024', '--dtype', 'uint16', '--frames', '4', '--fps', '0'], elem: 2 },
] as const;
const COLOUR_SOURCE = 'testsrc2=size=64x48:rate=30';
const COLOUR_FRAMES = 40;

describe('compressed recordings read back bit-exact by h5py with Debian’s plugins', () => {
  const scratch = scratchDir();
  const reference = (name: string): string => join(scratch.dir, `reference-${name.replace(/\W/g, '_')}.h5`);
  const colourReference = join(scratch.dir, 'colour.rgb24');
  /** An empty plugin folder: a writer process that could load no HDF5 plugin at all. */
  const noPlugins = join(scratch.dir, 'no-plugins');

  before(async () => {
    mkdirSync(noPlugins);
    for (const c of SIM_CASES) await record([...c.args, '--seed', '7', '--out', reference(c.name)]);
    const ffmpeg = spawnSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      COLOUR_SOURCE,
      '-frames:v',
      String(COLOUR_FRAMES),
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      colourReference,
    ]);
    assert.equal(ffmpeg.status, 0, String(ffmpeg.stderr));
  });
  after(() => scratch.cleanup());

  for (const codec of CODECS_COMPRESSED) {
    describe(codec, () => {
      for (const c of SIM_CASES) {
        test(`${c.name}: every frame bit-exact, under filter ${FILTER_IDS[codec]} with the parameters the plugin reads`, async (t) => {
          const reason = await unusable(codec);
          if (reason !== false) return t.skip(reason);
          const out = join(scratch.dir, `${codec}-${c.name.replace(/\W/g, '_')}.h5`);
          await record([...c.args, '--seed', '7', '--compression', codec, '--out', out]);
          const read = await compare(out, reference(c.name));
          assert.ok(read.exact, `frame ${read.first_wrong} differs (${read.frames} of ${read.reference_frames} frames)`);
          assert.deepEqual(Object.keys(read.filters), [String(FILTER_IDS[codec])]);
          const values = read.filters[String(FILTER_IDS[codec])]!;
          if (codec === 'bitshuffle-lz4') assert.deepEqual(values, [0, 3, c.elem, 0, 2], 'element size at [2], LZ4 mode at [4]');
          if (codec === 'zstd') {
            const chunkBytes = read.chunks.reduce((a, b) => a * b, 1) * c.elem;
            assert.deepEqual(values, [2, 2, c.elem, chunkBytes, 1, 2, 5], 'typesize, chunk bytes, level 1, bit shuffle, zstd');
          }
          assert.equal(read.attrs.compression, codec);
          assert.equal(read.attrs.compression_filter_id, FILTER_IDS[codec]);
          assert.equal(read.attrs.compression_bytes_in, read.frames * (read.chunks.slice(1).reduce((a, b) => a * b, 1) * c.elem));
          assert.ok(Number(read.attrs.compression_bytes_out) > 0);
        });
      }

      test('colour (RGB 64x48, ffmpeg testsrc2): every frame equals ffmpeg’s own decoding', async (t) => {
        const reason = await unusable(codec);
        if (reason !== false) return t.skip(reason);
        const out = join(scratch.dir, `${codec}-colour.h5`);
        await record(['--camera', `lavfi:${COLOUR_SOURCE}`, '--frames', String(COLOUR_FRAMES), '--compression', codec, '--out', out]);
        const read = await compare(out, colourReference);
        assert.equal(read.frames, COLOUR_FRAMES);
        assert.ok(read.exact, `frame ${read.first_wrong} differs`);
      });
    });
  }

  test('bitshuffle-lz4 from a writer process without any HDF5 plugin: the same full parameters, readable', async (t) => {
    const reason = await unusable('bitshuffle-lz4');
    if (reason !== false) return t.skip(reason);
    const c = SIM_CASES[1];
    const out = join(scratch.dir, 'no-plugin-writer.h5');
    await record([...c.args, '--seed', '7', '--compression', 'bitshuffle-lz4', '--out', out], { HDF5_PLUGIN_PATH: noPlugins });
    const read = await compare(out, reference(c.name));
    assert.ok(read.exact);
    // The short user form (block size, mode) stored as it is would make a reader take the mode (2) as the element size.
    assert.deepEqual(read.filters['32008'], [0, 3, 2, 0, 2]);
  });

  test('h5dump with the plugins prints the same pixels as h5py reads', async (t) => {
    const reason = await unusable('bitshuffle-lz4');
    if (reason !== false) return t.skip(reason);
    const out = join(scratch.dir, 'bitshuffle-lz4-64x64_uint16.h5');
    statSync(out);
    const dumped = spawnSync('h5dump', ['-d', '/entry/data/frames', '-s', '299,10,0', '-c', '1,1,64', '-w', '0', out], {
      encoding: 'utf8',
    });
    assert.equal(dumped.status, 0, dumped.stderr);
    const data = /DATA \{\s*\(299,10,0\): ([\d, ]+)/.exec(dumped.stdout);
    assert.ok(data, dumped.stdout);
    const expected = await runPython(
      'import sys, h5py, json\nprint(json.dumps(h5py.File(sys.argv[1], "r")["entry/data/frames"][299, 10, :].tolist()))',
      [reference(SIM_CASES[1].name)],
    );
    assert.deepEqual(
      data[1]!.split(',').map((v) => Number(v.trim())),
      JSON.parse(expected.stdout),
    );
  });

  test('h5py without the plugin names the missing filter (docs/hdf5-layout.md#compression)', async (t) => {
    const reason = await unusable('zstd');
    if (reason !== false) return t.skip(reason);
    const out = join(scratch.dir, 'zstd-64x64_uint16.h5');
    const read = spawnSync(
      process.env.LABCAST_PYTHON ?? '/usr/bin/python3',
      ['-c', 'import sys, h5py\nh5py.File(sys.argv[1], "r")["entry/data/frames"][0]', out],
      { encoding: 'utf8', env: { ...process.env, HDF5_PLUGIN_PATH: noPlugins } },
    );
    assert.notEqual(read.status, 0);
    assert.match(read.stderr, /OSError: Can't read data \(required filter 'blosc' is not registered\)/);
    const doc = readFileSync(new URL('../../../docs/hdf5-layout.md', import.meta.url), 'utf8');
    assert.ok(doc.includes("required filter 'blosc' is not registered"), 'the doc quotes the message');
  });
});

describe('labcast’s own readers of a compressed file', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('record --json, inspect and inspect --json give codec, bytes in, bytes out and ratio; replay reads every frame', async (t) => {
    const reason = await unusable('zstd');
    if (reason !== false) return t.skip(reason);
    const out = join(scratch.dir, 'zstd.h5');
    const recorded = await runLabcast([
      'record',
      '--width',
      '256',
      '--height',
      '256',
      '--frames',
      '30',
      '--fps',
      '0',
      '--compression',
      'zstd',
      '--compression-level',
      '3',
      '--json',
      '--out',
      out,
      ...PUBLISH,
    ]);
    assert.equal(recorded.code, 0, recorded.stderr);
    const result = JSON.parse(recorded.stdout) as {
      compression: { codec: string; level: number; bytesIn: number; bytesOut: number; ratio: number };
    };
    assert.equal(result.compression.codec, 'zstd');
    assert.equal(result.compression.level, 3);
    assert.equal(result.compression.bytesIn, 30 * 256 * 256 * 2);
    assert.ok(result.compression.bytesOut > 0 && result.compression.bytesOut < result.compression.bytesIn);
    assert.equal(result.compression.ratio, Math.round((result.compression.bytesIn / result.compression.bytesOut) * 1000) / 1000);

    const inspected = await runLabcast(['inspect', out]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, /^compression +zstd level 3 \(HDF5 filter 32001\): 3\.9 MB of frames in [\d.]+ [MK]B, [\d.]+x$/m);
    const json = JSON.parse((await runLabcast(['inspect', out, '--json'])).stdout) as { compression: { bytesOut: number; ratio: number } };
    assert.equal(json.compression.bytesOut, result.compression.bytesOut, 'the file records what the saver reported');

    // The web server's recordings list (GET /api/recordings) carries the same figures.
    const [entry] = await new RecordingsIndex(scratch.dir).list();
    assert.equal(entry?.name, 'zstd.h5');
    assert.deepEqual(entry?.summary?.compression, {
      codec: 'zstd',
      level: 3,
      bytes_in: result.compression.bytesIn,
      bytes_out: result.compression.bytesOut,
      ratio: result.compression.ratio,
    });

    const replayed = join(scratch.dir, 'replayed.h5');
    await record(['--camera', `replay:${out}`, '--fps', '0', '--out', replayed]);
    const read = await compare(replayed, out);
    assert.equal(read.frames, 30);
    assert.ok(read.exact, `replayed frame ${read.first_wrong} differs from the compressed original`);
  });

  test('kill -9 of the saver mid-recording: every flushed frame readable and bit-exact, valid_frames and the byte counts agree', async (t) => {
    const reason = await unusable('bitshuffle-lz4');
    if (reason !== false) return t.skip(reason);
    const sim = ['--width', '128', '--height', '96', '--pattern', 'particles', '--seed', '3'];
    const out = join(scratch.dir, 'killed.h5');
    const child = startLabcast(['record', ...sim, '--fps', '100', '--compression', 'bitshuffle-lz4', '--out', out, ...PUBLISH]);
    const finished = collect(child);
    await waitForOutput(child, /recording (\d+) frames/, (m) => Number(m[1]) >= 180);
    const savers = await childProcessesOf(child.pid!, 'labcast-saver');
    assert.equal(savers.length, 1, 'one saver process');
    process.kill(savers[0]!, 'SIGKILL');
    assert.notEqual((await finished).code, 0);

    const reference = join(scratch.dir, 'killed-reference.h5');
    await record([...sim, '--fps', '0', '--frames', '400', '--out', reference]);
    const killed = await runPython(
      `
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r") as r:
    frames = f["entry/data/frames"]
    n = int(frames.attrs["valid_frames"])
    print(json.dumps({"valid": n, "extent": frames.shape[0], "ids": f["entry/data/frame_id"][:n].tolist(),
        "exact": bool(np.array_equal(frames[:n], r["entry/data/frames"][:n])),
        "bytes_in": int(frames.attrs["compression_bytes_in"]), "bytes_out": int(frames.attrs["compression_bytes_out"]),
        "finished": "end_reason" in f["entry/acquisition"]}))
`,
      [out, reference],
    );
    assert.equal(killed.code, 0, killed.stderr);
    const file = JSON.parse(killed.stdout) as {
      valid: number;
      extent: number;
      ids: number[];
      exact: boolean;
      bytes_in: number;
      bytes_out: number;
      finished: boolean;
    };
    assert.equal(file.finished, false);
    assert.ok(file.valid >= 50 && file.valid <= 400, `${file.valid} frames flushed before the kill`);
    assert.deepEqual(
      file.ids,
      Array.from({ length: file.valid }, (_, i) => i),
    );
    assert.ok(file.exact, 'every flushed frame decompresses to the simulator’s frame');
    assert.equal(file.bytes_in, file.valid * 128 * 96 * 2, 'bytes in as of the last flush');
    assert.ok(file.bytes_out > 0 && file.bytes_out < file.bytes_in);
  });
});

describe('labcast serve with storage.compression', () => {
  test('a recording started by ctl is written with the configured codec; serve --compression overrides the config', async (t) => {
    const reason = await unusable('zstd');
    if (reason !== false) return t.skip(reason);
    for (const [flags, codec] of [
      [[], 'bitshuffle-lz4'],
      [['--compression', 'zstd', '--compression-level', '2'], 'zstd'],
    ] as const) {
      const scratch = scratchDir();
      const serve = await startServe(
        scratch.dir,
        {},
        { storage: { data_dir: join(scratch.dir, 'data'), compression: 'bitshuffle-lz4' } },
        { args: [...flags] },
      );
      try {
        const reply = await serve.ctl(['record', '--frames', '40']);
        assert.equal(reply.code, 0, reply.stderr);
        const status = await serve.waitFor((s) => s.state !== 'recording' && s.last_recording?.frames_written === 40);
        const read = await runPython(
          'import sys, json, h5py\nd = h5py.File(sys.argv[1], "r")["entry/data/frames"]\n' +
            'print(json.dumps([list(d._filters), d.attrs["compression"], int(d.attrs.get("compression_level", 0))]))',
          [status.last_recording!.path!],
        );
        assert.equal(read.code, 0, read.stderr);
        assert.deepEqual(JSON.parse(read.stdout), codec === 'zstd' ? [['32001'], 'zstd', 2] : [['32008'], 'bitshuffle-lz4', 0]);
      } finally {
        await serve.stop();
        scratch.cleanup();
      }
    }
  });
});

describe('compression that cannot be had is refused before anything starts', () => {
  test('an unknown codec, a level for a codec without one, a level out of range: exit 2 naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--compression', 'gzip'], /--compression: "gzip" is not a codec; use one of none, lz4, bitshuffle-lz4, zstd/],
      [['--compression', 'lz4', '--compression-level', '3'], /--compression-level: lz4 has no level/],
      [['--compression', 'zstd', '--compression-level', '12'], /--compression-level: 12 is not a zstd level; use an integer 1-9/],
    ];
    for (const [flags, message] of cases) {
      const result = await runLabcast(['record', '--frames', '1', ...flags, '--out', '/tmp', ...PUBLISH]);
      assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  test('the h5wasm writer refuses compression with a clear error', async () => {
    const result = await runLabcast(['record', '--frames', '1', '--compression', 'zstd', '--out', '/tmp', ...PUBLISH], {
      LABCAST_HDF5: 'h5wasm',
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /--compression: zstd \(level 1\) needs the native HDF5 writer; the h5wasm writer only writes raw frames/);
  });

  test('storage.compression in a config: a bad codec names the key', async () => {
    const scratch = scratchDir();
    try {
      const config = join(scratch.dir, 'lab.yaml');
      writeFileSync(config, 'storage:\n  compression: lz4\n  compression_level: 4\n');
      const result = await runLabcast(['serve', '--config', config]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /storage\.compression_level: lz4 has no level/);
    } finally {
      scratch.cleanup();
    }
  });

  test('a codec whose library was missing at build time is refused with the apt-get line, never written raw', async () => {
    const scratch = scratchDir();
    try {
      const outDir = join(scratch.dir, 'native');
      const built = spawnSync(process.execPath, [fileURLToPathOf('../../../scripts/build-native.mjs')], {
        encoding: 'utf8',
        env: { ...process.env, LABCAST_NATIVE_BUILD_DIR: outDir, LABCAST_NATIVE_WITHOUT: 'lz4,blosc' },
      });
      assert.equal(built.status, 0, built.stderr);
      assert.match(
        built.stdout,
        /compression not built in: lz4, bitshuffle-lz4 \(install liblz4-dev\); zstd \(install libblosc-dev libzstd-dev\)/,
      );
      const { createRequire } = await import('node:module');
      const addon = createRequire(import.meta.url)(join(outDir, 'labcast_hdf5.node')) as {
        compressionCodecs(): Record<string, string | null>;
      };
      assert.deepEqual(addon.compressionCodecs(), { lz4: 'liblz4-dev', 'bitshuffle-lz4': 'liblz4-dev', zstd: 'libblosc-dev libzstd-dev' });
      const { refuseUnavailableCompression } = await import('../../src/storage/compression-support.js');
      assert.throws(
        () =>
          refuseUnavailableCompression({ codec: 'bitshuffle-lz4', level: null }, 'native', '--compression', () => ({
            addon: addon as never,
          })),
        /--compression: bitshuffle-lz4 was not built into the native HDF5 writer .*: sudo apt-get install liblz4-dev && node scripts\/build-native\.mjs/,
      );
    } finally {
      scratch.cleanup();
    }
  });
});

function fileURLToPathOf(relative: string): string {
  return new URL(relative, import.meta.url).pathname;
}
