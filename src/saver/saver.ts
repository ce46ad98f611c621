import { setTimeout as delay } from 'node:timers/promises';
import { TOPICS } from '../protocol/messages.js';
import { compressionSummary, type CompressionSpec } from '../protocol/compression.js';
import type { RunEnd, RunStart } from '../protocol/messages.js';
import { ringWritesSince, ringWritesSoFar } from '../storage/ring-writes.js';
import type { RingWrites, SavedFileSummary, SaverEvent } from '../protocol/process-messages.js';
import type { DataMessage } from '../protocol/codec.js';
import type { DataReceiver } from '../transport/data-receiver.js';
import type { FrameSink, OpenFrameSink } from '../storage/frame-writer.js';
import { describeHdf5Error } from '../hdf5/h5wasm-runtime.js';
import { LabcastError } from '../protocol/errors.js';
import type { AnalysisResult } from '../protocol/analysis.js';
import type { ResultsAccount, ResultsReceipt } from '../storage/analysis-results.js';
import type { ResultsSubscription } from './results-subscription.js';

export interface SaverOptions {
  readonly receiver: DataReceiver;
  readonly outPath: string;
  readonly overwrite: boolean;
  /** Lossless compression of the frames; absent: none. */
  readonly compression?: CompressionSpec;
  /** Frames are flushed at least this often, bounding what a hard kill can lose. */
  readonly flushIntervalMs: number;
  readonly openWriter: OpenFrameSink;
  readonly onEvent: (event: SaverEvent) => void;
  readonly progressIntervalMs?: number;
  /** Analysis results to store with the frames (serve's results endpoint); absent: none. */
  readonly results?: ResultsSubscription | null;
  /** How long after the run end results are still taken (default RESULTS_GRACE_MS). */
  readonly resultsGraceMs?: number;
  /**
   * A run-start already received that begins this run: the `nextRunStart` of
   * the previous call, when a new run began before the old one's end arrived.
   */
  readonly pendingRunStart?: RunStart | null;
  /**
   * The run to save: a run-start of any other run is passed over (a resident
   * saver is handed its runs one by one). Absent: the first run that starts.
   */
  readonly runId?: string;
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
  /** Wall time from the first frame's arrival until the file was closed (the drain and the last flush included), s; null without frames. */
  readonly firstFrameToClosedS: number | null;
  /** The HDF5 writer and library that wrote the file. */
  readonly writer: string;
  /** How the frames that came through the shared-memory ring were written; null when none did (or not by the native writer). */
  readonly ringWrites: RingWrites | null;
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
export function saveOneRun(options: SaverOptions): Promise<SavedRun | null> {
  return new RunSaver(options).save();
}

/**
 * Where one run's save is: waiting for its run-start (no file yet), writing
 * frames, draining the analysis results that come after the run end, closed.
 */
type RunSaverState =
  | { readonly kind: 'waiting-for-start' }
  | { readonly kind: 'writing'; readonly writer: FrameSink; readonly runId: string }
  | { readonly kind: 'draining-results'; readonly writer: FrameSink; readonly runId: string }
  | { readonly kind: 'closed' };

/** The run being saved, through its states (RunSaverState); one instance per run. */
class RunSaver {
  private state: RunSaverState = { kind: 'waiting-for-start' };
  private end: RunEnd | null = null;
  /** The run-start of the next run, when it came before this run's end (that end was lost). */
  private nextRunStart: RunStart | null = null;
  private strayFrames = 0;
  private bytesWritten = 0;
  /** Frames appended since the last flush. */
  private unflushed = 0;
  /**
   * A flush of the timer that failed (a full disk found by the chunks a
   * flush writes, e.g. compressed ones): the run then fails at the next
   * message as for a failed append, keeping the file as of its last flush.
   */
  private flushFailure: Error | null = null;
  private cpuAtStart: NodeJS.CpuUsage = process.cpuUsage();
  private readonly ringWritesAtStart = ringWritesSoFar();
  /** performance.now() at the run's first frame; null until it came. */
  private firstFrameAt: number | null = null;
  private readonly results: RunResults | null;

  constructor(private readonly options: SaverOptions) {
    this.results = options.results ? new RunResults(options.results) : null;
  }

  async save(): Promise<SavedRun | null> {
    const { receiver } = this.options;
    const stopTimers = this.startTimers();
    try {
      if (this.options.pendingRunStart && this.isMine(this.options.pendingRunStart)) await this.begin(this.options.pendingRunStart);
      // A batch's frames are taken in one go: no turn of the event loop per frame.
      received: for await (const messages of receiver.received()) {
        for (const message of messages) {
          // Synchronous for a frame to a synchronous writer: no extra turn per frame.
          const more = this.take(message);
          if (!(typeof more === 'boolean' ? more : await more)) break received;
        }
      }
    } catch (error) {
      if (this.state.kind !== 'writing') throw error;
      return this.closeAfterFailure(this.state.writer, error);
    } finally {
      stopTimers();
    }
    if (this.state.kind !== 'writing') return null;
    if (this.flushFailure !== null) return this.closeAfterFailure(this.state.writer, this.flushFailure);
    const { writer, runId } = this.state;
    if (this.results !== null && this.end !== null) {
      this.state = { kind: 'draining-results', writer, runId };
      await this.results.drain(this.end, this.options.resultsGraceMs ?? RESULTS_GRACE_MS, () => receiver.closed);
    }
    return this.close(writer);
  }

