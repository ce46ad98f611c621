#!/usr/bin/env node
import { softwareInfo } from '../config/software.js';
import { isLabcastError } from '../protocol/errors.js';
import { CAMERAS_USAGE, camerasCommand } from './cameras-command.js';
import { CTL_USAGE, ctlCommand } from './ctl-command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { INSPECT_USAGE, inspectCommand } from './inspect-command.js';
import { RECORD_USAGE, recordCommand } from './record-command.js';
import { SERVE_USAGE, serveCommand } from './serve-command.js';

const USAGE = `usage: labcast <command> [options]

commands
  serve      run the experiment: camera, controller, savers (Ctrl-C stops cleanly)
  record     record frames from a camera into an HDF5 file
  inspect    show what a labcast HDF5 file holds
  cameras    list the cameras: the simulator and every /dev/video* with its formats
  ctl        send a command to a running labcast serve (status, live, record, stop, set, watch, ...)
  help       show this help, or help for a command (labcast help record)
  version    print the labcast version

exit codes: 0 ok, 1 failed, 2 bad input, 3 finished but frames were lost
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  record: recordCommand,
  inspect: inspectCommand,
  ctl: ctlCommand,
  serve: serveCommand,
  cameras: camerasCommand,
};

const HELP: Record<string, string> = {
  record: RECORD_USAGE,
  inspect: INSPECT_USAGE,
  ctl: CTL_USAGE,
  serve: SERVE_USAGE,
  cameras: CAMERAS_USAGE,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = command === 'help' ? rest[0] : undefined;
    process.stdout.write(topic !== undefined && HELP[topic] !== undefined ? HELP[topic] : USAGE);
    return EXIT.ok;
  }
  if (command === 'version' || command === '--version') {
    process.stdout.write(`labcast ${softwareInfo().version}\n`);
    return EXIT.ok;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`labcast: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return EXIT.badInput;
  }
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
