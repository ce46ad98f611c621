import { parseCameraSpec } from '../camera-spec/camera-spec.js';
import type { Camera } from './camera.js';
import { FfmpegCamera } from './ffmpeg/ffmpeg-camera.js';
import { GenicamCamera } from './genicam/genicam-camera.js';
import { ReplayCamera } from './replay/replay-camera.js';
import { SimCamera } from './sim/sim-camera.js';

/**
 * The one door from runtime code to the drivers: callers name a driver and its
 * options, and get a Camera. A new driver adds its spec to camera-spec/ (a member
 * of cameraSpecUnionSchema and, if it has one, a string form) and a case to
 * createCamera. The spec functions are re-exported so that a driver's caller
 * needs this module only.
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

/** A closed camera for `spec` (a CameraSpec, validated here as by parseCameraSpec). */
export function createCamera(spec: unknown): Camera {
  const resolved = parseCameraSpec(spec);
  switch (resolved.driver) {
    case 'sim': {
      // pixel_size_um is about the optics, not the simulation.
      const { driver: _driver, pixel_size_um: _pixelSize, ...options } = resolved;
      return new SimCamera(options);
    }
    case 'v4l2':
    case 'file':
    case 'url':
    case 'lavfi':
      return new FfmpegCamera(resolved);
    case 'replay':
      return new ReplayCamera(resolved);
    case 'genicam':
      return new GenicamCamera(resolved);
  }
}
