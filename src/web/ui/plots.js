// @ts-check
// The two plots: histogram of the current frame, mean intensity over time (uPlot).
// On the histogram, dragging across sets the display levels; it can be drawn on a log scale.

import uPlot from '/vendor/uplot/uPlot.esm.js';

/** @typedef {import('./live.js').LiveFrameHeader} LiveFrameHeader */

const MEAN_WINDOW_S = 60;
const REDRAW_MS = 200;

// uPlot's types make its path builders optional (a custom build may leave them out); ours has them.
const steppedPaths = /** @type {NonNullable<typeof uPlot.paths.stepped>} */ (uPlot.paths.stepped);

/** @param {HTMLElement} element */
export function sizeOf(element) {
  return { width: Math.max(200, element.clientWidth), height: 200 };
}

/**
 * A stepped histogram of pixel values in `element`, drawn in `colour` (r, g, b).
 * @param {HTMLElement} element
 * @param {[number, number, number]} colour
 */
export function histogramPlot(element, [r, g, b]) {
  return new uPlot(
    {
      ...sizeOf(element),
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false } },
      axes: [{ label: 'pixel value' }, { label: 'pixels', size: 60 }],
      series: [
        {},
        { stroke: `rgb(${r},${g},${b})`, fill: `rgba(${r},${g},${b},0.25)`, paths: steppedPaths({ align: 1 }), points: { show: false } },
      ],
    },
    [[0], [0]],
    element,
  );
}

/**
 * The live histogram: over 0..full scale of the camera's bit depth, the display levels drawn as
 * two lines; a drag across it sets the levels (onLevels), in raw units.
 * @param {HTMLElement} element
 * @param {{ log: boolean, levels: () => { black: number, white: number } | null, fullScale: () => number, onLevels: (black: number, white: number) => void }} options
 */
function levelsHistogram(element, { log, levels, fullScale, onLevels }) {
  return new uPlot(
    {
      ...sizeOf(element),
      legend: { show: false },
      cursor: { x: true, y: false, points: { show: false }, drag: { x: true, y: false, setScale: false } },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: false, range: () => [0, fullScale()] }, y: log ? { distr: 3 } : {} },
      axes: [{ label: 'pixel value (drag to set the levels)' }, { label: log ? 'pixels (log)' : 'pixels', size: 60 }],
      series: [
        {},
        { stroke: 'rgb(31,111,235)', fill: 'rgba(31,111,235,0.25)', paths: steppedPaths({ align: 1 }), points: { show: false } },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const black = Math.round(u.posToVal(u.select.left, 'x'));
            const white = Math.round(u.posToVal(u.select.left + u.select.width, 'x'));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            onLevels(Math.max(0, black), Math.min(fullScale(), white));
          },
        ],
        draw: [
          (u) => {
            const shown = levels();
            if (shown === null) return;
            const { ctx } = u;
            ctx.save();
            ctx.lineWidth = 2 * devicePixelRatio;
            for (const [value, colour] of /** @type {[number, string][]} */ ([
              [shown.black, '#1d2330'],
              [shown.white, '#9a6700'],
            ])) {
              const x = u.valToPos(value, 'x', true);
              ctx.strokeStyle = colour;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
            }
            ctx.restore();
          },
        ],
      },
    },
    [[0], [log ? null : 0]],
    element,
  );
}

export class Plots {
  /**
   * @param {HTMLElement} histogramElement
   * @param {HTMLElement} meanElement
   * @param {{ onLevels?: (black: number, white: number) => void }} [options] onLevels: levels dragged on the histogram
   */
  constructor(histogramElement, meanElement, { onLevels = () => {} } = {}) {
    this.histogramElement = histogramElement;
    this.meanElement = meanElement;
    this.onLevels = onLevels;
    this.log = false;
    /** @type {LiveFrameHeader | null} */
    this.histogramFrame = null;
    this.histogram = this.makeHistogram();
    this.mean = new uPlot(
      {
        ...sizeOf(meanElement),
        legend: { show: false },
        scales: { x: { time: true } },
        axes: [{}, { label: 'mean', size: 60 }],
        series: [{}, { stroke: '#d93025', width: 1.5, points: { show: false } }],
      },
      [[], []],
      meanElement,
    );
    /** @type {number[]} */
    this.times = [];
    /** @type {number[]} */
    this.means = [];
    /** @type {LiveFrameHeader['stats'] | null} */
    this.pendingHistogram = null;
    this.dirty = false;
    setInterval(() => this.redraw(), REDRAW_MS);
    new ResizeObserver(() => {
      this.histogram.setSize(sizeOf(histogramElement));
      this.mean.setSize(sizeOf(meanElement));
    }).observe(histogramElement.parentElement ?? histogramElement);
  }

  makeHistogram() {
    return levelsHistogram(this.histogramElement, {
      log: this.log,
      levels: () => (this.histogramFrame === null ? null : { black: this.histogramFrame.black, white: this.histogramFrame.white }),
      fullScale: () => this.histogramFrame?.stats.full_scale ?? 65535,
      onLevels: (black, white) => this.onLevels(black, white),
    });
  }

  /** @param {boolean} log counts on a log scale (a few saturated or hot pixels show beside a large background) */
  setLog(log) {
    if (log === this.log) return;
    this.log = log;
    this.histogram.destroy();
    this.histogram = this.makeHistogram();
    this.pendingHistogram = this.histogramFrame?.stats ?? null;
    this.dirty = true;
  }

  /** Takes the stats of a displayed frame; plots are redrawn a few times a second, not per frame. */
  /** @param {LiveFrameHeader} header */
  add(header) {
    const seconds = Number(BigInt(header.camera_ts_ns) / 1000000n) / 1000;
    this.times.push(seconds);
    this.means.push(header.stats.mean);
    while (this.times.length > 0 && this.times[0] < seconds - MEAN_WINDOW_S) {
      this.times.shift();
      this.means.shift();
    }
    this.pendingHistogram = header.stats;
    this.histogramFrame = header;
    this.dirty = true;
  }

  redraw() {
    if (!this.dirty) return;
    this.dirty = false;
    const stats = this.pendingHistogram;
    if (stats !== null) {
      const bins = stats.histogram.length;
      const width = (stats.full_scale + 1) / bins;
      const xs = stats.histogram.map((_, i) => i * width);
      // A log scale has no zero: empty bins are left out.
      this.histogram.setData([xs, this.log ? stats.histogram.map((n) => (n > 0 ? n : null)) : stats.histogram]);
    }
    this.mean.setData([this.times.slice(), this.means.slice()]);
  }
}
