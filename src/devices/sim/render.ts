import { Buffer } from 'node:buffer';
import { endianness } from 'node:os';
import { bytesPerSample, type PixelDtype } from '../../protocol/dtype.js';
import { LabcastError } from '../../protocol/errors.js';
import { normalQuantiles } from './normal.js';
import type { SimCameraOptions } from '../../camera-spec/sim-options.js';
import { simParticlePositions, simParticleTruth, type SimParticle, type SimParticleTruth } from './particles.js';
import { GOLDEN_RATIO_32, hashKey, RANDOM_LEVEL_COUNT, randomLevel16 } from './prng.js';
import {
  backgroundElectrons,
  electronsToDn,
  fillBackgroundTable,
  poissonFromLevel,
  sensorModel,
  type SensorModel,
} from './sensor-model.js';
import { REFERENCE_EXPOSURE_MS, resolveSimSettings, type SimSettings } from './sim-settings.js';

/*
 * Two kinds of scene:
 *
 * - `particles`, a physical camera (devices/sim/sensor-model.ts): expected
 *   photons per pixel (a background plus Gaussian beads) → Poisson shot noise
 *   with dark current → read noise → gain → offset → clipped to bit_depth.
 * - `noise` and `gradient`, test patterns in fractions of full scale (2^bit_depth - 1):
 *
 *     value = clamp(round(fullScale * (brightness/100 + gain * exposure_ms/REFERENCE_EXPOSURE_MS * scene)), 0, fullScale)
 *
 * Randomness is 16 bits per pixel (randomLevel16 of its sensor index), mapped to
 * DN through a table built once per frame (or reused while settings stay put):
 * per pixel that is one hash, one look-up and one store, which keeps a
 * megapixel frame within a few milliseconds. The particles' background uses
 * such a table too (its noise is the same for every background pixel); only
 * pixels under a bead draw their own Poisson count. The price is that the
 * uniform 'noise' pattern has 2^16 levels, so at gains above 1 on 16 bits its
 * histogram has gaps, as a real sensor's does.
 */

const GRADIENT_PERIOD_PX = 256;
const GRADIENT_SPEED_PX_PER_FRAME = 4;
/** Beyond ±4 sigma a spot adds under 0.04% of its peak: well below the noise. */
const SPOT_RADIUS_SIGMAS = 4;

const NOISE_PATTERN_SALT = 0x4e4f_4953; // "NOIS"
const READ_NOISE_SALT = 0x5245_4144; // "READ"
const BEAD_PIXEL_SALT = 0x4245_4144; // "BEAD"

const BIG_ENDIAN_HOST = endianness() === 'BE';

type Samples = Uint8Array | Uint16Array;

/** Where the frame sits on the sensor: content is a function of sensor coordinates. */
interface Window {
  readonly sensorWidth: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Per-frame constants of the test patterns (noise, gradient), in DN. */
interface Tone {
  readonly dtype: PixelDtype;
  /** DN per unit of scene irradiance. */
  readonly signal: number;
  /** Black level plus 0.5, so that truncation rounds to nearest. */
  readonly offset: number;
  /** 2^bit_depth - 1. */
  readonly max: number;
}

/**
 * The exact pixels of frame `cameraIndex` (row-major, [roi_height, roi_width];
 * uint16 little-endian), a pure function of its arguments: tests and file
 * checks use it as the expected image. Rendered into `into` when given (it
 * must be exactly the frame's size; e.g. a slot of a shared ring), else into a
 * freshly allocated buffer of its own. Settings not given take their defaults;
 * all are validated (BAD_SETTING).
 */
export function renderSimFrame(
  options: SimCameraOptions,
  settings: Readonly<Partial<SimSettings>>,
  cameraIndex: number,
  into?: Uint8Array,
): Uint8Array {
  return renderResolvedFrame(options, resolveSimSettings(options, settings), cameraIndex, into);
}

/**
 * renderSimFrame for settings already resolved and validated (the camera's
 * own, checked when they were set): nothing is validated again per frame.
 */
export function renderResolvedFrame(options: SimCameraOptions, resolved: SimSettings, cameraIndex: number, into?: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(cameraIndex) || cameraIndex < 0) {
    throw new LabcastError('BAD_ARGUMENT', `frame index must be a non-negative integer, got ${cameraIndex}`);
  }
  const { window, tone } = frameLayout(options, resolved);
  const count = window.width * window.height;
  const byteLength = count * bytesPerSample(options.dtype);
  if (into !== undefined && into.byteLength !== byteLength) {
    throw new LabcastError('BAD_ARGUMENT', `the output buffer holds ${into.byteLength} bytes; this frame takes ${byteLength}`, 'into');
  }
  // A uint16 view needs an even offset; an odd one gets a copy.
  const aligned = into !== undefined && (options.dtype === 'uint8' || into.byteOffset % 2 === 0);
  const bytes = aligned ? into : allocateFrameBytes(byteLength);
  // Typed arrays use the host byte order; the wire and files are little-endian (swapped below otherwise).
  const samples: Samples = options.dtype === 'uint8' ? bytes : new Uint16Array(bytes.buffer, bytes.byteOffset, count);

