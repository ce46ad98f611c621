import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Acquisition, type RunProgress } from '../../src/acquisition/acquisition.js';
import type { Camera } from '../../src/devices/camera.js';
import { softwareInfo } from '../../src/config/software.js';
import { receiverSharedMemory } from '../../src/native/shared-frames.js';
import type { RunEnd } from '../../src/protocol/messages.js';
import { LivePublisher } from '../../src/transport/live-publisher.js';
import { LosslessSender, type LosslessSenderStats } from '../../src/transport/lossless-sender.js';
import { collect, startLabcast } from './processes.js';

export interface InProcessRecording {
  readonly end: RunEnd;
  /** The HDF5 file the saver wrote. */
  readonly path: string;
  /** The lossless sender's counters after the run (madeInRing: frames made in their ring slot). */
  readonly sender: LosslessSenderStats;
  /** This process's CPU time (user + system) during the run, s: the acquisition's, not ffmpeg's or the saver's. */
  readonly cpuS: number;
  /** Of cpuS, the kernel's (system time): reading the pipe, page faults. */
  readonly systemCpuS: number;
  /** Run start (the saver connected) to run end (drained), s. */
  readonly wallS: number;
}

/**
 * Records `frames` frames of an opened camera with the acquisition in this
 * process (so its sender's counters and CPU time can be read) and a real
 * saver process (`labcast save`) writing the file into `dir`; `shared`: large
 * frames through the shared-memory ring, as for serve's local saver.
 */
export async function recordInProcess(
  camera: Camera,
  options: {
    dir: string;
    /** null: until stopWhen says so. */
    frames: number | null;
    shared: boolean;
    /** Stops the run (as `labcast ctl stop` does) the first time it returns true; called every 20 ms. */
    stopWhen?: (progress: RunProgress) => boolean;
  },
): Promise<InProcessRecording> {
  mkdirSync(options.dir, { recursive: true });
  const live = await LivePublisher.bind('tcp://127.0.0.1:*');
  const sharedMemory = options.shared ? receiverSharedMemory() : null;
  if (options.shared && sharedMemory === null) throw new Error('shared frames need the native addon');
  const lossless = await LosslessSender.bind(`ipc://${join(options.dir, 'record.sock')}`, 512 * 1024 * 1024, null, sharedMemory);
  const out = join(options.dir, 'out');
  const saver = startLabcast(['save', '--connect', lossless.endpoint, '--out', out, '--json']);
  const saved = collect(saver);
  const summary = new Promise<void>((resolve) => saver.stdout?.on('data', () => resolve()));
  try {
    let stopping = false;
    const acquisition: Acquisition = new Acquisition({
      camera,
      live,
      lossless,
      config: {},
      software: softwareInfo(),
      progressIntervalMs: 20,
      onProgress: (progress) => {
        if (stopping || options.stopWhen?.(progress) !== true) return;
        stopping = true;
        void acquisition.stop();
      },
    });
    // Timed from when the saver is connected: its start-up is not the camera's.
    await lossless.waitForPeers(1, 20_000);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const end = await acquisition.start({ runId: 'in-process', frames: options.frames, durationS: null, save: true, saverWaitMs: 20_000 });
    const wallS = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    // The saver prints the file's summary once it is closed.
    await Promise.race([summary, saved]);
    const files = readdirSync(out).filter((name) => name.endsWith('.h5'));
    if (files.length !== 1) throw new Error(`the saver wrote ${files.length} files: ${(await stopSaver()).stderr}`);
    return {
      end,
      path: join(out, files[0]!),
      sender: lossless.stats,
      cpuS: (cpu.user + cpu.system) / 1e6,
      systemCpuS: cpu.system / 1e6,
      wallS,
    };
  } finally {
    await stopSaver();
    live.close();
    lossless.close(0);
  }

  async function stopSaver(): ReturnType<typeof collect> {
    if (saver.exitCode === null && saver.signalCode === null) saver.kill('SIGTERM');
    return saved;
  }
}
