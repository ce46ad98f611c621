import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { decodeAnalysisResult, encodeAnalysisResult, type AnalysisResult } from '../../src/protocol/analysis.js';
import type { CompressionSpec } from '../../src/protocol/compression.js';
import type { FrameHeader, RunStart } from '../../src/protocol/messages.js';
import { loadNativeAddon } from '../../src/native/native-addon.js';
import { openNativeWriter } from '../../src/storage/native-writer.js';
import { PYTHON } from '../helpers/processes.js';
import {
  dumpWithH5py,
  framePixels,
  makeHeader,
  makeRunEnd,
  makeRunStart,
  range,
  sha256,
  tempDir,
  writeKilledRecording,
  type H5pyObject,
} from './fixtures.js';

/**
 * The layout writer with compressed frames keeps every promise of the raw
 * one: the same file object for object (gaps, valid_frames, truth table,
 * analysis results, run end) but for the frames' filter and the compression
 * attributes; flushed frames visible to a reader while the writer runs; a
 * kill -9 after a flush keeps exactly the flushed frames.
 */

const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const COMPRESSED: CompressionSpec[] = [
  { codec: 'lz4', level: null },
  { codec: 'bitshuffle-lz4', level: null },
  { codec: 'zstd', level: 5 },
];
const FILTER_NAMES = { lz4: '32004', 'bitshuffle-lz4': '32008', zstd: '32001' } as const;

const FILTERS = 'import sys, json, h5py\nprint(json.dumps(list(h5py.File(sys.argv[1], "r")["entry/data/frames"]._filters)))';

function skipReason(codec: string): string | false {
  const loaded = loadNativeAddon();
  const reason =
    'failure' in loaded
      ? `native writer not built: ${loaded.failure}`
      : (loaded.addon.compressionCodecs()[codec] ?? null) !== null
        ? `${codec} not built in`
        : false;
  if (reason !== false && IN_CI) assert.fail(`CI must test compression: ${reason}`);
  return reason;
}

function result(start: RunStart, seq: number): AnalysisResult {
  const parts = encodeAnalysisResult(
    { protocol: 1, name: 'stats', kind: 'stats', run_id: start.run_id, seq, camera_ts_ns: BigInt(seq) * 1000n },
    { count: 48, min: seq, max: 9 + seq, mean: 4.5, std: 2.25 },
    [],
  );
  const decoded = decodeAnalysisResult(parts);
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.result;
}

/** A run with gaps, truth in the headers, analysis results and a flush in the middle. */
async function writeRun(path: string, start: RunStart, compression: CompressionSpec | undefined): Promise<unknown> {
  const writer = await openNativeWriter(path, start, { overwrite: false, ...(compression === undefined ? {} : { compression }) });
  const seqs = [...range(0, 150), ...range(153, 300), 305];
  for (const [i, seq] of seqs.entries()) {
    const header: FrameHeader = {
      ...makeHeader(start, seq),
      truth: { x: [seq / 4, 3], y: [1, seq / 8], amplitude: [100, 200], intensity: [1e3, 2e3], sigma: 1.5 },
    };
    writer.append(header, framePixels(start.shape, start.dtype, seq));
    if (seq % 3 === 0) writer.addResult(result(start, seq));
    if (i === 200) writer.flush();
  }
  return writer.finish(makeRunEnd(start, { frames_acquired: 306, frames_dropped: 0 }));
}

/** The dump without what differs by design: the time the file was made and closed, and compression itself. */
function comparable(dump: Record<string, H5pyObject>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, object] of Object.entries(dump)) {
    const attrs = Object.fromEntries(
      Object.entries(object.attrs).filter(
        ([name]) => !name.startsWith('compression') && !['file_time', 'end_time_ns', 'writer_process'].includes(name),
      ),
    );
    const { compression: _filter, ...rest } = object;
    out[path] = path === '/entry/end_time' ? { ...rest, value: null, attrs } : { ...rest, attrs };
  }
  return out;
}

