import { LabcastError } from '../protocol/errors.js';
import { inspectRecording } from '../hdf5/file-inspector.js';
import { formatRecordingSummary } from './format.js';
import { booleanFlag, parseFlags } from './args.js';
import { EXIT } from './exit-codes.js';

export const INSPECT_USAGE = `usage: labcast inspect FILE [--json]

Prints what a labcast HDF5 file holds: frame count, shape, dtype, duration and
fps, gaps in the frame ids, camera settings and provenance.
`;

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('inspect', argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, 1);
  if (booleanFlag(values, 'help')) {
    process.stdout.write(INSPECT_USAGE);
    return EXIT.ok;
  }
  const path = positionals[0];
  if (path === undefined) throw new LabcastError('BAD_ARGUMENT', 'labcast inspect: which file? (labcast inspect FILE)', 'FILE');
  const summary = await inspectRecording(path);
  process.stdout.write(
    booleanFlag(values, 'json')
      ? `${JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`
      : formatRecordingSummary(summary),
  );
  return EXIT.ok;
}
