import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLabcastError } from '../../src/protocol/errors.js';
import { formatRecordingSummary } from '../../src/cli/format.js';
import { inspectRecording, type RecordingSummary } from '../../src/hdf5/file-inspector.js';
import { appendFrames, FRAME_PERIOD_NS, h5pyMissing, makeRunEnd, makeRunStart, PYTHON, range, START_NS, tempDir } from './fixtures.js';
import { WRITERS } from './writer-backends.js';

for (const backend of WRITERS) {
  test(`inspectRecording reports what the ${backend.name} writer wrote`, { skip: backend.skip }, async () => {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, 'run.h5');
      const start = makeRunStart({ frames_requested: 12 });
      const writer = await backend.open(path, start, { overwrite: false });
      appendFrames(writer, start, [0, 1, 2, 3, 4, 7, 8, 9]);
      writer.finish(makeRunEnd(start, { reason: 'stopped', frames_acquired: 11, frames_dropped: 2 }));

      const summary = await inspectRecording(path);
      assert.equal(summary.path, path);
      assert.ok(summary.fileBytes > 0);
      assert.equal(summary.finished, true);
      assert.equal(summary.frameCount, 8);
      assert.deepEqual(summary.frameShape, [6, 8]);
      assert.equal(summary.dtype, 'uint16');
      assert.equal(summary.firstFrameId, 0);
      assert.equal(summary.lastFrameId, 9);
      assert.equal(summary.durationS, Number(9n * FRAME_PERIOD_NS) / 1e9);
      assert.ok(Math.abs((summary.fps ?? 0) - 100) < 1e-9, `fps ${summary.fps}`);
      assert.deepEqual(summary.gaps, [
        [5, 2],
        [10, 1],
      ]);
      assert.equal(summary.missingFrames, 3);
      assert.deepEqual(summary.acquisition, {
        framesRequested: 12,
        durationRequestedS: null,
        framesAcquired: 11,
        framesDropped: 2,
        framesWritten: 8,
        endReason: 'stopped',
        error: null,
      });
      assert.deepEqual(summary.camera, { driver: start.camera.driver, model: start.camera.model, settings: start.camera.settings });
      assert.deepEqual(summary.provenance, {
        labcastVersion: '0.1.0-test',
        nodeVersion: process.version,
        host: 'test-host',
        runId: 'run-test-1',
        startTime: '2024-05-01T12:51:30.123456789Z',
        endTime: '2024-05-01T12:51:35.123456789Z',
        startTimeNs: START_NS,
        endTimeNs: START_NS + 5_000_000_000n,
        config: start.config,
        hdf5Writer: summary.provenance.hdf5Writer,
      });
      assert.match(summary.provenance.hdf5Writer ?? '', new RegExp(`^${backend.name} `));
      assert.match(formatRecordingSummary(summary), new RegExp(`^hdf5 writer +${backend.name} `, 'm'));
    } finally {
      remove();
    }
  });

  test(`a file with fewer than two frames has no duration or fps (${backend.name} writer)`, { skip: backend.skip }, async () => {
    const { dir, remove } = tempDir();
    try {
      const path = join(dir, 'one.h5');
      const start = makeRunStart();
      const writer = await backend.open(path, start, { overwrite: false });
      appendFrames(writer, start, [0]);
      writer.finish(null);
      const summary = await inspectRecording(path);
      assert.equal(summary.frameCount, 1);
      assert.equal(summary.durationS, null);
      assert.equal(summary.fps, null);
      assert.equal(summary.acquisition.endReason, 'unknown');
      assert.equal(summary.acquisition.framesAcquired, null);
      assert.match(formatRecordingSummary(summary), /^duration {3,}n\/a/m);
    } finally {
      remove();
    }
  });
}

function expectFileFormatError(path: string, message: RegExp): Promise<void> {
  return assert.rejects(inspectRecording(path), (error: unknown) => {
    assert.ok(isLabcastError(error));
    assert.equal(error.code, 'FILE_FORMAT');
    assert.ok(error.message.includes(path), error.message);
    assert.match(error.message, message);
    return true;
  });
}

