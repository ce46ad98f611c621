import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrameHeader } from '../../src/protocol/messages.js';
import { LiveView, type LiveSocket } from '../../src/web/live-view.js';

class FakeSocket implements LiveSocket {
  readonly sent: Buffer[] = [];
  bufferedAmount = 0;
  readyState = 1;
  send(data: Buffer, callback: (error?: Error) => void): void {
    this.sent.push(data);
    callback();
  }
  headers(): Array<Record<string, unknown>> {
    return this.sent.map(
      (message) => JSON.parse(message.subarray(4, 4 + message.readUInt32LE(0)).toString('utf8')) as Record<string, unknown>,
    );
  }
}

function frame(seq: number, value = seq): NonNullable<LiveView['latest']> {
  const header: FrameHeader = {
    protocol: 1,
    run_id: 'run-a',
    seq,
    camera_ts_ns: 1_800_000_000_000_000_000n + BigInt(seq),
    wall_ts_ns: 1_800_000_000_000_000_000n + BigInt(seq),
    shape: [2, 2],
    dtype: 'uint8',
  };
  return {
    header,
    frame: { shape: [2, 2], dtype: 'uint8', pixels: new Uint8Array([0, value, value, 255]) },
    format: {},
    rendered: new Map(),
    stats: null,
    receivedMs: Date.now(),
  };
}

// Nothing listens there: the bridge's subscriber just waits (ZeroMQ connects lazily).
const view = new LiveView(() => 'tcp://127.0.0.1:1');
after(() => view.close());

test('one frame in flight per client: newer frames replace the pending one and are counted as skipped', () => {
  const socket = new FakeSocket();
  const client = view.attach(socket);
  view.latest = frame(0);
  client.offer();
  assert.equal(socket.sent.length, 1);
  // Not acknowledged yet: frames 1..3 arrive, nothing more is sent.
  for (const seq of [1, 2, 3]) {
    view.latest = frame(seq);
    client.offer();
  }
  assert.equal(socket.sent.length, 1);
  client.receive(JSON.stringify({ type: 'ack', seq: 0 }));
  assert.equal(socket.sent.length, 2);
  const headers = socket.headers();
  assert.deepEqual(
    headers.map((h) => h.seq),
    [0, 3],
    'the newest frame, not the next one in line',
  );
  assert.equal(headers[1]!.camera_ts_ns, '1800000000000000003', 'nanoseconds travel exactly, as a string');
  assert.equal(client.skipped, 2);
  // Acknowledged, nothing newer: nothing is sent again.
  client.receive(JSON.stringify({ type: 'ack', seq: 3 }));
  assert.equal(socket.sent.length, 2);
  view.detach(client);
});

test('display settings from the client are applied, and malformed messages ignored', () => {
  const socket = new FakeSocket();
  const client = view.attach(socket);
  view.latest = frame(10, 100);
  client.offer();
  client.receive('not json');
  client.receive(JSON.stringify({ type: 'display', max_width: 'wide' }));
  assert.equal(client.display.levels.mode, 'auto');
  client.receive(JSON.stringify({ type: 'ack', seq: 10 }));
  client.receive(JSON.stringify({ type: 'display', max_width: 64, max_height: 64, levels: { mode: 'manual', black: 0, white: 255 } }));
  // The new levels are shown at once, on the same frame.
  assert.equal(socket.sent.length, 2);
  const last = socket.sent[1]!;
  const pixels = last.subarray(4 + last.readUInt32LE(0));
  assert.deepEqual(Array.from(pixels), [0, 100, 100, 255]);
  view.detach(client);
});

test("the camera's bit depth sets full_scale, and a Bayer frame goes out as RGB", () => {
  const socket = new FakeSocket();
  const client = view.attach(socket);
  const mono12 = frame(20);
  const pixels = new Uint8Array(8);
  new DataView(pixels.buffer).setUint16(6, 4095, true);
  view.latest = {
    ...mono12,
    header: { ...mono12.header, dtype: 'uint16' },
    frame: { shape: [2, 2], dtype: 'uint16', pixels },
    format: { bitDepth: 12 },
  };
  client.offer();
  const stats = socket.headers()[0]!.stats as { full_scale: number; histogram: number[] };
  assert.equal(stats.full_scale, 4095);
  assert.equal(stats.histogram[255], 1);
  client.receive(JSON.stringify({ type: 'ack', seq: 20 }));

  // RGGB cell: red 200, greens 100 and 60, blue 20 → one RGB pixel.
  const bayer = frame(21);
  view.latest = {
    ...bayer,
    frame: { shape: [2, 2], dtype: 'uint8', pixels: Uint8Array.from([200, 100, 60, 20]) },
    format: { bayerPattern: 'RG' },
  };
  client.receive(JSON.stringify({ type: 'display', max_width: 64, max_height: 64, levels: { mode: 'manual', black: 0, white: 255 } }));
  const header = socket.headers().at(-1)!;
  assert.deepEqual([header.width, header.height, header.channels], [1, 1, 3]);
  const last = socket.sent.at(-1)!;
  assert.deepEqual(Array.from(last.subarray(4 + last.readUInt32LE(0))), [200, 80, 20]);
  view.detach(client);
});
