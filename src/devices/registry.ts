import { z } from 'zod';
import { LabcastError } from '../protocol/errors.js';
import type { Camera } from './camera.js';
import { parseSimCameraOptions, simCameraOptionsSchema } from './sim/options.js';
import { SimCamera } from './sim/sim-camera.js';

/**
 * The one door from runtime code to the drivers: callers name a driver and its
 * options, and get a Camera. A new driver adds a member to cameraSpecSchema and
 * a case to parseCameraSpec and createCamera.
 */

export { simCameraOptionsSchema, type SimCameraOptions, type SimCameraOptionsInput } from './sim/options.js';
// Ground truth of the simulated particles, for runs that store it next to the frames.
export { simParticlePositions, type SimParticle } from './sim/particles.js';

export const simCameraSpecSchema = simCameraOptionsSchema.extend({ driver: z.literal('sim') });

/** Strict per driver, defaults applied: for config files and command lines. */
export const cameraSpecSchema = z.discriminatedUnion('driver', [simCameraSpecSchema]);

/** As a user writes it: `driver` plus that driver's options, each optional. */
export type CameraSpec = z.input<typeof cameraSpecSchema>;
/** Validated, defaults applied. */
export type ResolvedCameraSpec = Readonly<z.output<typeof cameraSpecSchema>>;
export type CameraDriver = CameraSpec['driver'];

export const CAMERA_DRIVERS: readonly CameraDriver[] = cameraSpecSchema.options.map((option) => option.shape.driver.value);

/**
 * Validates a spec from any source (config file, command line, IPC). Throws
 * LabcastError BAD_ARGUMENT whose `field` is the option's name ("driver", "width"...).
 */
export function parseCameraSpec(input: unknown): ResolvedCameraSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new LabcastError('BAD_ARGUMENT', 'a camera spec must be an object with a "driver" field');
  }
  const { driver, ...options } = input as Record<string, unknown>;
  switch (driver) {
    case 'sim':
      return Object.freeze({ driver, ...parseSimCameraOptions(options) });
    default:
      throw new LabcastError(
        'BAD_ARGUMENT',
        `unknown camera driver ${describeDriver(driver)}; known drivers: ${CAMERA_DRIVERS.join(', ')}`,
        'driver',
      );
  }
}

/** A closed camera for `spec` (a CameraSpec, validated here as by parseCameraSpec). */
export function createCamera(spec: CameraSpec | ResolvedCameraSpec | unknown): Camera {
  const resolved = parseCameraSpec(spec);
  switch (resolved.driver) {
    case 'sim': {
      const { driver: _driver, ...options } = resolved;
      return new SimCamera(options);
    }
  }
}

function describeDriver(value: unknown): string {
  return value === undefined ? '(none)' : (JSON.stringify(value) ?? String(value));
}
