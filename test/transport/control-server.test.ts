import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dealer } from 'zeromq';
import { CONTROL_COMMANDS, parseControlResult, type ControlRequest } from '../../src/protocol/control.js';
import { LabcastError } from '../../src/protocol/errors.js';
import { ControlClient } from '../../src/transport/control-client.js';
import { ControlServer, MAX_REQUESTS_IN_FLIGHT } from '../../src/transport/control-server.js';
import { delay, runPython } from '../helpers/processes.js';
import { InProcessExperiment, type InProcessExperimentOptions } from '../helpers/in-process-experiment.js';
import { closedAfterEachTest } from '../helpers/sockets.js';

interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}
type Reply = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

const { open, serveControl: serve } = closedAfterEachTest();

/** The real controller (camera and saver in this process), closed after the test. */
async function startExperiment(options: InProcessExperimentOptions = {}): Promise<InProcessExperiment> {
  const experiment = await InProcessExperiment.start(options);
  open.push(experiment);
  return experiment;
}

function rawDealer(endpoint: string): Dealer {
  const socket = new Dealer({ linger: 0, receiveTimeout: 5000 });
  socket.connect(endpoint);
  open.push(socket);
  return socket;
}

/** Sends `parts` as they are and returns the reply's frames. */
async function exchangeRaw(socket: Dealer, parts: (string | Buffer)[]): Promise<Buffer[]> {
  await socket.send(parts);
  return socket.receive();
}

/** The JSON reply to a REQ-style request (empty delimiter, then `payload`). */
async function ask(socket: Dealer, payload: string | Buffer): Promise<Reply> {
  const reply = await exchangeRaw(socket, ['', payload]);
  assert.equal(reply.length, 2, 'the reply comes back on the same envelope');
  assert.equal(reply[0]!.length, 0);
  return JSON.parse(reply[1]!.toString()) as Reply;
}

function errorOf(reply: Reply): ErrorBody {
  assert.equal(reply.ok, false, `expected an error reply, got ${JSON.stringify(reply)}`);
  return (reply as { error: ErrorBody }).error;
}

