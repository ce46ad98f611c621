import { normalQuantiles } from './normal.js';
import { RANDOM_LEVEL_COUNT } from './prng.js';
import { REFERENCE_EXPOSURE_MS, type SimSettings } from './sim-settings.js';

/*
 * The camera behind the particles scene, per pixel:
 *
 *   electrons ~ Poisson(quantum_efficiency · photons · exposure_ms / REFERENCE_EXPOSURE_MS
 *                       + dark_current_e_per_s · exposure_ms / 1000)
 *   DN = clamp(round(black + gain · gain_dn_per_e · (electrons + read_noise_e · N(0, 1))), 0, 2^bit_depth - 1)
 *   black = offset_dn + brightness % of full scale
 *
 * `photons` is the scene's expectation for the pixel (background plus beads).
 * Randomness comes from the counter-based hashes in prng.ts, so a pixel's value
 * is a pure function of (seed, frame, sensor position, settings).
 */

/** Per-frame constants of the model. */
export interface SensorModel {
  /** Photoelectrons per expected scene photon: QE × exposure / reference exposure. */
  readonly electronsPerPhoton: number;
  /** Mean dark-current electrons per pixel in this exposure. */
  readonly darkElectrons: number;
  readonly dnPerElectron: number;
  /** Read-noise standard deviation in DN. */
  readonly readNoiseDn: number;
  /** Black level in DN (offset_dn plus brightness), before rounding. */
  readonly black: number;
  /** 2^bit_depth - 1. */
  readonly max: number;
}

export function sensorModel(settings: SimSettings): SensorModel {
  const max = 2 ** settings.bit_depth - 1;
  const dnPerElectron = settings.gain * settings.gain_dn_per_e;
  return {
    electronsPerPhoton: settings.quantum_efficiency * (settings.exposure_ms / REFERENCE_EXPOSURE_MS),
    darkElectrons: settings.dark_current_e_per_s * (settings.exposure_ms / 1000),
    dnPerElectron,
    readNoiseDn: settings.read_noise_e * dnPerElectron,
    black: settings.offset_dn + (max * settings.brightness) / 100,
    max,
  };
}

/** Mean electrons of a pixel that sees only the background. */
export function backgroundElectrons(model: SensorModel, backgroundPhotons: number): number {
  return model.electronsPerPhoton * backgroundPhotons + model.darkElectrons;
}

/** The pixel's DN for `electrons` and a standard normal read-noise deviate `z`: rounded to nearest and clipped. */
export function electronsToDn(model: SensorModel, electrons: number, z: number): number {
  const value = model.black + model.dnPerElectron * electrons + model.readNoiseDn * z + 0.5;
  return value <= 0 ? 0 : value >= model.max ? model.max : value | 0;
}

/**
 * Below this mean a Poisson draw is exact (inversion of the CDF, about `mean`
 * steps); from it on, a rounded normal deviate with the Cornish–Fisher skew
 * term, its variance reduced by the 1/12 that rounding adds: mean, variance
 * and skewness match the Poisson's, and the whole distribution is within a
 * total variation distance of 0.15 % at a mean of 10 (0.03 % at 100), at a
 * constant cost.
 */
export const POISSON_EXACT_BELOW = 10;

/**
 * A Poisson(mean) count for one of the RANDOM_LEVEL_COUNT equiprobable random
 * levels (16 random bits, as every draw of the simulator): deterministic, and
 * Poisson to the levels' resolution of 2^-16 in probability.
 */
