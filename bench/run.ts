/**
 * npm run bench: end-to-end recording throughput beside the raw speed of the
 * same disk and beside the classic Python recipe, measured in the same run, for
 * megapixel, small (64x64) and large (2048x2048) frames. Figures are ratios to
 * those baselines, medians of several runs; nothing here asserts a time. Then
 * analysis throughput, the web live view's latency from camera to painted
 * frame (bench/web-latency.ts), the recording viewer's step time
 * (bench/recording-viewer.ts) and compression (bench/compression.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAnalysis } from './analysis-localize.js';
import { compressionRows, measureCompression } from './compression.js';
import { measureCtlSnap, SNAP_BENCH } from './ctl-snap.js';
import { genicamRows, measureGenicam } from './genicam.js';
import { measureSaverWithAnalysis, SAVER_ANALYSIS_BENCH } from './saver-with-analysis.js';
import { rawDirectWriteMBps, rawHugePageDirectWriteMBps, rawWriteMBps } from './raw-disk.js';
import { measureStartup, STARTUP_RUNS } from './startup.js';
import { measureWebLatency, WEB_BENCH } from './web-latency.js';
import { measureViewerSteps, VIEWER_BENCH } from './recording-viewer.js';
import type { RingWrites } from '../src/protocol/process-messages.js';
import { saverCopies } from './saver-copies.js';

/** The `labcast` command as a user runs it (bin/labcast, two levels above dist/bench). */
const COMMAND = fileURLToPath(new URL('../../bin/labcast', import.meta.url));
// The script is not compiled: it sits beside this file's source, two levels up from dist/bench.
const PYTHON_PIPELINE = fileURLToPath(new URL('../../bench/python_pipeline.py', import.meta.url));
const PYTHON = process.env.LABCAST_PYTHON ?? '/usr/bin/python3';
const RUNS = Number(process.env.LABCAST_BENCH_RUNS ?? 3);
/**
 * "1": only the recording figures (1024², 64², 2048² against their baselines,
 * the whole-command comparison and ctl snap), none of the rows that take
 * minutes more (the page-cache and socket A/B runs, /dev/shm, analysis, web,
 * GenICam): for measuring a change to the pipeline on a busy machine.
 */
const QUICK = process.env.LABCAST_BENCH_QUICK === '1';

/** One recording workload: square uint16 frames from the sim camera at fps 0 (as fast as the saver takes them). */
interface Workload {
  readonly name: string;
  readonly frames: number;
  readonly size: number;
}

/** labcast's two large-frame speed-ups, each turned off in turn at 1024² (environment variable = 0). */
const SPEED_UPS: Record<string, string> = {
  'with frames through the page cache': 'LABCAST_DIRECT_IO',
  'with frames on the record socket': 'LABCAST_SHARED_FRAMES',
};

/** A memory file system: the pipelines without the disk. */
const MEMORY_FS = '/dev/shm';
const MEGAPIXEL: Workload = { name: '1024x1024', frames: 1000, size: 1024 };
const SMALL: Workload = { name: '64x64', frames: 200_000, size: 64 };
const LARGE: Workload = { name: '2048x2048', frames: 250, size: 2048 };
/** Timed as a user times it: each whole command, process start to exit, start-up included on both sides. */
const WHOLE_COMMAND: Workload = { name: '1024x1024 whole command', frames: 500, size: 1024 };
/** The Python recipe pays per message too: fewer small frames keep its run short. */
const PYTHON_SMALL_FRAMES = 50_000;

const fileSafe = (name: string): string => name.replace(/[^A-Za-z0-9]+/g, '_');
const bytesOf = (w: Workload, frames = w.frames): number => frames * w.size * w.size * 2;

interface RecordSummary {
  framesWritten: number;
  framesLost: number;
  bytesWritten: number;
  durationS: number;
  error: string | null;
  /** Wall time from the first frame's arrival at the saver until the file was closed, when it says. */
  firstFrameToClosedS?: number;
  /** CPU seconds (user + system) the saver process used for the run, when it says. */
  saverCpuS?: number;
  /** Which HDF5 library wrote the file, when it says. */
  writer?: string;
  /** Bytes of ring frames written from their slot, and copied into huge pages first, when any came through the ring. */
  ringWrites?: RingWrites;
}

interface Recorded {
  readonly mbps: number;
  readonly fps: number;
  readonly wallMBps: number;
  readonly summary: RecordSummary;
}

