import { frameByteLength, PIXEL_DTYPES, type PixelDtype } from './dtype.js';
import { parseWithNs, stringifyWithNs } from './json-ns.js';
import {
  frameHeaderSchema,
  runEndSchema,
  runStartSchema,
  PROTOCOL_VERSION,
  TOPICS,
  type FrameHeader,
  type RunEnd,
  type RunStart,
} from './messages.js';

/**
 * Multipart layout of every data message: [topic, JSON header] for run
 * messages, [topic, JSON header, pixel bytes] for frames. Pure functions; the
 * transport layer moves the parts.
 */
export type DataMessage =
  | { topic: typeof TOPICS.frame; header: FrameHeader; pixels: Uint8Array }
  | { topic: typeof TOPICS.runStart; header: RunStart }
  | { topic: typeof TOPICS.runEnd; header: RunEnd };

export type DecodeResult = { ok: true; message: DataMessage } | { ok: false; reason: string };
/** A batch decodes to its frames, in order; any other message to itself. */
export type DecodeManyResult = { ok: true; messages: DataMessage[] } | { ok: false; reason: string };

const TOPIC_BYTES = {
  frame: Buffer.from(TOPICS.frame),
  runStart: Buffer.from(TOPICS.runStart),
  runEnd: Buffer.from(TOPICS.runEnd),
  batch: Buffer.from(TOPICS.batch),
  packedBatch: Buffer.from(TOPICS.packedBatch),
  sharedFrame: Buffer.from(TOPICS.sharedFrame),
};

const STANDARD_HEADER_KEYS = 7;

/**
 * The header every frame carries, written without the generic replacer: at
 * tens of thousands of frames a second the generic path costs more than the
 * rest of the frame's handling. Headers with further fields (truth) take that
 * path; the type allows no others.
 */
function frameHeaderText(header: FrameHeader): string {
  if (header.truth !== undefined) return stringifyWithNs(header);
  return (
    `{"protocol":${header.protocol},"run_id":${runIdJson(header.run_id)},"seq":${header.seq},` +
    `"camera_ts_ns":${header.camera_ts_ns},"wall_ts_ns":${header.wall_ts_ns},` +
    `"shape":[${header.shape.join(',')}],"dtype":"${header.dtype}"}`
  );
}

/** A run's frames all carry its id: its JSON text is made once, not per frame. */
let lastRunId: { id: string; json: string } | null = null;

function runIdJson(id: string): string {
  if (lastRunId?.id !== id) lastRunId = { id, json: JSON.stringify(id) };
  return lastRunId.json;
}

/** The pixel buffer is passed through untouched: the caller must not reuse it. */
export function encodeFrame(header: FrameHeader, pixels: Uint8Array): [Buffer, Buffer, Uint8Array] {
  return [TOPIC_BYTES.frame, Buffer.from(frameHeaderText(header)), pixels];
}

/**
 * A frame message whose pixels went into shared memory: the same header part,
 * and instead of the pixels the JSON reference to where they are
 * (src/transport/frame-ring.ts).
 */
export function encodeSharedFrame(frameParts: readonly Uint8Array[], reference: unknown): [Buffer, Uint8Array, Buffer] {
  return [TOPIC_BYTES.sharedFrame, frameParts[1]!, Buffer.from(JSON.stringify(reference))];
}

/**
 * Turns a shared-frame reference (parsed JSON) into the frame's pixels, in
 * place; throws with the reason when it cannot (the message is then malformed).
 */
export type SharedPixels = (reference: unknown) => Uint8Array;

