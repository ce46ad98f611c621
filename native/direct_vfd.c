/*
 * direct_vfd: an HDF5 file driver like libhdf5's own "sec2" (POSIX pread and
 * pwrite), except that the page-aligned body of every large raw-data write
 * (frame chunks) goes to the disk with O_DIRECT, past the page cache.
 *
 * Why: copying frames into the page cache was the saver's bottleneck. On the
 * development VM a plain loop of 2 MiB buffered writes reaches 340-490 MB/s
 * (with or without the final fsync), the same writes with O_DIRECT 1.2-2.8
 * GB/s; `npm run bench` and docs/performance.md have the pipeline figures.
 * Debian's libhdf5 is built without HDF5's own "direct" driver, which would
 * also send metadata through O_DIRECT, a synchronous device round trip for
 * every small write.
 *
 * Two descriptors on one file: `fd` (buffered) for metadata, reads, small
 * writes and the unaligned head and tail of a large write; `direct_fd`
 * (O_DIRECT) for the whole pages inside a large write. A page is only ever
 * written through O_DIRECT when it lies entirely inside one write's range, so
 * no other object's bytes share it; the kernel writes back and drops any
 * cached copy of the range before a direct write, so buffered readers (h5py
 * reading a recording in progress, HDF5 itself) see the new bytes.
 * H5Pset_alignment puts large allocations on page boundaries, so a frame's
 * chunk is almost all body.
 *
 * The direct writes are queued to a writer thread that only calls pwrite
 * (never HDF5, which is not thread-safe). Queued writes land before HDF5
 * reads or rewrites their pages, before the file is truncated or closed, and
 * before the addon flushes (direct_vfd_drain_file). A queued write's failure
 * (a full disk) is reported by the next write or flush, after which nothing
 * more is written.
 *
 * A frame in the ring is written from where it lies, unless the device would
 * take it faster from huge pages: then it is copied into the writer's own
 * buffers, which are huge pages (write_staging.c says when and why), but
 * only if no copy was made of it before (a GigE Vision image that Aravis
 * assembled from packets is written in place): at most one copy a frame.
 *
 * Durability is unchanged: direct writes reach the device, but its cache
 * still needs the fdatasync the saver issues at every flush and at the end;
 * a killed process loses nothing flushed (the page cache keeps the metadata,
 * the device the frames). Where the file system refuses O_DIRECT (tmpfs on
 * older kernels, some network file systems) or a direct write is refused,
 * the file carries on buffered only, like sec2.
 */
#define _GNU_SOURCE
#include "direct_vfd.h"
#include "shared_memory.h"
#include "write_staging.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Smaller writes stay buffered: a device round trip each would cost more than the copy. */
#define DIRECT_MIN_BYTES (64 * 1024)
/*
 * Direct writes run on a thread of their own, so that the saver receives the
 * next frames while the device writes the last ones. The data is copied into
 * one of these page-aligned buffers first (the caller's buffer is neither
 * aligned nor ours to keep): at most SLOTS x SLOT_BYTES in flight per file.
 * Except a frame in a slot of labcast's shared-memory ring (shared_memory.c):
 * page-aligned, and kept by the ring until the write is done (a hold), so it
 * is written from where it lies, with no copy, in one piece; unless the file
 * stages ring frames (write_staging.c). The buffers are huge pages where the
 * kernel has them: a write from one is one device request.
 */
#define SLOTS 4
#define SLOT_BYTES (4 * 1024 * 1024)
/* Largest address: off_t is signed 64-bit. */
#define MAX_ADDRESS ((haddr_t)(((uint64_t)1 << 63) - 1))

typedef struct {
  unsigned char *data;    /* the slot's own buffer */
  const unsigned char *source; /* what is written: `data`, or ring memory held until written */
  size_t size;
  haddr_t addr;
  bool queued;
  bool held; /* `source` is ring memory: unhold once written */
  bool taken;     /* the writer thread is writing it: no longer extended */
  bool extending; /* HDF5's thread is copying more into it: the writer waits */
  uint64_t queued_ns; /* when HDF5's thread queued it (LABCAST_DIRECT_TRACE only) */
} slot;

