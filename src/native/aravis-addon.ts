import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { LabcastError } from '../protocol/errors.js';

/**
 * The GenICam binding (native/labcast_aravis.c over libaravis), loaded the way
 * src/storage/native-addon.ts loads the HDF5 writer: built by
 * scripts/build-native.mjs only where Aravis is installed, so a missing addon
 * is an expected state with a reason, not a crash.
 */

/** One device found by discovery (Aravis's device list). */
export interface AravisDeviceInfo {
  /** Aravis's device id, e.g. "Basler-acA1920-40um-23456789" or "Fake_1". */
  readonly deviceId: string;
  /** MAC address for GigE Vision, a bus id for USB3 Vision. */
  readonly physicalId: string | null;
  /** IP address for GigE Vision. */
  readonly address: string | null;
  readonly vendor: string | null;
  readonly model: string | null;
  readonly serial: string | null;
  /** "GigEVision", "USB3Vision" or "Fake". */
  readonly protocol: string | null;
}

export type FeatureType = 'Integer' | 'Float' | 'Enumeration' | 'Boolean' | 'String' | 'Command' | 'Category' | 'Other';
export type FeatureAccess = 'RO' | 'WO' | 'RW' | 'NA';
export type FeatureValue = number | string | boolean;

/** A GenICam node as the camera describes it now (ranges may depend on other features). */
export interface AravisFeatureInfo {
  readonly name: string;
  readonly type: FeatureType;
  readonly implemented: boolean;
  readonly available: boolean;
  readonly locked: boolean;
  /** NA when the feature is not available now. */
  readonly access: FeatureAccess;
  readonly description: string;
  readonly displayName: string;
  /** Integer and Float only. */
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  readonly increment?: number;
  /** Enumeration only: the entries available now. */
  readonly entries?: readonly string[];
}

/** One popped stream buffer, or the loss of the camera's control channel. */
export type AravisStreamEvent =
  | {
      /** ArvBufferStatus: 0 success, 1 cleared, 2 timeout, 3 missing packets, 4 wrong packet id, 5 size mismatch, 6 filling, 7 aborted. */
      readonly status: number;
      /** GVSP block id (16 bits on GigE Vision 1.x, 64 on GEV 2 with extended ids and USB3 Vision). */
      readonly frameId: bigint;
      /**
       * The device's timestamp in ns (Aravis converts ticks with the camera's tick frequency), or the system timestamp when it has none.
       */
      readonly timestampNs: bigint;
      /** When Aravis's receive thread completed the buffer: host wall clock, ns since the Unix epoch. */
      readonly systemTimestampNs: bigint;
      /** A complete image: PFNC pixel format code and size. */
      readonly pixelFormat?: number;
      readonly width?: number;
      readonly height?: number;
      /**
       * A complete image's bytes as the camera sent them: a view of the stream
       * buffer itself, lent until releaseBuffer(serial) (or the stream's
       * stop), which empties the view (byteLength 0) and requeues the buffer.
       */
      readonly data?: Uint8Array;
      /** Names the lent buffer for releaseBuffer(); present with `data` from a buffer of the stream's own. */
      readonly serial?: number;
      /**
       * A ring slot lent with pushSlot() came back: this is the very view
       * lent, the driver's again whatever became of the image; `data` then
       * views the image where Aravis assembled it in the slot (no loan to end).
       */
      readonly slot?: Uint8Array;
      /** A complete buffer that is not an image (chunk data only...). */
      readonly payloadType?: number;
      readonly error?: undefined;
    }
  | { readonly error: string };

/** Opaque handle of an open camera. */
export type AravisCameraHandle = { readonly __aravisCamera: unique symbol };

