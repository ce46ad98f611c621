import type { PixelDtype } from '../protocol/dtype.js';
import type { FrameTruth } from '../protocol/messages.js';
import type { SettingSpecPayload } from '../protocol/process-messages.js';

/** One image from a camera. */
export interface Frame {
  /**
   * A buffer of its own per frame: ownership passes to the receiver, which may
   * hand it to ZeroMQ zero-copy. A driver must never write into it again.
   */
  readonly pixels: Uint8Array;
  /** [height, width] or [height, width, channels]. */
  readonly shape: readonly number[];
  readonly dtype: PixelDtype;
  /** When the camera captured the frame: integer ns since the Unix epoch. */
  readonly timestampNs: bigint;
  /** The camera's own counter, from 0 at the start of each stream (snaps count separately). */
  readonly cameraIndex: number;
  /** What the frame really shows, when the camera knows (the simulator's `particles` pattern). */
  readonly truth?: FrameTruth;
  /**
   * Frames the camera lost just before this one (incomplete buffers, skipped
   * frame ids): acquisition leaves that many sequence numbers unused, so the
   * loss is a counted gap in the recording. Absent = 0.
   */
  readonly lostBefore?: number;
  /** When the host received the frame, ns since the Unix epoch, if the driver knows better than acquisition's own clock. */
  readonly hostTimestampNs?: bigint;
  /**
   * Copies the pixels took in user space on their way into `pixels`: Aravis
   * assembling GigE Vision packets, an unpack, a copy out of a stream
   * buffer. Absent = 0: made where they lie (rendered, read from a pipe,
   * transferred there by the device). The saver spends a copy of its own
   * only on frames that have had none, so no frame is copied twice.
   */
  readonly pixelCopies?: number;
}

/**
 * Memory a camera may render or read a frame into instead of allocating its
 * own: for a large frame a slot of the saver's shared-memory ring
 * (src/transport/frame-ring.ts), so the frame is born where the saver writes
 * it from and is never copied in this process; for a small frame a place in a
 * block shared with the frames before it (no allocation per frame, and a
 * batch is sent as one view). Optional for a driver; one that ignores it loses nothing.
 */
export interface FrameMemory {
  /**
   * Memory for the next frame of exactly `bytes`, or null (use memory of your
   * own). The camera must fill all of it and yield it as that frame's
   * `pixels`, or yield its next frame in memory of its own (the slot is then
   * taken back).
   */
  take(bytes: number): Uint8Array | null;
  /**
   * Memory for a frame of exactly `bytes` that the camera may hold while it
   * takes more (a driver whose frames are filled by the device in the order
   * it likes: GenICam stream buffers over ring slots), or null. Each is
   * yielded as a frame's `pixels` or handed back with giveBack(slot), in any
   * order; a driver holds only a bounded share of them at once. The memory
   * holds `capacity` bytes (default `bytes`) from the view's start.
   */
  lend?(bytes: number, capacity?: number): Uint8Array | null;
  /** Hands back memory lend() or take() gave whose frame will not be yielded. */
  giveBack?(slot: Uint8Array): void;
}

/**
 * Most settings are numbers; GenICam cameras also have Enumeration (entry
 * name), String and Boolean features, whose specs say so in `type`.
 */
export type SettingValue = number | string | boolean;

/** What a setting accepts (name, range, unit, default, whether it may change while streaming). */
export type SettingSpec = SettingSpecPayload;

export interface CameraInfo {
  /** Registry name of the driver, e.g. "sim". */
  readonly driver: string;
  /** Human-readable model, e.g. "labcast simulated camera (particles)". */
  readonly model: string;
}

export interface FrameFormat {
  readonly shape: readonly number[];
  readonly dtype: PixelDtype;
}

/**
 * The one camera model every driver implements. Only the acquisition process
 * holds a Camera; everything else sees frames on the wire.
 */
export interface Camera {
  readonly info: CameraInfo;
  /**
   * True when frames come on the camera's own clock and cannot wait for a slow
   * consumer (a real sensor, a paced simulator); false when the next frame is
   * made on demand (simulator at fps 0, file replay), so acquisition may wait.
   */
  readonly freeRunning: boolean;

  open(): Promise<void>;
  /** Idempotent; ends any stream. */
  close(): Promise<void>;

  /** Shape and dtype of frames under the current settings. */
  frameFormat(): FrameFormat;
  /**
   * The frame rate the camera was asked for (fps), to compare with what it
   * delivers; null or absent when nothing sets a rate (frames on demand, a
   * source at its own unknown pace).
   */
  requestedFps?(): number | null;
  settingSpecs(): readonly SettingSpec[];
  getSettings(): Readonly<Record<string, SettingValue>>;
  /** Validates against settingSpecs(); throws LabcastError BAD_SETTING naming the setting and its range. */
  setSetting(name: string, value: SettingValue): Promise<void>;

  /** One frame, outside any stream. Refused while streaming. */
  snap(): Promise<Frame>;
  /**
   * Frames until `signal` aborts (stop streaming) or the source ends. After an
   * abort the iterator finishes within about one frame period. One stream at a time.
   */
  stream(signal: AbortSignal, memory?: FrameMemory): AsyncIterable<Frame>;

  /** Cameras in software-trigger mode: one trigger while streaming (CAMERA_STATE otherwise). */
  softwareTrigger?(): Promise<void>;
  /** Transport and stream health counters (GenICam: Aravis's stream statistics and missed triggers). */
  streamStatistics?(): Readonly<Record<string, number>>;
}
