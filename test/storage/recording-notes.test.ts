import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextNumberedFileName } from '../../src/storage/output-path.js';
import { fileNamePart, withNameInPath } from '../../src/storage/recording-notes.js';
import { scratchDir } from '../helpers/processes.js';

test('a recording name becomes a safe part of a file name', () => {
  assert.equal(fileNamePart('Bead test #3 (ø 1 µm)'), 'Bead-test-3-1-m');
  assert.equal(fileNamePart('../../etc/passwd'), 'etc-passwd');
  assert.equal(fileNamePart('Café déjà vu'), 'Cafe-deja-vu');
  assert.equal(fileNamePart('   '), '');
  assert.equal(fileNamePart('x'.repeat(300)).length, 60);
  assert.equal(withNameInPath('/data/run_0003.h5', 'Bead test'), '/data/run_0003_Bead-test.h5');
  assert.equal(withNameInPath('/data/run_0003.h5', '###'), '/data/run_0003.h5', 'nothing usable: the numbered name alone');
});

test('numbering counts named files: the next number is above run_0004_Bead-test.h5', () => {
  const scratch = scratchDir();
  try {
    writeFileSync(join(scratch.dir, 'run_0001.h5'), '');
    writeFileSync(join(scratch.dir, 'run_0004_Bead-test.h5'), '');
    assert.equal(nextNumberedFileName(scratch.dir, 'run_{n}'), 'run_0005.h5');
  } finally {
    scratch.cleanup();
  }
});
