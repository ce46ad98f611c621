/**
 * npm run soak: a long recording with a live viewer attached, watching for
 * what only shows over time — memory that grows, frames that go missing.
 * Prints the RSS of every labcast process over time (goal: flat) and the
 * frames lost (goal: 0). LABCAST_SOAK_MINUTES (default 10) sets the length.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExperimentStatus, RecordingInfo } from '../src/protocol/control.js';
import { inspectRecording } from '../src/hdf5/file-inspector.js';
import { ControlClient } from '../src/transport/control-client.js';
import { DataReceiver } from '../src/transport/data-receiver.js';
import { freePort } from '../test/helpers/processes.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const MINUTES = Number(process.env.LABCAST_SOAK_MINUTES ?? 10);
const SAMPLE_EVERY_S = Math.max(1, Math.min(10, (MINUTES * 60) / 30));
const SPARK = '▁▂▃▄▅▆▇█';

function rssMiB(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

function sparkline(values: number[]): string {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return values.map((v) => SPARK[max === min ? 0 : Math.round(((v - min) / (max - min)) * (SPARK.length - 1))]).join('');
}

/** Frames seen by a latest-frame viewer, and the seq numbers it skipped (allowed for a viewer, but counted). */
function watch(endpoint: string): { receiver: DataReceiver; seen: { frames: number; skipped: number } } {
  const receiver = DataReceiver.subscribe(endpoint, ['frame']);
  const seen = { frames: 0, skipped: 0 };
  let last: { run: string; seq: number } | null = null;
  void (async () => {
    for await (const message of receiver.messages()) {
      if (message.topic !== 'frame') continue;
      seen.frames += 1;
      if (last !== null && last.run === message.header.run_id) seen.skipped += message.header.seq - last.seq - 1;
      last = { run: message.header.run_id, seq: message.header.seq };
    }
  })();
  return { receiver, seen };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'labcast-soak-'));
  const [data, control, record, status] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const endpoint = (port: number): string => `tcp://127.0.0.1:${port}`;
  const configPath = join(dir, 'soak.yaml');
  writeFileSync(
    configPath,
    JSON.stringify({
      camera: { driver: 'sim', width: 640, height: 480, fps: 30, pattern: 'particles' },
      endpoints: { data: endpoint(data), control: endpoint(control), record: endpoint(record), status: endpoint(status) },
      storage: { data_dir: join(dir, 'data') },
    }),
  );
  const serve = spawn(process.execPath, [CLI, 'serve', '--config', configPath], { stdio: ['ignore', 'ignore', 'inherit'] });
  const client = ControlClient.connect(endpoint(control), { timeoutMs: 60_000 });
  const samples: { t: number; rss: Record<string, number>; status: ExperimentStatus }[] = [];
  let last: RecordingInfo | null = null;
  try {
    for (let tries = 0; ; tries++) {
      try {
        await client.request({ cmd: 'status' });
        break;
      } catch (error) {
        if (tries > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const viewer = watch(endpoint(data));
    await client.request({ cmd: 'record' });
    const started = performance.now();
    process.stderr.write(`soak: recording for ${MINUTES} min with a live viewer; sampling every ${SAMPLE_EVERY_S} s\n`);
    while ((performance.now() - started) / 60_000 < MINUTES) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_S * 1000));
      const now = (await client.request({ cmd: 'status' })) as ExperimentStatus;
      const rss: Record<string, number> = { serve: rssMiB(serve.pid!) ?? 0 };
      for (const p of now.processes) if (p.pid !== null) rss[p.role] = rssMiB(p.pid) ?? 0;
      samples.push({ t: (performance.now() - started) / 1000, rss, status: now });
      process.stderr.write(
        `  ${samples.at(-1)!.t.toFixed(0).padStart(5)} s  saved ${now.frames.saved}  dropped ${now.frames.dropped}  ` +
          `${Object.entries(rss)
            .map(([role, mib]) => `${role} ${mib.toFixed(0)} MiB`)
            .join('  ')}\n`,
      );
    }
    last = ((await client.request({ cmd: 'stop' })) as ExperimentStatus).last_recording;
    viewer.receiver.close();
    const inFile = last?.path == null ? 0 : (await inspectRecording(last.path)).frameCount;

    const roles = [...new Set(samples.flatMap((s) => Object.keys(s.rss)))];
    const rows: [string, string][] = roles.map((role) => {
      const series = samples.map((s) => s.rss[role] ?? 0);
      const first = series[0] ?? 0;
      const end = series.at(-1) ?? 0;
      return [
        `RSS ${role} (MiB)`,
        `${sparkline(series)}  ${first.toFixed(0)} → ${end.toFixed(0)} (max ${Math.max(...series).toFixed(0)}, ` +
          `${first > 0 ? (((end - first) / first) * 100).toFixed(0) : '?'} %)`,
      ];
    });
    rows.push(
      ['recording', `${MINUTES} min, ${last?.frames_acquired ?? 0} frames acquired`],
      ['frames in the file', `${inFile} (status says ${last?.frames_written ?? 0})`],
      ['frames lost', String((last?.frames_acquired ?? 0) - inFile)],
      ['live viewer', `${viewer.seen.frames} frames shown, ${viewer.seen.skipped} skipped (latest-frame policy)`],
    );
    const width = Math.max(...rows.map(([k]) => k.length));
    process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`);
    if (last === null || last.error !== null || inFile !== last.frames_acquired) process.exitCode = 1;
  } finally {
    client.close();
    serve.kill('SIGTERM');
    await new Promise((resolve) => serve.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
