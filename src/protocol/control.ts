import { z } from 'zod';
import { LabcastError } from './errors.js';
import { PROTOCOL_VERSION } from './messages.js';
import type { SettingSpecPayload } from './process-messages.js';

/**
 * The control API: one JSON request, one JSON reply, over ZeroMQ (the server
 * is a ROUTER, so REQ and DEALER clients, Python's included, both work).
 * Every view — CLI, web, a script — speaks exactly this; no view reaches a
 * camera any other way. Validated on both sides by these schemas.
 */

export const EXPERIMENT_STATES = ['idle', 'live', 'recording', 'stopping', 'error'] as const;
export type ExperimentState = (typeof EXPERIMENT_STATES)[number];

const fileName = z.string().min(1).max(4096);

export const controlRequestSchema = z.discriminatedUnion('cmd', [
  z.object({ cmd: z.literal('status') }).strict(),
  /** Frames flow to viewers; nothing is saved. */
  z.object({ cmd: z.literal('live') }).strict(),
  /** Record N frames, for a duration, or until stopped; to `path` (relative to the data directory) or the next auto-named file. */
  z
    .object({
      cmd: z.literal('record'),
      frames: z.number().int().positive().max(1e12).optional(),
      duration_s: z.number().positive().max(1e7).optional(),
      path: fileName.optional(),
      /** The recording's name: its file's /entry/title, and (sanitised) part of its file name. */
      name: z.string().trim().min(1).max(200).optional(),
      /** A note stored in the file (/entry/note_NNN) once it is closed. */
      note: z.string().min(1).max(100_000).optional(),
    })
    .strict(),
  /** Adds a note to a closed recording (a file in the data directory). */
  z.object({ cmd: z.literal('note'), path: fileName, text: z.string().min(1).max(100_000) }).strict(),
  /** Ends live or recording; a recording is drained and closed before the reply. */
  z.object({ cmd: z.literal('stop') }).strict(),
  /** While live: start (on) or stop (off) saving the stream, without stopping it. */
  z.object({ cmd: z.literal('save'), on: z.boolean() }).strict(),
  /** One frame into its own file. */
  z.object({ cmd: z.literal('snap'), path: fileName.optional() }).strict(),
  /** One software trigger, while live or recording, to a camera in software-trigger mode. */
  z.object({ cmd: z.literal('trigger') }).strict(),
  /** Every camera setting with its range, unit and current value. */
  z.object({ cmd: z.literal('settings') }).strict(),
  z.object({ cmd: z.literal('get'), name: z.string().min(1).max(200) }).strict(),
  // Strings and booleans for GenICam Enumeration, String and Boolean features.
  z
    .object({
      cmd: z.literal('set'),
      name: z.string().min(1).max(200),
      value: z.union([z.number().finite(), z.string().max(1000), z.boolean()]),
    })
    .strict(),
  /** The subscribers of serve's streams it runs or sees: the saver (while recording) and the analyses. */
  z.object({ cmd: z.literal('subscribers') }).strict(),
  z.object({ cmd: z.literal('subscriber'), action: z.enum(['start', 'stop']), name: z.string().min(1).max(200) }).strict(),
  /** Analysis processes: start or stop one by name (the config's, or the built-in stats and localize), or list them. */
  z
    .object({
      cmd: z.literal('analysis'),
      action: z.enum(['start', 'stop', 'list']),
      name: z.string().min(1).max(200).optional(),
    })
    .strict(),
  /** From `error` back to `idle` (what was saved is kept). */
  z.object({ cmd: z.literal('reset') }).strict(),
  /** Stops everything cleanly and ends `labcast serve`. */
  z.object({ cmd: z.literal('shutdown') }).strict(),
  /**
   * Answers once the recording `run_id` (default: the current one, else the
   * last) has ended, or after `timeout_s` with `ended: false`: a long poll, so
   * a script waits without polling and without a reply timeout of hours.
   */
  z
    .object({
      cmd: z.literal('wait'),
      run_id: z.string().min(1).max(200).optional(),
      timeout_s: z.number().min(0).max(3600).optional(),
    })
    .strict(),
]);
export type ControlRequest = z.infer<typeof controlRequestSchema>;
export type ControlCommand = ControlRequest['cmd'];
export const CONTROL_COMMANDS: readonly ControlCommand[] = controlRequestSchema.options.map((option) => option.shape.cmd.value);

