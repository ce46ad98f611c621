import { resolve } from 'node:path';
import { renamedKeyWarning, withCurrentCameraOptionNames } from '../config/renamed-keys.js';
// From the spec module, not the registry: the parent never opens a camera, so it need not load the drivers.
import { CAMERA_STRING_FORMS, cameraSpecFromString, parseCameraSpec } from '../camera-spec/camera-spec.js';
import { LabcastError, isLabcastError } from '../protocol/errors.js';
import { RecordingSession, type RecordingResult } from '../experiment/recording-session.js';
import { resolveOutputPath } from '../storage/output-path.js';
import { checkEndpoint, DEFAULT_ENDPOINTS } from '../protocol/endpoints.js';
import { booleanFlag, numberFlag, parseFlags, stringFlag, type FlagSpec, type FlagValues } from './args.js';
import { EXIT } from './exit-codes.js';
import { describeCompression, type CompressionSummary } from '../protocol/compression.js';
import { COMPRESSION_FLAGS, COMPRESSION_USAGE, compressionFromFlags, refuseUnwritableCompression } from './compression-flags.js';
import { rateShortfall } from '../protocol/camera-rate.js';
import { onInterrupts } from './interrupts.js';
import { ProgressView } from './progress.js';

export const RECORD_USAGE = `usage: labcast record [options]

Records frames from a camera into an HDF5 file, through an acquisition
process and a saver process (every frame is also published for viewers).

camera (default: the simulated camera; \`labcast cameras\` lists what is there)
  --camera SPEC         sim | v4l2:/dev/video0 | file:clip.mp4 | url:rtsp://host/stream
                        | lavfi:testsrc2=size=320x240:rate=30 | replay:run.h5
                        | a JSON object {"driver": ..., options}

run length (default: until Ctrl-C)
  --frames N            stop after N frames
  --duration S          stop after S seconds
output
  --out PATH            file, or directory for an auto-numbered run_NNNN.h5 (default: .)
  --overwrite           replace an existing file
${COMPRESSION_USAGE}
simulated camera (--fps also for replay: default the recorded timing)
  --width PX --height PX   sensor size (default 640 x 480)
  --dtype uint8|uint16     pixel type (default uint16)
  --fps N                  frame rate, 0 = as fast as the saver takes them (default 30)
  --pattern noise|gradient|particles   scene (default particles)
  --particles N            spots in the particles scene (default 20)
  --seed N                 frame content is fixed by the seed (default 1)
camera settings (sim; a V4L2 camera's exposure_ms, gain, brightness in its own units)
  --exposure MS  --gain X  --brightness PERCENT
transport
  --publish ENDPOINT    data endpoint for live subscribers (default ${DEFAULT_ENDPOINTS.data})
  --buffer-mb N         acquisition-side buffer before frames are dropped (default 512)
  --json                print the summary as JSON on stdout
`;

