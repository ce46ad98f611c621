import fs from 'node:fs';
import { parseWriterIdentity, writerLiveness, type WriterLiveness } from './writer-identity.js';
import { runTiming } from './run-timing.js';
import { Dataset, Group, type File as H5File } from 'h5wasm/node';
import type { PixelDtype } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';
import { parseWithNs } from '../protocol/json-ns.js';
import { CODEC_FILTER_IDS } from '../protocol/compression.js';
import { gapsInIds, type FrameGap } from './frame-gaps.js';
import { openForReading, PIXEL_DTYPE_OF } from './h5wasm-runtime.js';
import {
  ACQUISITION,
  ANALYSIS,
  COMPRESSION_ATTRS,
  ENTRY_ATTRS,
  LAYOUT_CREATOR,
  PATHS,
  SETTINGS_JSON_ATTR,
  UNKNOWN_COUNT,
  VALID_FRAMES_ATTR,
} from './hdf5-layout.js';

export interface RecordingSummary {
  readonly path: string;
  readonly fileBytes: number;
  /** False when the writer never finished the file (crash, kill): counts are those of its last flush. */
  readonly finished: boolean;
  /** For an unfinished file: whether its writer is still at work (writer-identity.ts); null when finished. */
  readonly writer: WriterLiveness | null;
  readonly frameCount: number;
  /** Shape of one frame: [height, width] or [height, width, channels]. */
  readonly frameShape: readonly number[];
  readonly dtype: PixelDtype;
  readonly firstFrameId: number | null;
  readonly lastFrameId: number | null;
  /** From the first to the last camera timestamp; null with fewer than two frames. */
  readonly durationS: number | null;
  /** Camera frame rate: frame ids advanced per second of camera time (not distorted by gaps). */
  readonly fps: number | null;
  readonly gaps: readonly FrameGap[];
  readonly missingFrames: number;
  readonly acquisition: {
    /** null = until stopped. */
    readonly framesRequested: number | null;
    readonly durationRequestedS: number | null;
    /** null when the run end never reached the writer, or the file was not finished. */
    readonly framesAcquired: number | null;
    readonly framesDropped: number | null;
    readonly framesWritten: number;
    /** 'completed' | 'stopped' | 'error' | 'unknown' (no run end), or null if the file was not finished. */
    readonly endReason: string | null;
    readonly error: string | null;
  };
  readonly camera: {
    readonly driver: string;
    readonly model: string;
    readonly settings: Readonly<Record<string, number | string | boolean>>;
  };
  readonly provenance: {
    readonly labcastVersion: string;
    readonly nodeVersion: string;
    readonly host: string;
    readonly runId: string;
    readonly startTime: string;
    readonly endTime: string | null;
    readonly startTimeNs: bigint;
    readonly endTimeNs: bigint | null;
    readonly config: unknown;
    /** The HDF5 writer and library that wrote the file; null in files from before it was recorded. */
    readonly hdf5Writer: string | null;
  };
  /** Analysis results stored with the frames (/entry/analysis/NAME), by name. */
  readonly analysis: readonly AnalysisSummary[];
  /** Rows of the simulator's ground truth (one per frame and particle); null when the file has none. */
  readonly truthRows: number | null;
  /** How the frames are compressed; null for raw frames. */
  readonly compression: FramesCompression | null;
  /** The recording's name (/entry/title), null when it was given none. */
  readonly title: string | null;
  /** Notes added before or after the recording (/entry/note_NNN, NXnote), oldest first. */
  readonly notes: readonly RecordingNote[];
}

export interface RecordingNote {
  readonly name: string;
  /** ISO 8601, when the note was added. */
  readonly date: string | null;
  readonly text: string;
}

/** The frames' HDF5 filter, and what the writer recorded of it (docs/hdf5-layout.md#compression). */
export interface FramesCompression {
  /** labcast's codec name (lz4, bitshuffle-lz4, zstd); for other writers' files, the filter's name. */
  readonly codec: string;
  readonly level: number | null;
  readonly filterId: number;
  /** The filter's parameters (cd_values) as stored. */
  readonly filterValues: readonly number[];
  /** Camera bytes of the valid frames, and the bytes their chunks take, as of the last flush; null if not recorded. */
  readonly bytesIn: number | null;
  readonly bytesOut: number | null;
  readonly ratio: number | null;
}

