// @ts-check
// Analysis in the page: results from /ws/results, spot markers and tracks over the live view,
// statistics plots from the stats analysis, and a switch per analysis (start/stop through /api/command).

import uPlot from '/vendor/uplot/uPlot.esm.js';
import { command, messageOf, parseJson, wsUrl } from './api.js';
import { histogramPlot, sizeOf } from './plots.js';

/** @typedef {import('./api.js').AnalysisInfo} AnalysisInfo */
/** @typedef {import('./live.js').LiveFrameHeader} LiveFrameHeader */

/**
 * A result as /ws/results sends it (web/results-hub.ts browserMessage).
 * @typedef {object} ResultMessage
 * @property {'result'} type
 * @property {string} name
 * @property {string | null} kind
 * @property {string} run_id
 * @property {number} seq
 * @property {string} camera_ts_ns decimal: it exceeds 2^53
 * @property {number[] | null} shape
 * @property {number | null} analysis_ms
 * @property {unknown} body what the analysis returned
 * @property {Record<string, number[] | { length: number }>} arrays
 */
/** @typedef {ResultMessage & { body: { x: number[], y: number[], track?: unknown, sigma?: unknown } }} SpotResult */
/** @typedef {{ mean: number, std: number, histogram?: number[], low: number, bin_width: number }} StatsBody */
/** @typedef {ResultMessage & { body: StatsBody }} StatsResult */

/** Localisation results kept to match frames as they are shown (results and frames travel separately). */
const KEEP_RESULTS = 240;
/** Spot results came this recently: frames wait for theirs before they are drawn (frame-sync.js). */
const RESULTS_FLOWING_MS = 1000;
const TRACK_POINTS = 60;
const STATS_WINDOW_S = 60;
const REDRAW_MS = 200;

/** For people and for tests: what the overlay drew last. */
export const overlayStats = {
  results: 0,
  spotResults: 0,
  statsResults: 0,
  /** Points in the mean ± std plot, and bins in the histogram, at the last redraw. */
  statsPoints: 0,
  histogramBins: 0,
  /** @type {number | null} */
  drawnSeq: null,
  /** @type {number | null} */
  resultSeq: null,
  exact: false,
  spotsDrawn: 0,
  tracksDrawn: 0,
};
/** @type {Window & { labcastOverlay?: typeof overlayStats }} */ (window).labcastOverlay = overlayStats;

/**
 * Calls onResult with every result message; reconnects after a drop.
 * @param {(message: ResultMessage) => void} onResult
 */
export function watchResults(onResult) {
  const open = () => {
    const socket = new WebSocket(wsUrl('/ws/results'));
    /** @param {MessageEvent<string>} event */
    socket.onmessage = (event) => {
      /** @type {ResultMessage} */
      const message = parseJson(event.data);
      if (message.type === 'result') onResult(message);
    };
    socket.onclose = () => setTimeout(open, 1000);
  };
  open();
}

/** Spot results: any analysis whose body has equal-length x and y lists (localize, the Python spot counter...). */
/**
 * @param {ResultMessage} message
 * @returns {message is SpotResult}
 */
function isSpotResult(message) {
  const body = /** @type {{ x?: unknown, y?: unknown } | null} */ (message.body);
  return body !== null && typeof body === 'object' && Array.isArray(body.x) && Array.isArray(body.y) && body.x.length === body.y.length;
}

/**
 * @param {ResultMessage} message
 * @returns {message is StatsResult}
 */
function isStatsResult(message) {
  const body = /** @type {{ mean?: unknown } | null} */ (message.body);
  return message.kind === 'stats' && body !== null && typeof body === 'object' && typeof body.mean === 'number';
}

