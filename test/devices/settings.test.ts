import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SettingSpec } from '../../src/devices/camera.js';
import { defaultSettingValues, describeRange, findSettingSpec, validateSettingValue } from '../../src/devices/settings.js';
import { LabcastError } from '../../src/protocol/errors.js';

const SPECS: readonly SettingSpec[] = [
  {
    name: 'exposure_ms',
    description: 'exposure',
    unit: 'ms',
    min: 0.01,
    max: 1000,
    integer: false,
    default: 10,
    changeable_while_streaming: true,
  },
  {
    name: 'roi_x',
    description: 'left edge',
    unit: 'px',
    min: 0,
    max: 100,
    integer: true,
    default: 0,
    changeable_while_streaming: false,
  },
  {
    name: 'level',
    description: 'unitless',
    unit: '',
    min: -1,
    max: 1,
    integer: false,
    default: 0,
    changeable_while_streaming: true,
  },
];

/** Asserts `run` throws BAD_SETTING about `field` with a message matching every pattern. */
function assertBadSetting(run: () => unknown, field: string, ...patterns: RegExp[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof LabcastError, `expected a LabcastError, got ${String(error)}`);
    assert.equal(error.code, 'BAD_SETTING');
    assert.equal(error.field, field);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

test('accepts values inside the range, bounds included, and returns them', () => {
  assert.equal(validateSettingValue(SPECS, 'exposure_ms', 0.01), 0.01);
  assert.equal(validateSettingValue(SPECS, 'exposure_ms', 1000), 1000);
  assert.equal(validateSettingValue(SPECS, 'roi_x', 42), 42);
  assert.equal(validateSettingValue(SPECS, 'level', -0.5), -0.5);
});

test('an unknown setting is refused with the list of known ones', () => {
  assertBadSetting(() => validateSettingValue(SPECS, 'exposure', 5), 'exposure', /unknown setting "exposure"/, /exposure_ms, roi_x, level/);
  assertBadSetting(() => findSettingSpec(SPECS, 'gain'), 'gain', /known settings/);
});

test('out of range names the setting, the range with its unit and the value given', () => {
  assertBadSetting(() => validateSettingValue(SPECS, 'exposure_ms', 2000), 'exposure_ms', /"exposure_ms"/, /0\.01\.\.1000 ms/, /got 2000/);
  assertBadSetting(() => validateSettingValue(SPECS, 'exposure_ms', 0), 'exposure_ms', /out of range/, /got 0/);
  assertBadSetting(() => validateSettingValue(SPECS, 'roi_x', -1), 'roi_x', /0\.\.100 px/, /got -1/);
  assertBadSetting(() => validateSettingValue(SPECS, 'level', 1.5), 'level', /-1\.\.1,/, /got 1\.5/);
});

test('non-finite numbers are refused', () => {
  assertBadSetting(() => validateSettingValue(SPECS, 'exposure_ms', Number.NaN), 'exposure_ms', /finite/, /got NaN/);
  assertBadSetting(() => validateSettingValue(SPECS, 'exposure_ms', Number.POSITIVE_INFINITY), 'exposure_ms', /finite/, /got Infinity/);
});

test('integer settings refuse fractions; others accept them', () => {
  assertBadSetting(() => validateSettingValue(SPECS, 'roi_x', 1.5), 'roi_x', /must be an integer/, /0\.\.100 px/, /got 1\.5/);
  assert.equal(validateSettingValue(SPECS, 'exposure_ms', 1.5), 1.5);
});

test('values that are not numbers are refused, describing what was given', () => {
  assertBadSetting(() => validateSettingValue(SPECS, 'roi_x', '12'), 'roi_x', /must be a number/, /got "12"/);
  assertBadSetting(() => validateSettingValue(SPECS, 'roi_x', null), 'roi_x', /got null/);
  assertBadSetting(() => validateSettingValue(SPECS, 'roi_x', 5n), 'roi_x', /got 5n/);
  assertBadSetting(() => validateSettingValue(SPECS, 'roi_x', [1]), 'roi_x', /got an array/);
});

test('defaults and range descriptions come from the specs', () => {
  assert.deepEqual(defaultSettingValues(SPECS), { exposure_ms: 10, roi_x: 0, level: 0 });
  assert.equal(describeRange(SPECS[0]!), '0.01..1000 ms');
  assert.equal(describeRange(SPECS[2]!), '-1..1');
});
