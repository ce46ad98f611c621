// @ts-check
// The line profile plot and the ROI statistics readout of the image view, in raw units.

import uPlot from '/vendor/uplot/uPlot.esm.js';

/**
 * Raw values along a line (web/raw-inspect.ts LineProfile).
 * @typedef {{ points: [number, number][], values: number[][] }} LineProfile
 */
/** @typedef {{ mean: number, std: number, min: number, max: number, sum: number }} ChannelStats */
/**
 * Statistics of a rectangle of the frame (web/raw-inspect.ts RegionStats).
 * @typedef {{ x: number, y: number, width: number, height: number, pixels: number, channels: ChannelStats[] }} RegionStats
 */

const CHANNEL_COLOURS = ['#d93025', '#1a7f37', '#1f6feb'];
const GREY_COLOUR = '#1d2330';

/**
 * Statistics of raw values as a pixel source that only has regions would compute them
 * (row-major, `channels` interleaved): the same figures the live server gives.
 * @param {ArrayLike<number>} values
 * @param {number} channels
 * @returns {ChannelStats[]}
 */
export function statsOfValues(values, channels) {
  /** @type {ChannelStats[]} */
  const out = [];
  const count = Math.floor(values.length / channels);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = c; i < values.length; i += channels) {
      const v = values[i];
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = sum / count;
    let squares = 0;
    for (let i = c; i < values.length; i += channels) squares += (values[i] - mean) ** 2;
    out.push({ mean, std: Math.sqrt(squares / count), min, max, sum });
  }
  return out;
}

/** @param {number} value */
function figure(value) {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toPrecision(4);
}

/**
 * "mean 1234.5 · std 12.3 · min 1200 · max 1300 · sum 123456", a line per channel of a colour frame.
 * @param {RegionStats} stats
 */
export function describeStats(stats) {
  const names = stats.channels.length === 3 ? ['R', 'G', 'B'] : [''];
  return stats.channels
    .map(
      (c, i) =>
        `${names[i] ? `${names[i]}: ` : ''}mean ${figure(c.mean)} · std ${figure(c.std)} · min ${c.min} · max ${c.max} · sum ${c.sum}`,
    )
    .join('\n');
}

/** A plot of raw values along the drawn line, one series per channel. */
export class ProfilePlot {
  /** @param {HTMLElement} element */
  constructor(element) {
    this.element = element;
    /** @type {uPlot | null} */
    this.plot = null;
    this.channels = 0;
    /** The profile shown, for people reading the page and for tests. @type {LineProfile | null} */
    this.profile = null;
  }

  /** @param {LineProfile} profile */
  show(profile) {
    this.profile = profile;
    const channels = profile.values.length;
    if (this.plot === null || this.channels !== channels) {
      this.plot?.destroy();
      this.channels = channels;
      const names = channels === 3 ? ['R', 'G', 'B'] : ['value'];
      this.plot = new uPlot(
        {
          width: Math.max(200, this.element.clientWidth),
          height: 160,
          legend: { show: false },
          scales: { x: { time: false } },
          axes: [{ label: 'pixels along the line' }, { label: 'raw value', size: 60 }],
          series: [
            {},
            ...names.map((label, c) => ({
              label,
              stroke: channels === 3 ? CHANNEL_COLOURS[c] : GREY_COLOUR,
              width: 1.5,
              points: { show: profile.points.length < 64 },
            })),
          ],
        },
        [[], ...names.map(() => [])],
        this.element,
      );
    }
    // Distance from the start, in frame pixels (a diagonal step is longer than one).
    const [x0, y0] = profile.points[0] ?? [0, 0];
    const xs = profile.points.map(([x, y]) => Math.hypot(x - x0, y - y0));
    this.plot.setData([xs, ...profile.values]);
  }

  resize() {
    this.plot?.setSize({ width: Math.max(200, this.element.clientWidth), height: 160 });
  }
}
