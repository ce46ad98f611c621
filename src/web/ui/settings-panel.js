// @ts-check
// The camera's settings, built from the camera's own setting specs: one row per setting with
// its range, entries, unit and access, so any camera (the simulator, a GenICam node map) shows
// every setting without changes here. A refused value goes back to the camera's, with the error.

import { command, messageOf } from './api.js';

/** @typedef {import('./api.js').SettingSpec} SettingSpec */
/** @typedef {number | string | boolean} SettingValue */
/** @typedef {Readonly<Record<string, SettingValue>>} SettingValues */

/** labcast's common names, shown first; the rest of a camera's settings (its node map) follow. */
const COMMON = ['exposure_ms', 'gain', 'brightness', 'fps', 'binning', 'roi_x', 'roi_y', 'roi_width', 'roi_height'];
/** Typing in a number field sets the value once the typing pauses this long (Enter or leaving the field: at once). */
const TYPING_PAUSE_MS = 400;
/** With more settings than this, a filter field shows above them. */
const FILTER_FROM = 12;
/** Beyond this span a number has no useful slider (GenICam features without real bounds report ±max). */
const MAX_FINITE = 1e12;

/**
 * @typedef {object} SettingRow
 * @property {SettingSpec} spec
 * @property {HTMLElement} element
 * @property {HTMLInputElement | HTMLSelectElement} input
 * @property {HTMLElement} error
 */

export class SettingsPanel {
  /**
   * @param {HTMLElement} list where the rows go
   * @param {(text: string, isError?: boolean) => void} say
   * @param {HTMLInputElement} filter narrows a long list (a GenICam node map) by name or description
   */
  constructor(list, say, filter) {
    this.list = list;
    this.filter = filter;
    this.say = say;
    /** @type {Map<string, SettingRow>} */
    this.rows = new Map();
    /** @type {SettingValues} */
    this.values = {};
    /** The experiment's state: settings that change the frame shape wait for idle. */
    this.state = 'unknown';
    /** False while the server is unreachable: nothing can be set. */
    this.connected = true;
    /** Settings with a change in flight: status updates leave their field alone meanwhile. @type {Set<string>} */
    this.busy = new Set();
    /** @type {Map<string, ReturnType<typeof setTimeout>>} */
    this.typing = new Map();
    filter.addEventListener('input', () => this.applyFilter());
  }

  /** Reads every spec and value from the server and builds the rows. */
  async load() {
    const result = await command({ cmd: 'settings' });
    this.setSpecs(result.specs, result.settings);
  }

  /**
   * Rows for `specs` (rebuilt when the set of settings changes; ranges updated in place).
   * @param {readonly SettingSpec[]} specs
   * @param {SettingValues} values
   */
  setSpecs(specs, values) {
    const names = specs.map((spec) => spec.name);
    const same = names.length === this.rows.size && names.every((name) => this.rows.has(name));
    if (!same) {
      this.list.replaceChildren();
      this.rows.clear();
      const ordered = [...specs].sort((a, b) => rank(a.name) - rank(b.name));
      for (const spec of ordered) this.addRow(spec);
    } else {
      for (const spec of specs) {
        const row = /** @type {SettingRow} */ (this.rows.get(spec.name));
        row.spec = spec;
        applyRange(row.input, spec);
      }
    }
    this.filter.hidden = this.rows.size <= FILTER_FROM;
    this.applyFilter();
    this.showValues(values);
  }

  /**
   * The camera's current values, into every field not being changed at this moment.
   * @param {SettingValues} values
   */
  showValues(values) {
    this.values = values;
    for (const [name, row] of this.rows) {
      if (!(name in values) || this.busy.has(name) || this.typing.has(name)) continue;
      if (document.activeElement === row.input && row.input instanceof HTMLInputElement && row.input.type === 'number') continue;
      showValue(row.input, values[name]);
    }
    this.updateEnabled();
  }

  applyFilter() {
    const words = this.filter.value.trim().toLowerCase();
    for (const row of this.rows.values()) {
      const text = `${row.spec.name} ${row.spec.description}`.toLowerCase();
      row.element.hidden = words !== '' && !text.includes(words);
    }
  }

  /**
   * @param {string} state
   * @param {boolean} connected
   */
  setState(state, connected) {
    this.state = state;
    this.connected = connected;
    this.updateEnabled();
  }

  updateEnabled() {
    for (const row of this.rows.values()) {
      const { spec } = row;
      const readOnly = spec.access === 'RO';
      const locked = !spec.changeable_while_streaming && this.state !== 'idle';
      row.input.disabled = readOnly || !this.connected || locked || this.busy.has(spec.name) || this.state === 'unknown';
      row.element.dataset.locked = String(locked && !readOnly);
    }
  }

