/**
 * The saver while analyses run, as the analysis issue asks `npm run bench` to
 * show: labcast serve with a simulated 1024×1024 uint16 camera at 30 fps, 50
 * particles, the stats and localize analyses started, a recording of 300
 * frames. Reports frames dropped (goal 0) and what each analysis kept up with.
 */
import type { ExperimentStatus } from '../src/protocol/control.js';
import { scratchDir } from '../test/helpers/processes.js';
import { startServe } from '../test/helpers/serve.js';

export const SAVER_ANALYSIS_BENCH = { width: 1024, height: 1024, fps: 30, particle_count: 50, frames: 300 } as const;
const ANALYSES = ['stats', 'localize'] as const;

export interface SaverWithAnalysisResult {
  readonly framesWritten: number;
  readonly framesLost: number;
  /** Per analysis: frames analysed and skipped of the recording's frames. */
  readonly analyses: readonly { readonly name: string; readonly analysed: number; readonly skipped: number }[];
}

export async function measureSaverWithAnalysis(): Promise<SaverWithAnalysisResult> {
  const scratch = scratchDir();
  const { frames, ...camera } = SAVER_ANALYSIS_BENCH;
  const serve = await startServe(scratch.dir, camera);
  try {
    for (const name of ANALYSES) {
      const started = await serve.ctl(['analysis', 'start', name]);
      if (started.code !== 0) throw new Error(`analysis start ${name}: ${started.stderr}`);
    }
    const recording = await serve.ctl(['record', '--frames', String(frames)]);
    if (recording.code !== 0) throw new Error(`record: ${recording.stderr}`);
    const done = await serve.waitFor((s) => s.state === 'idle' && s.last_recording !== null, 120_000);
    // Analysis counters arrive a few times a second: wait for the account of the whole run.
    const accounted = (s: ExperimentStatus): boolean =>
      ANALYSES.every((name) => {
        const a = s.analyses?.find((candidate) => candidate.name === name);
        return a !== undefined && a.frames_analysed + a.frames_skipped >= frames;
      });
    const final = await serve.waitFor(accounted, 10_000).catch(() => serve.statusNow());
    const last = done.last_recording!;
    return {
      framesWritten: last.frames_written,
      framesLost: last.frames_lost,
      analyses: ANALYSES.map((name) => {
        const a = final.analyses?.find((candidate) => candidate.name === name);
        return { name, analysed: a?.frames_analysed ?? 0, skipped: a?.frames_skipped ?? 0 };
      }),
    };
  } finally {
    await serve.stop();
    scratch.cleanup();
  }
}