typedef struct {
  H5FD_t pub; /* must come first: HDF5 fills it in */
  int fd;
  int direct_fd; /* -1: buffered only */
  haddr_t eoa;
  haddr_t eof;
  dev_t device;
  ino_t inode;
  bool stage_ring; /* ring frames are copied into the slots' huge pages, not written in place */
  char name[1024];

  /* The direct writer: slots filled in order by HDF5's thread, written in order by `writer`. */
  bool writer_started;
  bool stopping;
  pthread_t writer;
  pthread_mutex_t lock;
  pthread_cond_t changed;
  slot slots[SLOTS];
  unsigned next_fill;
  unsigned next_write;
  unsigned pending;
  /* The first failure of a queued write, reported by the next call that HDF5 makes. */
  int failed_errno;
  haddr_t failed_addr;
  size_t failed_size;
} direct_file;


/*
 * LABCAST_DIRECT_TRACE=FILE: every direct write's queue, start and end times
 * (CLOCK_MONOTONIC ns) and every drain's wait, appended to FILE when the file
 * closes, to see where the device idles (docs/performance.md). Off: one
 * branch per write.
 */
typedef struct {
  char kind; /* 'w' a write, 'd' a drain's wait, 'c' the close */
  uint64_t queued_ns, start_ns, end_ns;
  uint64_t size;
  uint64_t addr;
  unsigned pending; /* writes still queued when this one ended */
} trace_event;
#define TRACE_MAX 200000
static trace_event *trace_events;
static unsigned trace_count;
static int trace_on = -1;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static bool tracing(void) {
  if (trace_on < 0) trace_on = getenv("LABCAST_DIRECT_TRACE") != NULL && *getenv("LABCAST_DIRECT_TRACE") != '\0';
  return trace_on > 0;
}

static void trace(char kind, uint64_t queued, uint64_t start, uint64_t end, uint64_t size, uint64_t addr, unsigned pending) {
  pthread_mutex_lock(&trace_lock);
  if (trace_events == NULL) trace_events = calloc(TRACE_MAX, sizeof *trace_events);
  if (trace_events != NULL && trace_count < TRACE_MAX) {
    trace_events[trace_count++] = (trace_event){kind, queued, start, end, size, addr, pending};
  }
  pthread_mutex_unlock(&trace_lock);
}

static void trace_dump(void) {
  pthread_mutex_lock(&trace_lock);
  FILE *out = trace_count > 0 ? fopen(getenv("LABCAST_DIRECT_TRACE"), "a") : NULL;
  if (out != NULL) {
    for (unsigned i = 0; i < trace_count; i++) {
      const trace_event *e = &trace_events[i];
      fprintf(out, "%c %llu %llu %llu %llu %u %llu\n", e->kind, (unsigned long long)e->queued_ns, (unsigned long long)e->start_ns,
              (unsigned long long)e->end_ns, (unsigned long long)e->size, e->pending, (unsigned long long)e->addr);
    }
    fclose(out);
  }
  trace_count = 0;
  pthread_mutex_unlock(&trace_lock);
}

static direct_vfd_counters totals;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;

static void count(uint64_t direct, uint64_t buffered, uint64_t refused) {
  pthread_mutex_lock(&totals_lock);
  totals.direct_bytes += direct;
  totals.buffered_bytes += buffered;
  totals.direct_fallbacks += refused;
  pthread_mutex_unlock(&totals_lock);
}

/* Ring memory written: from the slot itself, or copied into the slots' huge pages first. */
static void count_ring(uint64_t bytes, bool staged) {
  pthread_mutex_lock(&totals_lock);
  *(staged ? &totals.staged_bytes : &totals.in_place_bytes) += bytes;
  pthread_mutex_unlock(&totals_lock);
}

#define PUSH_ERROR(major, minor, ...) \
  H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, major, minor, __VA_ARGS__)

/*
 * The wording of sec2's messages ("errno = N, error message = '...'"): the
 * addon's error reporting picks the operating system's reason out of them.
 */