  /** @param {SettingSpec} spec */
  addRow(spec) {
    const element = document.createElement('div');
    element.className = 'setting-row';
    element.dataset.setting = spec.name;
    const id = `setting-${spec.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = spec.name;
    label.title = spec.description;
    const input = inputFor(spec);
    input.id = id;
    input.title = describe(spec);
    const unit = document.createElement('span');
    unit.className = 'unit';
    unit.textContent = spec.access === 'RO' ? `${spec.unit} (read-only)`.trim() : spec.unit;
    const error = document.createElement('span');
    error.className = 'setting-error';
    error.setAttribute('role', 'alert');
    element.append(label, input, unit, error);
    if (spec.access === 'RO') element.dataset.readonly = 'true';
    this.list.append(element);
    /** @type {SettingRow} */
    const row = { spec, element, input, error };
    this.rows.set(spec.name, row);
    if (input instanceof HTMLInputElement && input.type === 'number') {
      input.addEventListener('input', () => this.typed(spec.name));
      input.addEventListener('change', () => this.commit(spec.name));
    } else {
      input.addEventListener('change', () => void this.set(spec.name));
    }
  }

  /** @param {string} name */
  typed(name) {
    clearTimeout(this.typing.get(name));
    this.typing.set(
      name,
      setTimeout(() => this.commit(name), TYPING_PAUSE_MS),
    );
  }

  /** @param {string} name */
  commit(name) {
    clearTimeout(this.typing.get(name));
    this.typing.delete(name);
    void this.set(name);
  }

  /**
   * Sends the field's value; on refusal the field goes back to the camera's value and the
   * error is shown beside it (and in the command message).
   * @param {string} name
   */
  async set(name) {
    const row = this.rows.get(name);
    if (row === undefined) return;
    const value = valueOf(row.input, row.spec);
    if (value === null || value === this.values[name]) return;
    this.busy.add(name);
    row.error.textContent = '';
    try {
      const result = await command({ cmd: 'set', name, value });
      this.busy.delete(name);
      this.setSpecs(result.specs, result.settings);
    } catch (error) {
      this.busy.delete(name);
      const message = messageOf(error);
      row.error.textContent = message;
      this.say(message, true);
      // The camera keeps its value: show that, not what was refused.
      if (name in this.values) showValue(row.input, this.values[name]);
      this.updateEnabled();
    }
  }
}

/** @param {string} name */
function rank(name) {
  const index = COMMON.indexOf(name);
  return index === -1 ? COMMON.length : index;
}

/** @param {SettingSpec} spec */
function describe(spec) {
  const kind = kindOf(spec);
  const range =
    kind === 'number' && Math.abs(spec.min) < MAX_FINITE && Math.abs(spec.max) < MAX_FINITE
      ? ` (${spec.min} – ${spec.max} ${spec.unit})`
      : '';
  const access = spec.access === 'RO' ? ' — read-only' : spec.changeable_while_streaming ? '' : ' — changes the frame: only while idle';
  return `${spec.description}${range}${access}`;
}

/** @param {SettingSpec} spec @returns {'number' | 'enumeration' | 'boolean' | 'string'} */
function kindOf(spec) {
  if (spec.type === 'enumeration' || spec.entries !== undefined) return 'enumeration';
  if (spec.type === 'boolean' || typeof spec.default === 'boolean') return 'boolean';
  if (spec.type === 'string' || typeof spec.default === 'string') return 'string';
  return 'number';
}

/**
 * @param {SettingSpec} spec
 * @returns {HTMLInputElement | HTMLSelectElement}
 */
function inputFor(spec) {
  const kind = kindOf(spec);
  if (kind === 'enumeration') {
    const select = document.createElement('select');
    for (const entry of spec.entries ?? []) select.add(new Option(entry, entry));
    return select;
  }
  const input = document.createElement('input');
  if (kind === 'boolean') input.type = 'checkbox';
  else if (kind === 'string') input.type = 'text';
  else {
    input.type = 'number';
    input.inputMode = spec.integer ? 'numeric' : 'decimal';
    applyRange(input, spec);
  }
  return input;
}

/**
 * @param {HTMLInputElement | HTMLSelectElement} input
 * @param {SettingSpec} spec
 */
function applyRange(input, spec) {
  if (!(input instanceof HTMLInputElement) || input.type !== 'number') return;
  input.min = Math.abs(spec.min) < MAX_FINITE ? String(spec.min) : '';
  input.max = Math.abs(spec.max) < MAX_FINITE ? String(spec.max) : '';
  input.step = spec.increment !== undefined && spec.increment > 0 ? String(spec.increment) : spec.integer ? '1' : 'any';
  input.title = describe(spec);
}

/**
 * @param {HTMLInputElement | HTMLSelectElement} input
 * @param {SettingValue | undefined} value
 */
function showValue(input, value) {
  if (value === undefined) return;
  if (input instanceof HTMLInputElement && input.type === 'checkbox') input.checked = value === true;
  else input.value = String(value);
}

/**
 * The field's value as the setting takes it; null when it is not one (an empty number field).
 * @param {HTMLInputElement | HTMLSelectElement} input
 * @param {SettingSpec} spec
 * @returns {SettingValue | null}
 */
function valueOf(input, spec) {
  if (input instanceof HTMLSelectElement) return input.value;
  if (input.type === 'checkbox') return input.checked;
  if (input.type === 'text') return input.value;
  if (input.value.trim() === '') return null;
  const number = Number(input.value);
  return Number.isFinite(number) ? (spec.integer ? Math.round(number) : number) : null;
}