for (const compression of COMPRESSED) {
  describe(`native writer, ${compression.codec}`, { skip: skipReason(compression.codec) }, () => {
    for (const [label, shape] of [
      ['small frames sharing chunks', [6, 8]],
      ['large frames, one chunk each', [512, 256]],
    ] as const) {
      test(`${label}: the same file as the raw writer's, object for object, but the frames' filter`, async () => {
        const { dir, remove } = tempDir();
        try {
          const start = makeRunStart({ shape: [...shape], frames_requested: 306 });
          // The same name in two folders: the file name is stored in the file.
          mkdirSync(join(dir, 'raw'));
          mkdirSync(join(dir, 'packed'));
          const raw = join(dir, 'raw', 'run.h5');
          const packed = join(dir, 'packed', 'run.h5');
          const rawSummary = await writeRun(raw, start, undefined);
          const packedSummary = (await writeRun(packed, start, compression)) as {
            compression?: { codec: string; bytesIn: number; bytesOut: number };
          };
          const { compression: totals, ...rest } = packedSummary;
          assert.deepEqual(rest, { ...(rawSummary as object), path: packed });
          assert.equal(totals?.codec, compression.codec);
          assert.equal(totals?.bytesIn, 298 * shape[0] * shape[1] * 2);

          const rawDump = dumpWithH5py(raw);
          const packedDump = dumpWithH5py(packed);
          assert.deepEqual(comparable(packedDump), comparable(rawDump));
          const frames = packedDump['/entry/data/frames']!;
          const filters = spawnSync(PYTHON, ['-c', FILTERS, packed], { encoding: 'utf8' });
          assert.equal(filters.status, 0, filters.stderr);
          assert.deepEqual(JSON.parse(filters.stdout), [FILTER_NAMES[compression.codec as keyof typeof FILTER_NAMES]]);
          assert.equal(frames.attrs.compression, compression.codec);
          assert.equal(frames.attrs.compression_bytes_in, totals?.bytesIn);
          assert.equal(frames.attrs.compression_bytes_out, totals?.bytesOut);

          assert.equal(frames.attrs.valid_frames, 298);
          assert.ok(packedDump['/entry/instrument/simulation/truth/x'], 'the truth table is there');
          assert.ok(packedDump['/entry/analysis/stats/frame_id'], 'the analysis results are there');
        } finally {
          remove();
        }
      });
    }

    test('flush() makes compressed frames visible to h5py while the writer keeps the file open', async () => {
      const { dir, remove } = tempDir();
      try {
        const path = join(dir, 'live.h5');
        const start = makeRunStart({ shape: [64, 64] });
        const writer = await openNativeWriter(path, start, { overwrite: false, compression });
        const expected = (n: number): string[] => range(0, n).map((seq) => sha256(framePixels(start.shape, start.dtype, seq)));
        writer.append(makeHeader(start, 0), framePixels(start.shape, start.dtype, 0));
        writer.append(makeHeader(start, 1), framePixels(start.shape, start.dtype, 1));
        writer.flush();
        assert.deepEqual(dumpWithH5py(path)['/entry/data/frames']!.frameSha256, expected(2));
        // Past the first chunk (128 frames of 8 KiB): a full chunk and a partly filled one.
        for (let seq = 2; seq < 200; seq++) writer.append(makeHeader(start, seq), framePixels(start.shape, start.dtype, seq));
        writer.flush();
        const live = dumpWithH5py(path)['/entry/data/frames']!;
        assert.deepEqual(live.frameSha256, expected(200));
        assert.equal(live.attrs.valid_frames, 200);
        writer.finish(null);
      } finally {
        remove();
      }
    });
  });
}

describe('native writer, bitshuffle-lz4, killed', { skip: skipReason('bitshuffle-lz4') }, () => {
  test('a writer killed with SIGKILL after a flush: h5py reads exactly the flushed frames, decompressed', async () => {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, 'killed.h5');
      const start = makeRunStart({ shape: [64, 64] });
      const module = fileURLToPath(new URL('./compressed-opener.js', import.meta.url));
      await writeKilledRecording(path, start, 150, 40, { module, exportName: 'openBitshuffleWriter' });
      const frames = dumpWithH5py(path)['/entry/data/frames']!;
      assert.equal(frames.attrs.valid_frames, 150);
      assert.deepEqual(
        frames.frameSha256!.slice(0, 150),
        range(0, 150).map((seq) => sha256(framePixels(start.shape, start.dtype, seq))),
      );
      assert.equal(frames.attrs.compression_bytes_in, 150 * 64 * 64 * 2);
    } finally {
      remove();
    }
  });
});
