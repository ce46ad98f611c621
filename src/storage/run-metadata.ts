import { frameByteLength, type PixelDtype } from '../protocol/dtype.js';
import { stringifyWithNs } from '../protocol/json-ns.js';
import { CODEC_FILTER_IDS, NO_COMPRESSION, type CompressionSpec } from '../protocol/compression.js';
import type { RunEnd, RunStart } from '../protocol/messages.js';
import type { FrameGap } from '../hdf5/frame-gaps.js';
import { FramesDataset, framesPerChunk } from './frames-dataset.js';
import { float64, int32, int64, int8, type ExtendibleDataset, type Hdf5File, type NumericDtype } from './hdf5-backend.js';
import {
  ACQUISITION,
  COMPRESSION_ATTRS,
  END_REASON_UNKNOWN,
  ENTRY_ATTRS,
  LAYOUT_CREATOR,
  PATHS,
  SETTINGS_JSON_ATTR,
  UNKNOWN_COUNT,
  VALID_FRAMES_ATTR,
} from '../hdf5/hdf5-layout.js';
import type { FrameIndexDatasets } from './pending-frame-index.js';
import type { RunTiming } from '../hdf5/run-timing.js';
import { currentWriterIdentity } from '../hdf5/writer-identity.js';

/**
 * Everything in a recording but the frames' contents: the tree of
 * docs/hdf5-layout.md, written at run start and at run end.
 */

/** Elements per chunk of the 1-D per-frame datasets (8 KiB of int64). */
const INDEX_CHUNK = 1024;

const PIXEL_DTYPE: Record<PixelDtype, NumericDtype> = { uint8: 'uint8', uint16: 'uint16' };

export interface RunDatasets {
  readonly frames: FramesDataset;
  readonly index: FrameIndexDatasets;
}

/** Writes the run's metadata and creates the datasets frames are appended to. */
export function writeRunStart(
  file: Hdf5File,
  start: RunStart,
  fileName: string,
  writerDescription: string,
  compression: CompressionSpec = NO_COMPRESSION,
): RunDatasets {
  setAttrs(file, '/', {
    NX_class: 'NXroot',
    default: 'entry',
    creator: LAYOUT_CREATOR,
    creator_version: start.software.version,
    file_name: fileName,
    file_time: new Date().toISOString(),
  });

  file.createGroup(PATHS.entry);
  setAttrs(file, PATHS.entry, {
    NX_class: 'NXentry',
    default: 'data',
    [ENTRY_ATTRS.labcastVersion]: start.software.version,
    [ENTRY_ATTRS.nodeVersion]: start.software.node,
    [ENTRY_ATTRS.host]: start.software.host,
    [ENTRY_ATTRS.runId]: start.run_id,
    [ENTRY_ATTRS.configJson]: stringifyWithNs(start.config ?? null),
    [ENTRY_ATTRS.hdf5Writer]: writerDescription,
    [ENTRY_ATTRS.writerProcess]: JSON.stringify(currentWriterIdentity()),
  });
  file.setAttribute(PATHS.entry, ENTRY_ATTRS.startTimeNs, int64(start.start_wall_ns));
  file.createDataset(PATHS.startTime, isoFromNs(start.start_wall_ns));

  const datasets = createDataGroup(file, start, compression);
  writeCamera(file, start.camera, pixelSizeOf(start.config));

  file.createGroup(PATHS.acquisition);
  setAttrs(file, PATHS.acquisition, { NX_class: 'NXcollection' });
  file.createDataset(acquisitionPath(ACQUISITION.framesRequested), int64(start.frames_requested ?? UNKNOWN_COUNT));
  file.createDataset(acquisitionPath(ACQUISITION.durationRequested), float64(start.duration_s ?? UNKNOWN_COUNT));
  return datasets;
}

