import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { ControlRequest } from '../../src/protocol/control.js';
import { createWebServer } from '../../src/web/server.js';
import { encodeTiff, TiffWriter } from '../../src/web/tiff.js';
import { openH5wasmWriter } from '../../src/storage/h5wasm-writer.js';
import { runLabcast, runPython, scratchDir } from '../helpers/processes.js';
import { appendFrames, makeRunEnd, makeRunStart, range } from '../storage/fixtures.js';

/**
 * The recording viewer's routes (recording-routes.ts) on files recorded by
 * the real CLI, every value compared with what h5py reads from the same file.
 */

type ApiReply = { ok: boolean; result?: unknown; error: { code: string; message: string } };

class IdleControl {
  async request(request: ControlRequest): Promise<unknown> {
    if (request.cmd === 'status') return { state: 'idle', file: null };
    return {};
  }
  close(): void {}
}

/** A frame (or region) as h5py reads it: shape, dtype and the sha256 of its little-endian bytes, plus a few values. */
const H5PY_FRAME = `
import sys, json, hashlib, h5py, numpy as np
path, k = sys.argv[1], int(sys.argv[2])
y0, y1, x0, x1 = (int(v) for v in sys.argv[3:7])
with h5py.File(path, "r") as f:
    d = f["entry/data/frames"]
    frame = d[k, y0:y1, x0:x1]
    print(json.dumps({
        "shape": list(frame.shape), "dtype": str(frame.dtype),
        "sha256": hashlib.sha256(np.ascontiguousarray(frame).astype(frame.dtype.newbyteorder("<")).tobytes()).hexdigest(),
        "frame_id": int(f["entry/data/frame_id"][k]), "first": int(frame.flat[0]),
        "valid_frames": int(d.attrs["valid_frames"]), "n": d.shape[0],
    }))
`;

/**
 * Reads a TIFF the way a viewer does, from its tags (no TIFF library needed),
 * and with PIL too when it is installed: each page's size, sample layout and
 * the sha256 of its pixels, to compare with h5py's frames.
 */
const READ_TIFF = `
import sys, json, struct, hashlib
data = open(sys.argv[1], "rb").read()
assert data[:4] == b"II*\\x00", data[:4]
sizes = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8}
def value(typ, count, raw):
    if sizes[typ] * count <= 4:
        fmt = {3: "H", 4: "I"}[typ]
        return list(struct.unpack_from("<%d%s" % (count, fmt), raw))
    off = struct.unpack_from("<I", raw)[0]
    fmt = {3: "H", 4: "I", 5: "I"}[typ]
    n = count * (2 if typ == 5 else 1)
    return list(struct.unpack_from("<%d%s" % (n, fmt), data, off))
pages = []
ifd = struct.unpack_from("<I", data, 4)[0]
while ifd:
    n = struct.unpack_from("<H", data, ifd)[0]
    tags = {}
    for i in range(n):
        tag, typ, count = struct.unpack_from("<HHI", data, ifd + 2 + 12 * i)
        tags[tag] = value(typ, count, data[ifd + 2 + 12 * i + 8: ifd + 2 + 12 * i + 12])
    off, length = tags[273][0], tags[279][0]
    pages.append({"width": tags[256][0], "height": tags[257][0], "bits": tags[258], "spp": tags.get(277, [1])[0],
                  "photometric": tags[262][0], "compression": tags[259][0],
                  "sha256": hashlib.sha256(data[off:off + length]).hexdigest()})
    ifd = struct.unpack_from("<I", data, ifd + 2 + 12 * n)[0]
pil = None
try:
    from PIL import Image
    import numpy as np
    im = Image.open(sys.argv[1])
    pil = []
    for i in range(len(pages)):
        im.seek(i)
        a = np.array(im)
        pil.append({"mode": im.mode, "shape": list(a.shape), "sha256": hashlib.sha256(a.astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest()})
except ImportError:
    pass
print(json.dumps({"pages": pages, "pil": pil}))
`;

/**
 * numpy's view of frame k: a rectangle (its statistics, and its values less their minimum,
 * clipped to 0..255), the pixels nearest a line (one per step of its longer axis, as
 * docs/protocol.md says) and their values, and the full scale of the recorded bit depth.
 */
