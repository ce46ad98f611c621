import type { PixelDtype } from '../protocol/dtype.js';
import { LabcastError } from '../protocol/errors.js';
import { frameSamples, levelCount, type Samples } from './samples.js';

/**
 * Spot finding and sub-pixel localisation on one [H, W] frame.
 *
 * Coordinates: x is the column, y the row, and the centre of pixel (0, 0) is at
 * (0, 0): the simulator's convention (src/devices/sim/particles.ts).
 *
 * Method, in order:
 *  1. background level and noise: median and MAD (×1.4826) of a strided
 *     subsample of about 16k pixels (robust to the few pixels under spots);
 *  2. candidates: pixels above background + k·noise (the only full-frame pass);
 *  3. a candidate is a spot if its 3×3 mean is a local maximum of the 3×3-mean
 *     image within `neighbourhood` pixels (the smoothing stops noise splitting a
 *     spot into several maxima; it is computed only around candidates);
 *  4. sub-pixel fit: least squares of background + A·exp(−r²/2σ²) (x, y, A,
 *     background, σ free) on the (2·windowRadius+1)² window around the maximum by
 *     Levenberg–Marquardt, started from a 3-point log-Gaussian estimate per axis;
 *     if the fit fails (does not converge inside the window) the spot gets a
 *     background-subtracted centroid instead and no sigma;
 *  5. spots whose centres end up within `minSeparation` of a brighter one are dropped.
 */

export interface LocalizeOptions {
  /** Detection threshold in noise sigmas above the background; default 5. */
  readonly threshold?: number;
  /** Local-maximum radius in pixels: 1 is a 3×3 neighbourhood (default). */
  readonly neighbourhood?: number;
  /** Fit window half-size in pixels: the window is (2r+1)²; default 4. */
  readonly windowRadius?: number;
  /** Most Levenberg–Marquardt iterations per spot; default 20. */
  readonly iterations?: number;
  /** Fitted centres closer than this (px) to a brighter spot are dropped; default 1. */
  readonly minSeparation?: number;
  /** Stop after this many candidate maxima (a frame full of light is not a spot field); default 10000. */
  readonly maxSpots?: number;
  /** Skip the estimate and use these (DN). */
  readonly background?: BackgroundEstimate;
}

export interface BackgroundEstimate {
  /** Background level (median), DN. */
  readonly level: number;
  /** Noise standard deviation (1.4826 · MAD), DN. */
  readonly noise: number;
}

export interface Spot {
  /** Centre, in pixels: column, with pixel centres at integers. */
  readonly x: number;
  /** Centre, in pixels: row. */
  readonly y: number;
  /** Integrated intensity above the local background, DN·px (2π·σ²·amplitude for a fit). */
  readonly intensity: number;
  /** Peak height above the local background, DN. */
  readonly amplitude: number;
  /** Local background under the spot, DN. */
  readonly background: number;
  /** Fitted Gaussian sigma in pixels; undefined when the spot fell back to a centroid. */
  readonly sigma: number | undefined;
}

export interface LocalizeResult {
  readonly spots: Spot[];
  readonly background: BackgroundEstimate;
  /** The detection level in DN: background + threshold · noise. */
  readonly threshold: number;
  /** Pixels above the threshold. */
  readonly candidates: number;
}

const SUBSAMPLE_TARGET = 16384;
const MAD_TO_SIGMA = 1.4826;
/** Smallest noise assumed (DN): a noiseless image must not make every pixel a candidate. */
const MIN_NOISE = 0.5;

const levelScratch = { uint8: new Uint32Array(256), uint16: new Uint32Array(65536) };
let candidateScratch = new Int32Array(1024);

/**
 * Background level and noise of a frame: median and scaled MAD of every
 * `step`-th pixel. Integer samples: both are interpolated within the level.
 */
