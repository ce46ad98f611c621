import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { frameByteLength } from '../../protocol/dtype.js';
import { LabcastError } from '../../protocol/errors.js';
import type { Camera, CameraInfo, Frame, FrameFormat, FrameMemory, SettingSpec, SettingValue } from '../camera.js';
import { epochNowNs } from '../clock.js';
import { findSettingSpec } from '../settings.js';
import { FFMPEG_LOG_ARGS, FfmpegRun, ptsFilter } from './ffmpeg-run.js';
import { framePipeAddon } from './frame-pipe.js';
import { frameLayout, outputPixelFormat, probeSource, type ProbedStream } from './probe.js';
import type { FfmpegCameraSpec, FfmpegPixelFormat } from '../../camera-spec/ffmpeg-spec.js';
import { describeSource, ffmpegInputArgs, isFreeRunning, readsAtNativeRate } from './source.js';
import { V4l2Controls, v4l2CtlRunner } from './v4l2-controls.js';
import { StreamSlot } from '../stream-slot.js';

/** A v4l2 pts further than this from the host clock is not trusted as an epoch time. */
const ABSOLUTE_PTS_TOLERANCE_NS = 10_000_000_000n;

/**
 * A camera read through ffmpeg: a webcam (V4L2), a video file, a network
 * stream or a lavfi test source. ffmpeg decodes and converts to gray, gray16le
 * or rgb24 and writes raw frames to a pipe, each read into the memory the
 * stream is given (FrameMemory: a ring slot for a large frame); the frame
 * size is learnt with ffprobe at open.
 *
 * Timestamps come from the frames' pts, not from when Node reads them:
 * - v4l2: the kernel's capture time (ffmpeg `-ts mono2abs -copyts`), already ns since the epoch;
 * - files, network streams, lavfi: the pts re-based so that the first frame of
 *   a stream is stamped with the host time at which it arrived.
 */
export class FfmpegCamera implements Camera {
  readonly info: CameraInfo;
  readonly freeRunning: boolean;

  private probed: ProbedStream | null = null;
  private pixelFormat: FfmpegPixelFormat | null = null;
  private controls: V4l2Controls | null = null;
  /** Why a v4l2 camera has no controls (v4l2-ctl missing...), for setSetting's answer. */
  private controlsUnavailable: LabcastError | null = null;
  private isOpen = false;
  private readonly streamSlot = new StreamSlot();
  private snapCount = 0;
  private lastTimestampNs = 0n;
  private model: string;

  constructor(readonly spec: Readonly<FfmpegCameraSpec>) {
    this.freeRunning = isFreeRunning(spec);
    this.model = `${spec.driver} ${describeSource(spec)}`;
    const currentModel = (): string => this.model;
    this.info = Object.freeze({
      driver: spec.driver,
      get model(): string {
        return currentModel();
      },
    });
  }

  /** A V4L2 framerate asked of the device, or the rate a file or graph is played at (as probed). */
  requestedFps(): number | null {
    if (this.spec.driver === 'v4l2') return this.spec.framerate ?? null;
    return readsAtNativeRate(this.spec) ? (this.probed?.fps ?? null) : null;
  }

  get streaming(): boolean {
    return this.streamSlot.busy;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const spec = this.spec;
    if (spec.driver === 'v4l2') checkDevice(spec.device);
    if (spec.driver === 'file') checkFile(spec.path);
    this.probed = await probeSource(spec);
    this.pixelFormat = spec.pixel_format ?? outputPixelFormat(this.probed.pixFmt);
    const { width, height, pixFmt } = this.probed;
    const name = spec.driver === 'v4l2' ? v4l2CardName(spec.device) : null;
    const source = `${spec.driver} ${describeSource(spec)}, ${width}x${height} ${pixFmt} as ${this.pixelFormat}`;
    // Brackets only around the details of a named device: readers print the model in brackets of their own.
    this.model = name === null ? source : `${name} (${source})`;
    if (spec.driver === 'v4l2') {
      const controls = new V4l2Controls(v4l2CtlRunner(spec.device));
      try {
        await controls.refresh();
        this.controls = controls;
      } catch (error) {
        if (!(error instanceof LabcastError)) throw error;
        // A webcam still streams without v4l2-ctl; only its settings are out of reach.
        this.controlsUnavailable = error;
      }
    }
    this.isOpen = true;
  }

  async close(): Promise<void> {
    this.streamSlot.stop();
    this.isOpen = false;
  }

  frameFormat(): FrameFormat {
    if (this.probed === null || this.pixelFormat === null) {
      throw new LabcastError('CAMERA_STATE', 'the frame format is known once the camera has been opened');
    }
    return frameLayout(this.pixelFormat, this.probed.width, this.probed.height);
  }

  settingSpecs(): readonly SettingSpec[] {
    return this.controls?.specs() ?? [];
  }

  getSettings(): Readonly<Record<string, SettingValue>> {
    return this.controls?.values() ?? {};
  }

  async setSetting(name: string, value: SettingValue): Promise<void> {
    if (this.controls === null) {
      if (this.controlsUnavailable !== null) {
        throw new LabcastError('BAD_SETTING', `cannot set "${name}": ${this.controlsUnavailable.message}`, name);
      }
      throw new LabcastError('BAD_SETTING', `setting "${name}" is not supported by this camera (${this.spec.driver})`, name);
    }
    const spec = findSettingSpec(this.controls.specs(), name);
    if (this.streaming && !spec.changeable_while_streaming) {
      throw new LabcastError('CAMERA_STATE', `setting "${name}" cannot change while streaming; stop the stream first`, name);
    }
    await this.controls.set(name, value);
  }