/** Whether `parts` are a frame message as encodeFrame makes them (and so can join a batch). */
export function isEncodedFrame(parts: readonly Uint8Array[]): boolean {
  return parts.length === 3 && parts[0] === TOPIC_BYTES.frame;
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/**
 * Several encoded frames (as `encodeFrame` made them) as one message: the
 * headers as one JSON array, the pixels back to back in one part. Small frames
 * cost mostly per message, so the lossless path sends what is queued this way.
 */
export function encodeFrameBatch(frames: readonly (readonly Uint8Array[])[]): [Buffer, Buffer, Buffer] {
  const headers: Uint8Array[] = [OPEN];
  const pixels: Uint8Array[] = [];
  frames.forEach((parts, i) => {
    if (i > 0) headers.push(COMMA);
    headers.push(parts[1]!);
    pixels.push(parts[2]!);
  });
  headers.push(CLOSE);
  return [TOPIC_BYTES.batch, Buffer.concat(headers), joined(pixels)];
}

/**
 * The parts as one buffer: a view when they already lie back to back in one
 * block (small frames made in the lossless sender's blocks), else a copy.
 */
function joined(parts: readonly Uint8Array[]): Buffer {
  const first = parts[0];
  if (first === undefined) return Buffer.alloc(0);
  let end = first.byteOffset + first.byteLength;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.buffer !== first.buffer || part.byteOffset !== end) return Buffer.concat(parts);
    end += part.byteLength;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

/** A frame for a packed batch: its header (without truth) and its pixels. */
export interface PackedFrame {
  readonly header: FrameHeader;
  readonly pixels: Uint8Array;
}

/** Bytes per frame in a packed batch's index: seq, camera_ts_ns, wall_ts_ns, each an int64. */
const PACKED_INDEX_BYTES_PER_FRAME = 24;
const TWO_TO_32 = 2 ** 32;

/**
 * Frames of one run (same run id, shape and dtype, no truth) as one
 * `packed-batch` message: [topic, JSON header of what they share (the same
 * for a whole run), binary index, pixels back to back] (docs/protocol.md). Neither side makes or
 * parses text per frame: at 64² that text and its garbage were a large part
 * of both processes' time. Only labcast's own saver is sent these.
 */
export function encodePackedBatch(frames: readonly PackedFrame[]): [Buffer, Buffer, Buffer, Buffer] {
  const first = frames[0]!.header;
  const count = frames.length;
  const common = Buffer.from(
    `{"protocol":${first.protocol},"run_id":${runIdJson(first.run_id)},"shape":[${first.shape.join(',')}],"dtype":"${first.dtype}"}`,
  );
  const index = Buffer.allocUnsafe(count * PACKED_INDEX_BYTES_PER_FRAME);
  const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
  const cameraAt = count * 8;
  const wallAt = count * 16;
  const pixels: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const { header } = frames[i]!;
    // seq as two uint32 halves: no bigint per frame.
    view.setUint32(i * 8, header.seq >>> 0, true);
    view.setUint32(i * 8 + 4, Math.floor(header.seq / TWO_TO_32), true);
    view.setBigInt64(cameraAt + i * 8, header.camera_ts_ns, true);
    view.setBigInt64(wallAt + i * 8, header.wall_ts_ns, true);
    pixels.push(frames[i]!.pixels);
  }
  return [TOPIC_BYTES.packedBatch, common, index, joined(pixels)];
}

export function encodeRunStart(header: RunStart): [Buffer, Buffer] {
  return [TOPIC_BYTES.runStart, Buffer.from(stringifyWithNs(header))];
}

export function encodeRunEnd(header: RunEnd): [Buffer, Buffer] {
  return [TOPIC_BYTES.runEnd, Buffer.from(stringifyWithNs(header))];
}

function parseHeader(part: Uint8Array | undefined): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (part === undefined) return { ok: false, reason: 'missing header part' };
  try {
    return { ok: true, value: parseWithNs(Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('utf8')) };
  } catch {
    return { ok: false, reason: 'header is not valid JSON' };
  }
}

function describeIssues(error: { issues: { path: (string | number)[]; message: string }[] }): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(header)'}: ${i.message}`)
    .join('; ');
}

const DTYPES: ReadonlySet<string> = new Set(PIXEL_DTYPES);

function isPositiveInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/**
 * The common header checked by hand: the same rules as frameHeaderSchema, at a
 * fraction of its cost. Anything it does not accept goes to the schema, which
 * accepts or explains; so this can only be stricter, never looser.
 */
function isPlainFrameHeader(value: unknown): value is FrameHeader {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const h = value as Record<string, unknown>;
  const shape = h.shape;
  return (
    Object.keys(h).length === STANDARD_HEADER_KEYS &&
    h.protocol === PROTOCOL_VERSION &&
    typeof h.run_id === 'string' &&
    h.run_id.length >= 1 &&
    h.run_id.length <= 128 &&
    typeof h.seq === 'number' &&
    Number.isInteger(h.seq) &&
    h.seq >= 0 &&
    typeof h.camera_ts_ns === 'bigint' &&
    typeof h.wall_ts_ns === 'bigint' &&
    Array.isArray(shape) &&
    shape.length >= 2 &&
    shape.length <= 3 &&
    shape.every(isPositiveInt) &&
    typeof h.dtype === 'string' &&
    DTYPES.has(h.dtype)
  );
}

