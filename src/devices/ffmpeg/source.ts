import type { FfmpegCameraSpec } from '../../camera-spec/ffmpeg-spec.js';

// How an ffmpeg camera's spec (camera-spec/ffmpeg-spec.ts) becomes ffmpeg input arguments.

/** ffmpeg/ffprobe arguments that select the source (everything up to and including -i). */
export function ffmpegInputArgs(spec: FfmpegCameraSpec): string[] {
  const extra = [...spec.input_options];
  switch (spec.driver) {
    case 'v4l2': {
      const args = ['-f', 'v4l2'];
      if (spec.input_format !== undefined) args.push('-input_format', spec.input_format);
      if (spec.video_size !== undefined) args.push('-video_size', spec.video_size);
      if (spec.framerate !== undefined) args.push('-framerate', String(spec.framerate));
      // Frame pts = the kernel's capture timestamp, converted to the Unix epoch.
      args.push('-ts', 'mono2abs');
      return [...args, ...extra, '-i', spec.device];
    }
    case 'file':
      return [...extra, '-i', spec.path];
    case 'url':
      return [...extra, '-i', spec.url];
    case 'lavfi':
      return ['-f', 'lavfi', ...extra, '-i', spec.graph];
  }
}

/** Whether ffmpeg reads the input at its native rate (`-re`). */
export function readsAtNativeRate(spec: FfmpegCameraSpec): boolean {
  return (spec.driver === 'file' || spec.driver === 'lavfi') && spec.realtime;
}

/** Live sources deliver frames on their own clock; a file or an unpaced graph waits for the reader. */
export function isFreeRunning(spec: FfmpegCameraSpec): boolean {
  return spec.driver === 'v4l2' || spec.driver === 'url' || spec.realtime;
}

/** Human-readable source, e.g. "/dev/video0" or "testsrc2=size=320x240". */
export function describeSource(spec: FfmpegCameraSpec): string {
  switch (spec.driver) {
    case 'v4l2':
      return spec.device;
    case 'file':
      return spec.path;
    case 'url':
      return spec.url;
    case 'lavfi':
      return spec.graph;
  }
}
