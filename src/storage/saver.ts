import { setTimeout as delay } from 'node:timers/promises';
import { TOPICS } from '../protocol/messages.js';
import type { RunEnd } from '../protocol/messages.js';
import type { SavedFileSummary, SaverEvent } from '../protocol/process-messages.js';
import type { DataReceiver } from '../transport/data-receiver.js';
import type { FrameWriter, OpenFrameWriter } from './frame-writer.js';
import { describeHdf5Error } from './h5wasm-runtime.js';
import { LabcastError } from '../protocol/errors.js';

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
}

export interface SavedRun {
  readonly summary: SavedFileSummary;
  readonly end: RunEnd | null;
  readonly malformedMessages: number;
  /** Frames that arrived outside the run being saved (before its start, or another run id). */
  readonly strayFrames: number;
  /** Why the file could not be written to the end (disk full...); it keeps the frames of its last flush. */
  readonly error: LabcastError | null;
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

  const flushTimer = setInterval(() => {
    if (writer !== null && unflushed > 0) {
      writer.flush();
      unflushed = 0;
    }
  }, options.flushIntervalMs);
  const progressTimer = setInterval(() => {
    if (writer !== null) onEvent({ type: 'progress', framesWritten: writer.framesWritten, bytesWritten });
  }, options.progressIntervalMs ?? 100);

  try {
    for await (const message of receiver.messages()) {
      if (message.topic === TOPICS.runStart) {
        if (writer !== null) {
          // A new run before this one ended: the old run's end was lost; close it as it is.
          break;
        }
        writer = await options.openWriter(options.outPath, message.header, { overwrite: options.overwrite });
        runId = message.header.run_id;
        onEvent({ type: 'file-opened', path: writer.path, runId });
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
  const finished = writer.finish(end);
  const summary: SavedFileSummary = {
    path: finished.path,
    framesWritten: finished.framesWritten,
    gaps: finished.gaps.map(([first, count]) => [first, count] as const),
    bytesWritten: finished.bytesWritten,
  };
  onEvent({ type: 'progress', framesWritten: summary.framesWritten, bytesWritten: summary.bytesWritten });
  return { summary, end, malformedMessages: receiver.malformed.count, strayFrames, error: null };
}

