import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { namingPatternProblem, type StorageConfig } from '../config/schema.js';
import { LabcastError } from '../protocol/errors.js';
import type { RunStart } from '../protocol/messages.js';
import type { RecordingResult } from '../experiment/recording.js';
import { saveOneRun } from '../saver/saver.js';
import { nextRecordingPath } from '../storage/recording-paths.js';
import { selectFrameWriter } from '../storage/select-writer.js';
import { handshakeFailedMessage } from '../transport/curve.js';
import { receiverSharedMemory } from '../native/shared-frames.js';
import { DataReceiver } from '../transport/data-receiver.js';
import { checkEndpoint, DEFAULT_ENDPOINTS } from '../protocol/endpoints.js';
import { booleanFlag, numberFlag, parseFlags, stringFlag } from './args.js';
import { EXIT } from './exit-codes.js';
import { COMPRESSION_FLAGS, COMPRESSION_USAGE, compressionFromFlags, refuseUnwritableCompression } from './compression-flags.js';
import { NO_COMPRESSION } from '../protocol/compression.js';
import { onInterrupts } from './interrupts.js';
import { serverKeyFlag } from './keys-command.js';
import { formatRecordingResult } from './record-command.js';
import { slowWriterFromEnv } from '../storage/slow-writer.js';

export const SAVE_USAGE = `usage: labcast save --connect ENDPOINT --out DIR [--server-key FILE] [options]

A saver on its own: connects to the record endpoint of a labcast serve (one
whose config says saver.mode: remote, usually on another machine) and saves
every run it records as its own HDF5 file in DIR, until Ctrl-C. The lossless
path is the same as for serve's own saver: frames are never dropped on the
way; if this saver falls behind, serve's buffer counts what it has to drop,
and the file's gap record lists it. Ctrl-C (or SIGTERM) closes the file being
written with every frame received, and exits.

options
  --connect ENDPOINT   serve's record endpoint, e.g. tcp://scope-pc:5557 (default ${DEFAULT_ENDPOINTS.record})
  --out DIR            folder for the files (created if missing)
  --server-key FILE    serve's public key, when it uses ZeroMQ CURVE (made by labcast keys)
  --naming PATTERN     file names as storage.naming: {n} {date} {time} {run} (default run_{n}.h5)
  --date-folders       each day's files in DIR/YYYY-MM-DD/
  --flush-ms N         written frames reach the disk at least this often (default 1000)
${COMPRESSION_USAGE}
  --json               print each file's summary as one line of JSON

exit codes: 0 stopped by Ctrl-C, every run complete; 1 failed (a file could not
be written, a wrong server key); 2 bad input; 3 frames were lost (counted, in the files' gap records)
`;

/** Handshake failures this close together mean a wrong key, not a network hiccup. */
const HANDSHAKE_FAILURES_TO_GIVE_UP = 3;
const HANDSHAKE_FAILURE_WINDOW_MS = 10_000;

