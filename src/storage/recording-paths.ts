import { existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { StorageConfig } from '../config/schema.js';
import { LabcastError } from '../protocol/errors.js';
import { checkOutputFile, nextNumberedFileName, type NamingValues } from './output-path.js';

/**
 * Where `labcast serve` puts recordings: every file lands inside
 * storage.data_dir, named by storage.naming, unless the config explicitly lets
 * commands name absolute paths elsewhere.
 */

/**
 * Absolute path of the next auto-named recording: in data_dir (or its folder
 * for the day of `now`, created as needed), numbered after the highest {n}
 * already there. Never an existing file, whatever storage.overwrite says:
 * overwrite is for names someone asked for, not for names labcast made up.
 */
export function nextRecordingPath(storage: StorageConfig, runId: string, now: Date): string {
  const values = namingValues(runId, now);
  const root = resolve(storage.data_dir);
  const folder = storage.date_folders ? join(root, values.date) : root;
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new LabcastError('OUTPUT_UNWRITABLE', `cannot create the recording folder ${folder}: ${(error as Error).message}`);
  }
  const path = join(folder, nextNumberedFileName(folder, storage.naming, values));
  if (existsSync(path)) {
    // Only a pattern without {n} can get here: two recordings in the same second under {time}.
    throw new LabcastError(
      'OUTPUT_EXISTS',
      `${path} already exists; add {n} to storage.naming (now ${JSON.stringify(storage.naming)}) so that names never repeat`,
      'storage.naming',
    );
  }
  return checkOutputFile(path, { overwrite: false });
}

/**
 * Absolute path for a file name or relative path given by a command, inside
 * data_dir; ".h5" is added when the name has no extension and missing folders
 * inside data_dir are created. Refused with PATH_OUTSIDE_DATA_DIR: `..` that
 * leaves data_dir, an absolute path outside it (unless
 * storage.allow_absolute_paths), and a symbolic link, anywhere on the way,
 * that leads outside it. `field` names the command's argument in errors.
 */
export function resolveRequestedPath(storage: StorageConfig, requested: string, field?: string): string {
  const prefix = field === undefined ? '' : `${field}: `;
  if (requested.trim() === '' || requested.includes('\0')) {
    throw new LabcastError('BAD_ARGUMENT', `${prefix}${JSON.stringify(requested)} is not a file name`, field);
  }
  if (/[/\\]$/.test(requested)) {
    throw new LabcastError('BAD_ARGUMENT', `${prefix}${requested} names a folder; give a file name`, field);
  }
  const named = extname(requested) === '' ? `${requested}.h5` : requested;
  const root = resolve(storage.data_dir);
  // Lexical first: `..` is folded here, so the path returned has none left for the OS to follow.
  const target = resolve(root, named);
  const overwriteHint = 'set storage.overwrite: true in the config to replace files';
  if (!isInside(root, target)) {
    if (!isAbsolute(named)) {
      throw outside(`${prefix}${requested} leads outside the data directory ${root}`, field);
    }
    if (!storage.allow_absolute_paths) {
      throw outside(
        `${prefix}${requested} is outside the data directory ${root}; ` +
          `absolute paths elsewhere need storage.allow_absolute_paths: true in the config`,
        field,
      );
    }
    // Allowed explicitly: the folder must already exist, labcast creates none outside data_dir.
    return checkOutputFile(target, { overwrite: storage.overwrite, field, overwriteHint });
  }
  const realRoot = realLocation(root);
  const realTarget = realLocation(target);
  if (!isInside(realRoot, realTarget)) {
    throw outside(
      `${prefix}${requested} leads outside the data directory ${root} through a symbolic link (it resolves to ${realTarget})`,
      field,
    );
  }
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (error) {
    throw new LabcastError('OUTPUT_UNWRITABLE', `${prefix}cannot create the folder ${dirname(target)}: ${(error as Error).message}`, field);
  }
  return checkOutputFile(target, { overwrite: storage.overwrite, field, overwriteHint });
}

/** {date}, {time} in local time, as the lab's clock on the wall reads them; {run} safe in a file name. */
export function namingValues(runId: string, now: Date): NamingValues {
  const two = (value: number): string => String(value).padStart(2, '0');
  return {
    date: `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`,
    time: `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`,
    run: runId.slice(0, 8).replace(/[^A-Za-z0-9_-]/g, '_'),
  };
}

/** True when `path` is strictly below `root` (both absolute and normalised). */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Where `path` really is once every symbolic link on the way is followed,
 * including a link at the end whose target does not exist yet (writing through
 * it would create the target). Parts that do not exist are kept as written.
 */
function realLocation(path: string, hops = 0): string {
  if (hops > 40) throw new LabcastError('OUTPUT_UNWRITABLE', `${path}: too many symbolic links`);
  try {
    return realpathSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      throw new LabcastError('OUTPUT_UNWRITABLE', `cannot resolve ${path}: ${(error as Error).message}`);
    }
  }
  const parent = dirname(path);
  if (parent === path) return path;
  const candidate = join(realLocation(parent, hops), basename(path));
  if (isSymbolicLink(candidate)) return realLocation(resolve(dirname(candidate), readlinkSync(candidate)), hops + 1);
  return candidate;
}

function isSymbolicLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function outside(message: string, field: string | undefined): LabcastError {
  return new LabcastError('PATH_OUTSIDE_DATA_DIR', message, field);
}
