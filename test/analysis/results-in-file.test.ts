import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Publisher } from 'zeromq';
import { REFERENCE_EXPOSURE_MS } from '../../src/devices/sim/sim-settings.js';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { delay, runLabcast, runPython, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';

/**
 * Issue 7's required test, from the recorded FILE alone: serve records 200
 * frames of particles at SNR 18..42 while `stats` and `localize` run; the
 * saver stores their results and the simulator's truth in the file; Python
 * (h5py + numpy, no labcast code) checks the statistics against the frames
 * and scores the stored spots against the stored truth.
 */

const CAMERA = { width: 256, height: 256, fps: 50, particle_count: 30, seed: 3 };
/** The default 12-bit camera: spot SNR 18..42 (expected peak over the background's shot and read noise). */
const EXPOSURE_MS = REFERENCE_EXPOSURE_MS;
const FRAMES = 200;

const CHECK_FILE = `
import sys, json, h5py, numpy as np
out = {}
with h5py.File(sys.argv[1], "r") as f:
    frames = f["entry/data/frames"]
    ids = f["entry/data/frame_id"][:]
    out["frames"] = int(frames.shape[0])
    out["ids_in_order"] = bool(np.array_equal(ids, np.arange(len(ids))))
    out["writer"] = f["entry"].attrs["hdf5_writer"]
    a = f["entry/analysis"]
    out["analysis_attrs"] = {k: (v if isinstance(v, str) else int(v)) for k, v in a.attrs.items() if k not in ("NX_class", "description")}

    # stats: every stored row against numpy on the stored frame with that id
    s = a["stats"]
    sid = s["frame_id"][:]
    out["stats"] = {"rows": int(len(sid)), "frames_analysed": int(s.attrs["frames_analysed"]), "kind": s.attrs["kind"],
                    "in_range": bool(((sid >= 0) & (sid < ${FRAMES})).all()), "unique": bool(len(np.unique(sid)) == len(sid))}
    worst = {"min": 0.0, "max": 0.0, "mean": 0.0, "std": 0.0, "histogram": 0}
    for row, fid in enumerate(sid):
        px = frames[int(np.searchsorted(ids, fid))].astype(np.float64)
        worst["min"] = max(worst["min"], abs(float(s["min"][row]) - px.min()))
        worst["max"] = max(worst["max"], abs(float(s["max"][row]) - px.max()))
        worst["mean"] = max(worst["mean"], abs(float(s["mean"][row]) - px.mean()) / px.mean())
        worst["std"] = max(worst["std"], abs(float(s["std"][row]) - px.std()) / px.std())
        hist = np.bincount((px.astype(np.int64) // 256).ravel(), minlength=256)
        worst["histogram"] = max(worst["histogram"], int(np.abs(s["histogram"][row].astype(np.int64) - hist).max()))
    out["stats"]["worst"] = worst

    # localize: spots of each analysed frame against the truth of that frame, both from the file
    loc = a["localize"]
    sp = loc["spots"]
    spot_fid, sx, sy = sp["frame_id"][:], sp["x"][:], sp["y"][:]
    t = f["entry/instrument/simulation/truth"]
    t_fid, tx, ty, ta = t["frame_id"][:], t["x"][:], t["y"][:], t["amplitude"][:]
    noise = [json.loads(r)["frame_background"]["noise"] for r in loc["result_json"].asstr()[:]]
    out["truth_rows"] = int(len(t_fid))
    out["truth_frames"] = sorted(set(int(i) for i in np.unique(t_fid))) == sorted(int(i) for i in ids)
    h, w = frames.shape[1], frames.shape[2]
    scored = found = falses = detections = low_snr = 0
    sq = []
    snrs = []
    for row, fid in enumerate(loc["frame_id"][:]):
        ti = t_fid == fid
        px_, py_, pa = tx[ti], ty[ti], ta[ti]
        si = spot_fid == fid
        qx, qy = sx[si], sy[si]
        detections += len(qx)
        excluded = np.zeros(len(px_), bool)
        for i in range(len(px_)):
            d2 = (px_ - px_[i]) ** 2 + (py_ - py_[i]) ** 2
            d2[i] = np.inf
            excluded[i] = (px_[i] < 4 or py_[i] < 4 or px_[i] > w - 5 or py_[i] > h - 5 or d2.min() < 64)
        for i in range(len(px_)):
            if excluded[i]:
                continue
            snr = pa[i] / noise[row]
            if snr < 10:
                low_snr += 1
                continue
            snrs.append(snr)
            scored += 1
            if len(qx) == 0:
                continue
            d2 = ((qx - px_[i]) ** 2 + (qy - py_[i]) ** 2).min()
            if d2 <= 1:
                found += 1
                sq.append(d2)
        for j in range(len(qx)):
            d2 = (px_ - qx[j]) ** 2 + (py_ - qy[j]) ** 2
            if (d2 <= 1).any():
                continue
            if (excluded & (d2 <= 64)).any():
                continue
            falses += 1
    out["localize"] = {"rows": int(len(loc["frame_id"])), "frames_analysed": int(loc.attrs["frames_analysed"]),
                       "kind": loc.attrs["kind"], "scored": scored, "found": found, "false": falses, "detections": detections,
                       "low_snr": low_snr, "rms": float(np.sqrt(np.mean(sq))) if sq else None,
                       "snr_min": float(min(snrs)) if snrs else None, "snr_median": float(np.median(snrs)) if snrs else None,
                       "spot_columns": sorted(sp.keys())}
print(json.dumps(out))
`;

interface Checked {
  frames: number;
  ids_in_order: boolean;
  writer: string;
  analysis_attrs: Record<string, number | string>;
  stats: {
    rows: number;
    frames_analysed: number;
    kind: string;
    in_range: boolean;
    unique: boolean;
    worst: { min: number; max: number; mean: number; std: number; histogram: number };
  };
  truth_rows: number;
  truth_frames: boolean;
  localize: {
    rows: number;
    frames_analysed: number;
    kind: string;
    scored: number;
    found: number;
    false: number;
    detections: number;
    low_snr: number;
    rms: number | null;
    snr_min: number | null;
    snr_median: number | null;
    spot_columns: string[];
  };
}

describe(`serve records ${FRAMES} frames while stats and localize run: results and truth in the file`, () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let status: ExperimentStatus;
  let checked: Checked;
  let garbageSent = 0;

  before(async () => {
    serve = await startServe(scratch.dir, CAMERA, { settings: { exposure_ms: EXPOSURE_MS } });
    for (const name of ['stats', 'localize']) {
      const started = await serve.ctl(['analysis', 'start', name]);
      assert.equal(started.code, 0, started.stderr);
    }
    // Anyone may publish to results_in: malformed messages arrive at the saver with the real results.
    const garbage = new Publisher({ linger: 0 });
    garbage.connect(serve.resultsIn);
    let recording = true;
    const sending = (async () => {
      const header = (extra: Record<string, unknown>): Buffer =>
        Buffer.from(JSON.stringify({ protocol: 1, name: 'junk', run_id: 'x', seq: 0, camera_ts_ns: '0', ...extra }));
      while (recording) {
        await garbage.send([Buffer.from('analysis/junk'), Buffer.from('{not json'), Buffer.from('{}')]);
        await garbage.send([
          Buffer.from('analysis/junk'),
          header({ arrays: [{ name: 'a', dtype: 'uint8', shape: [2] }] }),
          Buffer.from('{}'),
        ]);
        await garbage.send([Buffer.from('analysis/junk'), header({})]);
        garbageSent += 3;
        await delay(20);
      }
    })();
    const started = await serve.ctl(['record', '--frames', String(FRAMES)]);
    assert.equal(started.code, 0, started.stderr);
    status = await serve.waitFor((s) => s.state === 'idle' && s.last_recording !== null, 60_000);
    recording = false;
    await sending;
    garbage.close();
    const read = await runPython(CHECK_FILE, [status.last_recording!.path!]);
    assert.equal(read.code, 0, read.stderr);
    checked = JSON.parse(read.stdout) as Checked;
    if (process.env.LABCAST_ANALYSIS_VERBOSE) console.log(JSON.stringify(checked, null, 2));
  });

  after(async () => {
    await serve?.stop();
    scratch.cleanup();
  });

  test('the saver drops nothing: every frame is in the file, in order', () => {
    const recording = status.last_recording!;
    assert.equal(recording.error, null);
    assert.equal(recording.end_reason, 'completed');
    assert.equal(recording.frames_lost, 0);
    assert.equal(recording.frames_written, FRAMES);
    assert.equal(checked.frames, FRAMES);
    assert.ok(checked.ids_in_order);
  });

  test('the truth table covers every frame in the file', () => {
    assert.ok(checked.truth_frames, 'truth rows for exactly the frames in the file');
    assert.equal(checked.truth_rows, FRAMES * CAMERA.particle_count);
  });

  test('/entry/analysis/stats: one row per analysed frame of the run, equal to numpy on the stored frames', () => {
    const { stats } = checked;
    assert.equal(stats.kind, 'stats');
    assert.ok(stats.in_range && stats.unique, 'frame_id ⊂ [0, 200), each once');
    assert.equal(stats.frames_analysed, stats.rows);
    // Lossy by design, but on this small stream most frames are analysed.
    assert.ok(stats.rows >= FRAMES / 4, `${stats.rows} stats results stored`);
    assert.equal(stats.worst.min, 0);
    assert.equal(stats.worst.max, 0);
    assert.ok(stats.worst.mean < 1e-12, `mean off by ${stats.worst.mean} (relative)`);
    assert.ok(stats.worst.std < 1e-9, `std off by ${stats.worst.std} (relative)`);
    assert.equal(stats.worst.histogram, 0);
  });

  test('localisation from the file alone: RMS < 0.1 px at SNR ≥ 10, ≥ 95 % found, < 5 % false', () => {
    const { localize } = checked;
    assert.equal(localize.kind, 'localize');
    assert.equal(localize.frames_analysed, localize.rows);
    assert.ok(localize.rows >= FRAMES / 4, `${localize.rows} localize results stored`);
    for (const column of ['frame_id', 'x', 'y', 'intensity', 'amplitude', 'background', 'sigma', 'track']) {
      assert.ok(localize.spot_columns.includes(column), `spots/${column}`);
    }
    assert.ok(localize.scored >= localize.rows * 10, `${localize.scored} particles scored in ${localize.rows} frames`);
    assert.ok(localize.snr_min! >= 10);
    assert.ok(localize.low_snr <= localize.scored / 10, `${localize.low_snr} below SNR 10 left out, ${localize.scored} scored`);
    assert.ok(localize.rms! < 0.1, `RMS ${localize.rms} px`);
    assert.ok(localize.found >= 0.95 * localize.scored, `found ${localize.found} of ${localize.scored}`);
    assert.ok(localize.false < 0.05 * localize.detections, `${localize.false} false of ${localize.detections} detections`);
  });

  test('labcast inspect lists the stored analyses and the ground truth, with the counts the file holds', async () => {
    const inspected = await runLabcast(['inspect', status.last_recording!.path!]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(
      inspected.stdout,
      new RegExp(`^analysis stats +stats: ${checked.stats.rows} frames analysed \\(/entry/analysis/stats\\)$`, 'm'),
    );
    assert.match(inspected.stdout, new RegExp(`^analysis localize +localize: ${checked.localize.rows} frames analysed, \\d+ spots`, 'm'));
    assert.match(inspected.stdout, new RegExp(`^ground truth +${checked.truth_rows} rows`, 'm'));
  });

  test('malformed messages on the results endpoint are counted and skipped; the results of the run are all stored', () => {
    assert.ok(garbageSent > 0);
    const attrs = checked.analysis_attrs;
    assert.ok(Number(attrs.results_malformed) > 0, `results_malformed ${attrs.results_malformed}`);
    assert.equal(typeof attrs.last_malformed, 'string');
    assert.equal(attrs.results_write_errors, 0);
    assert.equal(attrs.results_stored, checked.stats.rows + checked.localize.rows);
    // Late results were waited for, but never longer than the bound (2 s) after the run end.
    assert.ok(Number(attrs.results_grace_ms) <= 2100, `waited ${attrs.results_grace_ms} ms for late results`);
  });
});
