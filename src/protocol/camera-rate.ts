/**
 * What `rate_warning` (status, record --json, the summary) means: the rate a
 * camera delivered fell short of the rate it was asked for. Pure, so every
 * view and process judges a shortfall the same way.
 */

/** Below the requested rate by more than this fraction counts as a shortfall. */
export const RATE_SHORTFALL_FRACTION = 0.05;

/** "requested 1000 fps, achieved 160 fps (camera-bound)", or null when the camera keeps its rate (or none was asked for). */
export function rateShortfall(report: { readonly requested: number | null; readonly achieved: number | null }): string | null {
  const { requested, achieved } = report;
  if (requested === null || achieved === null) return null;
  if (achieved >= requested * (1 - RATE_SHORTFALL_FRACTION)) return null;
  return `requested ${formatFps(requested)} fps, achieved ${formatFps(achieved)} fps (camera-bound)`;
}

function formatFps(fps: number): string {
  return fps >= 100 ? fps.toFixed(0) : fps >= 10 ? fps.toFixed(1) : fps.toFixed(2);
}
