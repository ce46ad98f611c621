import { setTimeout as delay } from 'node:timers/promises';
import { TOPICS } from '../protocol/messages.js';
import type { RunEnd, RunStart } from '../protocol/messages.js';
import type { SavedFileSummary, SaverEvent } from '../protocol/process-messages.js';
import type { DataReceiver } from '../transport/data-receiver.js';
import type { FrameWriter, OpenFrameWriter } from './frame-writer.js';
import { describeHdf5Error } from './h5wasm-runtime.js';
import { LabcastError } from '../protocol/errors.js';
import type { AnalysisResult } from '../protocol/analysis.js';
import type { ResultsAccount, ResultsReceipt } from './analysis-results.js';
import type { ResultsSubscription } from './results-subscription.js';

export interface SaverOptions {
  readonly receiver: DataReceiver;
  readonly outPath: string;
  readonly overwrite: boolean;
  /** Frames are flushed at least this often, bounding what a hard kill can lose. */
  readonly flushIntervalMs: number;
  readonly openWriter: OpenFrameWriter;
  readonly onEvent: (event: SaverEvent) => void;
  readonly progressIntervalMs?: number;
  /** Test hook: a saver this much slower per frame, to prove that overload is accounted for. */
  readonly delayPerFrameMs?: number;
  /** Analysis results to store with the frames (serve's results endpoint); absent: none. */
  readonly results?: ResultsSubscription | null;
  /** How long after the run end results are still taken (default RESULTS_GRACE_MS). */
  readonly resultsGraceMs?: number;
  /**
   * A run-start already received that begins this run: the `nextRunStart` of
   * the previous call, when a new run began before the old one's end arrived.
   */
  readonly pendingRunStart?: RunStart | null;
}

/**
 * Analysis is slower than saving: results of the last frames arrive after the
 * run end. They are waited for at most this long after it, less when every
 * analysis has sent its result of the last frame, or none has sent anything
 * for RESULTS_QUIET_MS (an analysis busy on a frame publishes within tens of
 * ms), and not at all when no result of the run arrived.
 */
export const RESULTS_GRACE_MS = 2000;
export const RESULTS_QUIET_MS = 300;
/** Results that arrive before their run's file is open (run-start still on its way) are held, up to this many. */
const EARLY_RESULTS = 1000;

/** What the results subscription gave the file. */
export interface SavedResults {
  readonly receipt: ResultsReceipt;
  readonly account: ResultsAccount | null;
}

export interface SavedRun {
  readonly summary: SavedFileSummary;
  readonly end: RunEnd | null;
  readonly malformedMessages: number;
  /** Frames that arrived outside the run being saved (before its start, or another run id). */
  readonly strayFrames: number;
  /** Why the file could not be written to the end (disk full...); it keeps the frames of its last flush. */
  readonly error: LabcastError | null;
  /** CPU time (user + system) of this process from the run start until the file was closed, s. */
  readonly cpuS: number;
  /** The HDF5 writer and library that wrote the file. */
  readonly writer: string;
  /** Null when the saver had no results subscription. */
  readonly results: SavedResults | null;
  /**
   * The run-start of a run that began before this one's end arrived (the end
   * was lost): pass it as `pendingRunStart` to the next call, or that run's
   * frames would all be taken for strays.
   */
  readonly nextRunStart: RunStart | null;
}

/**
 * Saves one run from the lossless stream into one file: opens it at
 * run-start, appends frames in order, finishes at run-end. If the stream is
 * closed before run-end (the supervisor gave up on the acquisition), the file
 * is still finished and valid, holding the frames received.
 */
