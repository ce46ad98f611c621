import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runLabcast, scratchDir } from '../helpers/processes.js';

const scratch = scratchDir();
after(() => scratch.cleanup());

const FAST = ['--frames', '3', '--width', '64', '--height', '48', '--fps', '0', '--publish', 'tcp://127.0.0.1:*'];

test('a --camera JSON spec with an old camelCase option still records, with a warning naming the new key', async () => {
  const out = join(scratch.dir, 'old-names.h5');
  const result = await runLabcast(['record', '--camera', '{"driver":"sim","particleCount":3}', ...FAST, '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /labcast record: warning: --camera: "particleCount" is deprecated; use "particle_count"/);
  assert.ok(existsSync(out));
  const inspected = await runLabcast(['inspect', '--json', out]);
  assert.equal(inspected.code, 0, inspected.stderr);
  assert.match(inspected.stdout, /"particle_count":3/);
});

test('the snake_case name records without a warning', async () => {
  const out = join(scratch.dir, 'new-names.h5');
  const result = await runLabcast(['record', '--camera', '{"driver":"sim","particle_count":3}', ...FAST, '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /deprecated/);
});
