import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExperimentStatus, RecordingInfo } from '../../src/protocol/control.js';
import { isLabcastError, type ErrorCode } from '../../src/protocol/errors.js';
import { inspectRecording } from '../../src/hdf5/file-inspector.js';
import { InProcessExperiment, type InProcessExperimentOptions } from '../helpers/in-process-experiment.js';

async function withExperiment(
  run: (experiment: InProcessExperiment) => Promise<void>,
  options: InProcessExperimentOptions = {},
): Promise<void> {
  const experiment = await InProcessExperiment.start(options);
  try {
    await run(experiment);
  } finally {
    await experiment.close();
  }
}

/** The request is refused with `code`, its message matching `message`, and the state is unchanged. */
async function refused(
  experiment: InProcessExperiment,
  request: Parameters<InProcessExperiment['controller']['handle']>[0],
  code: ErrorCode,
  message: RegExp,
): Promise<void> {
  const before = experiment.status().state;
  await assert.rejects(experiment.controller.handle(request), (error: unknown) => {
    assert.ok(isLabcastError(error), `a LabcastError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
  assert.equal(experiment.status().state, before, `${request.cmd} refused: the state stays ${before}`);
}

async function framesInFile(info: RecordingInfo): Promise<number> {
  return (await inspectRecording(info.path!)).frameCount;
}

const states = (statuses: readonly ExperimentStatus[]): string[] =>
  statuses.map((status) => status.state).filter((state, i, all) => i === 0 || all[i - 1] !== state);

describe('the experiment controller, in-process', () => {
  test('idle → live → stop → idle', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      assert.equal(experiment.status().state, 'idle');
      const live = await controller.handle({ cmd: 'live' });
      assert.equal(live.state, 'live');
      assert.ok(live.run_id !== null, 'a live run has an id');
      await experiment.waitFor((s) => s.frames.acquired > 5);
      // live while live is a no-op
      assert.equal((await controller.handle({ cmd: 'live' })).run_id, live.run_id);
      const stopped = await controller.handle({ cmd: 'stop' });
      assert.equal(stopped.state, 'idle');
      assert.equal(stopped.run_id, null);
      assert.deepEqual(states(experiment.published), ['live', 'idle']);
      assert.equal(stopped.last_recording, null, 'nothing was saved');
    }));

  test('idle → record N → idle by itself; the file holds every frame', () =>
    withExperiment(async (experiment) => {
      const recording = await experiment.controller.handle({ cmd: 'record', frames: 25 });
      assert.equal(recording.state, 'recording');
      assert.ok(recording.file?.startsWith(experiment.dir), 'the file is in the data directory');
      assert.deepEqual(
        recording.processes.map((p) => p.role),
        ['acquisition', 'saver'],
      );
      const done = await experiment.waitFor((s) => s.state === 'idle' && s.last_recording !== null);
      const info = done.last_recording!;
      assert.equal(info.error, null);
      assert.equal(info.end_reason, 'completed');
      assert.equal(info.frames_written, 25);
      assert.equal(info.frames_acquired, 25);
      assert.equal(await framesInFile(info), 25);
      assert.equal(done.file, null);
      assert.deepEqual(
        done.processes.map((p) => p.role),
        ['acquisition'],
        'the saver is gone with its recording',
      );
      assert.deepEqual(states(experiment.published), ['recording', 'idle']);
    }));

  test('live → record N → live again when it ends (it was started from live)', () =>
    withExperiment(async (experiment) => {
      await experiment.controller.handle({ cmd: 'live' });
      const recording = await experiment.controller.handle({ cmd: 'record', frames: 10, path: 'from-live.h5' });
      assert.equal(recording.state, 'recording');
      const back = await experiment.waitFor((s) => s.state === 'live' && s.last_recording !== null);
      assert.equal(back.last_recording!.frames_written, 10);
      assert.ok(back.last_recording!.path!.endsWith('from-live.h5'));
      assert.notEqual(back.run_id, recording.run_id, 'a new live run');
      assert.deepEqual(states(experiment.published), ['live', 'idle', 'recording', 'live']);
    }));

  test('live → save on → save off → live; subscriber start/stop saver is the same', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      await controller.handle({ cmd: 'live' });
      const saving = await controller.handle({ cmd: 'save', on: true });
      assert.equal(saving.state, 'recording');
      // save on while recording is a no-op
      assert.equal((await controller.handle({ cmd: 'save', on: true })).file, saving.file);
      await experiment.waitFor((s) => s.frames.saved > 10);
      const off = await controller.handle({ cmd: 'save', on: false });
      assert.equal(off.state, 'live', 'save off keeps the stream live');
      const info = off.last_recording!;
      assert.equal(info.error, null);
      assert.equal(info.end_reason, 'stopped');
      assert.equal(info.frames_lost, 0);
      assert.equal(await framesInFile(info), info.frames_written);
      assert.ok(states(experiment.published).includes('stopping'));

      const viaSubscriber = await controller.handle({ cmd: 'subscriber', action: 'start', name: 'saver' });
      assert.equal(viaSubscriber.state, 'recording');
      const offAgain = await controller.handle({ cmd: 'subscriber', action: 'stop', name: 'saver' });
      assert.equal(offAgain.state, 'live');
      assert.notEqual(offAgain.last_recording!.path, info.path);
      assert.equal((await controller.handle({ cmd: 'stop' })).state, 'idle');
    }));

  test('record → stop: stopping, then idle with every acquired frame in the file', () =>
    withExperiment(async (experiment) => {
      await experiment.controller.handle({ cmd: 'record' });
      await experiment.waitFor((s) => s.frames.saved > 10);
      const stopped = await experiment.controller.handle({ cmd: 'stop' });
      assert.equal(stopped.state, 'idle');
      const info = stopped.last_recording!;
      assert.equal(info.end_reason, 'stopped');
      assert.equal(info.frames_written, info.frames_acquired);
      assert.equal(await framesInFile(info), info.frames_written);
      assert.deepEqual(states(experiment.published), ['recording', 'stopping', 'idle']);
    }));

  test('snap: one frame to its own file, from idle (stays idle) and from live (back to live)', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      const one = await controller.handle({ cmd: 'snap', path: 'one.h5' });
      assert.equal(one.frames_written, 1);
      assert.ok(one.path!.endsWith('one.h5') && existsSync(one.path!));
      assert.equal(await framesInFile(one), 1);
      assert.equal(experiment.status().state, 'idle');
      await controller.handle({ cmd: 'live' });
      const two = await controller.handle({ cmd: 'snap' });
      assert.equal(two.frames_written, 1);
      await experiment.waitFor((s) => s.state === 'live');
    }));

  test('settings: get and set; a setting that changes the frame shape only while idle', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      const settings = await controller.handle({ cmd: 'settings' });
      assert.ok(settings.specs.some((spec) => spec.name === 'exposure_ms'));
      const set = await controller.handle({ cmd: 'set', name: 'exposure_ms', value: 5 });
      assert.equal(set.settings.exposure_ms, 5);
      assert.equal((await controller.handle({ cmd: 'get', name: 'exposure_ms' })).value, 5);
      const shapeSetting = settings.specs.find((spec) => !spec.changeable_while_streaming);
      assert.ok(shapeSetting, 'the simulator has a setting that changes the frame shape');
      await controller.handle({ cmd: 'live' });
      await controller.handle({ cmd: 'set', name: 'exposure_ms', value: 6 });
      await refused(experiment, { cmd: 'set', name: shapeSetting.name, value: shapeSetting.min }, 'CAMERA_STATE', /stop first/);
      await refused(experiment, { cmd: 'set', name: 'no_such', value: 1 }, 'BAD_SETTING', /unknown setting "no_such"/);
      await refused(experiment, { cmd: 'get', name: 'no_such' }, 'BAD_SETTING', /this camera has: .*exposure_ms/);
      await controller.handle({ cmd: 'stop' });
      const changed = await controller.handle({ cmd: 'set', name: shapeSetting.name, value: shapeSetting.min });
      assert.equal(changed.settings[shapeSetting.name], shapeSetting.min);
    }));

  test('refusals while recording; no-ops where nothing is to do', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      await refused(experiment, { cmd: 'save', on: true }, 'CAMERA_STATE', /nothing to save: the camera is idle/);
      await refused(experiment, { cmd: 'subscriber', action: 'start', name: 'viewer' }, 'BAD_ARGUMENT', /known subscribers: saver/);
      assert.equal((await controller.handle({ cmd: 'save', on: false })).state, 'idle');
      assert.equal((await controller.handle({ cmd: 'stop' })).state, 'idle');
      assert.equal((await controller.handle({ cmd: 'reset' })).state, 'idle', 'reset when not in error changes nothing');

      await controller.handle({ cmd: 'record' });
      await refused(experiment, { cmd: 'record', frames: 5 }, 'CAMERA_STATE', /already recording to .*; stop it first/);
      await refused(experiment, { cmd: 'live' }, 'CAMERA_STATE', /save off/);
      await refused(experiment, { cmd: 'snap' }, 'CAMERA_STATE', /snap when it has ended/);
      assert.equal((await controller.handle({ cmd: 'reset' })).state, 'recording', 'reset when not in error changes nothing');
      assert.equal(experiment.savers.length, 1, 'no second saver was started');
      assert.equal((await controller.handle({ cmd: 'stop' })).state, 'idle');
    }));

  test('a bad path changes nothing: live stays live', () =>
    withExperiment(async (experiment) => {
      await experiment.controller.handle({ cmd: 'live' });
      const run = experiment.status().run_id;
      await refused(experiment, { cmd: 'record', path: '../outside.h5' }, 'PATH_OUTSIDE_DATA_DIR', /outside/);
      assert.equal(experiment.status().run_id, run, 'the live run was not touched');
      assert.equal(experiment.savers.length, 0);
    }));

  test('stop while a recording is starting: the recording starts, then stops and is drained', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      await controller.handle({ cmd: 'live' });
      const recording = controller.handle({ cmd: 'record' });
      const stop = controller.handle({ cmd: 'stop' });
      assert.equal((await recording).state, 'recording');
      const stopped = await stop;
      assert.equal(stopped.state, 'idle');
      const info = stopped.last_recording!;
      assert.equal(info.error, null);
      assert.equal(info.end_reason, 'stopped');
      assert.equal(await framesInFile(info), info.frames_written);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(experiment.status().state, 'idle', 'stop wins over the live view the recording came from');
    }));

  test('stop while live is starting, and live and stop in one burst, end idle', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      const replies = await Promise.all([controller.handle({ cmd: 'live' }), controller.handle({ cmd: 'stop' })]);
      assert.deepEqual(
        replies.map((r) => r.state),
        ['live', 'idle'],
      );
      assert.equal(experiment.status().state, 'idle');
    }));

  test('the saver dies during a recording: error, the counts and the file kept; reset; the next recording works', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      await controller.handle({ cmd: 'record' });
      await experiment.waitFor((s) => s.frames.saved > 20);
      await experiment.saver!.kill();
      const failed = await experiment.waitFor((s) => s.state === 'error' && s.last_recording !== null);
      assert.match(failed.error ?? '', /saver process was killed by SIGKILL/);
      const info = failed.last_recording!;
      assert.ok(info.error !== null);
      assert.ok(info.frames_written > 20, `frames saved before the death are kept (${info.frames_written})`);
      assert.equal(await framesInFile(info), info.frames_written, 'status reports what the file really holds');
      assert.equal(failed.frames.saved, info.frames_written);
      assert.ok(failed.frames.acquired >= info.frames_written, 'the acquired count is kept');

      await refused(experiment, { cmd: 'record', frames: 5 }, 'CAMERA_STATE', /send `reset` first/);
      await refused(experiment, { cmd: 'live' }, 'CAMERA_STATE', /reset/);
      await refused(experiment, { cmd: 'save', on: true }, 'CAMERA_STATE', /reset/);
      await refused(experiment, { cmd: 'snap' }, 'CAMERA_STATE', /reset/);
      const reset = await controller.handle({ cmd: 'reset' });
      assert.equal(reset.state, 'idle');
      assert.equal(reset.error, null);
      assert.equal(experiment.acquisitions.length, 1, 'the acquisition was alive: not restarted');
      await controller.handle({ cmd: 'record', frames: 10 });
      const done = await experiment.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_written === 10);
      assert.equal(done.last_recording!.error, null);
    }));

  test('the acquisition dies while live: error; settings refused; reset starts a new acquisition', () =>
    withExperiment(async (experiment) => {
      const { controller } = experiment;
      await controller.handle({ cmd: 'live' });
      await experiment.waitFor((s) => s.frames.acquired > 5);
      await experiment.acquisition.kill();
      const failed = await experiment.waitFor((s) => s.state === 'error');
      assert.match(failed.error ?? '', /acquisition process was killed by SIGKILL/);
      assert.equal(failed.processes[0]!.running, false);
      await refused(experiment, { cmd: 'set', name: 'exposure_ms', value: 3 }, 'CAMERA_STATE', /not running; send `reset`/);
      const reset = await controller.handle({ cmd: 'reset' });
      assert.equal(reset.state, 'idle');
      assert.equal(experiment.acquisitions.length, 2);
      assert.equal(reset.processes[0]!.running, true);
      assert.equal((await controller.handle({ cmd: 'live' })).state, 'live');
      await experiment.waitFor((s) => s.frames.acquired > 5);
    }));

  test('error while stopping: the acquisition dies during the drain; the file is closed with what arrived', () =>
    withExperiment(
      async (experiment) => {
        const { controller } = experiment;
        await controller.handle({ cmd: 'record' });
        await experiment.waitFor((s) => s.frames.acquired > 40);
        const stop = controller.handle({ cmd: 'stop' });
        await experiment.waitFor((s) => s.state === 'stopping');
        await experiment.acquisition.kill();
        const stopped = await stop;
        assert.equal(stopped.state, 'error', 'the failure wins over the stop');
        assert.match(stopped.error ?? '', /acquisition process was killed by SIGKILL/);
        const info = stopped.last_recording!;
        assert.ok(info.error !== null);
        assert.equal(await framesInFile(info), info.frames_written);
        assert.ok(states(experiment.published).join(' ').includes('recording stopping error'));
        assert.equal((await controller.handle({ cmd: 'reset' })).state, 'idle');
        assert.equal(experiment.acquisitions.length, 2);
        await controller.handle({ cmd: 'record', frames: 5 });
        await experiment.waitFor((s) => s.state === 'idle' && s.last_recording?.frames_written === 5);
      },
      // A saver slower than the camera, so there is a drain to be inside of.
      { saver: { delayPerFrameMs: 5 } },
    ));

  test('the acquisition dies while recording: error; the recording still closes its file and is reported', () =>
    withExperiment(async (experiment) => {
      await experiment.controller.handle({ cmd: 'record' });
      await experiment.waitFor((s) => s.frames.saved > 10);
      await experiment.acquisition.kill();
      const failed = await experiment.waitFor((s) => s.state === 'error' && s.last_recording !== null);
      assert.match(failed.error ?? '', /acquisition process was killed by SIGKILL/);
      assert.equal(failed.file, null, 'the recording has wound down');
      assert.equal(await framesInFile(failed.last_recording!), failed.last_recording!.frames_written);
    }));

  test('shutdown during a recording drains and closes it; shutdown is idempotent', async () => {
    const experiment = await InProcessExperiment.start();
    try {
      await experiment.controller.handle({ cmd: 'record' });
      await experiment.waitFor((s) => s.frames.saved > 10);
      const first = experiment.controller.shutdown();
      assert.equal(experiment.controller.shutdown(), first, 'one shutdown, whoever asks');
      await first;
      const info = experiment.status().last_recording!;
      assert.equal(info.error, null);
      assert.equal(await framesInFile(info), info.frames_written);
      assert.equal(info.frames_written, info.frames_acquired);
      assert.notEqual(experiment.status().state, 'live', 'a recording from idle does not resume anything');
      assert.equal(experiment.acquisition.running, false);
    } finally {
      await experiment.close();
    }
  });

  test('the shutdown command answers with the status and shuts down', () =>
    withExperiment(async (experiment) => {
      let told = 0;
      experiment.controller.onShutdownRequested(() => (told += 1));
      await experiment.controller.handle({ cmd: 'live' });
      const reply = await experiment.controller.handle({ cmd: 'shutdown' });
      assert.equal(reply.state, 'live', 'the status as shutdown begins');
      await experiment.controller.shutdown();
      assert.equal(told, 1);
      assert.equal(experiment.status().state, 'idle');
      assert.equal(experiment.acquisition.running, false);
    }));
});
