import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { curveKeyPair } from 'zeromq';
import type { ExperimentStatus } from '../../src/protocol/control.js';
import { encodeFrame } from '../../src/protocol/codec.js';
import type { LabcastError } from '../../src/protocol/errors.js';
import type { FrameHeader } from '../../src/protocol/messages.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { ControlClient } from '../../src/transport/control-client.js';
import { ControlServer } from '../../src/transport/control-server.js';
import { isLoopbackEndpoint, isLoopbackHost } from '../../src/protocol/endpoints.js';
import { publicKeyOf, readPublicKeyFile, readServerKeyFiles, writeKeyFiles } from '../../src/transport/curve.js';
import { DataReceiver } from '../../src/transport/data-receiver.js';
import { LivePublisher } from '../../src/transport/live-publisher.js';
import { LosslessSender } from '../../src/transport/lossless-sender.js';
import { StatusPublisher, StatusSubscriber } from '../../src/transport/status-channel.js';
import { delay, scratchDir } from '../helpers/processes.js';
import { InProcessExperiment } from '../helpers/in-process-experiment.js';

const scratch = scratchDir();
after(() => scratch.cleanup());

const server = curveKeyPair();
/** Another server's key: what a client configured with the wrong file holds. */
const wrongKey = curveKeyPair().publicKey;

function frame(seq: number): ReturnType<typeof encodeFrame> {
  const header: FrameHeader = {
    protocol: PROTOCOL_VERSION,
    run_id: 'curve-run',
    seq,
    camera_ts_ns: 1_800_000_000_000_000_000n + BigInt(seq),
    wall_ts_ns: 1_800_000_000_000_000_000n + BigInt(seq),
    shape: [4, 4],
    dtype: 'uint8',
  };
  return encodeFrame(header, new Uint8Array(16).fill(seq % 256));
}

/** Every valid message `receiver` yields within `ms`; then it is closed. */
async function collectFor(receiver: DataReceiver, ms: number): Promise<number[]> {
  const seqs: number[] = [];
  const timer = setTimeout(() => receiver.close(), ms);
  for await (const message of receiver.messages()) {
    if (message.topic === 'frame') seqs.push(message.header.seq);
  }
  clearTimeout(timer);
  return seqs;
}

async function collectStatuses(subscriber: StatusSubscriber, ms: number): Promise<ExperimentStatus[]> {
  const statuses: ExperimentStatus[] = [];
  const timer = setTimeout(() => subscriber.close(), ms);
  for await (const status of subscriber) statuses.push(status);
  clearTimeout(timer);
  return statuses;
}

