import { z } from 'zod';
import { LabcastError } from '../protocol/errors.js';
import { fileCameraSpecSchema, lavfiCameraSpecSchema, urlCameraSpecSchema, v4l2CameraSpecSchema } from './ffmpeg-spec.js';
import { genicamCameraSpecSchema } from './genicam-spec.js';
import { replayCameraSpecSchema } from './replay-spec.js';
import { parseSimCameraOptions, pixelFormatProblem, resolvePixelFormat, simCameraOptionsSchema } from './sim-options.js';

/**
 * What a camera is, as a user names it (a config file's `camera`, `labcast record
 * --camera`, the acquisition process's start message): one spec per driver, strict,
 * defaults applied. Pure, so that the config can check a camera without loading a
 * driver; devices/registry.ts makes the camera. A new driver adds its spec schema
 * here (a member of cameraSpecUnionSchema and, if it has one, a string form).
 */

export const simCameraSpecSchema = simCameraOptionsSchema.extend({ driver: z.literal('sim') });

/**
 * Options of any driver that say what the camera looks at rather than how to
 * drive it: the driver ignores them; the web UI's scale bar and the recording's
 * detector group (NeXus x_pixel_size / y_pixel_size) use them.
 */
const opticsShape = {
  pixel_size_um: z
    .number()
    .finite()
    .positive()
    .max(10_000)
    .optional()
    .describe('size of one camera pixel in the sample plane, µm (pixel pitch / magnification)'),
};

/** Strict per driver, defaults applied. */
export const cameraSpecUnionSchema = z.discriminatedUnion('driver', [
  simCameraSpecSchema.extend(opticsShape),
  v4l2CameraSpecSchema.extend(opticsShape),
  fileCameraSpecSchema.extend(opticsShape),
  urlCameraSpecSchema.extend(opticsShape),
  lavfiCameraSpecSchema.extend(opticsShape),
  replayCameraSpecSchema.extend(opticsShape),
  genicamCameraSpecSchema.extend(opticsShape),
]);

/** The string forms, as `labcast record --camera` and the config file take them. */
export const CAMERA_STRING_FORMS = ['sim', 'v4l2:DEVICE', 'file:PATH', 'url:URL', 'lavfi:GRAPH', 'replay:FILE.h5', 'genicam:ID'] as const;

/** As a user writes it: a string form, or `driver` plus that driver's options, each optional. */
export type CameraSpec = z.input<typeof cameraSpecUnionSchema> | string;
/** Validated, defaults applied. */
export type ResolvedCameraSpec = Readonly<z.output<typeof cameraSpecUnionSchema>>;
export type CameraDriver = z.input<typeof cameraSpecUnionSchema>['driver'];

export const CAMERA_DRIVERS: readonly CameraDriver[] = cameraSpecUnionSchema.options.map((option) => option.shape.driver.value);

/**
 * A string form as a spec object: `sim`, `v4l2:/dev/video0` (or `v4l2:0`),
 * `file:clip.mp4`, `url:rtsp://host/stream`, `lavfi:testsrc2=size=320x240:rate=30`,
 * `replay:run.h5`, `genicam:ID` (device id, IP address, MAC or serial number
 * of a GigE Vision / USB3 Vision camera), or a JSON object. Throws BAD_ARGUMENT (field "camera").
 */
export function cameraSpecFromString(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new LabcastError('BAD_ARGUMENT', `camera ${JSON.stringify(text)} is not valid JSON (${(error as Error).message})`, 'camera');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new LabcastError('BAD_ARGUMENT', 'a camera given as JSON must be an object with a "driver" field', 'camera');
    }
    return parsed as Record<string, unknown>;
  }
  if (trimmed === 'sim') return { driver: 'sim' };
  const colon = trimmed.indexOf(':');
  const kind = colon < 0 ? trimmed : trimmed.slice(0, colon);
  const rest = colon < 0 ? '' : trimmed.slice(colon + 1);
  const key = ({ v4l2: 'device', file: 'path', url: 'url', lavfi: 'graph', replay: 'path', genicam: 'id' } as Record<string, string>)[kind];
  if (key === undefined) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `unknown camera ${JSON.stringify(text)}; expected one of: ${CAMERA_STRING_FORMS.join(', ')}`,
      'camera',
    );
  }
  if (rest === '')
    throw new LabcastError(
      'BAD_ARGUMENT',
      `camera ${JSON.stringify(text)}: nothing after "${kind}:"; expected ${kind}:${key.toUpperCase()}`,
      'camera',
    );
  const value = kind === 'v4l2' && /^\d+$/.test(rest) ? `/dev/video${rest}` : rest;
  return { driver: kind, [key]: value };
}

