import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runLabcast, runPython, scratchDir } from '../helpers/processes.js';

const VALID_FRAMES = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    frames = f["entry/data/frames"]
    valid = int(frames.attrs["valid_frames"])
    print(json.dumps({"valid": valid, "ids_ok": f["entry/data/frame_id"][:valid].tolist() == list(range(valid))}))
`;

/**
 * A small file system of our own to fill: tmpfs needs root (which CI has);
 * elsewhere the test says why it cannot run rather than pretending.
 */
function mountSmallDisk(dir: string, megabytes: number): string | null {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir], { encoding: 'utf8' });
  return mounted.status === 0 ? null : `cannot mount a tmpfs here (${mounted.stderr.trim() || mounted.error?.message}); run as root`;
}

// Compressed frames keep the same promise (docs/hdf5-layout.md#compression); without the codec built in, its test fails.
for (const codec of ['none', 'bitshuffle-lz4']) {
  describe(`a full disk during a recording (compression ${codec})`, () => {
    const scratch = scratchDir();
    const disk = join(scratch.dir, 'small-disk');
    let cannotMount: string | null = null;
    before(() => {
      cannotMount = mountSmallDisk(disk, 12);
    });
    after(() => {
      if (cannotMount === null) spawnSync('umount', [disk]);
      scratch.cleanup();
    });

    test('labcast record stops with a clear error, exit 1, and the file keeps every frame of its last flush', async (t) => {
      if (cannotMount !== null) return t.skip(cannotMount);
      const out = join(disk, 'full.h5');
      // 128 KiB frames at 40 fps: the 12 MB disk fills after ~2 s, after at least one flush.
      const result = await runLabcast([
        'record',
        '--frames',
        '2000',
        '--fps',
        '40',
        '--width',
        '256',
        '--height',
        '256',
        '--compression',
        codec,
        '--out',
        out,
        '--publish',
        'tcp://127.0.0.1:*',
      ]);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stdout, /Recording failed/);
      const kept = /keeps the (\d+) frames of its last flush/.exec(result.stdout);
      assert.ok(kept, 'the summary says how many frames the file keeps');
      assert.match(result.stdout, /No space left on device/);
      assert.doesNotMatch(result.stdout, /HDF5-DIAG/, 'no HDF5 stack dump');
      const read = await runPython(VALID_FRAMES, [out]);
      assert.equal(read.code, 0, `the file still opens in h5py: ${read.stderr}`);
      const file = JSON.parse(read.stdout) as { valid: number; ids_ok: boolean };
      assert.ok(file.valid > 0, 'frames flushed before the disk filled are kept');
      assert.equal(file.valid, Number(kept[1]), 'the summary and the file agree');
      assert.ok(file.ids_ok);
    });

    // Raw frames from the ring are written in place from their slots (compressed ones go through the codec).
    if (codec === 'none')
      test('frames written in place from the shared-memory ring: the same clear error, and the file keeps its last flush', async (t) => {
        if (cannotMount !== null) return t.skip(cannotMount);
        rmSync(join(disk, 'full.h5'), { force: true });
        const out = join(disk, 'full-ring.h5');
        // 512 KiB frames (through the ring, written from their slots) at 10 fps: full after ~2 s, after a flush.
        const result = await runLabcast([
          'record',
          '--frames',
          '2000',
          '--fps',
          '10',
          '--width',
          '512',
          '--height',
          '512',
          '--dtype',
          'uint16',
          '--out',
          out,
          '--publish',
          'tcp://127.0.0.1:*',
        ]);
        assert.equal(result.code, 1, result.stdout + result.stderr);
        assert.match(result.stdout, /No space left on device/);
        const kept = /keeps the (\d+) frames of its last flush/.exec(result.stdout);
        assert.ok(kept, 'the summary says how many frames the file keeps');
        const read = await runPython(VALID_FRAMES, [out]);
        assert.equal(read.code, 0, `the file still opens in h5py: ${read.stderr}`);
        const file = JSON.parse(read.stdout) as { valid: number; ids_ok: boolean };
        assert.ok(file.valid > 0, 'frames flushed before the disk filled are kept');
        assert.equal(file.valid, Number(kept[1]), 'the summary and the file agree');
        assert.ok(file.ids_ok);
      });
  });
}
