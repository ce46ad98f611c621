import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, runLabcast, scratchDir } from '../helpers/processes.js';
import { startServe } from '../helpers/serve.js';

test('labcast serve fails to start, exit 2, when the web port is in use', async () => {
  const scratch = scratchDir();
  const blocker = createServer();
  try {
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const webPort = (blocker.address() as { port: number }).port;
    const [data, control, record, status] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const config = {
      camera: { driver: 'sim', width: 64, height: 48 },
      endpoints: {
        data: `tcp://127.0.0.1:${data}`,
        control: `tcp://127.0.0.1:${control}`,
        record: `tcp://127.0.0.1:${record}`,
        status: `tcp://127.0.0.1:${status}`,
      },
      web: { port: webPort },
      storage: { data_dir: join(scratch.dir, 'data') },
    };
    const configPath = join(scratch.dir, 'lab.yaml');
    writeFileSync(configPath, JSON.stringify(config));
    const ran = await runLabcast(['serve', '--config', configPath]);
    assert.equal(ran.code, 2, ran.stderr);
    assert.match(ran.stderr, new RegExp(`the web port 127\\.0\\.0\\.1:${webPort} is already in use`));
  } finally {
    blocker.close();
    scratch.cleanup();
  }
});

test('the start-up banner gives the web URL, and SIGTERM closes the web server with everything else', async () => {
  const scratch = scratchDir();
  try {
    const serve = await startServe(scratch.dir);
    const page = await fetch(`${serve.web}/`);
    assert.equal(page.status, 200);
    const status = (await (await fetch(`${serve.web}/api/status`)).json()) as { ok: boolean; result: { state: string } };
    assert.deepEqual([status.ok, status.result.state], [true, 'idle']);
    serve.child.kill('SIGTERM');
    const finished = await serve.finished;
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stderr, new RegExp(`web +${serve.web.replace(/\./g, '\\.')}/ +\\(open in a browser\\)`));
    await assert.rejects(fetch(`${serve.web}/api/status`), 'nothing listens any more');
  } finally {
    scratch.cleanup();
  }
});