function createDataGroup(file: Hdf5File, start: RunStart, compression: CompressionSpec): RunDatasets {
  file.createGroup(PATHS.data);
  const isColor = start.shape.length === 3;
  setAttrs(file, PATHS.data, {
    NX_class: 'NXdata',
    signal: 'frames',
    axes: ['frame_id', ...start.shape.map(() => '.')],
  });
  file.setAttribute(PATHS.data, 'frame_id_indices', int32(0));

  const frameBytes = frameByteLength(start.shape, start.dtype);
  const chunkFrames = framesPerChunk(frameBytes);
  const frames = file.createExtendible(PATHS.frames, {
    dtype: PIXEL_DTYPE[start.dtype],
    rowShape: start.shape,
    chunkRows: chunkFrames,
    compression,
  });
  setAttrs(file, PATHS.frames, isColor ? COLOUR_IMAGE_ATTRS : { interpretation: 'image' });
  file.setAttribute(PATHS.frames, VALID_FRAMES_ATTR, int64(0));
  if (compression.codec !== 'none') writeCompressionAttrs(file, compression);

  const perFrame = (path: string, description: string, units: string | null): ExtendibleDataset => {
    const dataset = file.createExtendible(path, { dtype: 'int64', rowShape: [], chunkRows: INDEX_CHUNK });
    setAttrs(file, path, units === null ? { long_name: description } : { long_name: description, units });
    return dataset;
  };
  return {
    frames: new FramesDataset(frames, frameBytes, chunkFrames),
    index: {
      frameId: perFrame(PATHS.frameId, 'frame sequence number in the run (from 0)', null),
      cameraTimestamp: perFrame(PATHS.cameraTimestamp, 'camera capture time, ns since the Unix epoch', 'ns'),
      wallTimestamp: perFrame(PATHS.wallTimestamp, 'acquisition host wall-clock time, ns since the Unix epoch', 'ns'),
    },
  };
}

/** The codec, for people and for readers that do not decode HDF5's filter pipeline; the byte counts grow at every flush. */
function writeCompressionAttrs(file: Hdf5File, compression: CompressionSpec): void {
  if (compression.codec === 'none') return;
  file.setAttribute(PATHS.frames, COMPRESSION_ATTRS.codec, compression.codec);
  if (compression.level !== null) file.setAttribute(PATHS.frames, COMPRESSION_ATTRS.level, int32(compression.level));
  file.setAttribute(PATHS.frames, COMPRESSION_ATTRS.filterId, int32(CODEC_FILTER_IDS[compression.codec]));
  file.setAttribute(PATHS.frames, COMPRESSION_ATTRS.bytesIn, int64(0));
  file.setAttribute(PATHS.frames, COMPRESSION_ATTRS.bytesOut, int64(0));
}

const PIXEL_SIZE_FIELDS = ['x_pixel_size', 'y_pixel_size'] as const;
const CAMERA_FIELDS = new Set(['driver', 'model', ...PIXEL_SIZE_FIELDS]);

/** The config's camera.pixel_size_um (µm in the sample plane), when it gives one. */
function pixelSizeOf(config: unknown): number | null {
  const camera = (config as { camera?: unknown } | null)?.camera;
  const size = typeof camera === 'object' && camera !== null ? (camera as { pixel_size_um?: unknown }).pixel_size_um : undefined;
  return typeof size === 'number' && Number.isFinite(size) && size > 0 ? size : null;
}

function writeCamera(file: Hdf5File, camera: RunStart['camera'], pixelSizeUm: number | null): void {
  file.createGroup(PATHS.instrument);
  setAttrs(file, PATHS.instrument, { NX_class: 'NXinstrument' });
  file.createGroup(PATHS.camera);
  setAttrs(file, PATHS.camera, { NX_class: 'NXdetector', [SETTINGS_JSON_ATTR]: JSON.stringify(camera.settings) });
  file.createDataset(`${PATHS.camera}/driver`, camera.driver);
  file.createDataset(`${PATHS.camera}/model`, camera.model);
  if (pixelSizeUm !== null) {
    // NeXus NXdetector: the size of a pixel, here as seen in the sample plane (the config's camera.pixel_size_um).
    for (const name of PIXEL_SIZE_FIELDS) {
      file.createDataset(`${PATHS.camera}/${name}`, float64(pixelSizeUm));
      setAttrs(file, `${PATHS.camera}/${name}`, { units: 'um' });
    }
  }

  const used = new Set(CAMERA_FIELDS);
  for (const [key, value] of Object.entries(camera.settings)) {
    // HDF5 names cannot hold '/', and NeXus field names are word characters;
    // settings_json keeps the exact names and types whatever happens here.
    let name = key.replace(/\W/g, '_');
    if (CAMERA_FIELDS.has(name)) name = `setting_${name}`;
    if (used.has(name)) continue;
    used.add(name);
    const path = `${PATHS.camera}/${name}`;
    if (typeof value === 'number') file.createDataset(path, float64(value));
    else if (typeof value === 'boolean') file.createDataset(path, int8(value ? 1 : 0));
    else file.createDataset(path, value);
  }
}

export interface RunOutcome {
  readonly framesWritten: number;
  readonly gaps: readonly FrameGap[];
  readonly end: RunEnd | null;
  readonly closedAtNs: bigint;
  readonly timing: RunTiming;
}

