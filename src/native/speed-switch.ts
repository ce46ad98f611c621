import { LabcastError } from '../protocol/errors.js';

/**
 * An environment variable that turns one of labcast's speed-ups off ("0"),
 * for A/B measurements and for systems where it misbehaves: unset or "1"
 * leaves it on; anything else is refused, naming the variable and `onMeans`.
 */
export function speedUpOn(env: NodeJS.ProcessEnv, name: string, onMeans: string): boolean {
  const value = env[name]?.trim() ?? '';
  if (value === '' || value === '1') return true;
  if (value === '0') return false;
  throw new LabcastError('BAD_CONFIG', `${name}=${value}: use 1 (${onMeans}, the default) or 0`);
}
