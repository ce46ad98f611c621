import { endianness } from 'node:os';
import { maxSampleValue, type PixelDtype } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';

/** One frame's samples as numbers: the bytes themselves (uint8) or a uint16 view. */
export type Samples = Uint8Array | Uint16Array;

const LITTLE_ENDIAN_HOST = endianness() === 'LE';
let decodeScratch = new Uint16Array(0);

/**
 * Checks that `pixels` hold a [H, W] frame of `dtype` and returns its samples.
 * uint16 is little-endian on the wire: on a little-endian host with an even
 * byte offset this is a view (no copy); otherwise the samples are decoded into a
 * scratch array reused by the next call (so use the result before calling again).
 */
export function frameSamples(
  pixels: Uint8Array,
  shape: readonly number[],
  dtype: PixelDtype,
): { samples: Samples; width: number; height: number } {
  if (shape.length !== 2) {
    throw new LabcastError('BAD_ARGUMENT', `analysis expects a [height, width] frame, got shape [${shape.join(', ')}]`);
  }
  const height = shape[0]!;
  const width = shape[1]!;
  if (!Number.isSafeInteger(height) || !Number.isSafeInteger(width) || height < 0 || width < 0) {
    throw new LabcastError('BAD_ARGUMENT', `bad frame shape [${shape.join(', ')}]`);
  }
  const count = height * width;
  const expected = dtype === 'uint8' ? count : 2 * count;
  if (pixels.byteLength !== expected) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `frame of shape [${height}, ${width}] ${dtype} needs ${expected} bytes, got ${pixels.byteLength}`,
    );
  }
  if (dtype === 'uint8') return { samples: pixels, width, height };
  if (LITTLE_ENDIAN_HOST && pixels.byteOffset % 2 === 0) {
    return { samples: new Uint16Array(pixels.buffer, pixels.byteOffset, count), width, height };
  }
  if (decodeScratch.length < count) decodeScratch = new Uint16Array(count);
  const out = decodeScratch.subarray(0, count);
  for (let i = 0; i < count; i++) out[i] = pixels[2 * i]! | (pixels[2 * i + 1]! << 8);
  return { samples: out, width, height };
}

/** Number of distinct sample values of `dtype` (256 or 65536). */
export function levelCount(dtype: PixelDtype): number {
  return maxSampleValue(dtype) + 1;
}
