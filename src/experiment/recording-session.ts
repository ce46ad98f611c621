import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcquisitionHandle } from './acquisition-handle.js';
import type { CompressionSpec } from '../protocol/compression.js';
import { saverPortWith, type SaverPort } from './ports.js';
import { Recording, saverStartedAhead, type RecordingParameters, type RecordingProgress, type RecordingResult } from './recording.js';

export type { RecordingProgress, RecordingResult } from './recording.js';

export interface RecordingRequest {
  /** Camera spec for the driver registry (validated in the acquisition process). */
  readonly camera: unknown;
  /** Initial camera settings, checked by the camera against its ranges. */
  readonly settings: Readonly<Record<string, number>>;
  readonly frames: number | null;
  readonly durationS: number | null;
  /** Final file path, already resolved and checked by the caller. */
  readonly outPath: string;
  readonly overwrite: boolean;
  /** Where every frame is also published for viewers and analysis. */
  readonly dataEndpoint: string;
  /** Bound of the acquisition-side buffer on the lossless path. */
  readonly bufferBytes: number;
  readonly flushIntervalMs: number;
  /** Lossless compression of the frames; absent: none. */
  readonly compression?: CompressionSpec;
  /** Stored in the file for provenance. */
  readonly config: unknown;
}

/**
 * One recording with processes of its own (`labcast record`): an acquisition
 * process for just this run, a saver, and both gone when it ends.
 */
export class RecordingSession {
  private stopRequested = false;

  private constructor(
    private readonly acquisition: AcquisitionHandle,
    private readonly recording: Recording,
  ) {}

  /** Starts the processes; resolves once frames flow, or rejects with why they could not. */
  static async start(
    request: RecordingRequest,
    onProgress: (progress: RecordingProgress) => void,
  ): Promise<{ session: RecordingSession; result: Promise<RecordingResult & { dataEndpoint: string }> }> {
    const runId = randomUUID();
    // A private socket: nothing but this run's saver should ever connect to it.
    const socketPath = join(tmpdir(), `labcast-${process.pid}-${runId.slice(0, 8)}.sock`);
    const recordEndpoint = `ipc://${socketPath}`;
    const parameters: RecordingParameters = {
      runId,
      frames: request.frames,
      durationS: request.durationS,
      outPath: request.outPath,
      overwrite: request.overwrite,
      flushIntervalMs: request.flushIntervalMs,
      ...(request.compression === undefined ? {} : { compression: request.compression }),
    };
    // Both processes start at once: the saver connects to the endpoint this
    // session chose, and ZeroMQ completes the connection when the acquisition binds it.
    const saver = saverStartedAhead(recordEndpoint, parameters);
    let acquisition: AcquisitionHandle;
    try {
      acquisition = await AcquisitionHandle.start({
        camera: request.camera,
        settings: request.settings,
        dataEndpoint: request.dataEndpoint,
        recordEndpoint,
        bufferBytes: request.bufferBytes,
        config: request.config,
        // The saver is this session's own child on this host.
        sharedFrames: true,
      });
    } catch (error) {
      await saver.cancel();
      rmSync(socketPath, { force: true });
      throw error;
    }
    let recording: Recording;
    try {
      recording = await Recording.start(acquisition, parameters, onProgress, (init) => endingWith(saver.startSaver(init), acquisition));
    } catch (error) {
      await acquisition.shutdown();
      rmSync(socketPath, { force: true });
      throw error;
    }
    const session = new RecordingSession(acquisition, recording);
    const result = recording.result.then(async (outcome) => {
      await acquisition.shutdown();
      rmSync(socketPath, { force: true });
      return { ...outcome, dataEndpoint: acquisition.ready.dataEndpoint };
    });
    return { session, result };
  }

  /** Stops acquisition; what was acquired is drained into the file. Idempotent. */
  stop(): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    this.recording.stop();
  }

  /** Gives up on draining: the acquisition is killed, the file closed with what arrived. */
  abort(): void {
    this.acquisition.kill('SIGKILL');
    this.recording.abandon();
  }
}

/**
 * The recording's saver, whose shutdown also shuts down the session's own
 * acquisition process. A recording shuts its saver down once the run has
 * ended and the file is closed (or failed): the acquisition is then no
 * longer needed either, and the two processes wind down side by side rather
 * than one after the other.
 */
function endingWith(saver: SaverPort, acquisition: AcquisitionHandle): SaverPort {
  return saverPortWith(saver, {
    shutdown: (command, graceMs) => {
      void acquisition.shutdown();
      return saver.shutdown(command, graceMs);
    },
  });
}
