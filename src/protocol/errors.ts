/**
 * One catalogue of error codes for every process and view. Codes are stable so
 * that scripts (and the Python client) can branch on them; messages are for people.
 */
export const ERROR_CODES = {
  BAD_ARGUMENT: 'a command-line flag or command argument is invalid',
  BAD_SETTING: 'a camera setting is unknown or out of range',
  BAD_MESSAGE: 'a wire message is malformed',
  OUTPUT_EXISTS: 'the output file exists and overwrite was not asked for',
  OUTPUT_UNWRITABLE: 'the output location cannot be written',
  ENDPOINT_IN_USE: 'a ZeroMQ endpoint is already bound by another process',
  CAMERA_STATE: 'the camera cannot do this in its current state',
  CHILD_FAILED: 'a labcast child process failed',
  WRITE_FAILED: 'a recording could not be written (disk full, I/O error); the file keeps what was flushed',
  FILE_FORMAT: 'a file is not a readable labcast HDF5 file',
  BAD_CONFIG: 'the config file is missing, unreadable or invalid',
  PATH_OUTSIDE_DATA_DIR: 'a requested file path would leave the data directory',
  BAD_REQUEST: 'a control request is not JSON, names an unknown command, or has a missing, unknown, mistyped or out-of-range argument',
  NO_SERVER: 'no labcast serve answered at the control endpoint',
  TIMEOUT: 'labcast serve is connected but did not reply in time',
  FORBIDDEN_ORIGIN: 'a web request that changes something came from a page of another site (its Origin header)',
  INTERNAL: 'an unexpected failure inside labcast (a bug); the message says what failed',
  MISSING_TOOL: 'an external program labcast needs (ffmpeg, ffprobe, v4l2-ctl) is not installed; the message gives the install command',
  CAMERA_UNAVAILABLE: 'the camera cannot be opened: device or file missing, busy, not permitted, or not a video source',
  CAMERA_FAILED: 'the camera failed while streaming (e.g. ffmpeg exited); frames received until then are kept',
  NO_SAVER: 'a recording found no saver on the record endpoint in time (with saver.mode remote: no `labcast save` connected)',
  HANDSHAKE_FAILED: 'a ZeroMQ peer failed the CURVE handshake: a wrong or missing server key, or only one side uses CURVE',
  UNAUTHORIZED: 'a web request without the access token the web UI requires when it listens beyond loopback',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class LabcastError extends Error {
  readonly code: ErrorCode;
  /** The flag, setting or field the error is about, when there is one. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'LabcastError';
    this.code = code;
    this.field = field;
  }

  toJSON(): { code: ErrorCode; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

export function isLabcastError(value: unknown): value is LabcastError {
  return value instanceof LabcastError;
}

/** Rebuilds an error that crossed a process boundary as plain JSON. */
export function errorFromJSON(value: unknown): LabcastError {
  if (typeof value === 'object' && value !== null) {
    const { code, message, field } = value as Record<string, unknown>;
    if (typeof code === 'string' && code in ERROR_CODES && typeof message === 'string') {
      return new LabcastError(code as ErrorCode, message, typeof field === 'string' ? field : undefined);
    }
    if (typeof message === 'string') return new LabcastError('CHILD_FAILED', message);
  }
  return new LabcastError('CHILD_FAILED', String(value));
}