export function estimateBackground(samples: Samples, dtype: PixelDtype): BackgroundEstimate {
  const n = samples.length;
  if (n === 0) return { level: 0, noise: MIN_NOISE };
  const counts = levelScratch[dtype];
  // An odd step, so that a stride equal to a multiple of the width cannot sample one column only.
  const step = Math.max(1, Math.floor(n / SUBSAMPLE_TARGET)) | 1;
  let taken = 0;
  let lo = levelCount(dtype);
  let hi = -1;
  for (let i = step >> 1; i < n; i += step) {
    const v = samples[i]!;
    counts[v]!++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    taken++;
  }
  const half = taken / 2;
  let cumulative = 0;
  let median = lo;
  for (let level = lo; level <= hi; level++) {
    const c = counts[level]!;
    if (cumulative + c >= half) {
      median = level - 0.5 + (half - cumulative) / c;
      break;
    }
    cumulative += c;
  }
  // MAD about the median's level m: deviation d = |v − m| takes [0, 0.5] for d = 0, [d − 0.5, d + 0.5] otherwise.
  const m = Math.min(hi, Math.max(lo, Math.round(median)));
  cumulative = counts[m]!;
  let mad = cumulative >= half ? (0.5 * half) / cumulative : 0;
  if (cumulative < half) {
    for (let d = 1; ; d++) {
      const c = (m - d >= lo ? counts[m - d]! : 0) + (m + d <= hi ? counts[m + d]! : 0);
      if (cumulative + c >= half) {
        mad = d - 0.5 + (half - cumulative) / c;
        break;
      }
      cumulative += c;
    }
  }
  for (let i = step >> 1; i < n; i += step) counts[samples[i]!] = 0;
  return { level: median, noise: Math.max(MIN_NOISE, MAD_TO_SIGMA * mad) };
}

/** Bright spots of one frame with their sub-pixel centres. Pure apart from reused scratch memory. */
export function localizeSpots(
  pixels: Uint8Array,
  shape: readonly number[],
  dtype: PixelDtype,
  options: LocalizeOptions = {},
): LocalizeResult {
  const k = options.threshold ?? 5;
  const neighbourhood = options.neighbourhood ?? 1;
  const windowRadius = options.windowRadius ?? 4;
  const iterations = options.iterations ?? 20;
  const minSeparation = options.minSeparation ?? 1;
  const maxSpots = options.maxSpots ?? 10_000;
  checkNumber('threshold', k, 0, Infinity);
  checkInteger('neighbourhood', neighbourhood, 1, 64);
  checkInteger('windowRadius', windowRadius, 1, 32);
  checkInteger('iterations', iterations, 0, 1000);
  checkNumber('minSeparation', minSeparation, 0, Infinity);
  checkInteger('maxSpots', maxSpots, 0, 10_000_000);

  const { samples, width, height } = frameSamples(pixels, shape, dtype);
  const background = options.background ?? estimateBackground(samples, dtype);
  const level = background.level + k * background.noise;

  // 2. Candidates: the only pass over every pixel.
  const n = samples.length;
  const cut = Math.floor(level); // samples are integers: v > level ⇔ v > floor(level)
  let candidates = 0;
  for (let i = 0; i < n; i++) {
    if (samples[i]! > cut) {
      if (candidates === candidateScratch.length) {
        const grown = new Int32Array(candidates * 2);
        grown.set(candidateScratch);
        candidateScratch = grown;
      }
      candidateScratch[candidates++] = i;
    }
  }

  // 3. Local maxima of the 3×3 mean, then 4. fits.
  const fitter = new GaussianFitter(samples, width, height, windowRadius, iterations);
  const found: Spot[] = [];
  for (let c = 0; c < candidates && found.length < maxSpots; c++) {
    const index = candidateScratch[c]!;
    const row = (index / width) | 0;
    const column = index - row * width;
    if (!isLocalMaximum(samples, width, height, column, row, neighbourhood)) continue;
    found.push(fitter.fit(column, row, background.level));
  }

  // 5. Duplicates: keep the brighter of spots that converged onto each other.
  let spots = found;
  if (minSeparation > 0 && found.length > 1) {
    found.sort((a, b) => b.amplitude - a.amplitude);
    const limit = minSeparation * minSeparation;
    spots = [];
    for (const spot of found) {
      if (!spots.some((kept) => (kept.x - spot.x) ** 2 + (kept.y - spot.y) ** 2 < limit)) spots.push(spot);
    }
  }
  spots.sort((a, b) => a.y - b.y || a.x - b.x);
  return { spots, background, threshold: level, candidates };
}

