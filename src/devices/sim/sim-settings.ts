import type { SettingSpec } from '../camera.js';
import { validateSettingValue } from '../settings.js';
import type { SimCameraOptions } from '../../camera-spec/sim-options.js';

/**
 * The simulated camera's settings. A type alias rather than an interface so that
 * it is assignable to the Camera's Record<string, number>.
 */
export type SimSettings = {
  readonly exposure_ms: number;
  readonly gain: number;
  readonly brightness: number;
  /** Region of interest in sensor pixels; the frame is this crop of the full sensor. */
  readonly roi_x: number;
  readonly roi_y: number;
  readonly roi_width: number;
  readonly roi_height: number;
};

export type SimSettingName = keyof SimSettings;

/** Exposure at which the scene is defined; the signal scales with exposure_ms / this. */
export const REFERENCE_EXPOSURE_MS = 10;

/**
 * Specs under the `current` settings: the ROI limits depend on each other
 * (roi_x + roi_width must fit on the sensor), as offsets do on real cameras, so
 * shrink the ROI before moving it.
 */
export function simSettingSpecs(options: SimCameraOptions, current: SimSettings): SettingSpec[] {
  return [
    {
      name: 'exposure_ms',
      description: `exposure time; the signal is proportional to it (full scene brightness at ${REFERENCE_EXPOSURE_MS} ms)`,
      unit: 'ms',
      min: 0.01,
      max: 10_000,
      integer: false,
      default: REFERENCE_EXPOSURE_MS,
      changeable_while_streaming: true,
    },
    {
      name: 'gain',
      description: 'analog gain: multiplies signal and noise',
      unit: 'x',
      min: 0.1,
      max: 64,
      integer: false,
      default: 1,
      changeable_while_streaming: true,
    },
    {
      name: 'brightness',
      description: 'black-level offset added to every pixel, as a percentage of the pixel full scale',
      unit: '% of full scale',
      min: -100,
      max: 100,
      integer: false,
      default: 0,
      changeable_while_streaming: true,
    },
    roiSpec('roi_x', 'left edge of the region of interest; roi_x + roi_width <= sensor width', 0, options.width - current.roi_width, 0),
    roiSpec('roi_y', 'top edge of the region of interest; roi_y + roi_height <= sensor height', 0, options.height - current.roi_height, 0),
    roiSpec('roi_width', 'width of the region of interest', 1, options.width - current.roi_x, options.width),
    roiSpec('roi_height', 'height of the region of interest', 1, options.height - current.roi_y, options.height),
  ];
}

function roiSpec(name: SimSettingName, description: string, min: number, max: number, defaultValue: number): SettingSpec {
  return {
    name,
    description,
    unit: 'px',
    min,
    max,
    integer: true,
    default: defaultValue,
    // The frame shape follows the ROI, and a stream keeps one shape.
    changeable_while_streaming: false,
  };
}

export function defaultSimSettings(options: SimCameraOptions): SimSettings {
  return Object.freeze({
    exposure_ms: REFERENCE_EXPOSURE_MS,
    gain: 1,
    brightness: 0,
    roi_x: 0,
    roi_y: 0,
    roi_width: options.width,
    roi_height: options.height,
  });
}

const SETTING_NAMES: readonly SimSettingName[] = ['exposure_ms', 'gain', 'brightness', 'roi_x', 'roi_y', 'roi_width', 'roi_height'];

/**
 * Defaults overlaid with `given`, every value checked against the specs of the
 * result (so a ROI that does not fit the sensor is refused). Names not in
 * SimSettings are ignored. Throws BAD_SETTING.
 */
export function resolveSimSettings(options: SimCameraOptions, given: Readonly<Partial<SimSettings>>): SimSettings {
  // Every frame of a stream resolves the camera's same frozen settings: validate them once (small frames are ~5 % faster).
  if (lastResolved !== null && lastResolved.options === options && lastResolved.given === given) return lastResolved.settings;
  const settings = resolveAfresh(options, given);
  if (Object.isFrozen(given) && Object.isFrozen(options)) lastResolved = { options, given, settings };
  return settings;
}

/** The last settings resolved from frozen (so unchanging) options and settings. */
let lastResolved: { options: SimCameraOptions; given: Readonly<Partial<SimSettings>>; settings: SimSettings } | null = null;

function resolveAfresh(options: SimCameraOptions, given: Readonly<Partial<SimSettings>>): SimSettings {
  const merged: Record<string, number> = { ...defaultSimSettings(options) };
  for (const name of SETTING_NAMES) {
    const value = given[name];
    if (value !== undefined) merged[name] = value;
  }
  const settings = merged as SimSettings;
  const specs = simSettingSpecs(options, settings);
  for (const name of SETTING_NAMES) validateSettingValue(specs, name, settings[name]);
  return Object.freeze(settings);
}