export const FLAGS: FlagSpec = {
  camera: { type: 'string' },
  frames: { type: 'string' },
  duration: { type: 'string' },
  out: { type: 'string' },
  overwrite: { type: 'boolean' },
  ...COMPRESSION_FLAGS,
  width: { type: 'string' },
  height: { type: 'string' },
  dtype: { type: 'string' },
  fps: { type: 'string' },
  pattern: { type: 'string' },
  particles: { type: 'string' },
  seed: { type: 'string' },
  exposure: { type: 'string' },
  gain: { type: 'string' },
  brightness: { type: 'string' },
  publish: { type: 'string' },
  'buffer-mb': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** Simulator option ← the flag a user typed, so errors name the flag. */
const SIM_FLAG_OF_OPTION: Record<string, string> = {
  width: 'width',
  height: 'height',
  dtype: 'dtype',
  fps: 'fps',
  pattern: 'pattern',
  particle_count: 'particles',
  seed: 'seed',
};

const SETTING_OF_FLAG: Record<string, string> = { exposure: 'exposure_ms', gain: 'gain', brightness: 'brightness' };
const FLAG_OF_ENDPOINT: Record<string, string> = { data: 'publish' };
const FLAG_OF_SETTING: Record<string, string> = Object.fromEntries(
  Object.entries(SETTING_OF_FLAG).map(([flag, setting]) => [setting, flag]),
);

async function cameraSpecFromFlags(values: FlagValues): Promise<unknown> {
  const text = stringFlag(values, 'camera') ?? 'sim';
  let base: Record<string, unknown>;
  try {
    // A JSON spec may still use the old camelCase option names (for one more version).
    base = withCurrentCameraOptionNames(cameraSpecFromString(text), (oldKey, newKey) => {
      process.stderr.write(`labcast record: warning: ${renamedKeyWarning('--camera: ', oldKey, newKey)}\n`);
    });
  } catch (error) {
    throw onCameraFlag(error);
  }
  const driver = base.driver;
  const simFlags = Object.values(SIM_FLAG_OF_OPTION).filter((flag) => values[flag] !== undefined);
  if (driver === 'sim') {
    const spec: Record<string, unknown> = { ...base };
    for (const [option, flag] of Object.entries(SIM_FLAG_OF_OPTION)) {
      const raw = values[flag];
      if (raw === undefined) continue;
      spec[option] = flag === 'dtype' || flag === 'pattern' ? raw : numberFlag(values, flag);
    }
    return withFlagNames(() => parseCameraSpec(spec));
  }
  // The other drivers learn size and pixel type from the source.
  const allowed = driver === 'replay' ? ['fps'] : [];
  const refused = simFlags.find((flag) => !allowed.includes(flag));
  if (refused !== undefined) {
    throw new LabcastError(
      'BAD_ARGUMENT',
      `--${refused} applies only to the simulated camera (--camera sim)${driver === 'replay' ? '; replay takes --fps' : ''}; ` +
        `the ${String(driver)} camera takes its frame format from the source`,
      `--${refused}`,
    );
  }
  const spec: Record<string, unknown> = { ...base };
  if (driver === 'replay' && values.fps !== undefined) spec.fps = numberFlag(values, 'fps', { min: 0, max: 1000 });
  // The acquisition process may run elsewhere than here: give it absolute paths.
  if ((driver === 'file' || driver === 'replay') && typeof spec.path === 'string') spec.path = resolve(spec.path);
  try {
    return parseCameraSpec(spec);
  } catch (error) {
    throw onCameraFlag(error);
  }
}

/** An error about the --camera value, labelled with the flag. */
function onCameraFlag(error: unknown): unknown {
  if (isLabcastError(error) && (error.code === 'BAD_ARGUMENT' || error.code === 'CAMERA_UNAVAILABLE')) {
    const hint = error.message.includes('expected one of') ? '' : ` (forms: ${CAMERA_STRING_FORMS.join(', ')})`;
    return new LabcastError(error.code, `--camera: ${error.message}${error.code === 'BAD_ARGUMENT' ? hint : ''}`, '--camera');
  }
  return error;
}

/** Re-labels an error about a camera option or setting with the flag the user typed. */
async function withFlagNames<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isLabcastError(error) && error.field === 'camera') throw onCameraFlag(error);
    if (isLabcastError(error) && error.field !== undefined) {
      const flag = SIM_FLAG_OF_OPTION[error.field] ?? FLAG_OF_SETTING[error.field] ?? FLAG_OF_ENDPOINT[error.field];
      if (flag !== undefined) throw new LabcastError(error.code, `--${flag}: ${error.message}`, `--${flag}`);
    }
    throw error;
  }
}

function settingsFromFlags(values: FlagValues): Record<string, number> {
  const settings: Record<string, number> = {};
  for (const [flag, setting] of Object.entries(SETTING_OF_FLAG)) {
    const value = numberFlag(values, flag);
    if (value !== undefined) settings[setting] = value;
  }
  return settings;
}

