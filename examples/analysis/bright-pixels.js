// A user analysis for labcast serve: how many pixels of each frame are above a
// threshold, and the mean of each row. Register it in the config:
//
//   analysis:
//     bright:
//       kind: module
//       module: examples/analysis/bright-pixels.js   # relative to where labcast serve runs
//       options: { threshold: 150 }
//
// then `labcast ctl analysis start bright`; its results appear on the results
// endpoint under the topic "analysis/bright" (docs/analysis.md).
//
// The function gets one frame and the options from the config, and returns the
// result: plain values go into the JSON body; typed arrays (here row_means)
// travel as binary parts after it. Return null to publish nothing for a frame.
// It may be async. Throwing is counted as a frame error; the process goes on.

/**
 * @param {{ header: { run_id: string, seq: number, shape: number[], dtype: string },
 *           pixels: Uint8Array | Uint16Array, width: number, height: number, channels: number }} frame
 * @param {{ threshold?: number }} options
 */
export default function brightPixels(frame, options) {
  const threshold = options.threshold ?? 1000;
  const { pixels, width, height, channels } = frame;
  const rowLength = width * channels;
  const rowMeans = new Float32Array(height);
  let count = 0;
  for (let row = 0; row < height; row++) {
    let sum = 0;
    for (let i = row * rowLength, end = i + rowLength; i < end; i++) {
      const value = pixels[i];
      sum += value;
      if (value > threshold) count++;
    }
    rowMeans[row] = sum / rowLength;
  }
  return { threshold, count, fraction: count / pixels.length, row_means: rowMeans };
}
