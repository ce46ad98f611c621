import type { SimCameraOptions } from '../../camera-spec/sim-options.js';
import { hashKey, uniformSequence } from './prng.js';

/** Where one spot is in a given frame: the ground truth for spot-finding analyses. */
export interface SimParticle {
  /** Centre in sensor pixel coordinates (pixel centres at integers; x is the column). */
  readonly x: number;
  readonly y: number;
  /**
   * Peak height above the background as a fraction of the pixel full scale, at the
   * reference exposure and gain 1 (the image scales it by exposure and gain).
   */
  readonly amplitude: number;
}

/** Per-particle constants: the whole trajectory follows from them in closed form. */
interface ParticleTrack {
  readonly x0: number;
  readonly y0: number;
  readonly vx: number;
  readonly vy: number;
  readonly wobble: number;
  readonly wobbleRate: number;
  readonly phaseX: number;
  readonly phaseY: number;
  readonly amplitude: number;
}

const PARTICLE_SALT = 0x5041_5254; // "PART"
const MIN_SPEED_PX_PER_FRAME = 0.1;
const MAX_SPEED_PX_PER_FRAME = 0.8;
const MAX_WOBBLE_PX = 2;
const MIN_AMPLITUDE = 0.3;
const MAX_AMPLITUDE = 0.7;

// Options objects are frozen and shared by every frame of a camera.
const trackCache = new WeakMap<SimCameraOptions, readonly ParticleTrack[]>();

function particleTracks(options: SimCameraOptions): readonly ParticleTrack[] {
  let tracks = trackCache.get(options);
  if (tracks === undefined) {
    tracks = Array.from({ length: options.particle_count }, (_, particle) => drawTrack(options, particle));
    trackCache.set(options, tracks);
  }
  return tracks;
}

function drawTrack(options: SimCameraOptions, particle: number): ParticleTrack {
  const next = uniformSequence(hashKey(options.seed, PARTICLE_SALT, particle));
  const speed = MIN_SPEED_PX_PER_FRAME + (MAX_SPEED_PX_PER_FRAME - MIN_SPEED_PX_PER_FRAME) * next();
  const heading = 2 * Math.PI * next();
  return {
    x0: next() * (options.width - 1),
    y0: next() * (options.height - 1),
    vx: speed * Math.cos(heading),
    vy: speed * Math.sin(heading),
    wobble: MAX_WOBBLE_PX * next(),
    wobbleRate: 0.05 + 0.25 * next(),
    phaseX: 2 * Math.PI * next(),
    phaseY: 2 * Math.PI * next(),
    amplitude: MIN_AMPLITUDE + (MAX_AMPLITUDE - MIN_AMPLITUDE) * next(),
  };
}

/**
 * Particle centres in frame `index`: a straight drift plus a smooth wobble,
 * bouncing off the sensor edges. A pure function of (options, index).
 */
export function simParticlePositions(options: SimCameraOptions, index: number): SimParticle[] {
  return particleTracks(options).map((track) => ({
    x: bounce(track.x0 + track.vx * index + track.wobble * Math.sin(track.wobbleRate * index + track.phaseX), options.width - 1),
    y: bounce(track.y0 + track.vy * index + track.wobble * Math.sin(track.wobbleRate * index + track.phaseY), options.height - 1),
    amplitude: track.amplitude,
  }));
}

/** Folds an unbounded coordinate into [0, max] as a ball bouncing between walls would. */
function bounce(position: number, max: number): number {
  if (max <= 0) return 0;
  const period = 2 * max;
  const folded = ((position % period) + period) % period;
  return folded <= max ? folded : period - folded;
}

/** What the `truth` field of a frame header holds; see FrameTruth in protocol/messages.ts. */
export interface SimParticleTruth {
  readonly x: number[];
  readonly y: number[];
  readonly amplitude: number[];
  readonly intensity: number[];
  readonly sigma: number;
}

/**
 * Ground truth of frame `index` as the frame shows it: centres relative to the
 * frame's window (the ROI at `windowX`, `windowY`), amplitude in DN (`signal` =
 * DN per unit of irradiance, i.e. full scale × gain × exposure / reference) and
 * the integrated intensity 2π·σ²·amplitude in DN·px. Rounded to 1e-4 px and
 * 1e-3 DN, far below any localisation error, to keep headers short.
 */
export function simParticleTruth(
  options: SimCameraOptions,
  index: number,
  window: { readonly x: number; readonly y: number },
  signal: number,
): SimParticleTruth {
  const sigma = options.particle_sigma;
  const particles = simParticlePositions(options, index);
  const spotArea = 2 * Math.PI * sigma * sigma;
  return {
    x: particles.map((p) => round(p.x - window.x, 1e4)),
    y: particles.map((p) => round(p.y - window.y, 1e4)),
    amplitude: particles.map((p) => round(p.amplitude * signal, 1e3)),
    intensity: particles.map((p) => round(p.amplitude * signal * spotArea, 1e3)),
    sigma,
  };
}

function round(value: number, scale: number): number {
  return Math.round(value * scale) / scale;
}
