#!/usr/bin/env node
/**
 * An analysis process: subscribes to the data endpoint (lossy, latest frame),
 * analyses each frame it can keep up with, and publishes one result per
 * analysed frame on `analysis/NAME` to serve's results_in endpoint. It never
 * slows the camera or the saver: it is one more SUB on the data endpoint (which
 * drops for a slow subscriber), at most two frames wait while it is busy (older
 * ones are skipped, and counted), and it runs at a lower CPU priority.
 */
import { setPriority } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { log, startProcessLog } from '../log/logger.js';
import { analysisInitSchema, splitResultArrays, type AnalysisCommand, type AnalysisEvent } from '../protocol/analysis.js';
import type { DataMessage } from '../protocol/codec.js';
import { epochNowNs } from '../devices/clock.js';
import { PROTOCOL_VERSION, TOPICS, type FrameHeader, type RunEnd } from '../protocol/messages.js';
import { DataReceiver } from '../transport/data-receiver.js';
import { ParentChannel, readInitArgument } from '../transport/parent-channel.js';
import { ResultsPublisher } from '../transport/results-publisher.js';
import { createAnalyser, type Analyser } from './analysers.js';

/**
 * Frames that may wait for the analysis: enough to ride out a burst (a busy
 * machine delivers frames in clumps), few enough that results stay close to
 * the newest frame. Beyond it the oldest waiting frame is skipped.
 */
const MAX_WAITING_FRAMES = 2;
/** Run boundaries waiting too (many short runs, e.g. snaps, while the analysis is slow). */
const MAX_PENDING = 16;
/**
 * Niceness of an analysis process: when CPU time is short the camera, the
 * saver and serve come first, and the analysis skips frames instead.
 */
const ANALYSIS_NICENESS = 10;

type Pending =
  | { readonly kind: 'frame'; readonly header: FrameHeader; readonly pixels: Uint8Array }
  | { readonly kind: 'run-start'; readonly runId: string }
  | { readonly kind: 'run-end'; readonly end: RunEnd };

const channel = new ParentChannel<AnalysisCommand, AnalysisEvent>('analysis');

class AnalysisLoop {
  private readonly pending: Pending[] = [];
  private busy = false;
  private idle: Promise<void> = Promise.resolve();
  /** The run being watched and the next seq expected in it (frames before it were analysed or skipped). */
  private run: { id: string; next: number } | null = null;
  readonly counters = {
    received: 0,
    analysed: 0,
    skipped: 0,
    errors: 0,
    lastError: null as string | null,
    lastSeq: null as number | null,
    lastRunId: null as string | null,
  };
  private intervalMs = 0;
  private intervalFrames = 0;

  constructor(
    private readonly name: string,
    private readonly kind: string,
    private readonly analyse: Analyser,
    private readonly results: ResultsPublisher,
  ) {}

  /** Mean ms per frame since the last call. */
  takeMeanMs(): number {
    const mean = this.intervalFrames === 0 ? 0 : this.intervalMs / this.intervalFrames;
    this.intervalMs = 0;
    this.intervalFrames = 0;
    return mean;
  }

  offer(message: DataMessage): void {
    if (message.topic === TOPICS.frame) {
      this.counters.received += 1;
      this.pending.push({ kind: 'frame', header: message.header, pixels: message.pixels });
      // A frame skipped here shows as a gap in seq when the next one is analysed: counted then.
      if (this.pending.filter((item) => item.kind === 'frame').length > MAX_WAITING_FRAMES) {
        this.pending.splice(
          this.pending.findIndex((item) => item.kind === 'frame'),
          1,
        );
      }
    } else if (message.topic === TOPICS.runStart) {
      this.pending.push({ kind: 'run-start', runId: message.header.run_id });
    } else {
      this.pending.push({ kind: 'run-end', end: message.header });
    }
    if (this.pending.length > MAX_PENDING) {
      const oldestFrame = this.pending.findIndex((item) => item.kind === 'frame');
      this.pending.splice(oldestFrame === -1 ? 0 : oldestFrame, 1);
    }
    if (!this.busy) this.idle = this.pump();
  }

