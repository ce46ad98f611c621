import { z } from 'zod';
import { parseWithNs, stringifyWithNs } from './json-ns.js';
import { ANALYSIS_TOPIC_PREFIX, PROTOCOL_VERSION } from './messages.js';
import type { ErrorPayload } from './process-messages.js';

/**
 * Analysis results on the wire, and the messages between the experiment side
 * and an analysis process. Pure: the transport layer moves the parts.
 *
 * A result is a multipart message on the results endpoint:
 *
 *   [ topic "analysis/NAME", JSON header, JSON body, array 0, array 1, ... ]
 *
 * The header says which frame the result is of (run_id, seq, camera_ts_ns) and
 * lists the binary arrays that follow the body (`arrays`: name, dtype, shape;
 * raw little-endian, C order). Built-in analyses put everything in the JSON
 * body; a user module returning typed arrays gets them sent as array parts.
 */

export const ANALYSIS_KINDS = ['stats', 'localize', 'module'] as const;
export type AnalysisKind = (typeof ANALYSIS_KINDS)[number];

/** Names are topic suffixes and file-safe: letters, digits, `_`, `-`, `.`; at most 64 characters. */
export const ANALYSIS_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const ANALYSIS_NAME_RULE = 'a name of 1 to 64 letters, digits, "_", "-" or "." starting with a letter or digit';

export function analysisTopic(name: string): string {
  return `${ANALYSIS_TOPIC_PREFIX}${name}`;
}

/** Typed arrays a result can carry as binary parts, by their numpy dtype name (little-endian). */
export const RESULT_ARRAY_DTYPES = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;
export type ResultArrayDtype = keyof typeof RESULT_ARRAY_DTYPES;
export type ResultArray = InstanceType<(typeof RESULT_ARRAY_DTYPES)[ResultArrayDtype]>;

const arrayDescriptorSchema = z
  .object({
    name: z.string().min(1).max(200),
    dtype: z.enum(Object.keys(RESULT_ARRAY_DTYPES) as [ResultArrayDtype, ...ResultArrayDtype[]]),
    shape: z.array(z.number().int().nonnegative()).max(8),
  })
  .strict();
export type ResultArrayDescriptor = z.infer<typeof arrayDescriptorSchema>;

/**
 * The header of a result. Required: what a Python publisher must send at least;
 * labcast's own analyses send every field. Unknown fields are kept (a publisher
 * may add its own).
 */
export const analysisResultHeaderSchema = z
  .object({
    protocol: z.literal(PROTOCOL_VERSION),
    /** The analysis, as in the topic. */
    name: z.string().regex(ANALYSIS_NAME_PATTERN),
    /** stats, localize, module, or what an outside publisher says it is. */
    kind: z.string().max(200).optional(),
    /** The frame the result is of: its run, seq (= frame_id in the HDF5 file) and capture time. */
    run_id: z.string().min(1).max(128),
    seq: z.number().int().nonnegative(),
    camera_ts_ns: z.bigint(),
    /** When the result was published (host clock). */
    result_ts_ns: z.bigint().optional(),
    /** Shape of the frame analysed. */
    shape: z.array(z.number().int().positive()).max(3).optional(),
    /** Time spent analysing this frame, ms. */
    analysis_ms: z.number().nonnegative().optional(),
    /** Binary parts after the body, in order. */
    arrays: z.array(arrayDescriptorSchema).max(64).optional(),
  })
  .passthrough();
export type AnalysisResultHeader = z.infer<typeof analysisResultHeaderSchema>;

/** What a publisher fills in; `arrays` is added by encodeAnalysisResult. */
export interface AnalysisResultHeaderInput {
  readonly protocol: typeof PROTOCOL_VERSION;
  readonly name: string;
  readonly kind?: string;
  readonly run_id: string;
  readonly seq: number;
  readonly camera_ts_ns: bigint;
  readonly result_ts_ns?: bigint;
  readonly shape?: readonly number[];
  readonly analysis_ms?: number;
}

export interface AnalysisResult {
  readonly topic: string;
  readonly header: AnalysisResultHeader;
  /** The JSON body (any JSON value; an object for labcast's analyses). */
  readonly body: unknown;
  readonly arrays: Readonly<Record<string, ResultArray>>;
}

/** Splits top-level typed-array values off a result object: they travel as binary parts. */
export function splitResultArrays(result: unknown): { body: unknown; arrays: [string, ResultArray][] } {
  if (typeof result !== 'object' || result === null || Array.isArray(result) || ArrayBuffer.isView(result)) {
    return { body: ArrayBuffer.isView(result) ? Array.from(result as unknown as ArrayLike<number>) : result, arrays: [] };
  }
  const body: Record<string, unknown> = {};
  const arrays: [string, ResultArray][] = [];
  for (const [key, value] of Object.entries(result as Record<string, unknown>)) {
    if (resultArrayDtype(value) !== undefined) arrays.push([key, value as ResultArray]);
    else body[key] = value;
  }
  return { body, arrays };
}

