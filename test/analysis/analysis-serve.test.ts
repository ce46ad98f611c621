import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnalysisResult } from '../../src/protocol/analysis.js';
import type { AnalysisInfo, ProcessInfo } from '../../src/protocol/control.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { parseSimCameraOptions } from '../../src/camera-spec/sim-options.js';
import { renderSimFrame } from '../../src/devices/sim/render.js';
import { ControlClient } from '../../src/transport/control-client.js';
import { delay, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { ResultsSubscriber } from './results.js';

const BRIGHT_MODULE = fileURLToPath(new URL('../../../examples/analysis/bright-pixels.js', import.meta.url));
const CAMERA = { width: 128, height: 96, fps: 100 };
const SIM = parseSimCameraOptions(CAMERA);

/** The frame the simulator shows at `seq` of a run (a new stream starts at camera index 0), as numbers. */
function expectedSamples(seq: number): Uint16Array {
  const bytes = renderSimFrame(SIM, {}, seq);
  const samples = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes[2 * i]! | (bytes[2 * i + 1]! << 8);
  return samples;
}

function analysis(list: unknown, name: string): AnalysisInfo {
  const found = (list as AnalysisInfo[]).find((info) => info.name === name);
  assert.ok(found !== undefined, `${name} in ${JSON.stringify(list)}`);
  return found;
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(safeRead(`/proc/${pid}/status`));
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('analysis processes of a real labcast serve, driven through labcast ctl', () => {
  const scratch = scratchDir();
  let serve: RunningServe;
  let client: ControlClient;

  before(async () => {
    const thrower = join(scratch.dir, 'thrower.mjs');
    writeFileSync(
      thrower,
      `export default function (frame) {
  if (frame.header.seq % 2 === 1) throw new Error('odd frames are not for me');
  return { seq: frame.header.seq, width: frame.width, height: frame.height, first: frame.pixels[0] };
}
`,
    );
    serve = await startServe(scratch.dir, CAMERA, {
      analysis: {
        bright: { kind: 'module', module: BRIGHT_MODULE, options: { threshold: 150 } },
        thrower: { kind: 'module', module: thrower },
        broken: { kind: 'module', module: join(scratch.dir, 'no-such-module.js') },
        coarse: { kind: 'stats', autostart: true, options: { bins: 16 } },
      },
    });
    client = ControlClient.connect(serve.control, { timeoutMs: 30_000 });
  });

  after(async () => {
    client?.close();
    await serve?.stop();
    scratch.cleanup();
  });

  test('autostart: an analysis marked autostart is running once serve is up; the built-in ones are listed, stopped', async () => {
    const status = await serve.waitFor((s) => s.analyses?.find((a) => a.name === 'coarse')?.state === 'running');
    const names = status.analyses!.map((a) => a.name);
    assert.deepEqual(names, ['bright', 'thrower', 'broken', 'coarse', 'stats', 'localize']);
    assert.equal(analysis(status.analyses, 'stats').state, 'stopped');
    assert.equal(analysis(status.analyses, 'coarse').topic, 'analysis/coarse');
    assert.ok(
      status.endpoints.results === serve.results && status.endpoints.results_in === serve.resultsIn,
      JSON.stringify(status.endpoints),
    );
  });

  test('start at runtime: results of every analysed frame on analysis/stats, right for the frame; stop ends the process', async () => {
    const results = new ResultsSubscriber(serve.results, ['analysis/stats']);
    try {
      const started = await serve.ctl(['analysis', 'start', 'stats']);
      assert.equal(started.code, 0, started.stderr);
      const info = analysis(started.result, 'stats');
      assert.equal(info.state, 'running');
      assert.ok(info.pid !== null && alive(info.pid), `pid ${info.pid}`);
      const processes = (await serve.ctl(['subscribers'])).result as ProcessInfo[];
      assert.ok(
        processes.some((p) => p.role === 'analysis:stats' && p.pid === info.pid && p.running),
        JSON.stringify(processes),
      );

      const live = await serve.ctl(['live']);
      assert.equal(live.code, 0, live.stderr);
      const received: AnalysisResult[] = await results.waitFor('stats', 40);
      const runId = (await serve.statusNow()).run_id;

      let previous = -1;
      for (const result of received.slice(0, 40)) {
        const { header } = result;
        assert.equal(header.protocol, 1);
        assert.equal(header.kind, 'stats');
        assert.equal(header.run_id, runId);
        assert.ok(header.seq > previous, `seq ${header.seq} after ${previous}`);
        previous = header.seq;
        assert.equal(typeof header.camera_ts_ns, 'bigint');
        assert.deepEqual(header.shape, [96, 128]);
        assert.deepEqual(header.arrays, []);
      }
      // Against the frame itself, computed independently: 5 frames spread over the run.
      for (const result of received.filter((_, i) => i % 8 === 0).slice(0, 5)) {
        const samples = expectedSamples(result.header.seq);
        let min = Infinity;
        let max = -Infinity;
        let sum = 0;
        const histogram = new Array<number>(256).fill(0);
        for (const v of samples) {
          min = Math.min(min, v);
          max = Math.max(max, v);
          sum += v;
          histogram[Math.floor(v / 256)]! += 1;
        }
        const mean = sum / samples.length;
        let squares = 0;
        for (const v of samples) squares += (v - mean) ** 2;
        const body = result.body as Record<string, unknown>;
        assert.equal(body.count, samples.length);
        assert.equal(body.min, min);
        assert.equal(body.max, max);
        assert.ok(Math.abs((body.mean as number) - mean) < 1e-9 * mean, `mean ${String(body.mean)} vs ${mean}`);
        const std = Math.sqrt(squares / samples.length);
        assert.ok(Math.abs((body.std as number) - std) < 1e-9 * std, `std ${String(body.std)} vs ${std}`);
        assert.deepEqual(body.histogram, histogram);
        assert.equal(body.bins, 256);
        assert.equal(body.bin_width, 256);
      }

      const status = await serve.waitFor((s) => (s.analyses?.find((a) => a.name === 'stats')?.frames_analysed ?? 0) >= 40);
      const stats = analysis(status.analyses, 'stats');
      assert.ok(stats.results_per_s > 10, `results/s ${stats.results_per_s}`);
      assert.ok(stats.analysis_ms > 0 && stats.analysis_ms < 100, `ms/frame ${stats.analysis_ms}`);
      assert.equal(stats.frame_errors, 0);

      // Once the run has ended, every one of its frames is accounted for: analysed or skipped.
      assert.equal((await serve.ctl(['stop'])).code, 0);
      const ended = await serve.waitFor((s) => {
        const a = s.analyses?.find((candidate) => candidate.name === 'stats');
        return a !== undefined && a.frames_analysed + a.frames_skipped === s.frames.acquired;
      });
      const accounted = analysis(ended.analyses, 'stats');
      assert.equal(
        results.of('stats').filter((r) => r.header.run_id === runId).length,
        accounted.frames_analysed,
        'one result per analysed frame',
      );

      const stopped = await serve.ctl(['analysis', 'stop', 'stats']);
      assert.equal(stopped.code, 0, stopped.stderr);
      const after = analysis(stopped.result, 'stats');
      assert.equal(after.state, 'stopped');
      assert.equal(after.pid, null);
      assert.equal(after.error, null);
      assert.ok(!alive(info.pid), 'the process is gone');
      const count = results.of('stats').length;
      await delay(500);
      assert.equal(results.of('stats').length, count, 'no results after stop');
      assert.deepEqual(results.malformed, []);
      // Starting one that runs, or stopping one that does not, is not an error.
      assert.equal((await serve.ctl(['analysis', 'stop', 'stats'])).code, 0);
    } finally {
      results.close();
      await serve.ctl(['stop']);
    }
  });

  test('crash: an analysis killed with SIGKILL is reported failed, serve carries on, and it can be started again', async () => {
    await serve.ctl(['live']);
    const results = new ResultsSubscriber(serve.results, ['analysis/localize']);
    try {
      const started = analysis((await serve.ctl(['analysis', 'start', 'localize'])).result, 'localize');
      await results.waitFor('localize', 5);
      process.kill(started.pid!, 'SIGKILL');
      const failed = await serve.waitFor((s) => s.analyses?.find((a) => a.name === 'localize')?.state === 'failed');
      const info = analysis(failed.analyses, 'localize');
      assert.match(info.error ?? '', /the analysis process was killed by SIGKILL/);
      assert.equal(info.pid, null);
      assert.equal(failed.state, 'live', 'the experiment is not affected');
      assert.equal(failed.error, null);
      const list = await serve.ctl(['analysis', 'list']);
      assert.match(list.stderr, /^$/);
      assert.equal(analysis(list.result, 'localize').state, 'failed');

      const again = await serve.ctl(['analysis', 'start', 'localize']);
      assert.equal(again.code, 0, again.stderr);
      const restarted = analysis(again.result, 'localize');
      assert.equal(restarted.state, 'running');
      assert.equal(restarted.error, null);
      assert.notEqual(restarted.pid, started.pid);
      const before = results.of('localize').length;
      await results.waitFor('localize', before + 5);
      await serve.ctl(['analysis', 'stop', 'localize']);
    } finally {
      results.close();
      await serve.ctl(['stop']);
    }
  });

  test('bad names and actions are refused, naming the field and the known analyses; nothing changes', async () => {
    const unknown = await serve.ctl(['analysis', 'start', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown analysis "nope"; known analyses: "bright", "thrower", "broken", "coarse", "stats", "localize"/);

    const reply = async (request: unknown): Promise<LabcastError> => {
      try {
        await client.request(request as never);
      } catch (error) {
        return error as LabcastError;
      }
      throw new Error(`${JSON.stringify(request)} was accepted`);
    };
    let error = await reply({ cmd: 'analysis', action: 'start', name: 'nope' });
    assert.equal(error.code, 'BAD_ARGUMENT');
    assert.equal(error.field, 'name');
    assert.match(error.message, /known analyses: "bright", .*"localize"/);
    error = await reply({ cmd: 'analysis', action: 'start' });
    assert.equal(error.code, 'BAD_REQUEST');
    assert.equal(error.field, 'name');
    assert.match(error.message, /"name" is required: one of "bright", /);
    error = await reply({ cmd: 'analysis', action: 'begin', name: 'stats' });
    assert.equal(error.code, 'BAD_REQUEST');
    assert.equal(error.field, 'action');
    assert.match(error.message, /"action" must be one of "start", "stop", "list", got "begin"/);
    error = await reply({ cmd: 'analysis', action: 'start', name: 'stats', frames: 3 });
    assert.equal(error.field, 'frames');

    const badAction = await serve.ctl(['analysis', 'begin', 'stats']);
    assert.equal(badAction.code, 2);
    assert.match(badAction.stderr, /expected start or stop or list, got "begin"/);
    const noName = await serve.ctl(['analysis', 'stop']);
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /missing NAME/);

    const status = await serve.statusNow();
    assert.deepEqual(
      status.analyses!.filter((a) => a.state === 'running').map((a) => a.name),
      ['coarse'],
      'only the autostarted one runs',
    );
  });

  test('user module: started through ctl, its results (JSON body and a typed-array part) are right for the frames', async () => {
    const results = new ResultsSubscriber(serve.results, ['analysis/bright']);
    try {
      const started = await serve.ctl(['analysis', 'start', 'bright']);
      assert.equal(started.code, 0, started.stderr);
      assert.equal(analysis(started.result, 'bright').kind, 'module');
      await serve.ctl(['live']);
      const received = await results.waitFor('bright', 10);
      for (const result of received.slice(0, 10)) {
        assert.equal(result.header.kind, 'module');
        assert.deepEqual(result.header.arrays, [{ name: 'row_means', dtype: 'float32', shape: [96] }]);
        const samples = expectedSamples(result.header.seq);
        const body = result.body as { threshold: number; count: number; fraction: number };
        assert.equal(body.threshold, 150);
        const count = samples.filter((v) => v > 150).length;
        assert.equal(body.count, count);
        assert.ok(count > 0, 'the beads are brighter than the threshold');
        assert.equal(body.fraction, count / samples.length);
        const rowMeans = result.arrays.row_means!;
        assert.ok(rowMeans instanceof Float32Array && rowMeans.length === 96);
        for (const row of [0, 47, 95]) {
          const mean = samples.subarray(row * 128, (row + 1) * 128).reduce((t, v) => t + v, 0) / 128;
          assert.equal(rowMeans[row], Math.fround(mean));
        }
      }
      assert.deepEqual(results.malformed, []);
    } finally {
      results.close();
      await serve.ctl(['analysis', 'stop', 'bright']);
      await serve.ctl(['stop']);
    }
  });

  test('a module that cannot be loaded: start fails with the reason, the status shows it failed, serve carries on', async () => {
    const started = await serve.ctl(['analysis', 'start', 'broken']);
    assert.equal(started.code, 1);
    assert.match(started.stderr, /analysis "broken" could not start: cannot load the analysis module .*no-such-module\.js/);
    const status = await serve.statusNow();
    const info = analysis(status.analyses, 'broken');
    assert.equal(info.state, 'failed');
    assert.match(info.error ?? '', /could not start: cannot load the analysis module/);
    assert.equal(status.state, 'idle');
    assert.equal(status.error, null);
  });

  test('a module that throws on some frames: each counted as a frame error, the other frames still get results', async () => {
    const results = new ResultsSubscriber(serve.results, ['analysis/thrower']);
    try {
      assert.equal((await serve.ctl(['analysis', 'start', 'thrower'])).code, 0);
      await serve.ctl(['live']);
      const received = await results.waitFor('thrower', 10);
      for (const result of received) {
        assert.equal(result.header.seq % 2, 0);
        assert.deepEqual(result.body, { seq: result.header.seq, width: 128, height: 96, first: expectedSamples(result.header.seq)[0] });
      }
      const status = await serve.waitFor((s) => (s.analyses?.find((a) => a.name === 'thrower')?.frame_errors ?? 0) >= 5);
      const info = analysis(status.analyses, 'thrower');
      assert.equal(info.state, 'running');
      assert.match(info.error ?? '', /^frame \d*[13579]: odd frames are not for me$/);
    } finally {
      results.close();
      await serve.ctl(['analysis', 'stop', 'thrower']);
      await serve.ctl(['stop']);
    }
  });
});
