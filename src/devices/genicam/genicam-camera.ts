import { LabcastError } from '../../protocol/errors.js';
import type { Camera, CameraInfo, Frame, FrameFormat, FrameMemory, SettingSpec, SettingValue } from '../camera.js';
import { findSettingSpec } from '../settings.js';
import { StreamSlot } from '../stream-slot.js';
import { speedUpOn } from '../../native/speed-switch.js';
import {
  requireAravisAddon,
  type AravisAddon,
  type AravisCameraHandle,
  type AravisStreamEvent,
  type FeatureValue,
} from '../../native/aravis-addon.js';
import {
  checkFeatureValue,
  describeAccepted,
  readFeatureSpec,
  readNodeMap,
  writeSetting,
  type NodeMapSnapshot,
} from './feature-settings.js';
import { FrameNumbering, frameIdWidth, type FrameIdWidth } from './frame-numbering.js';
import { interfacesFor } from './interfaces.js';
import { TRIGGER_ACTIVATIONS, type GenicamCameraSpec, type GenicamTrigger } from '../../camera-spec/genicam-spec.js';
import {
  frameShape,
  labcastByteLength,
  pixelFormatByName,
  SUPPORTED_PIXEL_FORMATS,
  wireByteLength,
  writeLabcastPixels,
  type PixelFormatInfo,
} from './pixel-formats.js';

/** A device clock this close to the host's is taken to be on the epoch already (PTP, or no device clock). */
const EPOCH_CLOCK_TOLERANCE_NS = 10_000_000_000n;

/**
 * What places the camera's clock on the epoch for one stream: nothing when it
 * is there already (a PTP-synchronised camera), else the first frame's host
 * arrival minus its device time, so that timestamps keep the camera's own
 * intervals.
 */
function deviceClockOffsetNs(deviceNs: bigint, hostNs: bigint): bigint {
  const difference = hostNs - deviceNs;
  return difference < EPOCH_CLOCK_TOLERANCE_NS && difference > -EPOCH_CLOCK_TOLERANCE_NS ? 0n : difference;
}

/** How long snap() waits for its frame. */
const SNAP_TIMEOUT_MS = 10_000;

/** Frames waiting for a slow consumer beyond this (and the pool size) are counted lost rather than held. */
const MIN_QUEUE_LIMIT = 64;
/**
 * Stream buffers lent to the driver at most (their images not yet copied
 * out); the stream gets this many beyond the camera's `buffers`, so the
 * camera always has `buffers` to fill, as when every image was copied the
 * moment it arrived.
 */
const LEND_LIMIT = 4;
/**
 * While ring slots feed the stream, buffers of Aravis's own are queued only
 * when fewer than this many wait: images are assembled in slots while the
 * ring has room, in Aravis's buffers (and then copied) when it is full.
 */
const SLOT_MIN_QUEUED = 2;
/** "0" has the driver copy each image from Aravis's buffer into its slot, as before slots were lent to the stream (A/B measurements). */
export const GENICAM_SLOTS_ENV = 'LABCAST_GENICAM_SLOTS';

/** What one stream (or the last one) counted beyond Aravis's own statistics. */
interface StreamCounters {
  numbering: FrameNumbering;
  /** Frames dropped because the consumer fell this far behind (counted in frames_lost). */
  queueOverflows: number;
  /** Complete buffers that were not the stream's format (a camera changing format mid-stream). */
  formatMismatches: number;
  /** Images copied out of their stream buffer ahead of the consumer, to give the buffer back to the camera (a consumer behind). */
  copiedOut: number;
  /** Images Aravis assembled in a ring slot, offered where they lie (no copy of labcast's). */
  assembledInRing: number;
}

/**
 * A GigE Vision or USB3 Vision camera (or Aravis's in-process fake) through
 * Aravis. Settings are the camera's node map (feature-settings.ts); frames
 * come from a fixed pool of stream buffers; frames the camera lost are
 * reported in `lostBefore` so that they are counted gaps in a recording.
 */
