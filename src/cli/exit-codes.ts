import { errorCodeSpec, isLabcastError } from '../protocol/errors.js';

/** Exit codes of every labcast command (documented in the README). */
export const EXIT = {
  ok: 0,
  failed: 1,
  badInput: 2,
  /** The command finished, but frames were lost (all of them counted and recorded). */
  framesLost: 3,
} as const;

/** Input errors (the catalogue's exit class `input`) exit 2; every other failure 1. */
export function exitCodeFor(error: unknown): number {
  return isLabcastError(error) && errorCodeSpec(error.code).exit === 'input' ? EXIT.badInput : EXIT.failed;
}