static void push_os_error(hid_t minor, const char *what, const direct_file *file, int error, haddr_t addr, size_t size) {
  PUSH_ERROR(H5E_IO, minor, "%s: filename = '%s', errno = %d, error message = '%s', addr = %llu, size = %zu", what,
             file == NULL ? "" : file->name, error, strerror(error), (unsigned long long)addr, size);
}

static bool write_all(int fd, const unsigned char *bytes, size_t size, haddr_t addr, int *error) {
  while (size > 0) {
    ssize_t written = pwrite(fd, bytes, size, (off_t)addr);
    if (written < 0) {
      if (errno == EINTR) continue;
      *error = errno;
      return false;
    }
    if (written == 0) {
      *error = EIO;
      return false;
    }
    bytes += written;
    addr += (haddr_t)written;
    size -= (size_t)written;
  }
  return true;
}

/*
 * One slot to the disk from byte `from` on, on the writer thread. O_DIRECT
 * first; if the kernel refuses it for this file (EINVAL) or writes short of a
 * page boundary, the rest goes through the page cache and so do later
 * writes: the file works as sec2's would. Returns 0 or an errno.
 */
static int write_slot_from(direct_file *file, const slot *job, size_t from) {
  size_t done = from;
  int direct_fd = __atomic_load_n(&file->direct_fd, __ATOMIC_ACQUIRE);
  while (direct_fd >= 0 && done < job->size) {
    ssize_t written = pwrite(direct_fd, job->source + done, job->size - done, (off_t)(job->addr + done));
    if (written < 0 && errno == EINTR) continue;
    if (written < 0 && errno != EINVAL) return errno;
    if (written < 0) {
      __atomic_store_n(&file->direct_fd, -1, __ATOMIC_RELEASE);
      close(direct_fd);
      count(0, 0, 1);
      break;
    }
    done += (size_t)written - (size_t)written % DIRECT_VFD_PAGE;
    if ((size_t)written % DIRECT_VFD_PAGE != 0 || written == 0) break;
  }
  int error = 0;
  if (done < job->size && !write_all(file->fd, job->source + done, job->size - done, job->addr + done, &error)) return error;
  count(done - from, job->size - done, 0);
  pthread_mutex_lock(&totals_lock);
  totals.direct_writes += 1;
  pthread_mutex_unlock(&totals_lock);
  return 0;
}

/*
 * Queued slots that follow one another in the file are written together, up
 * to this many bytes, in one pwritev (LABCAST_DIRECT_MERGE_BYTES, 0: one slot
 * a write). Why: the trace of a 1024² recording (docs/performance.md, "Where
 * the time goes now") showed the writer never waiting for the saver, the
 * next 2 MiB frame queued at every write's end, so the device's time per
 * write was all there was left to cut; the device takes larger writes faster.
 */
#define MERGE_BYTES_DEFAULT (4 * 1024 * 1024)

static size_t merge_bytes(void) {
  static long bytes = -1;
  if (bytes < 0) {
    const char *set = getenv("LABCAST_DIRECT_MERGE_BYTES");
    bytes = set != NULL && *set != '\0' ? atol(set) : MERGE_BYTES_DEFAULT;
    if (bytes < 0) bytes = 0;
  }
  return (size_t)bytes;
}

