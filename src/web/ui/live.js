// @ts-check
// The live view: newest frame from /ws/live drawn by the image view, one frame in flight at a time;
// raw values of the frame shown are asked over the same socket (the image view's pixel source).

import { parseJson, wsUrl } from './api.js';

/** @typedef {import('./image-view.js').ImageView} ImageView */
/** @typedef {import('./image-view.js').PixelSource} PixelSource */
/** @typedef {import('./image-view.js').Rect} Rect */

const LATENCY_KEEP = 5000;

/**
 * The JSON header of a /ws/live message (web/live-view.ts encodeLiveMessage); the pixels
 * after it are width × height × channels bytes.
 * @typedef {object} LiveFrameHeader
 * @property {string} run_id
 * @property {number} seq
 * @property {string} camera_ts_ns decimal: it exceeds 2^53
 * @property {string} wall_ts_ns
 * @property {number} received_ms server clock, frame received from the data stream (ms since the epoch)
 * @property {number} sent_ms server clock, frame sent to this page
 * @property {number[]} shape the camera frame: [height, width] or [height, width, channels]
 * @property {string} dtype
 * @property {number} width as drawn
 * @property {number} height
 * @property {1 | 3} channels
 * @property {number} black the display levels applied, in raw units
 * @property {number} white
 * @property {Rect} region the frame pixels the display shows (all of them unless zoomed in)
 * @property {boolean} saturation_mask a width × height byte mask of saturated pixels follows the pixels
 * @property {number | null} pixel_size_um one pixel in the sample plane (config camera.pixel_size_um)
 * @property {{ min: number, max: number, mean: number, full_scale: number, saturated: number, histogram: number[] }} stats
 */

/** @typedef {{ mode: 'auto' } | { mode: 'manual', black: number, white: number }} Levels */

/**
 * Figures for people (the readout) and for the benchmark: latency is from the
 * camera timestamp to the animation frame after drawing, in ms.
 */
export const liveStats = {
  received: 0,
  painted: 0,
  /** Frames of the camera not shown (gaps in seq within a run). */
  skipped: 0,
  /** @type {number[]} */
  latencies: [],
  /** [server received, server sent, browser received] in ms after the camera timestamp, per frame. @type {[number, number, number][]} */
  stages: [],
  /** @type {LiveFrameHeader | null} */
  last: null,
};
/** @type {Window & { labcastLive?: typeof liveStats }} */ (window).labcastLive = liveStats;

export class LiveView {
  /**
   * @param {ImageView} view draws the frames; its displayRequest() is what the server is asked for
   * @param {{ onFrame: (header: LiveFrameHeader) => void, onConnection: (connected: boolean) => void,
   *   gate?: (header: LiveFrameHeader, show: () => void) => void }} callbacks
   *   `gate`: decides when a received frame is drawn (frame-sync.js holds it until its analysis result came); default at once
   */
  constructor(view, { onFrame, onConnection, gate }) {
    this.view = view;
    this.onFrame = onFrame;
    this.onConnection = onConnection;
    this.gate = gate ?? ((/** @type {LiveFrameHeader} */ _header, /** @type {() => void} */ show) => show());
    /** @type {Levels} */
    this.levels = { mode: 'auto' };
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {number | null} */
    this.lastSeq = null;
    /** @type {string | null} */
    this.lastRun = null;
    /** @type {number[]} */
    this.paintTimes = [];
    this.nextInspectId = 1;
    /** Raw-value questions awaiting their answer, by id. @type {Map<number, { resolve: (result: any) => void, reject: (error: Error) => void }>} */
    this.pending = new Map();
    this.connect();
  }

  /**
   * The image view's pixel source: raw values of a frame this page was sent (the server holds
   * the last few), asked over /ws/live (docs/protocol.md, "Live view").
   * @returns {PixelSource}
   */
  pixelSource() {
    return {
      region: (frame, rect) => this.inspect(frame, { what: 'region', ...rect }),
      line: (frame, x0, y0, x1, y1) => this.inspect(frame, { what: 'line', x0, y0, x1, y1 }),
      stats: (frame, rect) => this.inspect(frame, { what: 'stats', ...rect }),
    };
  }

