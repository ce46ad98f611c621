import { parseArgs } from 'node:util';
import {
  parseControlResult,
  type AnalysisInfo,
  type ControlRequest,
  type ExperimentStatus,
  type ProcessInfo,
  type RecordingInfo,
} from '../protocol/control.js';
import { LabcastError, isLabcastError } from '../protocol/errors.js';
import { stringifyWithNs } from '../protocol/json-ns.js';
import type { SettingSpecPayload } from '../protocol/process-messages.js';
import { ControlClient } from '../transport/control-client.js';
import { checkEndpoint, DEFAULT_ENDPOINTS } from '../transport/endpoints.js';
import { StatusSubscriber } from '../transport/status-channel.js';
import { booleanFlag, numberFlag, stringFlag, type FlagSpec, type FlagValues } from './args.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { serverKeyFlag } from './keys-command.js';

export const CTL_USAGE = `usage: labcast ctl [--control ENDPOINT] [--server-key FILE] [--json] [--timeout S] COMMAND [args]

Sends one command to a running \`labcast serve\` and prints its reply.

commands
  status                        state, frame counts, rates, camera settings, processes
  live                          stream frames to viewers (nothing is saved)
  stop                          end live view or recording (a recording is drained and closed first)
  save on|off                   while live: start or stop saving the stream
  record [--frames N] [--duration S] [--out NAME]
                                record N frames, for S seconds, or until stop;
                                NAME is a file in the data directory (default: the next numbered one)
  snap [--out NAME]             one frame into its own file
  trigger                       one software trigger (a camera in software-trigger mode, while live or recording)
  settings                      every camera setting: value, unit, range, changeable while streaming
  get NAME                      one camera setting
  set NAME VALUE                change a camera setting (its range is checked)
  subscribers                   the processes labcast serve runs
  subscriber start|stop NAME    start or stop one of them (saver)
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
  --timeout S          seconds to wait for the reply (default 10; 60 for stop, save and
                       subscriber, which may drain a recording); a missing server is
                       reported after at most 3 s

exit codes: 0 ok, 1 failed or no server, 2 bad input or a request labcast serve refused
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
  help: { type: 'boolean', short: 'h' },
};

const DEFAULT_TIMEOUT_S = 10;
const DRAINING_TIMEOUT_S = 60;

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
  /** Commands that may wait for a recording to drain get longer to reply. */
  readonly draining?: boolean;
  request(args: readonly string[], values: FlagValues): ControlRequest;
  show(result: unknown, sent: ControlRequest, endpoint: string): string;
}

type StatusCommand = 'status' | 'live' | 'stop' | 'save' | 'record' | 'subscriber' | 'reset' | 'trigger';
const showStatus = (cmd: StatusCommand) => (result: unknown) => formatStatus(parseControlResult(cmd, result));

const COMMANDS: Record<string, CtlCommand> = {
  status: { args: [], request: () => ({ cmd: 'status' }), show: showStatus('status') },
  live: { args: [], request: () => ({ cmd: 'live' }), show: showStatus('live') },
  stop: { args: [], draining: true, request: () => ({ cmd: 'stop' }), show: showStatus('stop') },
  save: {
    args: ['on|off'],
    draining: true,
    request: ([onOff]) => ({ cmd: 'save', on: oneOf('save', 'on|off', onOff!, ['on', 'off']) === 'on' }),
    show: showStatus('save'),
  },
  record: {
    args: [],
    flags: ['frames', 'duration', 'out'],
    request: (_args, values) => {
      const frames = numberFlag(values, 'frames', { integer: true, min: 1, max: 1e12 });
      const durationS = numberFlag(values, 'duration', { min: 0.001, max: 1e7 });
      const path = stringFlag(values, 'out');
      return {
        cmd: 'record',
        ...(frames === undefined ? {} : { frames }),
        ...(durationS === undefined ? {} : { duration_s: durationS }),
        ...(path === undefined ? {} : { path }),
      };
    },
    show: showStatus('record'),
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
    request: ([name, value]) => ({ cmd: 'set', name: name!, value: numberArgument('set', 'VALUE', value!) }),
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
    draining: true,
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
    draining: true,
    request: ([action, name]) => {
      const checked = oneOf('analysis', 'start|stop|list', action!, ['start', 'stop', 'list'] as const);
      if (checked !== 'list' && name === undefined) {
        throw new LabcastError('BAD_ARGUMENT', `missing NAME (labcast ctl analysis ${checked} NAME; labcast ctl analysis list shows the names)`, 'NAME');
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
const SHAPES: Readonly<Record<string, CommandShape>> = { ...COMMANDS, watch: WATCH };
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
    const command = COMMANDS[name];
    const control = checkEndpoint(stringFlag(values, 'control') ?? DEFAULT_ENDPOINTS.control, '--control');
    const timeoutS =
      numberFlag(values, 'timeout', { min: 0.1, max: 86_400 }) ?? (command?.draining ? DRAINING_TIMEOUT_S : DEFAULT_TIMEOUT_S);
    const json = booleanFlag(values, 'json');
    const serverKey = serverKeyFlag(values);
    const client = ControlClient.connect(control, { timeoutMs: timeoutS * 1000, serverKey });
    try {
      if (command === undefined) {
        const statusEndpoint = checkEndpoint(stringFlag(values, 'status') ?? DEFAULT_ENDPOINTS.status, '--status');
        return await watch(client, StatusSubscriber.connect(statusEndpoint, serverKey), json);
      }
      const request = command.request(args, values);
      const result = await client.request(request);
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
    const parsed = parseArgs({ args: negativeNumbersAsValues(argv), options: FLAGS, strict: true, allowPositionals: true });
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
  throw new LabcastError('BAD_ARGUMENT', `expected ${accepted.join(' or ')}, got ${JSON.stringify(given)} (labcast ctl ${command} ${label})`, label);
}

function numberArgument(command: string, label: string, given: string): number {
  const value = given.trim() === '' ? Number.NaN : Number(given);
  if (!Number.isFinite(value)) {
    throw new LabcastError('BAD_ARGUMENT', `${label} must be a number, got ${JSON.stringify(given)} (labcast ctl ${command} NAME ${label})`, label);
  }
  return value;
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

// ---- output ----

function alignedRows(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`.trimEnd()).join('\n') + '\n';
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatStatus(status: ExperimentStatus): string {
  const { frames, camera } = status;
  const rows: [string, string][] = [
    ['state', status.state],
    ['error', status.error ?? 'none'],
    ['run id', status.run_id ?? 'none'],
    ['file', status.file ?? 'none'],
    ['frames', `acquired ${frames.acquired}, published ${frames.published} (${frames.live_skipped} skipped), saved ${frames.saved}, dropped ${frames.dropped}`],
    ['rate', `${status.fps.toFixed(1)} fps, ${status.mb_per_s.toFixed(1)} MB/s`],
    ['camera', camera === null ? 'none' : `${camera.model}, driver ${camera.driver}`],
    ['settings', camera === null ? 'none' : formatSettingValues(camera.settings)],
    ['last recording', status.last_recording === null ? 'none' : formatRecordingInfo(status.last_recording)],
    ['processes', status.processes.length === 0 ? 'none' : status.processes.map(formatProcess).join(', ')],
    ['analyses', formatAnalysisSummary(status.analyses ?? [])],
    ...(status.stream === undefined ? [] : [['camera stream', formatCounters(status.stream)] as [string, string]]),
    ['endpoints', `control ${status.endpoints.control}, status ${status.endpoints.status}, data ${status.endpoints.data}`],
  ];
  return alignedRows(rows);
}