/**
 * How long a view waits for each command's reply. `query`: answered at once,
 * even while a recording drains (views send these on their own connection so
 * they never wait behind a `stop`); `prompt`: a state change answered within
 * seconds; `draining`: may wait for a recording to drain and close, or for a
 * process to start or stop. One table for `labcast ctl` and the web server.
 */
export type ReplyKind = 'query' | 'prompt' | 'draining' | 'waiting';
export const COMMAND_REPLY_KIND = {
  status: 'query',
  settings: 'query',
  get: 'query',
  subscribers: 'query',
  live: 'prompt',
  record: 'prompt',
  snap: 'prompt',
  note: 'prompt',
  trigger: 'prompt',
  set: 'prompt',
  reset: 'prompt',
  shutdown: 'prompt',
  stop: 'draining',
  save: 'draining',
  subscriber: 'draining',
  analysis: 'draining',
  wait: 'waiting',
} as const satisfies Record<ControlCommand, ReplyKind>;
// `wait` answers when a recording ends or after its timeout_s (at most an hour); ctl's record --wait asks every 0.5 s.
export const REPLY_TIMEOUT_MS: Readonly<Record<ReplyKind, number>> = {
  query: 10_000,
  prompt: 10_000,
  draining: 60_000,
  waiting: 3_610_000,
};

/** The default reply timeout of `cmd`. */
export function replyTimeoutMs(cmd: ControlCommand): number {
  return REPLY_TIMEOUT_MS[COMMAND_REPLY_KIND[cmd]];
}

export function isQuery(cmd: ControlCommand): boolean {
  return COMMAND_REPLY_KIND[cmd] === 'query';
}

/** Result of `note`. */
export interface NoteResult {
  readonly path: string;
  readonly title: string | null;
  readonly note: string | null;
  readonly notes: number;
}

export interface ProcessInfo {
  readonly role: string;
  readonly title: string;
  readonly pid: number | null;
  readonly running: boolean;
}

export interface RecordingInfo {
  /** The file; null when a remote saver wrote it (`labcast save` names its files on its own host). */
  readonly path: string | null;
  /** Who wrote it: `labcast-saver` (serve's own saver process) or `remote saver on ENDPOINT`. */
  readonly saver: string;
  readonly run_id: string;
  readonly frames_written: number;
  readonly frames_acquired: number;
  /** Acquired but not in the file (frames_acquired − frames_written): dropped at the buffer, or lost with a saver. */
  readonly frames_lost: number;
  readonly gaps: ReadonlyArray<readonly [number, number]>;
  readonly end_reason: string;
  readonly error: string | null;
  /** The error's code (e.g. CAMERA_FAILED) when `error` is set; absent otherwise. */
  readonly error_code?: string;
  /** The run's duration and frame rate as in the file (docs/hdf5-layout.md); null with fewer than two frames or a remote saver. */
  readonly duration_s?: number | null;
  readonly fps?: number | null;
  readonly bytes_written?: number;
  /** The frame rate the camera was asked for; null when it sets none (fps 0, a source's own pace). */
  readonly fps_requested?: number | null;
  /** The rate frames reached the acquisition over the run, what a shortfall (rate_warning) is judged by; null for runs under a second. */
  readonly fps_achieved?: number | null;
  /** Why the recording's name and note (record name, note) could not be stored in its file; absent when they were, or none was given. */
  readonly note_error?: string;
}

/** Result of `wait`: the recording once it has ended, and the status after it (the state it went back to). */
export interface WaitResult {
  /** False: `timeout_s` passed first; ask again. */
  readonly ended: boolean;
  readonly recording: RecordingInfo | null;
  readonly status: ExperimentStatus;
}

export const ANALYSIS_STATES = ['stopped', 'starting', 'running', 'stopping', 'failed'] as const;
export type AnalysisState = (typeof ANALYSIS_STATES)[number];