function checkFrameHeader(value: unknown): { ok: true; header: FrameHeader } | { ok: false; reason: string } {
  if (isPlainFrameHeader(value)) return { ok: true, header: value };
  const header = frameHeaderSchema.safeParse(value);
  if (!header.success) return { ok: false, reason: `bad frame header: ${describeIssues(header.error)}` };
  return { ok: true, header: header.data };
}

/**
 * One header exactly as frameHeaderText writes it (JSON's own number and
 * string grammar: no leading zeros; a run id of printable ASCII without
 * escapes), so that what it reads is what JSON.parse would.
 */
const CANONICAL_HEADER =
  /\{"protocol":(0|[1-9]\d{0,8}),"run_id":"([ !#-[\]-~]*)","seq":(0|[1-9]\d{0,15}),"camera_ts_ns":(-?(?:0|[1-9]\d{0,19})),"wall_ts_ns":(-?(?:0|[1-9]\d{0,19})),"shape":\[((?:0|[1-9]\d{0,8})(?:,(?:0|[1-9]\d{0,8})){1,2})\],"dtype":"([a-z0-9]{1,16})"\}/y;

/**
 * A batch's headers as the lossless sender writes them, read without
 * JSON.parse and its `_ns` rewrite: at 64² that generic path was ~14 % of the
 * saver's time, the saver being the slower side (docs/performance.md). Only
 * the exact canonical text is read; anything else (whitespace, another key
 * order, further fields, a run id with escapes) gives null and takes the
 * generic path, and every header read here is still checked like any other
 * (checkFrameHeader). Frames of one run share their shape's array.
 */
function readCanonicalHeaders(text: string): FrameHeader[] | null {
  if (text.charCodeAt(0) !== 0x5b) return null; // [
  const headers: FrameHeader[] = [];
  let at = 1;
  let shapeText = '';
  let shape: number[] = [];
  for (;;) {
    CANONICAL_HEADER.lastIndex = at;
    const m = CANONICAL_HEADER.exec(text);
    if (m === null) return null;
    if (m[6] !== shapeText) {
      shapeText = m[6]!;
      shape = shapeText.split(',').map(Number);
    }
    headers.push({
      protocol: Number(m[1]),
      run_id: m[2]!,
      seq: Number(m[3]),
      camera_ts_ns: BigInt(m[4]!),
      wall_ts_ns: BigInt(m[5]!),
      shape,
      dtype: m[7] as PixelDtype,
    } as FrameHeader);
    at = CANONICAL_HEADER.lastIndex;
    const next = text.charCodeAt(at);
    if (next === 0x5d) return at === text.length - 1 ? headers : null; // ]
    if (next !== 0x2c) return null; // ,
    at += 1;
  }
}

function parseBatchHeaders(part: Uint8Array | undefined): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (part === undefined) return { ok: false, reason: 'missing header part' };
  const canonical = readCanonicalHeaders(Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('latin1'));
  return canonical === null ? parseHeader(part) : { ok: true, value: canonical };
}

function decodeBatch(parts: readonly Uint8Array[]): DecodeManyResult {
  if (parts.length !== 3) return { ok: false, reason: `${TOPICS.batch} message has ${parts.length} parts, expected 3` };
  const parsed = parseBatchHeaders(parts[1]);
  if (!parsed.ok) return parsed;
  if (!Array.isArray(parsed.value) || parsed.value.length === 0) {
    return { ok: false, reason: `${TOPICS.batch} header must be a non-empty array of frame headers` };
  }
  const pixels = parts[2]!;
  const messages: DataMessage[] = [];
  let offset = 0;
  for (const [i, value] of parsed.value.entries()) {
    const checked = checkFrameHeader(value);
    if (!checked.ok) return { ok: false, reason: `frame ${i} of the batch: ${checked.reason}` };
    const length = frameByteLength(checked.header.shape, checked.header.dtype);
    if (offset + length > pixels.byteLength) break;
    messages.push({ topic: TOPICS.frame, header: checked.header, pixels: pixels.subarray(offset, offset + length) });
    offset += length;
  }
  if (messages.length !== parsed.value.length || offset !== pixels.byteLength) {
    return { ok: false, reason: `${TOPICS.batch} payload is ${pixels.byteLength} bytes, its headers say otherwise` };
  }
  return { ok: true, messages };
}