export class GenicamCamera implements Camera {
  readonly freeRunning = true;
  readonly info: CameraInfo;

  private addon: AravisAddon | null = null;
  private handle: AravisCameraHandle | null = null;
  private snapshot: NodeMapSnapshot | null = null;
  private idWidth: FrameIdWidth = 16;
  private model: string;
  private readonly streamSlot = new StreamSlot();
  private snapCount = 0;
  /** Copies the camera's transport makes of an image on its way into a buffer: 1 where Aravis assembles GigE Vision packets. */
  private transportCopies = 0;
  private lastTimestampNs = 0n;
  private counters: StreamCounters | null = null;
  private readonly triggers = { sent: 0, missed: 0, pending: [] as NodeJS.Timeout[] };

  constructor(readonly spec: Readonly<GenicamCameraSpec>) {
    this.model = `GenICam camera ${spec.id}`;
    // The model is known only once the camera is open; info reads it then.
    const currentModel = (): string => this.model;
    this.info = Object.freeze({
      driver: 'genicam',
      get model(): string {
        return currentModel();
      },
    });
  }

  get streaming(): boolean {
    return this.streamSlot.busy;
  }

  async open(): Promise<void> {
    if (this.handle !== null) return;
    const addon = requireAravisAddon();
    addon.useInterfaces(interfacesFor(this.spec.id, this.spec.interfaces));
    const handle = openById(addon, this.spec.id);
    this.addon = addon;
    this.handle = handle;
    try {
      const about = addon.cameraInfo(handle);
      this.model =
        [about.vendor, about.model].filter(Boolean).join(' ') + ` (serial ${about.serial ?? '?'}, ${about.deviceId ?? this.spec.id})`;
      this.idWidth = frameIdWidth({ isGigE: about.isGigE, isUsb3: about.isUsb3, extendedIds: this.extendedIds() });
      if (about.isGigE) this.configurePacketSize(addon, handle);
      // USB3 Vision's transfers land in the buffer (libusb), the Fake camera renders there.
      this.transportCopies = about.isGigE ? 1 : 0;
      if (this.spec.pixel_format !== undefined) this.applyOption('PixelFormat', this.spec.pixel_format, 'pixel_format');
      this.configureTrigger(this.spec.trigger ?? { mode: 'off' });
      for (const [name, value] of Object.entries(this.spec.features ?? {})) this.applyOption(name, value, `features.${name}`);
      this.refresh();
      this.currentPixelFormat();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.streamSlot.stop();
    this.clearTriggers();
    if (this.addon !== null && this.handle !== null) this.addon.closeCamera(this.handle);
    this.handle = null;
  }

  frameFormat(): FrameFormat {
    const format = this.currentPixelFormat();
    const { width, height } = this.imageSize();
    return { shape: frameShape(format, width, height), dtype: format.dtype };
  }

  settingSpecs(): readonly SettingSpec[] {
    return this.snapshot?.specs ?? [];
  }

  getSettings(): Readonly<Record<string, SettingValue>> {
    return this.snapshot?.values ?? {};
  }

  async setSetting(name: string, value: SettingValue): Promise<void> {
    const { addon, handle, snapshot } = this.requireOpen(`set "${name}"`);
    const spec = findSettingSpec(snapshot.specs, name);
    if (this.streaming) this.refuseWhileStreaming(spec);
    const checked = checkFeatureValue(spec, value);
    if (name === 'PixelFormat' && pixelFormatByName(String(checked)) === undefined) {
      throw new LabcastError(
        'BAD_SETTING',
        `labcast does not record pixel format ${String(checked)}; it records ${this.supportedEntries(spec)}`,
        name,
      );
    }
    try {
      writeSetting(addon, handle, snapshot, name, checked);
    } finally {
      this.refresh();
    }
  }

  async snap(): Promise<Frame> {
    this.requireOpen('snap');
    if (this.streaming) throw new LabcastError('CAMERA_STATE', 'cannot snap while streaming; stop the stream first');
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), SNAP_TIMEOUT_MS);
    try {
      const started = (): void => {
        if (this.inSoftwareTriggerMode()) this.sendTrigger();
      };
      for await (const frame of this.frames(stop.signal, started, null)) {
        const { lostBefore: _lost, ...rest } = frame;
        return Object.freeze({ ...rest, cameraIndex: this.snapCount++ });
      }
    } finally {
      clearTimeout(timer);
      stop.abort();
    }
    throw new LabcastError('CAMERA_FAILED', `the camera gave no frame within ${SNAP_TIMEOUT_MS / 1000} s${this.triggerHint()}`);
  }

  /** With `memory`, each image is copied (or unpacked) from Aravis's stream buffer straight into the memory it gives (a ring slot). */
  stream(signal: AbortSignal, memory?: FrameMemory): AsyncIterable<Frame> {
    this.requireStreamable();
    return this.frames(signal, null, memory ?? null);
  }

  async softwareTrigger(): Promise<void> {
    this.requireOpen('trigger');
    if (!this.streaming) {
      throw new LabcastError('CAMERA_STATE', 'a software trigger needs a running stream (live or recording); start one first');
    }
    if (!this.inSoftwareTriggerMode()) {
      throw new LabcastError(
        'CAMERA_STATE',
        `the camera is not in software-trigger mode (TriggerMode ${String(this.readFeature('TriggerMode') ?? 'absent')}, ` +
          `TriggerSource ${String(this.readFeature('TriggerSource') ?? 'absent')}); configure the camera with trigger: {mode: software}`,
      );
    }
    this.sendTrigger();
  }

  streamStatistics(): Readonly<Record<string, number>> {
    const base = this.addon !== null && this.handle !== null ? this.addon.streamStatistics(this.handle) : {};
    const counters = this.counters;
    return {
      ...base,
      frames_lost: counters?.numbering.lost ?? 0,
      queue_overflows: counters?.queueOverflows ?? 0,
      format_mismatches: counters?.formatMismatches ?? 0,
      frames_copied_out: counters?.copiedOut ?? 0,
      frames_assembled_in_ring: counters?.assembledInRing ?? 0,
      triggers_sent: this.triggers.sent,
      triggers_missed: this.triggers.missed,
    };
  }

  // ---- streaming ----

  /**
   * The stream's frames. Aravis lends each complete image (its stream buffer,
   * native/labcast_aravis.c); when the consumer asks for the next frame the
   * image is copied (or unpacked) from that buffer straight into `memory`'s
   * slot, or into memory of its own when there is none, and the buffer goes
   * back to the camera: labcast's one copy of the pixels. A consumer that
   * falls behind would keep the camera's buffers: beyond LEND_LIMIT the
   * oldest lent images are copied out so their buffers go back.
   */
  private async *frames(
    signal: AbortSignal,
    started: (() => void) | null,
    memory: FrameMemory | null,
  ): AsyncGenerator<Frame, void, undefined> {
    const { addon, handle } = this.requireStreamable();
    const format = this.currentPixelFormat();
    const { width, height } = this.imageSize();
    const shape = Object.freeze(frameShape(format, width, height));
    const { stop, release } = this.streamSlot.claim(signal);
    const counters: StreamCounters = {
      numbering: new FrameNumbering(this.idWidth),
      queueOverflows: 0,
      formatMismatches: 0,
      copiedOut: 0,
      assembledInRing: 0,
    };
    this.counters = counters;
    const queue: AravisStreamEvent[] = [];
    const queueLimit = Math.max(MIN_QUEUE_LIMIT, this.spec.buffers * 4);
    // Slots only when the ring gives one now: else (a remote saver, a stalled one) the stream keeps all its own buffers queued.
    const lending = this.slotLending(addon, handle, format, width, height, memory);
    const firstSlot = lending?.claim() ?? null;
    const slots = firstSlot === null ? null : lending;
    let lent = 0;
    const giveBack = (event: AravisStreamEvent): void => {
      if (event.error === undefined && event.slot !== undefined) slots?.giveBack(event.slot);
      if (event.error !== undefined || event.serial === undefined) return;
      lent -= 1;
      // A closed camera took every loan back already.
      if (this.handle === handle) addon.releaseBuffer(handle, event.serial);
    };
    let wake: (() => void) | null = null;
    const onEvent = (event: AravisStreamEvent): void => {
      if (event.error === undefined && event.slot !== undefined) slots?.cameBack(event.slot);
      queue.push(event);
      if (event.error === undefined && event.serial !== undefined) lent += 1;
      if (lent > LEND_LIMIT) {
        const oldest = queue.findIndex((queued) => queued.error === undefined && queued.serial !== undefined);
        queue[oldest] = this.copyOut(queue[oldest]!, giveBack);
        counters.copiedOut += 1;
      }
      // A consumer this far behind cannot catch up with a free-running camera: count the oldest as lost.
      while (queue.length > queueLimit) {
        const oldest = queue.shift()!;
        if (oldest.error !== undefined) {
          queue.unshift(oldest);
          break;
        }
        giveBack(oldest);
        counters.queueOverflows += 1;
        counters.numbering.failed(oldest.frameId);
      }
      // The slot's buffer is out of the stream: lend it another while the ring has one free.
      if (!stop.aborted) slots?.lendMore();
      wake?.();
    };
    const wakeOnStop = (): void => wake?.();
    stop.addEventListener('abort', wakeOnStop);
    try {
      addon.startStream(handle, this.spec.buffers + LEND_LIMIT, onEvent, slots === null ? 0 : SLOT_MIN_QUEUED);
    } catch (error) {
      if (firstSlot !== null) slots?.giveBack(firstSlot);
      throw error;
    }
    if (firstSlot !== null) slots?.push(firstSlot);
    slots?.lendMore();
    this.refresh();
    let offsetNs: bigint | null = null;
    let cameraIndex = 0;
    /** The slot of the last frame yielded: given back at the end if the consumer never offered it. */
    let lastSlot: Uint8Array | null = null;
    /** The camera is gone: every further request would wait out its timeouts. */
    let failed = false;
    try {
      started?.();
      while (!stop.aborted) {
        const event = queue.shift();
        if (event === undefined) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
          continue;
        }
        if (event.error !== undefined) {
          failed = true;
          throw new LabcastError('CAMERA_FAILED', `GenICam camera ${this.spec.id}: ${event.error}`);
        }
        this.settleTrigger();
        let pixels: Uint8Array | null = null;
        try {
          pixels = this.pixelsOf(event, format, width, height, counters, memory);
        } finally {
          // A slot that holds the frame is the consumer's now (offered, or given back by it).
          if (event.slot === undefined || pixels !== event.slot) giveBack(event);
        }
        if (pixels === null) {
          counters.numbering.failed(event.frameId);
          continue;
        }
        const lostBefore = counters.numbering.good(event.frameId);
        cameraIndex += lostBefore;
        offsetNs ??= deviceClockOffsetNs(event.timestampNs, event.systemTimestampNs);
        let timestampNs = event.timestampNs + offsetNs;
        if (timestampNs <= this.lastTimestampNs) timestampNs = this.lastTimestampNs + 1n;
        this.lastTimestampNs = timestampNs;
        lastSlot = pixels === event.slot ? pixels : null;
        if (lastSlot !== null) counters.assembledInRing += 1;
        const copies = this.transportCopies + labcastCopies(event, pixels);
        yield Object.freeze({
          pixels,
          shape,
          dtype: format.dtype,
          timestampNs,
          cameraIndex,
          ...(lostBefore > 0 ? { lostBefore } : {}),
          hostTimestampNs: event.systemTimestampNs,
          ...(copies > 0 ? { pixelCopies: copies } : {}),
        });
        cameraIndex += 1;
        // The consumer offered (or dropped) the frame: a slot may be free for the stream again.
        slots?.lendMore();
      }
    } finally {
      stop.removeEventListener('abort', wakeOnStop);
      // Takes back every buffer still lent (the queue's views empty).
      if (this.handle === handle) addon.stopStream(handle);
      // No slot is written any more: those still in the stream or unread go back to the ring (a slot offered already is not lent, a no-op).
      if (slots !== null) {
        slots.stopped();
        for (const event of queue) giveBack(event);
        if (lastSlot !== null) slots.giveBack(lastSlot);
      }
      this.clearTriggers();
      release();
      if (this.handle === handle && !failed) this.refresh();
    }
  }

  /**
   * The frame's labcast pixels, or null when the buffer is not a complete
   * image of the stream's format. Written into `memory`'s slot when it gives
   * one, else into memory of its own; an image already copied out of its
   * stream buffer in the stream's own layout is used as it is.
   */
  private pixelsOf(
    event: Extract<AravisStreamEvent, { status: number }>,
    format: PixelFormatInfo,
    width: number,
    height: number,
    counters: StreamCounters,
    memory: FrameMemory | null,
  ): Uint8Array | null {
    const data = event.data;
    if (event.status !== 0 || data === undefined) return null;
    if (event.pixelFormat !== format.code || event.width !== width || event.height !== height) {
      counters.formatMismatches += 1;
      return null;
    }
    const bytes = labcastByteLength(format, width, height);
    // Assembled in its ring slot where the frame begins: offered as it lies, no copy.
    const slot = event.slot;
    if (slot !== undefined && data.buffer === slot.buffer && data.byteOffset === slot.byteOffset && data.byteLength >= bytes) return slot;
    if (event.serial === undefined && slot === undefined && format.packing === 'none' && data.byteLength === bytes) return data;
    // Checked before memory is taken; a view whose loan ended (the stream stopped) is empty, refused like a short buffer.
    if (data.byteLength < wireByteLength(format, width, height)) return null;
    const into = memory?.take(bytes) ?? ownMemory(bytes);
    return writeLabcastPixels(format, data, width, height, into) ? into : null;
  }

  /**
   * Ring slots lent to the stream for Aravis to assemble images in (0 copies
   * of labcast's), when `memory` lends slots and the format needs no
   * unpacking; null otherwise (today's path: the image copied or unpacked
   * from Aravis's buffer into a slot).
   */
  private slotLending(
    addon: AravisAddon,
    handle: AravisCameraHandle,
    format: PixelFormatInfo,
    width: number,
    height: number,
    memory: FrameMemory | null,
  ): SlotLending | null {
    if (memory?.lend === undefined || memory.giveBack === undefined || format.packing !== 'none') return null;
    if (!speedUpOn(process.env, GENICAM_SLOTS_ENV, 'images assembled by Aravis in ring slots')) return null;
    const bytes = labcastByteLength(format, width, height);
    if (wireByteLength(format, width, height) !== bytes) return null;
    // Chunk data or padding can make a buffer larger than the image.
    const capacity = Math.max(bytes, addon.payloadBytes(handle));
    return new SlotLending(addon, handle, memory as Required<FrameMemory>, bytes, capacity);
  }

  /** The event with its image copied into memory of its own and its stream buffer given back to the camera. */
  private copyOut(event: AravisStreamEvent, giveBack: (event: AravisStreamEvent) => void): AravisStreamEvent {
    if (event.error !== undefined || event.data === undefined) return event;
    const data = ownMemory(event.data.byteLength);
    data.set(event.data);
    giveBack(event);
    return { ...event, data, serial: undefined };
  }

  // ---- triggers ----

  private sendTrigger(): void {
    const { addon, handle } = this.requireOpen('trigger');
    addon.executeCommand(handle, 'TriggerSoftware');
    this.triggers.sent += 1;
    const timer = setTimeout(() => {
      const index = this.triggers.pending.indexOf(timer);
      if (index < 0) return;
      this.triggers.pending.splice(index, 1);
      this.triggers.missed += 1;
    }, this.triggerTimeoutMs());
    timer.unref();
    this.triggers.pending.push(timer);
  }

  /** A buffer arrived (complete or not): the oldest trigger waiting for one is answered. */
  private settleTrigger(): void {
    const timer = this.triggers.pending.shift();
    if (timer !== undefined) clearTimeout(timer);
  }

  private clearTriggers(): void {
    for (const timer of this.triggers.pending.splice(0)) clearTimeout(timer);
  }

  private triggerTimeoutMs(): number {
    if (this.spec.trigger?.timeout_ms !== undefined) return this.spec.trigger.timeout_ms;
    const exposure = this.getSettings().exposure_ms;
    return 1000 + (typeof exposure === 'number' ? exposure : 0);
  }

  private inSoftwareTriggerMode(): boolean {
    return this.readFeature('TriggerMode') === 'On' && this.readFeature('TriggerSource') === 'Software';
  }

  private triggerHint(): string {
    const mode = this.readFeature('TriggerMode');
    if (mode !== 'On') return '';
    return ` (the camera waits for a trigger from ${String(this.readFeature('TriggerSource'))})`;
  }

  private configureTrigger(trigger: GenicamTrigger): void {
    const selector = this.featureEntries('TriggerSelector');
    if (selector !== null && selector.includes('FrameStart')) this.applyOption('TriggerSelector', 'FrameStart', 'trigger');
    const modes = this.featureEntries('TriggerMode');
    if (modes === null) {
      if (trigger.mode === 'off') return;
      throw new LabcastError('BAD_ARGUMENT', 'trigger: this camera has no TriggerMode feature, so it cannot be triggered', 'trigger.mode');
    }
    if (trigger.mode === 'off') {
      this.applyOption('TriggerMode', 'Off', 'trigger.mode');
      return;
    }
    const source = trigger.mode === 'software' ? 'Software' : (trigger.source ?? 'Line0');
    this.applyOption('TriggerSource', source, trigger.mode === 'software' ? 'trigger.mode' : 'trigger.source');
    if (trigger.mode === 'external' && trigger.activation !== undefined) {
      this.applyOption('TriggerActivation', TRIGGER_ACTIVATIONS[trigger.activation], 'trigger.activation');
    }
    this.applyOption('TriggerMode', 'On', 'trigger.mode');
  }

  // ---- options applied at open ----

  private configurePacketSize(addon: AravisAddon, handle: AravisCameraHandle): void {
    try {
      if (this.spec.packet_size === 'auto') addon.gvAutoPacketSize(handle);
      else addon.gvSetPacketSize(handle, this.spec.packet_size);
    } catch (error) {
      throw new LabcastError('CAMERA_UNAVAILABLE', `packet_size: ${error instanceof Error ? error.message : String(error)}`, 'packet_size');
    }
  }

  /** Sets one feature from the camera's options, checked against the node map; errors name the option and what it accepts. */
  private applyOption(feature: string, value: FeatureValue, field: string): void {
    const { addon, handle } = this.requireOpen(`set ${feature}`);
    let info;
    try {
      info = addon.featureInfo(handle, feature);
    } catch {
      throw new LabcastError('BAD_SETTING', `${field}: the camera has no feature "${feature}"`, field);
    }
    if (info.type === 'Command') {
      if (value !== true)
        throw new LabcastError('BAD_SETTING', `${field}: "${feature}" is a command; give it the value true to execute it`, field);
      addon.executeCommand(handle, feature);
      return;
    }
    const spec = readFeatureSpec(addon, handle, feature);
    if (spec === null) {
      throw new LabcastError('BAD_SETTING', `${field}: feature "${feature}" (${info.type}, ${info.access}) cannot be set now`, field);
    }
    let checked: SettingValue;
    try {
      checked = checkFeatureValue(spec, value);
    } catch (error) {
      throw new LabcastError('BAD_SETTING', `${field}: ${(error as Error).message}`, field);
    }
    if (feature === 'PixelFormat' && pixelFormatByName(String(checked)) === undefined) {
      throw new LabcastError(
        'BAD_SETTING',
        `${field}: labcast does not record pixel format ${String(checked)}; it records ${this.supportedEntries(spec)}`,
        field,
      );
    }
    try {
      addon.setFeature(handle, feature, checked);
    } catch (error) {
      throw new LabcastError(
        'BAD_SETTING',
        `${field}: the camera refused ${feature} = ${JSON.stringify(checked)}: ${(error as Error).message}`,
        field,
      );
    }
  }

  // ---- node map ----

  private refresh(): void {
    const { addon, handle } = this.requireOpen('read the settings');
    const format = pixelFormatByName(String(this.readFeature('PixelFormat') ?? ''));
    const derived: Record<string, number | string> = {};
    if (format !== undefined) derived.bit_depth = format.bitDepth;
    if (format?.bayer !== undefined) derived.bayer_pattern = format.bayer;
    this.snapshot = readNodeMap(addon, handle, derived);
  }

  private refuseWhileStreaming(spec: SettingSpec): void {
    const target = this.snapshot?.aliasTargets.get(spec.name) ?? spec.name;
    let locked = false;
    try {
      locked = this.addon!.featureInfo(this.handle!, target).locked;
    } catch {
      // A labcast-only setting (bit_depth): read-only, refused by the value check.
    }
    if (!spec.changeable_while_streaming || locked) {
      throw new LabcastError(
        'CAMERA_STATE',
        `setting "${spec.name}" cannot change while streaming: the camera locks it during acquisition (TLParamsLocked), as it changes ` +
          `the frames; stop the stream first`,
        spec.name,
      );
    }
  }

  private currentPixelFormat(): PixelFormatInfo {
    const name = this.readFeature('PixelFormat');
    const format = typeof name === 'string' ? pixelFormatByName(name) : undefined;
    if (format === undefined) {
      const spec = this.snapshot?.specs.find((candidate) => candidate.name === 'PixelFormat');
      throw new LabcastError(
        'BAD_SETTING',
        `the camera's pixel format ${String(name ?? '(none)')} is not one labcast records; set pixel_format to one of ` +
          `${spec === undefined ? SUPPORTED_PIXEL_FORMATS.join(', ') : this.supportedEntries(spec)}`,
        'pixel_format',
      );
    }
    return format;
  }

  private imageSize(): { width: number; height: number } {
    const width = this.readFeature('Width');
    const height = this.readFeature('Height');
    if (typeof width !== 'number' || typeof height !== 'number') {
      throw new LabcastError('CAMERA_STATE', 'the frame size is known once the camera has been opened');
    }
    return { width, height };
  }

  /** The PixelFormat entries this camera offers that labcast records. */
  private supportedEntries(spec: SettingSpec): string {
    const entries = (spec.entries ?? []).filter((entry) => pixelFormatByName(entry) !== undefined);
    return entries.length > 0
      ? entries.join(', ')
      : `none of this camera's (${describeAccepted(spec)}); labcast records ${SUPPORTED_PIXEL_FORMATS.join(', ')}`;
  }

  private featureEntries(name: string): readonly string[] | null {
    try {
      const info = this.addon!.featureInfo(this.handle!, name);
      return info.available ? (info.entries ?? []) : null;
    } catch {
      return null;
    }
  }

  private readFeature(name: string): FeatureValue | undefined {
    if (this.addon === null || this.handle === null) return undefined;
    try {
      return this.addon.getFeature(this.handle, name);
    } catch {
      return undefined;
    }
  }

  private extendedIds(): boolean {
    const mode = this.readFeature('GevGVSPExtendedIDMode');
    return mode === 'On' || mode === true;
  }

  private requireOpen(action: string): { addon: AravisAddon; handle: AravisCameraHandle; snapshot: NodeMapSnapshot } {
    if (this.addon === null || this.handle === null) {
      throw new LabcastError('CAMERA_STATE', `cannot ${action}: the camera is closed; open it first`);
    }
    return { addon: this.addon, handle: this.handle, snapshot: this.snapshot ?? { specs: [], values: {}, aliasTargets: new Map() } };
  }

  private requireStreamable(): { addon: AravisAddon; handle: AravisCameraHandle } {
    const open = this.requireOpen('stream');
    if (this.streaming) throw new LabcastError('CAMERA_STATE', 'the camera is already streaming; one stream at a time');
    return open;
  }
}

