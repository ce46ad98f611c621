import { LabcastError } from '../../protocol/errors.js';
import type { PixelDtype } from '../../protocol/dtype.js';
import type { FfmpegCameraSpec, FfmpegPixelFormat } from '../../camera-spec/ffmpeg-spec.js';
import { describeSource, ffmpegInputArgs } from './source.js';
import { ffprobeBeside, lastLines, runTool } from './tools.js';

/** What ffprobe says about a source's first video stream. */
export interface ProbedStream {
  readonly width: number;
  readonly height: number;
  /** ffmpeg's name of the decoded pixel format, e.g. yuyv422, yuv420p, gray16le. */
  readonly pixFmt: string;
  /** Frames per second, or null when the source does not say. */
  readonly fps: number | null;
}

/**
 * Learns the frame size and pixel format before streaming, so that the
 * camera's frameFormat() is known at open. Failures are CAMERA_UNAVAILABLE
 * with ffprobe's own words (missing, busy, permission denied...).
 */
export async function probeSource(spec: FfmpegCameraSpec, timeoutMs = 20_000): Promise<ProbedStream> {
  const args = [
    '-v',
    'error',
    ...ffmpegInputArgs(spec),
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,pix_fmt,avg_frame_rate,r_frame_rate',
    '-of',
    'json',
  ];
  const result = await runTool('ffprobe', ffprobeBeside(spec.ffmpeg_path), args, timeoutMs);
  const source = describeSource(spec);
  if (result.code !== 0) throw unavailable(source, result.stderr, spec.driver === 'v4l2');
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new LabcastError('CAMERA_UNAVAILABLE', `${source}: ffprobe gave no readable answer (${lastLines(result.stderr) || 'no output'})`);
  }
  const stream = (parsed as { streams?: Record<string, unknown>[] }).streams?.[0];
  if (stream === undefined) throw new LabcastError('CAMERA_UNAVAILABLE', `${source}: has no video stream`);
  const { width, height, pix_fmt: pixFmt } = stream;
  if (typeof width !== 'number' || typeof height !== 'number' || width < 1 || height < 1 || typeof pixFmt !== 'string') {
    throw new LabcastError('CAMERA_UNAVAILABLE', `${source}: ffprobe could not tell the frame size or pixel format`);
  }
  return { width, height, pixFmt, fps: parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate) };
}

function unavailable(source: string, stderr: string, isDevice: boolean): LabcastError {
  const detail = lastLines(stderr, 2) || 'ffprobe failed without a message';
  let hint = '';
  if (/resource busy/i.test(stderr)) hint = ' (another program is using the camera)';
  else if (/permission denied/i.test(stderr)) hint = ' (add your user to the "video" group, then log in again)';
  else if (/no such file/i.test(stderr)) hint = isDevice ? ' (labcast cameras lists the cameras)' : '';
  return new LabcastError('CAMERA_UNAVAILABLE', `cannot open ${source}: ${detail}${hint}`, 'camera');
}

/** "30000/1001" → 29.97; "0/0" or anything odd → null. */
export function parseRate(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d+)\/(\d+)$/.exec(value);
  if (match === null) return null;
  const rate = Number(match[1]) / Number(match[2]);
  return Number.isFinite(rate) && rate > 0 ? rate : null;
}

/**
 * The output format for a decoded pixel format: 8-bit mono stays gray, deeper
 * mono becomes gray16le (ffmpeg scales it to the 16-bit range), anything with
 * colour becomes rgb24.
 */
export function outputPixelFormat(pixFmt: string): FfmpegPixelFormat {
  const mono = /^(gray|y)(\d+)?(le|be)?$/.exec(pixFmt);
  if (mono !== null) return mono[2] !== undefined && Number(mono[2]) > 8 ? 'gray16le' : 'gray';
  if (pixFmt === 'ya8') return 'gray';
  if (pixFmt === 'ya16le' || pixFmt === 'ya16be') return 'gray16le';
  return 'rgb24';
}

export function frameLayout(pixelFormat: FfmpegPixelFormat, width: number, height: number): { shape: number[]; dtype: PixelDtype } {
  switch (pixelFormat) {
    case 'gray':
      return { shape: [height, width], dtype: 'uint8' };
    case 'gray16le':
      return { shape: [height, width], dtype: 'uint16' };
    case 'rgb24':
      return { shape: [height, width, 3], dtype: 'uint8' };
  }
}