function fmtPair([p50, p95]: [number, number]): string {
  return `${p50.toFixed(1)} / ${p95.toFixed(1)} ms`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function recordOnce(dir: string, w: Workload, run: number, env: NodeJS.ProcessEnv = process.env): Recorded {
  const out = join(dir, `bench_${fileSafe(w.name)}_${run}.h5`);
  const started = performance.now();
  const result = spawnSync(
    COMMAND,
    [
      'record',
      '--frames',
      String(w.frames),
      '--width',
      String(w.size),
      '--height',
      String(w.size),
      '--dtype',
      'uint16',
      '--fps',
      '0',
      '--pattern',
      'gradient',
      '--out',
      out,
      '--json',
      '--publish',
      'tcp://127.0.0.1:*',
    ],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, env },
  );
  const wallS = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`labcast record failed (${result.status}): ${result.stderr}`);
  const summary = JSON.parse(result.stdout) as RecordSummary;
  rmSync(out, { force: true });
  if (summary.framesWritten !== w.frames) throw new Error(`${w.name} run ${run}: ${summary.framesWritten} of ${w.frames} frames written`);
  // Camera → closed file: from the first frame's arrival at the saver until the file is closed (the drain
  // and the last flush included), as dd's figure includes its fdatasync. The camera's own first-to-last-frame
  // time (durationS) reads high at fps 0, where the source runs ahead of the saver into the sender's queue.
  const seconds = summary.firstFrameToClosedS ?? summary.durationS;
  return {
    mbps: summary.bytesWritten / 1e6 / seconds,
    fps: summary.framesWritten / seconds,
    wallMBps: summary.bytesWritten / 1e6 / wallS,
    summary,
  };
}

