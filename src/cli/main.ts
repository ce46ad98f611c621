#!/usr/bin/env node
import { startProcessLog } from '../log/logger.js';
import { directIoWanted } from '../storage/native-backend.js';
import { selectFrameWriter } from '../storage/select-writer.js';
import { softwareInfo } from '../config/software.js';
import { isLabcastError } from '../protocol/errors.js';
import { CAMERAS_USAGE, camerasCommand } from './cameras-command.js';
import { CTL_USAGE, ctlCommand } from './ctl-command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { INSPECT_USAGE, inspectCommand } from './inspect-command.js';
import { KEYS_USAGE, keysCommand } from './keys-command.js';
import { RECORD_USAGE, recordCommand } from './record-command.js';
import { SAVE_USAGE, saveCommand } from './save-command.js';
import { SERVE_USAGE, serveCommand } from './serve-command.js';
import { SNAP_USAGE, snapCommand } from './snap-command.js';
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

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  record: recordCommand,
  snap: snapCommand,
  inspect: inspectCommand,
  ctl: ctlCommand,
  serve: serveCommand,
  cameras: camerasCommand,
  save: saveCommand,
  keys: keysCommand,
};

const HELP: Record<string, string> = {
  record: RECORD_USAGE,
  snap: SNAP_USAGE,
  inspect: INSPECT_USAGE,
  ctl: CTL_USAGE,
  serve: SERVE_USAGE,
  cameras: CAMERAS_USAGE,
  save: SAVE_USAGE,
  keys: KEYS_USAGE,
};

const COMMAND_NAMES = [...Object.keys(COMMANDS), 'help', 'version'];

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
    const help = HELP[topic];
    if (help === undefined) {
      process.stderr.write(`labcast help: no command ${JSON.stringify(topic)}${suggestion(topic)}; the commands: ${COMMAND_NAMES.join(', ')}\n`);
      return EXIT.badInput;
    }
    process.stdout.write(help);
    return EXIT.ok;
  }
  if (command === 'version' || command === '--version') {
    process.stdout.write(`labcast ${softwareInfo().version}\n${hdf5WriterLine()}\n`);
    return EXIT.ok;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`labcast: unknown command ${JSON.stringify(command)}${suggestion(command)}\n\n${USAGE}`);
    return EXIT.badInput;
  }
  // A log tagged with the command (serve sets its own, with the config's level);
  // a bad LABCAST_LOG_LEVEL is refused here, before anything starts.
  startProcessLog(command);
  return run(rest);
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

/** Which HDF5 writer recordings use here, and why not the native one when it is not. */
function hdf5WriterLine(): string {
  try {
    const choice = selectFrameWriter();
    if (choice.fallbackReason !== null) return `hdf5 writer: ${choice.backend} (native not available: ${choice.fallbackReason})`;
    if (choice.backend !== 'native') return `hdf5 writer: ${choice.backend}`;
    return directIoWanted()
      ? 'hdf5 writer: native, frame chunks with O_DIRECT'
      : 'hdf5 writer: native, frame chunks through the page cache (LABCAST_DIRECT_IO=0)';
  } catch (error) {
    return `hdf5 writer: ${(error as Error).message}`;
  }
}
