/**
 * Camera option names that were camelCase until every config and wire name
 * became snake_case. The old spelling is still accepted, with a warning naming
 * the new key, for one version; then this table goes.
 */
export const RENAMED_CAMERA_OPTIONS: Readonly<Record<string, string>> = {
  particleCount: 'particle_count',
  particleSigma: 'particle_sigma',
  pixelFormat: 'pixel_format',
  ffmpegPath: 'ffmpeg_path',
  inputOptions: 'input_options',
  videoSize: 'video_size',
  inputFormat: 'input_format',
};

/**
 * `spec` with each old option name replaced by its new one; `onRenamed` is
 * told of each. A key given in both spellings is left as it is, for the
 * camera schema to refuse the old one as unknown.
 */
export function withCurrentCameraOptionNames(
  spec: Readonly<Record<string, unknown>>,
  onRenamed: (oldKey: string, newKey: string) => void,
): Record<string, unknown> {
  const renamed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(spec)) {
    const newKey = Object.hasOwn(RENAMED_CAMERA_OPTIONS, key) ? RENAMED_CAMERA_OPTIONS[key]! : undefined;
    if (newKey === undefined || Object.hasOwn(spec, newKey)) {
      renamed[key] = value;
    } else {
      renamed[newKey] = value;
      onRenamed(key, newKey);
    }
  }
  return renamed;
}

/** The warning for one renamed key; `where` says where it was given. */
export function renamedKeyWarning(where: string, oldKey: string, newKey: string): string {
  return `${where}"${oldKey}" is deprecated; use "${newKey}" (the old name is accepted until the next version)`;
}
