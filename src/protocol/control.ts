import { z } from 'zod';
import { PROTOCOL_VERSION } from './messages.js';

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
    })
    .strict(),
  /** Ends live or recording; a recording is drained and closed before the reply. */
  z.object({ cmd: z.literal('stop') }).strict(),
  /** While live: start (on) or stop (off) saving the stream, without stopping it. */
  z.object({ cmd: z.literal('save'), on: z.boolean() }).strict(),
  /** One frame into its own file. */
  z.object({ cmd: z.literal('snap'), path: fileName.optional() }).strict(),
  /** Every camera setting with its range, unit and current value. */
  z.object({ cmd: z.literal('settings') }).strict(),
  z.object({ cmd: z.literal('get'), name: z.string().min(1).max(200) }).strict(),
  z.object({ cmd: z.literal('set'), name: z.string().min(1).max(200), value: z.number().finite() }).strict(),
  /** The processes the controller supervises (acquisition, saver, ...). */
  z.object({ cmd: z.literal('subscribers') }).strict(),
  z.object({ cmd: z.literal('subscriber'), action: z.enum(['start', 'stop']), name: z.string().min(1).max(200) }).strict(),
  /** From `error` back to `idle` (what was saved is kept). */
  z.object({ cmd: z.literal('reset') }).strict(),
  /** Stops everything cleanly and ends `labcast serve`. */
  z.object({ cmd: z.literal('shutdown') }).strict(),
]);
export type ControlRequest = z.infer<typeof controlRequestSchema>;
export type ControlCommand = ControlRequest['cmd'];
export const CONTROL_COMMANDS: readonly ControlCommand[] = controlRequestSchema.options.map(
  (option) => option.shape.cmd.value,
);

export interface ProcessInfo {
  readonly role: string;
  readonly title: string;
  readonly pid: number | null;
  readonly running: boolean;
}

export interface RecordingInfo {
  readonly path: string;
  readonly run_id: string;
  readonly frames_written: number;
  readonly frames_acquired: number;
  readonly frames_dropped: number;
  readonly gaps: ReadonlyArray<readonly [number, number]>;
  readonly end_reason: string;
  readonly error: string | null;
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
    /** Of the current run: dropped at the acquisition-side buffer before the saver. */
    readonly dropped: number;
    /** Of the current recording: in the file. */
    readonly saved: number;
  };
  readonly fps: number;
  readonly mb_per_s: number;
  readonly camera: { readonly driver: string; readonly model: string; readonly settings: Readonly<Record<string, number>> } | null;
  readonly endpoints: { readonly data: string; readonly control: string; readonly status: string };
  readonly last_recording: RecordingInfo | null;
  readonly processes: readonly ProcessInfo[];
}

export type ControlReply =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string; readonly field?: string } };