describe('control server (real sockets)', () => {
  test('valid requests round-trip and results follow the protocol', async () => {
    const experiment = await startExperiment();
    const server = await serve(experiment.handle);
    const socket = rawDealer(server.endpoint);
    const status = await ask(socket, JSON.stringify({ cmd: 'status' }));
    assert.equal(status.ok, true);
    assert.equal(parseControlResult('status', (status as { result: unknown }).result).state, 'idle');
    const live = await ask(socket, JSON.stringify({ cmd: 'live' }));
    assert.equal(parseControlResult('live', (live as { result: unknown }).result).state, 'live');
    const set = await ask(socket, JSON.stringify({ cmd: 'set', name: 'exposure_ms', value: 20 }));
    assert.equal(parseControlResult('set', (set as { result: unknown }).result).settings.exposure_ms, 20);
    assert.deepEqual(
      experiment.handled.map((r) => r.cmd),
      ['status', 'live', 'set'],
    );
  });

  test('an unknown command is refused with every known command listed', async () => {
    const experiment = await startExperiment();
    const server = await serve(experiment.handle);
    const socket = rawDealer(server.endpoint);
    for (const request of [{ cmd: 'fly' }, { cmd: 42 }, { command: 'status' }]) {
      const error = errorOf(await ask(socket, JSON.stringify(request)));
      assert.equal(error.code, 'BAD_REQUEST');
      assert.equal(error.field, 'cmd');
      for (const known of CONTROL_COMMANDS) assert.ok(error.message.includes(known), `${error.message} lists ${known}`);
    }
    assert.match(errorOf(await ask(socket, '{"cmd":"fly"}')).message, /^unknown command "fly"; known commands: status, live/);
    assert.deepEqual(experiment.handled, []);
  });

  test('wrong types, out-of-range values, missing and unknown arguments name the field and what it accepts', async () => {
    const experiment = await startExperiment();
    const server = await serve(experiment.handle);
    const socket = rawDealer(server.endpoint);
    const cases: [unknown, string, RegExp][] = [
      [{ cmd: 'record', frames: 'ten' }, 'frames', /^record: "frames" must be a whole number from 1 to 1e12, got "ten"$/],
      [{ cmd: 'record', frames: 0 }, 'frames', /"frames" is out of range: it must be a whole number from 1 to 1e12, got 0$/],
      [{ cmd: 'record', frames: 2.5 }, 'frames', /whole number.*got 2\.5/],
      [{ cmd: 'record', duration_s: -1 }, 'duration_s', /"duration_s" is out of range: it must be a number > 0 and <= 1e7, got -1/],
      [
        { cmd: 'record', path: 'x'.repeat(5000) },
        'path',
        /"path" is too long: it must be a string of 1 to 4096 characters, got a string of 5000 characters/,
      ],
      [{ cmd: 'record', fps: 30 }, 'fps', /^record: unknown argument "fps"; "record" takes frames, duration_s, path, name, note$/],
      [{ cmd: 'status', verbose: true }, 'verbose', /"status" takes no arguments/],
      [{ cmd: 'save' }, 'on', /^save: "on" is required: true or false$/],
      [{ cmd: 'save', on: 'yes' }, 'on', /"on" must be true or false, got "yes"/],
      // Strings and booleans are values of GenICam Enumeration, String and Boolean features.
      [
        { cmd: 'set', name: 'gain', value: [2] },
        'value',
        /"value" must be a finite number, or a string of 0 to 1000 characters, or true or false, got an array/,
      ],
      [{ cmd: 'set', name: 'gain', value: null }, 'value', /got null/],
      [{ cmd: 'set', name: 7, value: 2 }, 'name', /"name" must be a string of 1 to 200 characters, got 7/],
      [{ cmd: 'subscriber', action: 'restart', name: 'saver' }, 'action', /"action" must be one of "start", "stop", got "restart"/],
    ];
    for (const [request, field, message] of cases) {
      const error = errorOf(await ask(socket, JSON.stringify(request)));
      assert.equal(error.code, 'BAD_REQUEST', JSON.stringify(request));
      assert.equal(error.field, field, JSON.stringify(request));
      assert.match(error.message, message);
    }
    // JSON has no Infinity, but 1e400 parses as one.
    const huge = errorOf(await ask(socket, '{"cmd":"set","name":"gain","value":1e400}'));
    assert.equal(huge.field, 'value');
    assert.match(huge.message, /finite number, .*got Infinity/);
    assert.deepEqual(experiment.handled, [], 'the handler never saw an invalid request');
  });

  test('invalid JSON, non-objects, bad UTF-8, empty, multi-part and oversized messages each get an error reply', async () => {
    const experiment = await startExperiment();
    const server = await serve(experiment.handle);
    const socket = rawDealer(server.endpoint);
    const cases: [string | Buffer, RegExp][] = [
      ['{"cmd":', /not valid JSON/],
      ['status', /not valid JSON/],
      ['[{"cmd":"status"}]', /must be a JSON object.*got an array/],
      ['"status"', /must be a JSON object.*got "status"/],
      ['null', /got null/],
      ['12', /got 12/],
      [Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), /not UTF-8/],
      [Buffer.alloc(0), /empty/],
      [JSON.stringify({ cmd: 'record', path: 'x'.repeat(70_000) }), /70\d\d\d bytes; requests are limited to 65536 bytes/],
      [Buffer.alloc(4 * 1024 * 1024, 0x7b), /limited to 65536 bytes/],
      ['['.repeat(60_000) + ']'.repeat(5_000), /not valid JSON/],
    ];
    for (const [payload, message] of cases) {
      const error = errorOf(await ask(socket, payload));
      assert.equal(error.code, 'BAD_REQUEST');
      assert.match(error.message, message);
    }
    // A bare DEALER (no delimiter) gets its reply as a single frame.
    const bare = await exchangeRaw(socket, ['{"cmd":"status"}']);
    assert.equal(bare.length, 1);
    assert.equal((JSON.parse(bare[0]!.toString()) as Reply).ok, true);
    // Two body frames, and a delimiter with nothing after it.
    const twoParts = await exchangeRaw(socket, ['', '{"cmd":', '"status"}']);
    assert.match(errorOf(JSON.parse(twoParts.at(-1)!.toString()) as Reply).message, /2 message parts/);
    const onlyDelimiter = await exchangeRaw(socket, ['']);
    assert.match(errorOf(JSON.parse(onlyDelimiter.at(-1)!.toString()) as Reply).message, /empty/);
    assert.deepEqual(
      experiment.handled.map((r) => r.cmd),
      ['status'],
    );
  });

  test('2000 random garbage requests: every one gets an error reply, the state is unchanged, and status still works', async () => {
    const experiment = await startExperiment();
    const server = await serve(experiment.handle);
    const client = ControlClient.connect(server.endpoint, { timeoutMs: 5000 });
    open.push(client);
    await client.request({ cmd: 'live' });
    const socket = rawDealer(server.endpoint);
    const random = seededRandom(20240611);
    for (let i = 0; i < 2000; i++) {
      const parts = garbage(random);
      const reply = await exchangeRaw(socket, parts);
      const body = JSON.parse(reply.at(-1)!.toString()) as Reply;
      const error = errorOf(body);
      assert.equal(error.code, 'BAD_REQUEST', `request ${i}: ${JSON.stringify(parts.map(String)).slice(0, 200)}`);
      assert.ok(error.message.length > 10 && error.message.length < 1000, error.message);
    }
    assert.deepEqual(
      experiment.handled.map((r) => r.cmd),
      ['live'],
      'no garbage reached the handler',
    );
    assert.equal(parseControlResult('status', await client.request({ cmd: 'status' })).state, 'live');
  });

  test('a slow request does not hold up another client, and every reply reaches the client that asked', async () => {
    // A saver slower than the camera: stopping drains a backlog, so stop takes a while.
    const experiment = await startExperiment({ saver: { delayPerFrameMs: 20 } });
    const server = await serve(experiment.handle);
    const slow = ControlClient.connect(server.endpoint, { timeoutMs: 20_000 });
    const fast = ControlClient.connect(server.endpoint, { timeoutMs: 5000 });
    open.push(slow, fast);
    await fast.request({ cmd: 'record' });
    await experiment.waitFor((s) => s.frames.acquired - s.frames.saved > 60);
    let stopAnsweredAt = 0;
    const stopping = slow.request({ cmd: 'stop' }).then((result) => {
      stopAnsweredAt = Date.now();
      return result;
    });
    for (let i = 0; i < 20; i++) {
      const status = parseControlResult('status', await fast.request({ cmd: 'status' }));
      assert.equal(status.state, 'stopping', 'status answered while stop is still in progress');
    }
    assert.equal(stopAnsweredAt, 0, 'twenty statuses came back before the slow stop');
    assert.equal(parseControlResult('stop', await stopping).state, 'idle');

    // Interleaved requests from two clients: each gets its own answers.
    const a = rawDealer(server.endpoint);
    const b = rawDealer(server.endpoint);
    const names = ['exposure_ms', 'brightness', 'roi_width'];
    await Promise.all(
      [a, b].map(async (socket, which) => {
        for (let i = 0; i < 30; i++) {
          const name = names[(i + which) % names.length]!;
          const reply = await ask(socket, JSON.stringify({ cmd: 'get', name }));
          assert.equal(parseControlResult('get', (reply as { result: unknown }).result).name, name);
        }
      }),
    );
  });

  test('a flood of requests that all wait is handled a bounded number at a time, and every one is answered', async () => {
    let running = 0;
    let peak = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = await serve(async () => {
      running += 1;
      peak = Math.max(peak, running);
      await released;
      running -= 1;
      return 'done';
    });
    const socket = rawDealer(server.endpoint);
    const total = MAX_REQUESTS_IN_FLIGHT + 44;
    for (let i = 0; i < total; i++) await socket.send(['', '{"cmd":"stop"}']);
    const deadline = Date.now() + 5000;
    while (running < MAX_REQUESTS_IN_FLIGHT && Date.now() < deadline) await delay(10);
    await delay(100);
    assert.equal(running, MAX_REQUESTS_IN_FLIGHT, 'the rest wait in the queue');
    release();
    for (let i = 0; i < total; i++) {
      const [, reply] = await socket.receive();
      assert.deepEqual(JSON.parse(reply!.toString()), { ok: true, result: 'done' });
    }
    assert.equal(peak, MAX_REQUESTS_IN_FLIGHT);
  });

  test('handler errors: a LabcastError keeps code, message and field; anything else is INTERNAL; bigints are JSON integers', async () => {
    const server = await serve(async (request: ControlRequest) => {
      if (request.cmd === 'get')
        throw new LabcastError('BAD_SETTING', `unknown setting "${request.name}"; known settings: gain`, request.name);
      if (request.cmd === 'stop') throw new TypeError('cannot read properties of undefined');
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test: a handler throwing a non-Error
      if (request.cmd === 'reset') throw 'a string, not an Error';
      if (request.cmd === 'live') return undefined;
      return { first_ns: 1795468123456789012n, nested: { seq: 3 } };
    });
    const socket = rawDealer(server.endpoint);
    assert.deepEqual(errorOf(await ask(socket, '{"cmd":"get","name":"shutter"}')), {
      code: 'BAD_SETTING',
      message: 'unknown setting "shutter"; known settings: gain',
      field: 'shutter',
    });
    assert.deepEqual(errorOf(await ask(socket, '{"cmd":"stop"}')), { code: 'INTERNAL', message: 'cannot read properties of undefined' });
    assert.deepEqual(errorOf(await ask(socket, '{"cmd":"reset"}')), { code: 'INTERNAL', message: 'a string, not an Error' });
    assert.deepEqual(await ask(socket, '{"cmd":"live"}'), { ok: true, result: null });
    const reply = await exchangeRaw(socket, ['', '{"cmd":"status"}']);
    assert.equal(reply[1]!.toString(), '{"ok":true,"result":{"first_ns":1795468123456789012,"nested":{"seq":3}}}');
  });

  test('a pyzmq REQ client gets proper replies, errors included', async () => {
    const experiment = await startExperiment();
    const server = await serve(experiment.handle);
    const python = await runPython(
      `
import json, sys, zmq
ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.setsockopt(zmq.RCVTIMEO, 5000)
req.connect(sys.argv[1])
for request in [b'{"cmd":"status"}', b'{"cmd":"set","name":"exposure_ms","value":1e9}', b'not json', b'{"cmd":"live"}']:
    req.send(request)
    print(req.recv().decode())
req.close(linger=0)
ctx.term()
`,
      [server.endpoint],
    );
    assert.equal(python.code, 0, python.stderr);
    const replies = python.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Reply);
    assert.equal(replies.length, 4);
    assert.equal(parseControlResult('status', (replies[0] as { result: unknown }).result).state, 'idle');
    assert.equal(errorOf(replies[1]!).code, 'BAD_SETTING');
    assert.match(errorOf(replies[1]!).message, /0\.01\.\.10000 ms/);
    assert.equal(errorOf(replies[2]!).code, 'BAD_REQUEST');
    assert.equal(parseControlResult('live', (replies[3] as { result: unknown }).result).state, 'live');
  });

  test('close lets a request in progress finish and its reply reach the client', async () => {
    const server = await ControlServer.bind('tcp://127.0.0.1:*', async () => {
      await delay(300);
      return 'done';
    });
    const client = ControlClient.connect(server.endpoint, { timeoutMs: 5000 });
    open.push(client);
    const answer = client.request({ cmd: 'status' });
    await delay(100);
    await server.close();
    assert.equal(await answer, 'done');
  });

  test('a second server on the same endpoint is refused as "in use", naming the control endpoint', async () => {
    const first = await serve(async () => null);
    await assert.rejects(
      ControlServer.bind(first.endpoint, async () => null),
      (error: LabcastError) => {
        assert.equal(error.code, 'ENDPOINT_IN_USE');
        assert.match(error.message, /control endpoint .* already in use/);
        return true;
      },
    );
  });
});