describe('every labcast socket as a CURVE server (real sockets)', () => {
  test('data (PUB): the right server key gets frames; a wrong key or none gets nothing; the publisher carries on', async () => {
    const publisher = await LivePublisher.bind('tcp://127.0.0.1:*', 16, server);
    const right = DataReceiver.subscribe(publisher.endpoint, ['frame'], server.publicKey);
    const wrong = DataReceiver.subscribe(publisher.endpoint, ['frame'], wrongKey);
    const none = DataReceiver.subscribe(publisher.endpoint, ['frame']);
    let seq = 0;
    const ticker = setInterval(() => publisher.publish(frame(seq++)), 10);
    try {
      const [gotRight, gotWrong, gotNone] = await Promise.all([collectFor(right, 1500), collectFor(wrong, 1500), collectFor(none, 1500)]);
      assert.ok(gotRight.length > 20, `the right key gets frames (${gotRight.length})`);
      assert.deepEqual(gotWrong, [], 'a wrong server key gets nothing');
      assert.deepEqual(gotNone, [], 'no key gets nothing');
      // The failed clients did not disturb the publisher: a new right client is served.
      const again = await collectFor(DataReceiver.subscribe(publisher.endpoint, ['frame'], server.publicKey), 800);
      assert.ok(again.length > 10);
    } finally {
      clearInterval(ticker);
      publisher.close();
    }
  });

  test('record (PUSH): only a saver with the right key counts as a peer and gets frames', async () => {
    const sender = await LosslessSender.bind('tcp://127.0.0.1:*', 1_000_000, server);
    const wrong = DataReceiver.pull(sender.endpoint, wrongKey);
    const none = DataReceiver.pull(sender.endpoint);
    try {
      // Wrong-key savers are accepted at TCP level, fail the handshake and are dropped, over and over:
      // none of that may pass for a saver.
      await assert.rejects(sender.waitForPeers(1, 1500), (error: LabcastError) => {
        assert.equal(error.code, 'NO_SAVER');
        assert.match(error.message, /found 0/);
        return true;
      });
      const right = DataReceiver.pull(sender.endpoint, server.publicKey);
      await sender.waitForPeers(1, 5000);
      for (let i = 0; i < 50; i++) assert.ok(sender.offer(frame(i), 16, i));
      await sender.drain();
      const [gotRight, gotWrong, gotNone] = await Promise.all([collectFor(right, 1000), collectFor(wrong, 1000), collectFor(none, 1000)]);
      assert.deepEqual(
        gotRight,
        Array.from({ length: 50 }, (_, i) => i),
        'every frame, in order, to the right saver',
      );
      assert.deepEqual(gotWrong, []);
      assert.deepEqual(gotNone, []);
    } finally {
      wrong.close();
      none.close();
      sender.close(0);
    }
  });

  test('control (ROUTER): the right key gets replies; a wrong key or none gets HANDSHAKE_FAILED, the server answers on', async () => {
    const experiment = await InProcessExperiment.start();
    const control = await ControlServer.bind('tcp://127.0.0.1:*', experiment.handle, server);
    const clients: ControlClient[] = [];
    const connect = (serverKey: string | null): ControlClient => {
      const client = ControlClient.connect(control.endpoint, { timeoutMs: 5000, connectTimeoutMs: 1000, serverKey });
      clients.push(client);
      return client;
    };
    try {
      const status = (await connect(server.publicKey).request({ cmd: 'status' })) as ExperimentStatus;
      assert.equal(status.state, 'idle');
      for (const [key, hint] of [
        [wrongKey, /check the server key/],
        [null, /that server uses CURVE: give its public key/],
      ] as const) {
        await assert.rejects(connect(key).request({ cmd: 'live' }), (error: LabcastError) => {
          assert.equal(error.code, 'HANDSHAKE_FAILED', error.message);
          assert.match(error.message, new RegExp(`handshake with ${control.endpoint.replace(/[.*]/g, '\\$&')} failed`));
          assert.match(error.message, hint);
          return true;
        });
      }
      assert.deepEqual(
        experiment.handled.map((request) => request.cmd),
        ['status'],
        'nothing from a client without the right key reached the handler',
      );
      const later = (await connect(server.publicKey).request({ cmd: 'live' })) as ExperimentStatus;
      assert.equal(later.state, 'live');
    } finally {
      for (const client of clients) client.close();
      await control.close();
      await experiment.close();
    }
  });

  test('status (PUB): the right key gets every status; a wrong key or none gets nothing', async () => {
    const publisher = await StatusPublisher.bind('tcp://127.0.0.1:*', server);
    const right = StatusSubscriber.connect(publisher.endpoint, server.publicKey);
    const wrong = StatusSubscriber.connect(publisher.endpoint, wrongKey);
    const none = StatusSubscriber.connect(publisher.endpoint);
    const experiment = await InProcessExperiment.start();
    const ticker = setInterval(() => publisher.publish(experiment.status()), 20);
    try {
      const [gotRight, gotWrong, gotNone] = await Promise.all([
        collectStatuses(right, 1200),
        collectStatuses(wrong, 1200),
        collectStatuses(none, 1200),
      ]);
      assert.ok(gotRight.length > 10, `${gotRight.length} statuses`);
      assert.deepEqual(gotWrong, []);
      assert.deepEqual(gotNone, []);
    } finally {
      clearInterval(ticker);
      publisher.close();
      await experiment.close();
    }
  });
});

