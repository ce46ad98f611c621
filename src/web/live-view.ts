import type { FrameHeader } from '../protocol/messages.js';
import { TOPICS } from '../protocol/messages.js';
import { DataReceiver } from '../transport/data-receiver.js';
import { lineProfile, rawRegion, regionStats } from './raw-inspect.js';
import {
  frameStats,
  renderDisplayFrame,
  sampleFormatOf,
  type DisplayFrame,
  type DisplayOptions,
  type FrameStats,
  type Levels,
  type RawFrame,
  type Region,
  type SampleFormat,
} from './frame-render.js';

/**
 * The live-view bridge: a subscriber of the data stream that hands each
 * browser the newest frame, converted for its display. Latest frame only:
 * a client gets the next frame once it has acknowledged the previous one, and
 * any frames that arrive meanwhile are replaced by the newest (counted as
 * skipped), so the view never lags behind the camera. The data stream is
 * subscribed to only while a browser is watching.
 *
 * Browser → server (text JSON): {"type":"display","max_width","max_height","levels"(,"region","frame_shape")},
 * {"type":"ack","seq"}, {"type":"inspect",...} (raw values of a frame shown, see
 * inspectReply). Server → browser: binary frames (see encodeLiveMessage) and
 * text JSON replies to "inspect". docs/protocol.md describes them all.
 */

/** What the bridge needs of a WebSocket (the `ws` library's satisfies it). */
export interface LiveSocket {
  send(data: Buffer | string, callback: (error?: Error) => void): void;
  readonly bufferedAmount: number;
  readonly readyState: number;
}

const OPEN = 1;
/** A client that has not acknowledged a frame for this long gets the next one anyway (if its socket is drained). */
const ACK_TIMEOUT_MS = 2000;
const DEFAULT_DISPLAY: DisplayOptions = { maxWidth: 1024, maxHeight: 1024, levels: { mode: 'auto' } };
/** Largest display side a client may ask for. */
export const MAX_DISPLAY_SIDE = 4096;
/**
 * Frames a client was sent that it can still ask raw values of: the one it
 * shows, and those sent since (a reply may cross a newer frame on the way).
 */
const INSPECTABLE_FRAMES = 3;

export interface LatestFrame {
  readonly header: FrameHeader;
  readonly frame: RawFrame;
  /** Bit depth and Bayer pattern, from the camera's settings when the frame arrived. */
  readonly format: SampleFormat;
  /** Conversions of this frame, by display options, shared by clients that ask the same. */
  readonly rendered: Map<string, Buffer>;
  stats: FrameStats | null;
  /** When the bridge received it (ms since the epoch). */
  readonly receivedMs: number;
}

export class LiveClient {
  display: DisplayOptions = DEFAULT_DISPLAY;
  sent = 0;
  skipped = 0;
  private inFlightSince: number | null = null;
  private lastSent: LatestFrame | null = null;
  /** The last INSPECTABLE_FRAMES frames sent, newest last. */
  private readonly recent: LatestFrame[] = [];

  constructor(
    private readonly bridge: LiveView,
    readonly socket: LiveSocket,
  ) {}

  /** A text message from the browser; malformed ones are ignored. */
  receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const { type } = message as { type?: unknown };
    if (type === 'ack') {
      this.inFlightSince = null;
      this.offer();
    } else if (type === 'display') {
      const display = parseDisplay(message as Record<string, unknown>);
      if (display !== null) {
        this.display = display;
        // Show the new levels at once, on the frame already shown if nothing newer came.
        if (this.inFlightSince === null) this.offer(true);
      }
    } else if (type === 'inspect') {
      const request = message as Record<string, unknown>;
      this.socket.send(JSON.stringify(inspectReply(request, this.recent)), () => undefined);
    }
  }

  /** Sends the newest frame if this client is ready for one; else it is counted as skipped when replaced. */
  offer(force = false): void {
    const latest = this.bridge.latest;
    if (latest === null || this.socket.readyState !== OPEN) return;
    if (latest === this.lastSent && !force) return;
    if (this.inFlightSince !== null) {
      const stuck = Date.now() - this.inFlightSince > ACK_TIMEOUT_MS && this.socket.bufferedAmount === 0;
      if (!stuck) return;
    }
    if (this.lastSent !== null && latest !== this.lastSent) {
      const gap = latest.header.run_id === this.lastSent.header.run_id ? latest.header.seq - this.lastSent.header.seq - 1 : 0;
      if (gap > 0) this.skipped += gap;
    }
    this.lastSent = latest;
    if (this.recent.at(-1) !== latest) this.recent.push(latest);
    if (this.recent.length > INSPECTABLE_FRAMES) this.recent.shift();
    this.inFlightSince = Date.now();
    this.sent += 1;
    const message = this.bridge.messageFor(latest, this);
    this.socket.send(message, () => undefined);
  }
}