/** Reproducible randomness (mulberry32), so a failing case can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  '',
  'x'.repeat(10_000),
  '\u0000',
  [],
  [1, 2],
  {},
  { nested: { deeper: [] } },
];

/** One request that must be refused: random bytes, broken JSON, or a real command with a wrong argument. */
function garbage(random: () => number): (string | Buffer)[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  const kind = Math.floor(random() * 8);
  switch (kind) {
    case 0:
      return ['', bytes(1 + Math.floor(random() * 200))];
    case 1: {
      const valid = JSON.stringify({ cmd: pick(CONTROL_COMMANDS), name: 'gain', value: 1 });
      return ['', valid.slice(0, Math.floor(random() * (valid.length - 1)))];
    }
    case 2:
      return ['', JSON.stringify(pick(HOSTILE_VALUES))];
    case 3:
      return ['', JSON.stringify({ cmd: pick([...HOSTILE_VALUES, 'STATUS', 'status ', 'rm -rf']) })];
    case 4: {
      const cmd = pick(['record', 'snap', 'get', 'set', 'save', 'subscriber']);
      const field = pick(['frames', 'duration_s', 'path', 'name', 'value', 'on', 'action']);
      // Hostile values for every argument, plus one key no command has, so the request is always invalid.
      return ['', JSON.stringify({ cmd, [field]: pick(HOSTILE_VALUES), bogus: pick(HOSTILE_VALUES) })];
    }
    case 5:
      return ['', JSON.stringify({ cmd: pick(['status', 'stop', 'reset']), [`k${Math.floor(random() * 1000)}`]: 1 })];
    case 6:
      // A route of its own before the delimiter, as a proxy would add; the body is broken JSON.
      return [
        Buffer.concat([Buffer.from('r'), bytes(Math.floor(random() * 20))]),
        '',
        Buffer.concat([Buffer.from('['), bytes(Math.floor(random() * 50))]),
      ];
    default:
      return ['', Buffer.alloc(65_537 + Math.floor(random() * 100_000), 0x20)];
  }
}
