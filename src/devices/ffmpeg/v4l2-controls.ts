import { LabcastError } from '../../protocol/errors.js';
import type { SettingSpec, SettingValue } from '../camera.js';
import { validateSettingValue } from '../settings.js';
import { lastLines, runTool } from './tools.js';

/**
 * V4L2 controls as camera settings, through `v4l2-ctl` (Debian v4l-utils):
 * `--list-ctrls-menus` gives each control's type, range, default and value;
 * `-c name=value` sets one. Every int, bool and menu control the device offers
 * becomes a setting of the same name, in the device's own units. One alias is
 * added for the setting every labcast camera shares: `exposure_ms`, over
 * exposure_time_absolute (units of 100 µs).
 */

export interface V4l2Control {
  readonly name: string;
  readonly type: string;
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly default: number;
  readonly value: number;
  readonly flags: readonly string[];
  /** Menu entries (index → label) for menu and intmenu controls. */
  readonly menu: ReadonlyMap<number, string>;
}

/** Control types that map to a numeric setting. */
const NUMERIC_TYPES = new Set(['int', 'int64', 'bool', 'menu', 'intmenu']);

/**
 * Parses `v4l2-ctl --list-ctrls-menus` (or `-l`/`-L`) output. Lines look like
 *   `   brightness 0x00980900 (int)    : min=-64 max=64 step=1 default=0 value=0 flags=inactive, has-min-max`
 * followed, for menus, by tab-indented `1: Manual Mode` lines. Section
 * headings (User Controls...), buttons, strings and unknown types are skipped.
 */
export function parseV4l2Controls(text: string): V4l2Control[] {
  const controls: V4l2Control[] = [];
  let current: { control: V4l2Control; menu: Map<number, string> } | null = null;
  for (const line of text.split('\n')) {
    const header = /^\s*([A-Za-z0-9_]+)\s+0x[0-9a-fA-F]+\s+\(([\w-]+)\)\s*:\s*(.*)$/.exec(line);
    if (header !== null) {
      current = null;
      const [, name = '', type = '', rest = ''] = header;
      if (!NUMERIC_TYPES.has(type)) continue;
      const fields = parseFields(rest);
      const value = fields.get('value');
      if (value === undefined) continue;
      const isBool = type === 'bool';
      const min = isBool ? 0 : fields.get('min');
      const max = isBool ? 1 : fields.get('max');
      if (min === undefined || max === undefined) continue;
      const menu = new Map<number, string>();
      const flagsText = /flags=(.*)$/.exec(rest)?.[1] ?? '';
      const control: V4l2Control = {
        name,
        type,
        min,
        max,
        step: fields.get('step') ?? 1,
        default: fields.get('default') ?? value,
        value,
        flags: flagsText.split(/[,\s]+/).filter((flag) => flag !== ''),
        menu,
      };
      controls.push(control);
      if (type === 'menu' || type === 'intmenu') current = { control, menu };
      continue;
    }
    const entry = /^\s+(-?\d+):\s*(.*?)\s*$/.exec(line);
    if (entry !== null && current !== null) {
      current.menu.set(Number(entry[1]), entry[2] ?? '');
      continue;
    }
    if (line.trim() !== '') current = null;
  }
  return controls;
}

function parseFields(rest: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const match of rest.matchAll(/(\w+)=(-?(?:0x[0-9a-fA-F]+|\d+))/g)) {
    fields.set(match[1] ?? '', Number(match[2]));
  }
  return fields;
}

/** Names a control has had across kernel versions. */
const EXPOSURE_CONTROLS = ['exposure_time_absolute', 'exposure_absolute'];
const AUTO_EXPOSURE_CONTROLS = ['auto_exposure', 'exposure_auto'];
/** V4L2_EXPOSURE_MANUAL. */
const MANUAL_EXPOSURE = 1;
export const EXPOSURE_ALIAS = 'exposure_ms';

function isWritable(control: V4l2Control): boolean {
  return !control.flags.includes('read-only') && !control.flags.includes('disabled');
}

function exposureControl(controls: readonly V4l2Control[]): V4l2Control | undefined {
  return controls.find((control) => EXPOSURE_CONTROLS.includes(control.name) && isWritable(control));
}

function autoExposureControl(controls: readonly V4l2Control[]): V4l2Control | undefined {
  return controls.find((control) => AUTO_EXPOSURE_CONTROLS.includes(control.name) && isWritable(control));
}

/** Settings for the writable numeric controls, plus exposure_ms when the device has an absolute exposure. */
export function v4l2SettingSpecs(controls: readonly V4l2Control[]): SettingSpec[] {
  const specs: SettingSpec[] = [];
  const exposure = exposureControl(controls);
  if (exposure !== undefined) {
    const manual = autoExposureControl(controls) === undefined ? '' : '; setting it switches auto exposure to manual';
    specs.push({
      name: EXPOSURE_ALIAS,
      description: `exposure time (V4L2 ${exposure.name}, in units of 100 µs)${manual}`,
      unit: 'ms',
      min: exposure.min / 10,
      max: exposure.max / 10,
      integer: false,
      default: exposure.default / 10,
      changeable_while_streaming: true,
    });
  }
  for (const control of controls) {
    if (!isWritable(control)) continue;
    specs.push({
      name: control.name,
      description: describeControl(control),
      unit: '',
      min: control.min,
      max: control.max,
      integer: true,
      default: control.default,
      // A "grabbed" control is locked while the device streams.
      changeable_while_streaming: !control.flags.includes('grabbed'),
    });
  }
  return specs;
}

