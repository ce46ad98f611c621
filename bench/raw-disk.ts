import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';

/**
 * The baseline every storage figure is compared with: sequential writes of
 * `chunkBytes` to a new file in `dir`, then fsync, as fast as Node can issue them.
 */
export function rawWriteMBps(path: string, totalBytes: number, chunkBytes = 2 * 1024 * 1024): number {
  const chunk = Buffer.alloc(chunkBytes, 0x5a);
  const started = performance.now();
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < totalBytes; written += chunkBytes) {
      writeSync(fd, chunk, 0, Math.min(chunkBytes, totalBytes - written));
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  rmSync(path, { force: true });
  return totalBytes / 1e6 / seconds;
}