/** The ring slots one stream holds in Aravis. */
class SlotLending {
  private readonly inStream = new Set<Uint8Array>();
  private ended = false;

  constructor(
    private readonly addon: AravisAddon,
    private readonly handle: AravisCameraHandle,
    private readonly memory: Required<FrameMemory>,
    private readonly bytes: number,
    private readonly capacity: number,
  ) {}

  /** A slot of the ring for the stream, or null when the ring has none free now. */
  claim(): Uint8Array | null {
    return this.memory.lend(this.bytes, this.capacity);
  }

  /** Lends the stream every slot the ring gives now (the sender bounds a camera's share). */
  lendMore(): void {
    while (!this.ended) {
      const slot = this.claim();
      if (slot === null || !this.push(slot)) return;
    }
  }

  /** Queues `slot` in the stream; false (and the slot given back) when the stream is gone (the camera closed under it). */
  push(slot: Uint8Array): boolean {
    try {
      this.addon.pushSlot(this.handle, slot, this.capacity);
    } catch {
      this.memory.giveBack(slot);
      return false;
    }
    this.inStream.add(slot);
    return true;
  }

  /** Aravis is done with `slot`'s buffer (its image, if any, is in the event). */
  cameBack(slot: Uint8Array): void {
    this.inStream.delete(slot);
  }

