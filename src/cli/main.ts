#!/usr/bin/env node
import { isLabcastError } from '../protocol/errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { closestName } from './suggest.js';

const USAGE = `usage: labcast <command> [options]

commands
  serve      run the experiment: camera, controller, savers (Ctrl-C stops cleanly)
  record     record frames from a camera into an HDF5 file
  snap       take one frame from a camera into an HDF5 file
  inspect    show what a labcast HDF5 file holds
  cameras    list the cameras: the simulator and every /dev/video* with its formats
  ctl        send a command to a running labcast serve (status, live, record, stop, set, watch, ...)
  save       a saver on its own, for serve's record endpoint (saver.mode: remote), e.g. on another machine
  keys       make a ZeroMQ CURVE key pair for serve's endpoints (needed to bind them beyond loopback)
  help       show this help, or help for a command (labcast help record)
  version    print the labcast version

exit codes: 0 ok (also after a clean stop by Ctrl-C), 1 failed, 2 bad input,
3 finished but frames were lost
`;

interface CommandModule {
  readonly run: (argv: string[]) => Promise<number>;
  readonly usage: string;
}

// Each command's module is imported only when that command runs (or its help
// is asked for): `version` and `help` load almost nothing, and `record` does
// not pay for serve's web server or ctl's clients.
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  record: async () => import('./record-command.js').then((m) => ({ run: m.recordCommand, usage: m.RECORD_USAGE })),
  snap: async () => import('./snap-command.js').then((m) => ({ run: m.snapCommand, usage: m.SNAP_USAGE })),
  inspect: async () => import('./inspect-command.js').then((m) => ({ run: m.inspectCommand, usage: m.INSPECT_USAGE })),
  ctl: async () => import('./ctl-command.js').then((m) => ({ run: m.ctlCommand, usage: m.CTL_USAGE })),
  serve: async () => import('./serve-command.js').then((m) => ({ run: m.serveCommand, usage: m.SERVE_USAGE })),
  cameras: async () => import('./cameras-command.js').then((m) => ({ run: m.camerasCommand, usage: m.CAMERAS_USAGE })),
  save: async () => import('./save-command.js').then((m) => ({ run: m.saveCommand, usage: m.SAVE_USAGE })),
  keys: async () => import('./keys-command.js').then((m) => ({ run: m.keysCommand, usage: m.KEYS_USAGE })),
};

const COMMAND_NAMES = [...Object.keys(COMMANDS), 'help', 'version'];

/**
 * Commands that record with processes of their own: their saver and
 * acquisition processes are forked first thing, and boot and load while this
 * process loads the command and checks its flags (docs/performance.md).
 */
const FORKS_AHEAD: ReadonlySet<string> = new Set(['record', 'snap']);

function suggestion(typed: string): string {
  const closest = closestName(typed, COMMAND_NAMES);
  return closest === null ? '' : ` (did you mean "${closest}"?)`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = command === 'help' ? rest[0] : undefined;
    if (topic === undefined || topic === 'help') {
      process.stdout.write(USAGE);
      return EXIT.ok;
    }
    const load = COMMANDS[topic];
    if (load === undefined) {
      process.stderr.write(
        `labcast help: no command ${JSON.stringify(topic)}${suggestion(topic)}; the commands: ${COMMAND_NAMES.join(', ')}\n`,
      );
      return EXIT.badInput;
    }
    process.stdout.write((await load()).usage);
    return EXIT.ok;
  }
  if (command === 'version' || command === '--version') {
    const { softwareInfo } = await import('../config/software.js');
    process.stdout.write(`labcast ${softwareInfo().version}\n${await hdf5WriterLine()}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[command];
  if (load === undefined) {
    process.stderr.write(`labcast: unknown command ${JSON.stringify(command)}${suggestion(command)}\n\n${USAGE}`);
    return EXIT.badInput;
  }
  // A log tagged with the command (serve sets its own, with the config's level);
  // a bad LABCAST_LOG_LEVEL is refused here, before anything starts.
  const { startProcessLog } = await import('../log/logger.js');
  startProcessLog(command);
  const ahead = FORKS_AHEAD.has(command) && !rest.some((arg) => arg === '--help' || arg === '-h');
  const forked = ahead ? await import('../experiment/fork-ahead.js') : null;
  forked?.forkRecordingProcessesAhead();
  try {
    const { run } = await load();
    return await run(rest);
  } finally {
    forked?.discardUnusedProcesses();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = isLabcastError(error) || error instanceof Error ? error.message : String(error);
    process.stderr.write(`labcast: ${message}\n`);
    process.exitCode = exitCodeFor(error);
  },
);

/** Whether files written here copy shared-memory frames into huge pages before writing them, and why. */
async function ringStagingLine(): Promise<string> {
  const { loadNativeAddon } = await import('../native/native-addon.js');
  const loaded = loadNativeAddon();
  if (!('addon' in loaded)) return '';
  try {
    const { staged, reason } = loaded.addon.ringStaging(process.cwd());
    // A frame copied on its way into shared memory (a GigE Vision image) is never copied a second time.
    const how = staged ? 'copied into huge pages before each write, unless copied once already' : 'written from shared memory in place';
    return `frames recorded here: ${how} (${reason})`;
  } catch (error) {
    return `frames recorded here: not known (${(error as Error).message})`;
  }
}

/** Which HDF5 writer recordings use here, and why not the native one when it is not. */
async function hdf5WriterLine(): Promise<string> {
  const { selectFrameWriter } = await import('../storage/select-writer.js');
  const { directIoWanted } = await import('../storage/native-backend.js');
  try {
    const choice = selectFrameWriter();
    if (choice.fallbackReason !== null) return `hdf5 writer: ${choice.backend} (native not available: ${choice.fallbackReason})`;
    if (choice.backend !== 'native') return `hdf5 writer: ${choice.backend}`;
    if (!directIoWanted()) return 'hdf5 writer: native, frame chunks through the page cache (LABCAST_DIRECT_IO=0)';
    return `hdf5 writer: native, frame chunks with O_DIRECT\n${await ringStagingLine()}`;
  } catch (error) {
    return `hdf5 writer: ${(error as Error).message}`;
  }
}
