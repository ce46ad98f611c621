import { z } from 'zod';
import { PIXEL_DTYPES } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';

export const SIM_PATTERNS = ['noise', 'gradient', 'particles'] as const;
export type SimPattern = (typeof SIM_PATTERNS)[number];

/** Largest sensor side; keeps a frame (8192² uint16 = 128 MiB) allocatable. */
export const SIM_MAX_SIDE = 8192;

/**
 * What a simulated camera is built with. Fixed for the camera's life; what can
 * change while it runs is a setting (see devices/sim/sim-settings.ts).
 */
export const simCameraOptionsSchema = z
  .object({
    width: z.number().int().min(1).max(SIM_MAX_SIDE).default(640).describe('sensor width in pixels'),
    height: z.number().int().min(1).max(SIM_MAX_SIDE).default(480).describe('sensor height in pixels'),
    dtype: z.enum(PIXEL_DTYPES).default('uint16').describe('pixel type'),
    fps: z
      .number()
      .finite()
      .min(0)
      .max(1000)
      .default(30)
      .describe('frames per second while streaming; 0 = as fast as the consumer takes them'),
    pattern: z.enum(SIM_PATTERNS).default('particles').describe('what the simulated sensor sees'),
    particle_count: z.number().int().min(0).max(10_000).default(20).describe('number of drifting spots (pattern "particles")'),
    particle_sigma: z.number().min(0.5).max(50).default(2).describe('Gaussian sigma of each spot in pixels (pattern "particles")'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(0xffff_ffff)
      .default(1)
      .describe('frame content is a pure function of seed, settings and frame index'),
  })
  .strict();

/** As the user writes it: every field optional. */
export type SimCameraOptionsInput = z.input<typeof simCameraOptionsSchema>;
/** Resolved: defaults applied, everything checked. */
export type SimCameraOptions = Readonly<z.output<typeof simCameraOptionsSchema>>;

/** Throws LabcastError BAD_ARGUMENT naming the offending option. */
export function parseSimCameraOptions(input: unknown): SimCameraOptions {
  const result = simCameraOptionsSchema.safeParse(input ?? {});
  if (result.success) return Object.freeze(result.data);
  const issue = result.error.issues[0];
  if (issue === undefined) throw new LabcastError('BAD_ARGUMENT', 'invalid simulated camera options');
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(simCameraOptionsSchema.shape).join(', ');
    throw new LabcastError(
      'BAD_ARGUMENT',
      `unknown simulated camera option ${issue.keys.map((key) => `"${key}"`).join(', ')}; known options: ${known}`,
      issue.keys[0],
    );
  }
  const field = issue.path.join('.');
  const given = valueAt(input, issue.path);
  const got = given === undefined ? '' : ` (got ${describeGiven(given)})`;
  throw new LabcastError('BAD_ARGUMENT', `simulated camera option "${field}": ${issue.message}${got}`, field);
}

function describeGiven(value: unknown): string {
  // JSON.stringify would print NaN and Infinity as null.
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}
