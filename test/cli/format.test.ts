import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSnap, recordingPlace } from '../../src/cli/format.js';
import type { RecordingInfo } from '../../src/protocol/control.js';

const local: RecordingInfo = {
  path: '/data/run_0001.h5',
  saver: 'labcast-saver',
  run_id: 'r1',
  frames_written: 10,
  frames_acquired: 12,
  frames_lost: 2,
  gaps: [[3, 2]],
  end_reason: 'stopped',
  error: null,
};

test('a recording is shown by its file, or by its saver when a remote saver named the file', () => {
  assert.equal(recordingPlace(local), '/data/run_0001.h5');
  const remote = { ...local, path: null, saver: 'remote saver on tcp://10.0.0.2:5557' };
  assert.equal(recordingPlace(remote), '(file named by the remote saver on tcp://10.0.0.2:5557)');
});

test('a failed snap says how many frames were lost', () => {
  assert.equal(
    formatSnap({ ...local, error: 'disk full' }),
    'Snap failed: /data/run_0001.h5: 10 of 12 frames written, 2 lost (stopped); error: disk full\n',
  );
});
