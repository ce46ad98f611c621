import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Subscriber } from 'zeromq';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { curveClientOptions, readPublicKeyFile } from '../../src/transport/curve.js';
import { delay, freePort, pythonExampleFromDoc, runLabcast, runPython, runPythonFile, scratchDir } from '../helpers/processes.js';
import { freeServePorts, startServe, type RunningServe } from '../helpers/serve.js';
import { openWebSocket, watchLive } from '../helpers/ws-client.js';

const PROTOCOL_DOC = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));

interface MadeKeys {
  public_key: string;
  public_key_file: string;
  secret_key_file: string;
}

async function makeKeys(dir: string): Promise<MadeKeys> {
  const made = await runLabcast(['keys', '--out', dir, '--json']);
  assert.equal(made.code, 0, made.stderr);
  return JSON.parse(made.stdout) as MadeKeys;
}

describe('labcast serve with CURVE keys', () => {
  const scratch = scratchDir();
  let keys: MadeKeys;
  let serve: RunningServe;

  before(async () => {
    keys = await makeKeys(join(scratch.dir, 'keys'));
    serve = await startServe(
      scratch.dir,
      { fps: 50 },
      { security: { server_public_key_file: keys.public_key_file, server_secret_key_file: keys.secret_key_file } },
      { serverKeyFile: keys.public_key_file },
    );
  });
  after(async () => {
    await serve?.stop();
    scratch.cleanup();
  });

  test('labcast keys: the printed public key is the one in the files; secret 0600; pyzmq reads both', async () => {
    assert.match(keys.public_key, /^.{40}$/);
    assert.equal(statSync(keys.secret_key_file).mode & 0o777, 0o600);
    assert.equal(statSync(keys.public_key_file).mode & 0o777, 0o644);
    const read = await runPython(
      'import sys, zmq.auth\np, _ = zmq.auth.load_certificate(sys.argv[1])\n' +
        'p2, s = zmq.auth.load_certificate(sys.argv[2])\nprint(p.decode(), p2 == p, s is not None and len(s) == 40)',
      [keys.public_key_file, keys.secret_key_file],
    );
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout.trim(), `${keys.public_key} True True`);
    const again = await runLabcast(['keys', '--out', join(scratch.dir, 'keys')]);
    assert.equal(again.code, 2, 'an existing pair is not replaced without --overwrite');
    assert.match(again.stderr, /exists; a new key pair would lock out every client/);
  });

  test('labcast ctl with the server key is answered; without it, or with another key, it fails with HANDSHAKE_FAILED', async () => {
    const status = await serve.statusNow();
    assert.equal(status.state, 'idle');
    const none = await runLabcast(['ctl', '--control', serve.control, 'status']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /secure handshake with .* failed .*that server uses CURVE: give its public key \(--server-key FILE/);
    const other = await makeKeys(join(scratch.dir, 'other-keys'));
    const wrong = await runLabcast(['ctl', '--control', serve.control, '--server-key', other.public_key_file, 'live']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /secure handshake with .* failed .*check the server key/);
    const secretGiven = await runLabcast(['ctl', '--control', serve.control, '--server-key', keys.secret_key_file, 'status']);
    assert.equal(secretGiven.code, 2);
    assert.match(secretGiven.stderr, /is a secret key file; give the public one/);
    assert.equal(serve.child.exitCode, null, 'serve is still running');
    assert.equal((await serve.statusNow()).state, 'idle', 'the refused "live" changed nothing');
  });

  test("a recording through serve's own saver (a CURVE client) is complete", async () => {
    const recorded = await serve.ctl(['record', '--frames', '40', '--out', 'curve.h5']);
    assert.equal(recorded.code, 0, recorded.stderr);
    const done = await serve.waitFor((s) => s.state === 'idle' && s.last_recording !== null);
    assert.equal(done.last_recording?.frames_written, 40);
    assert.equal(done.last_recording?.error, null);
    const read = await runPython(
      'import sys, h5py\nf = h5py.File(sys.argv[1], "r")\n' +
        'print(f["entry/data/frames"].shape[0], f["entry/data/frame_id"][:].tolist() == list(range(40)))',
      [join(serve.dataDir, 'curve.h5')],
    );
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout.trim(), '40 True');
  });

  test('the web UI reaches serve through CURVE: status, commands and live frames', async () => {
    const status = (await (await fetch(`${serve.web}/api/status`)).json()) as { ok: boolean; result: ExperimentStatus };
    assert.equal(status.ok, true);
    const live = await fetch(`${serve.web}/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"cmd":"live"}',
    });
    assert.equal(live.status, 200, await live.text());
    const socket = await openWebSocket(`${serve.web.replace('http', 'ws')}/ws/live`);
    try {
      const watched = watchLive(socket);
      const deadline = Date.now() + 10_000;
      while (watched.frames.length < 5 && Date.now() < deadline) await delay(50);
      assert.ok(watched.frames.length >= 5, `the live view shows frames from the CURVE data endpoint (${watched.frames.length})`);
    } finally {
      socket.close();
      await serve.ctl(['stop']);
    }
  });

  test('the pyzmq CURVE example of docs/protocol.md receives frames; without the key Python gets nothing', async () => {
    await serve.ctl(['live']);
    try {
      const script = join(scratch.dir, 'curve.py');
      writeFileSync(script, pythonExampleFromDoc(PROTOCOL_DOC, 'curve'));
      const python = await runPythonFile(script, [serve.data, keys.public_key_file]);
      assert.equal(python.code, 0, python.stderr);
      const lines = python.stdout.trim().split('\n');
      assert.equal(lines.length, 5);
      for (const line of lines) assert.match(line, /^\d+ \[96, 128\] 24576$/);
      const plain = await runPython(
        'import sys, zmq\nctx = zmq.Context()\ns = ctx.socket(zmq.SUB)\ns.setsockopt(zmq.RCVTIMEO, 1500)\n' +
          's.connect(sys.argv[1])\ns.setsockopt(zmq.SUBSCRIBE, b"")\n' +
          'try:\n    s.recv_multipart()\n    print("got a frame")\n' +
          'except zmq.Again:\n    print("nothing")\ns.close(linger=0)\nctx.term()',
        [serve.data],
      );
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(plain.stdout.trim(), 'nothing');
    } finally {
      await serve.ctl(['stop']);
    }
  });

  test('analyses read the CURVE data endpoint and publish on the CURVE results endpoint; only a keyed subscriber gets them', async () => {
    const serverKey = readPublicKeyFile(keys.public_key_file, 'test');
    const keyed = new Subscriber({ linger: 0, ...curveClientOptions(serverKey) });
    const plain = new Subscriber({ linger: 0, receiveTimeout: 1500 });
    keyed.connect(serve.results);
    plain.connect(serve.results);
    keyed.subscribe('analysis/stats');
    plain.subscribe('analysis/stats');
    try {
      const started = await serve.ctl(['analysis', 'start', 'stats']);
      assert.equal(started.code, 0, started.stderr);
      await serve.ctl(['live']);
      const [topic, header] = await Promise.race([
        keyed.receive(),
        delay(20_000).then(() => assert.fail('no result through CURVE within 20 s: the analysis got no frames or could not publish')),
      ]);
      assert.equal(topic!.toString(), 'analysis/stats');
      assert.match(header!.toString(), /"name":"stats"/);
      await assert.rejects(plain.receive(), 'a subscriber without the key gets nothing');
    } finally {
      keyed.close();
      plain.close();
      await serve.ctl(['stop']);
      await serve.ctl(['analysis', 'stop', 'stats']);
    }
  });
});

describe('binding beyond loopback', () => {
  const scratch = scratchDir();
  after(() => scratch.cleanup());

  async function writeConfig(name: string, endpoints: Record<string, string>, security?: Record<string, string>): Promise<string> {
    const free = await freeServePorts();
    const config = {
      camera: { driver: 'sim', width: 64, height: 48, fps: 50 },
      endpoints: { ...free.endpoints, ...endpoints },
      web: { port: free.webPort },
      storage: { data_dir: join(scratch.dir, 'data') },
      ...(security === undefined ? {} : { security }),
    };
    const path = join(scratch.dir, `${name}.yaml`);
    writeFileSync(path, JSON.stringify(config, null, 2));
    return path;
  }

  test('serve refuses to start without CURVE keys, naming the endpoint and the security keys; nothing starts', async () => {
    const port = await freePort();
    const path = await writeConfig('open', { data: `tcp://0.0.0.0:${port}`, record: 'tcp://*:5999' });
    const started = Date.now();
    const ran = await runLabcast(['serve', '--config', path]);
    assert.equal(ran.code, 2, ran.stderr);
    assert.ok(Date.now() - started < 5000, 'refused at once, before any process starts');
    assert.match(
      ran.stderr,
      new RegExp(
        /endpoints\.data: binds an address other machines can reach, which needs ZeroMQ CURVE keys: /.source +
          /set security\.server_public_key_file and security\.server_secret_key_file/.source,
      ),
    );
    assert.match(ran.stderr, /endpoints\.record: binds an address/);
    assert.match(ran.stderr, /open\.yaml:\d+:\d+/, 'with the line of the endpoint');
    assert.doesNotMatch(ran.stderr, /ready/);
  });

  test('half a key pair is refused naming the missing key', async () => {
    const path = await writeConfig('half', {}, { server_public_key_file: '/nonexistent.key' });
    const ran = await runLabcast(['serve', '--config', path]);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /security\.server_secret_key_file: is required with security\.server_public_key_file/);
  });

  test('with keys, serve binds 0.0.0.0, and a client with the key reaches it (over 127.0.0.1)', async () => {
    const made = await makeKeys(join(scratch.dir, 'keys'));
    const [data, control, status] = await Promise.all([freePort(), freePort(), freePort()]);
    const path = await writeConfig(
      'secured',
      { data: `tcp://0.0.0.0:${data}`, control: `tcp://0.0.0.0:${control}`, status: `tcp://0.0.0.0:${status}` },
      { server_public_key_file: made.public_key_file, server_secret_key_file: made.secret_key_file },
    );
    const { startLabcast, collect } = await import('../helpers/processes.js');
    const child = startLabcast(['serve', '--config', path]);
    const finished = collect(child);
    try {
      let answer = await runLabcast([
        'ctl',
        '--control',
        `tcp://127.0.0.1:${control}`,
        '--server-key',
        made.public_key_file,
        '--json',
        'status',
      ]);
      for (let i = 0; i < 100 && answer.code !== 0; i++) {
        await delay(100);
        answer = await runLabcast([
          'ctl',
          '--control',
          `tcp://127.0.0.1:${control}`,
          '--server-key',
          made.public_key_file,
          '--json',
          'status',
        ]);
      }
      assert.equal(answer.code, 0, answer.stderr);
      assert.equal((JSON.parse(answer.stdout) as ExperimentStatus).state, 'idle');
    } finally {
      child.kill('SIGTERM');
      const done = await finished;
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stderr, /security ZeroMQ CURVE on data, control, record and status/);
    }
  });
});