/* `count` slots, each starting where the one before ends: one pwritev, whatever it leaves slot by slot. */
static int write_run(direct_file *file, slot *const *jobs, unsigned count_jobs) {
  if (count_jobs == 1) return write_slot_from(file, jobs[0], 0);
  struct iovec pieces[SLOTS];
  size_t total = 0;
  for (unsigned i = 0; i < count_jobs; i++) {
    pieces[i].iov_base = (void *)jobs[i]->source;
    pieces[i].iov_len = jobs[i]->size;
    total += jobs[i]->size;
  }
  size_t done = 0;
  int direct_fd = __atomic_load_n(&file->direct_fd, __ATOMIC_ACQUIRE);
  if (direct_fd >= 0) {
    ssize_t written;
    do written = pwritev(direct_fd, pieces, (int)count_jobs, (off_t)jobs[0]->addr);
    while (written < 0 && errno == EINTR);
    if (written < 0 && errno != EINVAL) return errno;
    if (written > 0) done = (size_t)written - (size_t)written % DIRECT_VFD_PAGE;
  }
  if (done == total) {
    count(total, 0, 0);
    pthread_mutex_lock(&totals_lock);
    totals.direct_writes += 1;
    pthread_mutex_unlock(&totals_lock);
    return 0;
  }
  count(done, 0, 0);
  /* Short, or refused (EINVAL): the rest as single slots, which fall back to the page cache as needed. */
  for (unsigned i = 0; i < count_jobs; i++) {
    if (done >= jobs[i]->size) {
      done -= jobs[i]->size;
      continue;
    }
    int error = write_slot_from(file, jobs[i], done);
    if (error != 0) return error;
    done = 0;
  }
  return 0;
}

static void *writer_main(void *argument) {
  direct_file *file = argument;
  pthread_mutex_lock(&file->lock);
  for (;;) {
    while (!(file->slots[file->next_write].queued && !file->slots[file->next_write].extending) && !file->stopping) {
      pthread_cond_wait(&file->changed, &file->lock);
    }
    slot *job = &file->slots[file->next_write];
    if (!job->queued) break; /* stopping, nothing left */
    /* This slot and the queued ones that follow it in the file, up to merge_bytes(): one write. */
    slot *run[SLOTS];
    unsigned taken = 0;
    size_t bytes = 0;
    size_t limit = merge_bytes();
    do {
      job->taken = true;
      run[taken++] = job;
      bytes += job->size;
      job = &file->slots[(file->next_write + taken) % SLOTS];
    } while (taken < SLOTS && job->queued && !job->extending && job->addr == run[taken - 1]->addr + run[taken - 1]->size &&
             bytes + job->size <= limit);
    bool skip = file->failed_errno != 0; /* after a failure nothing more is written */
    pthread_mutex_unlock(&file->lock);
    uint64_t started = tracing() ? now_ns() : 0;
    int error = skip ? 0 : write_run(file, run, taken);
    uint64_t ended = started != 0 ? now_ns() : 0;
    /* Written (or never to be): the ring slots may go back to the acquisition, in order. */
    for (unsigned i = 0; i < taken; i++) {
      if (run[i]->held) shared_memory_unhold(run[i]->source, run[i]->size);
    }
    pthread_mutex_lock(&file->lock);
    if (error != 0 && file->failed_errno == 0) {
      file->failed_errno = error;
      file->failed_addr = run[0]->addr;
      file->failed_size = bytes;
    }
    for (unsigned i = 0; i < taken; i++) {
      run[i]->queued = false;
      run[i]->held = false;
      run[i]->taken = false;
    }
    file->next_write = (file->next_write + taken) % SLOTS;
    file->pending -= taken;
    if (started != 0) trace('w', run[0]->queued_ns, started, ended, bytes, run[0]->addr, file->pending);
    pthread_cond_broadcast(&file->changed);
  }
  pthread_mutex_unlock(&file->lock);
  return NULL;
}

/* A queued write's failure, pushed as an HDF5 error for the call that finds it. Call with the lock held. */
static bool report_failure_locked(direct_file *file) {
  if (file->failed_errno == 0) return false;
  push_os_error(H5E_WRITEERROR, "file write failed", file, file->failed_errno, file->failed_addr, file->failed_size);
  return true;
}

/* Waits until every queued write is on its way to the disk; false (error pushed) if one failed. */
static bool drain(direct_file *file) {
  if (!file->writer_started) return true;
  pthread_mutex_lock(&file->lock);
  uint64_t started = tracing() && file->pending > 0 ? now_ns() : 0;
  unsigned pending = file->pending;
  while (file->pending > 0) pthread_cond_wait(&file->changed, &file->lock);
  if (started != 0) trace('d', 0, started, now_ns(), 0, 0, pending);
  bool failed = report_failure_locked(file);
  pthread_mutex_unlock(&file->lock);
  return !failed;
}