/** The classic pyzmq PUB/SUB + h5py recipe on the same workload (bench/python_pipeline.py, Debian's python3). */
function pythonOnce(dir: string, w: Workload, frames: number, run: number): { mbps: number; fps: number; lost: number; wallS: number } {
  const out = join(dir, `python_${fileSafe(w.name)}_${run}.h5`);
  const started = performance.now();
  const result = spawnSync(PYTHON, [PYTHON_PIPELINE, out, String(frames), String(w.size), String(w.size)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the Python pipeline failed (${result.status}): ${result.stderr}`);
  const wallS = (performance.now() - started) / 1000;
  const summary = JSON.parse(result.stdout) as { frames: number; seconds: number; bytes: number };
  rmSync(out, { force: true });
  return { mbps: summary.bytes / 1e6 / summary.seconds, fps: summary.frames / summary.seconds, lost: frames - summary.frames, wallS };
}

interface Measured {
  raw: number[];
  /** The same bytes with O_DIRECT (dd), when measured and available. */
  rawDirect: number[];
  /**
   * labcast's MB/s over dd's in the same round, dd measured just before and
   * just after labcast (their mean): the device's speed drifts by 2× within
   * minutes on a shared VM, so a run is compared with the disk as it was then.
   */
  directRatios: number[];
  /** The same bytes with O_DIRECT from a huge page (one device request a write), when measured and available. */
  rawHuge: number[];
  /** labcast's MB/s over that, before and after, per round, as directRatios. */
  hugeRatios: number[];
  labcast: Recorded[];
  /** labcast with one of its speed-ups turned off, when measured: what each one brings, in the same run. */
  labcastWithout: Record<string, Recorded[]>;
  python: { mbps: number; fps: number; lost: number; wallS: number }[];
}

/**
 * An O_DIRECT baseline written just before labcast's run; the function it
 * returns writes it again just after and records labcast's MB/s over the
 * mean of the two (Measured.directRatios): the device's speed drifts within
 * minutes, so labcast is compared with the disk as it was then. A baseline
 * that could not be measured is left out, with no ratio that round.
 */
function bracketBaseline(
  write: () => number | null,
  label: string,
  values: number[],
  ratios: number[],
  line: string[],
): (labcastMBps: number) => void {
  const before = write();
  if (before === null) return () => undefined;
  values.push(before);
  line.push(`${label} ${before.toFixed(0)} MB/s`);
  return (labcastMBps) => {
    const after = write();
    if (after === null) return;
    values.push(after);
    ratios.push(labcastMBps / ((before + after) / 2));
    line.push(`${label} after ${after.toFixed(0)} MB/s`);
  };
}

/** RUNS rounds of raw disk, labcast and (optionally) Python, interleaved so that drift hits all alike. */
function measure(dir: string, w: Workload, options: { raw: boolean; pythonFrames: number | null; without?: boolean }): Measured {
  const measured: Measured = {
    raw: [],
    rawDirect: [],
    directRatios: [],
    rawHuge: [],
    hugeRatios: [],
    labcast: [],
    labcastWithout: {},
    python: [],
  };
  for (let run = 0; run < RUNS; run++) {
    const line: string[] = [];
    let afterRun: ((labcastMBps: number) => void)[] = [];
    if (options.raw) {
      measured.raw.push(rawWriteMBps(join(dir, 'raw.bin'), bytesOf(w)));
      line.push(`raw ${measured.raw.at(-1)!.toFixed(0)} MB/s`);
      afterRun = [
        bracketBaseline(
          () => rawDirectWriteMBps(join(dir, 'raw-direct.bin'), bytesOf(w)),
          'raw O_DIRECT',
          measured.rawDirect,
          measured.directRatios,
          line,
        ),
        bracketBaseline(
          () => rawHugePageDirectWriteMBps(join(dir, 'raw-huge.bin'), bytesOf(w)),
          'from huge pages',
          measured.rawHuge,
          measured.hugeRatios,
          line,
        ),
      ];
    }
    const recorded = recordOnce(dir, w, run);
    measured.labcast.push(recorded);
    line.push(`labcast ${recorded.mbps.toFixed(0)} MB/s ${recorded.fps.toFixed(0)} frames/s`);
    // Taken again in the reverse order, so each baseline brackets labcast's run alike.
    for (const after of afterRun.reverse()) after(recorded.mbps);
    if (options.without === true) {
      for (const [name, variable] of Object.entries(SPEED_UPS)) {
        const without = recordOnce(dir, w, run, { ...process.env, [variable]: '0' });
        (measured.labcastWithout[name] ??= []).push(without);
        line.push(`labcast ${variable}=0 ${without.mbps.toFixed(0)} MB/s`);
      }
    }
    if (options.pythonFrames !== null) {
      const python = pythonOnce(dir, w, options.pythonFrames, run);
      measured.python.push(python);
      line.push(`python ${python.mbps.toFixed(0)} MB/s ${python.fps.toFixed(0)} frames/s`);
    }
    process.stderr.write(`${w.name} run ${run + 1}/${RUNS}: ${line.join(', ')}\n`);
  }
  return measured;
}

const medianOf = (runs: Recorded[], pick: (r: Recorded) => number): number => median(runs.map(pick));
const lostIn = (runs: Recorded[]): number => runs.reduce((n, r) => n + r.summary.framesLost, 0);

/** Saver CPU seconds per GB written, when the saver reports its CPU time. */
function saverCpuPerGB(runs: Recorded[]): string {
  const perGB = runs.filter((r) => r.summary.saverCpuS !== undefined).map((r) => r.summary.saverCpuS! / (r.summary.bytesWritten / 1e9));
  return perGB.length === 0 ? 'not reported' : `${median(perGB).toFixed(2)} s/GB`;
}

/** The disk past the page cache, and labcast with each of its large-frame speed-ups turned off. */
function directRows(measured: Measured, labcastMBps: number): [string, string][] {
  const rows: [string, string][] = [];
  if (measured.rawDirect.length > 0) {
    const rawDirect = median(measured.rawDirect);
    rows.push(['  raw disk past the page cache (dd oflag=direct + fdatasync, before and after each run)', `${rawDirect.toFixed(0)} MB/s`]);
    rows.push(['  labcast / raw past the page cache, medians', `${((labcastMBps / rawDirect) * 100).toFixed(0)} %`]);
    if (measured.directRatios.length > 0) {
      const each = measured.directRatios.map((r) => `${(r * 100).toFixed(0)}`).join(', ');
      rows.push([
        '  labcast / raw past the page cache, per round (goal >= 90 %)',
        `${(median(measured.directRatios) * 100).toFixed(0)} % (${each})`,
      ]);
    }
  }
  if (measured.rawHuge.length > 0) {
    rows.push([
      '  raw disk past the page cache from a huge page (one request a write: the device at its best)',
      `${median(measured.rawHuge).toFixed(0)} MB/s`,
    ]);
    const each = measured.hugeRatios.map((r) => `${(r * 100).toFixed(0)}`).join(', ');
    rows.push(['  labcast / that, per round', `${(median(measured.hugeRatios) * 100).toFixed(0)} % (${each})`]);
  }
  for (const [name, runs] of Object.entries(measured.labcastWithout)) {
    const mbps = medianOf(runs, (r) => r.mbps);
    rows.push([`  labcast ${name} (${SPEED_UPS[name]}=0)`, `${mbps.toFixed(0)} MB/s, saver CPU ${saverCpuPerGB(runs)}`]);
  }
  return rows;
}

/** Rows for the megapixel work written to memory (tmpfs), when the machine has one. */
function memoryRows(measured: Measured | null): [string, string][] {
  if (measured === null) {
    return [[`  in memory (${MEMORY_FS})`, QUICK ? 'not measured (LABCAST_BENCH_QUICK=1)' : 'not measured: no such file system']];
  }
  const labcast = medianOf(measured.labcast, (r) => r.mbps);
  const python = median(measured.python.map((p) => p.mbps));
  return [
    [`  same, written to ${MEMORY_FS} (no disk): labcast`, `${labcast.toFixed(0)} MB/s, saver CPU ${saverCpuPerGB(measured.labcast)}`],
    [`  same, written to ${MEMORY_FS}: python recipe`, `${python.toFixed(0)} MB/s`],
    ['  labcast / python without the disk', `${(labcast / python).toFixed(2)}x`],
  ];
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(process.cwd(), '.bench-'));
  try {
    const startup = measureStartup(dir);
    const mega = measure(dir, MEGAPIXEL, { raw: true, pythonFrames: MEGAPIXEL.frames, without: !QUICK });
    const small = measure(dir, SMALL, { raw: false, pythonFrames: PYTHON_SMALL_FRAMES });
    const large = measure(dir, LARGE, { raw: true, pythonFrames: null });
    const whole = measure(dir, WHOLE_COMMAND, { raw: false, pythonFrames: WHOLE_COMMAND.frames });
    const wholeLabcastS = medianOf(whole.labcast, (r) => bytesOf(WHOLE_COMMAND) / 1e6 / r.wallMBps);
    const wholePythonS = median(whole.python.map((p) => p.wallS));
    process.stderr.write(`ctl snap: ${SNAP_BENCH.snaps} snaps of ${SNAP_BENCH.width}x${SNAP_BENCH.height} from labcast serve...\n`);
    const snap = await measureCtlSnap();
    // The same megapixel work with the disk taken out: what each pipeline can carry.
    const memoryDir = !QUICK && existsSync(MEMORY_FS) ? mkdtempSync(join(MEMORY_FS, 'labcast-bench-')) : null;
    let inMemory: Measured | null = null;
    try {
      if (memoryDir !== null)
        inMemory = measure(
          memoryDir,
          { ...MEGAPIXEL, name: `${MEGAPIXEL.name} in ${MEMORY_FS}` },
          { raw: false, pythonFrames: MEGAPIXEL.frames },
        );
    } finally {
      if (memoryDir !== null) rmSync(memoryDir, { recursive: true, force: true });
    }
    const megaMBps = medianOf(mega.labcast, (r) => r.mbps);
    const megaRaw = median(mega.raw);
    const megaPython = median(mega.python.map((p) => p.mbps));
    const smallFps = medianOf(small.labcast, (r) => r.fps);
    const smallPython = median(small.python.map((p) => p.fps));
    const largeMBps = medianOf(large.labcast, (r) => r.mbps);
    const largeRaw = median(large.raw);
    const rows: [string, string][] = [
      ['HDF5 writer', mega.labcast[0]?.summary.writer ?? 'not reported'],
      [`${MEGAPIXEL.name} uint16, ${MEGAPIXEL.frames} frames (${(bytesOf(MEGAPIXEL) / 1e6).toFixed(0)} MB)`, 'sim camera fps 0, gradient'],
      ['  raw disk (2 MiB writes + fsync)', `${megaRaw.toFixed(0)} MB/s`],
      ['  labcast camera -> ZMQ -> HDF5 (closed, fsync)', `${megaMBps.toFixed(0)} MB/s`],
      ['  ratio to raw disk (goal >= 80 %)', `${((megaMBps / megaRaw) * 100).toFixed(0)} %`],
      ['  incl. process start-up (whole command)', `${medianOf(mega.labcast, (r) => r.wallMBps).toFixed(0)} MB/s`],
      [
        '  python pyzmq PUB/SUB + h5py (closed, fsync)',
        `${megaPython.toFixed(0)} MB/s, ${mega.python.reduce((n, p) => n + p.lost, 0)} frames lost`,
      ],
      ['  labcast / python (goal >= 2x)', `${(megaMBps / megaPython).toFixed(2)}x`],
      ['  saver CPU per GB written', saverCpuPerGB(mega.labcast)],
      ['  saver copies of a frame (into huge pages before the write)', saverCopies(mega.labcast.map((r) => r.summary))],
      ...directRows(mega, megaMBps),
      ...memoryRows(inMemory),
      [`${SMALL.name} uint16, ${SMALL.frames} frames`, ''],
      [
        '  labcast end to end (goal >= 100000)',
        `${smallFps.toFixed(0)} frames/s (${medianOf(small.labcast, (r) => r.mbps).toFixed(0)} MB/s)`,
      ],
      [
        `  python recipe (${PYTHON_SMALL_FRAMES} frames)`,
        `${smallPython.toFixed(0)} frames/s, ${small.python.reduce((n, p) => n + p.lost, 0)} frames lost`,
      ],
      ['  labcast / python', `${(smallFps / smallPython).toFixed(2)}x`],
      ['  saver CPU per GB written', saverCpuPerGB(small.labcast)],
      [`${LARGE.name} uint16, ${LARGE.frames} frames (${(bytesOf(LARGE) / 1e6).toFixed(0)} MB)`, ''],
      ['  raw disk (2 MiB writes + fsync)', `${largeRaw.toFixed(0)} MB/s`],
      ['  labcast end to end', `${largeMBps.toFixed(0)} MB/s`],
      ['  ratio to raw disk (goal >= 80 %)', `${((largeMBps / largeRaw) * 100).toFixed(0)} %`],
      ['  saver CPU per GB written', saverCpuPerGB(large.labcast)],
      ['  saver copies of a frame (into huge pages before the write)', saverCopies(large.labcast.map((r) => r.summary))],
      ...directRows(large, largeMBps),
      [`${WHOLE_COMMAND.name}: labcast record, ${WHOLE_COMMAND.frames} frames, process start to exit`, `${wholeLabcastS.toFixed(2)} s`],
      ['  python recipe command, process start to exit', `${wholePythonS.toFixed(2)} s`],
      ['  python / labcast (goal >= 2x)', `${(wholePythonS / wholeLabcastS).toFixed(2)}x`],
      [
        `ctl snap against a running serve, ${SNAP_BENCH.width}x${SNAP_BENCH.height} ${SNAP_BENCH.dtype}: request -> file closed -> reply (goal < 50)`,
        `${snap.medianMs.toFixed(0)} ms median of ${snap.snaps} (${snap.minMs.toFixed(0)}-${snap.maxMs.toFixed(0)})`,
      ],
      [
        'frames lost (all labcast runs)',
        String(
          lostIn(mega.labcast) +
            Object.values(mega.labcastWithout).reduce((n, runs) => n + lostIn(runs), 0) +
            lostIn(small.labcast) +
            lostIn(large.labcast) +
            lostIn(whole.labcast) +
            lostIn(inMemory?.labcast ?? []),
        ),
      ],
      ['runs (median of)', String(RUNS)],
      [`start-up, whole command (median of ${STARTUP_RUNS})`, ''],
      ['  node -e 0 (any Node process, this minute, this environment)', `${(startup.bareNodeS * 1000).toFixed(0)} ms`],
      ...(startup.bareNodeWithoutCertsS === null
        ? []
        : [
            [
              '  node -e 0 without NODE_EXTRA_CA_CERTS (what labcast processes pay)',
              `${(startup.bareNodeWithoutCertsS * 1000).toFixed(0)} ms`,
            ] as [string, string],
          ]),
      ['  labcast version', `${(startup.versionS * 1000).toFixed(0)} ms`],
      [
        '  labcast record --frames 1, 64x48 (goal < 300)',
        `${(startup.recordOneFrameS * 1000).toFixed(0)} ms = ${(startup.recordOneFrameS / startup.bareNodeS).toFixed(1)} node -e 0`,
      ],
      [
        "  the same, node dist/src/cli/main.js (the CLI parses this environment's certificates)",
        `${(startup.recordOneFrameDirectS * 1000).toFixed(0)} ms`,
      ],
    ];
    if (!QUICK) rows.push(...(await otherRows(dir)));
    const width = Math.max(...rows.map(([k]) => k.length));
    process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`.trimEnd()).join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Analysis throughput, the saver beside analyses, the web live view and recording viewer, GenICam, compression: the figures beside recording. */
async function otherRows(dir: string): Promise<[string, string][]> {
  const analysis = benchAnalysis();
  process.stderr.write(`saver with stats and localize running: ${SAVER_ANALYSIS_BENCH.frames} frames through labcast serve...\n`);
  const withAnalysis = await measureSaverWithAnalysis();
  process.stderr.write(`web live view: ${WEB_BENCH.durationS} s in headless Chromium...\n`);
  const web = await measureWebLatency();
  process.stderr.write(`recording viewer: ${VIEWER_BENCH.steps} steps through a ${VIEWER_BENCH.size}² recording in headless Chromium...\n`);
  const viewer = await measureViewerSteps();
  process.stderr.write('GenICam: the fake GigE camera in a network namespace, arv-camera-test beside labcast...\n');
  const genicam = await measureGenicam();
  process.stderr.write('compression: ratios, codec throughput, raw against each codec, a throttled disk...\n');
  const compression = await measureCompression(dir);
  return [
    [
      'analysis, 1024x1024 uint16, 50 particles, one core',
      `localisation ${analysis.localizeFps.toFixed(0)} frames/s (goal >= 100), statistics ${analysis.statsFps.toFixed(0)} frames/s`,
    ],
    [
      `saver while analyses run (serve, ${SAVER_ANALYSIS_BENCH.width}x${SAVER_ANALYSIS_BENCH.height} at ${SAVER_ANALYSIS_BENCH.fps} ` +
        `fps, ${SAVER_ANALYSIS_BENCH.particle_count} particles)`,
      `${withAnalysis.framesWritten} of ${SAVER_ANALYSIS_BENCH.frames} frames saved, ${withAnalysis.framesLost} lost (goal 0)`,
    ],
    ...withAnalysis.analyses.map((a): [string, string] => [
      `  ${a.name}`,
      `${a.analysed} frames analysed, ${a.skipped} skipped (lossy by design: analysis never holds up the camera or the saver)`,
    ]),
    [
      'web live view',
      `sim ${WEB_BENCH.width}x${WEB_BENCH.height} uint16 at ${WEB_BENCH.fps} fps, gradient, ` +
        `headless Chromium, drawn at ${web.displaySize}` +
        (WEB_BENCH.tools ? ', inspection tools in use (line profile, rectangle statistics, pixel readout)' : ''),
    ],
    ['  latency camera -> painted, p50', `${web.p50Ms.toFixed(1)} ms`],
    ['  latency camera -> painted, p95 (goal < 50)', `${web.p95Ms.toFixed(1)} ms`],
    ['  latency max', `${web.maxMs.toFixed(1)} ms`],
    ['  p50 / p95: at the web server', fmtPair(web.stages.serverReceived)],
    ['  p50 / p95: converted and sent', fmtPair(web.stages.serverSent)],
    ['  p50 / p95: in the browser', fmtPair(web.stages.browserReceived)],
    ['  frames shown / published', `${web.shown} / ${web.published} in ${web.seconds.toFixed(1)} s`],
    [
      'recording viewer',
      `${VIEWER_BENCH.size}x${VIEWER_BENCH.size} uint16 recording, ${viewer.steps} steps (→), headless Chromium, drawn at ${viewer.displaySize}`,
    ],
    ['  step -> painted, p50', `${viewer.p50Ms.toFixed(1)} ms`],
    ['  step -> painted, p95 (goal < 100)', `${viewer.p95Ms.toFixed(1)} ms`],
    ['  step -> painted, max', `${viewer.maxMs.toFixed(1)} ms`],
    [`  jump on the slider -> painted, p50 / p95 (${VIEWER_BENCH.jumps} jumps)`, fmtPair([viewer.jumpP50Ms, viewer.jumpP95Ms])],
    ...genicamRows(genicam),
    ...compressionRows(compression),
  ];
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
