import { execFile } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { LabcastError } from '../../protocol/errors.js';

/**
 * The external programs the real-camera drivers use, and how to run them with
 * errors that say what to do: a missing program is MISSING_TOOL with the
 * Debian package that provides it.
 */

export type ToolName = 'ffmpeg' | 'ffprobe' | 'v4l2-ctl';

const PACKAGE_OF: Record<ToolName, string> = { ffmpeg: 'ffmpeg', ffprobe: 'ffmpeg', 'v4l2-ctl': 'v4l-utils' };

export function missingTool(tool: ToolName, binary: string): LabcastError {
  const where = binary === tool ? 'on PATH' : `at ${binary}`;
  return new LabcastError(
    'MISSING_TOOL',
    `${tool === 'ffprobe' ? 'ffprobe (part of ffmpeg)' : tool} is not installed (not found ${where}); ` +
      `install it with: sudo apt-get install ${PACKAGE_OF[tool]}`,
  );
}

/** ffprobe next to a given ffmpeg binary ("/opt/ff/bin/ffmpeg" → "/opt/ff/bin/ffprobe"); "ffprobe" for the PATH one. */
export function ffprobeBeside(ffmpeg: string): string {
  if (!ffmpeg.includes('/')) return 'ffprobe';
  const name = basename(ffmpeg).replace(/ffmpeg/, 'ffprobe');
  return join(dirname(ffmpeg), name === basename(ffmpeg) ? 'ffprobe' : name);
}

export interface ToolResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `binary args`, resolving with its output whatever its exit code;
 * rejects with MISSING_TOOL when the program does not exist, and with
 * CAMERA_UNAVAILABLE when it runs longer than `timeoutMs`.
 */
export function runTool(tool: ToolName, binary: string, args: readonly string[], timeoutMs = 20_000): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error !== null) {
        const errno = (error as NodeJS.ErrnoException).code;
        if (errno === 'ENOENT' || errno === 'EACCES') {
          reject(missingTool(tool, binary));
          return;
        }
        if (error.killed && typeof error.code !== 'number') {
          reject(new LabcastError('CAMERA_UNAVAILABLE', `${tool} ${args.join(' ')} did not answer within ${timeoutMs / 1000} s`));
          return;
        }
        if (typeof errno === 'string' && typeof error.code !== 'number' && errno !== undefined && !error.signal) {
          reject(new LabcastError('INTERNAL', `could not run ${binary}: ${error.message}`));
          return;
        }
      }
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, signal: error?.signal ?? null, stdout, stderr });
    });
  });
}

/** The last `count` non-empty lines of a program's stderr, for error messages. */
export function lastLines(text: string, count = 5): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-count)
    .join(' | ');
}
