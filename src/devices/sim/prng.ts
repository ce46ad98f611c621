/**
 * Counter-based randomness: every number is a pure function of integer keys, so
 * any frame, and any pixel of it, can be rendered on its own and in any order.
 * No state is carried from one frame to the next.
 */

export const GOLDEN_RATIO_32 = 0x9e3779b9;
const TWO_POW_32 = 0x1_0000_0000;

/**
 * lowbias32 from Chris Wellons' hash-prospector: a 32-bit finalizer with full
 * avalanche in two multiplies, cheap enough to call once per pixel.
 */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A 32-bit key from non-negative integers below 2^53 (seed, salt, frame index...).
 * Order matters: hashKey(1, 2) differs from hashKey(2, 1).
 */
export function hashKey(...parts: readonly number[]): number {
  let key = 0x6a09e667;
  for (const part of parts) {
    const low = part >>> 0;
    const high = Math.floor(part / TWO_POW_32) >>> 0;
    key = mix32(key ^ mix32(low + GOLDEN_RATIO_32));
    key = mix32(key ^ mix32(high + 2 * GOLDEN_RATIO_32));
  }
  return key;
}

/**
 * Hash of one element (pixel) under a per-frame key. The index is spread by an
 * odd multiply before the xor so that two frames' noise is not the same pattern
 * shifted along the image, as it would be with `mix32(index + key)`.
 */
export function elementHash(key: number, index: number): number {
  return mix32(Math.imul(index, GOLDEN_RATIO_32) ^ key);
}

/** How many values randomLevel16 takes. */
export const RANDOM_LEVEL_COUNT = 0x1_0000;

/**
 * 16 random bits for element `index` under `key`. Two neighbouring elements
 * share one hash (the even one takes the high half), which halves the hashing
 * in a frame; still a pure function of (key, index), so a crop of the sensor
 * sees the same values.
 */
export function randomLevel16(key: number, index: number): number {
  const hash = elementHash(key, Math.floor(index / 2));
  return index % 2 === 0 ? hash >>> 16 : hash & 0xffff;
}

/** Uniform in [0, 1) from a 32-bit hash. */
export function unitFromHash(hash: number): number {
  return hash / TWO_POW_32;
}

/**
 * A sequence of uniforms in [0, 1) (splitmix32: a Weyl sequence through mix32),
 * for drawing a handful of parameters from one key.
 */
export function uniformSequence(key: number): () => number {
  let state = key >>> 0;
  return () => {
    state = (state + GOLDEN_RATIO_32) >>> 0;
    return unitFromHash(mix32(state));
  };
}