describe('key files', () => {
  test('labcast keys files: public readable, secret 0600, both read back and belong together', () => {
    const pair = curveKeyPair();
    const files = writeKeyFiles(join(scratch.dir, 'keys'), 'scope', pair, false);
    assert.equal(statSync(files.publicKeyFile).mode & 0o777, 0o644);
    assert.equal(statSync(files.secretKeyFile).mode & 0o777, 0o600);
    assert.deepEqual(readServerKeyFiles(files), pair);
    assert.equal(readPublicKeyFile(files.publicKeyFile, '--server-key'), pair.publicKey);
    assert.equal(publicKeyOf(pair.secretKey), pair.publicKey);
    assert.throws(() => writeKeyFiles(join(scratch.dir, 'keys'), 'scope', curveKeyPair(), false), { code: 'OUTPUT_EXISTS' });
    assert.throws(() => readPublicKeyFile(files.secretKeyFile, '--server-key'), /is a secret key file; give the public one/);
  });

  test('a bare 40-character key file is read too; a file that is no key names the field', () => {
    const pair = curveKeyPair();
    const bare = join(scratch.dir, 'bare.key');
    writeFileSync(bare, `${pair.publicKey}\n`);
    assert.equal(readPublicKeyFile(bare, '--server-key'), pair.publicKey);
    const junk = join(scratch.dir, 'junk.key');
    writeFileSync(junk, 'hello\n');
    assert.throws(
      () => readPublicKeyFile(junk, 'security.server_public_key_file'),
      (error: LabcastError) => {
        assert.equal(error.field, 'security.server_public_key_file');
        assert.match(error.message, /not a CURVE key/);
        return true;
      },
    );
    assert.throws(
      () => readPublicKeyFile(join(scratch.dir, 'missing.key'), '--server-key'),
      /does not exist; make a key pair with `labcast keys/,
    );
  });

  test('a secret key others can read, or keys of two different pairs, are refused', () => {
    const files = writeKeyFiles(join(scratch.dir, 'loose'), 'labcast', curveKeyPair(), false);
    chmodSync(files.secretKeyFile, 0o640);
    assert.throws(() => readServerKeyFiles(files), /can be read by other users \(mode 0640\); make it private with: chmod 600/);
    chmodSync(files.secretKeyFile, 0o600);
    const other = writeKeyFiles(join(scratch.dir, 'other'), 'labcast', curveKeyPair(), false);
    assert.throws(
      () => readServerKeyFiles({ publicKeyFile: other.publicKeyFile, secretKeyFile: files.secretKeyFile }),
      /is not the public key of the secret key in/,
    );
    assert.match(readFileSync(files.secretKeyFile, 'utf8'), /secret-key = "/);
  });
});

test('which endpoints need CURVE: anything but 127.0.0.0/8, ::1, localhost, ipc:// and inproc://', async () => {
  for (const endpoint of [
    'tcp://127.0.0.1:5555',
    'tcp://127.1.2.3:*',
    'tcp://[::1]:5555',
    'tcp://localhost:5555',
    'ipc:///tmp/x.sock',
    'inproc://x',
  ]) {
    assert.equal(isLoopbackEndpoint(endpoint), true, endpoint);
  }
  for (const endpoint of [
    'tcp://0.0.0.0:5555',
    'tcp://*:5555',
    'tcp://10.231.0.1:5557',
    'tcp://[::]:5555',
    'tcp://eth0:5555',
    'tcp://128.0.0.1:1',
    'tcp://127.0.0.256:1',
  ]) {
    assert.equal(isLoopbackEndpoint(endpoint), false, endpoint);
  }
  assert.equal(isLoopbackHost('::ffff:127.0.0.1'), true);
  assert.equal(isLoopbackHost('0.0.0.0'), false);
  await delay(0);
});