  async snap(): Promise<Frame> {
    this.requireOpen('snap');
    if (this.streaming) throw new LabcastError('CAMERA_STATE', 'cannot snap while streaming; stop the stream first');
    const stop = new AbortController();
    for await (const frame of this.frames(stop.signal, 1)) {
      stop.abort();
      return { ...frame, cameraIndex: this.snapCount++ };
    }
    throw new LabcastError('CAMERA_FAILED', `${describeSource(this.spec)} gave no frame`);
  }

  stream(signal: AbortSignal, memory?: FrameMemory): AsyncIterable<Frame> {
    this.requireStreamable();
    return this.frames(signal, null, memory);
  }

  /** The ffmpeg command line for a stream (exposed for tests and diagnostics). */
  ffmpegArgs(maxFrames: number | null): string[] {
    const pixelFormat = this.pixelFormat ?? 'rgb24';
    return [
      '-hide_banner',
      '-nostdin',
      ...FFMPEG_LOG_ARGS,
      // Keep the source's pts (the v4l2 kernel timestamps) instead of shifting them to 0.
      '-copyts',
      ...(readsAtNativeRate(this.spec) ? ['-re'] : []),
      ...ffmpegInputArgs(this.spec),
      '-map',
      '0:v:0',
      '-an',
      '-sn',
      '-dn',
      '-vf',
      ptsFilter(pixelFormat),
      // One output frame per decoded frame: no duplicates or drops to fit a rate.
      '-fps_mode',
      'passthrough',
      ...(maxFrames === null ? [] : ['-frames:v', String(maxFrames)]),
      '-f',
      'rawvideo',
      '-pix_fmt',
      pixelFormat,
      'pipe:1',
    ];
  }

  private async *frames(signal: AbortSignal, maxFrames: number | null, memory?: FrameMemory): AsyncGenerator<Frame, void, undefined> {
    this.requireStreamable();
    const { stop, release } = this.streamSlot.claim(signal);

    const format = this.frameFormat();
    const shape = Object.freeze([...format.shape]);
    const frameBytes = frameByteLength(format.shape, format.dtype);
    let run: FfmpegRun;
    try {
      run = new FfmpegRun(this.spec.ffmpeg_path, this.ffmpegArgs(maxFrames), frameBytes, framePipeAddon(frameBytes));
    } catch (error) {
      // No pipe (out of descriptors) or a refused LABCAST_FFMPEG_PIPE_READ: the camera can stream again.
      release();
      throw error;
    }
    const stamp = this.timestamper();
    try {
      for (let cameraIndex = 0; ; cameraIndex++) {
        const raw = await run.next(stop, memory);
        if (raw === null) return;
        yield Object.freeze({
          pixels: raw.pixels,
          shape,
          dtype: format.dtype,
          timestampNs: stamp(raw.ptsNs),
          cameraIndex,
        });
      }
    } finally {
      release();
      await run.stop();
    }
  }

  /** Turns pts into capture timestamps for one stream; strictly increasing across the camera's life. */
  private timestamper(): (ptsNs: bigint | null) => bigint {
    let offsetNs: bigint | null = null;
    return (ptsNs) => {
      const now = epochNowNs();
      let timestamp: bigint;
      if (ptsNs === null) {
        timestamp = now;
      } else {
        if (offsetNs === null) {
          const absolute = this.spec.driver === 'v4l2' && abs(ptsNs - now) < ABSOLUTE_PTS_TOLERANCE_NS;
          offsetNs = absolute ? 0n : now - ptsNs;
        }
        timestamp = ptsNs + offsetNs;
      }
      if (timestamp <= this.lastTimestampNs) timestamp = this.lastTimestampNs + 1n;
      this.lastTimestampNs = timestamp;
      return timestamp;
    };
  }

  private requireOpen(action: string): void {
    if (!this.isOpen) throw new LabcastError('CAMERA_STATE', `cannot ${action}: the camera is closed; open it first`);
  }

  private requireStreamable(): void {
    this.requireOpen('stream');
    if (this.streaming) throw new LabcastError('CAMERA_STATE', 'the camera is already streaming; one stream at a time');
  }
}

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}

function checkDevice(device: string): void {
  const stat = statSync(device, { throwIfNoEntry: false });
  if (stat === undefined) {
    throw new LabcastError('CAMERA_UNAVAILABLE', `no such camera device ${device} (labcast cameras lists the cameras)`, 'camera');
  }
  if (!stat.isCharacterDevice()) {
    throw new LabcastError('CAMERA_UNAVAILABLE', `${device} is not a video device`, 'camera');
  }
}

function checkFile(path: string): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) throw new LabcastError('CAMERA_UNAVAILABLE', `no such video file ${path}`, 'camera');
  if (!stat.isFile()) throw new LabcastError('CAMERA_UNAVAILABLE', `${path} is not a file`, 'camera');
}

/** The driver's name for a V4L2 device ("HD Webcam: HD Webcam"), from sysfs; null when unknown. */
export function v4l2CardName(device: string): string | null {
  try {
    return readFileSync(`/sys/class/video4linux/${basename(device)}/name`, 'utf8').trim() || null;
  } catch {
    return null;
  }
}
