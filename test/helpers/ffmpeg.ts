import { execFileSync } from 'node:child_process';

/**
 * Runs ffmpeg on a lavfi `graph` with `output` (options, then the output
 * file): the test clips and reference frames the ffmpeg tests and bench
 * compare labcast with. Throws with ffmpeg's own error when it fails.
 */
export function ffmpegFromGraph(graph: string, output: readonly string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', graph, ...output]);
}

/** PIDs of ffmpeg processes whose parent is this process. */
export function ffmpegChildren(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1] === 'ffmpeg')
    .map((fields) => Number(fields[0]));
}
