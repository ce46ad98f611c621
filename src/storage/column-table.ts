import { NUMERIC_ARRAY_TYPES, product, type ExtendibleDataset, type Hdf5File, type NumericDtype } from './hdf5-backend.js';

/**
 * A table stored as one extendible chunked dataset per column, all of the same
 * length (NeXus-style: a group of aligned 1-D datasets; a column may have a
 * fixed row shape, e.g. a histogram, making it [rows, bins]).
 *
 * Rows are collected in memory and written at commit(), one resize and one
 * block write per column: the recording's flush, so a flushed file holds
 * every row added before it and nothing more. A column may appear after the
 * first rows (a field a result did not have before): its earlier rows, and
 * any row that leaves it out, hold the fill value (NaN for floats, 0 for
 * integers).
 */

/** Rows per chunk of 1-D columns (8 KiB of float64): small tables stay small, long ones cheap to append. */
const CHUNK_ROWS_1D = 1024;
/** About this many bytes per chunk of a column with a row shape (e.g. a histogram). */
const CHUNK_BYTES_ND = 64 * 1024;

export interface ColumnSpec {
  readonly dtype: NumericDtype;
  /** [] for a scalar per row; [bins] for a histogram. */
  readonly rowShape: readonly number[];
  /** Attributes of the column's dataset (e.g. long_name, units). */
  readonly attrs?: Readonly<Record<string, string>>;
}

type Pending = number[] | bigint[];

class Column {
  dataset: ExtendibleDataset | null = null;
  readonly rowLength: number;
  /** Values of rows [committed, committed + pending rows), flattened. */
  pending: Pending = [];

  constructor(
    readonly path: string,
    readonly spec: ColumnSpec,
  ) {
    this.rowLength = product(spec.rowShape);
  }

  get isBig(): boolean {
    return this.spec.dtype === 'int64' || this.spec.dtype === 'uint64';
  }

  get fill(): number | bigint {
    if (this.isBig) return 0n;
    return this.spec.dtype === 'float32' || this.spec.dtype === 'float64' ? NaN : 0;
  }

  pushFill(rows: number): void {
    const fill = this.fill;
    const count = rows * this.rowLength;
    for (let i = 0; i < count; i++) (this.pending as Array<number | bigint>).push(fill);
  }

  pushValues(values: ArrayLike<number | bigint | null>): void {
    const pending = this.pending as Array<number | bigint>;
    if (this.isBig) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        pending.push(typeof v === 'bigint' ? v : typeof v === 'number' && Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n);
      }
    } else {
      const fill = this.fill as number;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        pending.push(typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : fill);
      }
    }
  }
}

export class ColumnTable {
  private readonly columns = new Map<string, Column>();
  /** Rows in the file (as of the last commit). */
  private committed = 0;
  /** Rows added since. */
  private pendingRows = 0;
  /** Whether the group has been created in the file. */
  private created = false;

  constructor(
    /** The table's group, e.g. /entry/instrument/simulation/truth. */
    readonly group: string,
    /** Called when the group is created (first commit with rows): its attributes, parent groups. */
    private readonly onCreate: (file: Hdf5File) => void = () => undefined,
  ) {}

  get rows(): number {
    return this.committed + this.pendingRows;
  }

  /** The column's spec, if it exists. */
  column(name: string): ColumnSpec | undefined {
    return this.columns.get(name)?.spec;
  }

  /** Declares a column (idempotent); rows added before it get the fill value. */
  ensureColumn(name: string, spec: ColumnSpec): void {
    if (this.columns.has(name)) return;
    const column = new Column(`${this.group}/${name}`, spec);
    column.pushFill(this.pendingRows);
    this.columns.set(name, column);
  }

  /**
   * Adds `count` rows: `values(name)` gives each column's values for them
   * (count × row length, flattened), or undefined for the fill value.
   */
  addRows(count: number, values: (name: string) => ArrayLike<number | bigint | null> | undefined): void {
    if (count <= 0) return;
    for (const [name, column] of this.columns) {
      const given = values(name);
      if (given === undefined || given.length !== count * column.rowLength) column.pushFill(count);
      else column.pushValues(given);
    }
    this.pendingRows += count;
  }

  /** Writes the rows added since the last commit. Throws what HDF5 throws. */
  commit(file: Hdf5File): void {
    if (this.pendingRows === 0) return;
    if (!this.created) {
      this.onCreate(file);
      this.created = true;
    }
    const total = this.committed + this.pendingRows;
    for (const column of this.columns.values()) {
      let firstRow = this.committed;
      let values: Pending = column.pending;
      if (column.dataset === null) {
        column.dataset = file.createExtendible(column.path, {
          dtype: column.spec.dtype,
          rowShape: column.spec.rowShape,
          chunkRows: chunkRows(column),
        });
        for (const [attr, value] of Object.entries(column.spec.attrs ?? {})) file.setAttribute(column.path, attr, value);
        if (this.committed > 0) {
          // Rows committed before this column existed: the fill value.
          const before = new Column(column.path, column.spec);
          before.pushFill(this.committed);
          values = [...(before.pending as Array<number | bigint>), ...(column.pending as Array<number | bigint>)] as Pending;
          firstRow = 0;
        }
      }
      column.dataset.resize(total);
      column.dataset.writeRows(firstRow, NUMERIC_ARRAY_TYPES[column.spec.dtype].from(values));
    }
    for (const column of this.columns.values()) column.pending = [];
    this.committed = total;
    this.pendingRows = 0;
  }
}

function chunkRows(column: Column): number {
  if (column.rowLength === 1) return CHUNK_ROWS_1D;
  const rowBytes = column.rowLength * 8;
  return Math.max(1, Math.min(CHUNK_ROWS_1D, Math.floor(CHUNK_BYTES_ND / rowBytes)));
}
