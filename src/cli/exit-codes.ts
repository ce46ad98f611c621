import { isLabcastError, type ErrorCode } from '../protocol/errors.js';

/** Exit codes of every labcast command (documented in the README). */
export const EXIT = {
  ok: 0,
  failed: 1,
  badInput: 2,
  /** The command finished, but frames were lost (all of them counted and recorded). */
  framesLost: 3,
} as const;

const INPUT_ERRORS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_ARGUMENT',
  'BAD_SETTING',
  'OUTPUT_EXISTS',
  'OUTPUT_UNWRITABLE',
  'ENDPOINT_IN_USE',
  'FILE_FORMAT',
  'BAD_CONFIG',
  'PATH_OUTSIDE_DATA_DIR',
  'BAD_REQUEST',
  // The --camera value names a device or file that is missing, busy or unreadable: nothing was started.
  'CAMERA_UNAVAILABLE',
  // A request labcast serve refused in its current state: nothing was changed.
  'CAMERA_STATE',
]);

export function exitCodeFor(error: unknown): number {
  return isLabcastError(error) && INPUT_ERRORS.has(error.code) ? EXIT.badInput : EXIT.failed;
}
