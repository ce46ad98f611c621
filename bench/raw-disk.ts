import { spawnSync } from 'node:child_process';
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

/**
 * The same bytes past the page cache: dd with O_DIRECT (2 MiB blocks from
 * /dev/zero) and one fdatasync at the end, what the device itself takes. Node
 * cannot hand write() a page-aligned buffer, so coreutils' dd does it; null
 * where dd or O_DIRECT is missing.
 */
export function rawDirectWriteMBps(path: string, totalBytes: number, chunkBytes = 2 * 1024 * 1024): number | null {
  const blocks = Math.ceil(totalBytes / chunkBytes);
  const started = performance.now();
  const dd = spawnSync('dd', ['if=/dev/zero', `of=${path}`, `bs=${chunkBytes}`, `count=${blocks}`, 'oflag=direct', 'conv=fdatasync'], {
    stdio: 'ignore',
  });
  const seconds = (performance.now() - started) / 1000;
  rmSync(path, { force: true });
  return dd.status === 0 ? (blocks * chunkBytes) / 1e6 / seconds : null;
}
