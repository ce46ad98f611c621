import { Dataset, Group, type File as H5File } from 'h5wasm/node';
import { ACQUISITION, ANALYSIS, PATHS, SETTINGS_JSON_ATTR, VALID_FRAMES_ATTR } from './hdf5-layout.js';
import { describeHdf5Error, openForReading, PIXEL_DTYPE_OF } from './h5wasm-runtime.js';
import type { PixelDtype } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';

/**
 * A recording's frames read one at a time (the web UI's recording viewer,
 * src/web/recording-files.ts): each read is one hyperslab of
 * /entry/data/frames (one frame, or a region of one), never the whole file.
 * A file still being written is read up to its `frames@valid_frames` (the
 * count its writer vouches for at every flush).
 */

/** Track points shown behind a spot, as the live overlay does (analysis.js TRACK_POINTS). */
export const TRACK_FRAMES = 60;

/** A whole frame in raw units: [h, w] or [h, w, c], little-endian row-major. */
export interface RecordedFrame {
  readonly shape: readonly number[];
  readonly dtype: PixelDtype;
  readonly pixels: Uint8Array;
}

/** One frame's place in the recording. */
export interface FrameInfo {
  /** Row in the file (0 .. frames-1). */
  readonly index: number;
  readonly frameId: number;
  readonly cameraTsNs: bigint;
  readonly wallTsNs: bigint;
}

/** A region of a frame in raw units: [h, w] or [h, w, c], little-endian row-major. */
export interface RawRegion {
  readonly x: number;
  readonly y: number;
  readonly shape: readonly number[];
  readonly dtype: PixelDtype;
  readonly pixels: Uint8Array;
}

/** Spots of one analysis on one frame, and the recent path of each tracked spot. */
export interface FrameSpots {
  readonly analysis: string;
  readonly x: number[];
  readonly y: number[];
  readonly sigma: number[] | null;
  readonly track: number[] | null;
  /** track id → points [frame_id, x, y] of the last TRACK_FRAMES frames up to this one. */
  readonly tracks: Record<string, [number, number, number][]>;
}

export interface FrameOverlay {
  readonly index: number;
  readonly frame_id: number;
  readonly spots: FrameSpots[];
  /** The simulator's ground truth of this frame; null when the file has none. */
  readonly truth: { readonly particle: number[]; readonly x: number[]; readonly y: number[] } | null;
}

/** A per-item table (spots, truth), read once per file version: small next to the frames. */
interface ItemTable {
  readonly frameId: Float64Array;
  readonly columns: Readonly<Record<string, Float64Array>>;
}

/** One open version of a recording file. */
export class RecordingFile {
  private ids: BigInt64Array | null = null;
  private cameraSettings: Readonly<Record<string, unknown>> | null = null;
  private readonly tables = new Map<string, ItemTable | null>();
  users = 0;
  lastUsedMs = Date.now();

  private constructor(
    readonly path: string,
    readonly mtimeMs: number,
    readonly size: number,
    private readonly file: H5File,
    private readonly frames: Dataset,
    /** Frames every part of the file vouches for (valid_frames, the dataset and frame_id lengths). */
    readonly frameCount: number,
    readonly frameShape: readonly number[],
    readonly dtype: PixelDtype,
    /** The writer finished it (end_reason written): it will not change, so it may stay open. */
    readonly finished: boolean,
  ) {}

