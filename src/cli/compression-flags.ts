import { compressionFrom, type CompressionSpec } from '../protocol/compression.js';
import { numberFlag, stringFlag, type FlagSpec, type FlagValues } from './args.js';

/** The flags of every command that writes recordings (record, snap, serve, save). */
export const COMPRESSION_FLAGS: FlagSpec = {
  compression: { type: 'string' },
  'compression-level': { type: 'string' },
};

export const COMPRESSION_USAGE = `  --compression CODEC   lossless compression of the frames: none (default), lz4,
                        bitshuffle-lz4, zstd (files open in h5py with the standard
                        HDF5 filter plugins; docs/hdf5-layout.md#compression)
  --compression-level N zstd only: 1-9 (default 1)`;

/** The compression the flags ask for; undefined when neither flag is given. */
export function compressionFromFlags(values: FlagValues): CompressionSpec | undefined {
  const codec = stringFlag(values, 'compression');
  const level = numberFlag(values, 'compression-level', { integer: true });
  if (codec === undefined && level === undefined) return undefined;
  return compressionFrom(codec, level, { codec: '--compression', level: '--compression-level' });
}

/**
 * Refuses, before anything starts, a codec this machine's writer cannot write
 * (`field` names what asked for it). The writers are loaded only to answer
 * that: a recording without compression (record's start-up) loads none here.
 */
export async function refuseUnwritableCompression(spec: CompressionSpec | undefined, field = '--compression'): Promise<void> {
  if (spec === undefined || spec.codec === 'none') return;
  const [{ refuseUnavailableCompression }, { selectFrameWriter }] = await Promise.all([
    import('../storage/compression-support.js'),
    import('../storage/select-writer.js'),
  ]);
  refuseUnavailableCompression(spec, selectFrameWriter().backend, field);
}
