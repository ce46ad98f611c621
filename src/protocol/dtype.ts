/** Pixel types on the wire and on disk. Multi-byte types are little-endian. */
export const PIXEL_DTYPES = ['uint8', 'uint16'] as const;
export type PixelDtype = (typeof PIXEL_DTYPES)[number];

const BYTES_PER_SAMPLE: Record<PixelDtype, number> = { uint8: 1, uint16: 2 };

export function bytesPerSample(dtype: PixelDtype): number {
  return BYTES_PER_SAMPLE[dtype];
}

export function maxSampleValue(dtype: PixelDtype): number {
  return dtype === 'uint8' ? 0xff : 0xffff;
}

/** Bytes of one frame of the given shape ([H, W] or [H, W, C]). */
export function frameByteLength(shape: readonly number[], dtype: PixelDtype): number {
  return shape.reduce((n, d) => n * d, 1) * bytesPerSample(dtype);
}
