import type { Dataset, File as H5File } from 'h5wasm/node';
import type { ReplayCameraSpec } from '../../camera-spec/replay-spec.js';
import { LabcastError } from '../../protocol/errors.js';
import type { RecordingSummary } from '../../hdf5/file-inspector.js';
import { PATHS } from '../../hdf5/hdf5-layout.js';
import type { Camera, CameraInfo, Frame, FrameFormat, SettingSpec, SettingValue } from '../camera.js';
import { epochNowNs } from '../clock.js';
import { waitUntil, yieldToEventLoop } from '../pacing.js';
import { StreamSlot } from '../stream-slot.js';

/**
 * A labcast recording played back as a camera: its frames, in order, with
 * timestamps re-based to the moment the stream starts.
 *
 * - no fps: paced by the recorded camera timestamps (free-running);
 * - fps > 0: one frame every 1/fps s, stamped on that grid (free-running);
 * - fps 0: as fast as the consumer takes them (not free-running, so nothing
 *   is dropped), stamped with the recorded spacing.
 * The stream ends after the last frame. Replay has no settings.
 */
export class ReplayCamera implements Camera {
  readonly freeRunning: boolean;
  info: CameraInfo;

  private summary: RecordingSummary | null = null;
  private file: H5File | null = null;
  private frames: Dataset | null = null;
  /** Recorded camera timestamps, ns since the epoch. */
  private recordedNs: BigInt64Array = new BigInt64Array(0);
  private readonly streamSlot = new StreamSlot();
  private snapCount = 0;
  private lastTimestampNs = 0n;

  constructor(readonly spec: Readonly<ReplayCameraSpec>) {
    this.freeRunning = spec.fps !== 0;
    this.info = Object.freeze({ driver: 'replay', model: `replay of ${spec.path}` });
  }

  /** Only a rate given as fps; the recorded timing is followed, not asked for. */
  requestedFps(): number | null {
    return this.spec.fps !== undefined && this.spec.fps > 0 ? this.spec.fps : null;
  }

  get streaming(): boolean {
    return this.streamSlot.busy;
  }

  /** Frames the file holds. */
  get frameCount(): number {
    return this.summary?.frameCount ?? 0;
  }

  async open(): Promise<void> {
    if (this.file !== null) return;
    const path = this.spec.path;
    // Loaded on first use: HDF5 (WebAssembly) costs every other driver's process ~70 ms at start.
    const [{ inspectRecording }, { describeHdf5Error, loadH5wasm }, { Dataset }] = await Promise.all([
      import('../../hdf5/file-inspector.js'),
      import('../../hdf5/h5wasm-runtime.js'),
      import('h5wasm/node'),
    ]);
    let summary: RecordingSummary;
    try {
      summary = await inspectRecording(path);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new LabcastError('CAMERA_UNAVAILABLE', `cannot replay ${path}: ${detail}`, 'camera');
    }
    if (summary.frameCount === 0) throw new LabcastError('CAMERA_UNAVAILABLE', `cannot replay ${path}: it holds no frames`, 'camera');
    const h5 = await loadH5wasm();
    let file: H5File;
    try {
      file = new h5.File(path, 'r');
    } catch (error) {
      throw new LabcastError('CAMERA_UNAVAILABLE', `cannot replay ${path}: ${describeHdf5Error(error)}`, 'camera');
    }
    const frames = file.get(PATHS.frames);
    const stamps = file.get(PATHS.cameraTimestamp);
    if (!(frames instanceof Dataset) || !(stamps instanceof Dataset)) {
      file.close();
      throw new LabcastError('CAMERA_UNAVAILABLE', `cannot replay ${path}: not a labcast recording`, 'camera');
    }
    const recorded = stamps.slice([[0, summary.frameCount]]);
    if (!(recorded instanceof BigInt64Array)) {
      file.close();
      throw new LabcastError('CAMERA_UNAVAILABLE', `cannot replay ${path}: ${PATHS.cameraTimestamp} is not int64`, 'camera');
    }
    this.summary = summary;
    this.file = file;
    this.frames = frames;
    this.recordedNs = recorded;
    this.info = Object.freeze({
      driver: 'replay',
      model: `replay of ${path} (${summary.camera.driver}: ${summary.camera.model})`,
    });
  }

