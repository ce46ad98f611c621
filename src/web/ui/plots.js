// @ts-check
// The two plots: histogram of the current frame, mean intensity over time (uPlot).

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

export class Plots {
  /**
   * @param {HTMLElement} histogramElement
   * @param {HTMLElement} meanElement
   */
  constructor(histogramElement, meanElement) {
    this.histogramElement = histogramElement;
    this.meanElement = meanElement;
    this.histogram = histogramPlot(histogramElement, [31, 111, 235]);
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
      this.histogram.setData([xs, stats.histogram]);
    }
    this.mean.setData([this.times.slice(), this.means.slice()]);
  }
}
