import type { AnalysisResult, ResultArray, ResultArrayDtype } from '../protocol/analysis.js';
import { stringifyWithNs } from '../protocol/json-ns.js';
import { ColumnTable } from './column-table.js';
import { int64, type Hdf5File, type NumericDtype } from './hdf5-backend.js';
import { ANALYSIS, PATHS } from '../hdf5/hdf5-layout.js';

/**
 * Analysis results of one run, stored under /entry/analysis/NAME aligned to
 * frame_id (docs/hdf5-layout.md#analysis-results):
 *
 *  - per result (one row per analysed frame): `frame_id`, one dataset per
 *    numeric scalar field of the body, [rows, L] for a numeric array of fixed
 *    length L (a histogram);
 *  - per item (one row per spot...): the table `spots` (localize) or `items`
 *    with `frame_id` and one column per numeric array of `count` entries (a
 *    body field) or per 1-D typed-array part;
 *  - everything else of a result (nested objects, strings, booleans, arrays
 *    of another length) as JSON in `result_json`, one row per result.
 *
 * Rows are written at each commit (the recording's flush); result_json and
 * the attributes at finish. A failure to write one analysis's results is
 * counted and that analysis is written no further; it never touches frames.
 */

/** Most characters of result_json kept in memory for the whole run; beyond, rows are left empty and counted. */
const MAX_RESULT_JSON_CHARS = 32 * 1024 * 1024;

/** What the saver's subscription saw, stored as attributes of /entry/analysis. */
export interface ResultsReceipt {
  /** Well-formed results received (any run). */
  readonly received: number;
  /** Results of other runs (or of no run being saved). */
  readonly otherRun: number;
  /** Messages on the results endpoint that were not valid results: counted and skipped. */
  readonly malformed: number;
  readonly lastMalformed: string | null;
  /** How long the file waited for late results after the run end, ms. */
  readonly graceMs: number;
}

export interface ResultsAccount {
  /** Results stored, per analysis. */
  readonly stored: Readonly<Record<string, number>>;
  /** Results that could not be written (the analysis's group was given up). */
  readonly writeErrors: number;
  readonly lastError: string | null;
  /** result_json rows left empty because the run's results JSON exceeded the memory bound. */
  readonly jsonDropped: number;
}

const NUMERIC_OF_RESULT: Record<ResultArrayDtype, NumericDtype> = {
  uint8: 'uint8',
  int8: 'int8',
  uint16: 'uint16',
  // The HDF5 backends have no int16: widened, exactly.
  int16: 'int32',
  uint32: 'uint32',
  int32: 'int32',
  float32: 'float32',
  float64: 'float64',
};

type Values = ArrayLike<number | null>;