export async function recordCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags('record', argv, FLAGS);
  if (booleanFlag(values, 'help')) {
    process.stdout.write(RECORD_USAGE);
    return EXIT.ok;
  }
  const frames = numberFlag(values, 'frames', { integer: true, min: 1, max: 1e12 }) ?? null;
  const durationS = numberFlag(values, 'duration', { min: 0.001, max: 1e7 }) ?? null;
  const outcome = await recordFromFlags('record', values, frames, durationS, DEFAULT_ENDPOINTS.data);
  process.stdout.write(booleanFlag(values, 'json') ? `${JSON.stringify(outcome)}\n` : formatRecordingResult(outcome));
  return recordingExitCode(outcome);
}

export function recordingExitCode(outcome: RecordingResult): number {
  if (outcome.error !== null) return EXIT.failed;
  return outcome.framesLost > 0 ? EXIT.framesLost : EXIT.ok;
}

/**
 * One run with processes of its own, from record's camera, output and
 * transport flags (those absent from `values` take their defaults).
 */
export async function recordFromFlags(
  command: 'record' | 'snap',
  values: FlagValues,
  frames: number | null,
  durationS: number | null,
  defaultEndpoint: string,
): Promise<RecordingResult> {
  const camera = await cameraSpecFromFlags(values);
  const settings = settingsFromFlags(values);
  const dataEndpoint = checkEndpoint(stringFlag(values, 'publish') ?? defaultEndpoint, '--publish');
  const bufferMb = numberFlag(values, 'buffer-mb', { min: 0.1, max: 1_000_000 }) ?? 512;
  const overwrite = booleanFlag(values, 'overwrite');
  const compression = compressionFromFlags(values);
  await refuseUnwritableCompression(compression);
  const outPath = resolveOutputPath(stringFlag(values, 'out') ?? '.', overwrite);

  const progress = new ProgressView(process.stderr, command === 'snap' ? 'snapping' : 'recording');
  // Listen before anything starts: a Ctrl-C during start-up must still end in
  // an orderly stop, not leave the child processes behind.
  let session: RecordingSession | null = null;
  let interrupts = 0;
  const stopListening = onInterrupts((press) => {
    interrupts = press;
    if (press === 1) {
      progress.note('stopping: draining frames into the file (Ctrl-C again to abandon the drain)');
      session?.stop();
    } else {
      progress.note('abandoning the drain: closing the file with the frames received');
      session?.abort();
    }
  });
  let started: Awaited<ReturnType<typeof RecordingSession.start>>;
  try {
    started = await withFlagNames(() =>
      RecordingSession.start(
        {
          camera,
          settings,
          frames,
          durationS,
          outPath,
          overwrite,
          dataEndpoint,
          bufferBytes: Math.round(bufferMb * 1024 * 1024),
          flushIntervalMs: 1000,
          ...(compression === undefined ? {} : { compression }),
          config: {
            command,
            camera,
            settings,
            frames,
            duration_s: durationS,
            out: outPath,
            data_endpoint: dataEndpoint,
            buffer_mb: bufferMb,
            ...(compression === undefined ? {} : { compression: compression.codec, compression_level: compression.level }),
          },
        },
        (p) => progress.update({ done: p.framesWritten, total: frames, elapsedS: p.elapsedS, bytes: p.bytesWritten, dropped: p.dropped }),
      ),
    );
  } catch (error) {
    stopListening();
    throw error;
  }
  session = started.session;
  if (interrupts > 0) session.stop();
  let outcome: RecordingResult;
  try {
    outcome = await started.result;
  } finally {
    stopListening();
  }
  progress.finish({
    done: outcome.framesWritten,
    total: frames,
    elapsedS: outcome.elapsedS,
    bytes: outcome.bytesWritten,
    dropped: outcome.framesLost,
  });
  return outcome;
}

