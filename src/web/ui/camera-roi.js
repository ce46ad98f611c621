// @ts-check
// The camera's region of interest from the image view: a rectangle drawn on the frame becomes the
// settings roi_x, roi_y, roi_width, roi_height (the simulator's, and GenICam's OffsetX, OffsetY,
// Width, Height under labcast's common names); "Full frame" sets the whole sensor back.

import { command } from './api.js';

/** @typedef {import('./api.js').ExperimentStatus} ExperimentStatus */
/** @typedef {import('./api.js').SettingSpec} SettingSpec */
/** @typedef {import('./image-view.js').Rect} Rect */
/** @typedef {import('./image-view.js').CameraRoi} CameraRoi */

const ROI_SETTINGS = ['roi_x', 'roi_y', 'roi_width', 'roi_height'];

/**
 * `value` moved onto the grid of `spec` (its increment from its minimum) and into its range.
 * @param {SettingSpec} spec
 * @param {number} value
 */
function onGrid(spec, value) {
  const step = spec.integer && spec.increment !== undefined && spec.increment > 1 ? spec.increment : 1;
  const snapped = spec.min + Math.round((value - spec.min) / step) * step;
  return Math.min(spec.max - ((spec.max - spec.min) % step), Math.max(spec.min, snapped));
}

/**
 * @param {() => ExperimentStatus | null} currentStatus
 * @returns {CameraRoi}
 */
export function cameraRoi(currentStatus) {
  /**
   * Stops live view if it runs (the frame size cannot change while streaming), runs `change`
   * with the settings and specs, and goes live again.
   * @param {(settings: Record<string, unknown>, set: (name: string, value: number) => Promise<Map<string, SettingSpec>>, specs: Map<string, SettingSpec>) => Promise<void>} change
   */
  async function whileStopped(change) {
    const state = currentStatus()?.state;
    if (state === 'recording' || state === 'stopping') throw new Error('The camera ROI cannot change during a recording; stop it first.');
    const current = await command({ cmd: 'settings' });
    const specs = new Map(current.specs.map((spec) => [spec.name, spec]));
    const missing = ROI_SETTINGS.filter((name) => !specs.has(name) || specs.get(name)?.access === 'RO');
    if (missing.length > 0) throw new Error(`This camera has no settable region of interest (no ${missing.join(', ')}).`);
    const wasLive = state === 'live';
    if (wasLive) await command({ cmd: 'stop' });
    try {
      /** @type {(name: string, value: number) => Promise<Map<string, SettingSpec>>} */
      const set = async (name, value) => {
        const result = await command({ cmd: 'set', name, value });
        return new Map(result.specs.map((spec) => [spec.name, spec]));
      };
      await change(current.settings, set, specs);
    } finally {
      if (wasLive) await command({ cmd: 'live' });
    }
  }

  return {
    async set(rect) {
      await whileStopped(async (settings, set) => {
        // The rectangle is in the frame shown, which starts at the current offsets.
        const x = Number(settings.roi_x ?? 0) + rect.x;
        const y = Number(settings.roi_y ?? 0) + rect.y;
        // Offsets to 0 first: each side's range depends on the other (offset + size ≤ sensor).
        await set('roi_x', 0);
        let specs = await set('roi_y', 0);
        specs = await set('roi_width', onGrid(/** @type {SettingSpec} */ (specs.get('roi_width')), rect.width));
        specs = await set('roi_height', onGrid(/** @type {SettingSpec} */ (specs.get('roi_height')), rect.height));
        specs = await set('roi_x', onGrid(/** @type {SettingSpec} */ (specs.get('roi_x')), x));
        await set('roi_y', onGrid(/** @type {SettingSpec} */ (specs.get('roi_y')), y));
      });
    },
    async reset() {
      await whileStopped(async (_settings, set) => {
        await set('roi_x', 0);
        let specs = await set('roi_y', 0);
        specs = await set('roi_width', /** @type {SettingSpec} */ (specs.get('roi_width')).max);
        await set('roi_height', /** @type {SettingSpec} */ (specs.get('roi_height')).max);
      });
    },
  };
}
