import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Publisher } from 'zeromq';
import { encodeFrame } from '../../src/protocol/codec.js';
import { stringifyWithNs } from '../../src/protocol/json-ns.js';
import type { FrameHeader } from '../../src/protocol/messages.js';
import { ControlServer } from '../../src/transport/control-server.js';
import { StatusPublisher } from '../../src/transport/status-channel.js';
import { startWebServer, type RunningWebServer } from '../../src/web/server.js';
import { delay, scratchDir } from '../helpers/processes.js';
import { InProcessExperiment } from '../helpers/in-process-experiment.js';
import { openWebSocket, watchLive, type TestWebSocket } from '../helpers/ws-client.js';

/**
 * The web server as serve runs it (startWebServer: its control client, status
 * subscriber and live-view bridge), its data endpoint fed by a broken peer: 10 000
 * malformed data messages among real frames, while a WebSocket client watches.
 */
const MALFORMED = 10_000;
const BATCH = 100;
const RUN = 'live-run';
const SHAPE = [8, 12];

function header(seq: number): FrameHeader {
  return {
    protocol: 1,
    run_id: RUN,
    seq,
    camera_ts_ns: 1_800_000_000_000_000_000n + BigInt(seq),
    wall_ts_ns: 1_800_000_000_000_000_000n + BigInt(seq),
    shape: SHAPE,
    dtype: 'uint16',
  };
}

function realFrame(seq: number): Buffer[] {
  const [topic, json, pixels] = encodeFrame(header(seq), new Uint8Array(8 * 12 * 2).fill(seq % 200));
  return [topic, json, Buffer.from(pixels)];
}

/** Every message has the `frame` topic, so it passes the subscription and must be judged by the decoder. */
function malformed(i: number): Buffer[] {
  const topic = Buffer.from('frame');
  const good = header(1_000_000 + i);
  const pixels = Buffer.alloc(8 * 12 * 2);
  switch (i % 8) {
    case 0:
      return [topic, Buffer.from(stringifyWithNs(good))]; // wrong part count: no pixels
    case 1:
      return [topic, Buffer.from(stringifyWithNs(good)), pixels, pixels]; // wrong part count: one too many
    case 2:
      return [topic, Buffer.from('{"protocol":1,"run_id":'), pixels]; // invalid header: not JSON
    case 3:
      return [topic, Buffer.from('[1,2,3]'), pixels]; // invalid header: not an object
    case 4:
      return [topic, Buffer.from(stringifyWithNs({ ...good, seq: 'seven' })), pixels]; // invalid header: wrong type
    case 5:
      return [topic, Buffer.from(stringifyWithNs(good)), pixels.subarray(0, 100)]; // payload shorter than the header says
    case 6:
      return [topic, Buffer.from(stringifyWithNs(good)), Buffer.alloc(8 * 12 * 2 + 2)]; // payload longer
    default:
      return [topic, Buffer.from(stringifyWithNs({ ...good, protocol: 2 })), pixels]; // another protocol version
  }
}

const scratch = scratchDir();
let publisher: Publisher;
let experiment: InProcessExperiment;
let control: ControlServer;
let status: StatusPublisher;
let web: RunningWebServer;
let socket: TestWebSocket | null = null;

before(async () => {
  publisher = new Publisher({ sendHighWaterMark: 1000, linger: 0 });
  await publisher.bind('tcp://127.0.0.1:*');
  experiment = await InProcessExperiment.start();
  control = await ControlServer.bind('tcp://127.0.0.1:*', experiment.handle);
  status = await StatusPublisher.bind('tcp://127.0.0.1:*');
  web = await startWebServer({
    host: '127.0.0.1',
    port: 0,
    controlEndpoint: control.endpoint,
    statusEndpoint: status.endpoint,
    dataEndpoint: () => publisher.lastEndpoint!,
    dataDir: scratch.dir,
  });
});
after(async () => {
  socket?.close();
  await web?.close();
  status?.close();
  await control?.close();
  await experiment?.close();
  publisher?.close();
  scratch.cleanup();
});

async function liveCounters(): Promise<{ clients: number; frames_received: number; malformed_messages: number }> {
  const reply = (await (await fetch(`${web.url}api/live`)).json()) as {
    ok: boolean;
    result: { clients: number; frames_received: number; malformed_messages: number };
  };
  assert.equal(reply.ok, true);
  return reply.result;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

test('10 000 malformed data messages into the live view: counted and skipped, no crash; the watcher keeps seeing real frames', async () => {
  socket = await openWebSocket(`${web.url.replace('http', 'ws')}ws/live`);
  const watched = watchLive(socket);
  let seq = 0;
  // ZeroMQ subscriptions take a moment: real frames until the browser side shows one.
  await until('the first frame on the WebSocket', async () => {
    await publisher.send(realFrame(seq++));
    await delay(20);
    return watched.frames.length > 0;
  });
  const before = await liveCounters();
  assert.equal(before.clients, 1);
  assert.equal(before.malformed_messages, 0);

  let sent = 0;
  let realDuring = 0;
  while (sent < MALFORMED) {
    for (let i = 0; i < BATCH; i++) await publisher.send(malformed(sent++));
    if (sent % 1000 === 0) {
      await publisher.send(realFrame(seq++));
      realDuring += 1;
    }
    // Paced by the bridge's own count, so that no message is lost to a high-water mark and the count is exact.
    await until(`${sent} malformed messages counted`, async () => (await liveCounters()).malformed_messages === sent);
  }
  const afterFlood = await liveCounters();
  assert.equal(afterFlood.malformed_messages, MALFORMED, 'every malformed message counted');
  assert.equal(
    afterFlood.frames_received - before.frames_received,
    realDuring,
    'no malformed message taken for a frame; every real one taken',
  );
  assert.ok(watched.frames.length >= 2, 'real frames reached the watcher during the flood');
  assert.ok(
    watched.frames.every((frame) => frame.run_id === RUN && frame.seq < 1_000_000),
    'nothing malformed was shown',
  );

  // Afterwards the view carries on with real frames.
  const shownBefore = watched.frames.length;
  const firstAfter = seq;
  for (let i = 0; i < 30; i++) {
    await publisher.send(realFrame(seq++));
    await delay(10);
  }
  // Latest-frame policy: some in between may be skipped, never the newest.
  await until('the newest frame after the flood', () => watched.frames.some((frame) => frame.seq === seq - 1));
  assert.ok(watched.frames.length > shownBefore);
  assert.ok(watched.frames.filter((frame) => frame.seq >= firstAfter).length >= 2, 'frames keep coming after the flood');
  assert.equal(socket.readyState, 1, 'the WebSocket is still open');
  const api = await fetch(`${web.url}api/status`);
  assert.equal(api.status, 200, 'the web server still answers');
});