/** What the frames of a packed batch share, checked once per run rather than per batch. */
interface PackedCommon {
  readonly protocol: number;
  readonly run_id: string;
  readonly shape: number[];
  readonly dtype: PixelDtype;
  readonly frameBytes: number;
}

/** The last packed batch's shared header, as received and as checked: the next batch of the run repeats it. */
let lastPackedCommon: { readonly text: Buffer; readonly common: PackedCommon } | null = null;

function packedCommon(part: Uint8Array): { ok: true; common: PackedCommon } | { ok: false; reason: string } {
  const cached = lastPackedCommon;
  if (cached !== null && cached.text.equals(part)) return { ok: true, common: cached.common };
  const parsed = parseHeader(part);
  if (!parsed.ok) return parsed;
  const value = parsed.value as Record<string, unknown> | null;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.keys(value).length !== 4) {
    return { ok: false, reason: `${TOPICS.packedBatch} header must be {protocol, run_id, shape, dtype}` };
  }
  // The shared fields follow a frame header's rules exactly: checked as one.
  const checked = checkFrameHeader({ ...value, seq: 0, camera_ts_ns: 0n, wall_ts_ns: 0n });
  if (!checked.ok) return { ok: false, reason: `${TOPICS.packedBatch} ${checked.reason}` };
  const { protocol, run_id, shape, dtype } = checked.header;
  const common = { protocol, run_id, shape, dtype, frameBytes: frameByteLength(shape, dtype) };
  lastPackedCommon = { text: Buffer.from(part), common };
  return { ok: true, common };
}

function decodePackedBatch(parts: readonly Uint8Array[]): DecodeManyResult {
  if (parts.length !== 4) return { ok: false, reason: `${TOPICS.packedBatch} message has ${parts.length} parts, expected 4` };
  const shared = packedCommon(parts[1]!);
  if (!shared.ok) return shared;
  const { common } = shared;
  const index = parts[2]!;
  const pixels = parts[3]!;
  const count = index.byteLength / PACKED_INDEX_BYTES_PER_FRAME;
  if (!Number.isInteger(count) || count === 0) {
    return {
      ok: false,
      reason: `${TOPICS.packedBatch} index is ${index.byteLength} bytes, not a positive multiple of ${PACKED_INDEX_BYTES_PER_FRAME}`,
    };
  }
  if (pixels.byteLength !== count * common.frameBytes) {
    return {
      ok: false,
      reason: `${TOPICS.packedBatch} payload is ${pixels.byteLength} bytes, ${count} frames of its header take ${count * common.frameBytes}`,
    };
  }
  const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
  const cameraAt = count * 8;
  const wallAt = count * 16;
  const messages: DataMessage[] = new Array<DataMessage>(count);
  for (let i = 0; i < count; i++) {
    const high = view.getUint32(i * 8 + 4, true);
    // A seq must be a non-negative safe integer (below 2^53), as in a frame header.
    if (high >= 0x20_0000) return { ok: false, reason: `${TOPICS.packedBatch} frame ${i}: seq is not a non-negative safe integer` };
    const header: FrameHeader = {
      protocol: common.protocol as typeof PROTOCOL_VERSION,
      run_id: common.run_id,
      seq: high * TWO_TO_32 + view.getUint32(i * 8, true),
      camera_ts_ns: view.getBigInt64(cameraAt + i * 8, true),
      wall_ts_ns: view.getBigInt64(wallAt + i * 8, true),
      shape: common.shape,
      dtype: common.dtype,
    };
    const start = i * common.frameBytes;
    messages[i] = { topic: TOPICS.frame, header, pixels: pixels.subarray(start, start + common.frameBytes) };
  }
  return { ok: true, messages };
}

