import { LabcastError } from '../../protocol/errors.js';
import type { SettingSpec, SettingValue } from '../camera.js';
import type { AravisAddon, AravisCameraHandle, AravisFeatureInfo, FeatureValue } from '../../native/aravis-addon.js';

/**
 * A GenICam camera's settings are its node map: every readable feature by its
 * GenICam name, with the node's type, unit, range, increment, entries and
 * access, plus labcast's common names (exposure_ms, gain, fps, roi_*,
 * binning) mapped onto whichever standard feature the camera has.
 */

/** One labcast name over the first of `candidates` the camera implements. */
interface Alias {
  readonly name: string;
  readonly candidates: readonly string[];
  readonly unit: string;
  readonly description: string;
  /** Camera value = labcast value × scale (exposure: ms → µs). */
  readonly scale: number;
  /** Boolean feature set true before the value (AcquisitionFrameRateEnable). */
  readonly enable?: string;
  /** Features that follow the same value (BinningVertical with BinningHorizontal). */
  readonly follow?: readonly string[];
}

const ALIASES: readonly Alias[] = [
  { name: 'exposure_ms', candidates: ['ExposureTime', 'ExposureTimeAbs'], unit: 'ms', description: 'exposure time', scale: 1000 },
  { name: 'gain', candidates: ['Gain', 'GainRaw'], unit: '', description: 'gain', scale: 1 },
  {
    name: 'fps',
    candidates: ['AcquisitionFrameRate', 'AcquisitionFrameRateAbs'],
    unit: 'Hz',
    description: 'frame rate (free run)',
    scale: 1,
    enable: 'AcquisitionFrameRateEnable',
  },
  { name: 'roi_x', candidates: ['OffsetX'], unit: 'px', description: 'region of interest: left column', scale: 1 },
  { name: 'roi_y', candidates: ['OffsetY'], unit: 'px', description: 'region of interest: top row', scale: 1 },
  { name: 'roi_width', candidates: ['Width'], unit: 'px', description: 'region of interest: width', scale: 1 },
  { name: 'roi_height', candidates: ['Height'], unit: 'px', description: 'region of interest: height', scale: 1 },
  {
    name: 'binning',
    candidates: ['BinningHorizontal'],
    unit: '',
    description: 'binning, both directions',
    scale: 1,
    follow: ['BinningVertical'],
  },
];

/**
 * Features the camera locks while it streams (GenICam TLParamsLocked): they
 * change the payload, so they are refused while streaming. A feature the
 * camera reports locked at the time is refused as well.
 */
export const STREAM_LOCKED_FEATURES: ReadonlySet<string> = new Set([
  'Width',
  'Height',
  'OffsetX',
  'OffsetY',
  'PixelFormat',
  'BinningHorizontal',
  'BinningVertical',
  'DecimationHorizontal',
  'DecimationVertical',
  'TLParamsLocked',
]);

/** Features worth offering even when a camera's Root category does not list them. */
const ALWAYS_LOOKED_UP = ['AcquisitionFrameRateEnable', 'TriggerSelector', 'TriggerMode', 'TriggerSource', 'TriggerActivation'];

/** Read-only settings labcast adds about the pixel format (recorded with the settings in every file). */
export const DERIVED_SETTINGS = ['bit_depth', 'bayer_pattern'] as const;

const SPEC_TYPE = { Integer: 'integer', Float: 'float', Enumeration: 'enumeration', Boolean: 'boolean', String: 'string' } as const;

export interface NodeMapSnapshot {
  readonly specs: readonly SettingSpec[];
  readonly values: Readonly<Record<string, SettingValue>>;
  /** labcast name → the GenICam feature it stands for on this camera. */
  readonly aliasTargets: ReadonlyMap<string, string>;
}

/**
 * The node map as settings, read now. `derived` are labcast's own read-only
 * values (bit depth...), listed first after the common names.
 */