function resultArrayDtype(value: unknown): ResultArrayDtype | undefined {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  for (const [dtype, type] of Object.entries(RESULT_ARRAY_DTYPES)) {
    if (value.constructor === type) return dtype as ResultArrayDtype;
  }
  return undefined;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The parts of one result message. Typed arrays are sent as they are (little-endian hosts). */
export function encodeAnalysisResult(
  header: AnalysisResultHeaderInput,
  body: unknown,
  arrays: readonly (readonly [string, ResultArray])[] = [],
): Buffer[] {
  const descriptors: ResultArrayDescriptor[] = arrays.map(([name, array]) => ({
    name,
    dtype: resultArrayDtype(array)!,
    shape: [array.length],
  }));
  const fullHeader = { ...header, arrays: descriptors };
  const parts = [Buffer.from(analysisTopic(header.name)), Buffer.from(stringifyWithNs(fullHeader)), Buffer.from(stringifyWithNs(body))];
  for (const [, array] of arrays) {
    const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
    if (!LITTLE_ENDIAN && array.BYTES_PER_ELEMENT > 1) {
      const copy = Buffer.from(bytes);
      if (array.BYTES_PER_ELEMENT === 2) copy.swap16();
      else if (array.BYTES_PER_ELEMENT === 4) copy.swap32();
      else copy.swap64();
      parts.push(copy);
    } else {
      parts.push(bytes);
    }
  }
  return parts;
}

export type AnalysisDecodeResult = { ok: true; result: AnalysisResult } | { ok: false; reason: string };

/** Never throws: a malformed result is reported, not fatal (anyone may publish to results_in). */
export function decodeAnalysisResult(parts: readonly Uint8Array[]): AnalysisDecodeResult {
  const [topicPart, headerPart, bodyPart, ...arrayParts] = parts;
  if (topicPart === undefined) return { ok: false, reason: 'empty message' };
  const topic = text(topicPart);
  if (!topic.startsWith(ANALYSIS_TOPIC_PREFIX))
    return { ok: false, reason: `not an analysis topic: ${JSON.stringify(topic.slice(0, 60))}` };
  if (headerPart === undefined || bodyPart === undefined) {
    return { ok: false, reason: `${topic}: ${parts.length} parts, expected at least 3 (topic, header, body)` };
  }
  let headerValue: unknown;
  let body: unknown;
  try {
    headerValue = parseWithNs(text(headerPart));
  } catch {
    return { ok: false, reason: `${topic}: header is not valid JSON` };
  }
  try {
    body = parseWithNs(text(bodyPart));
  } catch {
    return { ok: false, reason: `${topic}: body is not valid JSON` };
  }
  const parsed = analysisResultHeaderSchema.safeParse(headerValue);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `${topic}: bad header: ${issue.path.join('.') || '(header)'}: ${issue.message}` };
  }
  const header = parsed.data;
  if (analysisTopic(header.name) !== topic) return { ok: false, reason: `${topic}: header names "${header.name}"` };
  const descriptors = header.arrays ?? [];
  if (descriptors.length !== arrayParts.length) {
    return { ok: false, reason: `${topic}: header lists ${descriptors.length} arrays, message has ${arrayParts.length}` };
  }
  const arrays: Record<string, ResultArray> = {};
  for (let i = 0; i < descriptors.length; i++) {
    const { name, dtype, shape } = descriptors[i]!;
    const part = arrayParts[i]!;
    const type = RESULT_ARRAY_DTYPES[dtype];
    const count = shape.reduce((n, d) => n * d, 1);
    if (part.byteLength !== count * type.BYTES_PER_ELEMENT) {
      return { ok: false, reason: `${topic}: array "${name}" is ${part.byteLength} bytes, its header says ${count} × ${dtype}` };
    }
    // A copy: aligned, and ours (the received buffer may be shared).
    const copy = new Uint8Array(part);
    const array = new type(copy.buffer, 0, count);
    if (!LITTLE_ENDIAN && type.BYTES_PER_ELEMENT > 1) {
      const swapped = Buffer.from(copy.buffer);
      if (type.BYTES_PER_ELEMENT === 2) swapped.swap16();
      else if (type.BYTES_PER_ELEMENT === 4) swapped.swap32();
      else swapped.swap64();
    }
    arrays[name] = array;
  }
  return { ok: true, result: { topic, header, body, arrays } };
}

function text(part: Uint8Array): string {
  return Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('utf8');
}

// ---- analysis child process ----

/** What an analysis process is started with (JSON in its argv); validated there. */
export const analysisInitSchema = z
  .object({
    name: z.string(),
    kind: z.enum(ANALYSIS_KINDS),
    /** Kind-specific options, already validated by the config schema. */
    options: z.unknown(),
    /** Absolute path of the user module (kind `module`); null otherwise. */
    module: z.string().nullable(),
    /** The data endpoint to subscribe to (frames). */
    dataEndpoint: z.string(),
    /** Where to publish results: serve's results_in (XSUB) endpoint; the process connects a PUB. */
    resultsEndpoint: z.string(),
    /** The CURVE public key of serve's endpoints when it has keys (security.*); null otherwise. */
    serverKey: z.string().nullable(),
    progressIntervalMs: z.number().int().positive(),
  })
  .strict();
export type AnalysisInit = Readonly<z.infer<typeof analysisInitSchema>>;

export type AnalysisCommand = { readonly type: 'shutdown' };

export interface AnalysisCounters {
  /** Frames received from the data endpoint. */
  readonly received: number;
  /** Frames analysed, including those whose analysis threw. */
  readonly analysed: number;
  /** Frames of the runs watched that were not analysed: replaced by a newer one while busy, or never received. */
  readonly skipped: number;
  /** Results published. */
  readonly results: number;
  /** Frames whose analysis threw (the process keeps going). */
  readonly errors: number;
  readonly lastError: string | null;
  /** Mean time per analysed frame since the last progress event, ms (0 when none). */
  readonly analysisMs: number;
  readonly lastSeq: number | null;
  readonly lastRunId: string | null;
}

export type AnalysisEvent =
  | { readonly type: 'ready' }
  | ({ readonly type: 'progress' } & AnalysisCounters)
  | { readonly type: 'error'; readonly error: ErrorPayload };