function describeControl(control: V4l2Control): string {
  const notes: string[] = [`V4L2 ${control.type} control`];
  if (control.menu.size > 0) notes.push([...control.menu].map(([index, label]) => `${index} = ${label}`).join(', '));
  if (control.type === 'bool') notes.push('0 = off, 1 = on');
  if (control.step > 1) notes.push(`step ${control.step}`);
  if (control.flags.includes('inactive')) notes.push('inactive: has no effect in the current mode (e.g. while auto is on)');
  return notes.join('; ');
}

/** Current values, keyed as the specs. */
export function v4l2SettingValues(controls: readonly V4l2Control[]): Record<string, SettingValue> {
  const values: Record<string, SettingValue> = {};
  const exposure = exposureControl(controls);
  if (exposure !== undefined) values[EXPOSURE_ALIAS] = exposure.value / 10;
  for (const control of controls) if (isWritable(control)) values[control.name] = control.value;
  return values;
}

/**
 * The `v4l2-ctl -c` assignments that apply `name = value`, after checking it
 * against the specs (BAD_SETTING names the range). Menu values must be one of
 * the menu's entries; steps are honoured; exposure_ms switches auto exposure
 * to manual first, because the device ignores a manual exposure otherwise.
 */
export function v4l2Assignments(controls: readonly V4l2Control[], name: string, value: unknown): [string, number][] {
  const specs = v4l2SettingSpecs(controls);
  const checked = validateSettingValue(specs, name, value);
  if (name === EXPOSURE_ALIAS) {
    const exposure = exposureControl(controls);
    if (exposure === undefined) throw new LabcastError('BAD_SETTING', `unknown setting "${name}"`, name);
    const units = Math.min(exposure.max, Math.max(exposure.min, Math.round(checked * 10)));
    const auto = autoExposureControl(controls);
    const assignments: [string, number][] = [];
    if (auto !== undefined && auto.value !== MANUAL_EXPOSURE && (auto.menu.size === 0 || auto.menu.has(MANUAL_EXPOSURE))) {
      assignments.push([auto.name, MANUAL_EXPOSURE]);
    }
    assignments.push([exposure.name, units]);
    return assignments;
  }
  const control = controls.find((candidate) => candidate.name === name);
  if (control === undefined) throw new LabcastError('BAD_SETTING', `unknown setting "${name}"`, name);
  if (control.menu.size > 0 && !control.menu.has(checked)) {
    const entries = [...control.menu].map(([index, label]) => `${index} (${label})`).join(', ');
    throw new LabcastError('BAD_SETTING', `setting "${name}" must be one of ${entries}, got ${checked}`, name);
  }
  if (control.step > 1 && (checked - control.min) % control.step !== 0) {
    throw new LabcastError(
      'BAD_SETTING',
      `setting "${name}" must be ${control.min} plus a multiple of ${control.step}, got ${checked}`,
      name,
    );
  }
  return [[name, checked]];
}

export type V4l2CtlRunner = (args: readonly string[]) => Promise<string>;

/** Runs the real v4l2-ctl; errors name the device and v4l2-ctl's message. */
export function v4l2CtlRunner(device: string, binary = 'v4l2-ctl'): V4l2CtlRunner {
  return async (args) => {
    const result = await runTool('v4l2-ctl', binary, ['-d', device, ...args], 10_000);
    if (result.code !== 0) {
      throw new LabcastError(
        'CAMERA_UNAVAILABLE',
        `v4l2-ctl -d ${device} ${args.join(' ')} failed: ${lastLines(result.stderr || result.stdout, 2)}`,
      );
    }
    return result.stdout;
  };
}

/** A device's controls, kept current after every change. */
export class V4l2Controls {
  private controls: V4l2Control[] = [];

  constructor(private readonly run: V4l2CtlRunner) {}

  async refresh(): Promise<void> {
    this.controls = parseV4l2Controls(await this.run(['--list-ctrls-menus']));
  }

  specs(): SettingSpec[] {
    return v4l2SettingSpecs(this.controls);
  }

  values(): Record<string, SettingValue> {
    return v4l2SettingValues(this.controls);
  }

  async set(name: string, value: SettingValue): Promise<void> {
    const assignments = v4l2Assignments(this.controls, name, value);
    try {
      // One control per call: some UVC drivers refuse auto_exposure and the exposure in one request.
      for (const [control, setting] of assignments) await this.run(['-c', `${control}=${setting}`]);
    } catch (error) {
      if (error instanceof LabcastError && error.code === 'CAMERA_UNAVAILABLE') {
        throw new LabcastError('BAD_SETTING', `the camera refused ${name} = ${value}: ${error.message}`, name);
      }
      throw error;
    } finally {
      // Ranges and inactive flags can follow other controls (auto exposure...).
      await this.refresh().catch(() => undefined);
    }
  }
}