export function readNodeMap(
  addon: AravisAddon,
  handle: AravisCameraHandle,
  derived: Readonly<Record<string, number | string>>,
): NodeMapSnapshot {
  const infos = new Map<string, AravisFeatureInfo>();
  const values = new Map<string, FeatureValue>();
  const look = (name: string): AravisFeatureInfo | null => {
    if (infos.has(name)) return infos.get(name)!;
    let info: AravisFeatureInfo;
    let value: FeatureValue;
    try {
      info = addon.featureInfo(handle, name);
      if (!(info.type in SPEC_TYPE) || !info.available || (info.access !== 'RO' && info.access !== 'RW')) return null;
      value = addon.getFeature(handle, name);
    } catch {
      // Not present, or not readable now (a selector's other branch): not a setting at the moment.
      return null;
    }
    infos.set(name, info);
    values.set(name, value);
    return info;
  };

  const specs: SettingSpec[] = [];
  const settingValues: Record<string, SettingValue> = {};
  const aliasTargets = new Map<string, string>();
  for (const alias of ALIASES) {
    const target = alias.candidates.find((candidate) => look(candidate) !== null);
    if (target === undefined) continue;
    const info = infos.get(target)!;
    const value = values.get(target);
    if (typeof value !== 'number' || (info.type !== 'Integer' && info.type !== 'Float')) continue;
    aliasTargets.set(alias.name, target);
    specs.push(aliasSpec(alias, target, info));
    settingValues[alias.name] = value / alias.scale;
  }
  for (const [name, value] of Object.entries(derived)) {
    specs.push({
      name,
      description:
        name === 'bit_depth'
          ? 'significant bits per sample of the pixel format'
          : 'Bayer pattern of the raw frames (2x2, from the top left)',
      unit: name === 'bit_depth' ? 'bit' : '',
      min: typeof value === 'number' ? value : 0,
      max: typeof value === 'number' ? value : 0,
      integer: typeof value === 'number',
      default: value,
      changeable_while_streaming: false,
      type: typeof value === 'number' ? 'integer' : 'string',
      access: 'RO',
    });
    settingValues[name] = value;
  }
  const names = [...addon.listFeatures(handle), ...ALWAYS_LOOKED_UP, ...ALIASES.flatMap((alias) => alias.candidates)];
  for (const name of new Set(names)) {
    const info = look(name);
    if (info === null || name in settingValues) continue;
    const value = values.get(name)!;
    specs.push(featureSpec(info, value));
    settingValues[name] = value;
  }
  return { specs, values: settingValues, aliasTargets };
}

/** The spec of one GenICam feature as it is now; null when it is not a readable setting. */
export function readFeatureSpec(addon: AravisAddon, handle: AravisCameraHandle, name: string): SettingSpec | null {
  try {
    const info = addon.featureInfo(handle, name);
    if (!(info.type in SPEC_TYPE) || !info.available || (info.access !== 'RO' && info.access !== 'RW')) return null;
    return featureSpec(info, addon.getFeature(handle, name));
  } catch {
    return null;
  }
}

function aliasSpec(alias: Alias, target: string, info: AravisFeatureInfo): SettingSpec {
  const integer = info.type === 'Integer' && alias.scale === 1;
  return {
    name: alias.name,
    description: `${alias.description} (GenICam ${target}${alias.scale === 1 ? '' : `, ${info.unit || 'µs'} × ${1 / alias.scale}`})`,
    unit: alias.unit,
    min: (info.min ?? -Number.MAX_VALUE) / alias.scale,
    max: (info.max ?? Number.MAX_VALUE) / alias.scale,
    integer,
    default: 0,
    changeable_while_streaming: !STREAM_LOCKED_FEATURES.has(target),
    type: integer ? 'integer' : 'float',
    access: info.access === 'RO' ? 'RO' : 'RW',
    ...(info.increment === undefined ? {} : { increment: info.increment / alias.scale }),
  };
}

