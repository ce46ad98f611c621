import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { Dataset, Group } from 'h5wasm/node';
import type { StorageConfig } from '../config/schema.js';
import { LabcastError } from '../protocol/errors.js';
import { describeHdf5Error, loadH5wasm } from '../hdf5/h5wasm-runtime.js';

/**
 * A recording's name and notes, in the closed file (docs/hdf5-layout.md#title-and-notes):
 * the name as NeXus /entry/title, each note as an NXnote group /entry/note_001, note_002, …
 * Only ever added, never rewritten, so a note cannot damage what the file already holds.
 */

/** Longest name kept in a file name; the whole name is the file's title. */
const NAME_IN_FILE_NAME = 60;

/** A recording name as part of a file name: letters, digits and '-' only ("Bead test #3" → "Bead-test-3"). */
export function fileNamePart(name: string): string {
  return (
    name
      .normalize('NFKD')
      // é → e: the accent is a combining mark of its own after NFKD.
      .replace(/\p{M}/gu, '')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, NAME_IN_FILE_NAME)
      .replace(/-+$/, '')
  );
}

/** "run_0003.h5" with name "Bead test" → "run_0003_Bead-test.h5"; a name with nothing usable leaves the path as it is. */
export function withNameInPath(path: string, name: string): string {
  const part = fileNamePart(name);
  if (part === '') return path;
  const extension = extname(path);
  return `${path.slice(0, path.length - extension.length)}_${part}${extension}`;
}

/**
 * A file a command names for a note: in data_dir (or anywhere, with storage.allow_absolute_paths),
 * an existing HDF5 file. `field` names the argument in errors.
 */
export function resolveNoteTarget(storage: StorageConfig, requested: string, field = 'path'): string {
  const root = resolve(storage.data_dir);
  const path = isAbsolute(requested) ? resolve(requested) : resolve(root, requested);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new LabcastError('BAD_ARGUMENT', `${field}: no recording ${requested} (looked for ${path})`, field);
  }
  if (!storage.allow_absolute_paths) {
    const realRoot = realpathSync(root);
    const rel = relative(realRoot, realpathSync(path));
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
      throw new LabcastError(
        'PATH_OUTSIDE_DATA_DIR',
        `${field}: ${requested} is outside the data directory ${root}; notes go only into recordings there`,
        field,
      );
    }
  }
  return path;
}

export interface Annotation {
  /** The recording's name, stored as /entry/title when the file has none yet. */
  readonly title?: string | null;
  readonly note?: string | null;
  /** When the note was written. */
  readonly at?: Date;
}

/** What was added, for the reply. */
export interface AnnotationResult {
  readonly path: string;
  readonly title: string | null;
  /** The note's group, e.g. /entry/note_002; null when no note was given. */
  readonly note: string | null;
  readonly notes: number;
}

/** Adds the title (once) and a note to a closed recording. The file must not be open for writing elsewhere. */
export async function annotateRecording(path: string, annotation: Annotation): Promise<AnnotationResult> {
  const h5 = await loadH5wasm();
  let file;
  try {
    file = new h5.File(path, 'a');
  } catch (error) {
    throw new LabcastError('BAD_ARGUMENT', `cannot open ${basename(path)} to add a note: ${describeHdf5Error(error)}`, 'path');
  }
  try {
    const entry = file.get('entry');
    if (!(entry instanceof Group))
      throw new LabcastError('BAD_ARGUMENT', `${basename(path)} is not a labcast recording (no /entry)`, 'path');
    const keys = entry.keys();
    let title: string | null = null;
    if (annotation.title) {
      if (keys.includes('title')) {
        // The first name stays: a title is never rewritten.
        const existing: unknown = entry.get('title');
        const value = existing instanceof Dataset ? existing.value : null;
        title = typeof value === 'string' ? value : null;
      } else {
        entry.create_dataset({ name: 'title', data: annotation.title });
        title = annotation.title;
      }
    }
    let note: string | null = null;
    const taken = keys.filter((key) => /^note_\d+$/.test(key)).map((key) => Number(key.slice(5)));
    if (annotation.note) {
      const name = `note_${String(Math.max(0, ...taken) + 1).padStart(3, '0')}`;
      const group = entry.create_group(name);
      group.create_attribute('NX_class', 'NXnote');
      group.create_dataset({ name: 'type', data: 'text/plain' });
      group.create_dataset({ name: 'date', data: (annotation.at ?? new Date()).toISOString() });
      group.create_dataset({ name: 'data', data: annotation.note });
      note = `/entry/${name}`;
    }
    file.flush();
    return { path, title, note, notes: taken.length + (note === null ? 0 : 1) };
  } catch (error) {
    if (error instanceof LabcastError) throw error;
    throw new LabcastError('OUTPUT_UNWRITABLE', `cannot add the note to ${basename(path)}: ${describeHdf5Error(error)}`, 'path');
  } finally {
    file.close();
  }
}