export class LiveView {
  latest: LatestFrame | null = null;
  framesReceived = 0;
  private readonly clients = new Set<LiveClient>();
  private receiver: DataReceiver | null = null;
  private dispatchScheduled = false;
  private closed = false;

  /** Malformed data messages counted by subscriptions already closed. */
  private malformedBefore = 0;

  /**
   * `serverKey`: the CURVE public key of the data endpoint's server, when it has one.
   * `cameraSettings`: the camera's current settings, whose `bit_depth` and
   * `bayer_pattern` say how to show its frames (the frame header has neither).
   */
  constructor(
    private readonly dataEndpoint: () => string,
    private readonly serverKey: string | null = null,
    private readonly cameraSettings: () => Readonly<Record<string, unknown>> | null | undefined = () => null,
    /** The sensor's pixel pitch (config camera.pixel_size_um), for the page's scale bar; null = unknown. */
    private readonly pixelSizeUm: number | null = null,
  ) {}

  /** Malformed data messages received (counted and skipped) since this bridge was made. */
  get malformedMessages(): number {
    return this.malformedBefore + (this.receiver?.malformed.count ?? 0);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  attach(socket: LiveSocket): LiveClient {
    const client = new LiveClient(this, socket);
    this.clients.add(client);
    if (this.receiver === null && !this.closed) this.subscribe();
    client.offer();
    return client;
  }

  detach(client: LiveClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.unsubscribe();
  }

  close(): void {
    this.closed = true;
    this.clients.clear();
    this.unsubscribe();
  }

  /** The binary message for `latest` as `client` displays it (the browser derives skips from gaps in seq). */
  messageFor(latest: LatestFrame, client: LiveClient): Buffer {
    const key = JSON.stringify(client.display);
    let message = latest.rendered.get(key);
    if (message === undefined) {
      latest.stats ??= frameStats(latest.frame, latest.format);
      message = encodeLiveMessage(
        latest.header,
        renderDisplayFrame(latest.frame, client.display, latest.format, latest.stats.saturated === 0),
        latest.stats,
        latest.receivedMs,
        this.pixelSizeUm,
      );
      latest.rendered.set(key, message);
    }
    return message;
  }

  private subscribe(): void {
    const receiver = DataReceiver.subscribe(this.dataEndpoint(), [TOPICS.frame], this.serverKey);
    this.receiver = receiver;
    void (async () => {
      for await (const message of receiver.messages()) {
        if (message.topic !== TOPICS.frame) continue;
        this.framesReceived += 1;
        this.latest = {
          header: message.header,
          frame: { shape: message.header.shape, dtype: message.header.dtype, pixels: message.pixels },
          format: sampleFormatOf(this.cameraSettings()),
          rendered: new Map(),
          stats: null,
          receivedMs: Date.now(),
        };
        // Frames queued in the socket arrive back to back; only the newest of them is dispatched.
        if (!this.dispatchScheduled) {
          this.dispatchScheduled = true;
          setImmediate(() => this.dispatch());
        }
      }
    })();
  }

  private unsubscribe(): void {
    this.malformedBefore += this.receiver?.malformed.count ?? 0;
    this.receiver?.close();
    this.receiver = null;
    this.latest = null;
  }

  private dispatch(): void {
    this.dispatchScheduled = false;
    for (const client of this.clients) client.offer();
  }
}

/**
 * [u32 LE header length][UTF-8 JSON header][pixels: width*height*channels bytes]
 * [saturation mask: width*height bytes, only when the header's `saturation_mask` is true].
 * camera_ts_ns travels as a decimal string (it exceeds 2^53). `region` is the
 * frame rectangle the pixels show (the whole frame unless the page zoomed in).
 */
export function encodeLiveMessage(
  header: Pick<FrameHeader, 'run_id' | 'seq' | 'camera_ts_ns' | 'wall_ts_ns' | 'shape' | 'dtype'>,
  display: DisplayFrame,
  stats: FrameStats,
  receivedMs: number,
  pixelSizeUm: number | null = null,
  /** Fields a frame source adds to the header (a recorded frame: its place in the file). */
  extra: Readonly<Record<string, unknown>> = {},
): Buffer {
  const json = Buffer.from(
    JSON.stringify({
      ...extra,
      run_id: header.run_id,
      seq: header.seq,
      camera_ts_ns: header.camera_ts_ns.toString(),
      wall_ts_ns: header.wall_ts_ns.toString(),
      /** Server clock: frame received from the data stream, and converted (ms since the epoch). */
      received_ms: receivedMs,
      sent_ms: Date.now(),
      shape: header.shape,
      dtype: header.dtype,
      width: display.width,
      height: display.height,
      channels: display.channels,
      black: display.black,
      white: display.white,
      region: display.region,
      saturation_mask: display.saturated !== null,
      pixel_size_um: pixelSizeUm,
      stats: {
        min: stats.min,
        max: stats.max,
        mean: stats.mean,
        full_scale: stats.fullScale,
        saturated: stats.saturated,
        histogram: Array.from(stats.histogram),
      },
    }),
  );
  const mask = display.saturated ?? new Uint8Array(0);
  const message = Buffer.allocUnsafe(4 + json.length + display.pixels.length + mask.length);
  message.writeUInt32LE(json.length, 0);
  json.copy(message, 4);
  message.set(display.pixels, 4 + json.length);
  message.set(mask, 4 + json.length + display.pixels.length);
  return message;
}

/**
 * The answer to {"type":"inspect","id","run_id","seq","what",...}: raw values of
 * a frame this client was sent (one of the last INSPECTABLE_FRAMES), in frame pixels:
 *   what "region": x, y, width, height (≤ MAX_REGION_PIXELS)  → RawRegion
 *   what "line":   x0, y0, x1, y1                             → LineProfile
 *   what "stats":  x, y, width, height                         → RegionStats
 * Reply {"type":"inspect","id","ok":true,"result"} or {"type":"inspect","id","ok":false,"error"}:
 * a frame no longer held, or bad arguments, are said in words.
 */
export function inspectReply(request: Record<string, unknown>, frames: readonly LatestFrame[]): Record<string, unknown> {
  const id = typeof request.id === 'number' ? request.id : null;
  const frame = frames.find((f) => f.header.run_id === request.run_id && f.header.seq === request.seq);
  if (frame === undefined)
    return { type: 'inspect', id, ok: false, error: `frame ${String(request.seq)} is no longer held; ask about a newer one` };
  const number = (name: string): number => {
    const value = request[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`inspect: "${name}" must be a finite number`);
    return value;
  };
  const region = (): Region => ({ x: number('x'), y: number('y'), width: number('width'), height: number('height') });
  try {
    switch (request.what) {
      case 'region':
        return { type: 'inspect', id, ok: true, result: rawRegion(frame.frame, region()) };
      case 'line':
        return { type: 'inspect', id, ok: true, result: lineProfile(frame.frame, number('x0'), number('y0'), number('x1'), number('y1')) };
      case 'stats':
        return { type: 'inspect', id, ok: true, result: regionStats(frame.frame, region()) };
      default:
        return {
          type: 'inspect',
          id,
          ok: false,
          error: `inspect: "what" must be region, line or stats, not ${JSON.stringify(request.what)}`,
        };
    }
  } catch (error) {
    return { type: 'inspect', id, ok: false, error: (error as Error).message };
  }
}

/** Display options from a client message, clamped to sane values; null when unusable. */
export function parseDisplay(message: Record<string, unknown>): DisplayOptions | null {
  const side = (value: unknown): number | null =>
    typeof value === 'number' && Number.isFinite(value) ? Math.min(MAX_DISPLAY_SIDE, Math.max(16, Math.round(value))) : null;
  const maxWidth = side(message.max_width);
  const maxHeight = side(message.max_height);
  if (maxWidth === null || maxHeight === null) return null;
  const levels = message.levels as Record<string, unknown> | undefined;
  let parsed: Levels = { mode: 'auto' };
  if (levels?.mode === 'manual') {
    const { black, white } = levels;
    if (typeof black !== 'number' || typeof white !== 'number' || !Number.isFinite(black) || !Number.isFinite(white)) return null;
    parsed = { mode: 'manual', black, white };
  }
  const region = parseRegion(message.region);
  if (region === null) return null;
  const shape = message.frame_shape;
  const regionShape =
    Array.isArray(shape) && shape.length >= 2 && shape.every((n) => Number.isInteger(n) && n > 0)
      ? ([shape[0] as number, shape[1] as number] as const)
      : undefined;
  return {
    maxWidth,
    maxHeight,
    levels: parsed,
    ...(region === undefined ? {} : { region }),
    ...(region === undefined || regionShape === undefined ? {} : { regionShape }),
  };
}

/** undefined = no region (the whole frame); null = malformed. */
function parseRegion(value: unknown): Region | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') return null;
  const { x, y, width, height } = value as Record<string, unknown>;
  const finite = [x, y, width, height].every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!finite || (width as number) < 1 || (height as number) < 1) return null;
  return { x: x as number, y: y as number, width: width as number, height: height as number };
}
