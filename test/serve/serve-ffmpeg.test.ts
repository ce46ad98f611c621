import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delay, runPython } from '../helpers/processes.js';
import { serveForSuite } from '../helpers/serve.js';

/** The ffmpeg process whose parent is `pid` (labcast-acquisition → ffmpeg). */
function ffmpegChildOf(pid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'ffmpeg') continue;
      const parent = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
      if (parent !== null && Number(parent[1]) === pid) return Number(entry);
    } catch {
      // Gone while we looked.
    }
  }
  return undefined;
}

const suite = serveForSuite({ driver: 'lavfi', graph: 'testsrc2=size=160x120:rate=30', pixel_format: 'rgb24' });

test('serve with an ffmpeg camera: colour frames recorded; ffmpeg dying mid-recording: controller in error, file valid', async () => {
  const serve = suite.serve();
  await serve.ctl(['record']);
  await serve.waitFor((s) => s.state === 'recording' && s.frames.saved > 20);
  const acquisition = (await serve.statusNow()).processes.find((p) => p.role === 'acquisition');
  assert.ok(acquisition?.pid);
  let ffmpeg: number | undefined;
  for (let tries = 0; tries < 50 && ffmpeg === undefined; tries++) {
    ffmpeg = ffmpegChildOf(acquisition.pid);
    if (ffmpeg === undefined) await delay(100);
  }
  assert.ok(ffmpeg, 'ffmpeg runs under the acquisition process');
  process.kill(ffmpeg, 'SIGKILL');
  const failed = await serve.waitFor((s) => s.state === 'error' && s.last_recording !== null);
  assert.match(failed.error ?? '', /ffmpeg/);
  const recording = failed.last_recording!;
  const read = await runPython(
    'import sys,h5py\nf=h5py.File(sys.argv[1],"r")\nd=f["entry/data"]\nprint(list(d["frames"].shape), ' +
      'd["frame_id"][:].tolist()==list(range(d["frames"].shape[0])))',
    [recording.path!],
  );
  assert.equal(read.code, 0, read.stderr);
  assert.equal(read.stdout.trim(), `[${recording.frames_written}, 120, 160, 3] True`);
  assert.ok(recording.frames_written > 20);
  assert.equal(serve.child.exitCode, null, 'serve keeps running');
});