function formatCounters(counters: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counters);
  return entries.length === 0 ? 'none' : entries.map(([name, n]) => `${name} ${n}`).join(', ');
}

/** One line per status for `watch`. */
export function formatStatusLine(status: ExperimentStatus, at: Date): string {
  const { frames } = status;
  const parts = [
    at.toTimeString().slice(0, 8),
    status.state.padEnd(9),
    `acquired ${frames.acquired}`,
    `saved ${frames.saved}`,
    `dropped ${frames.dropped}`,
    `${status.fps.toFixed(1)} fps`,
    `${status.mb_per_s.toFixed(1)} MB/s`,
  ];
  if (status.file !== null) parts.push(`file ${status.file}`);
  if (status.error !== null) parts.push(`error: ${status.error}`);
  return `${parts.join('  ')}\n`;
}

function formatSettingValues(settings: Readonly<Record<string, number | string | boolean>>): string {
  const entries = Object.entries(settings);
  return entries.length === 0 ? 'none' : entries.map(([name, value]) => `${name} ${value}`).join(', ');
}

function formatRecordingInfo(info: RecordingInfo): string {
  const summary = `${info.path}: ${info.frames_written} of ${info.frames_acquired} frames written, ${info.frames_dropped} dropped (${info.end_reason})`;
  return info.error === null ? summary : `${summary}; error: ${info.error}`;
}

