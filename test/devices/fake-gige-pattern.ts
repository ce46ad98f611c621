import assert from 'node:assert/strict';
import { runPython } from '../helpers/processes.js';

/**
 * What Aravis's fake camera draws (arvfakecamera.c, arv_fake_camera_diagonal_ramp),
 * checked on every frame of a recording by h5py: a diagonal ramp that moves by
 * one pixel per camera frame,
 *   Mono8   v = clamp(((x + y + id) % 255) * scale, 0, 255)
 *   Mono16  v = clamp(((256 (x + y + id)) % 65535) * scale, 0, 65535)
 *   RGB8    a colour map of the Mono8 index (so constant along x + y, period 255)
 * with id the camera's 16-bit frame (block) id and scale = 1 + GainRaw + log10(ExposureTimeAbs / 10000 µs).
 *
 * Each frame's id is recovered from its pixels, so the checker also compares
 * the camera's ids with labcast's sequence numbers (entry/data/frame_id): a
 * frame the camera sent but labcast never stored must be a counted gap, not a
 * renumbered neighbour.
 */
const CHECK_FRAMES = String.raw`
import json, sys
import h5py, numpy as np

path, pixel_format, scales = sys.argv[1], sys.argv[2], [float(s) for s in sys.argv[3].split(',')]
out = {"frames": 0, "scales": [], "camera_ids": [], "problems": []}
with h5py.File(path, "r") as f:
    frames = f["entry/data/frames"]
    seqs = f["entry/data/frame_id"][:].tolist()
    out["frames"] = frames.shape[0]
    out["shape"] = list(frames.shape[1:])
    out["dtype"] = str(frames.dtype)
    if frames.shape[0] == 0:
        print(json.dumps(out)); sys.exit(0)
    h, w = frames.shape[1], frames.shape[2]
    y, x = np.mgrid[0:h, 0:w]
    diag = (x + y).astype(np.int64)
    for i in range(frames.shape[0]):
        frame = frames[i]
        if pixel_format == "Mono8":
            # The id modulo 255 is the raw index at (0, 0); try each scale the run may have used.
            found = None
            for scale in scales:
                for k in range(255):
                    if min(255, int(k * scale)) != int(frame[0, 0]):
                        continue
                    expected = np.clip(((diag + k) % 255) * scale, 0, 255).astype(np.uint8)
                    if np.array_equal(frame, expected):
                        found = (k, scale); break
                if found: break
            modulus = 255
        elif pixel_format == "Mono16":
            found = None
            for scale in scales:
                # 256 is its own inverse modulo 65535 (256 * 256 = 65536).
                for raw in range(int(frame[0, 0] / scale) - 1, int(frame[0, 0] / scale) + 2):
                    k = (256 * raw) % 65535
                    expected = np.clip(((256 * (diag + k)) % 65535) * scale, 0, 65535).astype(np.uint16)
                    if np.array_equal(frame, expected):
                        found = (k, scale); break
                if found: break
            modulus = 65535
        elif pixel_format == "RGB8":
            # Constant along each anti-diagonal, periodic with 255, in colour; the shift between frames gives the id.
            ok = frame.shape[2] == 3 and np.array_equal(frame[1:, :-1], frame[:-1, 1:])
            if w > 255: ok = ok and np.array_equal(frame[0, 255:], frame[0, :w - 255])
            ok = ok and not np.array_equal(frame[..., 0], frame[..., 1])
            found = None
            if ok and i == 0:
                first_row = frame[0]; found = (0, 1.0)
            elif ok and w >= 510:
                for k in range(255):
                    if np.array_equal(frame[0, :w - k], first_row[k:]):
                        found = (k, 1.0); break
            modulus = 255
        if found is None:
            out["problems"].append("frame %d (seq %d) is not the fake camera's pattern" % (i, seqs[i]))
            out["camera_ids"].append(None); out["scales"].append(None)
            continue
        out["camera_ids"].append(found[0]); out["scales"].append(found[1])
    # Consecutive stored frames: the camera's ids advance exactly as labcast's sequence numbers do.
    for i in range(1, len(seqs)):
        a, b = out["camera_ids"][i - 1], out["camera_ids"][i]
        if a is None or b is None: continue
        if (b - a - (seqs[i] - seqs[i - 1])) % modulus != 0:
            out["problems"].append("seq %d -> %d: camera id %d -> %d" % (seqs[i - 1], seqs[i], a, b))
print(json.dumps(out))
`;

export interface PatternCheck {
  readonly frames: number;
  readonly shape: number[];
  readonly dtype: string;
  /** The scale each frame was drawn with (from gain and exposure). */
  readonly scales: (number | null)[];
  readonly problems: string[];
}

/** Reads every frame with h5py and checks it is the fake camera's pattern; `scales` are the ones the run may show. */
export async function checkFakeCameraFrames(
  path: string,
  pixelFormat: 'Mono8' | 'Mono16' | 'RGB8',
  scales: number[] = [1],
  context = '',
): Promise<PatternCheck> {
  const read = await runPython(CHECK_FRAMES, [path, pixelFormat, scales.join(',')]);
  assert.equal(read.code, 0, read.stderr);
  const check = JSON.parse(read.stdout) as PatternCheck;
  assert.deepEqual(
    check.problems.slice(0, 5),
    [],
    `${path}: ${check.problems.length} frames differ from the fake camera's pattern ${context}`,
  );
  return check;
}