/** Markers and tracks on a canvas laid exactly over the live view's. */
export class Overlay {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{ showSpots: HTMLInputElement, showTracks: HTMLInputElement, readout: HTMLElement }} controls
   */
  constructor(canvas, { showSpots, showTracks, readout }) {
    this.canvas = canvas;
    const context = canvas.getContext('2d');
    if (context === null) throw new Error('this browser has no 2D canvas');
    this.context = context;
    this.showSpots = showSpots;
    this.showTracks = showTracks;
    this.readout = readout;
    /** Spot results by `${run_id}:${seq}`, oldest first. @type {Map<string, SpotResult>} */
    this.results = new Map();
    /** track id → [{seq, x, y}] of the run shown. @type {Map<unknown, { seq: number, x: number, y: number }[]>} */
    this.tracks = new Map();
    /** @type {string | null} */
    this.run = null;
    /** @type {LiveFrameHeader | null} */
    this.frame = null;
    this.lastResultAt = -Infinity;
    /** wantsSync() at the last draw. */
    this.drawnSynced = false;
    showSpots.addEventListener('change', () => this.draw());
    showTracks.addEventListener('change', () => this.draw());
  }

  /** @param {ResultMessage} message */
  addResult(message) {
    if (!isSpotResult(message)) return;
    overlayStats.spotResults += 1;
    if (message.run_id !== this.run) {
      this.run = message.run_id;
      this.results.clear();
      this.tracks.clear();
    }
    this.lastResultAt = performance.now();
    this.results.set(`${message.run_id}:${message.seq}`, message);
    while (this.results.size > KEEP_RESULTS) this.results.delete(/** @type {string} */ (this.results.keys().next().value));
    const { x, y, track } = message.body;
    if (Array.isArray(track)) {
      for (let i = 0; i < track.length; i++) {
        let points = this.tracks.get(track[i]);
        if (points === undefined) this.tracks.set(track[i], (points = []));
        points.push({ seq: message.seq, x: x[i], y: y[i] });
        if (points.length > TRACK_POINTS) points.shift();
      }
      // Tracks not seen for a while go.
      for (const [id, points] of this.tracks) {
        if (message.seq - points[points.length - 1].seq > TRACK_POINTS) this.tracks.delete(id);
      }
    }
    if (this.frame !== null && this.frame.run_id === message.run_id && message.seq === this.frame.seq) this.draw();
  }

  /**
   * Whether the result of that frame is in.
   * @param {string} runId
   * @param {number} seq
   */
  hasResult(runId, seq) {
    return this.results.has(`${runId}:${seq}`);
  }

  /** Redraws when results stopped (or started) flowing since the last draw, so the readout is not left stale. */
  refresh() {
    if (this.drawnSynced !== this.wantsSync()) this.draw();
  }

  /** Markers are shown and a spot analysis sends results: frames wait for theirs. */
  wantsSync() {
    return this.showSpots.checked && performance.now() - this.lastResultAt < RESULTS_FLOWING_MS;
  }

  /** The live view drew `header` (its display size and the frame's seq). */
  /** @param {LiveFrameHeader} header */
  frameShown(header) {
    this.frame = header;
    if (this.canvas.width !== header.width || this.canvas.height !== header.height) {
      this.canvas.width = header.width;
      this.canvas.height = header.height;
    }
    this.draw();
  }

  /**
   * The result of the frame shown, and only of it: an earlier frame's spots drawn over this
   * one would sit where the beads were, not where they are.
   * @param {LiveFrameHeader} frame
   */
  resultFor(frame) {
    return this.results.get(`${frame.run_id}:${frame.seq}`) ?? null;
  }

  draw() {
    this.drawnSynced = this.wantsSync();
    const ctx = this.context;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const frame = this.frame;
    overlayStats.spotsDrawn = 0;
    overlayStats.tracksDrawn = 0;
    if (frame === null) return;
    const result = this.resultFor(frame);
    overlayStats.drawnSeq = frame.seq;
    overlayStats.resultSeq = result?.seq ?? null;
    overlayStats.exact = result !== null && result.seq === frame.seq;
    if (result === null) {
      this.readout.textContent = this.wantsSync() ? `– (no result for frame ${frame.seq})` : '–';
      return;
    }
    const [height, width] = frame.shape;
    const sx = this.canvas.width / width;
    const sy = this.canvas.height / height;
    // Pixel centres are at integer coordinates: pixel i spans [i - 0.5, i + 0.5].
    const px = (/** @type {number} */ x) => (x + 0.5) * sx;
    const py = (/** @type {number} */ y) => (y + 0.5) * sy;
    if (this.showTracks.checked && this.tracks.size > 0) {
      ctx.strokeStyle = 'rgba(255, 196, 0, 0.9)';
      ctx.lineWidth = Math.max(1, this.canvas.width / 400);
      for (const points of this.tracks.values()) {
        const shown = points.filter((p) => p.seq <= frame.seq);
        if (shown.length < 2) continue;
        ctx.beginPath();
        ctx.moveTo(px(shown[0].x), py(shown[0].y));
        for (const p of shown.slice(1)) ctx.lineTo(px(p.x), py(p.y));
        ctx.stroke();
        overlayStats.tracksDrawn += 1;
      }
    }
    const { x, y, sigma } = result.body;
    if (this.showSpots.checked) {
      ctx.strokeStyle = 'rgb(0, 230, 64)';
      ctx.lineWidth = Math.max(1.5, this.canvas.width / 300);
      for (let i = 0; i < x.length; i++) {
        /** @type {unknown} */
        const sigmaOfSpot = Array.isArray(sigma) ? sigma[i] : undefined;
        const s = typeof sigmaOfSpot === 'number' ? sigmaOfSpot : 2;
        const r = Math.max(4, 2.5 * s * sx);
        ctx.beginPath();
        ctx.arc(px(x[i]), py(y[i]), r, 0, 2 * Math.PI);
        ctx.stroke();
      }
      overlayStats.spotsDrawn = x.length;
    }
    this.readout.textContent = `${x.length} (${result.name}, frame ${result.seq})`;
  }
}

