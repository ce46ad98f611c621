import { parseCameraSpec } from '../camera-spec/camera-spec.js';
import type { Camera } from './camera.js';

/**
 * The one door from runtime code to the drivers: callers name a driver and its
 * options, and get a Camera. A new driver adds its spec to camera-spec/ (a member
 * of cameraSpecUnionSchema and, if it has one, a string form) and a case to
 * createCamera. The spec functions are re-exported so that a driver's caller
 * needs this module only. A driver's modules are loaded when a camera of it is
 * made: the acquisition process opens one camera, and loading the others
 * (ffmpeg, GenICam, replay: ~15 ms) would delay its start-up for nothing.
 */

export {
  CAMERA_DRIVERS,
  CAMERA_STRING_FORMS,
  cameraSpecFromString,
  cameraSpecSchema,
  cameraSpecUnionSchema,
  parseCameraSpec,
  simCameraSpecSchema,
  type CameraDriver,
  type CameraSpec,
  type ResolvedCameraSpec,
} from '../camera-spec/camera-spec.js';
export { simCameraOptionsSchema, type SimCameraOptions, type SimCameraOptionsInput } from '../camera-spec/sim-options.js';
// Ground truth of the simulated particles, for runs that store it next to the frames.
export { simParticlePositions, type SimParticle } from './sim/particles.js';

/** A closed camera for `spec` (a CameraSpec, validated here as by parseCameraSpec), with only its own driver loaded. */
export async function createCamera(spec: unknown): Promise<Camera> {
  const resolved = parseCameraSpec(spec);
  switch (resolved.driver) {
    case 'sim': {
      const { SimCamera } = await import('./sim/sim-camera.js');
      // pixel_size_um is about the optics, not the simulation.
      const { driver: _driver, pixel_size_um: _pixelSize, ...options } = resolved;
      return new SimCamera(options);
    }
    case 'v4l2':
    case 'file':
    case 'url':
    case 'lavfi':
      return new (await import('./ffmpeg/ffmpeg-camera.js')).FfmpegCamera(resolved);
    case 'replay':
      return new (await import('./replay/replay-camera.js')).ReplayCamera(resolved);
    case 'genicam':
      return new (await import('./genicam/genicam-camera.js')).GenicamCamera(resolved);
  }
}
