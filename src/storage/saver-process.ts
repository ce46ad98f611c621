#!/usr/bin/env node
/**
 * The saver process: subscribes to the lossless stream and writes one run to
 * HDF5. HDF5 writes are synchronous (native libhdf5 or h5wasm, see
 * select-writer.ts), so they live here, away from the camera.
 */
import { z } from 'zod';
import type { SaverCommand, SaverEvent } from '../protocol/process-messages.js';
import { DataReceiver } from '../transport/data-receiver.js';
import { receiverSharedMemory } from './shared-frames.js';
import { ParentChannel, readInitArgument } from '../transport/parent-channel.js';
import { ResultsSubscription } from './results-subscription.js';
import { saveOneRun } from './saver.js';
import { selectFrameWriter } from './select-writer.js';

process.title = 'labcast-saver';

const IDLE_BEFORE_CLOSE_MS = 250;

const initSchema = z
  .object({
    endpoint: z.string(),
    outPath: z.string(),
    overwrite: z.boolean(),
    flushIntervalMs: z.number().int().positive(),
    serverKey: z.string().nullable().optional(),
    resultsEndpoint: z.string().nullable().optional(),
  })
  .strict();

const channel = new ParentChannel<SaverCommand, SaverEvent>('saver');

async function main(): Promise<void> {
  channel.leaveSignalsToParent();
  const init = initSchema.parse(readInitArgument('saver'));
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
    flushIntervalMs: init.flushIntervalMs,
    openWriter: writer.open,
    onEvent: (event) => channel.send(event),
    delayPerFrameMs: Number(process.env.LABCAST_TEST_SAVER_DELAY_MS ?? 0),
    results,
  });
  receiver.close();
  results?.close();
  if (saved !== null) {
    channel.send({
      type: 'file-closed',
      summary: saved.summary,
      end: saved.end,
      malformedMessages: saved.malformedMessages,
      error: saved.error === null ? null : saved.error.toJSON(),
      saverCpuS: saved.cpuS,
      writer: saved.writer,
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
    });
    if (saved.error !== null) {
      if (!channel.connected) console.error(`labcast-saver: ${saved.error.message}`);
      process.exitCode = 1;
    }
  }
  if (process.connected) process.disconnect?.();
}

main().catch((error: unknown) => channel.failAndExit(error));