/** What only the end of the run knows: end time, counts, end reason, gaps. */
export function writeRunEnd(file: Hdf5File, outcome: RunOutcome): void {
  const { end } = outcome;
  const endNs = end?.end_wall_ns ?? outcome.closedAtNs;
  file.setAttribute(PATHS.entry, ENTRY_ATTRS.endTimeNs, int64(endNs));
  file.createDataset(PATHS.endTime, isoFromNs(endNs));

  file.createDataset(acquisitionPath(ACQUISITION.framesWritten), int64(outcome.framesWritten));
  file.createDataset(acquisitionPath(ACQUISITION.framesAcquired), int64(end?.frames_acquired ?? UNKNOWN_COUNT));
  file.createDataset(acquisitionPath(ACQUISITION.framesDropped), int64(end?.frames_dropped ?? UNKNOWN_COUNT));
  file.createDataset(acquisitionPath(ACQUISITION.endReason), end?.reason ?? END_REASON_UNKNOWN);
  file.createDataset(acquisitionPath(ACQUISITION.error), end?.error ?? '');
  // run-timing.ts: first to last frame written, by camera time; -1 with fewer than two frames.
  file.createDataset(acquisitionPath(ACQUISITION.duration), float64(outcome.timing.durationS ?? UNKNOWN_COUNT));
  setAttrs(file, acquisitionPath(ACQUISITION.duration), {
    units: 's',
    long_name: 'camera time from the first frame in the file to the last',
  });
  file.createDataset(acquisitionPath(ACQUISITION.frameRate), float64(outcome.timing.fps ?? UNKNOWN_COUNT));
  setAttrs(file, acquisitionPath(ACQUISITION.frameRate), { units: 'Hz', long_name: '(last frame_id - first frame_id) / duration_s' });
  const gapRows = new BigInt64Array(outcome.gaps.length * 2);
  outcome.gaps.forEach(([first, count], i) => {
    gapRows[2 * i] = BigInt(first);
    gapRows[2 * i + 1] = BigInt(count);
  });
  const gapsPath = acquisitionPath(ACQUISITION.gaps);
  file.createDataset(gapsPath, { dtype: 'int64', shape: [outcome.gaps.length, 2], data: gapRows });
  setAttrs(file, gapsPath, { long_name: 'missing frame ids as rows of (first_missing_frame_id, count)' });
  // Cameras that can lose frames themselves (GenICam) say how many, and their stream counters.
  if (end?.frames_lost_camera !== undefined) {
    const lostPath = acquisitionPath(ACQUISITION.framesLostCamera);
    file.createDataset(lostPath, int64(end.frames_lost_camera));
    setAttrs(file, lostPath, {
      long_name: 'frames the camera lost before acquisition (incomplete buffers, skipped frame ids); part of gaps',
    });
  }
  if (end?.camera_statistics !== undefined) {
    const statsPath = acquisitionPath(ACQUISITION.cameraStatistics);
    file.createGroup(statsPath);
    setAttrs(file, statsPath, { NX_class: 'NXcollection', long_name: "the camera's stream health counters at the end of the run" });
    for (const [name, value] of Object.entries(end.camera_statistics)) {
      file.createDataset(`${statsPath}/${name.replace(/\W/g, '_')}`, float64(value));
    }
  }
}

function acquisitionPath(name: string): string {
  return `${PATHS.acquisition}/${name}`;
}

/**
 * Colour frames [N, H, W, 3]: attributes that make both common viewers show
 * them as colour images. Debian's silx (1.1) knows only "rgba-image" (for 3 or
 * 4 channels; "rgb-image" is invalid to it); h5web shows "rgba-image" from
 * v17 and, in every version, a signal with the HDF5 Image spec's CLASS=IMAGE
 * (true colour, pixel-interlaced). silx ignores CLASS. See docs/hdf5-layout.md.
 */
const COLOUR_IMAGE_ATTRS = {
  interpretation: 'rgba-image',
  CLASS: 'IMAGE',
  IMAGE_SUBCLASS: 'IMAGE_TRUECOLOR',
  INTERLACE_MODE: 'INTERLACE_PIXEL',
} as const;

function setAttrs(file: Hdf5File, objectPath: string, attrs: Record<string, string | readonly string[]>): void {
  for (const [name, value] of Object.entries(attrs)) file.setAttribute(objectPath, name, value);
}

/** ISO 8601 UTC with all nine digits of the nanoseconds (NeXus NX_DATE_TIME). */
export function isoFromNs(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = ns % 1_000_000_000n;
  const wholeSeconds = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${wholeSeconds}.${fraction.toString().padStart(9, '0')}Z`;
}
