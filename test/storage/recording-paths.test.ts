import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load-config.js';
import type { LabcastConfigInput, StorageConfig } from '../../src/config/schema.js';
import { LabcastError, type ErrorCode } from '../../src/protocol/errors.js';
import { nextRunFileName } from '../../src/storage/output-path.js';
import { nextRecordingPath, resolveRequestedPath } from '../../src/storage/recording-paths.js';
import { scratchDir } from '../helpers/processes.js';

const scratch = scratchDir('labcast-paths-');
after(() => scratch.cleanup());

const RUN_ID = '3f2a9c1e-7b44-4d0e-9a51-0c8e2f6b1d23';
// Local time, as the naming placeholders are.
const NOW = new Date(2024, 2, 5, 14, 7, 9);

let folderCount = 0;
/** A fresh folder: [lab folder, storage config whose data_dir is lab/data]. */
function lab(storage: LabcastConfigInput['storage'] = {}): { root: string; storage: StorageConfig } {
  const root = join(scratch.dir, `lab-${++folderCount}`);
  mkdirSync(root);
  return { root, storage: parseConfig({ storage: { data_dir: 'data', ...storage } }, 'test', root).storage };
}

function assertRefused(run: () => unknown, code: ErrorCode, ...patterns: RegExp[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof LabcastError, `expected a LabcastError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

describe('nextRecordingPath', () => {
  test('creates data_dir and numbers from 0001', () => {
    const { root, storage } = lab();
    assert.equal(nextRecordingPath(storage, RUN_ID, NOW), join(root, 'data', 'run_0001.h5'));
    assert.ok(existsSync(join(root, 'data')));
  });

  test('continues after the highest existing number, not after the count of files', () => {
    const { storage } = lab();
    mkdirSync(storage.data_dir);
    for (const name of ['run_0002.h5', 'run_0041.h5', 'run_12345.h5.bak', 'other_9999.h5', 'run_7.h5']) {
      writeFileSync(join(storage.data_dir, name), '');
    }
    assert.equal(nextRecordingPath(storage, RUN_ID, NOW), join(storage.data_dir, 'run_0042.h5'));
  });

  test('numbers past 9999 keep growing', () => {
    const { storage } = lab();
    mkdirSync(storage.data_dir);
    writeFileSync(join(storage.data_dir, 'run_9999.h5'), '');
    assert.equal(nextRecordingPath(storage, RUN_ID, NOW), join(storage.data_dir, 'run_10000.h5'));
  });

  test('fills {date}, {time} and {run}, adding .h5 to a pattern without extension', () => {
    const { storage } = lab({ naming: 'scan_{date}_{time}_{run}' });
    assert.equal(nextRecordingPath(storage, RUN_ID, NOW), join(storage.data_dir, 'scan_2024-03-05_140709_3f2a9c1e.h5'));
  });

  test('{n} counts across days in one folder: whatever the date in the name', () => {
    const { storage } = lab({ naming: '{date}_{n}.h5' });
    mkdirSync(storage.data_dir);
    writeFileSync(join(storage.data_dir, '2024-03-04_0007.h5'), '');
    assert.equal(nextRecordingPath(storage, RUN_ID, NOW), join(storage.data_dir, '2024-03-05_0008.h5'));
  });

  test('date folders are created, and numbering starts again in each', () => {
    const { storage } = lab({ date_folders: true });
    mkdirSync(join(storage.data_dir, '2024-03-04'), { recursive: true });
    writeFileSync(join(storage.data_dir, '2024-03-04', 'run_0005.h5'), '');
    const first = nextRecordingPath(storage, RUN_ID, NOW);
    assert.equal(first, join(storage.data_dir, '2024-03-05', 'run_0001.h5'));
    writeFileSync(first, '');
    assert.equal(nextRecordingPath(storage, RUN_ID, NOW), join(storage.data_dir, '2024-03-05', 'run_0002.h5'));
  });

  test('a run id with characters unfit for a file name is made safe', () => {
    const { storage } = lab({ naming: 'run_{run}.h5' });
    assert.equal(nextRecordingPath(storage, 'a/b:c d..', NOW), join(storage.data_dir, 'run_a_b_c_d_.h5'));
  });

  test('an auto-named file never replaces one, even with overwrite on', () => {
    const { storage } = lab({ naming: '{time}.h5', overwrite: true });
    mkdirSync(storage.data_dir);
    writeFileSync(join(storage.data_dir, '140709.h5'), 'earlier recording');
    assertRefused(
      () => nextRecordingPath(storage, RUN_ID, NOW),
      'OUTPUT_EXISTS',
      /140709\.h5 already exists; add \{n\} to storage\.naming/,
    );
  });

  test('a data_dir that cannot be created is OUTPUT_UNWRITABLE', () => {
    const { root } = lab();
    writeFileSync(join(root, 'file'), '');
    const storage = parseConfig({ storage: { data_dir: 'file/data' } }, 'test', root).storage;
    assertRefused(() => nextRecordingPath(storage, RUN_ID, NOW), 'OUTPUT_UNWRITABLE', /cannot create the recording folder/);
  });

  test('nextRunFileName (labcast record --out DIR) keeps its numbering', () => {
    const { root } = lab();
    assert.equal(nextRunFileName(root), 'run_0001.h5');
    writeFileSync(join(root, 'run_0003.h5'), '');
    writeFileSync(join(root, 'notes.txt'), '');
    assert.equal(nextRunFileName(root), 'run_0004.h5');
  });
});

describe('resolveRequestedPath', () => {
  test('a name lands in data_dir, with .h5 added when it has no extension', () => {
    const { storage } = lab();
    assert.equal(resolveRequestedPath(storage, 'beads'), join(storage.data_dir, 'beads.h5'));
    assert.equal(resolveRequestedPath(storage, 'beads.hdf5'), join(storage.data_dir, 'beads.hdf5'));
  });

  test('a relative path makes its folders inside data_dir', () => {
    const { storage } = lab();
    assert.equal(resolveRequestedPath(storage, 'mouse-3/day-1/take.h5'), join(storage.data_dir, 'mouse-3', 'day-1', 'take.h5'));
    assert.ok(existsSync(join(storage.data_dir, 'mouse-3', 'day-1')));
  });

  test('.. that stays inside is folded away; .. that leaves is refused', () => {
    const { root, storage } = lab();
    assert.equal(resolveRequestedPath(storage, 'a/../b.h5'), join(storage.data_dir, 'b.h5'));
    assertRefused(
      () => resolveRequestedPath(storage, '../escape.h5', 'path'),
      'PATH_OUTSIDE_DATA_DIR',
      /^path: \.\.\/escape\.h5 leads outside the data directory/,
    );
    assertRefused(() => resolveRequestedPath(storage, 'a/../../../escape.h5'), 'PATH_OUTSIDE_DATA_DIR');
    assert.deepEqual(readdirSync(root), ['data']);
  });

  test('an absolute path outside data_dir is refused unless the config allows it', () => {
    const { root, storage } = lab();
    const elsewhere = join(root, 'elsewhere.h5');
    assertRefused(() => resolveRequestedPath(storage, elsewhere), 'PATH_OUTSIDE_DATA_DIR', /storage\.allow_absolute_paths: true/);
    const allowed = parseConfig({ storage: { data_dir: 'data', allow_absolute_paths: true } }, 'test', root).storage;
    assert.equal(resolveRequestedPath(allowed, elsewhere), elsewhere);
  });

  test('an allowed absolute path still needs an existing folder: labcast creates none outside data_dir', () => {
    const { root } = lab();
    const allowed = parseConfig({ storage: { data_dir: 'data', allow_absolute_paths: true } }, 'test', root).storage;
    assertRefused(
      () => resolveRequestedPath(allowed, join(root, 'missing', 'x.h5')),
      'OUTPUT_UNWRITABLE',
      /directory .*missing does not exist/,
    );
    assert.equal(existsSync(join(root, 'missing')), false);
  });

  test('an absolute path inside data_dir is fine: it does not escape', () => {
    const { storage } = lab();
    assert.equal(resolveRequestedPath(storage, join(storage.data_dir, 'inside.h5')), join(storage.data_dir, 'inside.h5'));
  });

  test('a symlinked folder pointing outside data_dir is refused', () => {
    const { root, storage } = lab();
    mkdirSync(storage.data_dir);
    mkdirSync(join(root, 'outside'));
    symlinkSync(join(root, 'outside'), join(storage.data_dir, 'shared'));
    assertRefused(() => resolveRequestedPath(storage, 'shared/x.h5'), 'PATH_OUTSIDE_DATA_DIR', /through a symbolic link/);
    assertRefused(() => resolveRequestedPath(storage, 'shared/deeper/x.h5'), 'PATH_OUTSIDE_DATA_DIR');
    assert.deepEqual(readdirSync(join(root, 'outside')), []);
  });

  test('a symlinked file pointing outside data_dir is refused, even when its target does not exist yet', () => {
    const { root, storage } = lab({ overwrite: true });
    mkdirSync(storage.data_dir);
    writeFileSync(join(root, 'precious.h5'), 'keep');
    symlinkSync(join(root, 'precious.h5'), join(storage.data_dir, 'link.h5'));
    symlinkSync(join(root, 'not-yet.h5'), join(storage.data_dir, 'dangling.h5'));
    assertRefused(() => resolveRequestedPath(storage, 'link.h5'), 'PATH_OUTSIDE_DATA_DIR', /resolves to .*precious\.h5/);
    assertRefused(() => resolveRequestedPath(storage, 'dangling.h5'), 'PATH_OUTSIDE_DATA_DIR', /resolves to .*not-yet\.h5/);
  });

  test('symlinks that stay inside data_dir are followed', () => {
    const { storage } = lab();
    mkdirSync(join(storage.data_dir, 'real'), { recursive: true });
    symlinkSync(join(storage.data_dir, 'real'), join(storage.data_dir, 'alias'));
    assert.equal(resolveRequestedPath(storage, 'alias/x.h5'), join(storage.data_dir, 'alias', 'x.h5'));
  });

  test('a data_dir that is itself a symlink is the place files go', () => {
    const { root } = lab();
    mkdirSync(join(root, 'big-disk'));
    symlinkSync(join(root, 'big-disk'), join(root, 'data'));
    const storage = parseConfig({ storage: { data_dir: 'data' } }, 'test', root).storage;
    assert.equal(resolveRequestedPath(storage, 'x.h5'), join(root, 'data', 'x.h5'));
  });

  test('an existing file is refused unless storage.overwrite', () => {
    const { root, storage } = lab();
    mkdirSync(storage.data_dir);
    writeFileSync(join(storage.data_dir, 'taken.h5'), 'earlier');
    assertRefused(
      () => resolveRequestedPath(storage, 'taken.h5'),
      'OUTPUT_EXISTS',
      /taken\.h5 already exists; set storage\.overwrite: true/,
    );
    const replacing = parseConfig({ storage: { data_dir: 'data', overwrite: true } }, 'test', root).storage;
    assert.equal(resolveRequestedPath(replacing, 'taken.h5'), join(storage.data_dir, 'taken.h5'));
  });

  test('a folder where the file should be, an empty name and a trailing slash are refused', () => {
    const { storage } = lab();
    mkdirSync(join(storage.data_dir, 'taken.h5'), { recursive: true });
    assertRefused(() => resolveRequestedPath(storage, 'taken.h5'), 'OUTPUT_UNWRITABLE', /is a directory/);
    assertRefused(() => resolveRequestedPath(storage, '  '), 'BAD_ARGUMENT');
    assertRefused(() => resolveRequestedPath(storage, 'sub/'), 'BAD_ARGUMENT', /names a folder/);
  });
});