/** One analysis the controller knows (configured or built in), running or not. */
export interface AnalysisInfo {
  readonly name: string;
  /** stats, localize or module. */
  readonly kind: string;
  /** Its results' topic on the results endpoint: `analysis/NAME`. */
  readonly topic: string;
  /** `failed`: it crashed or could not start (see `error`); it can be started again. */
  readonly state: AnalysisState;
  readonly pid: number | null;
  readonly autostart: boolean;
  /** Since it was last started (including frames whose analysis threw). */
  readonly frames_analysed: number;
  /** Frames of the runs it watched that it did not analyse (it was busy, or they never reached it). */
  readonly frames_skipped: number;
  readonly results_per_s: number;
  /** Mean time to analyse one frame, ms, over the last quarter second (0 when none was analysed). */
  readonly analysis_ms: number;
  /** Frames whose analysis threw an error (the process keeps going); the last message is in `error`. */
  readonly frame_errors: number;
  readonly error: string | null;
}

/** A recording's progress: frames of N, seconds of S, and the time left when it has a target. */
export interface RunProgress {
  /** Frames acquired in this recording (as `frames.acquired`). */
  readonly frames: number;
  /** The frames asked for; null: no frame count. */
  readonly frames_target: number | null;
  /** Seconds since the recording started. */
  readonly elapsed_s: number;
  /** The duration asked for; null: no time limit. */
  readonly duration_target_s: number | null;
  /** Seconds until the recording reaches its target (the nearer one); null when it has none, or no rate is known yet. */
  readonly eta_s: number | null;
}

export interface ExperimentStatus {
  readonly protocol: typeof PROTOCOL_VERSION;
  readonly state: ExperimentState;
  /** Why the state is `error`, in plain words. */
  readonly error: string | null;
  readonly run_id: string | null;
  /** The file being written, while recording. */
  readonly file: string | null;
  readonly frames: {
    /** Of the current run: from the camera. */
    readonly acquired: number;
    /** Of the current run: handed to the data endpoint for viewers and analysis. */
    readonly published: number;
    /** Of the current run: not published because the data socket was still busy (viewers see a gap). */
    readonly live_skipped: number;
    /** Of the current run: dropped at the acquisition-side buffer before the saver. */
    readonly dropped: number;
    /** Of the current recording: in the file. */
    readonly saved: number;
  };
  readonly fps: number;
  readonly mb_per_s: number;
  /** The frame rate the camera was asked for; null when it sets none (absent from older servers). */
  readonly fps_requested?: number | null;
  /** The rate the camera delivers, over the last second or more of the current run; null when no run or too short. */
  readonly fps_achieved?: number | null;
  /** Set while the camera stays more than 5 % below the rate asked of it: "requested 1000 fps, achieved 160 fps (camera-bound)". */
  readonly rate_warning?: string | null;
  /** Bytes in the file of the current recording (as `frames.saved`). */
  readonly saved_bytes?: number;
  /** How far the current recording has got; null when none runs (absent from older servers). */
  readonly progress?: RunProgress | null;
  readonly camera: {
    readonly driver: string;
    readonly model: string;
    readonly settings: Readonly<Record<string, number | string | boolean>>;
  } | null;
  readonly endpoints: {
    readonly data: string;
    readonly control: string;
    readonly status: string;
    /** Analysis results, for subscribers (XPUB); absent from servers without analysis. */
    readonly results?: string;
    /** Where analysis processes publish (XSUB; connect a PUB). */
    readonly results_in?: string;
  };
  readonly last_recording: RecordingInfo | null;
  readonly processes: readonly ProcessInfo[];
  /** Every analysis the server knows, running or not (absent from servers without analysis). */
  readonly analyses?: readonly AnalysisInfo[];
  /**
   * The camera's stream health, for drivers that count it (GenICam: completed,
   * failed and underrun buffers, missing and resent packets, resend requests,
   * triggers sent and missed), as last reported: the current or last stream. Absent otherwise.
   */
  readonly stream?: Readonly<Record<string, number>>;
}