export interface AnalysisSummary {
  readonly name: string;
  readonly kind: string | null;
  /** Frames with a result. */
  readonly results: number;
  /** Rows of its per-item table (spots of localize, items of others); null without one. */
  readonly items: number | null;
  readonly itemsTable: string | null;
}

export async function inspectRecording(path: string): Promise<RecordingSummary> {
  const stat = fs.statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) throw new LabcastError('FILE_FORMAT', `${path}: no such file`);
  if (!stat.isFile()) throw new LabcastError('FILE_FORMAT', `${path}: not a file`);
  const file = await openForReading(path);
  try {
    return summarise(new LayoutReader(file, path), stat.size);
  } finally {
    file.close();
  }
}

/** Typed access to the layout; anything missing or mistyped is a FILE_FORMAT error naming the path. */
class LayoutReader {
  constructor(
    private readonly file: H5File,
    readonly path: string,
  ) {}

  fail(detail: string): LabcastError {
    return new LabcastError('FILE_FORMAT', `${this.path}: ${detail}`);
  }

  group(path: string): Group {
    const found = this.file.get(path);
    if (!(found instanceof Group)) throw this.fail(`no group ${path}; not a labcast recording`);
    return found;
  }

  dataset(path: string): Dataset {
    const found = this.optionalDataset(path);
    if (found === null) throw this.fail(`no dataset ${path}; not a labcast recording`);
    return found;
  }

  optionalGroup(path: string): Group | null {
    const found = this.file.get(path);
    return found instanceof Group ? found : null;
  }

  optionalDataset(path: string): Dataset | null {
    const found = this.file.get(path);
    if (found === null) return null;
    if (!(found instanceof Dataset)) throw this.fail(`${path} is not a dataset`);
    return found;
  }

  rootAttr(name: string): string | null {
    return name in this.file.attrs ? stringValue(this.file.get_attribute(name, false)) : null;
  }

  stringAttr(target: Group | Dataset, name: string): string {
    const value = this.optionalStringAttr(target, name);
    if (value === null) throw this.fail(`attribute ${name} of ${target.path} is missing or not text`);
    return value;
  }

  optionalStringAttr(target: Group | Dataset, name: string): string | null {
    return name in target.attrs ? stringValue(target.get_attribute(name, false)) : null;
  }

  int64Attr(target: Group | Dataset, name: string): bigint | null {
    if (!(name in target.attrs)) return null;
    const value = target.get_attribute(name, false);
    if (typeof value !== 'bigint' && typeof value !== 'number') throw this.fail(`attribute ${name} of ${target.path} is not an integer`);
    return BigInt(value);
  }

  text(path: string): string {
    const value = stringValue(this.dataset(path).value);
    if (value === null) throw this.fail(`${path} is not text`);
    return value;
  }

  optionalText(path: string): string | null {
    return this.optionalDataset(path) === null ? null : this.text(path);
  }

  /** A scalar number, with the -1 stand-in for "unknown" read as null. */
  optionalCount(path: string): number | null {
    const dataset = this.optionalDataset(path);
    if (dataset === null) return null;
    const value = dataset.value;
    if (typeof value !== 'bigint' && typeof value !== 'number') throw this.fail(`${path} is not a number`);
    const count = Number(value);
    return count === UNKNOWN_COUNT ? null : count;
  }

  int64Column(dataset: Dataset, rows: number): BigInt64Array {
    if (rows === 0) return new BigInt64Array(0);
    const values = dataset.slice([[0, rows]]);
    if (!(values instanceof BigInt64Array)) throw this.fail(`${dataset.path} is not int64`);
    return values;
  }
}