  /** Resolves when everything offered so far has been handled. */
  drained(): Promise<void> {
    return this.idle;
  }

  private async pump(): Promise<void> {
    this.busy = true;
    try {
      // Let the receive loop take what is already queued in the socket first, so the newest frame is analysed.
      await nextTurn();
      for (let item = this.pending.shift(); item !== undefined; item = this.pending.shift()) {
        if (item.kind === 'frame') {
          await this.analyseFrame(item.header, item.pixels);
          await nextTurn();
        } else if (item.kind === 'run-start') {
          this.run = { id: item.runId, next: 0 };
        } else if (this.run?.id === item.end.run_id) {
          this.counters.skipped += Math.max(0, item.end.frames_acquired - this.run.next);
          this.run = null;
          log().setRun(null);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async analyseFrame(header: FrameHeader, pixels: Uint8Array): Promise<void> {
    if (this.run?.id === header.run_id) {
      this.counters.skipped += Math.max(0, header.seq - this.run.next);
      this.run.next = header.seq + 1;
    } else {
      // Joined mid-run (or missed its run-start): earlier frames were never ours to analyse.
      this.run = { id: header.run_id, next: header.seq + 1 };
      log().setRun(header.run_id);
    }
    // A frame whose analysis throws counts as analysed (and as an error): it was not skipped.
    this.counters.analysed += 1;
    this.counters.lastSeq = header.seq;
    this.counters.lastRunId = header.run_id;
    const started = performance.now();
    let result: unknown;
    try {
      result = await this.analyse(header, pixels);
    } catch (error) {
      this.counters.errors += 1;
      this.counters.lastError = `frame ${header.seq}: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    const elapsed = performance.now() - started;
    this.intervalMs += elapsed;
    this.intervalFrames += 1;
    if (result === null || result === undefined) return;
    const { body, arrays } = splitResultArrays(result);
    try {
      this.results.publish(
        {
          protocol: PROTOCOL_VERSION,
          name: this.name,
          kind: this.kind,
          run_id: header.run_id,
          seq: header.seq,
          camera_ts_ns: header.camera_ts_ns,
          result_ts_ns: epochNowNs(),
          shape: header.shape,
          analysis_ms: Math.round(elapsed * 1000) / 1000,
        },
        body,
        arrays,
      );
    } catch (error) {
      // E.g. a user result that JSON cannot hold (a cycle).
      this.counters.errors += 1;
      this.counters.lastError = `frame ${header.seq}: the result cannot be sent: ${(error as Error).message}`;
    }
  }
}

async function main(): Promise<void> {
  channel.leaveSignalsToParent();
  const init = analysisInitSchema.parse(readInitArgument('analysis'));
  process.title = `labcast-analysis ${init.name}`;
  startProcessLog(`analysis:${init.name}`);
  try {
    setPriority(ANALYSIS_NICENESS);
  } catch {
    // Not permitted here (e.g. already nicer): run as we are.
  }
  const analyse = await createAnalyser(init.kind, init.options, init.module);
  const results = ResultsPublisher.connect(init.resultsEndpoint, init.serverKey);
  const receiver = DataReceiver.subscribe(init.dataEndpoint, [TOPICS.frame, 'run-'], init.serverKey);
  const loop = new AnalysisLoop(init.name, init.kind, analyse, results);

  const progress = (): void =>
    channel.send({
      type: 'progress',
      ...loop.counters,
      results: results.sent,
      analysisMs: Math.round(loop.takeMeanMs() * 1000) / 1000,
    });
  const timer = setInterval(progress, init.progressIntervalMs);
  const stop = (): void => receiver.close();
  channel.onCommand((command) => {
    if (command.type === 'shutdown') stop();
  });
  channel.onParentGone(stop);
  channel.send({ type: 'ready' });

  for await (const message of receiver.messages()) loop.offer(message);
  await loop.drained();
  clearInterval(timer);
  progress();
  await results.close();
  if (process.connected) process.disconnect?.();
  // A user module's timers or sockets must not keep the process alive once it is told to stop.
  setTimeout(() => process.exit(0), 1000).unref();
}

main().catch((error: unknown) => channel.failAndExit(error));
