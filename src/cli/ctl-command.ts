import { parseArgs } from 'node:util';
import {
  parseControlResult,
  replyTimeoutMs,
  type ControlCommand,
  type ControlRequest,
  type ExperimentStatus,
  type RecordingInfo,
  type WaitResult,
} from '../protocol/control.js';
import type { RecordingResult } from '../experiment/recording.js';
import { LabcastError, isErrorCode, isLabcastError } from '../protocol/errors.js';
import { stringifyWithNs } from '../protocol/json-ns.js';
import { ControlClient } from '../transport/control-client.js';
import { checkEndpoint, DEFAULT_ENDPOINTS } from '../protocol/endpoints.js';
import { StatusSubscriber } from '../transport/status-channel.js';
import { booleanFlag, negativeValuesJoined, numberFlag, stringFlag, type FlagSpec, type FlagValues } from './args.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import {
  formatAnalyses,
  formatProcesses,
  formatSetting,
  formatSettingsTable,
  formatSnap,
  formatStatus,
  formatStatusLine,
} from './format.js';
import { serverKeyFlag } from './keys-command.js';
import { ProgressView } from './progress.js';
import { formatRecordingResult } from './record-command.js';

export const CTL_USAGE = `usage: labcast ctl [--control ENDPOINT] [--server-key FILE] [--json] [--timeout S] COMMAND [args]

Sends one command to a running \`labcast serve\` and prints its reply.

commands
  status                        state, frame counts, rates, camera settings, processes
  live                          stream frames to viewers (nothing is saved)
  stop                          end live view or recording (a recording is drained and closed first)
  save on|off                   while live: start or stop saving the stream
  record [--frames N] [--duration S] [--out NAME] [--name TEXT] [--note TEXT] [--wait]
                                record N frames, for S seconds, or until stop;
                                NAME is a file in the data directory (default: the next numbered one,
                                with --name's TEXT in it: run_0003_Bead-test.h5); --name is the file's
                                /entry/title, --note a note stored in it once it is closed;
                                --wait: show progress until the recording ends, then its summary
                                (Ctrl-C stops the recording), and exit as labcast record does
  wait [RUN_ID]                 wait for a recording (default: the current one, else the last) to
                                end, then print its summary; exit codes as record --wait
                                (Ctrl-C stops waiting; the recording goes on)
  note FILE TEXT                add a note to a closed recording (FILE in the data directory)
  snap [--out NAME]             one frame into its own file
  trigger                       one software trigger (a camera in software-trigger mode, while live or recording)
  settings                      every camera setting: value, unit, range, changeable while streaming
  get NAME                      one camera setting
  set NAME VALUE                change a camera setting: a number, true/false, or a name such as
                                Mono12 for a GenICam enumeration (the camera checks it)
  subscribers                   the saver and the analyses reading serve's streams (status lists every process)
  subscriber start|stop NAME    start or stop the saver (NAME: saver)
  analysis start|stop NAME      start or stop an analysis process (stats, localize, or one of the config)
  analysis list                 every analysis: state, pid, frames analysed and skipped, results/s
  reset                         from error back to idle
  shutdown                      stop everything cleanly and end labcast serve
  watch [--status ENDPOINT]     print the status at every change, until Ctrl-C

options
  --control ENDPOINT   control endpoint of labcast serve (default ${DEFAULT_ENDPOINTS.control})
  --status ENDPOINT    status endpoint, for watch (default ${DEFAULT_ENDPOINTS.status})
  --server-key FILE    the public key of a labcast serve that uses ZeroMQ CURVE (its
                       security.server_public_key_file, made by labcast keys)
  --json               print the result as JSON (watch: one status per line)
  --timeout S          seconds to wait for the reply (default 10; 60 for stop, save,
                       subscriber and analysis, which may drain a recording or wait
                       for a process); a missing server is reported after at most 3 s

exit codes: 0 ok, 1 failed or no server, 2 bad input or a request labcast serve refused;
record --wait and wait: 0 recorded, 1 the recording failed, 3 it finished but frames were lost
`;