/* Whether [addr, addr + size) touches a page that a queued write has yet to write. */
static bool overlaps_queued(direct_file *file, haddr_t addr, size_t size) {
  if (!file->writer_started) return false;
  bool overlap = false;
  pthread_mutex_lock(&file->lock);
  for (unsigned i = 0; i < SLOTS && !overlap; i++) {
    const slot *job = &file->slots[i];
    overlap = job->queued && addr < job->addr + job->size && job->addr < addr + size;
  }
  pthread_mutex_unlock(&file->lock);
  return overlap;
}

static bool start_writer(direct_file *file) {
  for (unsigned i = 0; i < SLOTS; i++) {
    void *data = NULL;
    if (posix_memalign(&data, WRITE_STAGING_HUGE_PAGE, SLOT_BYTES) != 0) {
      for (unsigned j = 0; j < i; j++) free(file->slots[j].data);
      return false;
    }
    /* Only a request: without transparent huge pages the buffers are 4 KiB pages, as before. */
    madvise(data, SLOT_BYTES, MADV_HUGEPAGE);
    file->slots[i].data = data;
  }
  if (pthread_create(&file->writer, NULL, writer_main, file) != 0) {
    for (unsigned i = 0; i < SLOTS; i++) free(file->slots[i].data), file->slots[i].data = NULL;
    return false;
  }
  file->writer_started = true;
  return true;
}

/*
 * Small chunks (~1 MiB of small frames each) that follow one another in the
 * file are copied on into the last queued slot while the writer has not
 * started it, up to SLOT_BYTES: so SLOTS x SLOT_BYTES of them can wait for
 * the device, not SLOTS chunks (4 MiB), and the saver is not held up by
 * every hiccup of the device. Ring memory (page-aligned, written in place)
 * is never copied in. False: queue it as usual.
 */
static bool extend_last_queued(direct_file *file, const unsigned char *bytes, size_t size, haddr_t addr) {
  if ((uintptr_t)bytes % DIRECT_VFD_PAGE == 0) return false;
  pthread_mutex_lock(&file->lock);
  slot *last = &file->slots[(file->next_fill + SLOTS - 1) % SLOTS];
  bool extend = file->failed_errno == 0 && last->queued && !last->taken && !last->held &&
                last->source == last->data && last->addr + last->size == addr && size <= SLOT_BYTES - last->size;
  if (extend) last->extending = true;
  pthread_mutex_unlock(&file->lock);
  if (!extend) return false;
  /* Only this thread fills slots, and the writer waits while `extending`: copy outside the lock. */
  memcpy(last->data + last->size, bytes, size);
  pthread_mutex_lock(&file->lock);
  last->size += size;
  last->extending = false;
  pthread_cond_broadcast(&file->changed);
  pthread_mutex_unlock(&file->lock);
  return true;
}

/*
 * Whole pages [addr, addr + size) handed to the writer thread, a slot at a
 * time; returns once the last is queued. False (error pushed) if an earlier
 * queued write failed: the file is then not written any further.
 */