/** Requested vs achieved frame rate: a camera that could not keep the rate asked of it says so. */
function formatRate(r: RecordingResult): string[] {
  const shortfall = rateShortfall({ requested: r.fpsRequested, achieved: r.fpsAchieved });
  if (shortfall !== null) return [`  camera rate     WARNING: ${shortfall}: the camera did not deliver the rate asked of it`];
  if (r.fpsRequested === null) return [];
  return [`  camera rate     requested ${r.fpsRequested} fps${r.fpsAchieved === null ? '' : `, achieved ${r.fpsAchieved.toFixed(1)} fps`}`];
}

/** "bitshuffle-lz4: 104.9 MB of frames in 41.2 MB (2.55x)". */
export function formatCompression(c: CompressionSummary): string {
  const ratio = c.ratio === null ? 'no chunk written yet' : `${c.ratio.toFixed(2)}x`;
  return `${describeCompression(c)}: ${(c.bytesIn / 1e6).toFixed(1)} MB of frames in ${(c.bytesOut / 1e6).toFixed(1)} MB (${ratio})`;
}

export function formatRecordingResult(r: RecordingResult): string {
  const mbps = r.elapsedS > 0 ? r.bytesWritten / 1e6 / r.elapsedS : 0;
  const timing =
    r.durationS === null
      ? 'n/a (fewer than 2 frames in the file)'
      : `${r.durationS.toFixed(3)} s  (${r.fps === null ? 'n/a' : r.fps.toFixed(2)} fps; first to last frame, as labcast inspect)`;
  const gaps = r.gaps.length === 0 ? 'none' : r.gaps.map(([first, n]) => (n === 1 ? `${first}` : `${first}-${first + n - 1}`)).join(', ');
  const lines = [
    r.path === null
      ? 'No file was written.'
      : r.error !== null
        ? `Recording failed: ${r.path} keeps the frames it holds (below)`
        : `Recorded ${r.path}`,
    `  frames written  ${r.framesWritten} of ${r.framesAcquired} acquired`,
    `  frames dropped  ${r.framesLost}${r.gaps.length > 0 ? `  (missing frame ids: ${gaps})` : ''}`,
    ...(r.framesLostCamera !== undefined && r.framesLostCamera > 0
      ? [`  lost by camera  ${r.framesLostCamera} (incomplete or missing buffers; among the dropped)`]
      : []),
    `  duration        ${timing}`,
    ...formatRate(r),
    `  throughput      ${mbps.toFixed(1)} MB/s  (${(r.bytesWritten / 1e6).toFixed(1)} MB in ${r.elapsedS.toFixed(2)} s, start-up and ` +
      `drain included)`,
    `  run             ${r.runId}  (${r.endReason})`,
  ];
  if (r.writer !== undefined || r.saverCpuS !== undefined) {
    const cpu = r.saverCpuS === undefined ? '' : `saver CPU ${r.saverCpuS.toFixed(2)} s`;
    lines.push(`  writer          ${[r.writer, cpu].filter((part) => part !== undefined && part !== '').join(', ')}`);
  }
  if (r.compression !== undefined) lines.push(`  compression     ${formatCompression(r.compression)}`);
  if (r.analysisResults !== undefined) {
    const stored =
      Object.entries(r.analysisResults.stored)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ') || 'none';
    const problems = [
      r.analysisResults.malformed > 0 ? `${r.analysisResults.malformed} malformed` : '',
      r.analysisResults.writeErrors > 0 ? `${r.analysisResults.writeErrors} not written: ${r.analysisResults.lastError ?? ''}` : '',
    ].filter((part) => part !== '');
    lines.push(`  analysis        results stored: ${stored}${problems.length > 0 ? ` (${problems.join('; ')})` : ''}`);
  }
  if (r.cameraStatistics !== undefined) {
    const counters = Object.entries(r.cameraStatistics)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ');
    lines.push(`  camera stream   ${counters}`);
  }
  if (r.error !== null) lines.push(`  error           ${r.error}`);
  return `${lines.join('\n')}\n`;
}
