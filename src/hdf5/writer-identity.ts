import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Who is writing a file, recorded in it when it is created (/entry@writer_process),
 * so that a reader can tell an unfinished file that is still being written
 * from one whose writer is gone (killed, crashed, machine rebooted).
 *
 * Why not a lock: Node has no flock(), the h5wasm writer has no file
 * descriptor to hold one on, and a lock file left by a crash needs cleaning.
 * A process is named exactly by its pid together with its start time (pids
 * are reused) and the boot it belongs to (start times restart at boot).
 */
export interface WriterIdentity {
  readonly host: string;
  readonly pid: number;
  /** /proc/sys/kernel/random/boot_id; null where there is none (not Linux). */
  readonly boot_id: string | null;
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22); null where unknown. */
  readonly start_ticks: number | null;
}

export type WriterLiveness =
  | { readonly state: 'being-written'; readonly pid: number }
  | { readonly state: 'abandoned'; readonly pid: number; readonly why: string }
  | { readonly state: 'unknown'; readonly why: string };

export function currentWriterIdentity(): WriterIdentity {
  return { host: hostname(), pid: process.pid, boot_id: bootId(), start_ticks: startTicks(process.pid) };
}

/** Whether the process that created an unfinished file is still running, as far as this machine can tell. */
export function writerLiveness(identity: WriterIdentity | null): WriterLiveness {
  if (identity === null) return { state: 'unknown', why: 'the file does not say which process wrote it' };
  if (identity.host !== hostname()) {
    return {
      state: 'unknown',
      why: `written on host ${identity.host}; whether its writer (pid ${identity.pid}) still runs can only be told there`,
    };
  }
  const { pid } = identity;
  const boot = bootId();
  if (identity.boot_id !== null && boot !== null && identity.boot_id !== boot) {
    return { state: 'abandoned', pid, why: 'this machine has restarted since' };
  }
  const ticks = startTicks(pid);
  if (ticks === null) return { state: 'abandoned', pid, why: `process ${pid} is gone` };
  if (identity.start_ticks !== null && ticks !== identity.start_ticks) {
    return { state: 'abandoned', pid, why: `process ${pid} is gone (the pid now belongs to another process)` };
  }
  return { state: 'being-written', pid };
}

/** The identity stored in a file, or null if the text is absent or not one. */
export function parseWriterIdentity(text: string | null): WriterIdentity | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<WriterIdentity>;
    if (typeof value.host !== 'string' || typeof value.pid !== 'number') return null;
    return {
      host: value.host,
      pid: value.pid,
      boot_id: typeof value.boot_id === 'string' ? value.boot_id : null,
      start_ticks: typeof value.start_ticks === 'number' ? value.start_ticks : null,
    };
  } catch {
    return null;
  }
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

function startTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in brackets and may hold spaces: state is field 3, starttime field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}
