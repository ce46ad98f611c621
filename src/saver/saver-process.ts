#!/usr/bin/env node
/**
 * The saver process: subscribes to the lossless stream and writes a run to
 * HDF5: the one it was started with, or (serve's resident saver) each run it
 * is handed, one after another, each to its own file. HDF5 writes are
 * synchronous (native libhdf5 or h5wasm, see select-writer.ts), so they live
 * here, away from the camera.
 */
import { startProcessLog } from '../log/logger.js';
import type { RunStart } from '../protocol/messages.js';
import { anySaverInitSchema, type SaverCommand, type SaverEvent } from '../protocol/process-messages.js';
import { DataReceiver } from '../transport/data-receiver.js';
import { receiverSharedMemory } from '../native/shared-frames.js';
import { ParentChannel, readInit } from '../transport/parent-channel.js';
import { ResultsSubscription } from './results-subscription.js';
import { RunAssignments } from './run-assignments.js';
import { fileClosedEvent, saveOneRun } from './saver.js';
import { selectFrameWriter } from '../storage/select-writer.js';
import { slowWriterFromEnv } from '../storage/slow-writer.js';

process.title = 'labcast-saver';
const log = startProcessLog('saver');

const IDLE_BEFORE_CLOSE_MS = 250;

const channel = new ParentChannel<SaverCommand, SaverEvent>('saver');

async function main(): Promise<void> {
  channel.leaveSignalsToParent();
  const init = anySaverInitSchema.parse(await readInit('saver'));
  // Chosen before anything starts, so that a forced but missing native writer fails the run at once.
  const writer = selectFrameWriter();
  const receiver = DataReceiver.pull(init.endpoint, init.serverKey ?? null, receiverSharedMemory());
  // Subscribed before ready, so that results of the run's first frames can arrive.
  const results = init.resultsEndpoint ? ResultsSubscription.connect(init.resultsEndpoint, init.serverKey ?? null) : null;
  const runs = new RunAssignments();
  // Started with its run: that one alone. Resident: each `save` until shutdown.
  if (!('resident' in init)) {
    runs.add(init);
    runs.end();
  }
  let saving = false;
  const finish = (): void => {
    runs.end();
    // Idle (a resident saver between runs): nothing can be on its way, so no need to wait for quiet.
    if (!saving && runs.idle) receiver.close();
    else receiver.closeWhenIdle(IDLE_BEFORE_CLOSE_MS);
  };
  // Ending the stream ends the run as it stands; the file is still finished
  // with every frame that had already arrived.
  channel.onCommand((command) => {
    if (command.type === 'shutdown') finish();
    else if (command.type === 'save') runs.add(command.run);
  });
  channel.onParentGone(finish);
  channel.send({ type: 'ready' });

  const openWriter = slowWriterFromEnv(writer.open);
  let pendingRunStart: RunStart | null = null;
  for (let run = await runs.next(); run !== null; run = await runs.next()) {
    saving = true;
    const saved = await saveOneRun({
      receiver,
      outPath: run.outPath,
      overwrite: run.overwrite,
      ...(run.compression === undefined ? {} : { compression: run.compression }),
      ...(run.runId === undefined ? {} : { runId: run.runId }),
      flushIntervalMs: run.flushIntervalMs,
      openWriter,
      onEvent: (event) => {
        if (event.type === 'file-opened') {
          log.setRun(event.runId);
          log.debug(`writing ${event.path}`);
        }
        channel.send(event);
      },
      results,
      pendingRunStart,
    });
    saving = false;
    // No run began before the stream was closed: nothing to report.
    if (saved === null) break;
    pendingRunStart = saved.nextRunStart;
    channel.send(fileClosedEvent(saved));
    if (saved.error !== null) {
      if (!channel.connected) log.error(saved.error.message);
      process.exitCode = 1;
      // A saver whose file failed takes no further run: serve starts a fresh one.
      break;
    }
    if (receiver.closed) break;
  }
  receiver.close();
  results?.close();
  if (process.connected) process.disconnect?.();
}

main().catch((error: unknown) => channel.failAndExit(error));
