import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LabcastError } from '../protocol/errors.js';

const AUTO_NAME = /^run_(\d{4,})\.h5$/;

/** The next free `run_NNNN.h5` in `dir`, numbered after the highest one present. */
export function nextRunFileName(dir: string): string {
  let highest = 0;
  for (const name of readdirSync(dir)) {
    const match = AUTO_NAME.exec(name);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return `run_${String(highest + 1).padStart(4, '0')}.h5`;
}

/**
 * Decides where a recording goes before anything starts, so a bad location
 * fails at once and no acquisition runs for nothing: a directory gets an
 * auto-numbered file; an existing file is replaced only if asked.
 */
export function resolveOutputPath(out: string, overwrite: boolean, field = '--out'): string {
  let path = resolve(out);
  if (existsSync(path) && statSync(path).isDirectory()) {
    path = join(path, nextRunFileName(path));
  } else if (existsSync(path)) {
    if (!overwrite) {
      throw new LabcastError('OUTPUT_EXISTS', `${field}: ${path} already exists; pass --overwrite to replace it`, field);
    }
    if (!statSync(path).isFile()) {
      throw new LabcastError('OUTPUT_UNWRITABLE', `${field}: ${path} is not a regular file`, field);
    }
  }
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new LabcastError('OUTPUT_UNWRITABLE', `${field}: directory ${dir} does not exist`, field);
  }
  try {
    accessSync(dir, constants.W_OK);
    if (existsSync(path)) accessSync(path, constants.W_OK);
  } catch {
    throw new LabcastError('OUTPUT_UNWRITABLE', `${field}: ${path} cannot be written (permission denied)`, field);
  }
  return path;
}