export async function saveCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('save', argv, {
    connect: { type: 'string' },
    out: { type: 'string' },
    'server-key': { type: 'string' },
    naming: { type: 'string' },
    'date-folders': { type: 'boolean' },
    'flush-ms': { type: 'string' },
    ...COMPRESSION_FLAGS,
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (booleanFlag(values, 'help')) {
    process.stdout.write(SAVE_USAGE);
    return EXIT.ok;
  }
  const endpoint = checkEndpoint(stringFlag(values, 'connect') ?? DEFAULT_ENDPOINTS.record, '--connect');
  if (endpoint.startsWith('inproc://') || endpoint.endsWith(':*')) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `--connect: ${endpoint} cannot be connected to; give serve's record endpoint, tcp://HOST:PORT or ipc://PATH`,
      '--connect',
    );
  }
  const out = stringFlag(values, 'out');
  if (out === undefined) throw new LabcastError('BAD_ARGUMENT', '--out DIR is required: the folder the files go to', '--out');
  const naming = stringFlag(values, 'naming') ?? 'run_{n}.h5';
  const namingProblem = namingPatternProblem(naming);
  if (namingProblem !== undefined) throw new LabcastError('BAD_ARGUMENT', `--naming ${naming}: ${namingProblem}`, '--naming');
  const flushIntervalMs = numberFlag(values, 'flush-ms', { integer: true, min: 10, max: 600_000 }) ?? 1000;
  const serverKey = serverKeyFlag(values);
  const json = booleanFlag(values, 'json');
  const compression = compressionFromFlags(values) ?? NO_COMPRESSION;
  await refuseUnwritableCompression(compression);
  const storage: StorageConfig = {
    data_dir: resolve(out),
    naming,
    date_folders: booleanFlag(values, 'date-folders'),
    allow_absolute_paths: false,
    overwrite: false,
    compression: compression.codec,
  };
  try {
    mkdirSync(storage.data_dir, { recursive: true });
  } catch (error) {
    throw new LabcastError('OUTPUT_UNWRITABLE', `--out: cannot create ${storage.data_dir}: ${(error as Error).message}`, '--out');
  }
  const writer = selectFrameWriter();
  process.title = 'labcast-save';

  const receiver = DataReceiver.pull(endpoint, serverKey, receiverSharedMemory());
  // Set from a socket callback, so TypeScript must not narrow it to null here.
  let handshakeFailure = null as LabcastError | null;
  const failureTimes: number[] = [];
  receiver.onHandshakeFailure((code) => {
    const now = Date.now();
    failureTimes.push(now);
    while (failureTimes.length > 0 && now - failureTimes[0]! > HANDSHAKE_FAILURE_WINDOW_MS) failureTimes.shift();
    // A protocol error (mechanism mismatch, bad key) is final: ZeroMQ does not even retry.
    if (code.startsWith('ERR_ZMTP') || failureTimes.length >= HANDSHAKE_FAILURES_TO_GIVE_UP) {
      handshakeFailure ??= new LabcastError('HANDSHAKE_FAILED', handshakeFailedMessage(endpoint, code, serverKey !== null));
      receiver.close();
    }
  });

  const stopListening = onInterrupts((press, signal) => {
    if (press === 1) {
      process.stderr.write(`labcast save: ${signal}: closing the file being written (if any) with every frame received\n`);
      receiver.close();
    } else {
      process.stderr.write('labcast save: stopping now\n');
      process.exit(EXIT.failed);
    }
  });
  process.stderr.write(
    `labcast save: waiting for runs from ${endpoint}${serverKey === null ? '' : ' (CURVE)'}; ` +
      `files go to ${storage.data_dir} (${writer.backend} HDF5 writer). ` +
      `Ctrl-C stops.\n`,
  );

  let lost = false;
  let malformedBefore = 0;
  const openWriter = slowWriterFromEnv(writer.open);
  // A run that began before the previous one's end arrived starts the next file.
  let pendingRunStart: RunStart | null = null;
  try {
    while (!receiver.closed) {
      let openedAt = performance.now();
      const saved = await saveOneRun({
        receiver,
        // The name is chosen when the run starts, from its run id and the time then.
        outPath: storage.data_dir,
        overwrite: false,
        compression,
        flushIntervalMs,
        openWriter: (_unused, start, options) => openWriter(nextRecordingPath(storage, start.run_id, new Date()), start, options),
        onEvent: (event) => {
          if (event.type === 'file-opened') {
            openedAt = performance.now();
            process.stderr.write(`labcast save: run ${event.runId} → ${event.path}\n`);
          }
        },
        pendingRunStart,
      });
      if (saved === null) break;
      pendingRunStart = saved.nextRunStart;
      const inGaps = saved.summary.gaps.reduce((total, [, count]) => total + count, 0);
      const framesAcquired = saved.end?.frames_acquired ?? saved.summary.framesWritten + inGaps;
      const result: RecordingResult = {
        path: saved.summary.path,
        runId: saved.end?.run_id ?? '(unknown: the run had not ended)',
        framesWritten: saved.summary.framesWritten,
        framesAcquired,
        framesLost: Math.max(0, framesAcquired - saved.summary.framesWritten),
        gaps: saved.summary.gaps,
        bytesWritten: saved.summary.bytesWritten,
        durationS: saved.summary.durationS ?? null,
        fps: saved.summary.fps ?? null,
        elapsedS: (performance.now() - openedAt) / 1000,
        endReason: saved.end?.reason ?? 'unknown',
        error:
          saved.error?.message ??
          (saved.end === null
            ? 'the run had not ended when this saver stopped; the file holds every frame received'
            : (saved.end.error ?? null)),
        fpsRequested: saved.end?.fps_requested ?? null,
        fpsAchieved: saved.end?.fps_achieved ?? null,
      };
      if (result.framesLost > 0) lost = true;
      process.stdout.write(json ? `${JSON.stringify(result)}\n` : formatRecordingResult(result));
      const malformed = saved.malformedMessages - malformedBefore;
      malformedBefore = saved.malformedMessages;
      if (malformed > 0) process.stderr.write(`labcast save: ${malformed} malformed messages were skipped\n`);
      if (saved.strayFrames > 0) {
        process.stderr.write(`labcast save: ${saved.strayFrames} frames of a run that began before this saver connected were skipped\n`);
      }
      if (saved.error !== null) throw saved.error;
    }
  } finally {
    receiver.close();
    stopListening();
  }
  if (handshakeFailure !== null) throw handshakeFailure;
  process.stderr.write('labcast save: stopped\n');
  return lost ? EXIT.framesLost : EXIT.ok;
}
