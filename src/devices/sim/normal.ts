import { RANDOM_LEVEL_COUNT } from './prng.js';

/**
 * Standard normal quantiles, so that read noise costs one table look-up per
 * pixel instead of a Box–Muller log, sqrt and cosine.
 */

// Peter Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9).
const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239,
] as const;
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1] as const;
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783,
] as const;
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416] as const;
const TAIL = 0.02425;

/** z such that P(Z < z) = p for a standard normal Z; p in (0, 1). */
export function inverseNormalCdf(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (p < TAIL) return lowerTail(p);
  if (p > 1 - TAIL) return -lowerTail(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
  );
}

function lowerTail(p: number): number {
  const q = Math.sqrt(-2 * Math.log(p));
  return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
}

let quantiles: Float64Array | undefined;

/**
 * RANDOM_LEVEL_COUNT (2^16) equiprobable normal quantiles: entry k is the
 * median of the k-th slice, so indexing with randomLevel16 draws a normal
 * deviate (tails reach ±4.3). Built on first use (a camera's first frame).
 */
export function normalQuantiles(): Float64Array {
  if (quantiles === undefined) {
    quantiles = new Float64Array(RANDOM_LEVEL_COUNT);
    // The upper half mirrors the lower: (k + 0.5) / 2^16 and its complement
    // are exact in binary, and inverseNormalCdf(1 - p) is -inverseNormalCdf(p)
    // to the bit (the central branch is odd in p - 0.5, the tails call
    // lowerTail with the same argument), so half the evaluations suffice.
    const half = RANDOM_LEVEL_COUNT / 2;
    for (let k = 0; k < half; k++) {
      const z = inverseNormalCdf((k + 0.5) / RANDOM_LEVEL_COUNT);
      quantiles[k] = z;
      quantiles[RANDOM_LEVEL_COUNT - 1 - k] = -z;
    }
  }
  return quantiles;
}