function stringValue(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function summarise(reader: LayoutReader, fileBytes: number): RecordingSummary {
  if (reader.rootAttr('creator') !== LAYOUT_CREATOR) {
    throw reader.fail(`an HDF5 file, but not a labcast recording (root attribute creator is not "${LAYOUT_CREATOR}")`);
  }
  const entry = reader.group(PATHS.entry);
  const frames = reader.dataset(PATHS.frames);
  const frameIds = reader.dataset(PATHS.frameId);
  const cameraTimestamps = reader.dataset(PATHS.cameraTimestamp);

  const dtype = PIXEL_DTYPE_OF[frames.dtype as string];
  const shape = frames.shape;
  if (dtype === undefined)
    throw reader.fail(
      `${PATHS.frames} has dtype ${typeof frames.dtype === 'string' ? frames.dtype : JSON.stringify(frames.dtype)}, not uint8 or uint16`,
    );
  if (shape === null || shape.length < 3) throw reader.fail(`${PATHS.frames} is not a stack of frames`);

  // In a finished or flushed file these agree; the minimum is the count every part vouches for.
  const validFrames = reader.int64Attr(frames, VALID_FRAMES_ATTR);
  const frameCount = Math.min(
    shape[0] ?? 0,
    frameIds.shape?.[0] ?? 0,
    validFrames === null ? Number.MAX_SAFE_INTEGER : Number(validFrames),
  );
  const ids = reader.int64Column(frameIds, frameCount);
  const firstId = ids.length > 0 ? Number(ids[0]) : null;
  const lastId = ids.length > 0 ? Number(ids[ids.length - 1]) : null;
  const { durationS, fps } = timing(reader, cameraTimestamps, frameCount, firstId, lastId);

  const acquisitionPath = (name: string): string => `${PATHS.acquisition}/${name}`;
  const endReason = reader.optionalText(acquisitionPath(ACQUISITION.endReason));
  const finished = endReason !== null;
  const writer = finished ? null : writerLiveness(parseWriterIdentity(reader.optionalStringAttr(entry, ENTRY_ATTRS.writerProcess)));
  const gaps = finished ? readGaps(reader, acquisitionPath(ACQUISITION.gaps)) : gapsInIds(Array.from(ids, Number));

  const camera = reader.group(PATHS.camera);
  const endTimeNs = reader.int64Attr(entry, ENTRY_ATTRS.endTimeNs);
  const startTimeNs = reader.int64Attr(entry, ENTRY_ATTRS.startTimeNs);
  if (startTimeNs === null) throw reader.fail(`attribute ${ENTRY_ATTRS.startTimeNs} of ${PATHS.entry} is missing`);

  return {
    path: reader.path,
    fileBytes,
    finished,
    writer,
    frameCount,
    frameShape: shape.slice(1),
    dtype,
    firstFrameId: firstId,
    lastFrameId: lastId,
    durationS,
    fps,
    gaps,
    missingFrames: gaps.reduce((sum, [, count]) => sum + count, 0),
    acquisition: {
      framesRequested: reader.optionalCount(acquisitionPath(ACQUISITION.framesRequested)),
      durationRequestedS: reader.optionalCount(acquisitionPath(ACQUISITION.durationRequested)),
      framesAcquired: reader.optionalCount(acquisitionPath(ACQUISITION.framesAcquired)),
      framesDropped: reader.optionalCount(acquisitionPath(ACQUISITION.framesDropped)),
      framesWritten: reader.optionalCount(acquisitionPath(ACQUISITION.framesWritten)) ?? frameCount,
      endReason,
      error: reader.optionalText(acquisitionPath(ACQUISITION.error)) || null,
    },
    camera: {
      driver: reader.text(`${PATHS.camera}/driver`),
      model: reader.text(`${PATHS.camera}/model`),
      settings: parseJson(reader, reader.stringAttr(camera, SETTINGS_JSON_ATTR), SETTINGS_JSON_ATTR) as Record<
        string,
        number | string | boolean
      >,
    },
    provenance: {
      labcastVersion: reader.stringAttr(entry, ENTRY_ATTRS.labcastVersion),
      nodeVersion: reader.stringAttr(entry, ENTRY_ATTRS.nodeVersion),
      host: reader.stringAttr(entry, ENTRY_ATTRS.host),
      runId: reader.stringAttr(entry, ENTRY_ATTRS.runId),
      startTime: reader.text(PATHS.startTime),
      endTime: reader.optionalText(PATHS.endTime),
      startTimeNs,
      endTimeNs,
      config: parseJson(reader, reader.stringAttr(entry, ENTRY_ATTRS.configJson), ENTRY_ATTRS.configJson),
      hdf5Writer: reader.optionalStringAttr(entry, ENTRY_ATTRS.hdf5Writer),
    },
    analysis: analysisSummaries(reader),
    truthRows: reader.optionalDataset(`${PATHS.truth}/frame_id`)?.shape?.[0] ?? null,
    compression: framesCompression(reader, frames),
    title: reader.optionalText(`${PATHS.entry}/title`),
    notes: recordingNotes(reader, entry),
  };
}

function recordingNotes(reader: LayoutReader, entry: Group): RecordingNote[] {
  return entry
    .keys()
    .filter((name) => /^note_\d+$/.test(name))
    .sort()
    .map((name) => ({
      name,
      date: reader.optionalText(`${PATHS.entry}/${name}/date`),
      text: reader.optionalText(`${PATHS.entry}/${name}/data`) ?? '',
    }));
}

const CODEC_OF_FILTER: Record<number, string> = Object.fromEntries(Object.entries(CODEC_FILTER_IDS).map(([codec, id]) => [id, codec]));

function framesCompression(reader: LayoutReader, frames: Dataset): FramesCompression | null {
  // Deflate, shuffle... of other writers count too; labcast writes one filter at most.
  const filter = frames.filters.find((f) => f.id !== 0);
  if (filter === undefined) return null;
  const named = reader.optionalStringAttr(frames, COMPRESSION_ATTRS.codec);
  const level = reader.int64Attr(frames, COMPRESSION_ATTRS.level);
  const bytesIn = reader.int64Attr(frames, COMPRESSION_ATTRS.bytesIn);
  const bytesOut = reader.int64Attr(frames, COMPRESSION_ATTRS.bytesOut);
  return {
    codec: named ?? CODEC_OF_FILTER[filter.id] ?? filter.name,
    level: level === null ? null : Number(level),
    filterId: filter.id,
    filterValues: [...filter.cd_values],
    bytesIn: bytesIn === null ? null : Number(bytesIn),
    bytesOut: bytesOut === null ? null : Number(bytesOut),
    ratio: bytesIn !== null && bytesOut !== null && bytesOut > 0n ? Math.round((Number(bytesIn) / Number(bytesOut)) * 1000) / 1000 : null,
  };
}

function analysisSummaries(reader: LayoutReader): AnalysisSummary[] {
  const group = reader.optionalGroup(PATHS.analysis);
  if (group === null) return [];
  return group.keys().flatMap((name) => {
    const results = reader.optionalDataset(`${PATHS.analysis}/${name}/${ANALYSIS.frameId}`);
    if (results === null) return [];
    const table = [ANALYSIS.spotsTable, ANALYSIS.itemsTable].find(
      (t) => reader.optionalDataset(`${PATHS.analysis}/${name}/${t}/${ANALYSIS.frameId}`) !== null,
    );
    const analysis = reader.group(`${PATHS.analysis}/${name}`);
    return [
      {
        name,
        kind: reader.optionalStringAttr(analysis, 'kind'),
        results: results.shape?.[0] ?? 0,
        items:
          table === undefined ? null : (reader.optionalDataset(`${PATHS.analysis}/${name}/${table}/${ANALYSIS.frameId}`)?.shape?.[0] ?? 0),
        itemsTable: table ?? null,
      },
    ];
  });
}

function timing(
  reader: LayoutReader,
  cameraTimestamps: Dataset,
  frameCount: number,
  firstId: number | null,
  lastId: number | null,
): { durationS: number | null; fps: number | null } {
  if (frameCount < 2 || firstId === null || lastId === null) return { durationS: null, fps: null };
  const first = reader.int64Column(cameraTimestamps, 1)[0];
  const lastRow = cameraTimestamps.slice([[frameCount - 1, frameCount]]);
  const last = lastRow instanceof BigInt64Array ? lastRow[0] : undefined;
  if (first === undefined || last === undefined) throw reader.fail(`${PATHS.cameraTimestamp} is shorter than the frames`);
  // Computed from the frames, not read from acquisition/duration_s: an unfinished file has none.
  return runTiming({ id: firstId, cameraNs: first }, { id: lastId, cameraNs: last });
}

function readGaps(reader: LayoutReader, path: string): FrameGap[] {
  const dataset = reader.dataset(path);
  const rows = dataset.shape?.[0] ?? 0;
  if (rows === 0) return [];
  const flat = dataset.value;
  if (!(flat instanceof BigInt64Array) || dataset.shape?.[1] !== 2) throw reader.fail(`${path} is not an int64 [G, 2] table`);
  const gaps: FrameGap[] = [];
  for (let row = 0; row < rows; row++) gaps.push([Number(flat[2 * row]), Number(flat[2 * row + 1])]);
  return gaps;
}

function parseJson(reader: LayoutReader, text: string, name: string): unknown {
  try {
    return parseWithNs(text);
  } catch {
    throw reader.fail(`attribute ${name} is not valid JSON`);
  }
}
