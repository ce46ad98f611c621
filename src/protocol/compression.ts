import { z } from 'zod';
import { LabcastError } from './errors.js';

/**
 * Lossless compression of the frames in a recording (docs/hdf5-layout.md,
 * docs/decisions/0008-compression.md): the codec names users give, the HDF5
 * filter each one writes, and its level range. Pure: the native addon does
 * the compressing.
 */
export const CODECS = ['none', 'lz4', 'bitshuffle-lz4', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];

/** The registered HDF5 filter each codec's chunks are written under. */
export const CODEC_FILTER_IDS: Readonly<Record<Exclude<Codec, 'none'>, number>> = {
  lz4: 32004,
  'bitshuffle-lz4': 32008,
  zstd: 32001,
};

/** Codecs with a level: its range and the level used when none is given. */
export const CODEC_LEVELS: Readonly<Partial<Record<Codec, { readonly min: number; readonly max: number; readonly default: number }>>> = {
  zstd: { min: 1, max: 9, default: 1 },
};

export interface CompressionSpec {
  readonly codec: Codec;
  /** The codec's level (CODEC_LEVELS); null for codecs without one. */
  readonly level: number | null;
}

export const NO_COMPRESSION: CompressionSpec = { codec: 'none', level: null };

export const compressionSpecSchema = z
  .object({
    codec: z.enum(CODECS),
    level: z.number().int().nullable(),
  })
  .strict();

/**
 * The compression asked for by a codec name and an optional level, as given
 * by a flag or config key (`fields` names them in errors). A level for a
 * codec that has none is refused rather than ignored.
 */
export function compressionFrom(
  codec: string | undefined,
  level: number | undefined,
  fields: { readonly codec: string; readonly level: string },
  code: 'BAD_ARGUMENT' | 'BAD_CONFIG' = 'BAD_ARGUMENT',
): CompressionSpec {
  const name = codec ?? 'none';
  if (!(CODECS as readonly string[]).includes(name)) {
    throw new LabcastError(code, `${fields.codec}: ${JSON.stringify(name)} is not a codec; use one of ${CODECS.join(', ')}`, fields.codec);
  }
  const chosen = name as Codec;
  const range = CODEC_LEVELS[chosen];
  if (level === undefined) return { codec: chosen, level: range?.default ?? null };
  if (range === undefined) {
    throw new LabcastError(
      code,
      `${fields.level}: ${chosen} has no level (only ${Object.keys(CODEC_LEVELS).join(', ')} takes one)`,
      fields.level,
    );
  }
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    throw new LabcastError(
      code,
      `${fields.level}: ${level} is not a ${chosen} level; use an integer ${range.min}-${range.max}`,
      fields.level,
    );
  }
  return { codec: chosen, level };
}

/** How much a recording's frames were compressed: the camera's bytes and the bytes their chunks take in the file. */
export interface CompressionSummary {
  readonly codec: Codec;
  readonly level: number | null;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** bytesIn / bytesOut; null before any chunk was written. */
  readonly ratio: number | null;
}

export function compressionSummary(codec: Codec, level: number | null, bytesIn: number, bytesOut: number): CompressionSummary {
  return { codec, level, bytesIn, bytesOut, ratio: bytesOut > 0 ? Math.round((bytesIn / bytesOut) * 1000) / 1000 : null };
}

/** "zstd (level 3)", "bitshuffle-lz4", "none". */
export function describeCompression(spec: CompressionSpec): string {
  return spec.level === null ? spec.codec : `${spec.codec} (level ${spec.level})`;
}
