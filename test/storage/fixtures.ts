import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { PixelDtype } from '../../src/protocol/dtype.js';
import { frameByteLength } from '../../src/protocol/dtype.js';
import { stringifyWithNs } from '../../src/protocol/json-ns.js';
import type { FrameHeader, RunEnd, RunStart } from '../../src/protocol/messages.js';
import type { FrameWriter } from '../../src/storage/frame-writer.js';

export { PYTHON } from '../helpers/processes.js';
import { PYTHON, scratchDir } from '../helpers/processes.js';

export const START_NS = 1_714_567_890_123_456_789n;
export const FRAME_PERIOD_NS = 10_000_000n;
export const WALL_OFFSET_NS = 77_000n;

export function makeRunStart(overrides: Partial<RunStart> = {}): RunStart {
  return {
    protocol: 1,
    run_id: 'run-test-1',
    shape: [6, 8],
    dtype: 'uint16',
    frames_requested: 12,
    duration_s: null,
    start_wall_ns: START_NS,
    camera: {
      driver: 'sim',
      model: 'labcast simulated camera (test)',
      settings: { exposure_ms: 12.5, gain: 2, pattern: 'particles', mirror: true },
    },
    config: { camera: { driver: 'sim', fps: 100 }, output: { dir: '/data' }, created_ns: START_NS },
    software: { name: 'labcast', version: '0.1.0-test', node: process.version, host: 'test-host' },
    ...overrides,
  };
}

export function makeHeader(start: RunStart, seq: number): FrameHeader {
  return {
    protocol: 1,
    run_id: start.run_id,
    seq,
    camera_ts_ns: START_NS + BigInt(seq) * FRAME_PERIOD_NS,
    wall_ts_ns: START_NS + BigInt(seq) * FRAME_PERIOD_NS + WALL_OFFSET_NS,
    shape: [...start.shape],
    dtype: start.dtype,
  };
}

