/**
 * What the GenICam driver's path costs the acquisition process per frame,
 * without a network: Aravis's in-process fake camera (Fake_1) at its fastest,
 * large frames through the real Acquisition and lossless sender, into the
 * shared-memory ring, to a receiving process that views each slot and
 * releases it (as the saver does). The figure is the acquisition process's
 * CPU time (process.cpuUsage: every thread, Aravis's and the fake camera's
 * included) per frame; the *floor* is the same process with the fake camera
 * filling buffers and the addon lending each to JavaScript and taking it
 * straight back (no copy, no sending), so total minus floor is labcast's own
 * per-frame work: the header, the send, and (`copy`, LABCAST_GENICAM_SLOTS=0,
 * the path before slots were lent to Aravis) the copy into the slot. Each
 * workload is measured both ways, alternated: `slots` (Aravis assembles the
 * image in the ring slot) and `copy`; copies per frame are labcast's own,
 * from the driver's frames_assembled_in_ring (a frame assembled in a slot
 * costs none, any other one).
 *
 * Standalone: `node dist/bench/genicam-copy.js` (LABCAST_BENCH_RUNS, default
 * 3). Each measurement runs in a fresh process. Where the Aravis binding or
 * the shared-memory addon is missing it says why and measures nothing.
 * To compare two trees, run it on each, alternated, and compare the totals
 * (the floor needs a binding that lends its buffers, this round's).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Acquisition } from '../src/acquisition/acquisition.js';
import { genicamCameraSpecSchema } from '../src/camera-spec/genicam-spec.js';
import { softwareInfo } from '../src/config/software.js';
import { GENICAM_SLOTS_ENV, GenicamCamera } from '../src/devices/genicam/genicam-camera.js';
import { loadAravisAddon } from '../src/native/aravis-addon.js';
import { receiverSharedMemory } from '../src/native/shared-frames.js';
import { LivePublisher } from '../src/transport/live-publisher.js';
import { LosslessSender } from '../src/transport/lossless-sender.js';

const SELF = fileURLToPath(import.meta.url);
const RECEIVER_MODULE = fileURLToPath(new URL('../src/transport/data-receiver.js', import.meta.url));
const SHARED_MODULE = fileURLToPath(new URL('../src/native/shared-frames.js', import.meta.url));
const RUNS = Number(process.env.LABCAST_BENCH_RUNS ?? 3);
/** Format, square size, frames per measurement (~0.6-1.2 GB each). */
const WORKLOADS = [
  ['Mono8', 1024, 600],
  ['Mono8', 2048, 200],
  ['Mono16', 2048, 120],
] as const;

