import { basename } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { execFile } from 'node:child_process';
import { runLabcast, runPython } from '../helpers/processes.js';

function runCommand(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
    );
  });
}
import { serveForSuite } from '../helpers/serve.js';

const READ = `
import sys, json, h5py
with h5py.File(sys.argv[1], "r") as f:
    e = f["entry"]
    notes = sorted(k for k in e.keys() if k.startswith("note_"))
    print(json.dumps({
        "title": e["title"].asstr()[()] if "title" in e else None,
        "notes": [{"name": k, "cls": e[k].attrs["NX_class"], "type": e[k]["type"].asstr()[()],
                   "date": e[k]["date"].asstr()[()], "data": e[k]["data"].asstr()[()]} for k in notes],
        "frames": e["data/frames"].shape[0],
        "ids": e["data/frame_id"][:].tolist(),
        "end_reason": e["acquisition/end_reason"].asstr()[()],
    }))
`;

interface FileNotes {
  title: string | null;
  notes: { name: string; cls: string; type: string; date: string; data: string }[];
  frames: number;
  ids: number[];
  end_reason: string;
}

async function readNotes(path: string): Promise<FileNotes> {
  const read = await runPython(READ, [path]);
  assert.equal(read.code, 0, read.stderr);
  return JSON.parse(read.stdout) as FileNotes;
}

describe('a recording’s name and notes, in its file (ctl, control API, h5py)', () => {
  const suite = serveForSuite({ width: 64, height: 48, fps: 100 });

  test('record --name --note: the name is in the file name and /entry/title, the note an NXnote; notes after close keep the file whole', async () => {
    const serve = suite.serve();
    const recorded = await serve.ctl([
      'record',
      '--frames',
      '30',
      '--name',
      'Bead test #3 (ø 1 µm)',
      '--note',
      'before: fresh sample',
      '--wait',
    ]);
    assert.equal(recorded.code, 0, recorded.stderr);
    const status = await serve.statusNow();
    const path = status.last_recording!.path!;
    assert.equal(basename(path), 'run_0001_Bead-test-3-1-m.h5');
    let file = await readNotes(path);
    assert.equal(file.title, 'Bead test #3 (ø 1 µm)');
    assert.equal(file.notes.length, 1);
    assert.deepEqual(
      { ...file.notes[0], date: '' },
      { name: 'note_001', cls: 'NXnote', type: 'text/plain', date: '', data: 'before: fresh sample' },
    );
    assert.equal(file.frames, 30);

    const added = await serve.ctl(['note', basename(path), 'after: focus drifted near the end']);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(added.result, { path, title: null, note: '/entry/note_002', notes: 2 });
    file = await readNotes(path);
    assert.deepEqual(
      file.notes.map((n) => n.data),
      ['before: fresh sample', 'after: focus drifted near the end'],
    );
    assert.ok(!Number.isNaN(Date.parse(file.notes[1]!.date)));
    // The frames and the account are as they were.
    assert.equal(file.frames, 30);
    assert.deepEqual(
      file.ids,
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(file.end_reason, 'completed');
    // labcast's own reader (h5wasm) and h5dump read it whole as well.
    const inspected = await runLabcast(['inspect', path, '--json']);
    assert.equal(inspected.code, 0, inspected.stderr);
    const summary = JSON.parse(inspected.stdout) as {
      frameCount: number;
      acquisition: { endReason: string; framesWritten: number };
      title: string | null;
      notes: { name: string; text: string }[];
    };
    assert.equal(summary.frameCount, 30);
    assert.equal(summary.acquisition.endReason, 'completed');
    assert.equal(summary.title, 'Bead test #3 (ø 1 µm)');
    assert.deepEqual(
      summary.notes.map((n) => [n.name, n.text]),
      [
        ['note_001', 'before: fresh sample'],
        ['note_002', 'after: focus drifted near the end'],
      ],
    );
    const shown = await runLabcast(['inspect', path]);
    assert.match(shown.stdout, /^title +Bead test #3 \(ø 1 µm\)$/m);
    assert.match(shown.stdout, /^note 002 +after: focus drifted near the end \(20\d\d-/m);
    const dumped = await runCommand('h5dump', ['-A', path]);
    assert.equal(dumped.code, 0, dumped.stderr);
    assert.match(dumped.stdout, /GROUP "note_002"/);

    // The numbering goes on past the named file.
    const next = await serve.ctl(['record', '--frames', '5', '--wait']);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(basename((await serve.statusNow()).last_recording!.path!), 'run_0002.h5');
  });

  test('a note for a file that is not there, or outside the data directory, is refused naming the path', async () => {
    const serve = suite.serve();
    const missing = await serve.ctl(['note', 'no_such_run.h5', 'x']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /path: no recording no_such_run\.h5/);
    const outside = await serve.ctl(['note', '/etc/hostname', 'x']);
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /outside the data directory/);
  });

  test('the file being written takes no note until it is closed', async () => {
    const serve = suite.serve();
    assert.equal((await serve.ctl(['record'])).code, 0);
    const recording: ExperimentStatus = await serve.waitFor((s) => s.state === 'recording' && s.frames.saved > 0);
    const refused = await serve.ctl(['note', recording.file!, 'too early']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /still being written/);
    assert.equal((await serve.ctl(['stop'])).code, 0);
    const late = await serve.ctl(['note', recording.file!, 'after stop']);
    assert.equal(late.code, 0, late.stderr);
    assert.equal((await readNotes(recording.file!)).notes[0]!.data, 'after stop');
  });
});
