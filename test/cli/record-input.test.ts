import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runLabcast, scratchDir } from '../helpers/processes.js';

const FAST = ['--frames', '5', '--width', '64', '--height', '48', '--fps', '0', '--publish', 'tcp://127.0.0.1:*'];

describe('labcast record refuses bad input before anything starts', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  const refusals: [string, string[], RegExp][] = [
    ['an unknown flag', ['--frobnicate', '3'], /frobnicate/],
    ['a negative width', ['--width', '-5'], /--width/],
    ['a zero height', ['--height', '0'], /--height/],
    ['an impossible size', ['--width', '100000'], /--width/],
    ['a non-numeric frame count', ['--frames', 'many'], /--frames/],
    ['a fractional frame count', ['--frames', '2.5'], /--frames/],
    ['an unknown dtype', ['--dtype', 'float32'], /--dtype/],
    ['an unknown pattern', ['--pattern', 'stars'], /--pattern/],
    ['a malformed endpoint', ['--publish', 'localhost:5555'], /--publish/],
    ['an exposure out of range', ['--exposure', '1e9'], /exposure_ms/],
  ];
  for (const [what, flags, names] of refusals) {
    test(`${what}: exit 2, the flag named, no file`, async () => {
      const dir = join(scratch.dir, what.replace(/\W+/g, '_'));
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dir);
      const result = await runLabcast(['record', ...FAST, '--out', dir, ...flags]);
      assert.equal(result.code, 2, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
      assert.match(result.stderr, names);
      assert.deepEqual(readdirSync(dir), []);
    });
  }

  test('an existing file is kept unless --overwrite', async () => {
    const out = join(scratch.dir, 'kept.h5');
    writeFileSync(out, 'precious');
    const refused = await runLabcast(['record', ...FAST, '--out', out]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already exists.*--overwrite/);
    const replaced = await runLabcast(['record', ...FAST, '--out', out, '--overwrite']);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /frames written\s+5 of 5/);
  });

  test('a directory gets auto-numbered files', async () => {
    const dir = join(scratch.dir, 'numbered');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    for (let i = 0; i < 2; i++) {
      const result = await runLabcast(['record', ...FAST, '--out', dir]);
      assert.equal(result.code, 0, result.stderr);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['run_0001.h5', 'run_0002.h5']);
  });

  test('an unwritable location fails before acquisition starts', async () => {
    const result = await runLabcast(['record', ...FAST, '--out', join(scratch.dir, 'no-such-dir', 'x.h5')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--out: directory .*no-such-dir does not exist/);
    assert.equal(existsSync(join(scratch.dir, 'no-such-dir')), false);
  });

  test('an unknown command exits 2', async () => {
    const result = await runLabcast(['recrod']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command "recrod"/);
  });
});
