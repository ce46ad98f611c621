import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z, type ZodIssue, type ZodTypeAny } from 'zod';
import { LabcastError } from '../protocol/errors.js';
import { isLoopbackEndpoint } from '../protocol/endpoints.js';
import { closestKey } from './closest-key.js';
import { renamedKeyWarning, withCurrentCameraOptionNames } from './renamed-keys.js';
import { labcastConfigSchema, type LabcastConfig } from './schema.js';

/**
 * Reads the config once at start and hands out a frozen object, so no part of a
 * running labcast can see a config different from the one that was validated.
 * Every error is LabcastError BAD_CONFIG whose `field` is the dotted path of the
 * first bad key and whose message says where (file:line:column), what is wrong
 * and what is allowed.
 */

/** Says something about the config that is not an error: a deprecated key, for now. */
export type ConfigWarn = (message: string) => void;

const warnOnStderr: ConfigWarn = (message) => {
  process.stderr.write(`labcast: warning: ${message}\n`);
};

/** The config in the YAML file at `path`, or the defaults when there is no path. */
export function loadConfig(path?: string, warn: ConfigWarn = warnOnStderr): LabcastConfig {
  if (path === undefined) return parseConfig({}, 'the default config', process.cwd(), warn);
  const file = resolve(path);
  const text = readConfigText(path, file);
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem !== undefined) {
    const { line, col } = lines.linePos(problem.pos[0]);
    throw new LabcastError('BAD_CONFIG', `${path}:${line}:${col}: YAML syntax error: ${problem.message}`);
  }
  let value: unknown;
  try {
    value = document.toJS();
  } catch (error) {
    // An alias to an anchor that is not defined, or one that expands too much.
    throw new LabcastError('BAD_CONFIG', `${path}: ${(error as Error).message}`);
  }
  return validate(value, path, dirname(file), (fieldPath, key) => positionIn(document, lines, fieldPath, key), warn);
}

/**
 * A config error about camera settings found once the camera is known
 * (src/devices/settings-check.ts): every problem as `settings.NAME`, at its
 * file:line:column, as every other config error.
 */