test('a missing file, a directory and a non-HDF5 file are FILE_FORMAT errors naming the path', async () => {
  const { dir, remove } = tempDir();
  try {
    await expectFileFormatError(join(dir, 'nope.h5'), /no such file/);
    await expectFileFormatError(dir, /not a file/);
    const text = join(dir, 'notes.h5');
    writeFileSync(text, 'this is not HDF5\n');
    await expectFileFormatError(text, /not a readable HDF5 file/);
  } finally {
    remove();
  }
});

test('an HDF5 file that labcast did not write is a FILE_FORMAT error', { skip: h5pyMissing() }, async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'foreign.h5');
    const made = spawnSync(PYTHON, ['-c', 'import sys, h5py\nwith h5py.File(sys.argv[1], "w") as f: f["x"] = [1, 2, 3]', path], {
      encoding: 'utf8',
    });
    assert.equal(made.status, 0, made.stderr);
    await expectFileFormatError(path, /not a labcast recording/);
  } finally {
    remove();
  }
});

test("inspect shows the recording's title and its notes, oldest first; none without them", () => {
  const plain = formatRecordingSummary(sampleSummary());
  assert.ok(!/^(title|note \d+) /m.test(plain), 'no title or note lines without them');
  const text = formatRecordingSummary(
    sampleSummary({
      title: 'Bead test 3',
      notes: [
        { name: 'note_001', date: '2026-12-01T06:00:00.000Z', text: 'focus at 12.5 µm' },
        { name: 'note_002', date: null, text: 'drift after frame 400' },
      ],
    }),
  );
  assert.equal(valueOf(text, 'title'), 'Bead test 3');
  assert.equal(valueOf(text, 'note 001'), 'focus at 12.5 µm (2026-12-01T06:00:00.000Z)');
  assert.equal(valueOf(text, 'note 002'), 'drift after frame 400 (undated)');
  assert.ok(text.indexOf('note 001') < text.indexOf('note 002'));
});

function sampleSummary(overrides: Partial<RecordingSummary> = {}): RecordingSummary {
  return {
    path: '/data/run_0001.h5',
    fileBytes: 1_048_600_000,
    finished: true,
    writer: null,
    frameCount: 500,
    frameShape: [1024, 1024],
    dtype: 'uint16',
    firstFrameId: 0,
    lastFrameId: 499,
    durationS: 4.99,
    fps: 100,
    gaps: [],
    missingFrames: 0,
    acquisition: {
      framesRequested: 500,
      durationRequestedS: null,
      framesAcquired: 500,
      framesDropped: 0,
      framesWritten: 500,
      endReason: 'completed',
      error: null,
    },
    camera: { driver: 'sim', model: 'simulated', settings: { exposure_ms: 10, pattern: 'particles' } },
    provenance: {
      labcastVersion: '0.1.0',
      nodeVersion: 'v20.20.2',
      host: 'lab-pc',
      runId: 'r1',
      startTime: '2024-05-01T12:51:30.123456789Z',
      endTime: '2024-05-01T12:51:35.123456789Z',
      startTimeNs: START_NS,
      endTimeNs: START_NS + 5_000_000_000n,
      config: { camera: { driver: 'sim' }, t_ns: START_NS },
      hdf5Writer: 'native (libhdf5 1.10.8)',
    },
    analysis: [],
    truthRows: null,
    compression: null,
    title: null,
    notes: [],
    ...overrides,
  };
}