const FLAGS: FlagSpec = {
  control: { type: 'string' },
  status: { type: 'string' },
  'server-key': { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  frames: { type: 'string' },
  duration: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  note: { type: 'string' },
  wait: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Each `wait` request of record --wait returns after at most this long, so progress updates twice a second. */
const WAIT_POLL_S = 0.5;

/** What a command takes on the command line. */
interface CommandShape {
  /** The arguments, as shown in errors: ['NAME', 'VALUE']. */
  readonly args: readonly string[];
  /** Flags of this command only (the global ones work with every command). */
  readonly flags?: readonly string[];
  /** Arguments after `args` that may be left out: ['NAME']. */
  readonly optional?: readonly string[];
}

/** A command that is one request: what it sends and how it shows the result. */
interface CtlCommand extends CommandShape {
  request(args: readonly string[], values: FlagValues): ControlRequest;
  show(result: unknown, sent: ControlRequest, endpoint: string): string;
}

type StatusCommand = 'status' | 'live' | 'stop' | 'save' | 'record' | 'subscriber' | 'reset' | 'trigger';
const showStatus = (cmd: StatusCommand) => (result: unknown) => formatStatus(parseControlResult(cmd, result));

const COMMANDS: Record<Exclude<ControlCommand, 'wait'>, CtlCommand> = {
  status: { args: [], request: () => ({ cmd: 'status' }), show: showStatus('status') },
  live: { args: [], request: () => ({ cmd: 'live' }), show: showStatus('live') },
  stop: { args: [], request: () => ({ cmd: 'stop' }), show: showStatus('stop') },
  save: {
    args: ['on|off'],
    request: ([onOff]) => ({ cmd: 'save', on: oneOf('save', 'on|off', onOff!, ['on', 'off']) === 'on' }),
    show: showStatus('save'),
  },
  record: {
    args: [],
    flags: ['frames', 'duration', 'out', 'name', 'note', 'wait'],
    request: (_args, values) => {
      const frames = numberFlag(values, 'frames', { integer: true, min: 1, max: 1e12 });
      const durationS = numberFlag(values, 'duration', { min: 0.001, max: 1e7 });
      const path = stringFlag(values, 'out');
      const name = stringFlag(values, 'name');
      const note = stringFlag(values, 'note');
      return {
        cmd: 'record',
        ...(frames === undefined ? {} : { frames }),
        ...(durationS === undefined ? {} : { duration_s: durationS }),
        ...(path === undefined ? {} : { path }),
        ...(name === undefined ? {} : { name }),
        ...(note === undefined ? {} : { note }),
      };
    },
    show: showStatus('record'),
  },
  note: {
    args: ['FILE', 'TEXT'],
    request: ([path, text]) => ({ cmd: 'note', path: path!, text: text! }),
    show: (result) => {
      const added = parseControlResult('note', result);
      return `${added.path}: note ${added.note ?? 'none'} added (${added.notes} note${added.notes === 1 ? '' : 's'} in the file)\n`;
    },
  },
  snap: {
    args: [],
    flags: ['out'],
    request: (_args, values) => {
      const path = stringFlag(values, 'out');
      return path === undefined ? { cmd: 'snap' } : { cmd: 'snap', path };
    },
    show: (result) => formatSnap(parseControlResult('snap', result)),
  },
  trigger: { args: [], request: () => ({ cmd: 'trigger' }), show: showStatus('trigger') },
  settings: {
    args: [],
    request: () => ({ cmd: 'settings' }),
    show: (result) => {
      const { settings, specs } = parseControlResult('settings', result);
      return formatSettingsTable(specs, settings);
    },
  },
  get: {
    args: ['NAME'],
    request: ([name]) => ({ cmd: 'get', name: name! }),
    show: (result) => {
      const { value, spec } = parseControlResult('get', result);
      return formatSetting(spec, value);
    },
  },
  set: {
    args: ['NAME', 'VALUE'],
    request: ([name, value]) => ({ cmd: 'set', name: name!, value: settingArgument(value!) }),
    show: (result, sent) => {
      const { settings, specs } = parseControlResult('set', result);
      const name = sent.cmd === 'set' ? sent.name : '';
      const spec = specs.find((candidate) => candidate.name === name);
      if (spec === undefined || settings[name] === undefined) {
        throw new LabcastError('BAD_MESSAGE', `the reply to "set" does not include the setting ${JSON.stringify(name)}`);
      }
      return formatSetting(spec, settings[name]);
    },
  },
  subscribers: {
    args: [],
    request: () => ({ cmd: 'subscribers' }),
    show: (result) => formatProcesses(parseControlResult('subscribers', result)),
  },
  subscriber: {
    args: ['start|stop', 'NAME'],
    request: ([action, name]) => ({
      cmd: 'subscriber',
      action: oneOf('subscriber', 'start|stop', action!, ['start', 'stop'] as const),
      name: name!,
    }),
    show: showStatus('subscriber'),
  },
  analysis: {
    args: ['start|stop|list'],
    optional: ['NAME'],
    request: ([action, name]) => {
      const checked = oneOf('analysis', 'start|stop|list', action!, ['start', 'stop', 'list'] as const);
      if (checked !== 'list' && name === undefined) {
        throw new LabcastError(
          'BAD_ARGUMENT',
          `missing NAME (labcast ctl analysis ${checked} NAME; labcast ctl analysis list shows the names)`,
          'NAME',
        );
      }
      if (checked === 'list' && name !== undefined) {
        throw new LabcastError('BAD_ARGUMENT', `unexpected argument ${JSON.stringify(name)} (labcast ctl analysis list)`);
      }
      return name === undefined ? { cmd: 'analysis', action: checked } : { cmd: 'analysis', action: checked, name };
    },
    show: (result) => formatAnalyses(parseControlResult('analysis', result)),
  },
  reset: { args: [], request: () => ({ cmd: 'reset' }), show: showStatus('reset') },
  shutdown: {
    args: [],
    request: () => ({ cmd: 'shutdown' }),
    show: (result, _sent, endpoint) => {
      parseControlResult('shutdown', result);
      return `labcast serve at ${endpoint} is shutting down (a recording in progress is drained and closed first)\n`;
    },
  },
};

const WATCH: CommandShape = { args: [], flags: ['status'] };
const WAIT: CommandShape = { args: [], optional: ['RUN_ID'] };
const SHAPES: Readonly<Record<string, CommandShape>> = { ...COMMANDS, watch: WATCH, wait: WAIT };
const COMMAND_NAMES = Object.keys(SHAPES);
const COMMAND_FLAGS: ReadonlySet<string> = new Set(Object.values(SHAPES).flatMap((shape) => shape.flags ?? []));

export async function ctlCommand(argv: string[]): Promise<number> {
  let commandName: string | undefined;
  try {
    const { values, positionals } = parseCtlArgs(argv);
    if (booleanFlag(values, 'help')) {
      process.stdout.write(CTL_USAGE);
      return EXIT.ok;
    }
    const [name, ...args] = positionals;
    if (name === undefined) {
      throw new LabcastError('BAD_ARGUMENT', `which command? one of ${COMMAND_NAMES.join(', ')} (labcast ctl --help)`, 'COMMAND');
    }
    const shape = SHAPES[name];
    if (shape === undefined) {
      throw new LabcastError('BAD_ARGUMENT', `unknown command ${JSON.stringify(name)}; commands: ${COMMAND_NAMES.join(', ')}`, 'COMMAND');
    }
    commandName = name;
    checkCommandFlags(name, shape, values);
    checkArity(name, shape.args, args, shape.optional ?? []);
    // Every name in SHAPES but watch is a control command; watch asks for the status only.
    const cmd = name === 'watch' ? 'status' : (name as ControlCommand);
    // watch and wait have their own loops below; every other name is one request.
    const command = cmd === 'wait' || name === 'watch' ? undefined : COMMANDS[cmd];
    const control = checkEndpoint(stringFlag(values, 'control') ?? DEFAULT_ENDPOINTS.control, '--control');
    const waits = name === 'wait' || (name === 'record' && booleanFlag(values, 'wait'));
    const timeoutS = numberFlag(values, 'timeout', { min: 0.1, max: 86_400 }) ?? replyTimeoutMs(waits ? 'wait' : cmd) / 1000;
    const json = booleanFlag(values, 'json');
    const serverKey = serverKeyFlag(values);
    const client = ControlClient.connect(control, { timeoutMs: timeoutS * 1000, serverKey });
    try {
      if (name === 'wait') return await waitForRecording(client, args[0] ?? null, null, json, false);
      if (command === undefined) {
        const statusEndpoint = checkEndpoint(stringFlag(values, 'status') ?? DEFAULT_ENDPOINTS.status, '--status');
        return await watch(client, StatusSubscriber.connect(statusEndpoint, serverKey), json);
      }
      const request = command.request(args, values);
      const result = await client.request(request);
      if (waits && request.cmd === 'record') {
        const started = parseControlResult('record', result);
        return await waitForRecording(client, started.run_id, request.frames ?? null, json, true);
      }
      process.stdout.write(json ? `${stringifyWithNs(result)}\n` : command.show(result, request, control));
      return EXIT.ok;
    } finally {
      client.close();
    }
  } catch (error) {
    const message = isLabcastError(error) || error instanceof Error ? error.message : String(error);
    process.stderr.write(`labcast ctl${commandName === undefined ? '' : ` ${commandName}`}: ${message}\n`);
    return exitCodeFor(error);
  }
}

/** parseArgs in strict mode, with its errors turned into ones naming the flag. */
function parseCtlArgs(argv: string[]): { values: FlagValues; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: negativeNumbersAsValues(negativeValuesJoined(argv, FLAGS)),
      options: FLAGS,
      strict: true,
      allowPositionals: true,
    });
    return { values: parsed.values as FlagValues, positionals: parsed.positionals };
  } catch (error) {
    throw new LabcastError('BAD_ARGUMENT', (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** `set brightness -5`: parseArgs would take "-5" for a flag, so such values go after "--". */
function negativeNumbersAsValues(argv: string[]): string[] {
  if (argv.includes('--')) return argv;
  const isLoneNegativeNumber = (token: string, i: number): boolean => /^-\.?\d/.test(token) && !takesValue(argv[i - 1]);
  const values = argv.filter(isLoneNegativeNumber);
  if (values.length === 0) return argv;
  return [...argv.filter((token, i) => !isLoneNegativeNumber(token, i)), '--', ...values];
}

/** "--timeout" in "--timeout -1": the next token is its value, whatever it looks like. */
function takesValue(token: string | undefined): boolean {
  return token !== undefined && /^--[^=]+$/.test(token) && FLAGS[token.slice(2)]?.type === 'string';
}

function checkCommandFlags(name: string, shape: CommandShape, values: FlagValues): void {
  for (const [flag, value] of Object.entries(values)) {
    if (value === undefined || !COMMAND_FLAGS.has(flag) || shape.flags?.includes(flag)) continue;
    const owners = COMMAND_NAMES.filter((candidate) => SHAPES[candidate]!.flags?.includes(flag));
    throw new LabcastError('BAD_ARGUMENT', `--${flag} is an option of ${owners.join(' and ')}, not of ${name}`, `--${flag}`);
  }
}

function checkArity(name: string, expected: readonly string[], args: readonly string[], optional: readonly string[] = []): void {
  const usage = `labcast ctl ${[name, ...expected, ...optional.map((arg) => `[${arg}]`)].join(' ')}`;
  if (args.length < expected.length) {
    const missing = expected[args.length]!;
    throw new LabcastError('BAD_ARGUMENT', `missing ${missing} (${usage})`, missing);
  }
  if (args.length > expected.length + optional.length) {
    throw new LabcastError('BAD_ARGUMENT', `unexpected argument ${JSON.stringify(args[expected.length + optional.length])} (${usage})`);
  }
}

function oneOf<T extends string>(command: string, label: string, given: string, accepted: readonly T[]): T {
  if ((accepted as readonly string[]).includes(given)) return given as T;
  throw new LabcastError(
    'BAD_ARGUMENT',
    `expected ${accepted.join(' or ')}, got ${JSON.stringify(given)} (labcast ctl ${command} ${label})`,
    label,
  );
}

/**
 * A setting's value as typed: a number when it reads as one, true/false as a
 * boolean, otherwise the text (a GenICam enumeration entry such as Mono12).
 * Whether the setting takes that kind is the camera's check, which names the
 * setting and what it accepts.
 */
function settingArgument(given: string): number | boolean | string {
  const number = given.trim() === '' ? Number.NaN : Number(given);
  if (Number.isFinite(number)) return number;
  if (given === 'true' || given === 'false') return given === 'true';
  return given;
}

// ---- watch ----

/** The current status, then every one published, until Ctrl-C. */
async function watch(client: ControlClient, statuses: StatusSubscriber, json: boolean): Promise<number> {
  // Subscribed first (by the caller), so that no change between the two is missed.
  const stop = (): void => statuses.close();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const show = (status: ExperimentStatus): void => {
    process.stdout.write(json ? `${stringifyWithNs(status)}\n` : formatStatusLine(status, new Date()));
  };
  try {
    show(parseControlResult('status', await client.request({ cmd: 'status' })));
    for await (const status of statuses) show(status);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    statuses.close();
  }
  return EXIT.ok;
}

// ---- record --wait, wait ----

/**
 * Waits for a recording to end with a progress bar on a terminal (plain lines
 * otherwise), then prints its summary as `labcast record` does, and returns
 * its exit code: 0 recorded, 1 failed, 3 frames lost. With `stopOnInterrupt`
 * (record --wait) the first Ctrl-C stops the recording (drained and closed)
 * and a second one stops waiting; otherwise (wait) Ctrl-C stops waiting and
 * the recording goes on.
 */
async function waitForRecording(
  client: ControlClient,
  runId: string | null,
  frames: number | null,
  json: boolean,
  stopOnInterrupt: boolean,
): Promise<number> {
  const progress = new ProgressView(process.stderr, 'recording');
  const startedAt = performance.now();
  let interrupts = 0;
  let giveUp: () => void = () => undefined;
  const givenUp = new Promise<null>((resolve) => (giveUp = () => resolve(null)));
  const onInterrupt = (): void => {
    interrupts += 1;
    if (interrupts === 1 && stopOnInterrupt) {
      progress.note('stopping: the recording is drained and closed (Ctrl-C again to stop waiting)');
      client.request({ cmd: 'stop' }).catch((error: unknown) => progress.note(`stop failed: ${(error as Error).message}`));
    } else {
      giveUp();
    }
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    for (;;) {
      const request = { cmd: 'wait' as const, timeout_s: WAIT_POLL_S, ...(runId === null ? {} : { run_id: runId }) };
      const reply = await Promise.race([client.request(request), givenUp]);
      if (reply === null) {
        progress.note('stopped waiting; labcast serve carries on (labcast ctl status)');
        return EXIT.failed;
      }
      const waited: WaitResult = parseControlResult('wait', reply);
      const { status } = waited;
      if (!waited.ended || waited.recording === null) {
        progress.update({
          done: status.frames.saved,
          total: frames,
          elapsedS: (performance.now() - startedAt) / 1000,
          bytes: status.saved_bytes ?? 0,
          dropped: status.frames.dropped,
        });
        continue;
      }
      const recording = waited.recording;
      progress.finish({
        done: recording.frames_written,
        total: frames,
        elapsedS: (performance.now() - startedAt) / 1000,
        bytes: recording.bytes_written ?? 0,
        dropped: recording.frames_lost,
      });
      process.stdout.write(
        json
          ? `${stringifyWithNs(waited)}\n`
          : `${formatRecordingResult(recordingResultOf(recording, (performance.now() - startedAt) / 1000))}  serve now       ` +
              `${status.state}\n`,
      );
      if (recording.error !== null) return EXIT.failed;
      return recording.frames_lost > 0 ? EXIT.framesLost : EXIT.ok;
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
}

/** The control API's account of a recording, in the shape `labcast record` prints; `elapsedS` as this client waited. */
function recordingResultOf(info: RecordingInfo, elapsedS: number): RecordingResult {
  return {
    path: info.path,
    runId: info.run_id,
    framesWritten: info.frames_written,
    framesAcquired: info.frames_acquired,
    framesLost: info.frames_lost,
    gaps: info.gaps,
    bytesWritten: info.bytes_written ?? 0,
    durationS: info.duration_s ?? null,
    fps: info.fps ?? null,
    elapsedS,
    endReason: info.end_reason as RecordingResult['endReason'],
    error: info.error,
    ...(info.error_code !== undefined && isErrorCode(info.error_code) ? { errorCode: info.error_code } : {}),
    fpsRequested: info.fps_requested ?? null,
    fpsAchieved: info.fps_achieved ?? null,
  };
}
