import { LabcastError } from '../../protocol/errors.js';
import { AVAILABLE_INTERFACES } from '../../camera-spec/genicam-spec.js';

export type AravisInterface = (typeof AVAILABLE_INTERFACES)[number];

/** What Aravis searches by default: real cameras; never the in-process fake. */
export const DEFAULT_INTERFACES: readonly AravisInterface[] = ['GigEVision', 'USB3Vision'];

/**
 * The Aravis interfaces a process searches: the camera's `interfaces` option,
 * else LABCAST_GENICAM_INTERFACES (comma-separated, e.g. "Fake" so that tests
 * and demos never broadcast on the host's network), else only "Fake" for the
 * fake camera's ids (Fake_1), else GigE Vision and USB3 Vision.
 */
export function interfacesFor(id: string | null, configured?: readonly AravisInterface[]): AravisInterface[] {
  if (configured !== undefined) return [...configured];
  const fromEnv = interfacesFromEnv();
  if (fromEnv !== null) return fromEnv;
  if (id !== null && /^Fake_/.test(id)) return ['Fake'];
  return [...DEFAULT_INTERFACES];
}

export function interfacesFromEnv(): AravisInterface[] | null {
  const text = process.env.LABCAST_GENICAM_INTERFACES?.trim();
  if (text === undefined || text === '') return null;
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(AVAILABLE_INTERFACES as readonly string[]).includes(name)) {
      throw new LabcastError(
        'BAD_ARGUMENT',
        `LABCAST_GENICAM_INTERFACES: unknown interface "${name}"; known: ${AVAILABLE_INTERFACES.join(', ')}`,
        'LABCAST_GENICAM_INTERFACES',
      );
    }
  }
  return names as AravisInterface[];
}
