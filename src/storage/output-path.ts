import { accessSync, closeSync, constants, existsSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, extname, join, resolve } from 'node:path';
import { namingPatternProblem, type NamingPlaceholder } from '../config/naming.js';
import { LabcastError } from '../protocol/errors.js';

/**
 * The mechanics of choosing an output file, shared by `labcast record --out`
 * and the data-directory policy of `labcast serve` (recording-paths.ts):
 * numbered names that never repeat, and a check that the file can be written
 * before any acquisition starts.
 */

/** Placeholder values other than {n}, which is found by scanning the folder. */
export type NamingValues = Readonly<Record<Exclude<NamingPlaceholder, 'n'>, string>>;

/** The next free `run_NNNN.h5` in `dir`, numbered after the highest one present. */
export function nextRunFileName(dir: string): string {
  return nextNumberedFileName(dir, 'run_{n}.h5');
}

/** The "_Name" a recording's name adds before the extension (recording-notes.ts fileNamePart). */
const NAMED_SUFFIX = /_[A-Za-z0-9-]+(\.[A-Za-z0-9]+)$/;

/**
 * The next free name for a storage.naming `pattern` in `dir`: {n} one above
 * the highest number in any name there that fits the pattern (whatever its
 * date, time or run), so numbering only ever goes up within a folder. ".h5" is
 * added to a pattern without extension. `values` fills the other placeholders
 * the pattern uses.
 */
export function nextNumberedFileName(dir: string, pattern: string, values: Partial<NamingValues> = {}): string {
  const problem = namingPatternProblem(pattern);
  if (problem !== undefined) {
    throw new LabcastError('BAD_CONFIG', `storage.naming ${JSON.stringify(pattern)} ${problem}`, 'storage.naming');
  }
  const tokens = tokenize(extname(pattern) === '' ? `${pattern}.h5` : pattern);
  const matcher = matcherFor(tokens);
  let highest = 0;
  for (const name of existingNames(dir)) {
    // A named recording's file has its name after the number (run_0003_Bead-test.h5): it counts too.
    const number = (matcher.exec(name) ?? matcher.exec(name.replace(NAMED_SUFFIX, '$1')))?.groups?.n;
    if (number !== undefined) highest = Math.max(highest, Number(number));
  }
  return tokens.map((token) => (token.kind === 'text' ? token.text : fill(token.name, highest + 1, values))).join('');
}

/**
 * Decides where a recording goes before anything starts, so a bad location
 * fails at once and no acquisition runs for nothing: a directory gets an
 * auto-numbered file; an existing file is replaced only if asked.
 */
export function resolveOutputPath(out: string, overwrite: boolean, field = '--out'): string {
  let path = resolve(out);
  const isFolder = existsSync(path) && statSync(path).isDirectory();
  // "runs/" names a folder: never a file called "runs" next to it.
  if (!isFolder && /[\\/]$/.test(out)) {
    throw new LabcastError(
      'OUTPUT_UNWRITABLE',
      existsSync(path)
        ? `${field}: ${out} ends with "/", so it names a folder, but ${path} is a file`
        : `${field}: folder ${path} does not exist (a path ending with "/" names a folder; create it first)`,
      field,
    );
  }
  if (isFolder) path = join(path, nextRunFileName(path));
  return checkOutputFile(path, { overwrite, field, overwriteHint: 'pass --overwrite to replace it' });
}

export interface OutputFileCheck {
  readonly overwrite: boolean;
  /** The flag or argument the path came from, named in errors. */
  readonly field?: string | undefined;
  /** How to ask for an existing file to be replaced, in the error that refuses it. */
  readonly overwriteHint?: string;
}

/**
 * `path` (absolute) once it is known to be writable: its folder exists and can
 * be written, and it is either new or a regular file that may be replaced.
 */
export function checkOutputFile(path: string, check: OutputFileCheck): string {
  const { overwrite, field } = check;
  const prefix = field === undefined ? '' : `${field}: `;
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      throw new LabcastError('OUTPUT_UNWRITABLE', `${prefix}${path} is a directory, not a file`, field);
    }
    if (!overwrite) {
      const hint = check.overwriteHint === undefined ? '' : `; ${check.overwriteHint}`;
      throw new LabcastError('OUTPUT_EXISTS', `${prefix}${path} already exists${hint}`, field);
    }
    if (!statSync(path).isFile()) {
      throw new LabcastError('OUTPUT_UNWRITABLE', `${prefix}${path} is not a regular file`, field);
    }
  }
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new LabcastError('OUTPUT_UNWRITABLE', `${prefix}directory ${dir} does not exist`, field);
  }
  try {
    accessSync(dir, constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.W_OK);
  } catch {
    throw new LabcastError('OUTPUT_UNWRITABLE', `${prefix}${path} cannot be written (permission denied)`, field);
  }
  const refusal = creationRefusal(dir);
  if (refusal !== null) throw new LabcastError('OUTPUT_UNWRITABLE', `${prefix}${path} cannot be created: ${refusal}`, field);
  return path;
}

/**
 * Why no file can be created in `dir`, or null if one can. Permission bits
 * are not enough: root passes access() in /proc or /sys, or on a read-only
 * mount, where creating still fails; so a file is created and removed.
 */
function creationRefusal(dir: string): string | null {
  const probe = join(dir, `.labcast-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    return CREATE_ERRORS[code ?? ''] ?? message;
  }
  try {
    unlinkSync(probe);
  } catch {
    // Created but not removable: the folder is writable, which is what was asked.
  }
  return null;
}

const CREATE_ERRORS: Record<string, string> = {
  ENOENT: 'files cannot be created in that folder',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};

type Token = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'placeholder'; readonly name: NamingPlaceholder };

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  for (const match of pattern.matchAll(/\{(n|date|time|run)\}/g)) {
    if (match.index > last) tokens.push({ kind: 'text', text: pattern.slice(last, match.index) });
    tokens.push({ kind: 'placeholder', name: match[1] as NamingPlaceholder });
    last = match.index + match[0].length;
  }
  if (last < pattern.length) tokens.push({ kind: 'text', text: pattern.slice(last) });
  return tokens;
}

/** What each placeholder can have produced; {n} has at least 4 digits, as labcast writes it. */
const PLACEHOLDER_SOURCE: Record<NamingPlaceholder, string> = {
  n: '(?<n>\\d{4,})',
  date: '\\d{4}-\\d{2}-\\d{2}',
  time: '\\d{6}',
  run: '[A-Za-z0-9_-]{1,8}',
};

function matcherFor(tokens: readonly Token[]): RegExp {
  const source = tokens
    .map((token) => (token.kind === 'text' ? token.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : PLACEHOLDER_SOURCE[token.name]))
    .join('');
  return new RegExp(`^${source}$`);
}

function fill(name: NamingPlaceholder, n: number, values: Partial<NamingValues>): string {
  if (name === 'n') return String(n).padStart(4, '0');
  const value = values[name];
  if (value === undefined) throw new Error(`naming placeholder {${name}} used without a value`);
  return value;
}

function existingNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    // A folder about to be created holds no numbers yet.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