/** Mean ± std over time and the histogram, from the stats analysis. */
export class StatsPlots {
  /**
   * @param {HTMLElement} meanElement
   * @param {HTMLElement} histogramElement
   */
  constructor(meanElement, histogramElement) {
    this.mean = new uPlot(
      {
        ...sizeOf(meanElement),
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { label: 'DN', size: 60 }],
        series: [
          {},
          { label: 'mean', stroke: '#1f6feb', width: 1.5, points: { show: false } },
          { label: 'mean + std', stroke: '#8ab4f8', dash: [4, 4], points: { show: false } },
          { label: 'mean − std', stroke: '#8ab4f8', dash: [4, 4], points: { show: false } },
        ],
      },
      [[], [], [], []],
      meanElement,
    );
    this.histogram = histogramPlot(histogramElement, [26, 127, 55]);
    /** @type {{ t: number[], mean: number[], upper: number[], lower: number[] }} */
    this.series = { t: [], mean: [], upper: [], lower: [] };
    /** @type {StatsBody | null} */
    this.latest = null;
    this.dirty = false;
    setInterval(() => this.redraw(), REDRAW_MS);
    new ResizeObserver(() => {
      this.mean.setSize(sizeOf(meanElement));
      this.histogram.setSize(sizeOf(histogramElement));
    }).observe(meanElement.parentElement ?? meanElement);
  }

  /** @param {ResultMessage} message */
  add(message) {
    if (!isStatsResult(message)) return;
    overlayStats.statsResults += 1;
    const t = Number(BigInt(message.camera_ts_ns) / 1000000n) / 1000;
    const { mean, std } = message.body;
    const s = this.series;
    // A new run with an earlier clock would break the time axis; start over.
    if (s.t.length > 0 && t < s.t[s.t.length - 1]) for (const list of Object.values(s)) list.length = 0;
    s.t.push(t);
    s.mean.push(mean);
    s.upper.push(mean + std);
    s.lower.push(mean - std);
    while (s.t.length > 0 && s.t[0] < t - STATS_WINDOW_S) for (const list of Object.values(s)) list.shift();
    this.latest = message.body;
    this.dirty = true;
  }

  redraw() {
    if (!this.dirty) return;
    this.dirty = false;
    const s = this.series;
    this.mean.setData([s.t.slice(), s.mean.slice(), s.upper.slice(), s.lower.slice()]);
    overlayStats.statsPoints = s.t.length;
    const body = this.latest;
    if (body !== null && Array.isArray(body.histogram)) {
      this.histogram.setData([body.histogram.map((_, i) => body.low + i * body.bin_width), body.histogram]);
      overlayStats.histogramBins = body.histogram.length;
    }
  }
}