interface OneRun {
  readonly cpuMsPerFrame: number;
  readonly frames: number;
  readonly madeInRing: number;
  /** Images Aravis assembled in their ring slot (no copy of labcast's). */
  readonly assembledInRing: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** In a process of its own: one recording run from the fake camera, the acquisition's CPU per frame. */
async function recordOnce(format: string, size: number, frames: number): Promise<OneRun> {
  const dir = mkdtempSync(join(tmpdir(), 'labcast-bench-genicam-copy-'));
  const camera = new GenicamCamera(
    genicamCameraSpecSchema.parse({
      driver: 'genicam',
      id: 'Fake_1',
      pixel_format: format,
      // The fake camera at its fastest: the pipeline, not a frame period, sets the pace.
      features: { Width: size, Height: size, AcquisitionFrameRate: 1000 },
    }),
  );
  await camera.open();
  const sender = await LosslessSender.bind(`ipc://${dir}/record.sock`, 512 * 1024 * 1024, null, receiverSharedMemory());
  const live = await LivePublisher.bind(`ipc://${dir}/live.sock`);
  const code = `
    const { DataReceiver } = await import(${JSON.stringify(RECEIVER_MODULE)});
    const { receiverSharedMemory } = await import(${JSON.stringify(SHARED_MODULE)});
    const receiver = DataReceiver.pull(process.argv[1], null, receiverSharedMemory());
    for await (const m of receiver.messages()) if (m.topic === 'run-end') break;
    receiver.close();
  `;
  const receiver = spawn(process.execPath, ['--input-type=module', '-e', code, sender.endpoint], { stdio: 'ignore' });
  const received = new Promise((resolve) => receiver.on('exit', resolve));
  try {
    const acquisition = new Acquisition({ camera, live, lossless: sender, config: {}, software: softwareInfo() });
    const before = process.cpuUsage();
    const end = await acquisition.start({ runId: 'bench', frames, durationS: null, save: true });
    const cpu = process.cpuUsage(before);
    await received;
    const made = end.frames_acquired - (end.frames_lost_camera ?? 0);
    return {
      cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / made,
      frames: made,
      madeInRing: sender.stats.madeInRing,
      assembledInRing: end.camera_statistics?.frames_assembled_in_ring ?? 0,
    };
  } finally {
    sender.close(0);
    live.close();
    await camera.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In a process of its own: the fake camera filling buffers, each lent and given straight back. */
async function floorOnce(format: string, size: number, frames: number): Promise<OneRun> {
  const load = loadAravisAddon();
  if (!('addon' in load)) throw new Error(load.failure);
  const addon = load.addon;
  addon.useInterfaces(['Fake']);
  const handle = addon.openCamera('Fake_1');
  try {
    addon.setFeature(handle, 'PixelFormat', format);
    addon.setFeature(handle, 'Width', size);
    addon.setFeature(handle, 'Height', size);
    addon.setFeature(handle, 'AcquisitionFrameRate', 1000);
    let count = 0;
    let done = (): void => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const before = process.cpuUsage();
    addon.startStream(handle, 20, (event) => {
      if (event.error !== undefined) return;
      if (event.serial !== undefined) addon.releaseBuffer(handle, event.serial);
      if (event.status === 0 && ++count === frames) done();
    });
    await finished;
    const cpu = process.cpuUsage(before);
    addon.stopStream(handle);
    return { cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / count, frames: count, madeInRing: 0, assembledInRing: 0 };
  } finally {
    addon.closeCamera(handle);
  }
}

function inChild(kind: 'record' | 'floor', format: string, size: number, frames: number, slots = true): OneRun {
  const ran = spawnSync(process.execPath, [SELF, `--${kind}`, format, String(size), String(frames)], {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, [GENICAM_SLOTS_ENV]: slots ? '1' : '0' },
  });
  if (ran.status !== 0) throw new Error(`${kind} ${format} ${size}²: ${ran.stderr || `exit ${ran.status}`}`);
  return JSON.parse(ran.stdout) as OneRun;
}

function unavailable(): string | null {
  const load = loadAravisAddon();
  if (!('addon' in load)) return `the Aravis binding is not built (${load.failure})`;
  if (receiverSharedMemory() === null) return 'the shared-memory addon is not built';
  return null;
}

async function main(): Promise<void> {
  const reason = unavailable();
  if (reason !== null) {
    process.stdout.write(`GenICam copy bench: skipped: ${reason}\n`);
    return;
  }
  process.stdout.write(
    `GenICam (Aravis fake camera, in process) -> ring -> receiving process; acquisition CPU per frame, median of ${RUNS}\n`,
  );
  for (const [format, size, frames] of WORKLOADS) {
    const modes = { slots: { totals: [] as number[], copies: [] as number[] }, copy: { totals: [] as number[], copies: [] as number[] } };
    const floors: number[] = [];
    // Alternated, so that the machine's load drifts over all alike.
    for (let run = 0; run < RUNS; run++) {
      for (const mode of ['slots', 'copy'] as const) {
        const recorded = inChild('record', format, size, frames, mode === 'slots');
        modes[mode].totals.push(recorded.cpuMsPerFrame);
        modes[mode].copies.push(1 - recorded.assembledInRing / recorded.frames);
      }
      floors.push(inChild('floor', format, size, frames).cpuMsPerFrame);
    }
    const bytes = size * size * (format === 'Mono16' ? 2 : 1);
    const floor = median(floors);
    for (const mode of ['slots', 'copy'] as const) {
      const total = median(modes[mode].totals);
      const own = total - floor;
      process.stdout.write(
        `  ${format} ${size}x${size} ${mode === 'slots' ? 'assembled in slots' : 'copied (LABCAST_GENICAM_SLOTS=0)'}: ` +
          `${total.toFixed(2)} ms/frame (${((total / bytes) * 1e6).toFixed(2)} s/GB); ` +
          `floor (fake camera + loans) ${floor.toFixed(2)} ms; labcast's own ${own.toFixed(2)} ms/frame = ${((own / bytes) * 1e6).toFixed(2)} s/GB; ` +
          `labcast's copies per frame ${median(modes[mode].copies).toFixed(2)} ` +
          `(runs: ${modes[mode].totals.map((ms) => ms.toFixed(2)).join(', ')}; floors ${floors.map((ms) => ms.toFixed(2)).join(', ')})\n`,
      );
    }
  }
}

if (process.argv[1] === SELF) {
  const [kind, format, size, frames] = process.argv.slice(2);
  const one = kind === '--record' ? recordOnce : kind === '--floor' ? floorOnce : null;
  const work =
    one === null ? main() : one(format!, Number(size), Number(frames)).then((run) => void process.stdout.write(JSON.stringify(run)));
  work.then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`genicam copy bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
