import { booleanFlag, parseFlags, type FlagSpec } from './args.js';
import { EXIT } from './exit-codes.js';
import { FLAGS as RECORD_FLAGS, formatRecordingResult, recordFromFlags, recordingExitCode } from './record-command.js';

export const SNAP_USAGE = `usage: labcast snap [--out PATH] [camera options]

Takes one frame from a camera into its own HDF5 file, without a server (the
same file as a one-frame \`labcast record\`; \`labcast ctl snap\` does this on a
running serve).

  --out PATH            file, or directory for an auto-numbered run_NNNN.h5 (default: .)
  --overwrite           replace an existing file
  --compression CODEC   none, lz4, bitshuffle-lz4, zstd (as for labcast record); --compression-level N
  --camera SPEC         as for labcast record (default: sim)
  --width PX --height PX --dtype uint8|uint16 --pattern noise|gradient|particles
  --particles N --seed N   the simulated camera, as for labcast record
  --exposure MS  --gain X  --brightness PERCENT   camera settings
  --json                print the summary as JSON on stdout (as labcast record --json)
`;

/** record's flags without the run length and transport: one frame, published nowhere in particular. */
const SNAP_FLAG_NAMES = [
  'camera',
  'out',
  'overwrite',
  'compression',
  'compression-level',
  'width',
  'height',
  'dtype',
  'pattern',
  'particles',
  'seed',
  'exposure',
  'gain',
  'brightness',
  'json',
  'help',
];
const FLAGS: FlagSpec = Object.fromEntries(SNAP_FLAG_NAMES.map((name) => [name, RECORD_FLAGS[name]!]));

/** Any free loopback port: nobody watches a snap, and a running serve may own the default one. */
const SNAP_DATA_ENDPOINT = 'tcp://127.0.0.1:*';

export async function snapCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('snap', argv, FLAGS);
  if (booleanFlag(values, 'help')) {
    process.stdout.write(SNAP_USAGE);
    return EXIT.ok;
  }
  const outcome = await recordFromFlags('snap', values, 1, null, SNAP_DATA_ENDPOINT);
  if (booleanFlag(values, 'json')) {
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
  } else {
    const done = outcome.error === null && outcome.framesWritten === 1;
    process.stdout.write(done ? `Snapped ${outcome.path} (run ${outcome.runId})\n` : formatRecordingResult(outcome));
  }
  return recordingExitCode(outcome);
}