/** 3×3 sum around (column, row), edges replicated. */
function boxSum(samples: Samples, width: number, height: number, column: number, row: number): number {
  let sum = 0;
  for (let dy = -1; dy <= 1; dy++) {
    const y = row + dy < 0 ? 0 : row + dy >= height ? height - 1 : row + dy;
    const base = y * width;
    for (let dx = -1; dx <= 1; dx++) {
      const x = column + dx < 0 ? 0 : column + dx >= width ? width - 1 : column + dx;
      sum += samples[base + x]!;
    }
  }
  return sum;
}

/**
 * Whether the 3×3 sum at (column, row) beats every other in the neighbourhood:
 * strictly those before it in raster order, at least equal those after, so a
 * plateau yields exactly one maximum.
 */
function isLocalMaximum(samples: Samples, width: number, height: number, column: number, row: number, radius: number): boolean {
  const centre = boxSum(samples, width, height, column, row);
  for (let dy = -radius; dy <= radius; dy++) {
    const y = row + dy;
    if (y < 0 || y >= height) continue;
    for (let dx = -radius; dx <= radius; dx++) {
      const x = column + dx;
      if (x < 0 || x >= width || (dx === 0 && dy === 0)) continue;
      const other = boxSum(samples, width, height, x, y);
      const before = dy < 0 || (dy === 0 && dx < 0);
      if (before ? other >= centre : other > centre) return false;
    }
  }
  return true;
}

/** Parameters: x, y (window-relative), amplitude, background, sigma. */
const P = 5;

/**
 * Levenberg–Marquardt fit of a sampled 2-D Gaussian on a background. Holds its
 * scratch arrays; one instance per frame.
 */
class GaussianFitter {
  private readonly values: Float64Array;
  private readonly gx: Float64Array;
  private readonly gy: Float64Array;
  private readonly jtj = new Float64Array(P * P);
  private readonly jtr = new Float64Array(P);
  private readonly a = new Float64Array(P * P);
  private readonly step = new Float64Array(P);
  private readonly p = new Float64Array(P);
  private readonly trial = new Float64Array(P);
  private left = 0;
  private top = 0;
  private spanX = 0;
  private spanY = 0;

  constructor(
    private readonly samples: Samples,
    private readonly width: number,
    private readonly height: number,
    private readonly radius: number,
    private readonly iterations: number,
  ) {
    const side = 2 * radius + 1;
    this.values = new Float64Array(side * side);
    this.gx = new Float64Array(side);
    this.gy = new Float64Array(side);
  }

