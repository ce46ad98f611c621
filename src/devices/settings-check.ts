import type { SettingValuePayload } from '../protocol/process-messages.js';
import { closestKey } from '../config/closest-key.js';
import { createCamera } from './registry.js';
import { isLabcastError, type LabcastError } from '../protocol/errors.js';
import type { Camera, SettingSpec } from './camera.js';
import { describeRange } from './settings.js';

/** One setting the camera would refuse, and what it accepts. */
export interface SettingProblem {
  readonly name: string;
  readonly message: string;
}

/**
 * Drivers whose settings are known without opening a device: the simulator's
 * come from its options, and files, streams, lavfi graphs and replays have
 * none. A V4L2 device's controls are known only once it is open, so its
 * settings are checked in the acquisition process (applyInitialSettings).
 */
const KNOWN_WITHOUT_DEVICE: ReadonlySet<string> = new Set(['sim', 'file', 'url', 'lavfi', 'replay']);

/**
 * Every problem with `settings` for the camera `cameraSpec`, checked as the
 * camera will apply them (in order: one setting's range may depend on
 * another's value, as the simulator's ROI does); null when this camera's
 * settings cannot be known before its device is opened.
 */
export async function checkSettingsBeforeStart(
  cameraSpec: unknown,
  settings: Readonly<Record<string, SettingValuePayload>>,
): Promise<SettingProblem[] | null> {
  if (Object.keys(settings).length === 0) return [];
  const camera = await createCamera(cameraSpec);
  if (!KNOWN_WITHOUT_DEVICE.has(camera.info.driver)) return null;
  if (camera.settingSpecs().length === 0) {
    return Object.keys(settings).map((name) => ({ name, message: `unknown setting: this camera (${camera.info.driver}) has no settings` }));
  }
  await camera.open();
  try {
    const refusals = await applyCollectingRefusals(camera, settings);
    return refusals.map((refusal) => ({ name: refusal.name, message: configMessage(refusal, camera.settingSpecs()) }));
  } finally {
    await camera.close();
  }
}

/** A setting the camera refused, with its error and (unless unknown) its spec at the time. */
export interface RefusedSetting {
  readonly name: string;
  readonly value: SettingValuePayload;
  readonly spec: SettingSpec | undefined;
  readonly error: LabcastError;
}

/**
 * Applies `settings` to an open camera in order, going on past a refused one,
 * and returns every refusal (empty when all were applied). Other errors (a
 * device that fails) are thrown.
 */
export async function applyCollectingRefusals(
  camera: Camera,
  settings: Readonly<Record<string, SettingValuePayload>>,
): Promise<RefusedSetting[]> {
  const refusals: RefusedSetting[] = [];
  for (const [name, value] of Object.entries(settings)) {
    const spec = camera.settingSpecs().find((candidate) => candidate.name === name);
    try {
      await camera.setSetting(name, value);
    } catch (error) {
      if (!isLabcastError(error) || (error.code !== 'BAD_SETTING' && error.code !== 'CAMERA_STATE')) throw error;
      refusals.push({ name, value, spec, error });
    }
  }
  return refusals;
}

/** What the config's reader is told, after `settings.NAME: `. */
function configMessage(refusal: RefusedSetting, specs: readonly SettingSpec[]): string {
  if (refusal.spec === undefined) {
    const known = specs.map((s) => s.name);
    const close = closestKey(refusal.name, known);
    const hint = close === undefined ? '' : ` (did you mean "${close}"?)`;
    return `unknown setting${hint}; this camera has: ${known.join(', ') || 'none'}`;
  }
  return `${acceptedBy(refusal.spec, refusal.error.message)} (got ${refusal.value})`;
}

/** "must be a number in 0.01..10000 ms", or the camera's own words when the range is not the reason. */
function acceptedBy(spec: SettingSpec, cameraMessage: string): string {
  const kind = spec.integer ? 'an integer' : 'a number';
  return /out of range|must be (a|an) /.test(cameraMessage) ? `must be ${kind} in ${describeRange(spec)}` : cameraMessage;
}