  /** One message of the stream; false once the run is over (its end, or the next run's start). */
  private take(message: DataMessage): boolean | Promise<boolean> {
    if (this.flushFailure !== null) throw this.flushFailure;
    const state = this.state;
    if (message.topic === TOPICS.runStart) {
      if (state.kind === 'writing') {
        // A new run before this one ended: the old run's end was lost; close it
        // as it is, and hand the new run's start to the next call.
        this.nextRunStart = message.header;
        return false;
      }
      // Not the run this saver was handed: passed over, as are its frames (strays).
      if (!this.isMine(message.header)) return true;
      return this.begin(message.header).then(() => true);
    }
    if (message.topic === TOPICS.frame) {
      if (state.kind !== 'writing' || message.header.run_id !== state.runId) {
        this.strayFrames += 1;
        return true;
      }
      this.firstFrameAt ??= performance.now();
      const appending = state.writer.append(message.header, message.pixels);
      this.bytesWritten += message.pixels.byteLength;
      this.unflushed += 1;
      return appending === undefined ? true : appending.then(() => true);
    }
    if (state.kind === 'writing' && message.header.run_id === state.runId) {
      this.end = message.header;
      return false;
    }
    return true;
  }

  /** Whether `start` begins a run this saver is to save. */
  private isMine(start: RunStart): boolean {
    return this.options.runId === undefined || start.run_id === this.options.runId;
  }

  private async begin(start: RunStart): Promise<void> {
    const { options } = this;
    const writer = await options.openWriter(options.outPath, start, {
      overwrite: options.overwrite,
      ...(options.compression === undefined ? {} : { compression: options.compression }),
    });
    this.state = { kind: 'writing', writer, runId: start.run_id };
    this.cpuAtStart = process.cpuUsage();
    options.onEvent({ type: 'file-opened', path: writer.path, runId: start.run_id });
    this.results?.attach(writer, start.run_id);
  }

  /** The flush and progress timers; returns what stops them. */
  private startTimers(): () => void {
    const { options } = this;
    const writerNow = (): FrameSink | null => (this.state.kind === 'writing' ? this.state.writer : null);
    const flushTimer = setInterval(() => {
      const writer = writerNow();
      if (writer !== null && this.unflushed > 0 && this.flushFailure === null) {
        try {
          writer.flush();
          this.unflushed = 0;
        } catch (error) {
          this.flushFailure = error instanceof Error ? error : new Error(describeHdf5Error(error));
        }
      }
    }, options.flushIntervalMs);
    const progressTimer = setInterval(() => {
      const writer = writerNow();
      if (writer !== null) options.onEvent({ type: 'progress', framesWritten: writer.framesWritten, bytesWritten: this.bytesWritten });
    }, options.progressIntervalMs ?? 100);
    return () => {
      clearInterval(flushTimer);
      clearInterval(progressTimer);
    };
  }

  private close(writer: FrameSink): SavedRun {
    const finished = writer.finish(this.end, this.results?.receipt() ?? null);
    this.state = { kind: 'closed' };
    const summary: SavedFileSummary = {
      path: finished.path,
      framesWritten: finished.framesWritten,
      gaps: finished.gaps.map(([first, count]) => [first, count] as const),
      bytesWritten: finished.bytesWritten,
      durationS: finished.timing.durationS,
      fps: finished.timing.fps,
      ...(finished.compression === undefined
        ? {}
        : {
            compression: compressionSummary(
              finished.compression.codec,
              finished.compression.level,
              finished.compression.bytesIn,
              finished.compression.bytesOut,
            ),
          }),
    };
    this.options.onEvent({ type: 'progress', framesWritten: summary.framesWritten, bytesWritten: summary.bytesWritten });
    return this.saved(writer, summary, null, finished.results ?? null);
  }

  /** Keeps what was recorded: closes the file as it stands, then reports what it holds. */
  private closeAfterFailure(writer: FrameSink, error: unknown): SavedRun {
    try {
      writer.finish(this.end);
    } catch {
      // The original error says more than a failure to close after it.
    }
    this.state = { kind: 'closed' };
    // Read after the attempt to finish, which may still have committed more.
    const kept = writer.framesFlushed;
    const bytesPerFrame = this.bytesWritten / Math.max(1, writer.framesWritten);
    this.options.onEvent({ type: 'progress', framesWritten: kept, bytesWritten: kept * bytesPerFrame });
    const summary: SavedFileSummary = { path: writer.path, framesWritten: kept, gaps: [], bytesWritten: Math.round(kept * bytesPerFrame) };
    const failure = new LabcastError(
      'WRITE_FAILED',
      `writing ${writer.path} failed: ${describeHdf5Error(error)}; the file keeps the ${kept} frames of its last flush`,
    );
    return this.saved(writer, summary, failure, null);
  }

