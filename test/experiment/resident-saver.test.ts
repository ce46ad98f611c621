import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Push } from 'zeromq';
import { ResidentSaver } from '../../src/experiment/resident-saver.js';
import { encodeFrame, encodeRunEnd, encodeRunStart } from '../../src/protocol/codec.js';
import type { SaverInit } from '../../src/protocol/process-messages.js';
import { isAlive, scratchDir } from '../helpers/processes.js';
import { waitUntil } from '../helpers/poll.js';
import { testRunEnd, testRunStart } from '../helpers/run-messages.js';

const scratch = scratchDir();
after(() => scratch.cleanup());

const SHAPE = [4, 4];
const T0 = 1_800_000_000_000_000_000n;

async function sendRun(push: Push, runId: string): Promise<void> {
  await push.send(
    encodeRunStart(
      testRunStart(runId, {
        shape: SHAPE,
        dtype: 'uint8',
        frames_requested: 1,
        start_wall_ns: T0,
        camera: { driver: 'test', model: 'keeper', settings: {} },
      }),
    ),
  );
  await push.send(
    encodeFrame({ protocol: 1, run_id: runId, seq: 0, camera_ts_ns: T0, wall_ts_ns: T0, shape: SHAPE, dtype: 'uint8' }, new Uint8Array(16)),
  );
  await push.send(encodeRunEnd(testRunEnd(runId, 1)));
}

const idlePid = (keeper: ResidentSaver): number | null => keeper.idle?.pid ?? null;

test('the saver kept ready: not restarted when it dies before it is ready, handed back after a clean run, replaced when killed idle', async () => {
  const push = new Push({ linger: 0 });
  await push.bind('tcp://127.0.0.1:*');
  const endpoint = push.lastEndpoint!;
  const keeper = new ResidentSaver();
  try {
    keeper.keepReady({ endpoint });
    const stillborn = idlePid(keeper)!;
    process.kill(stillborn, 'SIGKILL');
    await waitUntil(
      'the killed saver to be gone',
      async () => isAlive(stillborn),
      (alive) => !alive,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(idlePid(keeper), null, 'a saver that never got ready is not restarted by itself');

    // The next recording starts one, and gets it back after a clean run.
    const init: SaverInit = { endpoint, runId: 'run-1', outPath: join(scratch.dir, 'one.h5'), overwrite: false, flushIntervalMs: 1000 };
    const port = keeper.startSaver(init);
    assert.equal(idlePid(keeper), null, 'busy with the run');
    await port.waitFor('ready');
    const closed = port.waitFor('file-closed');
    await sendRun(push, 'run-1');
    assert.equal((await closed).summary.framesWritten, 1);
    assert.equal(await port.shutdown({ type: 'shutdown' }, 10_000), null, 'handed back, still running');
    assert.equal(idlePid(keeper), port.pid);

    // Killed while idle: another is started at once.
    const killed = port.pid!;
    process.kill(killed, 'SIGKILL');
    const replacement = await waitUntil(
      'a replacement',
      async () => idlePid(keeper),
      (pid) => pid !== null && pid !== killed,
    );
    const second = keeper.startSaver({ ...init, runId: 'run-2', outPath: join(scratch.dir, 'two.h5') });
    assert.equal(second.pid, replacement, 'the next recording gets the replacement');
    await second.waitFor('ready');
    const closedAgain = second.waitFor('file-closed');
    await sendRun(push, 'run-2');
    assert.equal((await closedAgain).summary.path, join(scratch.dir, 'two.h5'));
    await second.shutdown({ type: 'shutdown' }, 10_000);

    await keeper.shutdown();
    assert.equal(idlePid(keeper), null);
    assert.equal(isAlive(replacement!), false, 'shut down with serve');
  } finally {
    await keeper.shutdown();
    push.close();
  }
});