export async function saveOneRun(options: SaverOptions): Promise<SavedRun | null> {
  const { receiver, onEvent } = options;
  let writer: FrameWriter | null = null;
  let runId: string | null = null;
  let end: RunEnd | null = null;
  let strayFrames = 0;
  let bytesWritten = 0;
  let unflushed = 0;
  let nextRunStart: RunStart | null = null;
  let cpuAtStart: NodeJS.CpuUsage = process.cpuUsage();
  const cpuS = (): number => {
    const used = process.cpuUsage(cpuAtStart);
    return Math.round((used.user + used.system) / 1e3) / 1e3;
  };

  // Results: held until the file opens, then handed to it if they are of its run.
  const results = options.results ?? null;
  const early: AnalysisResult[] = [];
  let otherRun = 0;
  const lastSeq = new Map<string, number>();
  let lastResultAt = 0;
  const takeResult = (result: AnalysisResult): void => {
    if (writer === null) {
      if (early.length >= EARLY_RESULTS) {
        early.shift();
        otherRun += 1;
      }
      early.push(result);
      return;
    }
    if (result.header.run_id !== runId) {
      otherRun += 1;
      return;
    }
    writer.addResult(result);
    lastSeq.set(result.header.name, Math.max(lastSeq.get(result.header.name) ?? -1, result.header.seq));
    lastResultAt = performance.now();
  };
  results?.onResult(takeResult);
  let graceMs = 0;
  const receipt = (): ResultsReceipt | null =>
    results === null
      ? null
      : {
          received: results.received,
          otherRun: otherRun + early.length,
          malformed: results.malformed,
          lastMalformed: results.lastMalformed,
          graceMs,
        };

  const flushTimer = setInterval(() => {
    if (writer !== null && unflushed > 0) {
      writer.flush();
      unflushed = 0;
    }
  }, options.flushIntervalMs);
  const progressTimer = setInterval(() => {
    if (writer !== null) onEvent({ type: 'progress', framesWritten: writer.framesWritten, bytesWritten });
  }, options.progressIntervalMs ?? 100);

  const begin = async (start: RunStart): Promise<FrameWriter> => {
    const opened = await options.openWriter(options.outPath, start, { overwrite: options.overwrite });
    runId = start.run_id;
    cpuAtStart = process.cpuUsage();
    onEvent({ type: 'file-opened', path: opened.path, runId });
    return opened;
  };

  try {
    if (options.pendingRunStart) {
      writer = await begin(options.pendingRunStart);
      for (const result of early.splice(0)) takeResult(result);
    }
    for await (const message of receiver.messages()) {
      if (message.topic === TOPICS.runStart) {
        if (writer !== null) {
          // A new run before this one ended: the old run's end was lost; close it
          // as it is, and hand the new run's start to the next call.
          nextRunStart = message.header;
          break;
        }
        writer = await begin(message.header);
        for (const result of early.splice(0)) takeResult(result);
      } else if (message.topic === TOPICS.frame) {
        if (writer === null || message.header.run_id !== runId) {
          strayFrames += 1;
          continue;
        }
        writer.append(message.header, message.pixels);
        bytesWritten += message.pixels.byteLength;
        unflushed += 1;
        if (options.delayPerFrameMs) await delay(options.delayPerFrameMs);
      } else if (message.header.run_id === runId) {
        end = message.header;
        break;
      }
    }
  } catch (error) {
    if (writer === null) throw error;
    // Keep what was recorded: close the file as it stands, then report what it holds.
    try {
      writer.finish(end);
    } catch {
      // The original error says more than a failure to close after it.
    }
    // Read after the attempt to finish, which may still have committed more.
    const kept = writer.framesFlushed;
    onEvent({ type: 'progress', framesWritten: kept, bytesWritten: kept * (bytesWritten / Math.max(1, writer.framesWritten)) });
    return {
      summary: { path: writer.path, framesWritten: kept, gaps: [], bytesWritten: Math.round(kept * (bytesWritten / Math.max(1, writer.framesWritten))) },
      end,
      malformedMessages: receiver.malformed.count,
      strayFrames,
      cpuS: cpuS(),
      writer: writer.hdf5Writer,
      results: results === null ? null : { receipt: receipt()!, account: null },
      nextRunStart,
      error: new LabcastError(
        'WRITE_FAILED',
        `writing ${writer.path} failed: ${describeHdf5Error(error)}; the file keeps the ${kept} frames of its last flush`,
      ),
    };
  } finally {
    clearInterval(flushTimer);
    clearInterval(progressTimer);
  }

  if (writer === null) return null;
  if (results !== null && end !== null && lastSeq.size > 0) {
    const graceStart = performance.now();
    await awaitLastResults({
      lastSeq: end.frames_acquired - 1,
      seen: lastSeq,
      lastResultAt: () => lastResultAt,
      graceMs: options.resultsGraceMs ?? RESULTS_GRACE_MS,
      stopped: () => receiver.closed,
    });
    graceMs = Math.round(performance.now() - graceStart);
  }
  const finished = writer.finish(end, receipt());
  const summary: SavedFileSummary = {
    path: finished.path,
    framesWritten: finished.framesWritten,
    gaps: finished.gaps.map(([first, count]) => [first, count] as const),
    bytesWritten: finished.bytesWritten,
    durationS: finished.timing.durationS,
    fps: finished.timing.fps,
  };
  onEvent({ type: 'progress', framesWritten: summary.framesWritten, bytesWritten: summary.bytesWritten });
  return {
    summary,
    end,
    malformedMessages: receiver.malformed.count,
    strayFrames,
    error: null,
    cpuS: cpuS(),
    writer: writer.hdf5Writer,
    results: results === null ? null : { receipt: receipt()!, account: finished.results ?? null },
    nextRunStart,
  };
}

/** Resolves once every analysis seen has sent its result of `lastSeq`, results went quiet, or the grace ran out. */
async function awaitLastResults(wait: {
  lastSeq: number;
  seen: ReadonlyMap<string, number>;
  lastResultAt: () => number;
  graceMs: number;
  stopped: () => boolean;
}): Promise<void> {
  const deadline = performance.now() + wait.graceMs;
  for (;;) {
    const now = performance.now();
    const allDone = [...wait.seen.values()].every((seq) => seq >= wait.lastSeq);
    if (allDone || now >= deadline || now - wait.lastResultAt() >= RESULTS_QUIET_MS || wait.stopped()) return;
    await delay(Math.min(20, deadline - now));
  }
}

