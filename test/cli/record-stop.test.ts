import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  childProcessesOf,
  collect,
  delay,
  isAlive,
  runLabcast,
  runPython,
  scratchDir,
  startLabcast,
  waitForOutput,
} from '../helpers/processes.js';

const COUNT_FRAMES = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    print(json.dumps({
        "frames": f["entry/data/frames"].shape[0],
        "ids": f["entry/data/frame_id"][:].tolist(),
        "gaps": f["entry/acquisition/gaps"][:].tolist(),
        "dropped": int(f["entry/acquisition/frames_dropped"][()]),
        "acquired": int(f["entry/acquisition/frames_acquired"][()]),
    }))
`;

interface Counted {
  frames: number;
  ids: number[];
  gaps: [number, number][];
  dropped: number;
  acquired: number;
}

async function readCounts(path: string): Promise<Counted> {
  const read = await runPython(COUNT_FRAMES, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as Counted;
}

describe('stopping and overload', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('Ctrl-C stops, drains and closes a valid file, and says how many frames it holds', async () => {
    const out = join(scratch.dir, 'interrupted.h5');
    const child = startLabcast([
      'record',
      '--fps',
      '100',
      '--width',
      '128',
      '--height',
      '96',
      '--out',
      out,
      '--publish',
      'tcp://127.0.0.1:*',
    ]);
    const finished = collect(child);
    await waitForOutput(child, /recording (\d+) frames/, (m) => Number(m[1]) >= 20);
    const children = await childProcessesOf(child.pid!, 'labcast-');
    assert.equal(children.length, 2, 'an acquisition and a saver process');
    child.kill('SIGINT');
    const result = await finished;
    assert.equal(result.code, 0, result.stderr);
    const match = /frames written\s+(\d+) of (\d+) acquired/.exec(result.stdout);
    assert.ok(match, result.stdout);
    const written = Number(match[1]);
    assert.ok(written > 10, `expected a good number of frames, got ${written}`);
    assert.equal(match[2], match[1]);
    assert.match(result.stdout, /\(stopped\)/);
    const file = await readCounts(out);
    assert.equal(file.frames, written);
    assert.deepEqual(
      file.ids,
      Array.from({ length: written }, (_, i) => i),
    );
    assert.deepEqual(children.filter(isAlive), [], 'the acquisition and saver processes ended with it');
  });

  test('an overloaded saver loses frames only at the counted buffer: summary, file and exit code agree', async () => {
    const out = join(scratch.dir, 'overloaded.h5');
    const result = await runLabcast(
      [
        'record',
        '--frames',
        '120',
        '--fps',
        '200',
        '--width',
        '256',
        '--height',
        '256',
        '--buffer-mb',
        '0.5',
        '--out',
        out,
        '--publish',
        'tcp://127.0.0.1:*',
        '--json',
      ],
      { LABCAST_TEST_SAVER_DELAY_MS: '25' },
    );
    assert.equal(result.code, 3, `frames were lost, so the exit code says so\n${result.stderr}`);
    const summary = JSON.parse(result.stdout) as {
      framesLost: number;
      framesWritten: number;
      framesAcquired: number;
      gaps: [number, number][];
    };
    assert.equal(summary.framesAcquired, 120);
    assert.ok(summary.framesLost > 0, 'the saver was slowed enough to force drops');
    assert.equal(summary.framesWritten + summary.framesLost, 120);

    const file = await readCounts(out);
    assert.equal(file.frames, summary.framesWritten);
    assert.equal(file.dropped, summary.framesLost);
    assert.equal(file.acquired, 120);
    assert.deepEqual(file.gaps, summary.gaps);
    assert.equal(
      file.gaps.reduce((n, [, count]) => n + count, 0),
      summary.framesLost,
    );
    // Every id is either in the file or in a gap, exactly once.
    const missing = new Set(file.gaps.flatMap(([first, count]) => Array.from({ length: count }, (_, i) => first + i)));
    for (const id of file.ids) assert.ok(!missing.has(id));
    assert.equal(file.ids.length + missing.size, 120);
  });

  test('with fps 0 the camera waits for the saver instead of dropping', async () => {
    const out = join(scratch.dir, 'paced.h5');
    const result = await runLabcast(
      [
        'record',
        '--frames',
        '60',
        '--fps',
        '0',
        '--width',
        '256',
        '--height',
        '256',
        '--buffer-mb',
        '0.5',
        '--out',
        out,
        '--publish',
        'tcp://127.0.0.1:*',
      ],
      { LABCAST_TEST_SAVER_DELAY_MS: '10' },
    );
    assert.equal(result.code, 0, result.stderr);
    const file = await readCounts(out);
    assert.equal(file.frames, 60);
    assert.deepEqual(file.gaps, []);
  });
});

describe('when labcast record itself is killed', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  test('SIGKILL of the supervisor: its children finish the file and exit, leaving no orphans', async () => {
    const out = join(scratch.dir, 'orphaned.h5');
    const child = startLabcast([
      'record',
      '--fps',
      '50',
      '--width',
      '128',
      '--height',
      '96',
      '--out',
      out,
      '--publish',
      'tcp://127.0.0.1:*',
    ]);
    const finished = collect(child);
    await waitForOutput(child, /recording (\d+) frames/, (m) => Number(m[1]) >= 20);
    // Past a flush, so the file has frames to keep.
    await delay(1200);
    const children = await childProcessesOf(child.pid!, 'labcast-');
    assert.equal(children.length, 2, 'an acquisition and a saver process');
    child.kill('SIGKILL');
    await finished;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && children.some((pid) => isAlive(pid))) await delay(100);
    assert.deepEqual(children.filter(isAlive), [], 'no orphan is left running');
    const file = await readCounts(out);
    assert.ok(file.frames > 10);
    assert.deepEqual(
      file.ids,
      Array.from({ length: file.frames }, (_, i) => i),
    );
  });
});
