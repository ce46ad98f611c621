// @ts-check
// Colour maps for 8-bit display values, as lookup tables of canvas pixels, each with a colour
// for saturated pixels that the map itself never uses.

/** @typedef {'grey' | 'inverted' | 'viridis' | 'hot'} ColormapName */
/** @typedef {[number, number, number]} Rgb */

/**
 * viridis (matplotlib's perceptually uniform map) at ten evenly spaced stops; the 256 entries
 * are interpolated between them, which stays within a level or two of the full table.
 * @type {Rgb[]}
 */
const VIRIDIS_STOPS = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [181, 222, 43],
  [253, 231, 37],
];

/** @param {number} t 0..1 */
function viridis(t) {
  const at = t * (VIRIDIS_STOPS.length - 1);
  const i = Math.min(VIRIDIS_STOPS.length - 2, Math.floor(at));
  const f = at - i;
  const [a, b] = [VIRIDIS_STOPS[i], VIRIDIS_STOPS[i + 1]];
  return /** @type {Rgb} */ ([0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c]))));
}

/** @param {number} v */
const clamp255 = (v) => Math.max(0, Math.min(255, Math.round(v)));

/**
 * Each map: the colour of display value v (0..255) and the colour saturated pixels take
 * (one the map does not contain, so a saturated pixel is never mistaken for a bright one).
 * @type {Record<ColormapName, { label: string, colour: (v: number) => Rgb, saturated: Rgb }>}
 */
export const COLORMAPS = {
  grey: { label: 'Grey', colour: (v) => [v, v, v], saturated: [255, 0, 0] },
  inverted: { label: 'Inverted grey', colour: (v) => [255 - v, 255 - v, 255 - v], saturated: [255, 0, 0] },
  viridis: { label: 'Viridis', colour: (v) => viridis(v / 255), saturated: [255, 0, 0] },
  hot: { label: 'Hot', colour: (v) => [clamp255(3 * v), clamp255(3 * v - 255), clamp255(3 * v - 510)], saturated: [0, 160, 255] },
};

/** Saturated pixels of a colour (RGB) frame, which has no map: a colour no camera scene is likely to be. */
export const COLOUR_FRAME_SATURATED = /** @type {Rgb} */ ([255, 0, 255]);

/** @param {string} name */
export function isColormapName(name) {
  return Object.hasOwn(COLORMAPS, name);
}

/**
 * One opaque canvas pixel (ImageData viewed as Uint32 on a little-endian machine: 0xAABBGGRR).
 * @param {Rgb} rgb
 */
export function packRgb([r, g, b]) {
  return (0xff000000 | (b << 16) | (g << 8) | r) >>> 0;
}

/** @type {Map<ColormapName, Uint32Array>} */
const tables = new Map();

/**
 * 256 packed pixels: entry v is the colour of display value v.
 * @param {ColormapName} name
 */
export function colormapTable(name) {
  let table = tables.get(name);
  if (table === undefined) {
    const { colour } = COLORMAPS[name];
    table = Uint32Array.from({ length: 256 }, (_, v) => packRgb(colour(v)));
    tables.set(name, table);
  }
  return table;
}

/**
 * The colour of saturated pixels under `name` (for a grey frame), as a CSS colour.
 * @param {ColormapName} name
 */
export function saturatedCss(name) {
  const [r, g, b] = COLORMAPS[name].saturated;
  return `rgb(${r}, ${g}, ${b})`;
}