export type ControlReply =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string; readonly field?: string } };

// ---- results ----

/** A camera setting's spec as the controller reports it (the acquisition process's own payload). */
export const settingSpecSchema: z.ZodType<SettingSpecPayload> = z.object({
  name: z.string(),
  description: z.string(),
  unit: z.string(),
  min: z.number(),
  max: z.number(),
  integer: z.boolean(),
  default: z.union([z.number(), z.string(), z.boolean()]),
  changeable_while_streaming: z.boolean(),
  type: z.enum(['integer', 'float', 'enumeration', 'boolean', 'string']).optional(),
  entries: z.array(z.string()).optional(),
  access: z.enum(['RO', 'RW']).optional(),
  increment: z.number().optional(),
});

const settingValue = z.union([z.number(), z.string(), z.boolean()]);
const settingValues = z.record(settingValue);

/** Result of `settings` and `set`: every value and spec, since one setting's range can depend on another's value. */
export const settingsResultSchema = z.object({ settings: settingValues, specs: z.array(settingSpecSchema) });
export type SettingsResult = z.infer<typeof settingsResultSchema>;

/** Result of `get`. */
export const settingResultSchema = z.object({ name: z.string(), value: settingValue, spec: settingSpecSchema });
export type SettingResult = z.infer<typeof settingResultSchema>;

export const processInfoSchema: z.ZodType<ProcessInfo> = z.object({
  role: z.string(),
  title: z.string(),
  pid: z.number().int().nullable(),
  running: z.boolean(),
});

export const recordingInfoSchema: z.ZodType<RecordingInfo> = z.object({
  path: z.string().nullable(),
  saver: z.string(),
  run_id: z.string(),
  frames_written: z.number(),
  frames_acquired: z.number(),
  frames_lost: z.number(),
  gaps: z.array(z.tuple([z.number(), z.number()])),
  end_reason: z.string(),
  error: z.string().nullable(),
  error_code: z.string().optional(),
  duration_s: z.number().nullable().optional(),
  fps: z.number().nullable().optional(),
  bytes_written: z.number().optional(),
  fps_requested: z.number().nullable().optional(),
  fps_achieved: z.number().nullable().optional(),
  note_error: z.string().optional(),
});

export const analysisInfoSchema: z.ZodType<AnalysisInfo> = z.object({
  name: z.string(),
  kind: z.string(),
  topic: z.string(),
  state: z.enum(ANALYSIS_STATES),
  pid: z.number().int().nullable(),
  autostart: z.boolean(),
  frames_analysed: z.number(),
  frames_skipped: z.number(),
  results_per_s: z.number(),
  analysis_ms: z.number(),
  frame_errors: z.number(),
  error: z.string().nullable(),
});

/** Not strict: a view keeps working when a newer server adds fields. */
export const experimentStatusSchema: z.ZodType<ExperimentStatus> = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  state: z.enum(EXPERIMENT_STATES),
  error: z.string().nullable(),
  run_id: z.string().nullable(),
  file: z.string().nullable(),
  frames: z.object({
    acquired: z.number(),
    published: z.number(),
    live_skipped: z.number(),
    dropped: z.number(),
    saved: z.number(),
  }),
  fps: z.number(),
  mb_per_s: z.number(),
  fps_requested: z.number().nullable().optional(),
  fps_achieved: z.number().nullable().optional(),
  rate_warning: z.string().nullable().optional(),
  saved_bytes: z.number().optional(),
  progress: z
    .object({
      frames: z.number(),
      frames_target: z.number().nullable(),
      elapsed_s: z.number(),
      duration_target_s: z.number().nullable(),
      eta_s: z.number().nullable(),
    })
    .nullable()
    .optional(),
  camera: z.object({ driver: z.string(), model: z.string(), settings: settingValues }).nullable(),
  endpoints: z.object({
    data: z.string(),
    control: z.string(),
    status: z.string(),
    results: z.string().optional(),
    results_in: z.string().optional(),
  }),
  last_recording: recordingInfoSchema.nullable(),
  processes: z.array(processInfoSchema),
  analyses: z.array(analysisInfoSchema).optional(),
  stream: z.record(z.number()).optional(),
});