  switch (options.pattern) {
    case 'noise':
      renderNoise(samples, window, tone, hashKey(options.seed, NOISE_PATTERN_SALT, cameraIndex));
      break;
    case 'gradient':
      renderGradient(samples, window, tone, cameraIndex);
      break;
    case 'particles':
      renderParticles(samples, window, options, resolved, cameraIndex);
      break;
  }
  if (BIG_ENDIAN_HOST && options.dtype === 'uint16') Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).swap16();
  if (into !== undefined && bytes !== into) {
    into.set(bytes);
    return into;
  }
  return bytes;
}

/**
 * The ground truth of frame `cameraIndex` for the `particles` pattern (what the
 * frame header's `truth` carries), undefined for the other patterns. Uses the
 * same settings as renderSimFrame, so amplitudes are in the frame's DN (the
 * expectation, before shot noise).
 */
export function simFrameTruth(
  options: SimCameraOptions,
  settings: Readonly<Partial<SimSettings>>,
  cameraIndex: number,
): SimParticleTruth | undefined {
  return options.pattern === 'particles' ? resolvedFrameTruth(options, resolveSimSettings(options, settings), cameraIndex) : undefined;
}

/** simFrameTruth for settings already resolved and validated (the camera's own). */
export function resolvedFrameTruth(options: SimCameraOptions, resolved: SimSettings, cameraIndex: number): SimParticleTruth | undefined {
  if (options.pattern !== 'particles') return undefined;
  const model = sensorModel(resolved);
  const beadDn = resolved.photons_per_bead * model.electronsPerPhoton * model.dnPerElectron;
  return simParticleTruth(options, cameraIndex, { x: resolved.roi_x, y: resolved.roi_y }, beadDn);
}

/**
 * Every frame gets memory of its own, outside Buffer's shared pool, because it
 * is handed to ZeroMQ zero-copy. Unzeroed is fine: the renderers write every byte.
 */
function allocateFrameBytes(byteLength: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(byteLength);
  // A plain Uint8Array over the same memory: what the Frame interface promises.
  return new Uint8Array(buffer.buffer, buffer.byteOffset, byteLength);
}

/**
 * The window and tone of the last options and settings rendered. A stream
 * renders every frame from the same frozen objects, so these are made once,
 * and caches further down (the gradient's frames) can be keyed on their identity.
 */
let lastLayout: { options: SimCameraOptions; settings: SimSettings; window: Window; tone: Tone } | null = null;

function frameLayout(options: SimCameraOptions, settings: SimSettings): { window: Window; tone: Tone } {
  if (lastLayout?.options === options && lastLayout.settings === settings) return lastLayout;
  const window: Window = {
    sensorWidth: options.width,
    x: settings.roi_x,
    y: settings.roi_y,
    width: settings.roi_width,
    height: settings.roi_height,
  };
  lastLayout = { options, settings, window, tone: toneFor(options.dtype, settings) };
  return lastLayout;
}

