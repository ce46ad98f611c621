/**
 * `ctl snap` against a running `labcast serve`: the time from the request to
 * its reply, which comes once the one-frame file is closed (issue 16's goal:
 * < 50 ms for 1024² uint16). Serve with a simulated 1024x1024 uint16 camera,
 * idle between snaps; a ControlClient of this process sends the requests, so
 * the figure holds no `labcast ctl` process start. Medians; nothing here
 * asserts a time. Alone: `node dist/bench/ctl-snap.js`.
 */
import { existsSync } from 'node:fs';
import { ControlClient } from '../src/transport/control-client.js';
import { scratchDir } from '../test/helpers/processes.js';
import { startServe } from '../test/helpers/serve.js';

export const SNAP_BENCH = { width: 1024, height: 1024, dtype: 'uint16', snaps: 15 } as const;

export interface SnapTimes {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly snaps: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measureCtlSnap(): Promise<SnapTimes> {
  const scratch = scratchDir();
  const { snaps, ...camera } = SNAP_BENCH;
  const serve = await startServe(scratch.dir, { ...camera, fps: 0, pattern: 'gradient' });
  const client = ControlClient.connect(serve.control, { timeoutMs: 30_000 });
  try {
    const times: number[] = [];
    // The first snap is a warm-up (serve's saver may still be starting, the file system's first file).
    for (let i = 0; i <= snaps; i++) {
      const started = performance.now();
      const result = (await client.request({ cmd: 'snap' })) as { path?: string; frames_written?: number };
      const ms = performance.now() - started;
      if (result.frames_written !== 1 || typeof result.path !== 'string' || !existsSync(result.path)) {
        throw new Error(`snap ${i}: ${JSON.stringify(result)}`);
      }
      if (i > 0) times.push(ms);
    }
    return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), snaps };
  } finally {
    client.close();
    await serve.stop();
    scratch.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const times = await measureCtlSnap();
  process.stdout.write(
    `ctl snap ${SNAP_BENCH.width}x${SNAP_BENCH.height} ${SNAP_BENCH.dtype}, request -> file closed -> reply: ` +
      `median ${times.medianMs.toFixed(0)} ms (min ${times.minMs.toFixed(0)}, max ${times.maxMs.toFixed(0)}) of ${times.snaps}\n`,
  );
}