/** Distinct, reproducible little-endian pixels for frame `seq`, so a reader can check every byte. */
export function framePixels(shape: readonly number[], dtype: PixelDtype, seq: number): Uint8Array {
  const bytes = new Uint8Array(frameByteLength(shape, dtype));
  const view = new DataView(bytes.buffer);
  const samples = dtype === 'uint16' ? bytes.length / 2 : bytes.length;
  for (let i = 0; i < samples; i++) {
    const value = (seq * 7919 + i * 31) & (dtype === 'uint16' ? 0xffff : 0xff);
    if (dtype === 'uint16') view.setUint16(2 * i, value, true);
    else view.setUint8(i, value);
  }
  return bytes;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function appendFrames(writer: FrameWriter, start: RunStart, seqs: Iterable<number>): void {
  for (const seq of seqs) writer.append(makeHeader(start, seq), framePixels(start.shape, start.dtype, seq));
}

export function makeRunEnd(start: RunStart, overrides: Partial<RunEnd> = {}): RunEnd {
  return {
    protocol: 1,
    run_id: start.run_id,
    reason: 'completed',
    error: null,
    end_wall_ns: START_NS + 5_000_000_000n,
    frames_acquired: 0,
    frames_dropped: 0,
    drops: [],
    ...overrides,
  };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** A fresh directory under the OS temp dir; remove it with the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const { dir, cleanup } = scratchDir('labcast-storage-');
  return { dir, remove: cleanup };
}

/**
 * The independent reader is part of what is tested, so a machine without it
 * fails these tests; only an explicit LABCAST_SKIP_H5PY=1 turns them into skips.
 */
export function h5pyMissing(): string | false {
  if (process.env.LABCAST_SKIP_H5PY !== '1') return false;
  const probe = spawnSync(PYTHON, ['-c', 'import h5py, numpy'], { encoding: 'utf8' });
  return probe.status === 0 ? false : `${PYTHON} with h5py is not available: ${probe.stderr || probe.error?.message}`;
}

/** One HDF5 object as h5py sees it. Integers beyond 2^53 arrive as decimal strings. */
export interface H5pyObject {
  readonly kind: 'group' | 'dataset';
  readonly attrs: Record<string, unknown>;
  readonly shape?: number[];
  readonly dtype?: string;
  readonly chunks?: number[] | null;
  readonly maxshape?: Array<number | null>;
  readonly compression?: string | null;
  readonly value?: unknown;
  /** For the frames dataset: sha256 of each frame's bytes. */
  readonly frameSha256?: string[];
}

const H5PY_DUMP = String.raw`
import hashlib, json, sys
import h5py, numpy as np

def plain(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return plain(v.item())
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**53:
        return str(v)
    return v

out = {}
with h5py.File(sys.argv[1], 'r') as f:
    out['/'] = {'kind': 'group', 'attrs': {k: plain(v) for k, v in f.attrs.items()}}
    def visit(name, obj):
        entry = {'attrs': {k: plain(v) for k, v in obj.attrs.items()}}
        if isinstance(obj, h5py.Dataset):
            entry.update(kind='dataset', shape=list(obj.shape), dtype=obj.dtype.str,
                         chunks=list(obj.chunks) if obj.chunks else None,
                         maxshape=list(obj.maxshape), compression=obj.compression)
            if name == 'entry/data/frames':
                entry['frameSha256'] = [hashlib.sha256(np.ascontiguousarray(obj[i]).tobytes()).hexdigest()
                                        for i in range(obj.shape[0])]
            elif h5py.check_string_dtype(obj.dtype) is not None:
                entry['value'] = obj.asstr()[()]
            else:
                entry['value'] = plain(obj[()])
        else:
            entry['kind'] = 'group'
        out['/' + name] = entry
    f.visititems(visit)
print(json.dumps(out))
`;

/** Every group and dataset in the file as h5py (HDF5 1.10, C library) reads it. */
export function dumpWithH5py(path: string): Record<string, H5pyObject> {
  const result = spawnSync(PYTHON, ['-c', H5PY_DUMP, path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`h5py could not read ${path}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, H5pyObject>;
}

export function runH5dump(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('h5dump', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const H5WASM_WRITER = {
  module: fileURLToPath(new URL('../../src/storage/h5wasm-writer.js', import.meta.url)),
  exportName: 'openH5wasmWriter',
};
const FIXTURES_MODULE = fileURLToPath(new URL('./fixtures.js', import.meta.url));
const JSON_NS_MODULE = fileURLToPath(new URL('../../src/protocol/json-ns.js', import.meta.url));

/**
 * Writes `flushed` frames and flushes, then appends `unflushed` more without a
 * flush, in a child process that is then killed with SIGKILL: the state a hard
 * kill of the saver leaves behind. `writer` names the module and export that
 * open the writer (h5wasm by default).
 */
export async function writeKilledRecording(
  path: string,
  start: RunStart,
  flushed: number,
  unflushed: number,
  writer: { readonly module: string; readonly exportName: string } = H5WASM_WRITER,
): Promise<void> {
  const childCode = `
    const { ${writer.exportName}: openWriter } = await import(${JSON.stringify(writer.module)});
    const fx = await import(${JSON.stringify(FIXTURES_MODULE)});
    const { parseWithNs } = await import(${JSON.stringify(JSON_NS_MODULE)});
    const start = parseWithNs(process.argv[1]);
    const writer = await openWriter(process.argv[2], start, { overwrite: false });
    fx.appendFrames(writer, start, fx.range(0, ${flushed}));
    writer.flush();
    fx.appendFrames(writer, start, fx.range(${flushed}, ${flushed + unflushed}));
    process.stdout.write('ready\\n');
    setInterval(() => {}, 60_000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', childCode, stringifyWithNs(start), path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer child exited early (${code}): ${stderr}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * A small tmpfs of our own to fill up. Mounting needs root (which CI has);
 * elsewhere the reason comes back so the test can say why it did not run.
 */
export function mountSmallDisk(dir: string, megabytes: number): string | null {
  mkdirSync(dir, { recursive: true });
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir], { encoding: 'utf8' });
  return mounted.status === 0 ? null : `cannot mount a tmpfs here (${mounted.stderr.trim() || mounted.error?.message}); run as root`;
}

/** Lazy, so that a file HDF5 could not close does not keep the mount busy. */
export function unmountSmallDisk(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}

const VALID_FRAMES_READER = String.raw`
import hashlib, json, sys
import h5py, numpy as np
with h5py.File(sys.argv[1], 'r') as f:
    frames = f['entry/data/frames']
    valid = int(frames.attrs['valid_frames'])
    print(json.dumps({
        'valid': valid,
        'frameSha256': [hashlib.sha256(np.ascontiguousarray(frames[i]).tobytes()).hexdigest() for i in range(valid)],
        'frameIds': f['entry/data/frame_id'][:valid].tolist(),
    }))
`;

/** The frames a crashed or failed file vouches for (its valid_frames), as h5py reads them. */
export function readValidFrames(path: string): { valid: number; frameSha256: string[]; frameIds: number[] } {
  const result = spawnSync(PYTHON, ['-c', VALID_FRAMES_READER, path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`h5py could not read ${path}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as { valid: number; frameSha256: string[]; frameIds: number[] };
}
