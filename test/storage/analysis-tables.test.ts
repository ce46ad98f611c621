import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeAnalysisResult, encodeAnalysisResult, type AnalysisResult, type ResultArray } from '../../src/protocol/analysis.js';
import type { FrameHeader, FrameTruth, RunStart } from '../../src/protocol/messages.js';
import { runPython } from '../helpers/processes.js';
import { framePixels, makeHeader, makeRunEnd, makeRunStart, tempDir } from './fixtures.js';
import { WRITERS } from './writer-backends.js';

/**
 * The truth table and /entry/analysis written by each HDF5 writer (native and
 * h5wasm), read back with h5py: columns aligned to frame_id, fill values where
 * a field is missing, fields that fit no dataset in result_json.
 */

function result(
  start: RunStart,
  name: string,
  kind: string,
  seq: number,
  body: unknown,
  arrays: readonly (readonly [string, ResultArray])[] = [],
): AnalysisResult {
  const parts = encodeAnalysisResult(
    { protocol: 1, name, kind, run_id: start.run_id, seq, camera_ts_ns: BigInt(seq) * 1000n },
    body,
    arrays,
  );
  const decoded = decodeAnalysisResult(parts);
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.result;
}

function truthOf(seq: number): FrameTruth {
  // Two particles, then a third from frame 4 on: the table takes any count per frame.
  const n = seq >= 4 ? 3 : 2;
  const ids = Array.from({ length: n }, (_, i) => i);
  return {
    x: ids.map((i) => 10 + i + seq / 8),
    y: ids.map((i) => 20 - i + seq / 16),
    amplitude: ids.map((i) => 1000 + 10 * i + seq),
    intensity: ids.map((i) => 2 * Math.PI * 4 * (1000 + 10 * i + seq)),
    sigma: 2,
  };
}

const READ = `
import sys, json, h5py, numpy as np
def col(g):
    return {k: (np.where(np.isnan(v[...]), None, v[...]).tolist() if v.dtype.kind == 'f' else v[...].tolist())
            for k, v in g.items() if isinstance(v, h5py.Dataset) and v.dtype.kind in 'iuf'}
with h5py.File(sys.argv[1], "r") as f:
    out = {"frames": int(f["entry/data/frames"].shape[0])}
    t = f["entry/instrument/simulation/truth"]
    out["truth"] = col(t)
    out["truth_sigma"] = float(t.attrs["sigma"])
    out["truth_dtypes"] = {k: str(v.dtype) for k, v in t.items()}
    a = f["entry/analysis"]
    out["analysis_attrs"] = {k: (int(v) if np.ndim(v) == 0 and not isinstance(v, str) else v)
                             for k, v in a.attrs.items() if k.startswith("results_")}
    out["analysis"] = {}
    for name, g in a.items():
        entry = {"attrs": {k: (v if isinstance(v, str) else int(v)) for k, v in g.attrs.items()}, "columns": col(g),
                 "shapes": {k: list(v.shape) for k, v in g.items() if isinstance(v, h5py.Dataset)},
                 "dtypes": {k: str(v.dtype) for k, v in g.items() if isinstance(v, h5py.Dataset)}}
        if "result_json" in g:
            entry["result_json"] = [json.loads(s) if s else None for s in g["result_json"].asstr()[...]]
        for sub in ("spots", "items"):
            if sub in g:
                entry[sub] = col(g[sub])
                entry[sub + "_dtypes"] = {k: str(v.dtype) for k, v in g[sub].items()}
        out["analysis"][name] = entry
    print(json.dumps(out))
`;

interface Read {
  frames: number;
  truth: Record<string, (number | null)[]>;
  truth_sigma: number;
  truth_dtypes: Record<string, string>;
  analysis_attrs: Record<string, number>;
  analysis: Record<
    string,
    {
      attrs: Record<string, string | number>;
      columns: Record<string, unknown[]>;
      shapes: Record<string, number[]>;
      dtypes: Record<string, string>;
      result_json?: unknown[];
      spots?: Record<string, (number | null)[]>;
      items?: Record<string, (number | null)[]>;
      items_dtypes?: Record<string, string>;
    }
  >;
}

