import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runLabcast, runPython, scratchDir } from '../helpers/processes.js';

/** The rough edges a new user hit in the CLI (issue 14), each through the real CLI. */

const FAST = ['--width', '64', '--height', '48', '--fps', '0'];
const ANY_PORT = ['--publish', 'tcp://127.0.0.1:*'];

const READ_SETTINGS = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    cam = f["entry/instrument/camera"]
    print(json.dumps({
        "frames": f["entry/data/frames"].shape[0],
        "settings": json.loads(cam.attrs["settings_json"]),
        "brightness": float(cam["brightness"][()]),
    }))
`;

describe('negative numbers are values', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('record --brightness -20 (space, not =) records at brightness -20', async () => {
    const out = join(scratch.dir, 'dark.h5');
    const result = await runLabcast(['record', '--brightness', '-20', '--frames', '2', ...FAST, '--out', out, ...ANY_PORT]);
    assert.equal(result.code, 0, result.stderr);
    const read = await runPython(READ_SETTINGS, [out]);
    assert.equal(read.code, 0, read.stderr);
    const file = JSON.parse(read.stdout) as { frames: number; settings: Record<string, number>; brightness: number };
    assert.equal(file.frames, 2);
    assert.equal(file.settings.brightness, -20);
    assert.equal(file.brightness, -20);
  });

  test('a negative number outside a range is refused for its range, not as "ambiguous"', async () => {
    const dir = join(scratch.dir, 'refused');
    mkdirSync(dir);
    for (const [flag, names] of [
      ['--gain', /--gain: .*out of range/],
      ['--fps', /--fps/],
      ['--frames', /--frames must be a whole number between 1 and/],
      ['--duration', /--duration must be a number between 0.001 and/],
    ] as const) {
      const result = await runLabcast(['record', ...FAST, '--out', dir, ...ANY_PORT, flag, '-1']);
      assert.equal(result.code, 2, `${flag}: ${result.stderr}`);
      assert.match(result.stderr, names);
      assert.doesNotMatch(result.stderr, /ambiguous/);
    }
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('--out: what cannot be a file is refused before anything starts', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('a trailing "/" names a folder: a missing one is exit 2, and nothing is created', async () => {
    const missing = join(scratch.dir, 'x', 'nonexistent');
    const result = await runLabcast(['record', '--frames', '2', ...FAST, ...ANY_PORT, '--out', `${missing}/`]);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /--out: folder .*nonexistent does not exist/);
    assert.equal(existsSync(join(scratch.dir, 'x')), false);

    const parentThere = join(scratch.dir, 'runs');
    const second = await runLabcast(['record', '--frames', '2', ...FAST, ...ANY_PORT, '--out', `${parentThere}/`]);
    assert.equal(second.code, 2, second.stdout + second.stderr);
    assert.deepEqual(readdirSync(scratch.dir), [], 'no file named "runs"');
  });

  test('a trailing "/" on an existing file is refused, the file kept', async () => {
    const file = join(scratch.dir, 'plain');
    writeFileSync(file, 'keep me');
    const result = await runLabcast(['record', '--frames', '2', ...FAST, ...ANY_PORT, '--out', `${file}/`, '--overwrite']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /names a folder, but .*plain is a file/);
  });

  test('an existing folder with a trailing "/" gets a numbered file', async () => {
    const dir = join(scratch.dir, 'there');
    mkdirSync(dir);
    const result = await runLabcast(['record', '--frames', '2', ...FAST, ...ANY_PORT, '--out', `${dir}/`]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readdirSync(dir), ['run_0001.h5']);
  });

  test('a folder where files cannot be created (/proc, even for root) is exit 2, named, no process started', async () => {
    const result = await runLabcast(['record', '--frames', '2', ...FAST, ...ANY_PORT, '--out', '/proc/x.h5']);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /^labcast: --out: \/proc\/x\.h5 cannot be created: /m);
    assert.equal(result.stdout, '', 'no summary: nothing ran');
    assert.doesNotMatch(result.stderr, /recording|frames/);
  });
});

describe('help and snap', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('help for an unknown topic is an error with the closest command', async () => {
    const typo = await runLabcast(['help', 'recrod']);
    assert.equal(typo.code, 2);
    assert.equal(typo.stdout, '');
    assert.match(typo.stderr, /no command "recrod" \(did you mean "record"\?\)/);
    const nope = await runLabcast(['help', 'nope']);
    assert.equal(nope.code, 2);
    assert.match(nope.stderr, /no command "nope"; the commands: record, snap, inspect/);
    const unknown = await runLabcast(['inspcet', 'x.h5']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "inspcet" \(did you mean "inspect"\?\)/);
  });

  test('help snap is the help of snap, which general help lists', async () => {
    const help = await runLabcast(['help', 'snap']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: labcast snap/);
    const general = await runLabcast(['help']);
    assert.match(general.stdout, /^ {2}snap +take one frame/m);
  });

  test('snap writes one frame into its own file without a server', async () => {
    const out = join(scratch.dir, 'one.h5');
    const result = await runLabcast(['snap', '--out', out, '--width', '80', '--height', '60', '--brightness', '-5']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Snapped ${out} \\(run [0-9a-f-]+\\)\\n$`));
    const read = await runPython(READ_SETTINGS, [out]);
    assert.equal(read.code, 0, read.stderr);
    const file = JSON.parse(read.stdout) as { frames: number; brightness: number };
    assert.equal(file.frames, 1);
    assert.equal(file.brightness, -5);
  });

  test('snap refuses run-length flags and an existing file', async () => {
    const frames = await runLabcast(['snap', '--frames', '3', '--out', join(scratch.dir, 'no.h5')]);
    assert.equal(frames.code, 2);
    assert.match(frames.stderr, /Unknown option '--frames'/);
    const existing = join(scratch.dir, 'kept.h5');
    writeFileSync(existing, 'not a recording');
    const again = await runLabcast(['snap', '--out', existing]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists; pass --overwrite/);
  });
});

describe('inspect', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('an ffmpeg camera is shown with one pair of brackets', async () => {
    const out = join(scratch.dir, 'lavfi.h5');
    const run = await runLabcast(['record', '--camera', 'lavfi:testsrc2=size=64x48:rate=30', '--frames', '2', '--out', out, ...ANY_PORT]);
    assert.equal(run.code, 0, run.stderr);
    const shown = await runLabcast(['inspect', out]);
    assert.equal(shown.code, 0, shown.stderr);
    const camera = /^camera +(.*)$/m.exec(shown.stdout)?.[1];
    assert.match(camera ?? '', /^lavfi \(lavfi testsrc2=size=64x48:rate=30, 64x48 \w+ as rgb24\)$/);
  });
});