export function settingsConfigError(path: string | undefined, problems: readonly { name: string; message: string }[]): LabcastError {
  const issues: ZodIssue[] = problems.map((problem) => ({
    code: z.ZodIssueCode.custom,
    path: ['settings', problem.name],
    message: problem.message,
    params: { complete: true },
  }));
  if (path === undefined) return configError(issues, {}, 'the default config', () => undefined);
  const lines = new LineCounter();
  const document = parseDocument(readConfigText(path, resolve(path)), { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  return configError(issues, document.toJS(), path, (fieldPath, key) => positionIn(document, lines, fieldPath, key));
}

/**
 * Validates an already-parsed config (from YAML, JSON or a test). `source` names
 * it in messages; a relative storage.data_dir is taken relative to `baseDir`.
 */
export function parseConfig(
  value: unknown,
  source: string,
  baseDir: string = process.cwd(),
  warn: ConfigWarn = warnOnStderr,
): LabcastConfig {
  return validate(value, source, baseDir, () => undefined, warn);
}

type FieldPath = readonly (string | number)[];
/** "line:column" of a field in the source text, when there is a source text. */
type Locate = (path: FieldPath, unknownKey?: string) => string | undefined;

function readConfigText(given: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${(error as Error).message})`;
    throw new LabcastError('BAD_CONFIG', `config file ${given} ${why} (looked at ${file})`);
  }
}

function validate(value: unknown, source: string, baseDir: string, locate: Locate, warn: ConfigWarn): LabcastConfig {
  // An empty file is the default config.
  const given = value === null || value === undefined ? {} : value;
  if (!isPlainObject(given)) {
    throw new LabcastError(
      'BAD_CONFIG',
      `${source}: the config must be a mapping of sections (camera, storage, ...), got ${describeGiven(given)}`,
    );
  }
  const input = withRenamedKeys(given, source, locate, warn);
  const result = labcastConfigSchema.safeParse(withEmptySectionsDropped(input));
  if (!result.success) throw configError(result.error.issues, input, source, locate);
  const config = result.data;
  const unsecured = endpointsNeedingCurve(config);
  if (unsecured.length > 0) throw configError(unsecured, input, source, locate);
  config.storage.data_dir = resolveDataDir(config.storage.data_dir, baseDir);
  // Key and token files, like data_dir, are relative to the config file's folder.
  const { security, web } = config;
  if (security.server_public_key_file !== undefined)
    security.server_public_key_file = resolveDataDir(security.server_public_key_file, baseDir);
  if (security.server_secret_key_file !== undefined)
    security.server_secret_key_file = resolveDataDir(security.server_secret_key_file, baseDir);
  if (web.token_file !== undefined) web.token_file = resolveDataDir(web.token_file, baseDir);
  return deepFreeze(config);
}

/** `input` with old camera option names (camelCase) renamed, each with a warning saying where it is. */
function withRenamedKeys(input: Record<string, unknown>, source: string, locate: Locate, warn: ConfigWarn): Record<string, unknown> {
  if (!isPlainObject(input.camera)) return input;
  const camera = withCurrentCameraOptionNames(input.camera, (oldKey, newKey) => {
    const position = locate(['camera'], oldKey);
    warn(renamedKeyWarning(`${position === undefined ? source : `${source}:${position}`}: camera: `, oldKey, newKey));
  });
  return { ...input, camera };
}

/** Endpoints whose sockets serve binds and that ZeroMQ CURVE must guard. */
const CURVE_GUARDED_ENDPOINTS = ['data', 'control', 'record', 'status', 'results', 'results_in'] as const;

/**
 * An endpoint other machines can reach (not 127.0.0.0/8, ::1, ipc://) lets
 * anyone on the network take the frames or drive the camera, unless CURVE
 * keys are configured: then only clients holding the server's public key get in.
 */
function endpointsNeedingCurve(config: z.output<typeof labcastConfigSchema>): ZodIssue[] {
  if (config.security.server_secret_key_file !== undefined) return [];
  return CURVE_GUARDED_ENDPOINTS.filter((name) => !isLoopbackEndpoint(config.endpoints[name])).map((name) => ({
    code: z.ZodIssueCode.custom,
    path: ['endpoints', name],
    message:
      'binds an address other machines can reach, which needs ZeroMQ CURVE keys: ' +
      'set security.server_public_key_file and security.server_secret_key_file (make them with `labcast keys --out DIR`), ' +
      'or bind a loopback address (tcp://127.0.0.1:PORT) or ipc://PATH',
  }));
}

/**
 * A section whose keys are all commented out reads as null in YAML; it means
 * "the defaults", as if the section were not there.
 */
function withEmptySectionsDropped(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, section]) => section !== null));
}

function resolveDataDir(dataDir: string, baseDir: string): string {
  if (dataDir === '~' || dataDir.startsWith('~/')) return resolve(homedir(), dataDir.slice(2));
  return resolve(baseDir, dataDir);
}

function configError(issues: readonly ZodIssue[], input: unknown, source: string, locate: Locate): LabcastError {
  const problems: { field: string; text: string }[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    for (const problem of describeIssue(issue, input)) {
      // A number can fail several checks (not finite, too big); one message per field says it all.
      if (seen.has(problem.field)) continue;
      seen.add(problem.field);
      const position = locate(problem.path, problem.unknownKey);
      const where = position === undefined ? source : `${source}:${position}`;
      problems.push({ field: problem.field, text: `${where}: ${problem.field}: ${problem.message}` });
    }
  }
  const first = problems[0];
  if (first === undefined) return new LabcastError('BAD_CONFIG', `${source}: invalid config`);
  const message =
    problems.length === 1
      ? first.text
      : `${source}: ${problems.length} problems:\n${problems.map((problem) => `  ${problem.text}`).join('\n')}`;
  return new LabcastError('BAD_CONFIG', message, first.field);
}

interface Problem {
  /** Dotted, for people and for LabcastError.field. */
  readonly field: string;
  readonly path: FieldPath;
  readonly unknownKey?: string;
  readonly message: string;
}

function describeIssue(issue: ZodIssue, input: unknown): Problem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(objectShapeAt(path, input) ?? {});
    return issue.keys.map((key) => ({
      field: dotted([...path, key]),
      path,
      unknownKey: key,
      message: `unknown key${suggestion(key, known)}; known keys ${path.length === 0 ? 'at the top level' : 'here'}: ${known.join(', ')}`,
    }));
  }
  const given = valueAt(input, path);
  const got = given === undefined ? '' : ` (got ${describeGiven(given)})`;
  const expected = schemaAt(path, input);
  let message: string;
  if (issue.code === 'custom' && issue.params?.['complete'] === true) {
    message = issue.message;
  } else if (issue.code === 'invalid_union_discriminator' || issue.code === 'invalid_enum_value') {
    const options = issue.options.map((option) => String(option)).join(', ');
    message = given === undefined ? `is required; one of: ${options}` : `must be one of: ${options}${got}`;
  } else if (expected instanceof z.ZodNumber && (typeof given === 'number' || issue.code === 'invalid_type')) {
    message = `must be ${describeNumber(expected)}${got}`;
  } else if (issue.code === 'invalid_type') {
    message = given === undefined ? `is required (${describeType(issue.expected)})` : `must be ${describeType(issue.expected)}${got}`;
  } else if (issue.code === 'too_small' && issue.type === 'string') {
    message = 'must not be empty';
  } else {
    message = `${issue.message}${got}`;
  }
  return [{ field: dotted(path), path, message }];
}

/** E.g. "an integer in 1..8192" or "a number in 0.1..1000000". */
function describeNumber(schema: z.ZodNumber): string {
  const kind = schema.isInt ? 'an integer' : 'a number';
  const { minValue: min, maxValue: max } = schema;
  if (min !== null && max !== null) return `${kind} in ${min}..${max}`;
  if (min !== null) return `${kind} >= ${min}`;
  if (max !== null) return `${kind} <= ${max}`;
  return schema.isFinite ? `a finite ${kind.replace(/^an? /, '')}` : kind;
}

function describeType(type: string): string {
  switch (type) {
    case 'object':
      return 'a mapping (key: value lines)';
    case 'boolean':
      return 'true or false';
    case 'integer':
      return 'an integer';
    case 'array':
      return 'a list';
    default:
      return `a ${type}`;
  }
}

function describeGiven(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // JSON.stringify would print NaN and Infinity as null.
  if (typeof value === 'number') return String(value);
  // Only undefined, a function or a symbol has no JSON; none comes from YAML or JSON.
  return JSON.stringify(value) ?? typeof value;
}

/** ` (did you mean "x"?)` for a near miss of one known key: the usual typo. */
function suggestion(key: string, known: readonly string[]): string {
  const close = closestKey(key, known);
  return close !== undefined ? ` "${key}" (did you mean "${close}"?)` : ` "${key}"`;
}

/**
 * The schema that validated the value at `path`, seen through defaults and
 * refinements; for a camera, the schema of the driver the input names. Zod's
 * issues carry only the violated bound, and a message should give the whole
 * allowed range and the known keys.
 */
function schemaAt(path: FieldPath, input: unknown): ZodTypeAny | undefined {
  let schema: ZodTypeAny | undefined = unwrap(labcastConfigSchema, input);
  let value = input;
  for (const key of path) {
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, ZodTypeAny>)[String(key)];
    else if (schema instanceof z.ZodRecord) schema = schema.valueSchema as ZodTypeAny;
    else return undefined;
    value = valueAt(value, [key]);
    if (schema === undefined) return undefined;
    schema = unwrap(schema, value);
  }
  return schema;
}

function objectShapeAt(path: FieldPath, input: unknown): Record<string, ZodTypeAny> | undefined {
  const schema = schemaAt(path, input);
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, ZodTypeAny>) : undefined;
}

function unwrap(schema: ZodTypeAny, value: unknown): ZodTypeAny | undefined {
  let current: ZodTypeAny | undefined = schema;
  for (;;) {
    if (current instanceof z.ZodDefault) current = current.removeDefault() as ZodTypeAny;
    else if (current instanceof z.ZodOptional) current = current.unwrap() as ZodTypeAny;
    else if (current instanceof z.ZodEffects) current = current.innerType() as ZodTypeAny;
    else if (current instanceof z.ZodDiscriminatedUnion) {
      const union = current as z.ZodDiscriminatedUnion<string, z.ZodDiscriminatedUnionOption<string>[]>;
      const tag = isPlainObject(value) ? value[union.discriminator] : undefined;
      current = union.optionsMap.get(tag as z.Primitive) as ZodTypeAny | undefined;
    } else return current;
  }
}

/** "line:column" of the key (for an unknown key) or of the value at `path`, or of its nearest ancestor. */
function positionIn(document: Document, lines: LineCounter, path: FieldPath, unknownKey?: string): string | undefined {
  let offset: number | undefined;
  if (unknownKey !== undefined) {
    const map = path.length === 0 ? document.contents : document.getIn(path, true);
    if (isMap(map)) {
      const pair = map.items.find((item) => isScalar(item.key) && String(item.key.value) === unknownKey);
      if (pair !== undefined && isScalar(pair.key)) offset = pair.key.range?.[0];
    }
  }
  for (let depth = path.length; offset === undefined && depth > 0; depth--) {
    const node = document.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    offset = node?.range?.[0];
  }
  if (offset === undefined) return undefined;
  const { line, col } = lines.linePos(offset);
  return `${line}:${col}`;
}

function valueAt(input: unknown, path: FieldPath): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

function dotted(path: FieldPath): string {
  return path.length === 0 ? '(top level)' : path.join('.');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