function toneFor(dtype: PixelDtype, settings: SimSettings): Tone {
  const fullScale = 2 ** settings.bit_depth - 1;
  return {
    dtype,
    signal: fullScale * settings.gain * (settings.exposure_ms / REFERENCE_EXPOSURE_MS),
    offset: (fullScale * settings.brightness) / 100 + 0.5,
    max: fullScale,
  };
}

/** `value` (already offset by 0.5) rounded and clamped to [0, max]. */
function toSample(value: number, max: number): number {
  return value <= 0 ? 0 : value >= max ? max : value | 0;
}

function newSamples(dtype: PixelDtype, length: number): Samples {
  return dtype === 'uint8' ? new Uint8Array(length) : new Uint16Array(length);
}

interface CachedTable {
  readonly key: string;
  readonly table: Samples;
}
const tableCache = new Map<string, CachedTable>();

/**
 * DN for each of the 2^16 random levels a pixel can draw. One table per kind
 * is kept, since settings usually stay put for many frames.
 */
function cachedLevelTable(kind: 'uniform' | 'background', dtype: PixelDtype, key: string, fill: (table: Samples) => void): Samples {
  const cached = tableCache.get(kind);
  if (cached?.key === key) return cached.table;
  const table = newSamples(dtype, RANDOM_LEVEL_COUNT);
  fill(table);
  tableCache.set(kind, { key, table });
  return table;
}

/** The noise pattern: uniform over the scene range. */
function uniformLevelTable(tone: Tone): Samples {
  return cachedLevelTable('uniform', tone.dtype, `${tone.dtype} ${tone.signal} ${tone.offset} ${tone.max}`, (table) => {
    for (let level = 0; level < RANDOM_LEVEL_COUNT; level++) {
      table[level] = toSample(tone.offset + (tone.signal * level) / RANDOM_LEVEL_COUNT, tone.max);
    }
  });
}

/** The particles' background: shot, dark and read noise of `meanElectrons` through the sensor model. */
function backgroundLevelTable(dtype: PixelDtype, model: SensorModel, meanElectrons: number): Samples {
  const key = `${dtype} ${JSON.stringify(model)} ${meanElectrons}`;
  return cachedLevelTable('background', dtype, key, (table) => fillBackgroundTable(table, model, meanElectrons));
}

/** Fills the frame with `table[randomLevel16(frameKey, sensor index)]`. */
function fillFromRandomLevels(samples: Samples, window: Window, table: Samples, frameKey: number): void {
  const { width, height } = window;
  const key = frameKey | 0; // as an int32 it stays a small integer in V8, not a heap number
  for (let row = 0; row < height; row++) {
    let out = row * width;
    const end = out + width;
    let sensor = (window.y + row) * window.sensorWidth + window.x;
    if (sensor % 2 === 1) samples[out++] = table[randomLevel16(key, sensor++)]!;
    for (; out + 1 < end; out += 2, sensor += 2) {
      // randomLevel16 for the pair (sensor, sensor + 1), written out: V8 does not
      // inline the calls here, and in this loop that costs a factor of two.
      let x = Math.imul(sensor >>> 1, GOLDEN_RATIO_32) ^ key;
      x ^= x >>> 16;
      x = Math.imul(x, 0x7feb352d);
      x ^= x >>> 15;
      x = Math.imul(x, 0x846ca68b);
      x ^= x >>> 16;
      samples[out] = table[x >>> 16]!;
      samples[out + 1] = table[x & 0xffff]!;
    }
    if (out < end) samples[out] = table[randomLevel16(key, sensor)]!;
  }
}

/** Uniform white noise over the whole scene range. */
function renderNoise(samples: Samples, window: Window, tone: Tone, frameKey: number): void {
  fillFromRandomLevels(samples, window, uniformLevelTable(tone), frameKey);
}

/**
 * A noiseless diagonal sawtooth ramp moving GRADIENT_SPEED_PX_PER_FRAME along
 * the diagonal each frame: a dropped or repeated frame shows as a jump.
 */