const NUMPY_INSPECT = `
import sys, json, h5py, numpy as np
path, k, rect, line = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
with h5py.File(path, "r") as f:
    frame = f["entry/data/frames"][k].astype(np.int64)
    settings = json.loads(f["entry/instrument/camera"].attrs["settings_json"])
roi = frame[rect["y"]:rect["y"] + rect["height"], rect["x"]:rect["x"] + rect["width"]]
x0, y0, x1, y1 = line
steps = max(abs(x1 - x0), abs(y1 - y0))
t = np.arange(steps + 1) / max(steps, 1)
xs = np.floor(x0 + t * (x1 - x0) + 0.5).astype(int)
ys = np.floor(y0 + t * (y1 - y0) + 0.5).astype(int)
print(json.dumps({
    "stats": {"mean": float(roi.mean()), "std": float(roi.std()), "min": int(roi.min()), "max": int(roi.max()), "sum": int(roi.sum())},
    "shifted": np.clip(roi - roi.min(), 0, 255).ravel().tolist(),
    "points": [[int(x), int(y)] for x, y in zip(xs, ys)],
    "line": [int(frame[y, x]) for x, y in zip(xs, ys)],
    "full_scale": 2 ** int(settings.get("bit_depth", 16)) - 1,
}))
`;

interface NumpyInspect {
  stats: { mean: number; std: number; min: number; max: number; sum: number };
  shifted: number[];
  points: [number, number][];
  line: number[];
  full_scale: number;
}