export interface AravisAddon {
  /** Aravis's version, e.g. "0.8.26". */
  version(): string;
  /** The interfaces Aravis knows: "Fake", "USB3Vision", "GigEVision". */
  interfaces(): string[];
  /** Exactly these interfaces take part in discovery and opening, from now on, in this process. */
  useInterfaces(ids: readonly string[]): void;
  /** Discovery on the enabled interfaces (GigEVision broadcasts on every network interface). */
  listDevices(): AravisDeviceInfo[];
  /** Opens by device id, physical id or address (null: the first device found). Throws with Aravis's reason. */
  openCamera(id: string | null): AravisCameraHandle;
  /** Stops any stream and releases the camera; idempotent. */
  closeCamera(handle: AravisCameraHandle): void;
  cameraInfo(handle: AravisCameraHandle): {
    vendor: string | null;
    model: string | null;
    serial: string | null;
    deviceId: string | null;
    isGigE: boolean;
    isUsb3: boolean;
    controlLost: boolean;
  };
  /** Integer and Float as numbers, Enumeration as the entry name, Boolean, String. */
  getFeature(handle: AravisCameraHandle, name: string): FeatureValue;
  setFeature(handle: AravisCameraHandle, name: string, value: FeatureValue): void;
  executeCommand(handle: AravisCameraHandle, name: string): void;
  featureInfo(handle: AravisCameraHandle, name: string): AravisFeatureInfo;
  /** Every feature under the Root category, in the camera's order (categories left out). */
  listFeatures(handle: AravisCameraHandle): string[];
  /** GigE Vision: negotiates the largest packet the network carries; returns it in bytes. */
  gvAutoPacketSize(handle: AravisCameraHandle): number;
  /** GigE Vision: sets the packet size; returns the size the camera took. */
  gvSetPacketSize(handle: AravisCameraHandle, bytes: number): number;
  /**
   * Allocates `bufferCount` buffers of the payload size (reused for the whole
   * stream), starts the acquisition and calls onEvent on the JavaScript thread
   * for every buffer a worker thread pops. A complete image is lent: `data`
   * views the stream buffer, which stays out of the stream until
   * releaseBuffer(); other buffers are requeued at once. Every buffer lent
   * takes one of the `bufferCount` from the camera, so lend few.
   * GigE Vision streams size their socket buffer from the payload (auto).
   */
  startStream(handle: AravisCameraHandle, bufferCount: number, onEvent: (event: AravisStreamEvent) => void, minQueued?: number): void;
  /**
   * Lends the running stream `capacity` bytes from where `view` (over a ring's
   * ArrayBuffer, kept alive meanwhile) begins, for Aravis to assemble an
   * image in; the view comes back as an event's `slot`, or is the driver's
   * again once stopStream() returns. With startStream's `minQueued`, the
   * stream's own buffers are queued only while fewer than that many buffers wait.
   */
  pushSlot(handle: AravisCameraHandle, view: Uint8Array, capacity: number): void;
  /** What one stream buffer must hold under the current settings (the image, and any padding or chunk data). */
  payloadBytes(handle: AravisCameraHandle): number;
  /** Stops the acquisition and the worker, taking back every lent buffer (their views empty); no event is delivered after it returns. */
  stopStream(handle: AravisCameraHandle): void;
  /** Ends the loan of an image's buffer: its view empties, the buffer goes back to the stream. False when it was no longer lent (the stream stopped). */
  releaseBuffer(handle: AravisCameraHandle, serial: number): boolean;
  /**
   * The running stream's counters, or the last stream's when it stopped:
   * n_completed_buffers, n_failures, n_underruns, and on GigE Vision
   * n_missing_packets, n_resent_packets, n_resend_requests, n_missing_frames...
   */
  streamStatistics(handle: AravisCameraHandle): Record<string, number>;
}

/** Where scripts/build-native.mjs puts the addon: build/native at the package root. */
export const ARAVIS_ADDON_PATH = fileURLToPath(new URL('../../../build/native/labcast_aravis.node', import.meta.url));

export const ARAVIS_INSTALL_COMMAND = 'sudo apt-get install libaravis-dev libusb-1.0-0-dev aravis-tools';

export type AravisAddonLoad = { readonly addon: AravisAddon } | { readonly failure: string };

let loaded: AravisAddonLoad | null = null;

/** Loads the addon once per process; a failure is kept as a reason for the error message. */
export function loadAravisAddon(): AravisAddonLoad {
  loaded ??= tryLoad();
  return loaded;
}

/** The addon, or LabcastError MISSING_TOOL saying how to get it. */
export function requireAravisAddon(): AravisAddon {
  const load = loadAravisAddon();
  if ('addon' in load) return load.addon;
  throw new LabcastError('MISSING_TOOL', aravisUnavailableMessage(load.failure), 'camera');
}

export function aravisUnavailableMessage(failure: string): string {
  return (
    `GenICam cameras (genicam:) need the Aravis binding, which is not available: ${failure}. ` +
    `Install Aravis with: ${ARAVIS_INSTALL_COMMAND}, then rebuild with \`npm run build\` (or \`node scripts/build-native.mjs\`)`
  );
}

function tryLoad(): AravisAddonLoad {
  // LABCAST_ARAVIS_ADDON: another path (the tests of the missing-addon case point it nowhere).
  const path = process.env.LABCAST_ARAVIS_ADDON || ARAVIS_ADDON_PATH;
  if (!fs.existsSync(path)) return { failure: `${path} does not exist (it was not built)` };
  try {
    return { addon: createRequire(import.meta.url)(path) as AravisAddon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { failure: `${path} does not load: ${message.split('\n')[0]}` };
  }
}
