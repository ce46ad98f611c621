import { LabcastError } from '../../protocol/errors.js';
import type { Camera, CameraInfo, Frame, FrameFormat, FrameMemory, SettingSpec, SettingValue } from '../camera.js';
import { bytesPerSample, type PixelDtype } from '../../protocol/dtype.js';
import { findSettingSpec, validateSettingValue } from '../settings.js';
import { CaptureClock } from '../clock.js';
import { parseSimCameraOptions, type SimCameraOptions, type SimCameraOptionsInput } from '../../camera-spec/sim-options.js';
import { waitUntil, yieldToEventLoop } from '../pacing.js';
import { renderResolvedFrame, resolvedFrameTruth } from './render.js';
import { checkBitDepthSetting, defaultSimSettings, simSettingSpecs, type SimSettings } from './sim-settings.js';
import { StreamSlot } from '../stream-slot.js';

/** Bytes of one frame under `settings` (its ROI). */
function frameByteCount(dtype: PixelDtype, settings: SimSettings): number {
  return settings.roi_width * settings.roi_height * bytesPerSample(dtype);
}

/**
 * A camera made of arithmetic: frame n of a stream is renderSimFrame(options,
 * settings, n), paced at `fps` (or made on demand at fps 0). snap, stream and
 * setSetting need the camera open; the descriptive queries work at any time.
 */
export class SimCamera implements Camera {
  readonly options: SimCameraOptions;
  readonly info: CameraInfo;
  readonly freeRunning: boolean;

  private settings: SimSettings;
  private clock: CaptureClock | undefined;
  private isOpen = false;
  /** Aborting it ends the current stream; undefined when not streaming. */
  private readonly streamSlot = new StreamSlot();
  private snapCount = 0;

  /** Throws LabcastError BAD_ARGUMENT naming the option when `options` is invalid. */
  constructor(options: SimCameraOptionsInput = {}) {
    this.options = parseSimCameraOptions(options);
    this.info = Object.freeze({ driver: 'sim', model: `labcast simulated camera (${this.options.pattern})` });
    this.freeRunning = this.options.fps > 0;
    this.settings = defaultSimSettings(this.options);
  }

  get streaming(): boolean {
    return this.streamSlot.busy;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    // Anchored once per camera, so timestamps keep increasing across close and reopen.
    this.clock ??= new CaptureClock();
    this.isOpen = true;
  }

  async close(): Promise<void> {
    this.streamSlot.stop();
    this.isOpen = false;
  }

  frameFormat(): FrameFormat {
    return { shape: [this.settings.roi_height, this.settings.roi_width], dtype: this.options.dtype };
  }

  requestedFps(): number | null {
    return this.options.fps > 0 ? this.options.fps : null;
  }

  settingSpecs(): readonly SettingSpec[] {
    return simSettingSpecs(this.options, this.settings);
  }

  getSettings(): Readonly<Record<string, SettingValue>> {
    return this.settings;
  }

  async setSetting(name: string, value: SettingValue): Promise<void> {
    this.requireOpen(`set "${name}"`);
    if (name === 'bit_depth') checkBitDepthSetting(this.options, value);
    const specs = this.settingSpecs();
    const checked = validateSettingValue(specs, name, value);
    if (this.streaming && !findSettingSpec(specs, name).changeable_while_streaming) {
      throw new LabcastError('CAMERA_STATE', `setting "${name}" cannot change while streaming; stop the stream first`, name);
    }
    // A new object rather than a mutation: a frame renders from one consistent snapshot.
    this.settings = Object.freeze({ ...this.settings, [name]: checked });
  }

  async snap(): Promise<Frame> {
    this.requireOpen('snap');
    if (this.streaming) throw new LabcastError('CAMERA_STATE', 'cannot snap while streaming; stop the stream first');
    return this.capture(this.snapCount++);
  }

  stream(signal: AbortSignal, memory?: FrameMemory): AsyncIterable<Frame> {
    // Checked here so that a refusal surfaces at the call, and again when iteration starts.
    this.requireStreamable();
    return this.frames(signal, memory);
  }

  private async *frames(signal: AbortSignal, memory: FrameMemory | undefined): AsyncGenerator<Frame, void, undefined> {
    this.requireStreamable();
    const { stop, release } = this.streamSlot.claim(signal);

    try {
      const { fps } = this.options;
      const startNs = process.hrtime.bigint();
      for (let index = 0; ; index++) {
        // Frame n is due at start + n/fps; a late consumer gets it late, never skipped.
        const due = fps > 0 ? waitUntil(startNs + BigInt(Math.round((index * 1e9) / fps)), stop) : yieldToEventLoop(stop);
        // At fps 0 mostly a plain true: no await (and no microtask) per frame.
        if (!(typeof due === 'boolean' ? due : await due)) return;
        yield this.capture(index, memory);
      }
    } finally {
      release();
    }
  }

  /** With `memory`, the frame is rendered straight into the memory it gives (the saver's ring slot). */
  private capture(cameraIndex: number, memory?: FrameMemory): Frame {
    const settings = this.settings;
    if (this.clock === undefined) throw new LabcastError('CAMERA_STATE', 'the camera has never been opened');
    const timestampNs = this.clock.nextTimestampNs();
    // The camera's settings were validated when set: each frame renders from them as they are.
    const truth = resolvedFrameTruth(this.options, settings, cameraIndex);
    return Object.freeze({
      pixels: renderResolvedFrame(
        this.options,
        settings,
        cameraIndex,
        memory?.take(frameByteCount(this.options.dtype, settings)) ?? undefined,
      ),
      shape: Object.freeze([settings.roi_height, settings.roi_width]),
      dtype: this.options.dtype,
      timestampNs,
      cameraIndex,
      ...(truth === undefined ? {} : { truth }),
    });
  }

  private requireOpen(action: string): void {
    if (!this.isOpen) throw new LabcastError('CAMERA_STATE', `cannot ${action}: the camera is closed; open it first`);
  }

  private requireStreamable(): void {
    this.requireOpen('stream');
    if (this.streaming) throw new LabcastError('CAMERA_STATE', 'the camera is already streaming; one stream at a time');
  }
}
