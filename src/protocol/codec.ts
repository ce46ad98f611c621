import { frameByteLength } from './dtype.js';
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

const TOPIC_BYTES = {
  frame: Buffer.from(TOPICS.frame),
  runStart: Buffer.from(TOPICS.runStart),
  runEnd: Buffer.from(TOPICS.runEnd),
};

/** The pixel buffer is passed through untouched: the caller must not reuse it. */
export function encodeFrame(header: FrameHeader, pixels: Uint8Array): [Buffer, Buffer, Uint8Array] {
  return [TOPIC_BYTES.frame, Buffer.from(stringifyWithNs(header)), pixels];
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

/** Never throws: a malformed message is reported, not fatal. */
export function decodeDataMessage(parts: readonly Uint8Array[]): DecodeResult {
  const topicPart = parts[0];
  if (topicPart === undefined) return { ok: false, reason: 'empty message' };
  const topic = Buffer.from(topicPart.buffer, topicPart.byteOffset, topicPart.byteLength).toString('utf8');
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
    const header = frameHeaderSchema.safeParse(parsed.value);
    if (!header.success) return { ok: false, reason: `bad frame header: ${describeIssues(header.error)}` };
    const pixels = parts[2] as Uint8Array;
    const expected = frameByteLength(header.data.shape, header.data.dtype);
    if (pixels.byteLength !== expected) {
      return { ok: false, reason: `frame payload is ${pixels.byteLength} bytes, header says ${expected}` };
    }
    return { ok: true, message: { topic, header: header.data, pixels } };
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
