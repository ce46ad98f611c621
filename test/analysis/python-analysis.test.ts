import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collect, PYTHON, pythonExampleFromDoc, runPythonFile, scratchDir } from '../helpers/processes.js';
import { startServe, type RunningServe } from '../helpers/serve.js';
import { FrameCollector, frameKey, ResultsSubscriber } from './results.js';

const SPOT_COUNTER = fileURLToPath(new URL('../../../examples/python/spot_counter.py', import.meta.url));
const PROTOCOL_DOC = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));
const CAMERA = { width: 256, height: 256, fps: 30, particle_count: 20, seed: 4 };

describe('Python and the results endpoint, against a real labcast serve', () => {
  const scratch = scratchDir();
  let serve: RunningServe;

  before(async () => {
    serve = await startServe(scratch.dir, CAMERA);
    assert.equal((await serve.ctl(['live'])).code, 0);
  });

  after(async () => {
    await serve?.stop();
    scratch.cleanup();
  });

  test('examples/python/spot_counter.py: subscribes to frames, publishes to results_in; results reach the results endpoint', async () => {
    const results = new ResultsSubscriber(serve.results, ['analysis/spot_counter']);
    const frames = new FrameCollector(serve.data);
    const child = spawn(PYTHON, [SPOT_COUNTER, '--data', serve.data, '--results-in', serve.resultsIn, '--results', '40'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const python = collect(child);
    try {
      const received = await results.waitFor('spot_counter', 10, 30_000);
      const runId = (await serve.statusNow()).run_id;
      let checked = 0;
      for (const result of received) {
        const { header } = result;
        assert.equal(header.protocol, 1);
        assert.equal(header.kind, 'python');
        assert.equal(header.run_id, runId);
        assert.deepEqual(header.shape, [256, 256]);
        assert.equal(typeof header.camera_ts_ns, 'bigint');
        const body = result.body as { count: number; x: number[]; y: number[]; skipped: number };
        assert.equal(body.x.length, body.count);
        // Against the truth of the same frame: every particle well inside the frame and clear of the others is a spot.
        const frame = frames.headers.get(frameKey(header));
        if (frame === undefined) continue;
        assert.equal(header.camera_ts_ns, frame.camera_ts_ns, 'the result names the frame it is of');
        const truth = frame.truth!;
        const isolated = truth.x
          .map((x, i) => ({ x, y: truth.y[i]! }))
          .filter(
            (p, i, all) =>
              p.x > 4 && p.y > 4 && p.x < 251 && p.y < 251 && all.every((q, j) => j === i || (q.x - p.x) ** 2 + (q.y - p.y) ** 2 > 64),
          );
        for (const p of isolated) {
          assert.ok(
            body.x.some((x, k) => Math.abs(x - p.x) <= 1 && Math.abs(body.y[k]! - p.y) <= 1),
            `particle at ${p.x}, ${p.y} counted in frame ${header.seq}`,
          );
        }
        assert.ok(body.count <= truth.x.length + 2, `${body.count} spots for ${truth.x.length} particles`);
        checked += 1;
      }
      assert.ok(checked >= 5, `${checked} results checked against their frame`);
      assert.deepEqual(results.malformed, []);
      const done = await python;
      assert.equal(done.code, 0, done.stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      results.close();
      frames.close();
    }
  });

  test('the results example in docs/protocol.md prints the stats analysis results', async () => {
    const script = join(scratch.dir, 'results.py');
    writeFileSync(script, pythonExampleFromDoc(PROTOCOL_DOC, 'results'));
    assert.equal((await serve.ctl(['analysis', 'start', 'stats'])).code, 0);
    try {
      const python = await runPythonFile(script, [serve.results]);
      assert.equal(python.code, 0, python.stderr);
      const lines = python.stdout.trim().split('\n');
      assert.equal(lines.length, 5);
      for (const line of lines) assert.match(line, /^analysis\/stats \d+ \d+\.\d+ \d+\.\d+$/);
    } finally {
      await serve.ctl(['analysis', 'stop', 'stats']);
    }
  });
});
