// Where the shared memory of the frame ring (src/transport/frame-ring.ts)
// comes from: the native addon, which carries it beside the HDF5 writer.
import { addonBuilt, loadNativeAddon, type SharedMemoryAddon } from './native-addon.js';
import { speedUpOn } from './speed-switch.js';

/** "0" keeps every frame on the record socket (for A/B measurements); unset or "1" uses the ring where it can. */
export const SHARED_FRAMES_ENV = 'LABCAST_SHARED_FRAMES';

/**
 * The shared memory for large frames on the record path, or null to send them
 * on the socket: only when the saver is known to be a process of the same
 * controller on this host (`local`), the native addon is built, and not with
 * LABCAST_SHARED_FRAMES=0. A saver that connects from elsewhere (`labcast
 * save --connect`) could not map the ring.
 */
export function senderSharedMemory(local: boolean, env: NodeJS.ProcessEnv = process.env): SharedMemoryAddon | null {
  const on = speedUpOn(env, SHARED_FRAMES_ENV, 'large frames through shared memory');
  return on && local && addonBuilt() ? loadedOnFirstUse : null;
}

/**
 * The addon, loaded when the first ring is made: loading it (libhdf5 and the
 * ~40 libraries it links) costs the acquisition process ~20 ms, which a run of
 * small frames (never in a ring) need not pay before its camera is ready. If
 * it then fails to load, the sender's ring is unavailable and frames go on
 * the socket (SharedFrameOutlet).
 */
const loadedOnFirstUse: SharedMemoryAddon = {
  createSharedMemory: (bytes) => sharedMemoryAddon().createSharedMemory(bytes),
  openSharedMemory: (path, bytes) => sharedMemoryAddon().openSharedMemory(path, bytes),
  releaseSharedSlot: (ring, offset, bytes) => sharedMemoryAddon().releaseSharedSlot(ring, offset, bytes),
  markSharedSlotCopied: (ring, offset, bytes) => sharedMemoryAddon().markSharedSlotCopied(ring, offset, bytes),
  keepFreedMemory: () => sharedMemoryAddon().keepFreedMemory(),
};

function sharedMemoryAddon(): SharedMemoryAddon {
  const loaded = loadNativeAddon();
  if ('failure' in loaded) throw new Error(loaded.failure);
  return loaded.addon;
}

/** A receiver takes shared frames whenever it can map them, whatever the sender chose. */
export function receiverSharedMemory(): SharedMemoryAddon | null {
  const loaded = loadNativeAddon();
  return 'addon' in loaded ? loaded.addon : null;
}