/** What each command answers with. Commands that change state answer with the status after the change. */
export const CONTROL_RESULT_SCHEMAS = {
  status: experimentStatusSchema,
  live: experimentStatusSchema,
  record: experimentStatusSchema,
  stop: experimentStatusSchema,
  save: experimentStatusSchema,
  /** The one-frame file. */
  snap: recordingInfoSchema,
  /** The file, its title, the note's group and how many notes it now holds. */
  note: z.object({ path: z.string(), title: z.string().nullable(), note: z.string().nullable(), notes: z.number() }),
  /** The status once the camera took the trigger. */
  trigger: experimentStatusSchema,
  settings: settingsResultSchema,
  get: settingResultSchema,
  set: settingsResultSchema,
  subscribers: z.array(processInfoSchema),
  subscriber: experimentStatusSchema,
  /** Every analysis after the action. */
  analysis: z.array(analysisInfoSchema),
  reset: experimentStatusSchema,
  /** The status as shutdown begins; the server closes once the recording is drained. */
  shutdown: experimentStatusSchema,
  wait: z.object({ ended: z.boolean(), recording: recordingInfoSchema.nullable(), status: experimentStatusSchema }),
} as const satisfies Record<ControlCommand, z.ZodTypeAny>;
export type ControlResult<C extends ControlCommand> = z.infer<(typeof CONTROL_RESULT_SCHEMAS)[C]>;

/** Checks a result against what `cmd` answers with; a mismatch is BAD_MESSAGE naming the first wrong field. */
export function parseControlResult<C extends ControlCommand>(cmd: C, result: unknown): ControlResult<C> {
  const parsed = (CONTROL_RESULT_SCHEMAS[cmd] as z.ZodTypeAny).safeParse(result);
  if (parsed.success) return parsed.data as ControlResult<C>;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.length === 0 ? 'the result' : issue.path.join('.');
  throw new LabcastError('BAD_MESSAGE', `the reply to "${cmd}" does not follow the protocol: ${where}: ${issue.message}`);
}

// ---- replies ----

export const controlReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
  }),
]);

// ---- request validation with messages for people ----

/** Larger requests are refused unread; no command needs more than a few hundred bytes. */
export const MAX_CONTROL_REQUEST_BYTES = 64 * 1024;

/** Topic of every message on the status endpoint (PUB/SUB): [topic, JSON ExperimentStatus]. */
export const STATUS_TOPIC = 'status';

type RequestSchema = (typeof controlRequestSchema.options)[number];
const REQUEST_SCHEMA_OF: ReadonlyMap<string, RequestSchema> = new Map(
  controlRequestSchema.options.map((option) => [option.shape.cmd.value, option]),
);
const KNOWN_COMMANDS = CONTROL_COMMANDS.join(', ');

/**
 * The request in `value`, or LabcastError BAD_REQUEST saying what is wrong in
 * words a person can act on: the known commands for an unknown one, the
 * accepted type and range for a bad argument (`field` names it).
 */
export function parseControlRequest(value: unknown): ControlRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LabcastError('BAD_REQUEST', `a request must be a JSON object such as {"cmd":"status"}, got ${describeValue(value)}`);
  }
  const cmd = (value as Record<string, unknown>).cmd;
  if (cmd === undefined) {
    throw new LabcastError('BAD_REQUEST', `the request has no "cmd"; known commands: ${KNOWN_COMMANDS}`, 'cmd');
  }
  const schema = typeof cmd === 'string' ? REQUEST_SCHEMA_OF.get(cmd) : undefined;
  if (schema === undefined) {
    throw new LabcastError('BAD_REQUEST', `unknown command ${describeValue(cmd)}; known commands: ${KNOWN_COMMANDS}`, 'cmd');
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw requestIssueError(cmd as string, schema, value as Record<string, unknown>, parsed.error.issues);
}