static bool queue_direct_pages(direct_file *file, const unsigned char *bytes, size_t size, haddr_t addr) {
  if (extend_last_queued(file, bytes, size, addr)) return true;
  size_t done = 0;
  while (done < size) {
    pthread_mutex_lock(&file->lock);
    slot *next = &file->slots[file->next_fill];
    while (next->queued && file->failed_errno == 0) pthread_cond_wait(&file->changed, &file->lock);
    if (report_failure_locked(file)) {
      pthread_mutex_unlock(&file->lock);
      return false;
    }
    pthread_mutex_unlock(&file->lock);

    /* The slot is free and only this thread fills slots: copy outside the lock. */
    size_t piece = size - done < SLOT_BYTES ? size - done : SLOT_BYTES;
    /*
     * Ring memory, page-aligned, is written where it lies, all of it at once,
     * unless the file stages it; a frame that took a copy on its way into
     * the ring is never staged: no frame's pixels are copied twice.
     */
    bool aligned_start = done == 0 && (uintptr_t)bytes % DIRECT_VFD_PAGE == 0;
    bool staged = aligned_start && file->stage_ring && shared_memory_copyable(bytes, size);
    if (staged) count_ring(size, true);
    if (aligned_start && !staged && shared_memory_hold(bytes, size)) {
      next->source = bytes;
      next->held = true;
      piece = size;
      count_ring(size, false);
    } else {
      memcpy(next->data, bytes + done, piece);
      next->source = next->data;
      next->held = false;
    }
    next->size = piece;
    next->addr = addr + done;

    pthread_mutex_lock(&file->lock);
    if (tracing()) next->queued_ns = now_ns();
    next->queued = true;
    file->next_fill = (file->next_fill + 1) % SLOTS;
    file->pending++;
    pthread_cond_broadcast(&file->changed);
    pthread_mutex_unlock(&file->lock);
    done += piece;
  }
  return true;
}

static haddr_t round_up(haddr_t value) {
  return (value + DIRECT_VFD_PAGE - 1) / DIRECT_VFD_PAGE * DIRECT_VFD_PAGE;
}

static haddr_t round_down(haddr_t value) {
  return value / DIRECT_VFD_PAGE * DIRECT_VFD_PAGE;
}

static bool write_buffered(direct_file *file, const unsigned char *bytes, size_t size, haddr_t addr) {
  int error = 0;
  /* A page still queued for a direct write must get there first, or it would overwrite this. */
  if (overlaps_queued(file, round_down(addr), (size_t)(round_up(addr + size) - round_down(addr))) && !drain(file)) {
    return false;
  }
  if (!write_all(file->fd, bytes, size, addr, &error)) {
    push_os_error(H5E_WRITEERROR, "file write failed", file, error, addr, size);
    return false;
  }
  count(0, size, 0);
  return true;
}

static herr_t vfd_write(H5FD_t *pub, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, const void *buffer) {
  (void)dxpl;
  direct_file *file = (direct_file *)pub;
  if (addr == HADDR_UNDEF || addr > MAX_ADDRESS || size > MAX_ADDRESS - addr) {
    PUSH_ERROR(H5E_ARGS, H5E_OVERFLOW, "write beyond the largest address: addr = %llu, size = %zu",
               (unsigned long long)addr, size);
    return -1;
  }
  const unsigned char *bytes = buffer;
  haddr_t end = addr + size;
  haddr_t body_start = round_up(addr), body_end = round_down(end);
  bool direct = __atomic_load_n(&file->direct_fd, __ATOMIC_ACQUIRE) >= 0 && type == H5FD_MEM_DRAW &&
                body_end > body_start && body_end - body_start >= DIRECT_MIN_BYTES &&
                (file->writer_started || start_writer(file));
  if (direct) {
    size_t head = (size_t)(body_start - addr);
    if (!queue_direct_pages(file, bytes + head, (size_t)(body_end - body_start), body_start) ||
        (head > 0 && !write_buffered(file, bytes, head, addr)) ||
        (body_end < end && !write_buffered(file, bytes + (body_end - addr), (size_t)(end - body_end), body_end))) {
      return -1;
    }
  } else if (!write_buffered(file, bytes, size, addr)) {
    return -1;
  }
  if (end > file->eof) file->eof = end;
  return 0;
}

static herr_t vfd_read(H5FD_t *pub, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size, void *buffer) {
  (void)type;
  (void)dxpl;
  direct_file *file = (direct_file *)pub;
  if (addr == HADDR_UNDEF || addr > MAX_ADDRESS || size > MAX_ADDRESS - addr) {
    PUSH_ERROR(H5E_ARGS, H5E_OVERFLOW, "read beyond the largest address: addr = %llu, size = %zu",
               (unsigned long long)addr, size);
    return -1;
  }
  /* HDF5 may read back what it has just written: queued writes land first. */
  if (overlaps_queued(file, round_down(addr), (size_t)(round_up(addr + size) - round_down(addr))) && !drain(file)) return -1;
  unsigned char *bytes = buffer;
  while (size > 0) {
    ssize_t got = pread(file->fd, bytes, size, (off_t)addr);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      push_os_error(H5E_READERROR, "file read failed", file, errno, addr, size);
      return -1;
    }
    if (got == 0) {
      /* Past the end of the file: HDF5 expects zeros, as sec2 gives. */
      memset(bytes, 0, size);
      break;
    }
    bytes += got;
    addr += (haddr_t)got;
    size -= (size_t)got;
  }
  return 0;
}

