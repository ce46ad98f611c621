import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, delay, runLabcast, scratchDir, startLabcast, type Finished } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { readFileCounts as readSavedFile } from './file-counts.js';

/** A `labcast save` process, with its output as it comes. */
function startSaver(args: string[]): { child: ChildProcess; finished: Promise<Finished>; stderr(): string } {
  const child = startLabcast(['save', ...args]);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, finished: collect(child), stderr: () => stderr };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

describe('saver.mode remote with `labcast save` (loopback)', () => {
  const scratch = scratchDir();
  const savedDir = join(scratch.dir, 'elsewhere');
  let serve: RunningServe;
  let record: string;
  const savers: ChildProcess[] = [];

  before(async () => {
    serve = await startServe(scratch.dir, { fps: 100 }, { saver: { mode: 'remote', remote_timeout_s: 1.5 } });
    record = (JSON.parse(readFileSync(join(scratch.dir, 'lab.yaml'), 'utf8')) as { endpoints: { record: string } }).endpoints.record;
  });
  after(async () => {
    for (const saver of savers) saver.kill('SIGKILL');
    await serve?.stop();
    scratch.cleanup();
  });

  test('no remote saver: record fails after saver.remote_timeout_s naming saver.mode and endpoint; back to idle or live', async () => {
    for (const from of ['idle', 'live'] as const) {
      if (from === 'live') assert.equal((await serve.ctl(['live'])).code, 0);
      const started = Date.now();
      const refused = await serve.ctl(['record', '--frames', '10']);
      const waited = Date.now() - started;
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        new RegExp(
          `saver\\.mode is remote, but no remote saver connected to the record endpoint ` +
            `${record.replace(/\./g, '\\.')} \\(endpoints\\.record\\) within 1\\.5 s \\(saver\\.remote_timeout_s\\); ` +
            `start one .*labcast save --connect`,
        ),
      );
      assert.ok(waited >= 1400 && waited < 8000, `waited ${waited} ms`);
      const status = await serve.waitFor((s) => s.state === from);
      assert.equal(status.error, null);
    }
    assert.equal((await serve.ctl(['stop'])).code, 0);
    const named = await serve.ctl(['record', '--frames', '10', '--out', 'mine.h5']);
    assert.equal(named.code, 2);
    assert.match(named.stderr, /saver\.mode is remote: the remote saver \(labcast save --out DIR\) names the files/);
  });

  test('a connected `labcast save` gets every run as its own complete file; status says a remote saver saves', async () => {
    const saver = startSaver(['--connect', record, '--out', savedDir, '--json']);
    savers.push(saver.child);
    await until('the saver to start', () => /waiting for runs/.test(saver.stderr()));
    for (const frames of [60, 25]) {
      const started = await serve.ctl(['record', '--frames', String(frames)]);
      assert.equal(started.code, 0, started.stderr);
      const during = started.result as { processes: { role: string; title: string; pid: number | null }[]; file: string | null };
      assert.deepEqual(
        during.processes.filter((p) => p.role === 'saver').map((p) => [p.title, p.pid]),
        [[`remote saver on ${record}`, null]],
      );
      assert.equal(during.file, null, 'the remote saver names its files');
      const done = await serve.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_acquired === frames);
      assert.equal(done.last_recording?.path, null);
      assert.equal(done.last_recording?.saver, `remote saver on ${record}`);
      assert.equal(done.last_recording?.frames_written, frames);
      assert.equal(done.last_recording?.error, null);
    }
    await until('both files', () => readdirSync(savedDir).length === 2);
    const [first, second] = ['run_0001.h5', 'run_0002.h5'].map((name) => join(savedDir, name));
    for (const [path, frames] of [
      [first!, 60],
      [second!, 25],
    ] as const) {
      const file = await readSavedFile(path);
      assert.equal(file.frames, frames);
      assert.deepEqual(
        file.ids,
        Array.from({ length: frames }, (_, i) => i),
      );
      assert.deepEqual(file.gaps, []);
      assert.equal(file.acquired, frames);
      assert.equal(file.end_reason, 'completed');
    }
    saver.child.kill('SIGINT');
    const finished = await saver.finished;
    assert.equal(finished.code, 0, finished.stderr);
    const summaries = finished.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { path: string; framesWritten: number; framesLost: number });
    assert.deepEqual(
      summaries.map((s) => [s.path, s.framesWritten, s.framesLost]),
      [
        [first, 60, 0],
        [second, 25, 0],
      ],
    );
  });

  test('remote saver stops mid-recording: file valid; loss reported after the timeout, every frame counted; reset recovers', async () => {
    const dir = join(scratch.dir, 'interrupted');
    const saver = startSaver(['--connect', record, '--out', dir]);
    savers.push(saver.child);
    await until('the saver to start', () => /waiting for runs/.test(saver.stderr()));
    assert.equal((await serve.ctl(['record'])).code, 0);
    await delay(1000);
    saver.child.kill('SIGTERM');
    const finished = await saver.finished;
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stdout, /the run had not ended when this saver stopped; the file holds every frame received/);
    const written = Number(/frames written +(\d+)/.exec(finished.stdout)?.[1]);
    assert.ok(written > 30, `${written} frames before the stop`);
    const file = await readSavedFile(join(dir, 'run_0001.h5'));
    assert.equal(file.frames, written);
    assert.deepEqual(
      file.ids,
      Array.from({ length: written }, (_, i) => i),
    );
    assert.equal(file.end_reason, 'unknown', 'the file says the run end never reached it');

    const failed = await serve.waitFor((s) => s.state === 'error', 10_000);
    assert.match(failed.error ?? '', /the remote saver on .* disconnected during the recording \(none connected for 1\.5 s\)/);
    const last = failed.last_recording!;
    assert.equal(
      last.frames_written + last.frames_lost,
      last.frames_acquired,
      'every frame acquired is either handed over or counted as lost',
    );
    assert.ok(last.frames_written >= written, `serve handed over ${last.frames_written}; the file holds ${written}`);
    assert.equal(serve.child.exitCode, null);
    assert.equal((await serve.ctl(['reset'])).code, 0);

    const again = startSaver(['--connect', record, '--out', dir]);
    savers.push(again.child);
    await until('the saver to start', () => /waiting for runs/.test(again.stderr()));
    assert.equal((await serve.ctl(['record', '--frames', '20'])).code, 0);
    await serve.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_acquired === 20);
    await until('the second file', () => readdirSync(dir).length === 2);
    again.child.kill('SIGTERM');
    await again.finished;
    const next = await readSavedFile(join(dir, 'run_0002.h5'));
    assert.equal(next.frames, 20);
    assert.deepEqual(next.gaps, []);
  });

  test('labcast save refuses bad input before connecting', async () => {
    const noOut = await runLabcast(['save', '--connect', record]);
    assert.equal(noOut.code, 2);
    assert.match(noOut.stderr, /--out DIR is required/);
    const badNaming = await runLabcast(['save', '--connect', record, '--out', scratch.dir, '--naming', 'same.h5']);
    assert.equal(badNaming.code, 2);
    assert.match(badNaming.stderr, /--naming same\.h5: must contain one of/);
    const badEndpoint = await runLabcast(['save', '--connect', 'http://x', '--out', scratch.dir]);
    assert.equal(badEndpoint.code, 2);
  });
});
