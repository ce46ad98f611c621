import { z } from 'zod';
import { cameraSpecSchema } from '../camera-spec/camera-spec.js';
import { checkEndpoint, DEFAULT_ENDPOINTS } from '../protocol/endpoints.js';
import { ANALYSIS_NAME_PATTERN, ANALYSIS_NAME_RULE } from '../protocol/analysis.js';
import { CODECS, compressionFrom } from '../protocol/compression.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS } from '../log/logger.js';
import { namingPatternProblem } from './naming.js';

/**
 * The whole `labcast serve` config: every section strict (an unknown key is an
 * error, so a typo never silently falls back to a default) and every key
 * defaulted, so an empty file — or no file — is a working config.
 * docs/config.md is the reference for users; keep the two in step.
 */

// The naming rules live in naming.ts, so that `labcast record` checks an output
// path without loading this schema.
export { NAMING_PLACEHOLDERS, UNIQUE_NAMING_PLACEHOLDERS, namingPatternProblem, type NamingPlaceholder } from './naming.js';

const namingSchema = z.string().superRefine((pattern, ctx) => {
  const problem = namingPatternProblem(pattern);
  if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

/** A ZeroMQ endpoint that processes other than the binding one can reach. */
const endpointSchema = z.string().superRefine((endpoint, ctx) => {
  try {
    checkEndpoint(endpoint, 'endpoint');
  } catch {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: 'is not a ZeroMQ endpoint; expected tcp://HOST:PORT, tcp://HOST:* or ipc://PATH',
    });
    return;
  }
  // serve runs the camera, saver and controller in separate processes, and inproc
  // only connects sockets inside one process.
  if (endpoint.startsWith('inproc://')) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: 'inproc:// only works inside one process; labcast serve needs tcp://HOST:PORT or ipc://PATH',
    });
  }
});

const endpointsSchema = z
  .object({
    data: endpointSchema.default(DEFAULT_ENDPOINTS.data).describe('every frame, for viewers and analysis'),
    control: endpointSchema.default(DEFAULT_ENDPOINTS.control).describe('control requests to the controller'),
    record: endpointSchema.default(DEFAULT_ENDPOINTS.record).describe('the lossless path to the saver'),
    status: endpointSchema.default(DEFAULT_ENDPOINTS.status).describe('status updates from the controller'),
    results: endpointSchema.default(DEFAULT_ENDPOINTS.results).describe('analysis results, for subscribers (XPUB)'),
    results_in: endpointSchema.default(DEFAULT_ENDPOINTS.results_in).describe('where analysis processes publish results (XSUB)'),
  })
  .strict()
  .superRefine((endpoints, ctx) => {
    // Each endpoint is bound by one socket; a second bind to the same address fails
    // at start with a less helpful message. A wildcard port is a fresh port each time.
    const seen = new Map<string, string>();
    for (const [role, endpoint] of Object.entries(endpoints)) {
      if (endpoint.endsWith(':*')) continue;
      const first = seen.get(endpoint);
      if (first === undefined) {
        seen.set(endpoint, role);
      } else {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [role],
          message: `is the same as endpoints.${first}; every endpoint must be different`,
        });
      }
    }
  });

const webSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('address the web UI listens on'),
    port: z.number().int().min(0).max(65535).default(8080).describe('web UI port; 0 = any free port'),
    token_file: z
      .string()
      .min(1)
      .optional()
      .describe('file holding the access token of the web UI; without it, one is made at start when web.host is not loopback'),
  })
  .strict();

const storageSchema = z
  .object({
    data_dir: z.string().min(1).default('./data').describe('where recordings go'),
    naming: namingSchema.default('run_{n}.h5').describe('file name pattern'),
    date_folders: z.boolean().default(false).describe('put each day’s files in data_dir/YYYY-MM-DD/'),
    allow_absolute_paths: z.boolean().default(false).describe('let commands name files outside data_dir'),
    overwrite: z.boolean().default(false).describe('let commands replace an existing file'),
    compression: z
      .enum(CODECS)
      .default('none')
      .describe('lossless compression of the frames: none, lz4, bitshuffle-lz4 or zstd (docs/hdf5-layout.md#compression)'),
    compression_level: z.number().int().optional().describe('the codec’s level, for codecs that have one (zstd: 1-9, default 1)'),
  })
  .strict()
  .superRefine((storage, ctx) => {
    try {
      compressionFrom(storage.compression, storage.compression_level, { codec: 'compression', level: 'compression_level' });
    } catch (error) {
      const field = (error as { field?: string }).field ?? 'compression';
      // The message without its own field prefix: zod's path names the key.
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [field],
        message: (error as Error).message.replace(`${field}: `, ''),
        params: { complete: true },
      });
    }
  });

const saverSchema = z
  .object({
    flush_interval_ms: z.number().int().min(10).max(600_000).default(1000).describe('frames are flushed to disk at least this often'),
    buffer_mb: z
      .number()
      .finite()
      .min(0.1)
      .max(1_000_000)
      .default(512)
      .describe('camera-side buffer on the lossless path before frames are dropped'),
    mode: z
      .enum(['local', 'remote'])
      .default('local')
      .describe('local: a saver process of serve saves each recording; remote: a `labcast save` elsewhere saves'),
    remote_timeout_s: z
      .number()
      .finite()
      .min(0.1)
      .max(3600)
      .default(10)
      .describe('remote mode: how long a recording waits for the remote saver to connect'),
  })
  .strict();

