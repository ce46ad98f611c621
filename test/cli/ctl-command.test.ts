import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlServer } from '../../src/transport/control-server.js';
import { StatusPublisher } from '../../src/transport/status-channel.js';
import { collect, delay, freePort, runLabcast, startLabcast } from '../helpers/processes.js';
import type { ExperimentStatus, RecordingInfo } from '../../src/protocol/control.js';
import { InProcessExperiment } from '../helpers/in-process-experiment.js';

describe('labcast ctl against a control server', () => {
  let experiment: InProcessExperiment;
  let server: ControlServer;
  let publisher: StatusPublisher;
  const ctl = (args: string[]) => runLabcast(['ctl', '--control', server.endpoint, ...args]);

  before(async () => {
    publisher = await StatusPublisher.bind('tcp://127.0.0.1:*');
    experiment = await InProcessExperiment.start();
    server = await ControlServer.bind('tcp://127.0.0.1:*', experiment.handle);
    experiment.controller.setEndpoints({ control: server.endpoint, status: publisher.endpoint });
  });
  after(async () => {
    publisher.close();
    await server.close();
    await experiment.close();
  });

  test('status prints aligned lines: state, frames, rates, settings, last recording, processes', async () => {
    await ctl(['record', '--out', 'beads.h5']);
    await experiment.waitFor((s) => s.frames.saved > 5);
    await ctl(['stop']);
    await ctl(['live']);
    await experiment.waitFor((s) => s.fps > 0);
    const run = await ctl(['status']);
    assert.equal(run.code, 0, run.stderr);
    // Exactly the status the controller answered this request with.
    const shown = experiment.lastReply<ExperimentStatus>('status');
    const lines = run.stdout.trimEnd().split('\n');
    const valueColumn = lines[0]!.indexOf('live');
    assert.ok(valueColumn > 'state'.length, run.stdout);
    for (const line of lines)
      assert.match(line.slice(valueColumn - 2, valueColumn + 1), /^ {2}\S$/, `every value starts in one column:\n${run.stdout}`);
    const field = (label: string): string => {
      const line = lines.find((candidate) => candidate.startsWith(`${label} `));
      assert.ok(line, `a "${label}" line in\n${run.stdout}`);
      return line.slice(valueColumn);
    };
    const { frames } = shown;
    assert.equal(field('state'), 'live');
    assert.equal(field('error'), 'none');
    assert.equal(field('run id'), shown.run_id);
    assert.ok(frames.acquired > 0 && shown.fps > 0 && shown.mb_per_s > 0, JSON.stringify(shown));
    assert.equal(
      field('frames'),
      `acquired ${frames.acquired}, published ${frames.published} (${frames.live_skipped} skipped), saved 0, dropped 0`,
    );
    assert.equal(field('rate'), `${shown.fps.toFixed(1)} fps, ${shown.mb_per_s.toFixed(1)} MB/s`);
    assert.equal(field('camera'), 'labcast simulated camera (noise), driver sim');
    assert.equal(
      field('settings'),
      'exposure_ms 10, gain 1, brightness 0, roi_x 0, roi_y 0, roi_width 64, roi_height 48, bit_depth 12, gain_dn_per_e 0.5, ' +
        'offset_dn 100, read_noise_e 2, dark_current_e_per_s 1, quantum_efficiency 0.8, photons_per_bead 5000, background_photons 30',
    );
    const beads = shown.last_recording!;
    assert.ok(beads.path!.endsWith('/beads.h5') && beads.frames_written > 5, JSON.stringify(beads));
    assert.ok(field('rate asked').startsWith(`${shown.fps_requested} fps`), field('rate asked'));
    assert.equal(
      field('last recording'),
      `${beads.path}: ${beads.frames_written} of ${beads.frames_written} frames written, 0 lost, ${beads.duration_s!.toFixed(3)} s at ` +
        `${beads.fps!.toFixed(2)} fps (stopped)`,
    );
    assert.equal(field('processes'), `acquisition (pid ${process.pid}, running)`);
    assert.equal(field('endpoints'), `control ${server.endpoint}, status ${publisher.endpoint}, data ${shown.endpoints.data}`);
    await ctl(['stop']);
  });

  test('--json prints the raw result, which is what the server answered', async () => {
    const run = await ctl(['--json', 'status']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), JSON.parse(JSON.stringify(experiment.lastReply('status'))));
    const settings = await ctl(['settings', '--json']);
    assert.deepEqual(Object.keys(JSON.parse(settings.stdout) as object), ['settings', 'specs']);
  });

  test('record and snap send their flags as request arguments', async () => {
    const run = await ctl(['record', '--frames', '50', '--duration', '2.5', '--out', 'x.h5']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(experiment.handled.at(-1), { cmd: 'record', frames: 50, duration_s: 2.5, path: 'x.h5' });
    assert.match(run.stdout, /^state +recording$/m);
    assert.match(run.stdout, /^file +\/.+\/x\.h5$/m);
    await ctl(['stop']);
    const snap = await ctl(['snap', '--out', 'one.h5']);
    assert.equal(snap.code, 0, snap.stderr);
    assert.deepEqual(experiment.handled.at(-1), { cmd: 'snap', path: 'one.h5' });
    const one = experiment.lastReply<RecordingInfo>('snap');
    assert.equal(snap.stdout, `Snapped ${one.path} (run ${one.run_id})\n`);
    assert.ok(one.path!.endsWith('/one.h5'));
  });

  test('settings is a table; get and set show one setting with its range; negative values are values', async () => {
    const table = await ctl(['settings']);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout
      .trimEnd()
      .split('\n')
      .map((row) => row.split(/ {2,}/));
    assert.deepEqual(rows[0], ['setting', 'value', 'unit', 'range', 'while streaming']);
    assert.deepEqual(rows[1], ['exposure_ms', '10', 'ms', '0.01..10000', 'changeable']);
    assert.deepEqual(rows[6], ['roi_width', '64', 'px', '1..64 (whole)', 'fixed']);

    const set = await ctl(['set', 'brightness', '-5']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'brightness = -5 % of full scale  (range -100..100 % of full scale; changeable while streaming)\n');
    assert.equal(experiment.status().camera?.settings.brightness, -5);
    const get = await ctl(['get', 'brightness']);
    assert.equal(get.stdout, set.stdout);
  });

  test('subscribers is a table of the subscriber processes: the saver while recording, never the acquisition', async () => {
    const idle = await ctl(['subscribers']);
    assert.equal(idle.code, 0, idle.stderr);
    assert.equal(idle.stdout, 'no processes\n');
    await ctl(['record']);
    const run = await ctl(['subscribers']);
    await ctl(['stop']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      run.stdout
        .trimEnd()
        .split('\n')
        .map((row) => row.split(/ {2,}/)),
      [
        ['process', 'pid', 'running', 'title'],
        ['saver', String(process.pid), 'yes', 'labcast-saver'],
      ],
    );
  });

  test("an error reply prints the server's message and exits 2 for input errors, 1 otherwise", async () => {
    let run = await ctl(['set', 'exposure_ms', '1e9']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, 'labcast ctl set: setting "exposure_ms" is out of range: must be in 0.01..10000 ms, got 1000000000\n');
    // Text for a numeric setting reaches the camera, whose check names the setting and what it takes.
    run = await ctl(['set', 'gain', 'lots']);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, 'labcast ctl set: setting "gain" must be a number in 0.1..64 x, got "lots"\n');
    run = await ctl(['set', 'gain', 'true']);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, 'labcast ctl set: setting "gain" must be a number in 0.1..64 x, got true\n');
    run = await ctl(['get', 'shutter']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^labcast ctl get: unknown setting "shutter"; this camera has: exposure_ms/);
    await ctl(['live']);
    run = await ctl(['set', 'roi_width', '64']);
    assert.equal(run.code, 2, 'refused in the current state');
    assert.match(run.stderr, /roi_width changes the frame shape, so it cannot change while live/);
    await ctl(['stop']);

    const failing = await ControlServer.bind('tcp://127.0.0.1:*', async () => {
      throw new Error('the camera caught fire');
    });
    try {
      const broken = await runLabcast(['ctl', '--control', failing.endpoint, 'status']);
      assert.equal(broken.code, 1);
      assert.equal(broken.stderr, 'labcast ctl status: the camera caught fire\n');
    } finally {
      await failing.close();
    }
  });

  test('bad usage exits 2 naming the command or flag, without contacting any server', async () => {
    const unreachable = `tcp://127.0.0.1:${await freePort()}`;
    const cases: [string[], RegExp][] = [
      [[], /^labcast ctl: which command\? one of status, live, stop/],
      [['fly'], /^labcast ctl: unknown command "fly"; commands: status, live/],
      [['status', '--frames', '3'], /^labcast ctl status: --frames is an option of record, not of status/],
      [['--bogus', 'status'], /^labcast ctl: Unknown option '--bogus'/],
      [['save', 'maybe'], /^labcast ctl save: expected on or off, got "maybe"/],
      [['set', 'gain'], /^labcast ctl set: missing VALUE \(labcast ctl set NAME VALUE\)/],
      [['get', 'gain', 'extra'], /^labcast ctl get: unexpected argument "extra"/],
      [['record', '--frames', '0'], /^labcast ctl record: --frames must be a whole number between 1 and 1000000000000/],
      [['status', '--timeout', 'soon'], /^labcast ctl status: --timeout must be a number/],
      [['subscriber', 'restart', 'saver'], /^labcast ctl subscriber: expected start or stop, got "restart"/],
      [['live', '--wait'], /^labcast ctl live: --wait is an option of record, not of live/],
      [['wait', 'run-a', 'run-b'], /^labcast ctl wait: unexpected argument "run-b" \(labcast ctl wait \[RUN_ID\]\)/],
    ];
    for (const [args, message] of cases) {
      const run = await runLabcast(['ctl', '--control', unreachable, ...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
    const badEndpoint = await runLabcast(['ctl', '--control', 'localhost:5556', 'status']);
    assert.equal(badEndpoint.code, 2);
    assert.match(badEndpoint.stderr, /--control: "localhost:5556" is not a ZeroMQ endpoint/);
  });

  test('no server: exit 1 with a message naming the endpoint and labcast serve', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const run = await runLabcast(['ctl', '--control', endpoint, '--timeout', '0.5', 'status']);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      `labcast ctl status: no labcast serve answered at ${endpoint} within 0.5 s; ` +
        `start one with \`labcast serve\`, or give the endpoint of the one running\n`,
    );
  });

  test('help lists every command', async () => {
    const run = await runLabcast(['help', 'ctl']);
    assert.equal(run.code, 0);
    for (const command of [
      'status',
      'live',
      'stop',
      'save on|off',
      'record',
      'snap',
      'settings',
      'get NAME',
      'set NAME VALUE',
      'subscribers',
      'subscriber start|stop NAME',
      'reset',
      'shutdown',
      'watch',
    ]) {
      assert.ok(run.stdout.includes(`  ${command}`), `help shows ${command}`);
    }
  });

  test('watch prints the current status, then each one published, until Ctrl-C', async () => {
    const child = startLabcast(['ctl', '--control', server.endpoint, '--status', publisher.endpoint, 'watch', '--json']);
    const finished = collect(child);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const lines = (): { state: string }[] =>
      stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { state: string });
    const deadline = Date.now() + 10_000;
    while (lines().length === 0 && Date.now() < deadline) await delay(50);
    assert.equal(lines()[0]?.state, 'idle', 'the current status comes first');
    await experiment.controller.handle({ cmd: 'live' });
    // The subscription may not be live yet: publish until one arrives.
    while (!lines().some((status) => status.state === 'live') && Date.now() < deadline) {
      publisher.publish(experiment.status());
      await delay(100);
    }
    assert.ok(
      lines().some((status) => status.state === 'live'),
      stdout,
    );
    child.kill('SIGINT');
    const done = await finished;
    assert.equal(done.code, 0, done.stderr);
    await experiment.controller.handle({ cmd: 'stop' });
  });

  test('watch without --json prints one line per status', async () => {
    const child = startLabcast(['ctl', '--control', server.endpoint, '--status', publisher.endpoint, 'watch']);
    const finished = collect(child);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while (!stdout.includes('\n') && Date.now() < deadline) await delay(50);
    child.kill('SIGINT');
    const done = await finished;
    assert.equal(done.code, 0, done.stderr);
    // The current status, which the controller answered ctl's status request with.
    const { frames, fps, mb_per_s: mbPerS } = experiment.lastReply<ExperimentStatus>('status');
    assert.match(
      stdout.split('\n')[0]!,
      new RegExp(
        `^\\d\\d:\\d\\d:\\d\\d  idle +acquired ${frames.acquired}  saved ${frames.saved}  dropped ${frames.dropped}  ${fps.toFixed(1)} ` +
          `fps  ${mbPerS.toFixed(1)} MB/s$`,
      ),
    );
  });
});
