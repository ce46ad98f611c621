#!/usr/bin/env node
/**
 * The saver process: subscribes to the lossless stream and writes one run to
 * HDF5. h5wasm is synchronous, so it lives here, away from the camera.
 */
import { z } from 'zod';
import type { SaverCommand, SaverEvent } from '../protocol/process-messages.js';
import { DataReceiver } from '../transport/data-receiver.js';
import { ParentChannel, readInitArgument } from '../transport/parent-channel.js';
import { openH5wasmWriter } from './h5wasm-writer.js';
import { saveOneRun } from './saver.js';

process.title = 'labcast-saver';

const IDLE_BEFORE_CLOSE_MS = 250;

const initSchema = z
  .object({
    endpoint: z.string(),
    outPath: z.string(),
    overwrite: z.boolean(),
    flushIntervalMs: z.number().int().positive(),
  })
  .strict();

const channel = new ParentChannel<SaverCommand, SaverEvent>('saver');

async function main(): Promise<void> {
  channel.leaveSignalsToParent();
  const init = initSchema.parse(readInitArgument('saver'));
  const receiver = DataReceiver.pull(init.endpoint);
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
    openWriter: openH5wasmWriter,
    onEvent: (event) => channel.send(event),
    delayPerFrameMs: Number(process.env.LABCAST_TEST_SAVER_DELAY_MS ?? 0),
  });
  receiver.close();
  if (saved !== null) {
    channel.send({
      type: 'file-closed',
      summary: saved.summary,
      end: saved.end,
      malformedMessages: saved.malformedMessages,
      error: saved.error === null ? null : saved.error.toJSON(),
    });
    if (saved.error !== null) {
      if (!channel.connected) console.error(`labcast-saver: ${saved.error.message}`);
      process.exitCode = 1;
    }
  }
  process.disconnect?.();
}

main().catch((error: unknown) => channel.failAndExit(error));
