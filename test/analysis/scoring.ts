import type { Spot } from '../../src/analysis/localize.js';
import type { SimParticle } from '../../src/devices/sim/particles.js';

/**
 * Scores detections against the simulator's truth for one frame.
 *
 * A truth particle is excluded from scoring when another particle's centre is
 * within `crowding` px (the spots overlap) or its centre is within `edge` px of
 * the frame edge (its fit window is cut). Scored particles count as found when a
 * detection lies within `match` px; the error is the distance to the nearest
 * one. A detection is false when no truth particle (scored or not) is within
 * `match` px, and it is not near an excluded particle (within `crowding` px,
 * where merged or split detections are expected).
 */
export interface FrameScore {
  scored: number;
  excluded: number;
  found: number;
  squaredErrors: number[];
  detections: number;
  falseDetections: number;
  ignoredDetections: number;
}

export function scoreFrame(
  truth: readonly SimParticle[],
  spots: readonly Spot[],
  width: number,
  height: number,
  { match = 1, crowding = 8, edge = 4 } = {},
): FrameScore {
  const excluded = truth.map(
    (p, i) =>
      p.x < edge ||
      p.y < edge ||
      p.x > width - 1 - edge ||
      p.y > height - 1 - edge ||
      truth.some((q, j) => j !== i && (p.x - q.x) ** 2 + (p.y - q.y) ** 2 < crowding * crowding),
  );
  const score: FrameScore = {
    scored: 0,
    excluded: 0,
    found: 0,
    squaredErrors: [],
    detections: spots.length,
    falseDetections: 0,
    ignoredDetections: 0,
  };
  truth.forEach((p, i) => {
    if (excluded[i]) {
      score.excluded++;
      return;
    }
    score.scored++;
    let best = Infinity;
    for (const s of spots) best = Math.min(best, (s.x - p.x) ** 2 + (s.y - p.y) ** 2);
    if (best <= match * match) {
      score.found++;
      score.squaredErrors.push(best);
    }
  });
  for (const s of spots) {
    const near = (p: SimParticle, r: number) => (s.x - p.x) ** 2 + (s.y - p.y) ** 2 <= r * r;
    if (truth.some((p) => near(p, match))) continue;
    if (truth.some((p, i) => excluded[i] && near(p, crowding))) score.ignoredDetections++;
    else score.falseDetections++;
  }
  return score;
}

export interface Summary {
  frames: number;
  scored: number;
  excluded: number;
  rms: number;
  foundFraction: number;
  falseFraction: number;
  falseDetections: number;
  detections: number;
}

export function summarise(scores: readonly FrameScore[]): Summary {
  const sum = (f: (s: FrameScore) => number) => scores.reduce((t, s) => t + f(s), 0);
  const errors = scores.flatMap((s) => s.squaredErrors);
  const scoredDetections = sum((s) => s.detections - s.ignoredDetections);
  return {
    frames: scores.length,
    scored: sum((s) => s.scored),
    excluded: sum((s) => s.excluded),
    rms: Math.sqrt(errors.reduce((t, e) => t + e, 0) / errors.length),
    foundFraction: sum((s) => s.found) / sum((s) => s.scored),
    falseFraction: sum((s) => s.falseDetections) / scoredDetections,
    falseDetections: sum((s) => s.falseDetections),
    detections: scoredDetections,
  };
}