  fit(column: number, row: number, globalBackground: number): Spot {
    const r = this.radius;
    this.left = Math.max(0, column - r);
    this.top = Math.max(0, row - r);
    this.spanX = Math.min(this.width - 1, column + r) - this.left + 1;
    this.spanY = Math.min(this.height - 1, row + r) - this.top + 1;
    for (let j = 0; j < this.spanY; j++) {
      const base = (this.top + j) * this.width + this.left;
      for (let i = 0; i < this.spanX; i++) this.values[j * this.spanX + i] = this.samples[base + i]!;
    }
    const cx = column - this.left;
    const cy = row - this.top;
    const peak = this.values[cy * this.spanX + cx]! - globalBackground;

    // Start: 3-point log-Gaussian per axis (background-subtracted), where the neighbours exist.
    const p = this.p;
    let sigmaSum = 0;
    let sigmaCount = 0;
    const axis = (minus: number | undefined, plus: number | undefined): number => {
      if (minus === undefined || plus === undefined) return 0;
      const lm = Math.log(Math.max(minus - globalBackground, 1e-3 * peak));
      const l0 = Math.log(Math.max(peak, 1e-9));
      const lp = Math.log(Math.max(plus - globalBackground, 1e-3 * peak));
      const curvature = lm - 2 * l0 + lp;
      if (!(curvature < 0)) return 0;
      sigmaSum += Math.sqrt(-1 / curvature);
      sigmaCount++;
      return Math.max(-0.5, Math.min(0.5, (lm - lp) / (2 * curvature)));
    };
    const at = (i: number, j: number): number | undefined =>
      i < 0 || j < 0 || i >= this.spanX || j >= this.spanY ? undefined : this.values[j * this.spanX + i];
    p[0] = cx + axis(at(cx - 1, cy), at(cx + 1, cy));
    p[1] = cy + axis(at(cx, cy - 1), at(cx, cy + 1));
    p[2] = Math.max(peak, 1);
    p[3] = globalBackground;
    p[4] = sigmaCount > 0 ? Math.max(0.5, Math.min(r, sigmaSum / sigmaCount)) : 1.5;

    if (this.spanX * this.spanY > 2 * P && this.levenbergMarquardt()) {
      const sigma = p[4];
      return {
        x: this.left + p[0],
        y: this.top + p[1],
        amplitude: p[2],
        background: p[3],
        sigma,
        intensity: 2 * Math.PI * sigma * sigma * p[2],
      };
    }
    return this.centroid(globalBackground);
  }

  /** Background-subtracted centroid of the window's pixels above the background. */
  private centroid(background: number): Spot {
    let sum = 0;
    let sx = 0;
    let sy = 0;
    let peak = 0;
    for (let j = 0; j < this.spanY; j++) {
      for (let i = 0; i < this.spanX; i++) {
        const v = this.values[j * this.spanX + i]! - background;
        if (v <= 0) continue;
        sum += v;
        sx += v * i;
        sy += v * j;
        if (v > peak) peak = v;
      }
    }
    return {
      x: this.left + (sum > 0 ? sx / sum : this.spanX / 2),
      y: this.top + (sum > 0 ? sy / sum : this.spanY / 2),
      amplitude: peak,
      background,
      sigma: undefined,
      intensity: sum,
    };
  }

  /** Fits this.p in place; false if it leaves the window or degenerates. */
  private levenbergMarquardt(): boolean {
    const p = this.p;
    let chi2 = this.evaluate(p, true);
    let lambda = 1e-3;
    for (let iteration = 0; iteration < this.iterations; iteration++) {
      let accepted = false;
      for (let attempt = 0; attempt < 8 && !accepted; attempt++) {
        const a = this.a;
        for (let i = 0; i < P * P; i++) a[i] = this.jtj[i]!;
        for (let i = 0; i < P; i++) a[i * P + i]! *= 1 + lambda;
        if (!solve(a, this.jtr, this.step)) {
          lambda *= 10;
          continue;
        }
        for (let i = 0; i < P; i++) this.trial[i] = p[i]! + this.step[i]!;
        if (!(this.trial[4]! > 0.2) || !(this.trial[2]! > 0)) {
          lambda *= 10;
          continue;
        }
        const trialChi2 = this.evaluate(this.trial, false);
        if (trialChi2 < chi2) {
          p.set(this.trial);
          accepted = true;
          lambda = Math.max(lambda / 10, 1e-7);
        } else {
          lambda *= 10;
        }
      }
      if (!accepted) break; // no step improves: converged (or stuck)
      const moved = Math.abs(this.step[0]!) + Math.abs(this.step[1]!);
      chi2 = this.evaluate(p, true);
      if (moved < 1e-4) break;
    }
    const margin = 0.5;
    return (
      Number.isFinite(chi2) &&
      p[0]! >= -margin &&
      p[0]! <= this.spanX - 1 + margin &&
      p[1]! >= -margin &&
      p[1]! <= this.spanY - 1 + margin &&
      p[2]! > 0 &&
      p[4]! > 0.2 &&
      p[4]! < 2 * this.radius
    );
  }

