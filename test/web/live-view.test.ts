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
  const start = 4 + last.readUInt32LE(0);
  assert.deepEqual(Array.from(last.subarray(start, start + 4)), [0, 100, 100, 255]);
  // 255 is the full scale of uint8: that pixel is saturated, and the mask after the pixels says so.
  assert.equal(socket.headers()[1]!.saturation_mask, true);
  assert.deepEqual(Array.from(last.subarray(start + 4)), [0, 0, 0, 1]);
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
  assert.equal(header.saturation_mask, false);
  assert.deepEqual(Array.from(last.subarray(4 + last.readUInt32LE(0))), [200, 80, 20]);
  view.detach(client);
});

test('a region of the frame is sent at its own scale, and raw values of a frame sent are answered exactly', () => {
  const socket = new FakeSocket();
  const client = view.attach(socket);
  const base = frame(30);
  const pixels = new Uint8Array(8 * 6 * 2);
  const samples = new DataView(pixels.buffer);
  for (let i = 0; i < 48; i++) samples.setUint16(2 * i, 1000 + i, true);
  view.latest = { ...base, header: { ...base.header, shape: [6, 8], dtype: 'uint16' }, frame: { shape: [6, 8], dtype: 'uint16', pixels } };
  client.offer();
  client.receive(JSON.stringify({ type: 'ack', seq: 30 }));
  client.receive(
    JSON.stringify({
      type: 'display',
      max_width: 64,
      max_height: 64,
      levels: { mode: 'auto' },
      region: { x: 2, y: 1, width: 3, height: 2 },
    }),
  );
  const header = socket.headers().at(-1)!;
  assert.deepEqual(header.region, { x: 2, y: 1, width: 3, height: 2 });
  assert.deepEqual([header.width, header.height], [3, 2]);
  const ask = (request: Record<string, unknown>): Record<string, unknown> => {
    client.receive(JSON.stringify({ type: 'inspect', id: 7, run_id: 'run-a', seq: 30, ...request }));
    return JSON.parse(String(socket.sent.at(-1))) as Record<string, unknown>;
  };
  assert.deepEqual(ask({ what: 'region', x: 3, y: 2, width: 1, height: 1 }), {
    type: 'inspect',
    id: 7,
    ok: true,
    result: { x: 3, y: 2, width: 1, height: 1, channels: 1, values: [1000 + 2 * 8 + 3] },
  });
  const line = ask({ what: 'line', x0: 0, y0: 0, x1: 2, y1: 0 }).result as { values: number[][] };
  assert.deepEqual(line.values, [[1000, 1001, 1002]]);
  const stats = ask({ what: 'stats', x: 0, y: 0, width: 8, height: 6 }).result as { channels: { min: number; max: number }[] };
  assert.deepEqual([stats.channels[0]!.min, stats.channels[0]!.max], [1000, 1047]);
  const gone = ask({ what: 'region', seq: 29, x: 0, y: 0, width: 1, height: 1 });
  assert.equal(gone.ok, false);
  assert.match(String(gone.error), /no longer held/);
  assert.match(String(ask({ what: 'region', x: 'a' }).error), /"x" must be a finite number/);
  view.detach(client);
});
