import { parseCameraSpec } from '../camera-spec/camera-spec.js';
import type { Camera } from './camera.js';

/**
 * A closed camera for `spec`, as createCamera (registry.ts) makes it, with
 * only its own driver's modules loaded. The acquisition process opens one
 * camera; loading the other drivers (ffmpeg, GenICam, replay: ~15 ms of
 * module loading) would delay its start-up for nothing.
 * test/devices/registry.test.ts checks that both make the same cameras.
 */
export async function loadCamera(spec: unknown): Promise<Camera> {
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
