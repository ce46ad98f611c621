#!/usr/bin/env node
/**
 * The acquisition process: the only process that touches the camera. Started
 * by a supervisor (labcast record / serve) with its options as JSON in argv[2];
 * talks to the supervisor over IPC and publishes frames over ZeroMQ.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { startProcessLog } from '../log/logger.js';
import { createCamera } from '../devices/registry.js';
import { applyCollectingRefusals } from '../devices/settings-check.js';
import { LabcastError } from '../protocol/errors.js';
import { softwareInfo } from '../config/software.js';
import type { Camera } from '../devices/camera.js';
import {
  acquisitionInitSchema,
  type AcquisitionCommand,
  type AcquisitionEvent,
  type SettingSpecPayload,
  type SettingValuePayload,
} from '../protocol/process-messages.js';
import { senderSharedMemory } from '../native/shared-frames.js';
import { LivePublisher } from '../transport/live-publisher.js';
import { readServerKeyFiles } from '../transport/curve.js';
import { LosslessSender } from '../transport/lossless-sender.js';
import { errorPayload, ParentChannel, readInit } from '../transport/parent-channel.js';
import { Acquisition } from './acquisition.js';

process.title = 'labcast-acquisition';
const log = startProcessLog('acquisition');

const SAVER_LINGER_MS = 30_000;
const DRAIN_LIMIT_MS = 15_000;

const channel = new ParentChannel<AcquisitionCommand, AcquisitionEvent>('acquisition');

async function main(): Promise<void> {
  channel.leaveSignalsToParent();
  const init = acquisitionInitSchema.parse(await readInit('acquisition'));
  const camera = await createCamera(init.camera);
  await camera.open();
  await applyInitialSettings(camera, init.settings);
  // With CURVE keys, both endpoints are CURVE servers: only holders of the public key connect.
  const curve = init.curve ? readServerKeyFiles(init.curve) : null;
  const live = await LivePublisher.bind(init.dataEndpoint, undefined, curve);
  const lossless =
    init.recordEndpoint === null
      ? null
      : // sharedFrames: the saver is labcast's own, on this host, so it also reads packed batches.
        await LosslessSender.bind(
          init.recordEndpoint,
          init.bufferBytes,
          curve,
          senderSharedMemory(init.sharedFrames === true),
          init.sharedFrames === true,
        );
  const acquisition = new Acquisition({
    camera,
    live,
    lossless,
    config: init.config,
    software: softwareInfo(),
    onProgress: (progress) => channel.send({ type: 'progress', ...progress, ...streamHealthOf(camera) }),
  });

  let shuttingDown = false;
  const shutdown = async (): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    // A run drains into its saver first; if the saver is gone too (its
    // supervisor was killed with it), nobody will take the frames, so give up
    // on them rather than wait forever.
    const giveUp = new AbortController();
    const drained = await Promise.race([
      acquisition.stop().then(() => true),
      delay(DRAIN_LIMIT_MS, false, { signal: giveUp.signal }).catch(() => false),
    ]);
    giveUp.abort();
    if (!drained) await acquisition.abandonSaving();
    await camera.close();
    live.close();
    // Linger until the saver has what was queued (the queue is drained by now,
    // so this is the run-end and a few frames at most); bounded in case the
    // saver is gone, so this process can still exit.
    lossless?.close(SAVER_LINGER_MS);
    if (process.connected) process.disconnect?.();
    // Nothing should keep this process alive now; if something does, end it.
    setTimeout(() => process.exit(0), SAVER_LINGER_MS + 1000).unref();
  };

  channel.onCommand((command) => {
    switch (command.type) {
      case 'start-run':
        log.setRun(command.runId);
        log.debug(command.save ? 'run starts, saving' : 'run starts');
        try {
          acquisition
            .start({
              runId: command.runId,
              frames: command.frames,
              durationS: command.durationS,
              save: command.save,
              ...(command.saverWaitMs === undefined ? {} : { saverWaitMs: command.saverWaitMs }),
              onStarted: () => channel.send({ type: 'run-started', runId: command.runId }),
            })
            .then((end) => {
              log.debug(`run ends (${end.reason}): ${end.frames_acquired} frames acquired`);
              log.setRun(null);
              channel.send({ type: 'run-ended', end, ...streamHealthOf(camera) });
            })
            .catch((error: unknown) => channel.send({ type: 'error', error: errorPayload(error) }));
        } catch (error) {
          channel.send({ type: 'error', error: errorPayload(error) });
        }
        break;
      case 'stop':
        void acquisition.stop();
        break;
      case 'abandon-saving':
        acquisition.abandonSaving().catch((error: unknown) => channel.send({ type: 'error', error: errorPayload(error) }));
        break;
      case 'set-setting':
        camera.setSetting(command.name, command.value).then(
          () => channel.send({ type: 'reply', requestId: command.requestId, error: null, ...settingsOf(camera) }),
          (error: unknown) =>
            channel.send({ type: 'reply', requestId: command.requestId, error: errorPayload(error), ...settingsOf(camera) }),
        );
        break;
      case 'trigger':
        softwareTrigger(camera).then(
          () => channel.send({ type: 'reply', requestId: command.requestId, error: null, ...settingsOf(camera) }),
          (error: unknown) =>
            channel.send({ type: 'reply', requestId: command.requestId, error: errorPayload(error), ...settingsOf(camera) }),
        );
        break;
      case 'shutdown':
        void shutdown();
        break;
    }
  });
  channel.onParentGone(() => void shutdown());

  const format = camera.frameFormat();
  channel.send({
    type: 'ready',
    dataEndpoint: live.endpoint,
    recordEndpoint: lossless?.endpoint ?? null,
    format: { shape: [...format.shape], dtype: format.dtype },
    camera: {
      driver: camera.info.driver,
      model: camera.info.model,
      freeRunning: camera.freeRunning,
      fpsRequested: camera.requestedFps?.() ?? null,
    },
    ...settingsOf(camera),
  });
}

/** Every setting the camera refuses, in one error (one refused: the camera's own), rather than the first alone. */
async function applyInitialSettings(camera: Camera, settings: Readonly<Record<string, SettingValuePayload>>): Promise<void> {
  const refusals = await applyCollectingRefusals(camera, settings);
  const first = refusals[0];
  if (first === undefined) return;
  if (refusals.length === 1) throw first.error;
  const messages = refusals.map((refusal) => refusal.error.message).join('; ');
  throw new LabcastError('BAD_SETTING', `${refusals.length} settings refused: ${messages}`, first.name);
}

function settingsOf(camera: Camera): { settings: Record<string, SettingValuePayload>; specs: SettingSpecPayload[] } {
  return { settings: { ...camera.getSettings() }, specs: camera.settingSpecs().map((spec) => ({ ...spec })) };
}

/** What some drivers add to the camera model (GenICam): a software trigger and stream health counters. */
type CameraExtras = { softwareTrigger?(): Promise<void>; streamStatistics?(): Readonly<Record<string, number>> };

async function softwareTrigger(camera: Camera & CameraExtras): Promise<void> {
  if (typeof camera.softwareTrigger !== 'function') {
    throw new LabcastError(
      'CAMERA_STATE',
      `the ${camera.info.driver} camera (${camera.info.model}) has no software trigger; only GenICam cameras configured with trigger: ` +
        `{mode: software} take one`,
    );
  }
  await camera.softwareTrigger();
}

function streamHealthOf(camera: Camera & CameraExtras): { stream?: Record<string, number> } {
  return typeof camera.streamStatistics === 'function' ? { stream: { ...camera.streamStatistics() } } : {};
}

main().catch((error: unknown) => channel.failAndExit(error));