for (const writerUnderTest of WRITERS) {
  describe(`truth and analysis tables, ${writerUnderTest.name} writer`, { skip: writerUnderTest.skip }, () => {
    test('written with the frames at each flush, aligned to frame_id, read back by h5py', async () => {
      const { dir, remove } = tempDir();
      try {
        const start = makeRunStart({
          frames_requested: 8,
          config: { analysis: { spots: { kind: 'localize', options: { threshold: 4 } } } },
        });
        const path = join(dir, 'tables.h5');
        const writer = await writerUnderTest.open(path, start, { overwrite: false });
        const append = (seq: number): void => {
          const header: FrameHeader = { ...makeHeader(start, seq), truth: truthOf(seq) };
          writer.append(header, framePixels(start.shape, start.dtype, seq));
        };
        for (let seq = 0; seq < 4; seq++) append(seq);
        // stats of frames 0 and 2; a scalar that appears only later; a histogram of another length once.
        writer.addResult(
          result(start, 'stats', 'stats', 0, { count: 48, min: 1, max: 9, mean: 4.5, std: 2.25, histogram: [1, 2, 3, 4], label: 'a' }),
        );
        writer.addResult(
          result(start, 'stats', 'stats', 2, { count: 48, min: 2, max: 8, mean: 5.5, std: 1.5, histogram: [4, 3, 2, 1], flag: true }),
        );
        writer.addResult(
          result(start, 'spots', 'localize', 1, {
            count: 2,
            x: [1.25, 2.5],
            y: [3.5, 4.75],
            sigma: [1.5, null],
            frame_background: { level: 100, noise: 3 },
            threshold: 115,
          }),
        );
        writer.flush();
        for (let seq = 4; seq < 8; seq++) append(seq);
        writer.addResult(result(start, 'stats', 'stats', 5, { count: 48, min: 0, max: 7, mean: 3, std: 1, histogram: [1, 1], late: 42 }));
        writer.addResult(
          result(start, 'spots', 'localize', 6, {
            count: 0,
            x: [],
            y: [],
            sigma: [],
            frame_background: { level: 99, noise: 3 },
            threshold: 114,
          }),
        );
        writer.addResult(
          result(start, 'spots', 'localize', 7, {
            count: 1,
            x: [7],
            y: [8],
            sigma: [1.9],
            frame_background: { level: 98, noise: 3 },
            threshold: 113,
          }),
        );
        // A user module's typed arrays: one row per item, in their own dtype (int16 widened to int32).
        writer.addResult(
          result(start, 'mine', 'module', 3, { n: 3 }, [
            ['xs', Float32Array.of(0.5, 1.5, 2.5)],
            ['ids', Int16Array.of(-1, 0, 1)],
          ]),
        );
        const summary = writer.finish(makeRunEnd(start, { frames_acquired: 8 }), {
          received: 7,
          otherRun: 1,
          malformed: 2,
          lastMalformed: 'bad',
          graceMs: 12,
        });
        assert.deepEqual(summary.results?.stored, { stats: 3, spots: 3, mine: 1 });
        assert.equal(summary.results?.writeErrors, 0);

        const read = await runPython(READ, [path]);
        assert.equal(read.code, 0, read.stderr);
        const file = JSON.parse(read.stdout) as Read;
        assert.equal(file.frames, 8);

        // Truth: one row per (frame, particle), every frame, in order.
        const expectedTruth = {
          frame_id: [] as number[],
          particle: [] as number[],
          x: [] as number[],
          y: [] as number[],
          amplitude: [] as number[],
          intensity: [] as number[],
        };
        for (let seq = 0; seq < 8; seq++) {
          const truth = truthOf(seq);
          truth.x.forEach((x, i) => {
            expectedTruth.frame_id.push(seq);
            expectedTruth.particle.push(i);
            expectedTruth.x.push(x);
            expectedTruth.y.push(truth.y[i]!);
            expectedTruth.amplitude.push(truth.amplitude[i]!);
            expectedTruth.intensity.push(truth.intensity[i]!);
          });
        }
        assert.deepEqual(file.truth, expectedTruth);
        assert.equal(file.truth_sigma, 2);
        assert.deepEqual(file.truth_dtypes, {
          amplitude: 'float64',
          frame_id: 'int64',
          intensity: 'float64',
          particle: 'int32',
          x: 'float64',
          y: 'float64',
        });

        assert.deepEqual(file.analysis_attrs, {
          results_received: 7,
          results_stored: 7,
          results_other_run: 1,
          results_malformed: 2,
          results_write_errors: 0,
          results_json_dropped: 0,
          results_grace_ms: 12,
        });

        const stats = file.analysis.stats!;
        assert.deepEqual(
          stats.attrs,
          { NX_class: 'NXcollection', name: 'stats', kind: 'stats', frames_analysed: 3, options_json: '{}' },
          'a built-in analysis not in the config: its defaults',
        );
        assert.deepEqual(stats.columns.frame_id, [0, 2, 5]);
        assert.equal(stats.dtypes.frame_id, 'int64');
        assert.deepEqual(stats.columns.mean, [4.5, 5.5, 3]);
        assert.deepEqual(stats.columns.min, [1, 2, 0]);
        assert.deepEqual(stats.columns.late, [null, null, 42], 'a field first seen later: NaN before');
        assert.deepEqual(stats.shapes.histogram, [3, 4]);
        assert.deepEqual(
          stats.columns.histogram,
          [
            [1, 2, 3, 4],
            [4, 3, 2, 1],
            [null, null, null, null],
          ],
          'a histogram of another length is not forced in',
        );
        assert.deepEqual(stats.result_json, [{ label: 'a' }, { flag: true }, { histogram: [1, 1] }]);

        const spots = file.analysis.spots!;
        assert.equal(spots.attrs.kind, 'localize');
        assert.equal(spots.attrs.options_json, '{"threshold":4}');
        assert.deepEqual(spots.columns.frame_id, [1, 6, 7]);
        assert.deepEqual(spots.columns.count, [2, 0, 1]);
        assert.deepEqual(spots.columns.threshold, [115, 114, 113]);
        assert.deepEqual(spots.spots, { frame_id: [1, 1, 7], x: [1.25, 2.5, 7], y: [3.5, 4.75, 8], sigma: [1.5, null, 1.9] });
        assert.deepEqual(spots.result_json, [
          { frame_background: { level: 100, noise: 3 } },
          { frame_background: { level: 99, noise: 3 } },
          { frame_background: { level: 98, noise: 3 } },
        ]);

        const mine = file.analysis.mine!;
        assert.equal(mine.attrs.kind, 'module');
        assert.equal(mine.attrs.options_json, undefined, 'not in the config: options unknown');
        assert.deepEqual(mine.columns.n, [3]);
        assert.deepEqual(mine.items, { frame_id: [3, 3, 3], ids: [-1, 0, 1], xs: [0.5, 1.5, 2.5] });
        assert.deepEqual(mine.items_dtypes, { frame_id: 'int64', ids: 'int32', xs: 'float32' });
        assert.equal(mine.result_json, undefined, 'nothing left over: no result_json');
      } finally {
        remove();
      }
    });
  });
}
