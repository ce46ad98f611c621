import { z } from 'zod';

/**
 * The options of a GenICam camera (`driver: genicam`), as a config file or
 * `--camera '{...}'` gives them; `genicam:ID` is the same with only `id`.
 */

export const TRIGGER_MODES = ['off', 'software', 'external'] as const;

/** labcast's names for TriggerActivation entries, and the GenICam (SFNC) entry each means. */
export const TRIGGER_ACTIVATIONS = {
  rising_edge: 'RisingEdge',
  falling_edge: 'FallingEdge',
  any_edge: 'AnyEdge',
  level_high: 'LevelHigh',
  level_low: 'LevelLow',
} as const;

export const AVAILABLE_INTERFACES = ['GigEVision', 'USB3Vision', 'Fake'] as const;

const featureValue = z.union([z.number().finite(), z.string(), z.boolean()]);

export const genicamTriggerSchema = z
  .object({
    mode: z.enum(TRIGGER_MODES).default('off'),
    /** TriggerSource for external triggers, e.g. Line0. */
    source: z.string().min(1).optional(),
    activation: z.enum(Object.keys(TRIGGER_ACTIVATIONS) as [keyof typeof TRIGGER_ACTIVATIONS]).optional(),
    /** A trigger with no frame within this time is counted as missed (default: 1 s plus the exposure). */
    timeout_ms: z.number().finite().positive().max(3_600_000).optional(),
  })
  .strict();

export const genicamCameraSpecSchema = z
  .object({
    driver: z.literal('genicam'),
    id: z.string().min(1).describe('device id, IP address, MAC or serial number (labcast cameras lists them)'),
    pixel_format: z.string().min(1).optional().describe('PixelFormat entry, e.g. Mono8, Mono12, Mono12p, RGB8, BayerRG8'),
    trigger: genicamTriggerSchema.optional(),
    packet_size: z
      .union([z.literal('auto'), z.number().int().min(576).max(16384)])
      .default('auto')
      .describe("GigE Vision packet size in bytes, or 'auto' to negotiate the largest the network carries"),
    features: z.record(featureValue).optional().describe('GenICam features set at open, in order, by name: {BinningHorizontal: 2, ...}'),
    interfaces: z
      .array(z.enum(AVAILABLE_INTERFACES))
      .min(1)
      .optional()
      .describe("Aravis interfaces to search; default GigEVision and USB3Vision ('Fake' for ids Fake_*)"),
    buffers: z.number().int().min(2).max(1024).default(16).describe('stream buffers, allocated once per stream'),
  })
  .strict();

export type GenicamCameraSpec = z.output<typeof genicamCameraSpecSchema>;
export type GenicamTrigger = z.output<typeof genicamTriggerSchema>;
