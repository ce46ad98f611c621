#!/usr/bin/env node
/**
 * The saver process: subscribes to the lossless stream and writes one run to
 * HDF5. HDF5 writes are synchronous (native libhdf5 or h5wasm, see
 * select-writer.ts), so they live here, away from the camera.
 */
import { startProcessLog } from '../log/logger.js';
import { saverInitSchema, type SaverCommand, type SaverEvent } from '../protocol/process-messages.js';
import { DataReceiver } from '../transport/data-receiver.js';
import { receiverSharedMemory } from '../native/shared-frames.js';
import { ParentChannel, readInit } from '../transport/parent-channel.js';
import { ResultsSubscription } from './results-subscription.js';
import { fileClosedEvent, saveOneRun } from './saver.js';
import { selectFrameWriter } from '../storage/select-writer.js';
import { slowWriterFromEnv } from '../storage/slow-writer.js';

process.title = 'labcast-saver';
const log = startProcessLog('saver');

const IDLE_BEFORE_CLOSE_MS = 250;

const channel = new ParentChannel<SaverCommand, SaverEvent>('saver');

async function main(): Promise<void> {
  channel.leaveSignalsToParent();
  const init = saverInitSchema.parse(await readInit('saver'));
  // Chosen before anything starts, so that a forced but missing native writer fails the run at once.
  const writer = selectFrameWriter();
  const receiver = DataReceiver.pull(init.endpoint, init.serverKey ?? null, receiverSharedMemory());
  // Subscribed before ready, so that results of the run's first frames can arrive.
  const results = init.resultsEndpoint ? ResultsSubscription.connect(init.resultsEndpoint, init.serverKey ?? null) : null;
  // Ending the stream ends the run as it stands; the file is still finished
  // with every frame that had already arrived.
  channel.onCommand((command) => {
    if (command.type === 'shutdown') receiver.closeWhenIdle(IDLE_BEFORE_CLOSE_MS);
  });
  channel.onParentGone(() => receiver.closeWhenIdle(IDLE_BEFORE_CLOSE_MS));
  channel.send({ type: 'ready' });

  const saved = await saveOneRun({
    receiver,
    outPath: init.outPath,
    overwrite: init.overwrite,
    ...(init.compression === undefined ? {} : { compression: init.compression }),
    flushIntervalMs: init.flushIntervalMs,
    openWriter: slowWriterFromEnv(writer.open),
    onEvent: (event) => {
      if (event.type === 'file-opened') {
        log.setRun(event.runId);
        log.debug(`writing ${event.path}`);
      }
      channel.send(event);
    },
    results,
  });
  receiver.close();
  results?.close();
  if (saved !== null) {
    channel.send(fileClosedEvent(saved));
    if (saved.error !== null) {
      if (!channel.connected) log.error(saved.error.message);
      process.exitCode = 1;
    }
  }
  if (process.connected) process.disconnect?.();
}

main().catch((error: unknown) => channel.failAndExit(error));