function isNumericArray(value: unknown): value is Array<number | null> {
  return Array.isArray(value) && value.every((v) => v === null || typeof v === 'number');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** HDF5 names hold no '/'; NeXus names are word characters. */
function columnName(key: string, reserved: ReadonlySet<string>): string {
  let name = key.replace(/\W/g, '_');
  if (name === '') name = '_';
  return reserved.has(name) ? `field_${name}` : name;
}

class AnalysisGroup {
  readonly path: string;
  readonly perResult: ColumnTable;
  readonly items: ColumnTable;
  readonly itemsName: string;
  private readonly reserved: ReadonlySet<string>;
  readonly json: string[] = [];
  private jsonHasContent = false;
  broken = false;
  stored = 0;

  constructor(
    readonly name: string,
    readonly kind: string,
    readonly optionsJson: string | null,
    private readonly store: AnalysisResultsStore,
  ) {
    this.path = `${PATHS.analysis}/${name}`;
    this.itemsName = kind === 'localize' ? ANALYSIS.spotsTable : ANALYSIS.itemsTable;
    this.reserved = new Set([ANALYSIS.frameId, ANALYSIS.resultJson, this.itemsName]);
    this.perResult = new ColumnTable(this.path, (file) => this.create(file));
    this.perResult.ensureColumn(ANALYSIS.frameId, {
      dtype: 'int64',
      rowShape: [],
      attrs: { long_name: 'the frame this result is of (= /entry/data/frame_id = the result header seq)' },
    });
    this.items = new ColumnTable(`${this.path}/${this.itemsName}`, (file) => {
      file.createGroup(`${this.path}/${this.itemsName}`);
      file.setAttribute(`${this.path}/${this.itemsName}`, 'NX_class', 'NXcollection');
      file.setAttribute(
        `${this.path}/${this.itemsName}`,
        'description',
        'one row per item (spot) of every result, with the frame_id of its result',
      );
    });
    this.items.ensureColumn(ANALYSIS.frameId, {
      dtype: 'int64',
      rowShape: [],
      attrs: { long_name: 'the frame of the result this item is part of' },
    });
  }

  add(result: AnalysisResult): void {
    const body: Record<string, unknown> = isPlainObject(result.body) ? result.body : { value: result.body };
    const count = typeof body.count === 'number' && Number.isSafeInteger(body.count) && body.count >= 0 ? body.count : null;
    const scalars = new Map<string, Values>();
    const itemColumns = new Map<string, Values>();
    const leftover: Record<string, unknown> = {};
    const used = new Set<string>();
    let itemCount = count;

    for (const [key, value] of Object.entries(body)) {
      const column = columnName(key, this.reserved);
      if (used.has(column)) {
        leftover[key] = value;
        continue;
      }
      if (typeof value === 'number') {
        if (this.fits(this.perResult, column, [])) {
          this.perResult.ensureColumn(column, { dtype: 'float64', rowShape: [] });
          scalars.set(column, [value]);
          used.add(column);
          continue;
        }
      } else if (isNumericArray(value)) {
        if (count !== null && value.length === count) {
          if (this.fits(this.items, column, [], 'float64')) {
            this.items.ensureColumn(column, { dtype: 'float64', rowShape: [] });
            itemColumns.set(column, value);
            used.add(column);
            continue;
          }
        } else if (value.length > 0 && this.fits(this.perResult, column, [value.length])) {
          this.perResult.ensureColumn(column, { dtype: 'float64', rowShape: [value.length] });
          scalars.set(column, value);
          used.add(column);
          continue;
        }
      }
      leftover[key] = value;
    }

    for (const [key, array] of Object.entries(result.arrays)) {
      const column = columnName(key, this.reserved);
      const descriptor = result.header.arrays?.find((d) => d.name === key);
      const oneDimensional = descriptor === undefined || descriptor.shape.length <= 1;
      itemCount ??= array.length;
      const dtype = NUMERIC_OF_RESULT[descriptor?.dtype ?? dtypeOf(array)];
      if (oneDimensional && !used.has(column) && array.length === itemCount && this.fits(this.items, column, [])) {
        this.items.ensureColumn(column, { dtype, rowShape: [] });
        itemColumns.set(column, array);
        used.add(column);
      } else {
        leftover[key] = { dtype: descriptor?.dtype, shape: descriptor?.shape ?? [array.length], values: Array.from(array) };
      }
    }

    const frameId = result.header.seq;
    scalars.set(ANALYSIS.frameId, [frameId]);
    this.perResult.addRows(1, (column) => scalars.get(column));
    const items = itemColumns.size > 0 ? (itemCount ?? 0) : 0;
    if (items > 0) {
      itemColumns.set(ANALYSIS.frameId, new Array<number>(items).fill(frameId));
      this.items.addRows(items, (column) => itemColumns.get(column));
    }
    const keys = Object.keys(leftover);
    if (keys.length > 0) this.jsonHasContent = true;
    this.json.push(keys.length === 0 ? '{}' : this.store.keepJson(stringifyWithNs(leftover)));
    this.stored += 1;
  }

  /** Whether a column `name` of this row shape (and dtype, if given) can take the value: new, or of the same shape. */
  private fits(table: ColumnTable, name: string, rowShape: readonly number[], dtype?: NumericDtype): boolean {
    const existing = table.column(name);
    if (existing === undefined) return true;
    if (dtype !== undefined && existing.dtype !== dtype && existing.dtype !== 'float64') return false;
    return existing.rowShape.length === rowShape.length && existing.rowShape.every((n, i) => n === rowShape[i]);
  }

  commit(file: Hdf5File): void {
    this.perResult.commit(file);
    this.items.commit(file);
  }

  finish(file: Hdf5File): void {
    if (this.perResult.rows === 0) return;
    file.setAttribute(this.path, 'frames_analysed', int64(this.perResult.rows));
    if (this.items.rows > 0) file.setAttribute(`${this.path}/${this.itemsName}`, 'items', int64(this.items.rows));
    if (this.jsonHasContent) {
      const path = `${this.path}/${ANALYSIS.resultJson}`;
      file.createDataset(path, this.json);
      file.setAttribute(
        path,
        'long_name',
        'the fields of each result stored in no other dataset, as JSON; one row per result, as frame_id',
      );
    }
  }

  private create(file: Hdf5File): void {
    this.store.ensureRoot(file);
    file.createGroup(this.path);
    file.setAttribute(this.path, 'NX_class', 'NXcollection');
    file.setAttribute(this.path, 'name', this.name);
    file.setAttribute(this.path, 'kind', this.kind);
    if (this.optionsJson !== null) file.setAttribute(this.path, 'options_json', this.optionsJson);
  }
}

function dtypeOf(array: ResultArray): ResultArrayDtype {
  if (array instanceof Float64Array) return 'float64';
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Uint32Array) return 'uint32';
  if (array instanceof Int16Array) return 'int16';
  if (array instanceof Uint16Array) return 'uint16';
  if (array instanceof Int8Array) return 'int8';
  return 'uint8';
}