  /**
   * @param {import('./image-view.js').DisplayFrameHeader} frame
   * @param {Record<string, unknown>} request
   * @returns {Promise<any>}
   */
  inspect(frame, request) {
    const socket = this.socket;
    if (socket?.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected to labcast serve'));
    const id = this.nextInspectId++;
    socket.send(JSON.stringify({ type: 'inspect', id, run_id: frame.run_id, seq: frame.seq, ...request }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  /** @param {string} text an answer to inspect */
  answer(text) {
    /** @type {{ type: string, id: number, ok: boolean, result?: unknown, error?: string }} */
    const reply = parseJson(text);
    const waiting = this.pending.get(reply.id);
    if (reply.type !== 'inspect' || waiting === undefined) return;
    this.pending.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.result);
    else waiting.reject(new Error(reply.error ?? 'no answer'));
  }

  connect() {
    const socket = new WebSocket(wsUrl('/ws/live'));
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      this.onConnection(true);
      this.sendDisplay();
    };
    /** @param {MessageEvent<ArrayBuffer | string>} event */
    socket.onmessage = (event) => {
      if (typeof event.data === 'string') this.answer(event.data);
      else this.receive(socket, event.data);
    };
    socket.onclose = () => {
      for (const waiting of this.pending.values()) waiting.reject(new Error('the connection to labcast serve closed'));
      this.pending.clear();
      this.onConnection(false);
      setTimeout(() => this.connect(), 1000);
    };
    this.socket = socket;
  }

  /** @param {Levels} levels */
  setLevels(levels) {
    this.levels = levels;
    this.sendDisplay();
  }

  /** Tells the server what the view shows (the visible region, at its size in device pixels) and the display levels. */
  sendDisplay() {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ type: 'display', ...this.view.displayRequest(), levels: this.levels }));
  }

  /**
   * @param {WebSocket} socket the one the frame came on
   * @param {ArrayBuffer} buffer
   */
  receive(socket, buffer) {
    const view = new DataView(buffer);
    const headerLength = view.getUint32(0, true);
    /** @type {LiveFrameHeader} */
    const header = parseJson(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength)));
    const count = header.width * header.height;
    const pixels = new Uint8Array(buffer, 4 + headerLength, count * header.channels);
    const mask = header.saturation_mask ? new Uint8Array(buffer, 4 + headerLength + count * header.channels, count) : null;
    // Ready for the next one (the server sends nothing newer until we say so); at most one more
    // can then wait here while this one is drawn.
    socket.send(JSON.stringify({ type: 'ack', seq: header.seq }));
    const receivedMs = performance.timeOrigin + performance.now();
    this.gate(header, () => this.present(header, pixels, mask, receivedMs));
  }

  /**
   * Draws a received frame and counts it.
   * @param {LiveFrameHeader} header
   * @param {Uint8Array} pixels
   * @param {Uint8Array | null} mask saturated display pixels, when the header says there are some
   * @param {number} receivedMs when it came (ms since the epoch)
   */
  present(header, pixels, mask, receivedMs) {
    this.view.show(header, pixels, mask);
    liveStats.received += 1;
    if (this.lastRun === header.run_id && this.lastSeq !== null && header.seq > this.lastSeq + 1)
      liveStats.skipped += header.seq - this.lastSeq - 1;
    this.lastRun = header.run_id;
    this.lastSeq = header.seq;
    liveStats.last = header;
    const cameraMs = Number(BigInt(header.camera_ts_ns) / 1000n) / 1000;
    // Where the time goes, from the camera timestamp: server received, server sent, browser received.
    liveStats.stages.push([header.received_ms - cameraMs, header.sent_ms - cameraMs, receivedMs - cameraMs]);
    if (liveStats.stages.length > LATENCY_KEEP) liveStats.stages.splice(0, liveStats.stages.length - LATENCY_KEEP);
    requestAnimationFrame(() => {
      if (liveStats.last !== header) return; // replaced before it was painted
      const now = performance.timeOrigin + performance.now();
      liveStats.painted += 1;
      liveStats.latencies.push(now - cameraMs);
      if (liveStats.latencies.length > LATENCY_KEEP) liveStats.latencies.splice(0, liveStats.latencies.length - LATENCY_KEEP);
      this.paintTimes.push(now);
    });
    this.onFrame(header);
  }

  /** Frames painted per second over the last second. */
  displayFps() {
    const now = performance.timeOrigin + performance.now();
    while (this.paintTimes.length > 0 && this.paintTimes[0] < now - 1000) this.paintTimes.shift();
    return this.paintTimes.length;
  }

  /** Median latency of the last second's frames, ms. */
  recentLatency() {
    const recent = liveStats.latencies.slice(-Math.max(1, this.paintTimes.length));
    if (recent.length === 0) return null;
    const sorted = [...recent].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }
}