  async close(): Promise<void> {
    this.streamSlot.stop();
    this.file?.close();
    this.file = null;
    this.frames = null;
  }

  frameFormat(): FrameFormat {
    if (this.summary === null) throw new LabcastError('CAMERA_STATE', 'the frame format is known once the camera has been opened');
    return { shape: [...this.summary.frameShape], dtype: this.summary.dtype };
  }

  settingSpecs(): readonly SettingSpec[] {
    return [];
  }

  getSettings(): Readonly<Record<string, SettingValue>> {
    return {};
  }

  async setSetting(name: string): Promise<void> {
    throw new LabcastError('BAD_SETTING', `setting "${name}" is not supported by this camera (replay)`, name);
  }

  async snap(): Promise<Frame> {
    this.requireOpen('snap');
    if (this.streaming) throw new LabcastError('CAMERA_STATE', 'cannot snap while streaming; stop the stream first');
    const index = this.snapCount % this.frameCount;
    return this.frameAt(index, this.nextTimestamp(epochNowNs()), this.snapCount++);
  }

  stream(signal: AbortSignal): AsyncIterable<Frame> {
    this.requireStreamable();
    return this.play(signal);
  }

  private async *play(signal: AbortSignal): AsyncGenerator<Frame, void, undefined> {
    this.requireStreamable();
    const { stop, release } = this.streamSlot.claim(signal);
    try {
      const fps = this.spec.fps;
      const startMonoNs = process.hrtime.bigint();
      const anchorNs = epochNowNs();
      const firstNs = this.recordedNs[0] ?? 0n;
      for (let index = 0; index < this.frameCount; index++) {
        const offsetNs =
          fps !== undefined && fps > 0 ? BigInt(Math.round((index * 1e9) / fps)) : (this.recordedNs[index] ?? firstNs) - firstNs;
        const due = fps === 0 ? yieldToEventLoop(stop) : waitUntil(startMonoNs + offsetNs, stop);
        if (!(await due)) return;
        yield this.frameAt(index, this.nextTimestamp(anchorNs + offsetNs), index);
      }
    } finally {
      release();
    }
  }

  private frameAt(index: number, timestampNs: bigint, cameraIndex: number): Frame {
    const frames = this.frames;
    const format = this.frameFormat();
    if (frames === null) throw new LabcastError('CAMERA_STATE', 'the camera is closed');
    const data = frames.slice([[index, index + 1]]) as unknown;
    if (!ArrayBuffer.isView(data)) throw new LabcastError('FILE_FORMAT', `${this.spec.path}: frame ${index} could not be read`);
    // A buffer of the frame's own, as the Frame contract asks (sent zero-copy).
    const pixels = new Uint8Array(data.byteLength);
    pixels.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    // h5wasm's copy out of its heap, then this one: past the one copy a frame may take, so the saver adds none.
    return Object.freeze({ pixels, shape: Object.freeze(format.shape), dtype: format.dtype, timestampNs, cameraIndex, pixelCopies: 2 });
  }

  private nextTimestamp(candidateNs: bigint): bigint {
    const timestamp = candidateNs > this.lastTimestampNs ? candidateNs : this.lastTimestampNs + 1n;
    this.lastTimestampNs = timestamp;
    return timestamp;
  }

  private requireOpen(action: string): void {
    if (this.file === null) throw new LabcastError('CAMERA_STATE', `cannot ${action}: the camera is closed; open it first`);
  }

  private requireStreamable(): void {
    this.requireOpen('stream');
    if (this.streaming) throw new LabcastError('CAMERA_STATE', 'the camera is already streaming; one stream at a time');
  }
}