/**
 * The ramp repeats every period/speed frames, so small frames are copied from
 * the one rendered a cycle ago: a real camera hands over a frame at no CPU
 * cost, and a benchmark of the pipeline should not measure the simulator.
 */
const GRADIENT_CACHE_MAX_BYTES = 64 * 1024;
let gradientCache: { window: Window; tone: Tone; frames: Map<number, Samples> } | null = null;

function renderGradient(samples: Samples, window: Window, tone: Tone, index: number): void {
  if (samples.byteLength > GRADIENT_CACHE_MAX_BYTES) {
    drawGradient(samples, window, tone, index);
    return;
  }
  // Keyed on the layout's identity (frameLayout): no key to build per frame, which cost more than the copy.
  if (gradientCache?.window !== window || gradientCache.tone !== tone) gradientCache = { window, tone, frames: new Map() };
  const shift = gradientShift(index);
  const cached = gradientCache.frames.get(shift);
  if (cached !== undefined) {
    samples.set(cached);
    return;
  }
  drawGradient(samples, window, tone, index);
  gradientCache.frames.set(shift, samples.slice());
}

function gradientShift(index: number): number {
  const period = GRADIENT_PERIOD_PX;
  return ((index % period) * GRADIENT_SPEED_PX_PER_FRAME) % period;
}

function drawGradient(samples: Samples, window: Window, tone: Tone, index: number): void {
  const period = GRADIENT_PERIOD_PX;
  // Each row is the row above shifted by one pixel: copy rows out of one long strip.
  const strip = gradientStrip(tone, window.width + period);
  const shift = gradientShift(index);
  // Rows repeat every period: draw one period of rows, then copy it in ever larger pieces.
  const drawn = Math.min(window.height, period);
  for (let row = 0; row < drawn; row++) {
    const phase = (window.x + window.y + row + period - shift) % period;
    samples.set(strip.subarray(phase, phase + window.width), row * window.width);
  }
  const total = window.height * window.width;
  for (let filled = drawn * window.width; filled < total; filled *= 2) {
    samples.copyWithin(filled, 0, Math.min(filled, total - filled));
  }
}

let cachedStrip: { key: string; strip: Samples } | null = null;

/** One period of the ramp, repeated; kept while the tone and width stay put (every frame, usually). */
function gradientStrip(tone: Tone, length: number): Samples {
  const key = `${tone.dtype} ${tone.signal} ${tone.offset} ${tone.max} ${length}`;
  if (cachedStrip?.key === key) return cachedStrip.strip;
  const period = GRADIENT_PERIOD_PX;
  const strip = newSamples(tone.dtype, length);
  for (let k = 0; k < strip.length; k++) {
    strip[k] = toSample(tone.offset + (tone.signal * (k % period)) / period, tone.max);
  }
  cachedStrip = { key, strip };
  return strip;
}

/**
 * Sum of the spots' irradiance per pixel of the window. Kept all zero between
 * frames (each pixel is cleared as it is finalised), so it is neither
 * reallocated nor refilled per frame; rendering is synchronous, so one suffices.
 */
let spotScratch = new Float32Array(0);
/** One spot's Gaussian profile along x and along y; reused likewise. */
let columnProfile = new Float64Array(0);
let rowProfile = new Float64Array(0);