static H5FD_t *vfd_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
  (void)fapl;
  if (name == NULL || *name == '\0' || maxaddr == 0 || maxaddr == HADDR_UNDEF || maxaddr > MAX_ADDRESS) {
    PUSH_ERROR(H5E_ARGS, H5E_BADVALUE, "invalid file name or address space");
    return NULL;
  }
  int open_flags = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
  if (flags & H5F_ACC_TRUNC) open_flags |= O_TRUNC;
  if (flags & H5F_ACC_CREAT) open_flags |= O_CREAT;
  if (flags & H5F_ACC_EXCL) open_flags |= O_EXCL;

  direct_file *file = calloc(1, sizeof *file);
  if (file == NULL) {
    PUSH_ERROR(H5E_RESOURCE, H5E_NOSPACE, "out of memory opening %s", name);
    return NULL;
  }
  snprintf(file->name, sizeof file->name, "%s", name);
  file->direct_fd = -1;
  file->fd = open(name, open_flags | O_CLOEXEC, 0666);
  if (file->fd < 0) {
    push_os_error(H5E_CANTOPENFILE, "unable to open file", file, errno, 0, 0);
    free(file);
    return NULL;
  }
  struct stat status;
  if (fstat(file->fd, &status) < 0) {
    push_os_error(H5E_BADFILE, "unable to fstat file", file, errno, 0, 0);
    close(file->fd);
    free(file);
    return NULL;
  }
  file->eof = (haddr_t)status.st_size;
  file->device = status.st_dev;
  file->inode = status.st_ino;
  if (flags & H5F_ACC_RDWR) {
    file->direct_fd = open(name, O_RDWR | O_DIRECT | O_CLOEXEC);
    if (file->direct_fd < 0) count(0, 0, 1);
    else file->stage_ring = write_staging_decide(status.st_dev, NULL, 0);
  }
  pthread_mutex_init(&file->lock, NULL);
  pthread_cond_init(&file->changed, NULL);
  return &file->pub;
}

static herr_t vfd_close(H5FD_t *pub) {
  direct_file *file = (direct_file *)pub;
  bool written = drain(file);
  if (file->writer_started) {
    pthread_mutex_lock(&file->lock);
    file->stopping = true;
    pthread_cond_broadcast(&file->changed);
    pthread_mutex_unlock(&file->lock);
    pthread_join(file->writer, NULL);
    for (unsigned i = 0; i < SLOTS; i++) free(file->slots[i].data);
  }
  int error = 0;
  if (file->direct_fd >= 0 && close(file->direct_fd) < 0) error = errno;
  if (close(file->fd) < 0 && error == 0) error = errno;
  if (error != 0) push_os_error(H5E_CLOSEERROR, "unable to close file", file, error, 0, 0);
  pthread_cond_destroy(&file->changed);
  pthread_mutex_destroy(&file->lock);
  free(file);
  if (tracing()) {
    uint64_t closed = now_ns();
    trace('c', 0, closed, closed, 0, 0, 0);
    trace_dump();
  }
  return written && error == 0 ? 0 : -1;
}

/* H5Fflush: everything written so far reaches the operating system before it returns, as with sec2. */
static herr_t vfd_flush(H5FD_t *pub, hid_t dxpl, hbool_t closing) {
  (void)dxpl;
  (void)closing;
  return drain((direct_file *)pub) ? 0 : -1;
}

