/** storage.naming's placeholders and rules (schema.ts validates the config with them). */

/** What each placeholder of storage.naming stands for. */
export const NAMING_PLACEHOLDERS = {
  n: 'auto-increment number, zero-padded to 4 digits',
  date: 'date the recording started, YYYY-MM-DD (local time)',
  time: 'time the recording started, HHMMSS (local time)',
  run: 'first 8 characters of the run id',
} as const;
export type NamingPlaceholder = keyof typeof NAMING_PLACEHOLDERS;

/** A pattern needs one of these, or two recordings could want the same file. */
export const UNIQUE_NAMING_PLACEHOLDERS: readonly NamingPlaceholder[] = ['n', 'run', 'time'];

const PLACEHOLDER_LIST = Object.keys(NAMING_PLACEHOLDERS)
  .map((name) => `{${name}}`)
  .join(', ');

/**
 * The problem with a naming pattern, or undefined when it is usable. Exported
 * for the storage layer's own checks and for tests.
 */
export function namingPatternProblem(pattern: string): string | undefined {
  if (/[/\\]/.test(pattern)) {
    return 'must be a file name, not a path (storage.date_folders gives a folder per day)';
  }
  // Control characters (NUL above all) make names that filesystems refuse or shells mangle.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(pattern)) return 'must not contain control characters';
  const used: string[] = [];
  for (const match of pattern.matchAll(/\{([^{}]*)\}/g)) {
    const name = match[1] ?? '';
    if (!(name in NAMING_PLACEHOLDERS)) {
      return `unknown placeholder {${name}}; placeholders: ${PLACEHOLDER_LIST}`;
    }
    used.push(name);
  }
  if (/[{}]/.test(pattern.replace(/\{[^{}]*\}/g, ''))) {
    return `has an unmatched brace; placeholders are written ${PLACEHOLDER_LIST}`;
  }
  // Two {n} would make the numbering ambiguous when existing files are scanned.
  if (used.filter((name) => name === 'n').length > 1) return '{n} may appear only once';
  if (!used.some((name) => (UNIQUE_NAMING_PLACEHOLDERS as readonly string[]).includes(name))) {
    const unique = UNIQUE_NAMING_PLACEHOLDERS.map((name) => `{${name}}`).join(', ');
    return `must contain one of ${unique} so that every recording gets its own file`;
  }
  return undefined;
}
