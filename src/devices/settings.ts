import { LabcastError } from '../protocol/errors.js';
import type { SettingSpec, SettingValue } from './camera.js';

/**
 * Validation shared by every driver, so that a bad setting reads the same
 * whichever camera is behind it: the error names the setting, what it accepts
 * and what was given.
 */

/** The spec for `name`; throws BAD_SETTING listing the known settings when there is none. */
export function findSettingSpec(specs: readonly SettingSpec[], name: string): SettingSpec {
  const spec = specs.find((candidate) => candidate.name === name);
  if (spec === undefined) {
    const known = specs.map((candidate) => candidate.name).join(', ');
    throw new LabcastError('BAD_SETTING', `unknown setting "${name}"; known settings: ${known}`, name);
  }
  return spec;
}

/**
 * Returns `value` as a number once it is known to fit the (numeric) spec for `name`.
 * `value` is unknown because it often comes straight off the wire or a config file.
 */
export function validateSettingValue(specs: readonly SettingSpec[], name: string, value: unknown): number {
  const spec = findSettingSpec(specs, name);
  if (typeof value !== 'number') {
    throw new LabcastError(
      'BAD_SETTING',
      `setting "${name}" must be a number in ${describeRange(spec)}, got ${describeValue(value)}`,
      name,
    );
  }
  if (!Number.isFinite(value)) {
    throw new LabcastError('BAD_SETTING', `setting "${name}" must be a finite number in ${describeRange(spec)}, got ${value}`, name);
  }
  if (spec.integer && !Number.isInteger(value)) {
    throw new LabcastError('BAD_SETTING', `setting "${name}" must be an integer in ${describeRange(spec)}, got ${value}`, name);
  }
  if (value < spec.min || value > spec.max) {
    throw new LabcastError('BAD_SETTING', `setting "${name}" is out of range: must be in ${describeRange(spec)}, got ${value}`, name);
  }
  return value;
}

/** Every setting at its spec's default. */
export function defaultSettingValues(specs: readonly SettingSpec[]): Record<string, SettingValue> {
  return Object.fromEntries(specs.map((spec) => [spec.name, spec.default]));
}

/** E.g. "0.01..1000 ms" or "0..100". */
export function describeRange(spec: SettingSpec): string {
  const range = `${spec.min}..${spec.max}`;
  return spec.unit === '' ? range : `${range} ${spec.unit}`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
