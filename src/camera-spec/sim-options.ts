import { z } from 'zod';
import { PIXEL_DTYPES, type PixelDtype } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';

export const SIM_PATTERNS = ['noise', 'gradient', 'particles'] as const;
export type SimPattern = (typeof SIM_PATTERNS)[number];

export const SIM_MIN_BIT_DEPTH = 8;
export const SIM_MAX_BIT_DEPTH = 16;
/** The default sensor: a 12-bit CMOS camera stored in uint16. */
export const SIM_DEFAULT_BIT_DEPTH = 12;

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
    // Both optional: each defaults from the other (see resolvePixelFormat).
    dtype: z.enum(PIXEL_DTYPES).optional().describe('pixel type; default uint8 for bit_depth 8, else uint16'),
    bit_depth: z
      .number()
      .int()
      .min(SIM_MIN_BIT_DEPTH)
      .max(SIM_MAX_BIT_DEPTH)
      .optional()
      .describe('significant bits per sample (the ADC): values clip at 2^bit_depth - 1; default 8 for dtype uint8, else 12'),
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
/** Resolved: defaults applied, everything checked; dtype and bit_depth always present. */
export type SimCameraOptions = Readonly<
  Omit<z.output<typeof simCameraOptionsSchema>, 'dtype' | 'bit_depth'> & { dtype: PixelDtype; bit_depth: number }
>;

/** Throws LabcastError BAD_ARGUMENT naming the offending option. */
export function parseSimCameraOptions(input: unknown): SimCameraOptions {
  const result = simCameraOptionsSchema.safeParse(input ?? {});
  if (result.success) return Object.freeze({ ...result.data, ...resolvePixelFormat(result.data.dtype, result.data.bit_depth) });
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

/**
 * dtype and bit_depth from whichever was given: bit depth 8 is stored in
 * uint8, deeper ones in uint16; a dtype alone means 8 bits (uint8) or the
 * default 12 (uint16). Both given: the bits must fit the dtype (throws
 * BAD_ARGUMENT naming bit_depth; see pixelFormatProblem).
 */
export function resolvePixelFormat(dtype: PixelDtype | undefined, bitDepth: number | undefined): { dtype: PixelDtype; bit_depth: number } {
  const problem = pixelFormatProblem(dtype, bitDepth);
  if (problem !== undefined) throw new LabcastError('BAD_ARGUMENT', `simulated camera option "bit_depth": ${problem}`, 'bit_depth');
  if (dtype === undefined) {
    const bits = bitDepth ?? SIM_DEFAULT_BIT_DEPTH;
    return { dtype: bits <= 8 ? 'uint8' : 'uint16', bit_depth: bits };
  }
  return { dtype, bit_depth: bitDepth ?? (dtype === 'uint8' ? 8 : SIM_DEFAULT_BIT_DEPTH) };
}

/** Why bit_depth does not fit dtype, or undefined when it does (or either is left to default). */
export function pixelFormatProblem(dtype: PixelDtype | undefined, bitDepth: number | undefined): string | undefined {
  if (dtype === undefined || bitDepth === undefined) return undefined;
  const dtypeBits = dtype === 'uint8' ? 8 : 16;
  if (bitDepth <= dtypeBits) return undefined;
  return `${bitDepth} bits do not fit dtype ${dtype} (at most ${dtypeBits}); use dtype uint16, or leave dtype out (it follows bit_depth)`;
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
