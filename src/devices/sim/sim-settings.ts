import type { SettingSpec } from '../camera.js';
import { validateSettingValue } from '../settings.js';
import type { SimCameraOptions } from '../../camera-spec/sim-options.js';
import { LabcastError } from '../../protocol/errors.js';

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
  /** Read-only here: the camera option bit_depth, reported so that files and the live view know it. */
  readonly bit_depth: number;
  // The sensor model of the particles scene (see devices/sim/sensor-model.ts).
  readonly gain_dn_per_e: number;
  readonly offset_dn: number;
  readonly read_noise_e: number;
  readonly dark_current_e_per_s: number;
  readonly quantum_efficiency: number;
  readonly photons_per_bead: number;
  readonly background_photons: number;
};

export type SimSettingName = keyof SimSettings;

/** Exposure at which the scene is defined; the signal scales with exposure_ms / this. */
export const REFERENCE_EXPOSURE_MS = 10;

/**
 * The default sensor, at 12 bits: a typical CMOS camera (full well ~8 000 e⁻
 * at 0.5 DN/e⁻). At other bit depths the DN-valued defaults (gain_dn_per_e,
 * offset_dn) scale by 2^(bit_depth - 12): the same sensor digitised finer or
 * coarser, as a camera's Mono8/Mono12/Mono16 modes are.
 */
export const DEFAULT_SENSOR = Object.freeze({
  gain_dn_per_e: 0.5,
  offset_dn: 100,
  read_noise_e: 2,
  dark_current_e_per_s: 1,
  quantum_efficiency: 0.8,
  photons_per_bead: 5000,
  background_photons: 30,
});
const DEFAULT_SENSOR_BIT_DEPTH = 12;

function bitDepthScale(options: SimCameraOptions): number {
  return 2 ** (options.bit_depth - DEFAULT_SENSOR_BIT_DEPTH);
}

/**
 * Specs under the `current` settings: the ROI limits depend on each other
 * (roi_x + roi_width must fit on the sensor), as offsets do on real cameras, so
 * shrink the ROI before moving it.
 */
export function simSettingSpecs(options: SimCameraOptions, current: SimSettings): SettingSpec[] {
  const defaults = defaultSimSettings(options);
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
      description: 'black-level offset added to every pixel, as a percentage of full scale (2^bit_depth - 1)',
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
    {
      name: 'bit_depth',
      description: 'significant bits per sample: values clip at 2^bit_depth - 1 (the camera option bit_depth; read-only)',
      unit: 'bit',
      min: options.bit_depth,
      max: options.bit_depth,
      integer: true,
      default: options.bit_depth,
      changeable_while_streaming: false,
      access: 'RO',
    },
    ...sensorSpecs(options, defaults),
  ];
}

/** The particles scene's sensor model; changeable while streaming, as gain is. */
function sensorSpecs(options: SimCameraOptions, defaults: SimSettings): SettingSpec[] {
  const fullScale = 2 ** options.bit_depth - 1;
  const sensor = (name: SimSettingName, description: string, unit: string, min: number, max: number): SettingSpec => ({
    name,
    description,
    unit,
    min,
    max,
    integer: false,
    default: defaults[name],
    changeable_while_streaming: true,
  });
  const perReference = `at exposure_ms ${REFERENCE_EXPOSURE_MS}; proportional to exposure`;
  return [
    sensor('gain_dn_per_e', 'conversion gain: DN per photoelectron (at gain 1; gain multiplies it)', 'DN/e⁻', 0.001, 1000),
    sensor('offset_dn', 'black level added to every pixel (particles scene)', 'DN', 0, fullScale),
    sensor('read_noise_e', 'read noise: Gaussian standard deviation in electrons', 'e⁻', 0, 10_000),
    sensor('dark_current_e_per_s', 'dark current: Poisson electrons per pixel per second of exposure', 'e⁻/s', 0, 1_000_000),
    sensor('quantum_efficiency', 'fraction of photons that become photoelectrons', '', 0, 1),
    sensor('photons_per_bead', `mean photons a bead sends to the sensor, ${perReference} (beads vary 0.6..1.4×)`, 'photons', 0, 1e9),
    sensor('background_photons', `mean background photons per pixel, ${perReference}`, 'photons/px', 0, 1e7),
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
    bit_depth: options.bit_depth,
    ...DEFAULT_SENSOR,
    gain_dn_per_e: DEFAULT_SENSOR.gain_dn_per_e * bitDepthScale(options),
    offset_dn: DEFAULT_SENSOR.offset_dn * bitDepthScale(options),
  });
}

const SETTING_NAMES: readonly SimSettingName[] = [
  'exposure_ms',
  'gain',
  'brightness',
  'roi_x',
  'roi_y',
  'roi_width',
  'roi_height',
  'bit_depth',
  'gain_dn_per_e',
  'offset_dn',
  'read_noise_e',
  'dark_current_e_per_s',
  'quantum_efficiency',
  'photons_per_bead',
  'background_photons',
];

/**
 * BAD_SETTING unless `value` is the camera's bit depth: it is an option, since
 * it decides the dtype, and a stream keeps one dtype.
 */
export function checkBitDepthSetting(options: SimCameraOptions, value: unknown): void {
  if (value === options.bit_depth) return;
  throw new LabcastError(
    'BAD_SETTING',
    `setting "bit_depth" is read-only (${options.bit_depth} on this camera, got ${String(value)}): it is the simulated camera ` +
      `option "bit_depth" (camera.bit_depth in a config file, "bit_depth" in --camera JSON)`,
    'bit_depth',
  );
}

/**
 * Defaults overlaid with `given`, every value checked against the specs of the
 * result (so a ROI that does not fit the sensor is refused). Names not in
 * SimSettings are ignored. Throws BAD_SETTING.
 */
export function resolveSimSettings(options: SimCameraOptions, given: Readonly<Partial<SimSettings>>): SimSettings {
  const merged: Record<string, number> = { ...defaultSimSettings(options) };
  for (const name of SETTING_NAMES) {
    const value = given[name];
    if (value === undefined) continue;
    if (name === 'bit_depth') checkBitDepthSetting(options, value);
    merged[name] = value;
  }
  const settings = merged as SimSettings;
  const specs = simSettingSpecs(options, settings);
  for (const name of SETTING_NAMES) validateSettingValue(specs, name, settings[name]);
  return Object.freeze(settings);
}
