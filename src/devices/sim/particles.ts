import type { SimCameraOptions } from '../../camera-spec/sim-options.js';
import { hashKey, uniformSequence } from './prng.js';

/** Where one spot is in a given frame: the ground truth for spot-finding analyses. */
export interface SimParticle {
  /** Centre in sensor pixel coordinates (pixel centres at integers; x is the column). */
  readonly x: number;
  readonly y: number;
  /**
   * The bead's photons relative to the scene's photons_per_bead setting:
   * 0.6..1.4, fixed per bead (beads differ, as real ones do).
   */
  readonly brightness: number;
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
  readonly brightness: number;
}

const PARTICLE_SALT = 0x5041_5254; // "PART"
const MIN_SPEED_PX_PER_FRAME = 0.1;
const MAX_SPEED_PX_PER_FRAME = 0.8;
const MAX_WOBBLE_PX = 2;
const MIN_BRIGHTNESS = 0.6;
const MAX_BRIGHTNESS = 1.4;

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
    brightness: MIN_BRIGHTNESS + (MAX_BRIGHTNESS - MIN_BRIGHTNESS) * next(),
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
    brightness: track.brightness,
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
 * frame's window (the ROI at `windowX`, `windowY`), the expected integrated
 * intensity above the background in DN·px (`beadDn` = what a bead of
 * brightness 1 integrates to: photons_per_bead × QE × exposure / reference ×
 * DN per electron) and the peak amplitude intensity / (2π·σ²) in DN, both
 * before shot noise and clipping. Rounded to 1e-4 px and 1e-3 DN, far below
 * any localisation error, to keep headers short.
 */
export function simParticleTruth(
  options: SimCameraOptions,
  index: number,
  window: { readonly x: number; readonly y: number },
  beadDn: number,
): SimParticleTruth {
  const sigma = options.particle_sigma;
  const particles = simParticlePositions(options, index);
  const spotArea = 2 * Math.PI * sigma * sigma;
  return {
    x: particles.map((p) => round(p.x - window.x, 1e4)),
    y: particles.map((p) => round(p.y - window.y, 1e4)),
    amplitude: particles.map((p) => round((p.brightness * beadDn) / spotArea, 1e3)),
    intensity: particles.map((p) => round(p.brightness * beadDn, 1e3)),
    sigma,
  };
}

function round(value: number, scale: number): number {
  return Math.round(value * scale) / scale;
}