function requestIssueError(cmd: string, schema: RequestSchema, request: Record<string, unknown>, issues: z.ZodIssue[]): LabcastError {
  const argumentSchemas = schema.shape as Record<string, z.ZodTypeAny>;
  const argumentNames = Object.keys(argumentSchemas).filter((name) => name !== 'cmd');
  // An unknown argument is usually a typo, and explains any "missing" one.
  const issue = issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys[0]!;
    const accepted = argumentNames.length === 0 ? `"${cmd}" takes no arguments` : `"${cmd}" takes ${argumentNames.join(', ')}`;
    return new LabcastError('BAD_REQUEST', `${cmd}: unknown argument ${describeValue(unknown)}; ${accepted}`, unknown.slice(0, 200));
  }
  const field = String(issue.path[0] ?? '');
  const argument = argumentSchemas[field];
  if (argument === undefined) return new LabcastError('BAD_REQUEST', `${cmd}: ${issue.message}`, field || undefined);
  const accepted = describeAccepted(argument);
  const given = request[field];
  if (given === undefined) {
    return new LabcastError('BAD_REQUEST', `${cmd}: "${field}" is required: ${accepted}`, field);
  }
  const problem = ISSUE_PROBLEM[`${issue.code}:${typeof given}`] ?? 'must be';
  return new LabcastError('BAD_REQUEST', `${cmd}: "${field}" ${problem} ${accepted}, got ${describeValue(given)}`, field);
}

const ISSUE_PROBLEM: Readonly<Record<string, string>> = {
  'too_small:number': 'is out of range: it must be',
  'too_big:number': 'is out of range: it must be',
  'too_small:string': 'is too short: it must be',
  'too_big:string': 'is too long: it must be',
};

/** E.g. "a whole number from 1 to 1e12", "true or false", "one of \"start\", \"stop\"". */
function describeAccepted(schema: z.ZodTypeAny): string {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodTypeAny) : schema;
  if (inner instanceof z.ZodNumber) return describeNumber(inner);
  if (inner instanceof z.ZodString) {
    const { minLength, maxLength } = inner;
    return maxLength === null ? 'a string' : `a string of ${minLength ?? 0} to ${maxLength} characters`;
  }
  if (inner instanceof z.ZodBoolean) return 'true or false';
  if (inner instanceof z.ZodEnum) return `one of ${(inner.options as string[]).map((option) => JSON.stringify(option)).join(', ')}`;
  if (inner instanceof z.ZodUnion) return (inner.options as z.ZodTypeAny[]).map(describeAccepted).join(', or ');
  return 'a valid value';
}

function describeNumber(schema: z.ZodNumber): string {
  let min: { value: number; inclusive: boolean } | null = null;
  let max: { value: number; inclusive: boolean } | null = null;
  for (const check of schema._def.checks) {
    if (check.kind === 'min') min = { value: check.value, inclusive: check.inclusive };
    if (check.kind === 'max') max = { value: check.value, inclusive: check.inclusive };
  }
  const integer = schema.isInt;
  // For whole numbers "> 0" reads better as "from 1".
  if (integer && min !== null && !min.inclusive) min = { value: Math.floor(min.value) + 1, inclusive: true };
  if (integer && max !== null && !max.inclusive) max = { value: Math.ceil(max.value) - 1, inclusive: true };
  const bounded = min !== null || max !== null;
  const kind = integer ? 'a whole number' : schema.isFinite && !bounded ? 'a finite number' : 'a number';
  if (min?.inclusive && max?.inclusive) return `${kind} from ${formatBound(min.value)} to ${formatBound(max.value)}`;
  const bounds = [
    min === null ? null : `${min.inclusive ? '>=' : '>'} ${formatBound(min.value)}`,
    max === null ? null : `${max.inclusive ? '<=' : '<'} ${formatBound(max.value)}`,
  ].filter((bound) => bound !== null);
  return bounds.length === 0 ? kind : `${kind} ${bounds.join(' and ')}`;
}

/** 1e12 rather than 1000000000000. */
function formatBound(value: number): string {
  return Math.abs(value) >= 1e6 && Number.isInteger(value) ? value.toExponential().replace('e+', 'e') : String(value);
}

/** A received value, briefly: a client may send anything, of any size. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
