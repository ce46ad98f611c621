import { z } from 'zod';
import { PIXEL_DTYPES } from './dtype.js';

/** Bumped on any change a subscriber of the previous version would misread. */
export const PROTOCOL_VERSION = 1;

/** ZeroMQ topics (first frame of every multipart message). */
export const TOPICS = {
  frame: 'frame',
  runStart: 'run-start',
  runEnd: 'run-end',
  /** Several frames in one message; only on the lossless (record) path. */
  batch: 'batch',
  /** Several small frames with a binary index instead of a header each; only on the record path to labcast's own saver. */
  packedBatch: 'packed-batch',
  /** A frame whose pixels wait in shared memory; only on the record path to a saver on the same host. */
  sharedFrame: 'shared-frame',
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

const nanoseconds = z.bigint();
const shape = z.array(z.number().int().positive()).min(2).max(3);
const dtype = z.enum(PIXEL_DTYPES);
const runId = z.string().min(1).max(128);

/**
 * Ground truth of a simulated frame (sim camera, pattern `particles`): one entry
 * per particle, the index being the particle's id (stable across frames, so the
 * arrays are also the true tracks). x is the column, y the row, in pixels of
 * this frame (ROI-relative; pixel centres at integers; a particle outside the
 * ROI has coordinates outside the frame). amplitude: peak above the background
 * in DN (before clipping); intensity: 2π·sigma²·amplitude in DN·px, as
 * localisation reports it; sigma: the Gaussian sigma in px, the same for all.
 */
export const frameTruthSchema = z
  .object({
    x: z.array(z.number()),
    y: z.array(z.number()),
    amplitude: z.array(z.number()),
    intensity: z.array(z.number()),
    sigma: z.number(),
  })
  .strict();
export type FrameTruth = z.infer<typeof frameTruthSchema>;

/** Results of analysis `NAME` are published on the results endpoint with topic `analysis/NAME`. */
export const ANALYSIS_TOPIC_PREFIX = 'analysis/';

export const frameHeaderSchema = z
  .object({
    protocol: z.literal(PROTOCOL_VERSION),
    run_id: runId,
    seq: z.number().int().nonnegative(),
    camera_ts_ns: nanoseconds,
    wall_ts_ns: nanoseconds,
    shape,
    dtype,
    /** Simulator only (pattern `particles`): where the particles really are. */
    truth: frameTruthSchema.optional(),
  })
  .strict();
export type FrameHeader = z.infer<typeof frameHeaderSchema>;

const settingValue = z.union([z.number(), z.string(), z.boolean()]);

export const runStartSchema = z
  .object({
    protocol: z.literal(PROTOCOL_VERSION),
    run_id: runId,
    shape,
    dtype,
    /** Frames asked for; null = until stopped. */
    frames_requested: z.number().int().positive().nullable(),
    duration_s: z.number().positive().nullable(),
    start_wall_ns: nanoseconds,
    camera: z
      .object({
        driver: z.string(),
        model: z.string(),
        settings: z.record(settingValue),
      })
      .strict(),
    /** The full configuration the run was started with, for provenance. */
    config: z.unknown(),
    software: z
      .object({
        name: z.string(),
        version: z.string(),
        node: z.string(),
        host: z.string(),
      })
      .strict(),
  })
  .strict();
export type RunStart = z.infer<typeof runStartSchema>;

export const RUN_END_REASONS = ['completed', 'stopped', 'error'] as const;
export type RunEndReason = (typeof RUN_END_REASONS)[number];

export const runEndSchema = z
  .object({
    protocol: z.literal(PROTOCOL_VERSION),
    run_id: runId,
    reason: z.enum(RUN_END_REASONS),
    error: z.string().nullable(),
    /** The error's code (protocol.md's catalogue, e.g. CAMERA_FAILED) when reason is error; absent otherwise. */
    error_code: z.string().min(1).max(64).optional(),
    end_wall_ns: nanoseconds,
    /** Sequence numbers used (seq 0 .. frames_acquired-1): frames the camera delivered, plus frames_lost_camera. */
    frames_acquired: z.number().int().nonnegative(),
    /** Frames dropped at the acquisition-side buffer of the lossless path. */
    frames_dropped: z.number().int().nonnegative(),
    /** Each dropped run of sequence numbers as [first_seq, count]. */
    drops: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().positive()])),
    /** The frame rate the camera was asked for; null when nothing set one. */
    fps_requested: z.number().positive().nullable().optional(),
    /** The rate it delivered: frame intervals over the time from first to last frame; null for runs under a second. */
    fps_achieved: z.number().nonnegative().nullable().optional(),
    /**
     * Frames the camera lost before acquisition got them (GenICam: incomplete
     * buffers, skipped frame ids); their sequence numbers are unused, so they
     * are gaps too. Absent for cameras that cannot lose frames this way.
     */
    frames_lost_camera: z.number().int().nonnegative().optional(),
    camera_losses: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().positive()])).optional(),
    /** The camera's stream health counters at the end of the run (GenICam: Aravis's statistics, triggers). */
    camera_statistics: z.record(z.number()).optional(),
  })
  .strict();
export type RunEnd = z.infer<typeof runEndSchema>;