function topicOf(parts: readonly Uint8Array[]): string | null {
  const topicPart = parts[0];
  if (topicPart === undefined) return null;
  return Buffer.from(topicPart.buffer, topicPart.byteOffset, topicPart.byteLength).toString('utf8');
}

/**
 * Like decodeDataMessage, and a batch becomes its frames. A shared-frame
 * message becomes its frame through `sharedPixels`; without it, it is
 * malformed. Never throws.
 */
export function decodeDataMessages(parts: readonly Uint8Array[], sharedPixels: SharedPixels | null = null): DecodeManyResult {
  const topic = topicOf(parts);
  if (topic === TOPICS.batch) return decodeBatch(parts);
  if (topic === TOPICS.packedBatch) return decodePackedBatch(parts);
  if (topic === TOPICS.sharedFrame) return decodeSharedFrame(parts, sharedPixels);
  const one = decodeDataMessage(parts);
  return one.ok ? { ok: true, messages: [one.message] } : one;
}

function decodeSharedFrame(parts: readonly Uint8Array[], sharedPixels: SharedPixels | null): DecodeManyResult {
  if (sharedPixels === null) return { ok: false, reason: `${TOPICS.sharedFrame} message on a receiver without shared memory` };
  if (parts.length !== 3) return { ok: false, reason: `${TOPICS.sharedFrame} message has ${parts.length} parts, expected 3` };
  const parsed = parseHeader(parts[1]);
  if (!parsed.ok) return parsed;
  const checked = checkFrameHeader(parsed.value);
  if (!checked.ok) return checked;
  let pixels: Uint8Array;
  try {
    pixels = sharedPixels(JSON.parse(Buffer.from(parts[2]!.buffer, parts[2]!.byteOffset, parts[2]!.byteLength).toString('utf8')));
  } catch (error) {
    return { ok: false, reason: `${TOPICS.sharedFrame} reference: ${error instanceof Error ? error.message : String(error)}` };
  }
  const expected = frameByteLength(checked.header.shape, checked.header.dtype);
  if (pixels.byteLength !== expected) {
    return { ok: false, reason: `shared frame is ${pixels.byteLength} bytes, header says ${expected}` };
  }
  return { ok: true, messages: [{ topic: TOPICS.frame, header: checked.header, pixels }] };
}

/** Never throws: a malformed message is reported, not fatal. */
export function decodeDataMessage(parts: readonly Uint8Array[]): DecodeResult {
  const topic = topicOf(parts);
  if (topic === null) return { ok: false, reason: 'empty message' };
  const expectedParts = topic === TOPICS.frame ? 3 : 2;
  if (topic !== TOPICS.frame && topic !== TOPICS.runStart && topic !== TOPICS.runEnd) {
    return { ok: false, reason: `unknown topic ${JSON.stringify(topic.slice(0, 40))}` };
  }
  if (parts.length !== expectedParts) {
    return { ok: false, reason: `${topic} message has ${parts.length} parts, expected ${expectedParts}` };
  }
  const parsed = parseHeader(parts[1]);
  if (!parsed.ok) return parsed;
  const protocol = (parsed.value as { protocol?: unknown } | null)?.protocol;
  if (typeof parsed.value === 'object' && parsed.value !== null && protocol !== undefined && protocol !== PROTOCOL_VERSION) {
    return { ok: false, reason: `unsupported protocol version ${JSON.stringify(protocol)}` };
  }

  if (topic === TOPICS.frame) {
    const checked = checkFrameHeader(parsed.value);
    if (!checked.ok) return checked;
    const pixels = parts[2] as Uint8Array;
    const expected = frameByteLength(checked.header.shape, checked.header.dtype);
    if (pixels.byteLength !== expected) {
      return { ok: false, reason: `frame payload is ${pixels.byteLength} bytes, header says ${expected}` };
    }
    return { ok: true, message: { topic, header: checked.header, pixels } };
  }
  if (topic === TOPICS.runStart) {
    const header = runStartSchema.safeParse(parsed.value);
    if (!header.success) return { ok: false, reason: `bad run-start header: ${describeIssues(header.error)}` };
    return { ok: true, message: { topic, header: header.data } };
  }
  const header = runEndSchema.safeParse(parsed.value);
  if (!header.success) return { ok: false, reason: `bad run-end header: ${describeIssues(header.error)}` };
  return { ok: true, message: { topic, header: header.data } };
}
