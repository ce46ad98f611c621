import { promises as fs } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { LabcastError } from '../protocol/errors.js';

/**
 * The path of recording `name` (relative to the data directory, "/"
 * separated, as the recordings list gives it): an existing regular *.h5 file
 * inside the data directory, reached without symbolic links, or an error
 * naming what is wrong. Nothing outside the data directory is ever opened.
 */
export async function recordingPath(dataDir: string, name: string): Promise<string> {
  const parts = name.split('/');
  if (
    name === '' ||
    isAbsolute(name) ||
    name.includes('\\') ||
    name.includes('\0') ||
    parts.some((part) => part === '' || part === '.' || part === '..') ||
    !name.toLowerCase().endsWith('.h5')
  ) {
    throw new LabcastError(
      'PATH_OUTSIDE_DATA_DIR',
      `recording "${name}": give a name from the recordings list (a .h5 file relative to the data directory, no "..")`,
      'name',
    );
  }
  const root = resolve(dataDir);
  const path = join(root, ...parts);
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([fs.realpath(path), fs.realpath(root)]);
  } catch {
    throw new LabcastError('BAD_ARGUMENT', `no recording named "${name}" in the data directory`, 'name');
  }
  // A symbolic link anywhere on the way could lead out of the data directory; the list does not follow them either.
  if (real !== join(realRoot, ...parts) || !real.startsWith(realRoot + sep)) {
    throw new LabcastError(
      'PATH_OUTSIDE_DATA_DIR',
      `recording "${name}" is reached through a symbolic link; only files in the data directory are served`,
      'name',
    );
  }
  const stat = await fs.stat(real);
  if (!stat.isFile()) throw new LabcastError('BAD_ARGUMENT', `recording "${name}" is not a file`, 'name');
  return real;
}