async function numpyInspect(
  path: string,
  k: number,
  rect: { x: number; y: number; width: number; height: number },
  line: [number, number, number, number],
): Promise<NumpyInspect> {
  const ran = await runPython(NUMPY_INSPECT, [path, String(k), JSON.stringify(rect), JSON.stringify(line)]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as NumpyInspect;
}

interface H5Frame {
  shape: number[];
  dtype: string;
  sha256: string;
  frame_id: number;
  first: number;
  valid_frames: number;
  n: number;
}

interface TiffPages {
  pages: { width: number; height: number; bits: number[]; spp: number; photometric: number; compression: number; sha256: string }[];
  pil: { mode: string; shape: number[]; sha256: string }[] | null;
}

async function h5pyFrame(path: string, k: number, region: [number, number, number, number] = [0, 100000, 0, 100000]): Promise<H5Frame> {
  const ran = await runPython(H5PY_FRAME, [path, String(k), ...region.map(String)]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as H5Frame;
}

async function readTiff(path: string): Promise<TiffPages> {
  const ran = await runPython(READ_TIFF, [path]);
  assert.equal(ran.code, 0, ran.stderr);
  return JSON.parse(ran.stdout) as TiffPages;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** [u32 LE header length][JSON header][bytes]: the layout of the frame and raw routes. */
function splitMessage(body: Buffer): { header: Record<string, unknown>; bytes: Buffer } {
  const length = body.readUInt32LE(0);
  return { header: JSON.parse(body.subarray(4, 4 + length).toString('utf8')) as Record<string, unknown>, bytes: body.subarray(4 + length) };
}

describe('recording viewer routes (fastify inject) on files recorded by the CLI, checked with h5py', () => {
  const scratch = scratchDir();
  const dataDir = join(scratch.dir, 'data');
  const grey = join(dataDir, '2026-12-01', 'grey.h5');
  const small = join(dataDir, 'small8.h5');
  let app: FastifyInstance;

  before(async () => {
    mkdirSync(join(dataDir, '2026-12-01'), { recursive: true });
    const record = async (out: string, extra: string[]): Promise<void> => {
      const ran = await runLabcast(['record', '--frames', '12', '--fps', '0', '--publish', 'tcp://127.0.0.1:*', '--out', out, ...extra]);
      assert.equal(ran.code, 0, ran.stderr);
    };
    await record(grey, ['--width', '96', '--height', '64', '--pattern', 'particles', '--seed', '3']);
    await record(small, ['--width', '33', '--height', '17', '--dtype', 'uint8', '--pattern', 'noise']);
    app = await createWebServer({
      control: new IdleControl(),
      statusEndpoint: null,
      dataEndpoint: () => 'tcp://127.0.0.1:1',
      dataDir,
      host: '127.0.0.1',
    });
  });
  after(async () => {
    await app?.close();
    scratch.cleanup();
  });

  const url = (name: string, rest = ''): string => `/api/recordings/${encodeURIComponent(name)}${rest}`;

  test('details: the frames the viewer can show, the inspector summary (settings, provenance, counts)', async () => {
    const reply = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5') });
    assert.equal(reply.statusCode, 200, reply.body);
    const result = reply.json<ApiReply>().result as {
      frames: number;
      frame_gaps: unknown[];
      first_frame_id: number;
      summary: { frameCount: number; camera: { settings: Record<string, unknown> }; provenance: { runId: string } };
    };
    assert.equal(result.frames, 12);
    assert.equal(result.summary.frameCount, 12);
    assert.equal(result.first_frame_id, 0);
    assert.deepEqual(result.frame_gaps, []);
    assert.equal(typeof result.summary.provenance.runId, 'string');
    assert.ok('exposure_ms' in result.summary.camera.settings);
  });

  test('raw region of frame k equals h5py, value for value; a 1×1 region is the pixel under a cursor', async () => {
    for (const k of [0, 5, 11]) {
      const reply = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', `/frames/${k}/raw?x=10&y=7&w=40&h=30`) });
      assert.equal(reply.statusCode, 200, reply.body);
      const { header, bytes } = splitMessage(reply.rawPayload);
      const expected = await h5pyFrame(grey, k, [7, 37, 10, 50]);
      assert.deepEqual(header.shape, expected.shape);
      assert.equal(header.dtype, expected.dtype);
      assert.equal(header.frame_id, expected.frame_id);
      assert.equal(sha256(bytes), expected.sha256, `frame ${k}: the region's bytes`);
    }
    const one = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/4/raw?x=50&y=20&w=1&h=1') });
    const pixel = splitMessage(one.rawPayload);
    assert.equal(pixel.bytes.readUInt16LE(0), (await h5pyFrame(grey, 4, [20, 21, 50, 51])).first);
    // Without a region: the whole frame.
    const whole = splitMessage((await app.inject({ method: 'GET', url: url('small8.h5', '/frames/3/raw') })).rawPayload);
    assert.deepEqual(whole.header.shape, [17, 33]);
    assert.equal(sha256(whole.bytes), (await h5pyFrame(small, 3)).sha256);
  });

  test('display frame k: the live view layout, downscaled to the size asked, auto or manual levels', async () => {
    const reply = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/6?max_width=48&max_height=48') });
    assert.equal(reply.statusCode, 200, reply.body);
    const { header, bytes } = splitMessage(reply.rawPayload);
    assert.equal(header.index, 6);
    assert.equal(header.frame_id, 6);
    assert.equal(header.frames, 12);
    assert.deepEqual([header.width, header.height, header.channels], [48, 32, 1]);
    assert.equal(bytes.length, 48 * 32 * (header.saturation_mask === true ? 2 : 1), 'pixels, then the saturation mask if any');
    // Its overlay rides along: the simulator's ground truth of frame 6 (--particles default 20).
    const overlay = header.overlay as { frame_id: number; spots: unknown[]; truth: { x: number[] } | null };
    assert.equal(overlay.frame_id, 6);
    assert.deepEqual(overlay.spots, [], 'labcast record stores no analyses');
    assert.equal(overlay.truth?.x.length, 20);
    assert.ok((header.black as number) < (header.white as number), "auto levels: the displayed image's min to max");
    const manual = splitMessage(
      (await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/6?black=0&white=65535') })).rawPayload,
    );
    assert.deepEqual([manual.header.black, manual.header.white, manual.header.width], [0, 65535, 96]);
    const bad = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/6?black=0') });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<ApiReply>().error.message, /both black and white/);
  });

  test("display frame k for a zoomed-in view: the visible region at the frame's scale, with the live view's header", async () => {
    const [x, y, w, h] = [10, 8, 40, 30];
    const expected = await numpyInspect(grey, 6, { x, y, width: w, height: h }, [0, 0, 0, 0]);
    const black = expected.stats.min;
    const reply = await app.inject({
      method: 'GET',
      url: url(
        '2026-12-01/grey.h5',
        `/frames/6?x=${x}&y=${y}&w=${w}&h=${h}&max_width=${w}&max_height=${h}&black=${black}&white=${black + 255}`,
      ),
    });
    assert.equal(reply.statusCode, 200, reply.body);
    const { header, bytes } = splitMessage(reply.rawPayload);
    assert.deepEqual(header.region, { x, y, width: w, height: h });
    assert.deepEqual([header.width, header.height, header.index, header.seq, header.run_id], [w, h, 6, 6, '2026-12-01/grey.h5']);
    const stats = header.stats as { full_scale: number; saturated: number };
    assert.equal(stats.full_scale, expected.full_scale, "the camera's bit depth as recorded");
    assert.equal(typeof stats.saturated, 'number');
    assert.equal(typeof header.saturation_mask, 'boolean');
    assert.equal(header.pixel_size_um, null, 'labcast record without camera.pixel_size_um');
    // Levels black..black+255 at one display pixel per frame pixel: each display value is its raw value less black.
    assert.deepEqual([...bytes.subarray(0, w * h)], expected.shifted);
    const partial = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/6?x=1&y=2') });
    assert.equal(partial.statusCode, 400);
    assert.match(partial.json<ApiReply>().error.message, /all of x, y, w and h/);
  });

  test('line profile and rectangle statistics of frame k, as numpy computes them', async () => {
    const rect = { x: 5, y: 9, width: 37, height: 21 };
    const line: [number, number, number, number] = [3, 60, 90, 2];
    const expected = await numpyInspect(grey, 7, rect, line);
    const profile = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', `/frames/7/line?x0=3&y0=60&x1=90&y1=2`) });
    assert.equal(profile.statusCode, 200, profile.body);
    const { points, values } = profile.json<ApiReply>().result as { points: [number, number][]; values: number[][] };
    assert.deepEqual(points, expected.points);
    assert.deepEqual(values, [expected.line]);
    assert.ok(new Set(expected.line).size > 3, 'a profile across varying pixels');
    const reply = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/7/stats?x=5&y=9&w=37&h=21') });
    assert.equal(reply.statusCode, 200, reply.body);
    const stats = reply.json<ApiReply>().result as {
      x: number;
      width: number;
      pixels: number;
      channels: { mean: number; std: number; min: number; max: number; sum: number }[];
    };
    assert.equal(stats.pixels, 37 * 21);
    const [channel] = stats.channels;
    assert.deepEqual([channel!.min, channel!.max, channel!.sum], [expected.stats.min, expected.stats.max, expected.stats.sum]);
    assert.ok(Math.abs(channel!.mean - expected.stats.mean) < 1e-9 * expected.stats.mean);
    assert.ok(Math.abs(channel!.std - expected.stats.std) < 1e-6 * Math.max(1, expected.stats.std));
    const missing = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/7/line?x0=3&y0=60&x1=90') });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json<ApiReply>().error.message, /y1 is missing/);
    const outside = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/7/stats?x=500&y=0&w=4&h=4') });
    assert.equal(outside.statusCode, 400);
    assert.match(outside.json<ApiReply>().error.message, /outside the 96×64 frame/);
  });

  test('frame k out of range, or not a number: a clear error naming the range', async () => {
    const beyond = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/12') });
    assert.equal(beyond.statusCode, 400);
    assert.match(beyond.json<ApiReply>().error.message, /frame 12 is not in the file: it holds frames 0 to 11/);
    const word = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/last/raw') });
    assert.equal(word.statusCode, 400);
  });

  test('TIFF of frame k: 16-bit greyscale, bit-exact with h5py; 8-bit stays 8-bit', async () => {
    const reply = await app.inject({ method: 'GET', url: url('2026-12-01/grey.h5', '/frames/9/tiff') });
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(reply.headers['content-type'], 'image/tiff');
    assert.match(reply.headers['content-disposition'] as string, /filename="grey_frame9\.tif"/);
    const path = join(scratch.dir, 'frame9.tif');
    writeFileSync(path, reply.rawPayload);
    const tiff = await readTiff(path);
    const expected = await h5pyFrame(grey, 9);
    assert.equal(tiff.pages.length, 1);
    assert.deepEqual(tiff.pages[0], { width: 96, height: 64, bits: [16], spp: 1, photometric: 1, compression: 1, sha256: expected.sha256 });
    if (tiff.pil !== null) {
      assert.deepEqual(tiff.pil[0]!.shape, [64, 96]);
      assert.equal(tiff.pil[0]!.sha256, expected.sha256, 'PIL reads the same values');
    }
    const eight = await app.inject({ method: 'GET', url: url('small8.h5', '/frames/2/tiff') });
    writeFileSync(path, eight.rawPayload);
    const page = (await readTiff(path)).pages[0]!;
    assert.deepEqual([page.width, page.height, page.bits, page.sha256], [33, 17, [8], (await h5pyFrame(small, 2)).sha256]);
  });

  test('a colour recording (ffmpeg rgb24): raw regions keep their channels, TIFF is RGB, both as h5py reads them', async () => {
    const colour = join(dataDir, 'colour.h5');
    const recorded = await runLabcast([
      'record',
      '--camera',
      'lavfi:testsrc2=size=64x48:rate=30',
      '--frames',
      '4',
      '--out',
      colour,
      '--publish',
      'tcp://127.0.0.1:*',
    ]);
    assert.equal(recorded.code, 0, recorded.stderr);
    const region = splitMessage((await app.inject({ method: 'GET', url: url('colour.h5', '/frames/2/raw?x=5&y=6&w=7&h=3') })).rawPayload);
    const expected = await h5pyFrame(colour, 2, [6, 9, 5, 12]);
    assert.deepEqual(region.header.shape, [3, 7, 3]);
    assert.equal(sha256(region.bytes), expected.sha256);
    const display = splitMessage((await app.inject({ method: 'GET', url: url('colour.h5', '/frames/2') })).rawPayload);
    assert.equal(display.header.channels, 3);
    const tiff = await app.inject({ method: 'GET', url: url('colour.h5', '/frames/3/tiff') });
    const path = join(scratch.dir, 'colour.tif');
    writeFileSync(path, tiff.rawPayload);
    const read = await readTiff(path);
    assert.deepEqual(read.pages[0], {
      width: 64,
      height: 48,
      bits: [8, 8, 8],
      spp: 3,
      photometric: 2,
      compression: 1,
      sha256: (await h5pyFrame(colour, 3)).sha256,
    });
    if (read.pil !== null) assert.equal(read.pil[0]!.mode, 'RGB');
  });

  test('a range as a multi-page TIFF stack, streamed with its length known: each page is its frame', async () => {
    const reply = await app.inject({ method: 'GET', url: url('small8.h5', '/stack.tiff?from=3&to=8') });
    assert.equal(reply.statusCode, 200, reply.body);
    assert.equal(Number(reply.headers['content-length']), reply.rawPayload.length);
    const path = join(scratch.dir, 'stack.tif');
    writeFileSync(path, reply.rawPayload);
    const tiff = await readTiff(path);
    assert.equal(tiff.pages.length, 6);
    for (let page = 0; page < 6; page++) assert.equal(tiff.pages[page]!.sha256, (await h5pyFrame(small, 3 + page)).sha256, `page ${page}`);
    const wrong = await app.inject({ method: 'GET', url: url('small8.h5', '/stack.tiff?from=5&to=12') });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.json<ApiReply>().error.message, /holds frames 0 to 11/);
  });

  test('gaps: where frames are missing among those held (the timeline marks), and the trailing ones the run end counted', async () => {
    const start = makeRunStart({ frames_requested: 20 });
    const writer = await openH5wasmWriter(join(dataDir, 'gaps.h5'), start, { overwrite: false });
    appendFrames(writer, start, [...range(0, 5), ...range(8, 10), ...range(15, 18)]);
    writer.finish(
      makeRunEnd(start, {
        frames_acquired: 20,
        frames_dropped: 10,
        drops: [
          [5, 3],
          [10, 5],
          [18, 2],
        ],
      }),
    );
    const reply = await app.inject({ method: 'GET', url: url('gaps.h5') });
    assert.equal(reply.statusCode, 200, reply.body);
    const result = reply.json<ApiReply>().result as { frames: number; frame_gaps: unknown[]; summary: { gaps: number[][] } };
    assert.equal(result.frames, 10);
    assert.deepEqual(result.frame_gaps, [
      { first_id: 5, count: 3, index: 5 },
      { first_id: 10, count: 5, index: 7 },
    ]);
    assert.deepEqual(result.summary.gaps, [
      [5, 3],
      [10, 5],
      [18, 2],
    ]);
    // Row 7 is frame id 15, the first after the second gap.
    const frame = splitMessage((await app.inject({ method: 'GET', url: url('gaps.h5', '/frames/7?max_width=8&max_height=8') })).rawPayload);
    assert.equal(frame.header.frame_id, 15);
  });

  test('a large stack is streamed page by page: the server never holds it whole', async () => {
    const big = join(dataDir, 'big.h5');
    const ran = await runLabcast([
      'record',
      '--frames',
      '400',
      '--width',
      '512',
      '--height',
      '512',
      '--fps',
      '0',
      '--pattern',
      'noise',
      '--publish',
      'tcp://127.0.0.1:*',
      '--out',
      big,
    ]);
    assert.equal(ran.code, 0, ran.stderr);
    const server = await createWebServer({
      control: new IdleControl(),
      statusEndpoint: null,
      dataEndpoint: () => 'tcp://127.0.0.1:1',
      dataDir,
      host: '127.0.0.1',
    });
    try {
      await server.listen({ host: '127.0.0.1', port: 0 });
      const { port } = server.server.address() as AddressInfo;
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      let received = 0;
      let chunks = 0;
      const hash = createHash('sha256');
      const length = await new Promise<number>((resolve, reject) => {
        httpGet(`http://127.0.0.1:${port}${url('big.h5', '/stack.tiff')}`, (response) => {
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            chunks += 1;
            hash.update(chunk);
          });
          response.on('end', () => resolve(Number(response.headers['content-length'])));
          response.on('error', reject);
        }).on('error', reject);
      });
      clearInterval(sampler);
      const stackBytes = 400 * 512 * 512 * 2;
      assert.equal(received, length);
      assert.ok(received > stackBytes, `${received} bytes for ${stackBytes} bytes of pixels`);
      assert.ok(chunks > 400, `${chunks} chunks: sent as read`);
      // A stack built in memory would take 200 MB more; streaming it takes a few frames' worth.
      assert.ok(
        peak - baseline < 100e6,
        `the server grew by ${((peak - baseline) / 1e6).toFixed(0)} MB while streaming ${(received / 1e6).toFixed(0)} MB`,
      );
    } finally {
      await server.close();
    }
  });

  test('names never leave the data directory: "..", absolute paths, symbolic links and unknown files are refused', async () => {
    writeFileSync(join(scratch.dir, 'outside.h5'), 'secret');
    symlinkSync(join(scratch.dir, 'outside.h5'), join(dataDir, 'link.h5'));
    symlinkSync(scratch.dir, join(dataDir, 'linkdir'));
    for (const name of [
      '../outside.h5',
      '2026-12-01/../../outside.h5',
      '/etc/passwd',
      `${scratch.dir}/outside.h5`,
      'link.h5',
      'linkdir/outside.h5',
      'small8.txt',
    ]) {
      const reply = await app.inject({ method: 'GET', url: url(name, '/frames/0/raw') });
      assert.equal(reply.statusCode, 400, `${name}: ${reply.body}`);
      assert.equal(reply.json<ApiReply>().error.code, 'PATH_OUTSIDE_DATA_DIR', name);
    }
    // Long names (a date folder, a named recording) are one parameter too.
    const long = `${'a_long_folder_name_'.repeat(6)}/${'named_recording_'.repeat(8)}.h5`;
    const longMissing = await app.inject({ method: 'GET', url: url(long) });
    assert.equal(longMissing.statusCode, 400, longMissing.body);
    assert.match(longMissing.json<ApiReply>().error.message, /no recording named/);
    const missing = await app.inject({ method: 'GET', url: url('nothing.h5') });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json<ApiReply>().error.message, /no recording named "nothing\.h5"/);
  });
});