  static async open(path: string, mtimeMs: number, size: number): Promise<RecordingFile> {
    const file = await openForReading(path);
    try {
      const frames = file.get(PATHS.frames);
      const ids = file.get(PATHS.frameId);
      if (!(frames instanceof Dataset) || !(ids instanceof Dataset))
        throw new LabcastError('FILE_FORMAT', `${path}: not a labcast recording`);
      const dtype = PIXEL_DTYPE_OF[frames.dtype as string];
      const shape = frames.shape;
      if (dtype === undefined || shape === null || shape.length < 3) {
        throw new LabcastError('FILE_FORMAT', `${path}: ${PATHS.frames} is not a stack of uint8 or uint16 frames`);
      }
      // As the inspector (and a crashed file's reader) does: the minimum of what every part says.
      const valid = VALID_FRAMES_ATTR in frames.attrs ? Number(frames.get_attribute(VALID_FRAMES_ATTR, false)) : Infinity;
      const frameCount = Math.max(0, Math.min(shape[0] ?? 0, ids.shape?.[0] ?? 0, valid));
      const finished = file.get(`${PATHS.acquisition}/${ACQUISITION.endReason}`) instanceof Dataset;
      return new RecordingFile(path, mtimeMs, size, file, frames, frameCount, shape.slice(1), dtype, finished);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  close(): void {
    this.file.close();
  }

  /** The camera's settings as recorded (bit_depth, bayer_pattern... say how to show the frames); {} if unreadable. */
  settings(): Readonly<Record<string, unknown>> {
    if (this.cameraSettings === null) {
      this.cameraSettings = {};
      const camera = this.file.get(PATHS.camera);
      if (camera instanceof Group && SETTINGS_JSON_ATTR in camera.attrs) {
        const text = camera.get_attribute(SETTINGS_JSON_ATTR, false);
        try {
          if (typeof text === 'string') this.cameraSettings = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // Shown with auto levels and no Bayer colour; the metadata panel says what the file holds.
        }
      }
    }
    return this.cameraSettings;
  }

  /** The pixel size in the sample plane (NeXus x_pixel_size, µm) when the file gives one: the scale bar's unit. */
  pixelSizeUm(): number | null {
    const found = this.optionalDataset(`${PATHS.camera}/x_pixel_size`);
    const value = found === null ? null : Number(found.value);
    return value !== null && Number.isFinite(value) && value > 0 ? value : null;
  }

  /** The file's frame ids (int64 [frames]), read once. */
  frameIds(): BigInt64Array {
    if (this.ids === null) this.ids = this.int64Rows(PATHS.frameId, 0, this.frameCount);
    return this.ids;
  }

  info(index: number): FrameInfo {
    this.checkIndex(index);
    const id = this.frameIds()[index]!;
    const camera = this.int64Rows(PATHS.cameraTimestamp, index, index + 1)[0] ?? 0n;
    const wall =
      this.optionalDataset(PATHS.wallTimestamp) === null ? camera : (this.int64Rows(PATHS.wallTimestamp, index, index + 1)[0] ?? 0n);
    return { index, frameId: Number(id), cameraTsNs: camera, wallTsNs: wall };
  }

  /** Frame `index`, read as one hyperslab. */
  frame(index: number): RecordedFrame {
    this.checkIndex(index);
    return { shape: this.frameShape, dtype: this.dtype, pixels: this.read([[index, index + 1]]) };
  }

  /** The region [y, y+h) × [x, x+w) of frame `index`, clipped to the frame; read as one hyperslab. */
  region(index: number, x: number, y: number, w: number, h: number): RawRegion {
    this.checkIndex(index);
    const [height = 0, width = 0, channels] = this.frameShape;
    const x0 = Math.min(Math.max(0, x), width);
    const y0 = Math.min(Math.max(0, y), height);
    const x1 = Math.min(width, Math.max(x0, x + w));
    const y1 = Math.min(height, Math.max(y0, y + h));
    if (x1 <= x0 || y1 <= y0) {
      throw new LabcastError('BAD_ARGUMENT', `the region x=${x} y=${y} w=${w} h=${h} is outside the ${width}×${height} frame`, 'x');
    }
    const pixels = this.read([
      [index, index + 1],
      [y0, y1],
      [x0, x1],
    ]);
    const shape = channels === undefined ? [y1 - y0, x1 - x0] : [y1 - y0, x1 - x0, channels];
    return { x: x0, y: y0, shape, dtype: this.dtype, pixels };
  }

  /** Spots (and tracks) of every spot analysis, and the ground truth, of frame `index`. */
  overlay(index: number): FrameOverlay {
    const { frameId } = this.info(index);
    const spots: FrameSpots[] = [];
    for (const name of this.analysisNames()) {
      const table = this.table(`${PATHS.analysis}/${name}/${ANALYSIS.spotsTable}`, ['x', 'y', 'sigma', 'track']);
      const x = table?.columns.x;
      const y = table?.columns.y;
      if (table === null || x === undefined || y === undefined) continue;
      const rows = rowsOf(table.frameId, frameId, frameId);
      const { sigma, track } = table.columns;
      const pick = (column: Float64Array): number[] => rows.map((row) => column[row]!);
      const tracks: Record<string, [number, number, number][]> = {};
      if (track !== undefined) {
        const wanted = new Set(rows.map((row) => track[row]!).filter((id) => Number.isFinite(id)));
        for (const row of rowsOf(table.frameId, frameId - TRACK_FRAMES, frameId)) {
          const id = track[row]!;
          if (!wanted.has(id)) continue;
          (tracks[String(id)] ??= []).push([table.frameId[row]!, x[row]!, y[row]!]);
        }
      }
      spots.push({
        analysis: name,
        x: pick(x),
        y: pick(y),
        sigma: sigma === undefined ? null : pick(sigma),
        track: track === undefined ? null : pick(track),
        tracks,
      });
    }
    const truthTable = this.table(PATHS.truth, ['particle', 'x', 'y']);
    let truth: FrameOverlay['truth'] = null;
    if (truthTable !== null) {
      const rows = rowsOf(truthTable.frameId, frameId, frameId);
      const column = (name: string): number[] => rows.map((row) => truthTable.columns[name]?.[row] ?? NaN);
      truth = { particle: column('particle'), x: column('x'), y: column('y') };
    }
    return { index, frame_id: frameId, spots, truth };
  }

  private analysisNames(): string[] {
    const group = this.file.get(PATHS.analysis);
    return group instanceof Group ? group.keys() : [];
  }

  /** frame_id and the named numeric columns of a per-item table (as float64); null when it has no frame_id. */
  private table(path: string, names: readonly string[]): ItemTable | null {
    if (this.tables.has(path)) return this.tables.get(path)!;
    const frameIds = this.optionalDataset(`${path}/frame_id`);
    let table: ItemTable | null = null;
    if (frameIds !== null) {
      const rows = frameIds.shape?.[0] ?? 0;
      const columns: Record<string, Float64Array> = {};
      for (const name of names) {
        const column = this.optionalDataset(`${path}/${name}`);
        if (column !== null && (column.shape?.[0] ?? 0) >= rows) columns[name] = toFloat64(column.slice([[0, rows]]));
      }
      table = { frameId: toFloat64(frameIds.slice([[0, rows]])), columns };
    }
    this.tables.set(path, table);
    return table;
  }

  private optionalDataset(path: string): Dataset | null {
    const found = this.file.get(path);
    return found instanceof Dataset ? found : null;
  }

  private int64Rows(path: string, from: number, to: number): BigInt64Array {
    const dataset = this.optionalDataset(path);
    if (dataset === null) throw new LabcastError('FILE_FORMAT', `${this.path}: no dataset ${path}`);
    if (to <= from) return new BigInt64Array(0);
    const values = dataset.slice([[from, to]]);
    if (!(values instanceof BigInt64Array)) throw new LabcastError('FILE_FORMAT', `${this.path}: ${path} is not int64`);
    return values;
  }

  private read(ranges: [number, number][]): Uint8Array {
    let data: unknown;
    try {
      data = this.frames.slice(ranges);
    } catch (error) {
      throw new LabcastError('FILE_FORMAT', `${this.path}: frame ${ranges[0]![0]} could not be read (${describeHdf5Error(error)})`);
    }
    if (!ArrayBuffer.isView(data)) throw new LabcastError('FILE_FORMAT', `${this.path}: frame ${ranges[0]![0]} could not be read`);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  private checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.frameCount) {
      throw new LabcastError(
        'BAD_ARGUMENT',
        this.frameCount === 0
          ? `${this.path} holds no frames yet`
          : `frame ${index} is not in the file: it holds frames 0 to ${this.frameCount - 1}`,
        'frame',
      );
    }
  }
}

function toFloat64(values: unknown): Float64Array {
  if (values instanceof Float64Array) return values;
  if (values instanceof BigInt64Array) return Float64Array.from(values, Number);
  if (ArrayBuffer.isView(values) && 'length' in values) return Float64Array.from(values as unknown as ArrayLike<number>);
  return new Float64Array(0);
}

/** Rows whose frame id is within [from, to]; ids are in increasing order (written frame by frame). */
function rowsOf(ids: Float64Array, from: number, to: number): number[] {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (ids[mid]! < from) low = mid + 1;
    else high = mid;
  }
  const rows: number[] = [];
  for (let row = low; row < ids.length && ids[row]! <= to; row++) rows.push(row);
  return rows;
}
