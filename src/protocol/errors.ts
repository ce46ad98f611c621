/**
 * One catalogue of error codes for every process and view. Codes are stable so
 * that scripts (and the Python client) can branch on them; messages are for people.
 * Each code carries everything the views derive from it: its meaning (as in
 * docs/protocol.md), the HTTP status of the web API and the exit class of the CLI.
 *
 * `exit`: `input` = the caller asked for something that cannot be done as asked
 * and nothing was started or changed (exit code 2); `failure` = labcast, the
 * camera, a child process or the system failed (exit code 1).
 *
 * BAD_REQUEST and BAD_ARGUMENT: BAD_REQUEST is a request that breaks the
 * control protocol itself — the server can tell from the message alone (not
 * JSON, unknown command, an argument missing, unknown, of the wrong type or
 * outside the range the protocol gives). BAD_ARGUMENT is a well-formed
 * argument the receiver cannot use: it names a subscriber, analysis or file
 * that does not exist or is not allowed, or a command-line flag's value is wrong.
 */
export const ERROR_CODES = {
  BAD_REQUEST: {
    description:
      'a control request breaks the protocol: not JSON, an unknown command, or an argument missing, unknown, mistyped or out of range',
    http: 400,
    exit: 'input',
  },
  BAD_ARGUMENT: {
    description:
      'a well-formed argument naming what does not exist or is not allowed (a subscriber, analysis, file), or a bad command-line flag',
    http: 400,
    exit: 'input',
  },
  BAD_SETTING: { description: 'a camera setting is unknown or out of range', http: 400, exit: 'input' },
  BAD_MESSAGE: {
    description: 'a wire message is malformed (a reply or stream message that does not follow the protocol)',
    http: 500,
    exit: 'failure',
  },
  OUTPUT_EXISTS: { description: 'the output file exists and overwrite was not asked for', http: 409, exit: 'input' },
  OUTPUT_UNWRITABLE: { description: 'the output location cannot be written', http: 409, exit: 'input' },
  ENDPOINT_IN_USE: {
    description: 'an endpoint labcast must bind (a ZeroMQ endpoint, the web UI port) is already bound by another process',
    http: 500,
    exit: 'input',
  },
  CAMERA_STATE: { description: 'the camera cannot do this in its current state', http: 409, exit: 'input' },
  CHILD_FAILED: { description: 'a labcast child process failed', http: 500, exit: 'failure' },
  WRITE_FAILED: {
    description: 'a recording could not be written (disk full, I/O error); the file keeps what was flushed',
    http: 500,
    exit: 'failure',
  },
  FILE_FORMAT: { description: 'a file is not a readable labcast HDF5 file', http: 500, exit: 'input' },
  BAD_CONFIG: { description: 'the config file is missing, unreadable or invalid', http: 500, exit: 'input' },
  PATH_OUTSIDE_DATA_DIR: { description: 'a requested file path would leave the data directory', http: 400, exit: 'input' },
  NO_SERVER: { description: 'no labcast serve answered at the control endpoint', http: 503, exit: 'failure' },
  TIMEOUT: { description: 'labcast serve is connected but did not reply in time', http: 504, exit: 'failure' },
  FORBIDDEN_ORIGIN: {
    description: 'a web request that changes something came from a page of another site (its Origin header)',
    http: 403,
    exit: 'failure',
  },
  INTERNAL: { description: 'an unexpected failure inside labcast (a bug); the message says what failed', http: 500, exit: 'failure' },
  MISSING_TOOL: {
    description: 'an external program labcast needs (ffmpeg, ffprobe, v4l2-ctl) is not installed; the message gives the install command',
    http: 500,
    exit: 'failure',
  },
  CAMERA_UNAVAILABLE: {
    description: 'the camera cannot be opened: device or file missing, busy, not permitted, or not a video source',
    http: 500,
    // The --camera value names a device or file that is missing, busy or unreadable: nothing was started.
    exit: 'input',
  },
  CAMERA_FAILED: {
    description: 'the camera failed while streaming (e.g. ffmpeg exited); frames received until then are kept',
    http: 500,
    exit: 'failure',
  },
  NO_SAVER: {
    description: 'a recording found no saver on the record endpoint in time (with saver.mode remote: no `labcast save` connected)',
    http: 500,
    exit: 'failure',
  },
  HANDSHAKE_FAILED: {
    description: 'a ZeroMQ peer failed the CURVE handshake: a wrong or missing server key, or only one side uses CURVE',
    http: 500,
    exit: 'failure',
  },
  UNAUTHORIZED: {
    description: 'a web request without the access token the web UI requires when it listens beyond loopback',
    http: 401,
    exit: 'failure',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ExitClass = 'input' | 'failure';

export interface ErrorCodeSpec {
  /** What the code means, for people (docs/protocol.md says the same). */
  readonly description: string;
  /** The web API's HTTP status for it: 4xx for what the caller can fix. */
  readonly http: number;
  readonly exit: ExitClass;
}

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

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The catalogue entry of `code`. */
export function errorCodeSpec(code: ErrorCode): ErrorCodeSpec {
  return ERROR_CODES[code];
}

export function isLabcastError(value: unknown): value is LabcastError {
  return value instanceof LabcastError;
}

/** Rebuilds an error that crossed a process boundary as plain JSON. */
export function errorFromJSON(value: unknown): LabcastError {
  if (typeof value === 'object' && value !== null) {
    const { code, message, field } = value as Record<string, unknown>;
    if (isErrorCode(code) && typeof message === 'string') {
      return new LabcastError(code, message, typeof field === 'string' ? field : undefined);
    }
    if (typeof message === 'string') return new LabcastError('CHILD_FAILED', message);
  }
  return new LabcastError('CHILD_FAILED', String(value));
}