test('TIFF encoder: RGB 8-bit and greyscale 16-bit pages with every offset where the tags say', async () => {
  const scratch = scratchDir();
  try {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 7) & 255);
    const path = join(scratch.dir, 'rgb.tif');
    writeFileSync(path, encodeTiff({ width: 5, height: 3, channels: 3, bitsPerSample: 8 }, rgb));
    const read = await readTiff(path);
    assert.deepEqual(read.pages[0], { width: 5, height: 3, bits: [8, 8, 8], spp: 3, photometric: 2, compression: 1, sha256: sha256(rgb) });
    if (read.pil !== null) assert.deepEqual([read.pil[0]!.mode, read.pil[0]!.sha256], ['RGB', sha256(rgb)]);
    // Odd pixel byte counts are padded so every IFD starts on a word boundary.
    const writer = new TiffWriter({ width: 3, height: 1, channels: 1, bitsPerSample: 8 }, 3);
    const pages = [0, 1, 2].map((i) => Uint8Array.of(i, i + 1, i + 2));
    const file = Buffer.concat([writer.header(), ...pages.flatMap((p, i) => writer.page(i, p))]);
    assert.equal(file.length, writer.totalBytes);
    writeFileSync(path, file);
    const stack = await readTiff(path);
    assert.deepEqual(
      stack.pages.map((p) => p.sha256),
      pages.map(sha256),
    );
  } finally {
    scratch.cleanup();
  }
});
