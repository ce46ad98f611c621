import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  childProcessesOf,
  collect,
  freePort,
  runLabcast,
  runPython,
  scratchDir,
  startLabcast,
  waitForOutput,
} from '../helpers/processes.js';
import { FrameCollector } from '../analysis/results.js';
import { WRITERS } from './writer-backends.js';

/**
 * `labcast record --pattern particles`: the simulator's ground truth, carried
 * in each frame header, ends up in the file as one row per (frame, particle),
 * written with the frames: a hard kill of the saver leaves truth rows for
 * exactly the frames of its last flush. Each HDF5 writer.
 */

const PARTICLES = 8;
const SIM = ['--width', '128', '--height', '96', '--pattern', 'particles', '--particles', String(PARTICLES)];

const READ_TRUTH = `
import sys, json, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    data = f["entry/data"]
    n = min(int(data["frames"].attrs["valid_frames"]), data["frames"].shape[0], data["frame_id"].shape[0])
    t = f["entry/instrument/simulation/truth"]
    print(json.dumps({
        "valid": n,
        "ids": data["frame_id"][:n].tolist(),
        "finished": "end_reason" in f["entry/acquisition"],
        "writer": f["entry"].attrs["hdf5_writer"],
        "sigma": float(t.attrs["sigma"]),
        "truth": {k: t[k][:].tolist() for k in ("frame_id", "particle", "x", "y", "amplitude", "intensity")},
    }))
`;

interface TruthFile {
  valid: number;
  ids: number[];
  finished: boolean;
  writer: string;
  sigma: number;
  truth: Record<'frame_id' | 'particle' | 'x' | 'y' | 'amplitude' | 'intensity', number[]>;
}

async function readTruth(path: string): Promise<TruthFile> {
  const read = await runPython(READ_TRUTH, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as TruthFile;
}

/** Rows of the truth table by frame id. */
function rowsByFrame(file: TruthFile): Map<number, number[]> {
  const rows = new Map<number, number[]>();
  file.truth.frame_id.forEach((id, row) => {
    const list = rows.get(id) ?? [];
    list.push(row);
    rows.set(id, list);
  });
  return rows;
}

for (const writer of WRITERS) {
  describe(`labcast record --pattern particles stores the ground truth (${writer.name} writer)`, { skip: writer.skip }, () => {
    const env = { LABCAST_HDF5: writer.name };

    test('one row per (frame, particle), equal to the truth in the frame headers; frame count unchanged', async () => {
      const scratch = scratchDir();
      const port = await freePort();
      const publish = `tcp://127.0.0.1:${port}`;
      const frames = new FrameCollector(publish);
      try {
        const out = join(scratch.dir, 'truth.h5');
        const ran = await runLabcast(
          ['record', '--frames', '80', '--fps', '50', ...SIM, '--out', out, '--json', '--publish', publish],
          env,
        );
        assert.equal(ran.code, 0, ran.stderr);
        const summary = JSON.parse(ran.stdout) as {
          runId: string;
          framesWritten: number;
          framesLost: number;
          writer: string;
          saverCpuS: number;
        };
        assert.equal(summary.framesWritten, 80);
        assert.equal(summary.framesLost, 0);
        assert.match(summary.writer, writer.name === 'native' ? /^native \(libhdf5 / : /^h5wasm /);
        assert.ok(summary.saverCpuS > 0 && summary.saverCpuS < 60, `saverCpuS ${summary.saverCpuS}`);

        const file = await readTruth(out);
        assert.ok(file.finished);
        assert.equal(file.writer, summary.writer);
        assert.equal(file.valid, 80);
        assert.equal(file.truth.frame_id.length, 80 * PARTICLES);
        assert.equal(file.sigma, 2);
        const byFrame = rowsByFrame(file);
        assert.deepEqual([...byFrame.keys()], file.ids, 'truth rows for every frame, in frame order');

        let compared = 0;
        for (const [key, header] of frames.headers) {
          if (!key.startsWith(`${summary.runId}:`)) continue;
          const truth = header.truth!;
          const rows = byFrame.get(header.seq)!;
          assert.deepEqual(
            rows.map((row) => file.truth.particle[row]),
            truth.x.map((_, i) => i),
          );
          for (const column of ['x', 'y', 'amplitude', 'intensity'] as const) {
            assert.deepEqual(
              rows.map((row) => file.truth[column][row]),
              truth[column],
              `frame ${header.seq} ${column}`,
            );
          }
          compared++;
        }
        assert.ok(compared >= 40, `${compared} frame headers compared with the file`);
      } finally {
        frames.close();
        scratch.cleanup();
      }
    });

    test('after kill -9 of the saver mid-recording the file holds truth rows for exactly its flushed frames', async () => {
      const scratch = scratchDir();
      try {
        const out = join(scratch.dir, 'killed.h5');
        const child = startLabcast(['record', '--fps', '100', ...SIM, '--out', out, '--publish', 'tcp://127.0.0.1:*'], env);
        const finished = collect(child);
        // More than a flush interval (1 s) of frames.
        await waitForOutput(child, /recording (\d+) frames/, (m) => Number(m[1]) >= 180);
        const savers = await childProcessesOf(child.pid!, 'labcast-saver');
        assert.equal(savers.length, 1, 'one saver process');
        process.kill(savers[0]!, 'SIGKILL');
        const result = await finished;
        assert.notEqual(result.code, 0, 'a killed saver is a failed recording');

        const file = await readTruth(out);
        assert.equal(file.finished, false);
        assert.ok(file.valid >= 50, `${file.valid} frames flushed before the kill`);
        assert.deepEqual(
          file.ids,
          Array.from({ length: file.valid }, (_, i) => i),
        );
        const byFrame = rowsByFrame(file);
        assert.deepEqual([...byFrame.keys()], file.ids, 'truth rows for every flushed frame and no other');
        for (const rows of byFrame.values()) assert.equal(rows.length, PARTICLES);
      } finally {
        scratch.cleanup();
      }
    });
  });
}