static int vfd_cmp(const H5FD_t *pub1, const H5FD_t *pub2) {
  const direct_file *a = (const direct_file *)pub1, *b = (const direct_file *)pub2;
  if (a->device != b->device) return a->device < b->device ? -1 : 1;
  if (a->inode != b->inode) return a->inode < b->inode ? -1 : 1;
  return 0;
}

static herr_t vfd_query(const H5FD_t *pub, unsigned long *flags) {
  (void)pub;
  /* What sec2 declares: HDF5 may aggregate and accumulate metadata and sieve small raw data. */
  *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
           H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_POSIX_COMPAT_HANDLE;
  return 0;
}

static haddr_t vfd_get_eoa(const H5FD_t *pub, H5FD_mem_t type) {
  (void)type;
  return ((const direct_file *)pub)->eoa;
}

static herr_t vfd_set_eoa(H5FD_t *pub, H5FD_mem_t type, haddr_t addr) {
  (void)type;
  ((direct_file *)pub)->eoa = addr;
  return 0;
}

static haddr_t vfd_get_eof(const H5FD_t *pub, H5FD_mem_t type) {
  (void)type;
  return ((const direct_file *)pub)->eof;
}

static herr_t vfd_get_handle(H5FD_t *pub, hid_t fapl, void **handle) {
  (void)fapl;
  *handle = &((direct_file *)pub)->fd;
  return 0;
}

static herr_t vfd_truncate(H5FD_t *pub, hid_t dxpl, hbool_t closing) {
  (void)dxpl;
  (void)closing;
  direct_file *file = (direct_file *)pub;
  if (!drain(file)) return -1;
  if (file->eoa == file->eof) return 0;
  if (ftruncate(file->fd, (off_t)file->eoa) < 0) {
    push_os_error(H5E_SEEKERROR, "unable to extend file properly", file, errno, file->eoa, 0);
    return -1;
  }
  file->eof = file->eoa;
  return 0;
}

static const H5FD_class_t direct_class = {
    .name = "labcast_direct",
    .maxaddr = MAX_ADDRESS,
    .fc_degree = H5F_CLOSE_WEAK,
    .open = vfd_open,
    .close = vfd_close,
    .cmp = vfd_cmp,
    .query = vfd_query,
    .get_eoa = vfd_get_eoa,
    .set_eoa = vfd_set_eoa,
    .get_eof = vfd_get_eof,
    .get_handle = vfd_get_handle,
    .read = vfd_read,
    .write = vfd_write,
    .flush = vfd_flush,
    .truncate = vfd_truncate,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

static hid_t driver_id = H5I_INVALID_HID;

hid_t direct_vfd_id(void) {
  if (driver_id < 0 || H5Iis_valid(driver_id) <= 0) driver_id = H5FDregister(&direct_class);
  return driver_id;
}

herr_t direct_vfd_drain_file(hid_t file_id) {
  hid_t fapl = H5Fget_access_plist(file_id);
  if (fapl < 0) return -1;
  hid_t driver = H5Pget_driver(fapl);
  H5Pclose(fapl);
  if (driver < 0) return -1;
  if (driver_id < 0 || driver != driver_id) return 0;
  void *handle = NULL;
  if (H5Fget_vfd_handle(file_id, H5P_DEFAULT, &handle) < 0 || handle == NULL) return -1;
  /* vfd_get_handle hands out &file->fd. */
  direct_file *file = (direct_file *)((char *)handle - offsetof(direct_file, fd));
  return drain(file) ? 0 : -1;
}

herr_t direct_vfd_set_fapl(hid_t fapl) {
  hid_t id = direct_vfd_id();
  if (id < 0) return -1;
  if (H5Pset_driver(fapl, id, NULL) < 0) return -1;
  return H5Pset_alignment(fapl, DIRECT_VFD_ALIGN_THRESHOLD, DIRECT_VFD_PAGE);
}

direct_vfd_counters direct_vfd_totals(void) {
  pthread_mutex_lock(&totals_lock);
  direct_vfd_counters copy = totals;
  pthread_mutex_unlock(&totals_lock);
  return copy;
}