  private saved(writer: FrameSink, summary: SavedFileSummary, error: LabcastError | null, account: ResultsAccount | null): SavedRun {
    // The subscription outlives the run in a resident saver: later results are not this file's.
    this.results?.detach();
    const used = process.cpuUsage(this.cpuAtStart);
    return {
      summary,
      end: this.end,
      malformedMessages: this.options.receiver.malformed.count,
      strayFrames: this.strayFrames,
      error,
      cpuS: Math.round((used.user + used.system) / 1e3) / 1e3,
      firstFrameToClosedS: this.firstFrameAt === null ? null : (performance.now() - this.firstFrameAt) / 1e3,
      writer: writer.hdf5Writer,
      ringWrites: ringWritesSince(this.ringWritesAtStart),
      results: this.results === null ? null : { receipt: this.results.receipt(), account },
      nextRunStart: this.nextRunStart,
    };
  }
}

/**
 * Analysis results for the run being saved: those that arrive before its
 * file is open are held (EarlyResults), then handed to the file if they are
 * of its run; after the run end, the last ones are waited for (drain).
 */
class RunResults {
  private readonly early = new EarlyResults(EARLY_RESULTS);
  private target: { writer: FrameSink; runId: string } | null = null;
  private otherRun = 0;
  /** The highest frame seq each analysis has sent a result of. */
  private readonly lastSeq = new Map<string, number>();
  private lastResultAt = 0;
  private graceMs = 0;
  /** The subscription's counts when this run began: it may have served runs before (a resident saver). */
  private readonly before: { received: number; malformed: number };

  constructor(private readonly subscription: ResultsSubscription) {
    this.before = { received: subscription.received, malformed: subscription.malformed };
    subscription.onResult((result) => this.take(result));
  }

  /** The run's file is closed: results that come now are no longer taken for it. */
  detach(): void {
    this.subscription.onResult(() => undefined);
  }

  /** The file is open: results of its run go to it from now on, the held ones first. */
  attach(writer: FrameSink, runId: string): void {
    this.target = { writer, runId };
    for (const result of this.early.takeAll()) this.take(result);
  }

  /** Waits for the results of the run's last frames (see RESULTS_GRACE_MS); not at all if none of the run came. */
  async drain(end: RunEnd, graceMs: number, stopped: () => boolean): Promise<void> {
    if (this.lastSeq.size === 0) return;
    const graceStart = performance.now();
    await awaitLastResults({
      lastSeq: end.frames_acquired - 1,
      seen: this.lastSeq,
      lastResultAt: () => this.lastResultAt,
      graceMs,
      stopped,
    });
    this.graceMs = Math.round(performance.now() - graceStart);
  }

  receipt(): ResultsReceipt {
    const subscription = this.subscription;
    return {
      received: subscription.received - this.before.received,
      otherRun: this.otherRun + this.early.held + this.early.evicted,
      malformed: subscription.malformed - this.before.malformed,
      lastMalformed: subscription.lastMalformed,
      graceMs: this.graceMs,
    };
  }

  private take(result: AnalysisResult): void {
    const target = this.target;
    if (target === null) {
      this.early.hold(result);
      return;
    }
    if (result.header.run_id !== target.runId) {
      this.otherRun += 1;
      return;
    }
    target.writer.addResult(result);
    this.lastSeq.set(result.header.name, Math.max(this.lastSeq.get(result.header.name) ?? -1, result.header.seq));
    this.lastResultAt = performance.now();
  }
}

/** Results held until their file opens, at most `limit`: the oldest make way (and are counted). */
class EarlyResults {
  private results: AnalysisResult[] = [];
  /** Results that made way for newer ones. */
  evicted = 0;

  constructor(private readonly limit: number) {}

  get held(): number {
    return this.results.length;
  }

  hold(result: AnalysisResult): void {
    if (this.results.length >= this.limit) {
      this.results.shift();
      this.evicted += 1;
    }
    this.results.push(result);
  }

  takeAll(): AnalysisResult[] {
    const taken = this.results;
    this.results = [];
    return taken;
  }
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

/** The saver's report of a saved run to its supervisor. */
export function fileClosedEvent(saved: SavedRun): Extract<SaverEvent, { type: 'file-closed' }> {
  return {
    type: 'file-closed',
    summary: saved.summary,
    end: saved.end,
    malformedMessages: saved.malformedMessages,
    error: saved.error === null ? null : saved.error.toJSON(),
    saverCpuS: saved.cpuS,
    ...(saved.firstFrameToClosedS === null ? {} : { firstFrameToClosedS: saved.firstFrameToClosedS }),
    writer: saved.writer,
    ...(saved.ringWrites === null ? {} : { ringWrites: saved.ringWrites }),
    ...(saved.results === null
      ? {}
      : {
          results: {
            received: saved.results.receipt.received,
            stored: saved.results.account?.stored ?? {},
            otherRun: saved.results.receipt.otherRun,
            malformed: saved.results.receipt.malformed,
            writeErrors: saved.results.account?.writeErrors ?? 0,
            lastError: saved.results.account?.lastError ?? null,
            graceMs: saved.results.receipt.graceMs,
          },
        }),
  };
}
