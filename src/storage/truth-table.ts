import type { FrameTruth } from '../protocol/messages.js';
import { ColumnTable } from './column-table.js';
import { float64, type Hdf5File } from './hdf5-backend.js';
import { PATHS, TRUTH_COLUMNS } from '../hdf5/hdf5-layout.js';

/**
 * The simulator's ground truth (frame header `truth`, pattern `particles`) as
 * a table with one row per (frame, particle): /entry/instrument/simulation/truth.
 * Rows are added with their frame and written at the same commit, so a
 * flushed or crashed file has truth rows for exactly the frames it holds.
 */
export class TruthTable {
  private readonly table: ColumnTable;
  private sigma: number | null = null;

  constructor() {
    this.table = new ColumnTable(PATHS.truth, (file) => this.create(file));
    const column = (columnName: keyof typeof TRUTH_COLUMNS, dtype: 'int64' | 'int32' | 'float64', units?: string): void =>
      this.table.ensureColumn(columnName, {
        dtype,
        rowShape: [],
        attrs: { long_name: TRUTH_COLUMNS[columnName], ...(units === undefined ? {} : { units }) },
      });
    column('frame_id', 'int64');
    column('particle', 'int32');
    column('x', 'float64', 'pixel');
    column('y', 'float64', 'pixel');
    column('amplitude', 'float64', 'DN');
    column('intensity', 'float64', 'DN*pixel');
  }

  get rows(): number {
    return this.table.rows;
  }

  /** The truth of frame `frameId`; ignored when its arrays disagree in length (the schema cannot say that). */
  add(frameId: number, truth: FrameTruth): void {
    const n = truth.x.length;
    if (truth.y.length !== n || truth.amplitude.length !== n || truth.intensity.length !== n) return;
    this.sigma ??= truth.sigma;
    const ids = new Array<number>(n).fill(frameId);
    const particles = Array.from({ length: n }, (_, i) => i);
    const columns: Record<string, ArrayLike<number>> = {
      frame_id: ids,
      particle: particles,
      x: truth.x,
      y: truth.y,
      amplitude: truth.amplitude,
      intensity: truth.intensity,
    };
    this.table.addRows(n, (column) => columns[column]);
  }

  commit(file: Hdf5File): void {
    this.table.commit(file);
  }

  private create(file: Hdf5File): void {
    file.createGroup(PATHS.simulation);
    file.setAttribute(PATHS.simulation, 'NX_class', 'NXcollection');
    file.createGroup(PATHS.truth);
    file.setAttribute(PATHS.truth, 'NX_class', 'NXcollection');
    file.setAttribute(
      PATHS.truth,
      'description',
      'ground truth of the simulated particles: one row per (frame, particle); ' +
        'x the column, y the row, in pixels of the frame (pixel centres at integers)',
    );
    file.setAttribute(PATHS.truth, 'sigma', float64(this.sigma ?? NaN));
  }
}