/** The registry's schema for config files: a string form or an object, strict per driver. */
export const cameraSpecSchema = z
  .preprocess((value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      return cameraSpecFromString(value);
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message, fatal: true });
      return z.NEVER;
    }
  }, cameraSpecUnionSchema)
  .transform((spec, ctx) => {
    if (spec.driver !== 'sim') return spec;
    // A simulated camera's dtype and bit_depth each default from the other, as parseSimCameraOptions does.
    const problem = pixelFormatProblem(spec.dtype, spec.bit_depth);
    if (problem === undefined) return { ...spec, ...resolvePixelFormat(spec.dtype, spec.bit_depth) };
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bit_depth'], message: problem, params: { complete: true }, fatal: true });
    return z.NEVER;
  });

const SCHEMA_OF: Record<string, z.ZodTypeAny> = Object.fromEntries(
  cameraSpecUnionSchema.options.map((option) => [option.shape.driver.value, option]),
);

/**
 * Validates a spec from any source (config file, command line, IPC). Throws
 * LabcastError BAD_ARGUMENT whose `field` is the option's name ("driver", "width"...),
 * or "camera" for a string form that cannot be read.
 */
export function parseCameraSpec(input: unknown): ResolvedCameraSpec {
  const spec = typeof input === 'string' ? cameraSpecFromString(input) : input;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `a camera spec must be an object with a "driver" field, or one of: ${CAMERA_STRING_FORMS.join(', ')}`,
    );
  }
  const { driver, ...options } = spec as Record<string, unknown>;
  if (driver === 'sim') {
    const { pixel_size_um: pixelSize, ...simOptions } = options;
    const optics = z.object(opticsShape).safeParse({ pixel_size_um: pixelSize });
    if (!optics.success) {
      throw new LabcastError(
        'BAD_ARGUMENT',
        `sim camera option "pixel_size_um": ${optics.error.issues[0]?.message ?? 'invalid'}`,
        'pixel_size_um',
      );
    }
    const optical = optics.data.pixel_size_um === undefined ? {} : { pixel_size_um: optics.data.pixel_size_um };
    return Object.freeze({ driver, ...parseSimCameraOptions(simOptions), ...optical });
  }
  const schema = typeof driver === 'string' ? SCHEMA_OF[driver] : undefined;
  if (schema === undefined) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `unknown camera driver ${describeDriver(driver)}; known drivers: ${CAMERA_DRIVERS.join(', ')}`,
      'driver',
    );
  }
  const result = schema.safeParse(spec);
  if (result.success) return Object.freeze(result.data as ResolvedCameraSpec);
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const known = Object.keys((schema as z.AnyZodObject).shape as z.ZodRawShape)
      .filter((key) => key !== 'driver')
      .join(', ');
    throw new LabcastError(
      'BAD_ARGUMENT',
      `unknown ${String(driver)} camera option ${issue.keys.map((key) => `"${key}"`).join(', ')}; known options: ${known}`,
      issue.keys[0],
    );
  }
  const field = issue?.path.join('.') ?? 'driver';
  throw new LabcastError('BAD_ARGUMENT', `${String(driver)} camera option "${field}": ${issue?.message ?? 'invalid'}`, field);
}

function describeDriver(value: unknown): string {
  return value === undefined ? '(none)' : (JSON.stringify(value) ?? typeof value);
}