function valueOf(text: string, label: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${label} `));
  assert.ok(line !== undefined, `no "${label}" line in:\n${text}`);
  return line.slice(label.length).trim();
}

test('formatRecordingSummary prints aligned label/value lines', () => {
  const text = formatRecordingSummary(sampleSummary());
  assert.ok(text.endsWith('\n'));
  const lines = text.trimEnd().split('\n');
  const valueColumns = new Set(lines.map((line) => /^\S+(?: \S+)*\s{2,}/.exec(line)?.[0].length));
  assert.equal(valueColumns.size, 1, `values start in one column:\n${text}`);
  assert.ok(!valueColumns.has(undefined));

  assert.equal(valueOf(text, 'file'), '/data/run_0001.h5 (1.0 GB)');
  assert.equal(valueOf(text, 'frames'), '500 x [1024 x 1024] uint16');
  assert.equal(valueOf(text, 'frame ids'), '0 .. 499');
  assert.equal(valueOf(text, 'duration'), '4.990 s');
  assert.equal(valueOf(text, 'fps'), '100.00');
  assert.equal(valueOf(text, 'gaps'), 'none');
  assert.equal(valueOf(text, 'end reason'), 'completed');
  assert.equal(valueOf(text, 'settings'), 'exposure_ms=10, pattern=particles');
  assert.equal(valueOf(text, 'config'), `{"camera":{"driver":"sim"},"t_ns":${START_NS}}`);
  assert.ok(!lines.some((line) => line.startsWith('error ')), 'no error line when there is no error');
});

test('formatRecordingSummary lists the analyses stored with the frames and the ground truth', () => {
  const text = formatRecordingSummary(
    sampleSummary({
      analysis: [
        { name: 'stats', kind: 'stats', results: 174, items: null, itemsTable: null },
        { name: 'spots', kind: 'localize', results: 151, items: 3803, itemsTable: 'spots' },
      ],
      truthRows: 6000,
    }),
  );
  assert.equal(valueOf(text, 'analysis stats'), 'stats: 174 frames analysed (/entry/analysis/stats)');
  assert.equal(valueOf(text, 'analysis spots'), 'localize: 151 frames analysed, 3803 spots (/entry/analysis/spots)');
  assert.equal(valueOf(text, 'ground truth'), '6000 rows, one per frame and particle (/entry/instrument/simulation/truth)');
  assert.ok(!/^(analysis|ground truth) /m.test(formatRecordingSummary(sampleSummary())), 'no such lines without them');
});

test('formatRecordingSummary shows the codec, the bytes in and out and the ratio', () => {
  assert.equal(valueOf(formatRecordingSummary(sampleSummary()), 'compression'), 'none');
  const text = formatRecordingSummary(
    sampleSummary({
      compression: {
        codec: 'zstd',
        level: 3,
        filterId: 32001,
        filterValues: [2, 2, 2, 2097152, 3, 2, 5],
        bytesIn: 1_048_576_000,
        bytesOut: 419_430_400,
        ratio: 2.5,
      },
    }),
  );
  assert.equal(valueOf(text, 'compression'), 'zstd level 3 (HDF5 filter 32001): 1.0 GB of frames in 419.4 MB, 2.50x');
});

test('formatRecordingSummary lists gaps as id ranges and shortens long lists', () => {
  const few = formatRecordingSummary(
    sampleSummary({
      gaps: [
        [5, 2],
        [10, 1],
      ],
      missingFrames: 3,
    }),
  );
  assert.equal(valueOf(few, 'gaps'), '5-6, 10 (3 frames missing in 2 gaps)');

  const many = formatRecordingSummary(sampleSummary({ gaps: range(0, 13).map((i) => [i * 10, 1] as const), missingFrames: 13 }));
  assert.equal(valueOf(many, 'gaps'), '0, 10, 20, 30, 40, 50, 60, 70, 80, 90, ... and 3 more (13 frames missing in 13 gaps)');
});

test('formatRecordingSummary says when a file was not finished and what is unknown', () => {
  const text = formatRecordingSummary(
    sampleSummary({
      finished: false,
      acquisition: {
        framesRequested: null,
        durationRequestedS: null,
        framesAcquired: null,
        framesDropped: null,
        framesWritten: 500,
        endReason: null,
        error: null,
      },
      provenance: { ...sampleSummary().provenance, endTime: null, endTimeNs: null },
    }),
  );
  assert.match(valueOf(text, 'status'), /NOT FINISHED/);
  assert.equal(valueOf(text, 'requested'), 'until stopped');
  assert.match(valueOf(text, 'acquired'), /^unknown/);
  assert.match(valueOf(text, 'end reason'), /not finished/);
  assert.equal(valueOf(text, 'end time'), 'unknown');
});

test('formatRecordingSummary shows the error of a failed run and truncates a long config', () => {
  const longConfig = { notes: 'x'.repeat(500) };
  const text = formatRecordingSummary(
    sampleSummary({
      acquisition: { ...sampleSummary().acquisition, endReason: 'error', error: 'camera unplugged' },
      provenance: { ...sampleSummary().provenance, config: longConfig },
    }),
  );
  assert.equal(valueOf(text, 'error'), 'camera unplugged');
  assert.match(valueOf(text, 'config'), /\.\.\. \(512 chars; full text in \/entry@config_json\)$/);
});
