import { LabcastError } from '../protocol/errors.js';

/**
 * One logger per process, tagged with the process's role (acquisition, saver,
 * serve, analysis:NAME) and the run it is working on, if any. A line is
 *
 *   2026-12-01T01:59:32.123Z [saver run=3f2a9c1e] warn: message
 *
 * on stderr. The level comes from LABCAST_LOG_LEVEL, else from the config's
 * `log.level`, else `info`; serve hands its level to the processes it starts
 * (through the environment), and relays their stderr with their tags
 * (experiment/child-process.ts). Output meant for the user of a command (a
 * banner, a progress bar, a summary) is not a log line and does not go here.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const LOG_LEVEL_ENV = 'LABCAST_LOG_LEVEL';

/** A tagged line, as the logger writes it: time, `[tag]`, then the rest. */
export const TAGGED_LINE = /^\S+ \[[^\]]+\] /;

export type LogSink = (line: string) => void;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** The level LABCAST_LOG_LEVEL asks for; undefined when unset; BAD_CONFIG naming the variable when it is not a level. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel | undefined {
  const value = env[LOG_LEVEL_ENV]?.trim().toLowerCase() ?? '';
  if (value === '') return undefined;
  if (isLogLevel(value)) return value;
  throw new LabcastError('BAD_CONFIG', `${LOG_LEVEL_ENV}=${env[LOG_LEVEL_ENV]}: use one of ${LOG_LEVELS.join(', ')}`, LOG_LEVEL_ENV);
}

export class Logger {
  private runId: string | null = null;

  constructor(
    readonly role: string,
    private levelValue: LogLevel = DEFAULT_LOG_LEVEL,
    private readonly sink: LogSink = writeToStderr,
  ) {}

  get level(): LogLevel {
    return this.levelValue;
  }

  /** `[role]`, or `[role run=XXXXXXXX]` (the run id's first 8 characters, as in file names) while a run is set. */
  get tag(): string {
    return this.runId === null ? `[${this.role}]` : `[${this.role} run=${this.runId.slice(0, 8)}]`;
  }

  setLevel(level: LogLevel): void {
    this.levelValue = level;
  }

  /** The run later lines are about; null when there is none (between runs). */
  setRun(runId: string | null): void {
    this.runId = runId;
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return RANK[level] >= RANK[this.levelValue];
  }

  debug(message: string): void {
    this.write('debug', message);
  }

  info(message: string): void {
    this.write('info', message);
  }

  warn(message: string): void {
    this.write('warn', message);
  }

  error(message: string): void {
    this.write('error', message);
  }

  private write(level: Exclude<LogLevel, 'silent'>, message: string): void {
    if (!this.enabled(level)) return;
    const prefix = `${new Date().toISOString()} ${this.tag} ${level}: `;
    // One line per line of the message, so that a relay tags every one of them.
    this.sink(
      message
        .split('\n')
        .map((line) => prefix + line)
        .join('\n'),
    );
  }
}

function writeToStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}

let processLogger: Logger | null = null;

/**
 * Sets up this process's logger: `role` as its tag, the level from
 * LABCAST_LOG_LEVEL, else `configLevel`, else info. Called once, by the
 * process's entry point; a second call changes the role and level.
 */
export function startProcessLog(role: string, configLevel?: LogLevel, env: NodeJS.ProcessEnv = process.env): Logger {
  const level = logLevelFromEnv(env) ?? configLevel ?? DEFAULT_LOG_LEVEL;
  processLogger = new Logger(role, level);
  // A child whose supervisor is gone must still finish (a saver closes its
  // file): a write to the closed stderr pipe fails, and must not end it.
  process.stderr.on('error', () => undefined);
  return processLogger;
}

/** This process's logger (a `labcast` one when the entry point started none, e.g. in a test). */
export function log(): Logger {
  processLogger ??= new Logger('labcast', levelOrDefault());
  return processLogger;
}

/** Without an entry point to report a bad LABCAST_LOG_LEVEL to, the default. */
function levelOrDefault(): LogLevel {
  try {
    return logLevelFromEnv() ?? DEFAULT_LOG_LEVEL;
  } catch {
    return DEFAULT_LOG_LEVEL;
  }
}
