import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { delay, runLabcast, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { assertEveryFrameAccounted, readFileCounts } from './file-counts.js';

/**
 * The camera at 100 fps; the saver held to a tenth of that (the test hook
 * LABCAST_TEST_SAVER_DELAY_MS: 100 ms per frame against a 10 ms frame
 * period) for 30 s, behind a 2 MiB acquisition-side buffer (85 frames of
 * 128 x 96 uint16). Frames must be lost — and every loss counted at that
 * buffer, stored in the file's gap record, reported in the status and in the
 * recording's summary, all four agreeing exactly with what the file holds.
 */
const FPS = 100;
const DURATION_S = 30;
const SAVER_DELAY_MS = 100;
const BUFFER_MB = 2;
const FRAME_BYTES = 128 * 96 * 2;

describe(`a saver ten times slower than the camera for ${DURATION_S} s: nothing lost silently`, () => {
  const scratch = scratchDir();
  let serve: RunningServe;

  before(async () => {
    serve = await startServe(
      scratch.dir,
      { fps: FPS, width: 128, height: 96, dtype: 'uint16' },
      { saver: { buffer_mb: BUFFER_MB } },
      { env: { LABCAST_TEST_SAVER_DELAY_MS: String(SAVER_DELAY_MS) } },
    );
  });
  after(async () => {
    await serve?.stop();
    scratch.cleanup();
  });

  test('labcast serve: status, the recording summary and the gap record agree with the file', async (t) => {
    const started = await serve.ctl(['record', '--duration', String(DURATION_S), '--out', 'slow.h5']);
    assert.equal(started.code, 0, started.stderr);
    // While it runs: drops show in the status as they happen, and only grow.
    const dropsSeen: number[] = [];
    let status: ExperimentStatus;
    for (;;) {
      status = await serve.statusNow();
      if (status.state !== 'recording' && status.state !== 'stopping') break;
      dropsSeen.push(status.frames.dropped);
      await delay(1000);
    }
    for (let i = 1; i < dropsSeen.length; i++) assert.ok(dropsSeen[i]! >= dropsSeen[i - 1]!, 'the drop count only grows');
    assert.ok(
      dropsSeen.some((dropped) => dropped > 0),
      'drops are reported while recording, not only at the end',
    );

    assert.equal(status.state, 'idle', status.error ?? '');
    const summary = status.last_recording!;
    assert.equal(summary.error, null);
    assert.equal(summary.end_reason, 'completed');
    const file = await readFileCounts(join(serve.dataDir, 'slow.h5'));
    const inGaps = file.gaps.reduce((total, [, count]) => total + count, 0);

    t.diagnostic(
      `serve: acquired ${summary.frames_acquired}, saved ${summary.frames_written}, lost ${summary.frames_lost} (buffer ${BUFFER_MB} ` +
        `MiB = ${Math.floor((BUFFER_MB * 1024 * 1024) / FRAME_BYTES)} frames), gaps ${file.gaps.length}`,
    );
    assert.ok(
      Math.abs(summary.frames_acquired - FPS * DURATION_S) <= FPS,
      `about ${FPS * DURATION_S} frames acquired (${summary.frames_acquired})`,
    );
    assert.ok(summary.frames_lost > 0, 'a saver this slow loses frames');
    // Acquired: the status, the summary and the file.
    assert.equal(status.frames.acquired, summary.frames_acquired);
    assert.equal(file.acquired, summary.frames_acquired);
    // Saved: the status, the summary and the frames really in the file.
    assert.equal(status.frames.saved, file.frames);
    assert.equal(summary.frames_written, file.frames);
    assert.equal(file.valid, file.frames);
    assert.equal(file.written, file.frames);
    // Dropped: counted at the buffer (status), in the summary, in the file, in its gap record.
    assert.equal(status.frames.dropped, summary.frames_lost);
    assert.equal(file.dropped, summary.frames_lost);
    assert.equal(inGaps, summary.frames_lost);
    assert.deepEqual(summary.gaps, file.gaps);
    assert.equal(file.frames + file.dropped, file.acquired);
    assertEveryFrameAccounted(file);
  });

  test('labcast record: the summary, the exit code (3) and the gap record agree with the file', async (t) => {
    const out = join(scratch.dir, 'slow-record.h5');
    const ran = await runLabcast(
      [
        'record',
        '--fps',
        String(FPS),
        '--duration',
        String(DURATION_S),
        '--width',
        '128',
        '--height',
        '96',
        '--buffer-mb',
        String(BUFFER_MB),
        '--out',
        out,
        '--publish',
        'tcp://127.0.0.1:*',
        '--json',
      ],
      { LABCAST_TEST_SAVER_DELAY_MS: String(SAVER_DELAY_MS) },
    );
    assert.equal(ran.code, 3, `frames were lost, and the exit code says so\n${ran.stderr}`);
    const summary = JSON.parse(ran.stdout) as {
      framesAcquired: number;
      framesWritten: number;
      framesLost: number;
      gaps: [number, number][];
      error: string | null;
    };
    const file = await readFileCounts(out);
    t.diagnostic(
      `record: acquired ${summary.framesAcquired}, saved ${summary.framesWritten}, dropped ${summary.framesLost}, ` +
        `gaps ${summary.gaps.length}`,
    );
    assert.equal(summary.error, null);
    assert.ok(summary.framesLost > 0);
    assert.equal(file.acquired, summary.framesAcquired);
    assert.equal(file.frames, summary.framesWritten);
    assert.equal(file.dropped, summary.framesLost);
    assert.deepEqual(file.gaps, summary.gaps);
    assert.equal(summary.framesWritten + summary.framesLost, summary.framesAcquired);
    assertEveryFrameAccounted(file);
  });
});