  /** Sum of squared residuals at `q`; with `jacobian`, also fills JᵀJ and Jᵀr. */
  private evaluate(q: Float64Array, jacobian: boolean): number {
    const [x, y, amplitude, background, sigma] = q as unknown as [number, number, number, number, number];
    const inverseSigma2 = 1 / (sigma * sigma);
    const half = 0.5 * inverseSigma2;
    for (let i = 0; i < this.spanX; i++) this.gx[i] = Math.exp(-(i - x) * (i - x) * half);
    for (let j = 0; j < this.spanY; j++) this.gy[j] = Math.exp(-(j - y) * (j - y) * half);
    let chi2 = 0;
    const jtj = this.jtj;
    const jtr = this.jtr;
    if (jacobian) {
      jtj.fill(0);
      jtr.fill(0);
    }
    const d = [0, 0, 0, 0, 0];
    for (let j = 0; j < this.spanY; j++) {
      const dyPix = j - y;
      const gyj = this.gy[j]!;
      for (let i = 0; i < this.spanX; i++) {
        const g = this.gx[i]! * gyj;
        const residual = this.values[j * this.spanX + i]! - (background + amplitude * g);
        chi2 += residual * residual;
        if (!jacobian) continue;
        const dxPix = i - x;
        const ag = amplitude * g;
        d[0] = ag * dxPix * inverseSigma2;
        d[1] = ag * dyPix * inverseSigma2;
        d[2] = g;
        d[3] = 1;
        d[4] = (ag * (dxPix * dxPix + dyPix * dyPix) * inverseSigma2) / sigma;
        for (let a = 0; a < P; a++) {
          const da = d[a]!;
          jtr[a]! += da * residual;
          for (let b = a; b < P; b++) jtj[a * P + b]! += da * d[b]!;
        }
      }
    }
    if (jacobian) for (let a = 0; a < P; a++) for (let b = 0; b < a; b++) jtj[a * P + b] = jtj[b * P + a]!;
    return chi2;
  }
}

/** Solves the symmetric positive definite system a·x = b (Cholesky, in place on a); false if not SPD. */
function solve(a: Float64Array, b: Float64Array, x: Float64Array): boolean {
  for (let j = 0; j < P; j++) {
    let diagonal = a[j * P + j]!;
    for (let k = 0; k < j; k++) diagonal -= a[j * P + k]! * a[j * P + k]!;
    if (!(diagonal > 0)) return false;
    const l = Math.sqrt(diagonal);
    a[j * P + j] = l;
    for (let i = j + 1; i < P; i++) {
      let s = a[i * P + j]!;
      for (let k = 0; k < j; k++) s -= a[i * P + k]! * a[j * P + k]!;
      a[i * P + j] = s / l;
    }
  }
  for (let i = 0; i < P; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= a[i * P + k]! * x[k]!;
    x[i] = s / a[i * P + i]!;
  }
  for (let i = P - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < P; k++) s -= a[k * P + i]! * x[k]!;
    x[i] = s / a[i * P + i]!;
  }
  return true;
}

function checkNumber(name: string, value: number, min: number, max: number): void {
  if (!(value >= min && value <= max)) {
    throw new LabcastError('BAD_ARGUMENT', `localisation option "${name}" must be in [${min}, ${max}], got ${value}`, name);
  }
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new LabcastError('BAD_ARGUMENT', `localisation option "${name}" must be an integer, got ${value}`, name);
  }
  checkNumber(name, value, min, max);
}