function featureSpec(info: AravisFeatureInfo, value: FeatureValue): SettingSpec {
  const numeric = info.type === 'Integer' || info.type === 'Float';
  return {
    name: info.name,
    description: info.description || info.displayName,
    unit: info.unit ?? '',
    min: numeric ? (info.min ?? -Number.MAX_VALUE) : 0,
    max: numeric ? (info.max ?? Number.MAX_VALUE) : 0,
    integer: info.type === 'Integer',
    default: value,
    changeable_while_streaming: !STREAM_LOCKED_FEATURES.has(info.name),
    type: SPEC_TYPE[info.type as keyof typeof SPEC_TYPE],
    access: info.access === 'RO' ? 'RO' : 'RW',
    ...(info.increment === undefined ? {} : { increment: info.increment }),
    ...(info.entries === undefined ? {} : { entries: [...info.entries] }),
  };
}

/**
 * Sets `name` (a labcast name or a GenICam feature) to `value`, which the
 * caller has checked against the spec. Throws BAD_SETTING with the camera's
 * reason when the camera refuses it.
 */
export function writeSetting(
  addon: AravisAddon,
  handle: AravisCameraHandle,
  snapshot: NodeMapSnapshot,
  name: string,
  value: SettingValue,
): void {
  const alias = ALIASES.find((candidate) => candidate.name === name);
  const target = alias === undefined ? name : snapshot.aliasTargets.get(name);
  if (target === undefined) throw new LabcastError('BAD_SETTING', `setting "${name}" is not available on this camera`, name);
  try {
    if (alias !== undefined && typeof value === 'number') {
      if (alias.enable !== undefined && hasFeature(addon, handle, alias.enable)) addon.setFeature(handle, alias.enable, true);
      addon.setFeature(handle, target, value * alias.scale);
      for (const follower of alias.follow ?? []) {
        if (hasFeature(addon, handle, follower)) addon.setFeature(handle, follower, value * alias.scale);
      }
    } else {
      addon.setFeature(handle, target, value);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LabcastError('BAD_SETTING', `the camera refused ${name} = ${JSON.stringify(value)}: ${reason}`, name);
  }
}

/**
 * Checks a value against a GenICam spec beyond the shared number checks: the
 * increment of an Integer, the entries of an Enumeration, the type of a
 * Boolean or String. Returns the value to send.
 */
export function checkFeatureValue(spec: SettingSpec, value: unknown): SettingValue {
  const accepts = describeAccepted(spec);
  const refuse = (): never => {
    throw new LabcastError('BAD_SETTING', `setting "${spec.name}" accepts ${accepts}, got ${JSON.stringify(value)}`, spec.name);
  };
  if (spec.access === 'RO') {
    throw new LabcastError('BAD_SETTING', `setting "${spec.name}" is read-only on this camera`, spec.name);
  }
  switch (spec.type) {
    case 'enumeration':
      if (typeof value !== 'string' || !(spec.entries ?? []).includes(value)) return refuse();
      return value;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === 1) return value === 1;
      return refuse();
    case 'string':
      if (typeof value !== 'string') return refuse();
      return value;
    case 'integer':
    case 'float':
    case undefined: {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < spec.min || value > spec.max) return refuse();
      if (spec.integer && !Number.isInteger(value)) return refuse();
      const step = spec.increment;
      if (spec.integer && step !== undefined && step > 1 && (value - spec.min) % step !== 0) return refuse();
      return value;
    }
  }
}

/** What a spec accepts, for error messages: "one of Mono8, Mono16", "integers 16..2048 in steps of 16 px". */
export function describeAccepted(spec: SettingSpec): string {
  switch (spec.type) {
    case 'enumeration':
      return `one of ${(spec.entries ?? []).join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    case 'integer':
    case 'float':
    case undefined: {
      const unit = spec.unit === '' ? '' : ` ${spec.unit}`;
      const kind = spec.integer ? 'integers' : 'numbers';
      const step = spec.integer && spec.increment !== undefined && spec.increment > 1 ? ` in steps of ${spec.increment}` : '';
      return `${kind} ${spec.min}..${spec.max}${step}${unit}`;
    }
  }
}

function hasFeature(addon: AravisAddon, handle: AravisCameraHandle, name: string): boolean {
  try {
    const info = addon.featureInfo(handle, name);
    return info.available && (info.access === 'RW' || info.access === 'WO');
  } catch {
    return false;
  }
}
