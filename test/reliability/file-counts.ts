import assert from 'node:assert/strict';
import { runPython } from '../helpers/processes.js';

const READ_FILE = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    a = f["entry/acquisition"]
    print(json.dumps({
        "frames": f["entry/data/frames"].shape[0],
        "valid": int(f["entry/data/frames"].attrs["valid_frames"]),
        "ids": f["entry/data/frame_id"][:].tolist(),
        "gaps": a["gaps"][:].tolist(),
        "acquired": int(a["frames_acquired"][()]),
        "dropped": int(a["frames_dropped"][()]),
        "written": int(a["frames_written"][()]),
        "end_reason": a["end_reason"].asstr()[()],
        "run_id": f["entry"].attrs["run_id"],
    }))
`;

/** What an HDF5 recording holds, read by h5py (an independent reader). */
export interface FileCounts {
  readonly frames: number;
  readonly valid: number;
  readonly ids: number[];
  readonly gaps: [number, number][];
  readonly acquired: number;
  readonly dropped: number;
  readonly written: number;
  readonly end_reason: string;
  readonly run_id: string;
}

export async function readFileCounts(path: string): Promise<FileCounts> {
  const read = await runPython(READ_FILE, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as FileCounts;
}

/** Every sequence number from 0 to acquired-1 is in the file or in a gap, exactly once. */
export function assertEveryFrameAccounted(file: FileCounts): void {
  const missing = file.gaps.flatMap(([first, count]) => Array.from({ length: count }, (_, i) => first + i));
  const all = [...file.ids, ...missing].sort((a, b) => a - b);
  assert.deepEqual(
    all,
    Array.from({ length: file.acquired }, (_, i) => i),
    'each frame id once, in the file or in the gap record',
  );
  for (let i = 1; i < file.ids.length; i++) assert.ok(file.ids[i]! > file.ids[i - 1]!, 'frame ids in order');
}
