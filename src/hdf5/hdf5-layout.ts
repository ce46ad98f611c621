/**
 * Names in a labcast HDF5 file: the one place the writer and the inspector
 * agree on them. docs/hdf5-layout.md describes the same layout for people.
 */

export const LAYOUT_CREATOR = 'labcast';

/**
 * HDF5 library-version bounds for new files. The upper bound (v1.10) keeps
 * every object readable by HDF5 1.10 (Debian's h5py); h5wasm ships HDF5 2.0
 * and its default upper bound is v2.0. The lower bound is v1.8 on purpose:
 * with a v1.10 lower bound HDF5 writes superblock v3, which marks the file
 * "open for write" while the writer holds it, so h5py refuses to open it during
 * a recording and after a crash (until `h5clear -s`). Superblock v2 (v1.8) has
 * no such flag, and v1.8 still allows large (dense) attributes such as a long
 * config_json. The native writer sets the same bounds in native/labcast_hdf5.c.
 */
export const LIBVER_BOUNDS: ['v108', 'v110'] = ['v108', 'v110'];

export const PATHS = {
  entry: '/entry',
  data: '/entry/data',
  frames: '/entry/data/frames',
  frameId: '/entry/data/frame_id',
  cameraTimestamp: '/entry/data/timestamp_ns',
  wallTimestamp: '/entry/data/wall_timestamp_ns',
  instrument: '/entry/instrument',
  camera: '/entry/instrument/camera',
  /** Simulator only: its ground truth (docs/hdf5-layout.md#ground-truth-of-the-simulator). */
  simulation: '/entry/instrument/simulation',
  truth: '/entry/instrument/simulation/truth',
  /** Analysis results, one group per analysis (docs/hdf5-layout.md#analysis-results). */
  analysis: '/entry/analysis',
  acquisition: '/entry/acquisition',
  startTime: '/entry/start_time',
  endTime: '/entry/end_time',
} as const;

/**
 * Datasets in /entry/acquisition. The requested amounts are written at open,
 * the rest by finish(): a file that was never finished has no end_reason.
 */
export const ACQUISITION = {
  framesRequested: 'frames_requested',
  durationRequested: 'duration_requested_s',
  framesWritten: 'frames_written',
  framesAcquired: 'frames_acquired',
  framesDropped: 'frames_dropped',
  endReason: 'end_reason',
  duration: 'duration_s',
  frameRate: 'frame_rate',
  error: 'error',
  gaps: 'gaps',
  /** GenICam cameras: frames lost at the camera (absent for other cameras). */
  framesLostCamera: 'frames_lost_camera',
  /** GenICam cameras: a group of the stream's counters (absent for other cameras). */
  cameraStatistics: 'camera_statistics',
} as const;

/** Attributes of /entry holding provenance. */
export const ENTRY_ATTRS = {
  labcastVersion: 'labcast_version',
  nodeVersion: 'node_version',
  host: 'host',
  runId: 'run_id',
  configJson: 'config_json',
  /** Which HDF5 writer (native or h5wasm) and library wrote the file. */
  hdf5Writer: 'hdf5_writer',
  /** The process writing the file (JSON: host, pid, boot_id, start_ticks), to tell a live writer from a dead one. */
  writerProcess: 'writer_process',
  startTimeNs: 'start_time_ns',
  endTimeNs: 'end_time_ns',
} as const;

/**
 * Attribute of the frames dataset: how many leading frames are real. Updated at
 * every flush and at finish, so a reader of a crashed file can trust it even if
 * HDF5 wrote a larger extent to disk between flushes.
 */
export const VALID_FRAMES_ATTR = 'valid_frames';

/**
 * Attributes of the frames dataset on compression (docs/hdf5-layout.md#compression).
 * Written only when the frames are compressed: the codec and its level at
 * open, and at every flush (with valid_frames) the camera bytes of the valid
 * frames and the bytes their chunks take in the file.
 */
export const COMPRESSION_ATTRS = {
  codec: 'compression',
  level: 'compression_level',
  filterId: 'compression_filter_id',
  bytesIn: 'compression_bytes_in',
  bytesOut: 'compression_bytes_out',
} as const;

/** Attribute of the camera group: the settings as JSON, with their original types. */
export const SETTINGS_JSON_ATTR = 'settings_json';

/** Value of end_reason when the file was finished without a RunEnd message. */
export const END_REASON_UNKNOWN = 'unknown';

/** Stand-in for "not known" in integer datasets (HDF5 has no null). */
export const UNKNOWN_COUNT = -1;

/** Columns of the truth table, one row per (frame, particle), with their long_name. */
export const TRUTH_COLUMNS = {
  frame_id: 'frame id (as /entry/data/frame_id)',
  particle: 'particle id, the same particle in every frame',
  x: 'true centre: column, px (pixel centres at integers, frame-relative)',
  y: 'true centre: row, px',
  amplitude: 'peak above the background, DN (before clipping)',
  intensity: 'integrated intensity 2*pi*sigma^2*amplitude, DN*px',
} as const;

/** Datasets and attributes in /entry/analysis/NAME. */
export const ANALYSIS = {
  frameId: 'frame_id',
  resultJson: 'result_json',
  /** The per-item table of a localize analysis; `items` for other kinds. */
  spotsTable: 'spots',
  itemsTable: 'items',
} as const;