export class AnalysisResultsStore {
  private readonly groups = new Map<string, AnalysisGroup>();
  private rootCreated = false;
  private writeErrors = 0;
  private lastError: string | null = null;
  private jsonChars = 0;
  private jsonDropped = 0;

  constructor(
    /** The run's configuration (run-start `config`): where the analyses' options are found. */
    private readonly config: unknown,
  ) {}

  /** Buffers one result of the run being saved (the caller checks the run id); written at the next commit. */
  add(result: AnalysisResult): void {
    const name = result.header.name;
    let group = this.groups.get(name);
    if (group === undefined) {
      const kind = result.header.kind ?? 'unknown';
      group = new AnalysisGroup(name, kind, this.optionsJson(name, kind), this);
      this.groups.set(name, group);
    }
    if (group.broken) return;
    try {
      group.add(result);
    } catch (error) {
      this.fail(group, error);
    }
  }

  /** Writes what was added since the last commit; never throws. */
  commit(file: Hdf5File): void {
    for (const group of this.groups.values()) {
      if (group.broken) continue;
      try {
        group.commit(file);
      } catch (error) {
        this.fail(group, error);
      }
    }
  }

  /** The last rows, result_json and the attributes; never throws. */
  finish(file: Hdf5File, receipt: ResultsReceipt | null): void {
    this.commit(file);
    for (const group of this.groups.values()) {
      if (group.broken) continue;
      try {
        group.finish(file);
      } catch (error) {
        this.fail(group, error);
      }
    }
    if (receipt === null) return;
    try {
      this.ensureRoot(file);
      const counts: Record<string, number> = {
        results_received: receipt.received,
        results_stored: Object.values(this.account.stored).reduce((a, b) => a + b, 0),
        results_other_run: receipt.otherRun,
        results_malformed: receipt.malformed,
        results_write_errors: this.writeErrors,
        results_json_dropped: this.jsonDropped,
        results_grace_ms: receipt.graceMs,
      };
      for (const [name, value] of Object.entries(counts)) file.setAttribute(PATHS.analysis, name, int64(value));
      if (receipt.lastMalformed !== null) file.setAttribute(PATHS.analysis, 'last_malformed', receipt.lastMalformed);
      if (this.lastError !== null) file.setAttribute(PATHS.analysis, 'last_write_error', this.lastError);
    } catch (error) {
      this.writeErrors += 1;
      this.lastError = `/entry/analysis: ${(error as Error).message}`;
    }
  }

  get account(): ResultsAccount {
    const stored: Record<string, number> = {};
    for (const [name, group] of this.groups) stored[name] = group.stored;
    return { stored, writeErrors: this.writeErrors, lastError: this.lastError, jsonDropped: this.jsonDropped };
  }

  ensureRoot(file: Hdf5File): void {
    if (this.rootCreated) return;
    file.createGroup(PATHS.analysis);
    file.setAttribute(PATHS.analysis, 'NX_class', 'NXcollection');
    file.setAttribute(
      PATHS.analysis,
      'description',
      'analysis results received while recording, one group per analysis, aligned to /entry/data/frame_id; ' +
        'lossy: an analysis skips frames under load',
    );
    this.rootCreated = true;
  }

  keepJson(text: string): string {
    if (this.jsonChars + text.length > MAX_RESULT_JSON_CHARS) {
      this.jsonDropped += 1;
      return '';
    }
    this.jsonChars += text.length;
    return text;
  }

  private fail(group: AnalysisGroup, error: unknown): void {
    group.broken = true;
    this.writeErrors += 1;
    this.lastError = `${group.path}: ${error instanceof Error ? error.message : String(error)}`;
  }

  /** The analysis's options as configured for the run ("{}": a built-in one with its defaults); null when unknown. */
  private optionsJson(name: string, kind: string): string | null {
    const analyses = isPlainObject(this.config) && isPlainObject(this.config.analysis) ? this.config.analysis : null;
    const entry = analyses?.[name];
    if (isPlainObject(entry)) return JSON.stringify(entry.options ?? {});
    if (analyses !== null && (name === 'stats' || name === 'localize') && kind === name) return '{}';
    return null;
  }
}