/**
 * ZeroMQ CURVE: with a key pair every socket serve binds is a CURVE server and
 * every labcast client of it a CURVE client. Required (load-config.ts checks)
 * when the data, control, record or status endpoint is not on loopback.
 */
const securitySchema = z
  .object({
    server_public_key_file: z
      .string()
      .min(1)
      .optional()
      .describe('public key of this serve (labcast keys: NAME.key); clients are given it'),
    server_secret_key_file: z.string().min(1).optional().describe('its secret key (NAME.key_secret, mode 0600)'),
  })
  .strict()
  .superRefine((security, ctx) => {
    const given = (security.server_public_key_file === undefined ? 0 : 1) + (security.server_secret_key_file === undefined ? 0 : 1);
    if (given !== 1) return;
    const missing = security.server_public_key_file === undefined ? 'server_public_key_file' : 'server_secret_key_file';
    const other = missing === 'server_public_key_file' ? 'server_secret_key_file' : 'server_public_key_file';
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: [missing],
      message: `is required with security.${other}: give both files of the key pair (labcast keys)`,
    });
  });

/** How much serve and the processes it starts write to stderr; LABCAST_LOG_LEVEL overrides it. */
const logSchema = z
  .object({
    level: z.enum(LOG_LEVELS).default(DEFAULT_LOG_LEVEL).describe('debug, info, warn, error or silent'),
  })
  .strict();

// ---- analysis (docs/analysis.md) ----

const analysisCommon = {
  autostart: z.boolean().default(false).describe('start it when labcast serve starts'),
};

const statsAnalysisSchema = z
  .object({
    kind: z.literal('stats'),
    ...analysisCommon,
    options: z
      .object({
        bins: z.number().int().min(1).max(65536).default(256).describe('histogram bins'),
        low: z.number().finite().optional().describe('histogram range start (default 0)'),
        high: z.number().finite().optional().describe('histogram range end, exclusive (default the dtype maximum + 1)'),
      })
      .strict()
      .default({}),
  })
  .strict();

const localizeAnalysisSchema = z
  .object({
    kind: z.literal('localize'),
    ...analysisCommon,
    options: z
      .object({
        threshold: z.number().min(0).max(1000).default(5).describe('detection threshold in noise sigmas'),
        neighbourhood: z.number().int().min(1).max(64).default(1).describe('local-maximum radius, px'),
        window_radius: z.number().int().min(1).max(32).default(4).describe('fit window half-size, px'),
        iterations: z.number().int().min(0).max(1000).default(20).describe('Levenberg–Marquardt iterations'),
        min_separation: z.number().min(0).max(1000).default(1).describe('spots closer than this to a brighter one are dropped'),
        max_spots: z.number().int().min(0).max(10_000_000).default(10_000).describe('most spots per frame'),
        link_distance: z.number().min(0).max(1000).default(3).describe('link spots into tracks within this distance, px; 0 = no tracks'),
        link_gap: z.number().int().min(0).max(1000).default(2).describe('analysed frames a track may miss and still continue'),
      })
      .strict()
      .default({}),
  })
  .strict();

const moduleAnalysisSchema = z
  .object({
    kind: z.literal('module'),
    ...analysisCommon,
    module: z.string().min(1).describe('path of the JavaScript module; relative to the working directory of labcast serve'),
    options: z.record(z.unknown()).default({}).describe('passed to the module as its second argument'),
  })
  .strict();

const analysisSchema = z.discriminatedUnion('kind', [statsAnalysisSchema, localizeAnalysisSchema, moduleAnalysisSchema]);

/** Analyses by name: `analysis: {spots: {kind: localize}}`; `stats` and `localize` exist even when not listed. */
const analysesSchema = z.record(z.string().regex(ANALYSIS_NAME_PATTERN, `must be ${ANALYSIS_NAME_RULE}`), analysisSchema);

export const labcastConfigSchema = z
  .object({
    camera: cameraSpecSchema.default({ driver: 'sim' }),
    settings: z.record(z.number().finite()).default({}).describe('initial camera settings'),
    endpoints: endpointsSchema.default({}),
    web: webSchema.default({}),
    storage: storageSchema.default({}),
    saver: saverSchema.default({}),
    security: securitySchema.default({}),
    log: logSchema.default({}),
    analysis: analysesSchema.default({}).describe('analysis processes by name'),
  })
  .strict();

type DeepReadonly<T> = T extends (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]: DeepReadonly<T[Key]> }
    : T;

/** As a user writes it: every key optional. */
export type LabcastConfigInput = z.input<typeof labcastConfigSchema>;
/** Validated, defaults applied, storage.data_dir absolute, frozen. */
export type LabcastConfig = DeepReadonly<z.output<typeof labcastConfigSchema>>;
export type StorageConfig = LabcastConfig['storage'];
export type EndpointsConfig = LabcastConfig['endpoints'];
export type WebConfig = LabcastConfig['web'];
export type SaverConfig = LabcastConfig['saver'];
export type SecurityConfig = LabcastConfig['security'];
export type AnalysisConfig = LabcastConfig['analysis'][string];