/** One switch per analysis the server knows, with its state and rate; toggling starts or stops it. */
export class AnalysisPanel {
  /**
   * @param {HTMLElement} list
   * @param {(text: string, isError?: boolean) => void} say
   */
  constructor(list, say) {
    this.list = list;
    this.say = say;
    /** @type {Map<string, { element: HTMLLIElement, toggle: HTMLInputElement, state: HTMLSpanElement }>} */
    this.rows = new Map();
    /** Analyses with a start or stop in flight. @type {Set<string>} */
    this.busy = new Set();
  }

  /** @param {readonly AnalysisInfo[] | undefined} analyses */
  update(analyses) {
    // Absent from servers without analysis.
    if (analyses === undefined) return;
    for (const info of analyses) {
      let row = this.rows.get(info.name);
      if (row === undefined) row = this.addRow(info);
      const running = info.state === 'running' || info.state === 'starting';
      if (!this.busy.has(info.name)) row.toggle.checked = running;
      row.toggle.disabled = this.busy.has(info.name) || info.state === 'stopping';
      row.state.textContent =
        info.state === 'running'
          ? `running · ${info.results_per_s.toFixed(0)}/s · ${info.frames_analysed} analysed, ${info.frames_skipped} skipped`
          : info.state === 'failed'
            ? `failed: ${info.error ?? ''}`
            : info.state;
      row.state.classList.toggle('bad', info.state === 'failed');
      row.element.dataset.state = info.state;
    }
  }

  /** @param {AnalysisInfo} info */
  addRow(info) {
    const element = document.createElement('li');
    element.className = 'analysis-row';
    const toggle = document.createElement('input');
    toggle.type = 'checkbox';
    toggle.id = `analysis-${info.name}`;
    const label = document.createElement('label');
    label.htmlFor = toggle.id;
    label.textContent = info.name;
    const kind = document.createElement('span');
    kind.className = 'muted';
    kind.textContent = info.kind === info.name ? '' : info.kind;
    const state = document.createElement('span');
    state.className = 'analysis-state';
    element.append(toggle, label, kind, state);
    this.list.append(element);
    const row = { element, toggle, state };
    this.rows.set(info.name, row);
    // toggled() shows a failed start or stop in the page and puts the switch back.
    toggle.addEventListener('change', () => void this.toggled(info.name, toggle.checked));
    return row;
  }

  /**
   * @param {string} name
   * @param {boolean} on
   */
  async toggled(name, on) {
    const row = this.rows.get(name);
    if (row === undefined) return;
    this.busy.add(name);
    row.toggle.disabled = true;
    try {
      const analyses = await command({ cmd: 'analysis', action: on ? 'start' : 'stop', name });
      this.busy.delete(name);
      this.update(analyses);
      this.say(on ? `Analysis ${name} started.` : `Analysis ${name} stopped.`);
    } catch (error) {
      this.busy.delete(name);
      row.toggle.checked = !on;
      row.toggle.disabled = false;
      this.say(messageOf(error), true);
    }
  }
}
