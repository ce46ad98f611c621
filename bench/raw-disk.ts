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

/**
 * The same bytes past the page cache from one 2 MiB-aligned buffer in a
 * transparent huge page: each write is one piece of physical memory, so one
 * device request, where dd's 4 KiB pages go out as up to 4 on a virtio disk
 * (native/write_staging.c). The device's own best, which dd reaches only
 * when its buffer's pages happen to lie together. Python (Debian's, as the
 * recipe) because it can madvise an aligned mapping; null where it cannot.
 */
export function rawHugePageDirectWriteMBps(path: string, totalBytes: number, chunkBytes = 2 * 1024 * 1024): number | null {
  const result = spawnSync(
    process.env.LABCAST_PYTHON ?? '/usr/bin/python3',
    ['-c', HUGE_PAGE_WRITER, path, String(totalBytes), String(chunkBytes)],
    { encoding: 'utf8' },
  );
  rmSync(path, { force: true });
  const mbps = Number(result.stdout.trim());
  return result.status === 0 && mbps > 0 ? mbps : null;
}

const HUGE_PAGE_WRITER = `
import ctypes, mmap, os, sys, time
path, total, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
huge = 2 * 1024 * 1024
area = mmap.mmap(-1, chunk + huge, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
start = -ctypes.addressof(ctypes.c_char.from_buffer(area)) % huge
area.madvise(mmap.MADV_HUGEPAGE, start, chunk)
block = memoryview(area)[start:start + chunk]
block[:] = bytes([0x5A]) * chunk
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
began = time.perf_counter()
written = 0
while written < total:
    written += os.write(fd, block)
os.fdatasync(fd)
os.close(fd)
print(written / (time.perf_counter() - began) / 1e6)
`;