/** A rectangle of window pixels, inclusive. */
interface Rect {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/**
 * Gaussian beads on a uniform background, through the sensor model. Every
 * random draw is keyed by the pixel's sensor index, so a ROI is an exact crop.
 */
function renderParticles(samples: Samples, window: Window, options: SimCameraOptions, settings: SimSettings, index: number): void {
  const model = sensorModel(settings);
  const background = backgroundElectrons(model, settings.background_photons);
  const readKey = hashKey(options.seed, READ_NOISE_SALT, index) | 0;
  // Most pixels are background: one look-up each. Then redo the pixels under spots.
  fillFromRandomLevels(samples, window, backgroundLevelTable(options.dtype, model, background), readKey);

  const count = window.width * window.height;
  if (spotScratch.length < count) spotScratch = new Float32Array(count);
  const spots = spotScratch;
  const touched: Rect[] = [];
  const sigma = options.particle_sigma;
  // Mean electrons at the centre of a bead of brightness 1 (a sampled Gaussian of unit integral, times its electrons).
  const peakElectrons = (settings.photons_per_bead * model.electronsPerPhoton) / (2 * Math.PI * sigma * sigma);
  try {
    for (const particle of simParticlePositions(options, index)) {
      const rect = addSpot(spots, window, particle, sigma, peakElectrons * particle.brightness);
      if (rect !== undefined) touched.push(rect);
    }
    const quantiles = normalQuantiles();
    const drawKey = hashKey(options.seed, BEAD_PIXEL_SALT, index) | 0;
    for (const rect of touched) {
      for (let row = rect.top; row <= rect.bottom; row++) {
        const out = row * window.width;
        const sensor = (window.y + row) * window.sensorWidth + window.x;
        for (let column = rect.left; column <= rect.right; column++) {
          const spot = spots[out + column]!;
          // Zero means done already (overlapping spots) or cleared: such a pixel keeps its background draw.
          if (spot === 0) continue;
          // elementHash(drawKey, sensor index) written out as an int32 (see fillFromRandomLevels):
          // 16 random bits for the shot noise, 16 for the read noise.
          let draws = Math.imul(sensor + column, GOLDEN_RATIO_32) ^ drawKey;
          draws ^= draws >>> 16;
          draws = Math.imul(draws, 0x7feb352d);
          draws ^= draws >>> 15;
          draws = Math.imul(draws, 0x846ca68b);
          draws ^= draws >>> 16;
          const electrons = poissonFromLevel(background + spot, draws >>> 16);
          samples[out + column] = electronsToDn(model, electrons, quantiles[draws & 0xffff]!);
          spots[out + column] = 0;
        }
      }
    }
  } catch (error) {
    spotScratch = new Float32Array(0); // it may hold leftovers now
    throw error;
  }
}

/**
 * Adds one spot's mean electrons (`peak` at its centre) within
 * ±SPOT_RADIUS_SIGMAS of its centre, cropped to the window; returns the window
 * pixels it touched.
 */
function addSpot(spots: Float32Array, window: Window, particle: SimParticle, sigma: number, peak: number): Rect | undefined {
  const radius = Math.ceil(SPOT_RADIUS_SIGMAS * sigma);
  // Sensor coordinates of the pixels the spot touches, cropped to the window.
  const left = Math.max(window.x, Math.floor(particle.x) - radius);
  const right = Math.min(window.x + window.width - 1, Math.ceil(particle.x) + radius);
  const top = Math.max(window.y, Math.floor(particle.y) - radius);
  const bottom = Math.min(window.y + window.height - 1, Math.ceil(particle.y) + radius);
  if (left > right || top > bottom) return undefined;

  // The Gaussian is separable: 2 × (2r+1) exponentials instead of (2r+1)².
  const spanX = right - left + 1;
  const spanY = bottom - top + 1;
  if (columnProfile.length < spanX) columnProfile = new Float64Array(spanX);
  if (rowProfile.length < spanY) rowProfile = new Float64Array(spanY);
  const inverseTwoSigmaSquared = 1 / (2 * sigma * sigma);
  for (let i = 0; i < spanX; i++) {
    const dx = left + i - particle.x;
    columnProfile[i] = Math.exp(-dx * dx * inverseTwoSigmaSquared);
  }
  for (let j = 0; j < spanY; j++) {
    const dy = top + j - particle.y;
    rowProfile[j] = peak * Math.exp(-dy * dy * inverseTwoSigmaSquared);
  }
  for (let j = 0; j < spanY; j++) {
    const weight = rowProfile[j]!;
    const start = (top + j - window.y) * window.width + (left - window.x);
    for (let i = 0; i < spanX; i++) spots[start + i]! += weight * columnProfile[i]!;
  }
  return {
    left: left - window.x,
    right: right - window.x,
    top: top - window.y,
    bottom: bottom - window.y,
  };
}
