// @ts-check
// The live view: newest frame from /ws/live drawn on a canvas, one frame in flight at a time.

import { parseJson, wsUrl } from './api.js';

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
 * @property {{ min: number, max: number, mean: number, full_scale: number, histogram: number[] }} stats
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
   * @param {HTMLCanvasElement} canvas
   * @param {HTMLElement} box the element the canvas fills: its size is the display size asked of the server
   * @param {{ onFrame: (header: LiveFrameHeader) => void, onConnection: (connected: boolean) => void,
   *   gate?: (header: LiveFrameHeader, show: () => void) => void }} callbacks
   *   `gate`: decides when a received frame is drawn (frame-sync.js holds it until its analysis result came); default at once
   */
  constructor(canvas, box, { onFrame, onConnection, gate }) {
    this.canvas = canvas;
    this.box = box;
    const context = canvas.getContext('2d', { alpha: false });
    if (context === null) throw new Error('this browser has no 2D canvas');
    this.context = context;
    /** @type {ImageData | null} */
    this.image = null;
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
    new ResizeObserver(() => this.sendDisplay()).observe(box);
    this.connect();
  }

  connect() {
    const socket = new WebSocket(wsUrl('/ws/live'));
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      this.onConnection(true);
      this.sendDisplay();
    };
    /** @param {MessageEvent<ArrayBuffer>} event */
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onclose = () => {
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

  /** Tells the server the size we draw at (device pixels) and the display levels. */
  sendDisplay() {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    const ratio = window.devicePixelRatio || 1;
    this.socket.send(
      JSON.stringify({
        type: 'display',
        max_width: Math.max(16, Math.round(this.box.clientWidth * ratio)),
        max_height: Math.max(16, Math.round(this.box.clientHeight * ratio)),
        levels: this.levels,
      }),
    );
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
    const pixels = new Uint8Array(buffer, 4 + headerLength);
    // Ready for the next one (the server sends nothing newer until we say so); at most one more
    // can then wait here while this one is drawn.
    socket.send(JSON.stringify({ type: 'ack', seq: header.seq }));
    const receivedMs = performance.timeOrigin + performance.now();
    this.gate(header, () => this.present(header, pixels, receivedMs));
  }

  /**
   * Draws a received frame and counts it.
   * @param {LiveFrameHeader} header
   * @param {Uint8Array} pixels
   * @param {number} receivedMs when it came (ms since the epoch)
   */
  present(header, pixels, receivedMs) {
    this.draw(header, pixels);
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

  /**
   * @param {LiveFrameHeader} header
   * @param {Uint8Array} pixels
   */
  draw(header, pixels) {
    const { width, height, channels } = header;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.image = null;
    }
    const image = (this.image ??= this.context.createImageData(width, height));
    const rgba = new Uint32Array(image.data.buffer);
    const count = width * height;
    if (channels === 3) {
      for (let i = 0, j = 0; i < count; i++, j += 3) {
        rgba[i] = 0xff000000 | (pixels[j + 2] << 16) | (pixels[j + 1] << 8) | pixels[j];
      }
    } else {
      for (let i = 0; i < count; i++) {
        const v = pixels[i];
        rgba[i] = 0xff000000 | (v << 16) | (v << 8) | v;
      }
    }
    this.context.putImageData(image, 0, 0);
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
