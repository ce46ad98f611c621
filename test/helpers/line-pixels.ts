/**
 * The pixels along a line as docs/protocol.md defines a profile (one per step of
 * the longer axis, rounded to the nearest pixel), computed here independently of
 * src/web/raw-inspect.ts so that the browser tests check it.
 */
export function linePixels(x0: number, y0: number, x1: number, y1: number): [number, number][] {
  const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0));
  return Array.from({ length: steps + 1 }, (_, i) => {
    const t = steps === 0 ? 0 : i / steps;
    return [Math.floor(x0 + t * (x1 - x0) + 0.5), Math.floor(y0 + t * (y1 - y0) + 0.5)] as [number, number];
  });
}