export function poissonFromLevel(mean: number, level: number): number {
  if (!(mean > 0)) return 0;
  if (mean < POISSON_EXACT_BELOW) {
    const u = (level + 0.5) / RANDOM_LEVEL_COUNT;
    let k = 0;
    let p = Math.exp(-mean);
    let cdf = p;
    while (u > cdf && p > 0) {
      k++;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }
  const z = normalQuantiles()[level]!;
  const k = Math.floor(mean + Math.sqrt(mean - 1 / 12) * z + (z * z - 1) / 6 + 0.5);
  return k < 0 ? 0 : k;
}

/**
 * Above this many (electron count × DN bin) terms, the background table treats
 * shot plus read noise as one Gaussian of the same mean and variance: only
 * reached with a mean of thousands of electrons (where Poisson is Gaussian to
 * well under a percent) or a read noise spanning thousands of DN.
 */
const EXACT_TABLE_MAX_TERMS = 8_000_000;
/** Components beyond this many sigmas carry under 1e-15 of the probability. */
const TAIL_SIGMAS = 8;

type Samples = Uint8Array | Uint16Array;

/**
 * `table[level]` for each of the RANDOM_LEVEL_COUNT equiprobable random levels:
 * the DN whose cumulative probability first reaches the level's midpoint,
 * under Poisson(meanElectrons) shot noise plus read noise, rounding and
 * clipping. A background pixel then costs one look-up, as cheap as a noiseless
 * one, yet its histogram is the model's to 1/65 536 in probability (tails
 * beyond that are cut).
 */
export function fillBackgroundTable(table: Samples, model: SensorModel, meanElectrons: number): void {
  const probability = dnDistribution(model, meanElectrons);
  let total = 0;
  for (const p of probability) total += p;
  let dn = 0;
  let cumulative = probability[0]!;
  for (let level = 0; level < RANDOM_LEVEL_COUNT; level++) {
    const target = ((level + 0.5) / RANDOM_LEVEL_COUNT) * total;
    while (cumulative < target && dn < model.max) cumulative += probability[++dn]!;
    table[level] = dn;
  }
}

/** P(DN = d) for d in 0..max: a mixture over electron counts of rounded, clipped Gaussians. */
function dnDistribution(model: SensorModel, meanElectrons: number): Float64Array {
  const { dnPerElectron: gain, readNoiseDn: spread, black, max } = model;
  const probability = new Float64Array(max + 1);
  const mean = Math.max(0, meanElectrons);
  const sd = Math.sqrt(mean);
  const firstCount = Math.max(0, Math.floor(mean - TAIL_SIGMAS * sd - 5));
  const lastCount = Math.ceil(mean + TAIL_SIGMAS * sd + 10);
  const binsPerCount = Math.min(max + 1, 2 * TAIL_SIGMAS * spread + 3);
  if ((lastCount - firstCount + 1) * binsPerCount > EXACT_TABLE_MAX_TERMS) {
    addRoundedGaussian(probability, 1, black + gain * mean, Math.sqrt(gain * gain * mean + spread * spread), max);
    return probability;
  }
  let p = Math.exp(logPoisson(firstCount, mean));
  for (let count = firstCount; count <= lastCount; count++) {
    if (p > 0) addRoundedGaussian(probability, p, black + gain * count, spread, max);
    p *= mean / (count + 1);
  }
  return probability;
}

/** Adds `weight` × the distribution of clamp(round(N(centre, spread²)), 0, max) into `probability`. */
function addRoundedGaussian(probability: Float64Array, weight: number, centre: number, spread: number, max: number): void {
  const clamp = (dn: number): number => Math.min(max, Math.max(0, dn));
  if (spread < 1e-9) {
    probability[clamp(Math.floor(centre + 0.5))]! += weight;
    return;
  }
  const first = clamp(Math.floor(centre - TAIL_SIGMAS * spread));
  const last = clamp(Math.ceil(centre + TAIL_SIGMAS * spread));
  // Everything below 0.5 rounds to (or clips at) 0; everything from max - 0.5 on, to max.
  let below = first === 0 ? 0 : normalCdf((first - 0.5 - centre) / spread);
  for (let dn = first; dn <= last; dn++) {
    const upTo = dn === max ? 1 : normalCdf((dn + 0.5 - centre) / spread);
    probability[dn]! += weight * (upTo - below);
    below = upTo;
  }
}

/** ln P(K = k) for K ~ Poisson(mean), k ≥ 0, mean > 0 (or 0 for k = 0, mean = 0). */
function logPoisson(k: number, mean: number): number {
  if (mean === 0) return k === 0 ? 0 : -Infinity;
  return k * Math.log(mean) - mean - logFactorial(k);
}

/** ln(k!), exact summation for small k, Stirling's series (error < 1e-13) beyond. */
function logFactorial(k: number): number {
  if (k < 20) {
    let sum = 0;
    for (let j = 2; j <= k; j++) sum += Math.log(j);
    return sum;
  }
  const n = k + 1;
  return (n - 0.5) * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * n) - 1 / (360 * n ** 3) + 1 / (1260 * n ** 5);
}

/** Standard normal CDF through erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const tail =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - tail / 2 : tail / 2;
}
