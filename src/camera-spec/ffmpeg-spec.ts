import { z } from 'zod';

/**
 * What an ffmpeg-backed camera reads from, as camera specs (one per driver).
 * devices/ffmpeg/source.ts turns each into ffmpeg input arguments. Option names
 * are snake_case, as every name in config files and on the wire.
 */

/** Output pixel formats: 8-bit mono, 16-bit mono (little-endian), 8-bit RGB. */
export const FFMPEG_PIXEL_FORMATS = ['gray', 'gray16le', 'rgb24'] as const;
export type FfmpegPixelFormat = (typeof FFMPEG_PIXEL_FORMATS)[number];

const common = {
  pixel_format: z
    .enum(FFMPEG_PIXEL_FORMATS)
    .optional()
    .describe('frames as gray (uint8 [H,W]), gray16le (uint16 [H,W]) or rgb24 (uint8 [H,W,3]); default: from the source'),
  ffmpeg_path: z.string().min(1).default('ffmpeg').describe('the ffmpeg program (ffprobe is taken from beside it)'),
  input_options: z.array(z.string()).default([]).describe('extra ffmpeg options placed before -i, e.g. ["-rtsp_transport", "tcp"]'),
};

export const v4l2CameraSpecSchema = z
  .object({
    driver: z.literal('v4l2'),
    device: z.string().min(1).default('/dev/video0').describe('V4L2 device node'),
    video_size: z
      .string()
      .regex(/^\d+x\d+$/, 'must be WIDTHxHEIGHT, e.g. 640x480')
      .optional()
      .describe('capture size asked of the device (see labcast cameras)'),
    framerate: z.number().positive().max(1000).optional().describe('frame rate asked of the device'),
    input_format: z.string().min(1).optional().describe('device format, e.g. yuyv422 or mjpeg (see labcast cameras)'),
    ...common,
  })
  .strict();

export const fileCameraSpecSchema = z
  .object({
    driver: z.literal('file'),
    path: z.string().min(1).describe('a video file ffmpeg can read'),
    realtime: z
      .boolean()
      .default(false)
      .describe("true: play at the file's own rate (free-running); false: as fast as the saver takes the frames"),
    ...common,
  })
  .strict();

export const urlCameraSpecSchema = z
  .object({
    driver: z.literal('url'),
    url: z.string().min(1).describe('a network stream: rtsp://, http://, udp://, srt://...'),
    ...common,
  })
  .strict();

export const lavfiCameraSpecSchema = z
  .object({
    driver: z.literal('lavfi'),
    graph: z.string().min(1).describe('an ffmpeg lavfi source graph, e.g. testsrc2=size=320x240:rate=30'),
    realtime: z.boolean().default(true).describe("true: frames at the graph's rate (free-running); false: as fast as the saver takes them"),
    ...common,
  })
  .strict();

export type V4l2CameraSpec = z.output<typeof v4l2CameraSpecSchema>;
export type FileCameraSpec = z.output<typeof fileCameraSpecSchema>;
export type UrlCameraSpec = z.output<typeof urlCameraSpecSchema>;
export type LavfiCameraSpec = z.output<typeof lavfiCameraSpecSchema>;
export type FfmpegCameraSpec = V4l2CameraSpec | FileCameraSpec | UrlCameraSpec | LavfiCameraSpec;