function formatSnap(info: RecordingInfo): string {
  return info.error === null ? `Snapped ${info.path} (run ${info.run_id})\n` : `Snap failed: ${formatRecordingInfo(info)}\n`;
}

function formatProcess(info: ProcessInfo): string {
  // A process serve did not start (a remote saver) has no pid here; its title says where it is.
  const which = info.pid !== null ? `pid ${info.pid}` : info.title.startsWith('labcast-') ? 'no pid' : info.title;
  return `${info.role} (${which}, ${info.running ? 'running' : 'not running'})`;
}

/** For `status`: the running (or failed) analyses on one line. */
function formatAnalysisSummary(analyses: readonly AnalysisInfo[]): string {
  const shown = analyses.filter((a) => a.state !== 'stopped');
  if (shown.length === 0) return analyses.length === 0 ? 'none' : `none running (${analyses.map((a) => a.name).join(', ')} available)`;
  return shown
    .map((a) =>
      a.state === 'failed'
        ? `${a.name} failed: ${a.error ?? 'unknown error'}`
        : `${a.name} ${a.state} (pid ${a.pid ?? '-'}, ${a.frames_analysed} analysed, ${a.frames_skipped} skipped, ${a.results_per_s.toFixed(1)} results/s)`,
    )
    .join('; ');
}

function formatAnalyses(analyses: readonly AnalysisInfo[]): string {
  if (analyses.length === 0) return 'no analyses\n';
  const rows = table(
    ['analysis', 'kind', 'state', 'pid', 'analysed', 'skipped', 'results/s', 'ms/frame', 'topic'],
    analyses.map((a) => [
      a.name,
      a.kind,
      a.state,
      a.pid === null ? '-' : String(a.pid),
      String(a.frames_analysed),
      String(a.frames_skipped),
      a.results_per_s.toFixed(1),
      a.analysis_ms.toFixed(2),
      a.topic,
    ]),
  );
  const errors = analyses.filter((a) => a.error !== null).map((a) => `${a.name}: ${a.error}\n`);
  return rows + errors.join('');
}

function formatProcesses(processes: readonly ProcessInfo[]): string {
  if (processes.length === 0) return 'no processes\n';
  return table(
    ['process', 'pid', 'running', 'title'],
    processes.map((p) => [p.role, p.pid === null ? '-' : String(p.pid), p.running ? 'yes' : 'no', p.title]),
  );
}

function formatRange(spec: SettingSpecPayload): string {
  // GenICam features: what an enumeration, boolean or text accepts, and read-only ones marked.
  const readOnly = spec.access === 'RO' ? ' (read-only)' : '';
  if (spec.type === 'enumeration') return `${(spec.entries ?? []).join('|')}${readOnly}`;
  if (spec.type === 'boolean') return `true|false${readOnly}`;
  if (spec.type === 'string') return `text${readOnly}`;
  const step = spec.increment !== undefined && spec.increment > 1 ? ` step ${spec.increment}` : '';
  return `${spec.min}..${spec.max}${spec.integer ? ' (whole)' : ''}${step}${readOnly}`;
}

function formatSettingsTable(specs: readonly SettingSpecPayload[], settings: Readonly<Record<string, number | string | boolean>>): string {
  return table(
    ['setting', 'value', 'unit', 'range', 'while streaming'],
    specs.map((spec) => [
      spec.name,
      String(settings[spec.name] ?? spec.default),
      spec.unit,
      formatRange(spec),
      spec.changeableWhileStreaming ? 'changeable' : 'fixed',
    ]),
  );
}

function formatSetting(spec: SettingSpecPayload, value: number | string | boolean): string {
  const unit = spec.unit === '' ? '' : ` ${spec.unit}`;
  const streaming = spec.changeableWhileStreaming ? 'changeable while streaming' : 'fixed while streaming';
  return `${spec.name} = ${value}${unit}  (range ${formatRange(spec)}${unit}; ${streaming})\n`;
}
