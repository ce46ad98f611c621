import { basename } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspectRecording } from '../../src/hdf5/file-inspector.js';
import { InProcessExperiment } from '../helpers/in-process-experiment.js';
import { runPython } from '../helpers/processes.js';

const TITLE_AND_NOTES = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    e = f["entry"]
    print(json.dumps([e["title"].asstr()[()] if "title" in e else None, [e[k]["data"].asstr()[()] for k in sorted(e) if k.startswith("note_")]]))
`;

test('record with a name and note: both in the file once it is closed, the name in its file name', async () => {
  const experiment = await InProcessExperiment.start();
  try {
    await experiment.controller.handle({ cmd: 'record', frames: 10, name: 'dark frame', note: 'lens cap on' });
    const done = await experiment.waitFor((s) => s.state === 'idle' && s.last_recording !== null);
    const info = done.last_recording!;
    assert.equal(basename(info.path!), 'run_0001_dark-frame.h5');
    assert.equal(info.note_error, undefined);
    const read = await runPython(TITLE_AND_NOTES, [info.path!]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(JSON.parse(read.stdout), ['dark frame', ['lens cap on']]);
  } finally {
    await experiment.close();
  }
});

test('a saver that dies leaves its file alone: the name and note are reported as not stored, the frames kept', async () => {
  const experiment = await InProcessExperiment.start();
  try {
    await experiment.controller.handle({ cmd: 'record', name: 'doomed', note: 'never closed' });
    await experiment.waitFor((s) => s.frames.saved > 10);
    await experiment.saver!.kill();
    const failed = await experiment.waitFor((s) => s.state === 'error' && s.last_recording !== null);
    const info = failed.last_recording!;
    assert.match(info.note_error ?? '', /the saver did not close the file/);
    assert.equal((await inspectRecording(info.path!)).frameCount, info.frames_written);
    const read = await runPython(TITLE_AND_NOTES, [info.path!]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(JSON.parse(read.stdout), [null, []]);
  } finally {
    await experiment.close();
  }
});
