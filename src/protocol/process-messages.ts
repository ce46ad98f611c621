import { z } from 'zod';
import { compressionSpecSchema, type CompressionSummary } from './compression.js';
import type { PixelDtype } from './dtype.js';
import type { RunEnd } from './messages.js';

/**
 * Messages between a supervising process (the experiment side) and its
 * labcast children over Node's IPC channel (forked with serialization
 * 'advanced', so bigint fields cross intact). Views never see these. A
 * child's init arrives as JSON in its argv, or as its first message
 * (InitMessage) when it was forked before its init was known: its schema is
 * here, checked in the child.
 */

/**
 * A child forked ahead of its init (no argv) asks for it once it listens
 * (a message that arrives before a listener is there is lost), and gets it
 * in reply.
 */
export interface InitRequest {
  readonly type: 'awaiting-init';
}
export interface InitMessage {
  readonly type: 'init';
  readonly init: unknown;
}

export interface ErrorPayload {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

// ---- acquisition child ----

/** What the acquisition process is started with (JSON in its argv); validated there. */
export const acquisitionInitSchema = z
  .object({
    /** Camera spec, validated by the driver registry in the child. */
    camera: z.unknown(),
    /** Camera settings applied after open, before the first run (checked against the camera's ranges). */
    settings: z.record(z.union([z.number(), z.string(), z.boolean()])),
    dataEndpoint: z.string(),
    /** Lossless endpoint for the saver; null when nothing is to be recorded. */
    recordEndpoint: z.string().nullable(),
    /** Bound of the acquisition-side buffer on the lossless path. */
    bufferBytes: z.number().int().positive(),
    /** The configuration to carry into run-start for provenance. */
    config: z.unknown(),
    /** CURVE key files of the server (paths, so the secret never shows on a command line); absent = plain ZeroMQ. */
    curve: z.object({ publicKeyFile: z.string(), secretKeyFile: z.string() }).strict().nullable().optional(),
    /**
     * The saver is a process of the same controller on this host, so large
     * frames may reach it through shared memory (src/transport/frame-ring.ts).
     * Absent or false: every frame goes on the record socket. True also means
     * the saver is labcast's own: small frames go as packed batches.
     */
    sharedFrames: z.boolean().optional(),
  })
  .strict();
export type AcquisitionInit = Readonly<z.infer<typeof acquisitionInitSchema>>;

export type AcquisitionCommand =
  | {
      readonly type: 'start-run';
      readonly runId: string;
      readonly frames: number | null;
      readonly durationS: number | null;
      /** Also send frames down the lossless path to the saver. */
      readonly save: boolean;
      /** How long a saving run waits for its saver to connect (default 10 s). */
      readonly saverWaitMs?: number;
    }
  | { readonly type: 'stop' }
  /** The saver died: end the run without it and get the record endpoint ready for the next one. */
  | { readonly type: 'abandon-saving' }
  | { readonly type: 'set-setting'; readonly requestId: number; readonly name: string; readonly value: SettingValuePayload }
  | { readonly type: 'shutdown' }
  /** One software trigger; answered with a reply carrying requestId. */
  | { readonly type: 'trigger'; readonly requestId: number };

/**
 * What a camera setting accepts; views build their controls from this. The
 * camera model (devices/camera.ts) uses the same shape, so it crosses process
 * boundaries unchanged.
 */
export interface SettingSpecPayload {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  /** A string or boolean only for settings whose `type` says so (GenICam Enumeration, String, Boolean features). */
  readonly default: SettingValuePayload;
  /** False where a change would alter the frame shape (e.g. ROI) and so must wait for idle. */
  readonly changeable_while_streaming: boolean;
  /** GenICam features: the node's type. Absent = a number (min..max, `integer`). */
  readonly type?: 'integer' | 'float' | 'enumeration' | 'boolean' | 'string';
  /** Enumeration: the entry names it accepts now. */
  readonly entries?: readonly string[];
  /** GenICam features: RO settings are shown but cannot be set. Absent = RW. */
  readonly access?: 'RO' | 'RW';
  /** The step between accepted values, when the camera has one. */
  readonly increment?: number;
}

/** A setting's value: a number, or for GenICam Enumeration/String/Boolean features an entry name, text or boolean. */
export type SettingValuePayload = number | string | boolean;

export interface FrameFormatPayload {
  readonly shape: readonly number[];
  readonly dtype: PixelDtype;
}

export type AcquisitionEvent =
  | {
      readonly type: 'ready';
      readonly dataEndpoint: string;
      readonly recordEndpoint: string | null;
      readonly format: FrameFormatPayload;
      readonly camera: {
        readonly driver: string;
        readonly model: string;
        readonly freeRunning: boolean;
        readonly fpsRequested?: number | null;
      };
      readonly settings: Readonly<Record<string, SettingValuePayload>>;
      readonly specs: readonly SettingSpecPayload[];
    }
  /** The run is under way: for a saving run, once its saver is connected. */
  | { readonly type: 'run-started'; readonly runId: string }
  /** Answer to a command that carried a requestId. */
  | {
      readonly type: 'reply';
      readonly requestId: number;
      readonly error: ErrorPayload | null;
      /** Settings and their specs after the command (they may depend on each other). */
      readonly settings: Readonly<Record<string, SettingValuePayload>>;
      readonly specs: readonly SettingSpecPayload[];
    }
  | {
      readonly type: 'progress';
      readonly acquired: number;
      /** Frames the camera lost (counted gaps), when the camera reports them. */
      readonly cameraLost?: number;
      readonly dropped: number;
      readonly published: number;
      readonly liveSkipped: number;
      readonly queuedBytes: number;
      /** Savers connected to the record endpoint (handshake done). */
      readonly savers?: number;
      /** The frame rate the camera was asked for (null: none), and what it delivered over the last second (null until then). */
      readonly fpsRequested?: number | null;
      readonly fpsAchieved?: number | null;
      /** The camera's stream health counters, for drivers that have them (Camera.streamStatistics). */
      readonly stream?: Readonly<Record<string, number>>;
    }
  /** `stream`: the camera's stream health counters as the run ended, for drivers that have them. */
  | { readonly type: 'run-ended'; readonly end: RunEnd; readonly stream?: Readonly<Record<string, number>> }
  | { readonly type: 'error'; readonly error: ErrorPayload };

// ---- saver child ----

/** What the saver process is started with (JSON in its argv); validated there. */
export const saverInitSchema = z
  .object({
    endpoint: z.string(),
    outPath: z.string(),
    overwrite: z.boolean(),
    /** Upper bound on how long written frames stay unflushed. */
    flushIntervalMs: z.number().int().positive(),
    /** Lossless compression of the frames (storage.compression); absent: none. */
    compression: compressionSpecSchema.optional(),
    /** The run to save (its run-start's run_id); absent: the first run that starts. */
    runId: z.string().optional(),
    /** The CURVE public key of the record endpoint's server; absent or null = plain ZeroMQ. */
    serverKey: z.string().nullable().optional(),
    /**
     * serve's analysis results endpoint (XPUB): the saver subscribes to `analysis/`
     * and stores the results of its run in the file. Absent or null: no results.
     * With `serverKey` it connects as a CURVE client of that key (serve secures
     * both endpoints with the same key pair).
     */
    resultsEndpoint: z.string().nullable().optional(),
  })
  .strict();
export type SaverInit = Readonly<z.infer<typeof saverInitSchema>>;

/** One run's file, as a saver is started with it or (resident) handed it by a `save` command. */
export type SaverRun = Pick<SaverInit, 'runId' | 'outPath' | 'overwrite' | 'flushIntervalMs' | 'compression'>;

/** Where a saver takes frames and results from: what a resident saver is started with, before it has a run. */
export type SaverConnection = Pick<SaverInit, 'endpoint' | 'serverKey' | 'resultsEndpoint'>;

/**
 * serve's resident saver (src/experiment/resident-saver.ts): started with its
 * connection alone, connected and idle until a `save` command hands it a run;
 * it saves runs one after another, each to its own file.
 */
export const residentSaverInitSchema = saverInitSchema
  .pick({ endpoint: true, serverKey: true, resultsEndpoint: true })
  .extend({ resident: z.literal(true) })
  .strict();
export type ResidentSaverInit = Readonly<z.infer<typeof residentSaverInitSchema>>;

/** What saver-process.js is started with: one run, or (resident) none yet. */
export const anySaverInitSchema = z.union([saverInitSchema, residentSaverInitSchema]);

/** What the saver did with analysis results (file-closed), when it subscribed to them. */
export interface SavedResultsPayload {
  /** Well-formed results received, of any run. */
  readonly received: number;
  /** Results stored in the file, per analysis name. */
  readonly stored: Readonly<Record<string, number>>;
  /** Results of other runs, ignored. */
  readonly otherRun: number;
  /** Messages that were not valid results: counted and skipped. */
  readonly malformed: number;
  /** Results that could not be written (the frames are not affected). */
  readonly writeErrors: number;
  readonly lastError: string | null;
  /** How long the file waited for late results after the run end, ms. */
  readonly graceMs: number;
}

export type SaverCommand =
  /** Finish the run in hand with what has arrived (once nothing arrives for a moment), then exit. */
  | { readonly type: 'shutdown' }
  /** A resident saver's next run: save the run `run.runId` into `run.outPath`; sent only while it is idle. */
  | { readonly type: 'save'; readonly run: SaverRun & { readonly runId: string } };

/**
 * How the saver's native writer wrote the frames that came through the
 * shared-memory ring, in bytes (storage/ring-writes.ts): from their slot as
 * they lie, or copied into huge pages first, the saver's one copy of a frame
 * (spent only on frames that took none on their way into the ring).
 */
export interface RingWrites {
  /** Written with O_DIRECT straight from ring slots: no copy in the saver. */
  readonly inPlaceBytes: number;
  /** Copied into huge pages before their O_DIRECT write: one copy each. */
  readonly stagedBytes: number;
}

export interface SavedFileSummary {
  readonly path: string;
  readonly framesWritten: number;
  readonly gaps: ReadonlyArray<readonly [number, number]>;
  readonly bytesWritten: number;
  /** run-timing.ts; absent when the saver could not finish the file. */
  readonly durationS?: number | null;
  readonly fps?: number | null;
  /** Compressed frames: codec, bytes in and out (absent: raw frames). */
  readonly compression?: CompressionSummary;
}

export type SaverEvent =
  | { readonly type: 'ready' }
  | { readonly type: 'file-opened'; readonly path: string; readonly runId: string }
  | { readonly type: 'progress'; readonly framesWritten: number; readonly bytesWritten: number }
  | {
      readonly type: 'file-closed';
      readonly summary: SavedFileSummary;
      /** The acquisition's account of the run; null if it never arrived. */
      readonly end: RunEnd | null;
      readonly malformedMessages: number;
      /** Set when writing failed part-way (disk full...): the file keeps what `summary` says. */
      readonly error: ErrorPayload | null;
      /** The saver's CPU time (user + system) from the run start until the file was closed, s. */
      readonly saverCpuS?: number;
      /** Wall time from the first frame's arrival at the saver until the file was closed, s; absent without frames. */
      readonly firstFrameToClosedS?: number;
      /** The HDF5 writer that wrote the file, as in its /entry@hdf5_writer (e.g. "native (libhdf5 1.10.8)"). */
      readonly writer?: string;
      /** Frames that came through the shared-memory ring: how they were written. Absent when none did. */
      readonly ringWrites?: RingWrites;
      /** Present when the saver subscribed to analysis results. */
      readonly results?: SavedResultsPayload;
    }
  | { readonly type: 'error'; readonly error: ErrorPayload };