  giveBack(slot: Uint8Array): void {
    this.memory.giveBack(slot);
  }

  /** The stream stopped: nothing writes the slots it held, which go back to the ring. */
  stopped(): void {
    this.ended = true;
    for (const slot of this.inStream) this.memory.giveBack(slot);
    this.inStream.clear();
  }
}

/**
 * labcast's copies of an image's pixels, from Aravis's buffer to `pixels`:
 * none when Aravis assembled it in the slot it is offered in; one for a copy
 * out of the stream buffer early (copyOut: no serial, no slot), one more for
 * a copy or unpack into the frame's memory.
 */
function labcastCopies(event: Extract<AravisStreamEvent, { status: number }>, pixels: Uint8Array): number {
  if (pixels === event.slot) return 0;
  const copiedOut = event.serial === undefined && event.slot === undefined ? 1 : 0;
  return copiedOut + (pixels === event.data ? 0 : 1);
}

/**
 * A frame's memory when no ring slot is given (snap, no saver on this host,
 * the ring full): fresh, because ownership passes to the receiver, which may
 * hand it to ZeroMQ zero-copy and gives no word when it is done with it, so
 * it cannot be reused from a pool. Outside Buffer's shared pool, as a frame
 * must be a buffer of its own.
 */
function ownMemory(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Opens by what the user named: Aravis takes a device id, MAC or IP address;
 * a serial number (or anything else the device list shows) is looked up there.
 */
function openById(addon: AravisAddon, id: string): AravisCameraHandle {
  let firstFailure: string;
  try {
    return addon.openCamera(id);
  } catch (error) {
    firstFailure = error instanceof Error ? error.message : String(error);
  }
  const devices = addon.listDevices();
  const match = devices.find((device) => [device.deviceId, device.serial, device.address, device.physicalId].includes(id));
  if (match !== undefined) {
    try {
      return addon.openCamera(match.deviceId);
    } catch (error) {
      throw new LabcastError(
        'CAMERA_UNAVAILABLE',
        `GenICam camera ${id} (${match.deviceId}) cannot be opened: ${(error as Error).message}`,
        'camera',
      );
    }
  }
  const known = devices.map((device) => device.deviceId).join(', ') || 'none found';
  throw new LabcastError(
    'CAMERA_UNAVAILABLE',
    `GenICam camera ${id} not found (${firstFailure}); cameras found: ${known}. \`labcast cameras\` lists them`,
    'camera',
  );
}
