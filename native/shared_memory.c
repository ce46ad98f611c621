/*
 * shared_memory: memory shared between labcast's acquisition and its local
 * saver, so that large frames cross from one process to the other without
 * passing through a socket (see src/transport/frame-ring.ts).
 *
 * The creator makes an anonymous memfd (it vanishes with the last process
 * that maps it, whoever is killed), maps it, and keeps the descriptor open so
 * that another process of the same user can open it as /proc/PID/fd/FD. Both
 * sides get the mapping as an ArrayBuffer over it (page-aligned, which the
 * O_DIRECT writer likes); the mapping is undone when the ArrayBuffer is
 * collected.
 */
#define _GNU_SOURCE
#include "shared_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The name every ring gets; /proc shows its descriptor as "/memfd:labcast-frames (deleted)". */
#define MEMFD_NAME "labcast-frames"
#define MEMFD_PREFIX "/memfd:" MEMFD_NAME

typedef struct {
  void *address;
  size_t bytes;
  int fd; /* the creator's descriptor, closed with the mapping; -1 for an opener */
} mapping;

/*
 * Slots written from in place. The saver's file driver writes a frame's slot
 * with O_DIRECT from its writer thread after H5Dwrite_chunk has returned
 * (direct_vfd.c), so the slot may go back to the acquisition only once that
 * write is done: the driver holds the slot's range meanwhile. Slots go back
 * in order (the ring's release count says "the first n slots are free"), so
 * a release that finds an earlier one still held waits in `tickets` behind
 * it, and whoever lifts the last hold in its way (the writer thread) makes
 * it. Without O_DIRECT (or when the driver copied) nothing is held and a
 * release is one atomic add, as before.
 */
#define MAX_RINGS 64
#define MAX_HOLDS 64
#define MAX_TICKETS 1024

typedef struct {
  const unsigned char *start;
  size_t bytes;
} range;

typedef struct {
  int64_t *released; /* the ring's release count: its first 8 bytes */
  range slot;
} ticket;

static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rings_changed = PTHREAD_COND_INITIALIZER;
static range rings[MAX_RINGS]; /* rings this process maps */
static unsigned ring_count;
static range holds[MAX_HOLDS];
static unsigned hold_count;
static ticket tickets[MAX_TICKETS];
static unsigned ticket_head, ticket_count;
/*
 * Slots whose frame was copied once already on its way there (Aravis
 * assembling GigE Vision packets, a copy into the slot): the file driver
 * writes them in place rather than spend a second copy on them
 * (write_staging.c). Marked while the saver reads the slot, until its
 * release: one at a time, so MAX_HOLDS is room to spare (a mark left out
 * only costs that frame a copy).
 */
static range copied[MAX_HOLDS];
static unsigned copied_count;

static bool overlap(range a, range b) {
  return a.start < b.start + b.bytes && b.start < a.start + a.bytes;
}

static bool held_locked(range r) {
  for (unsigned i = 0; i < hold_count; i++) {
    if (overlap(holds[i], r)) return true;
  }
  return false;
}

/* Makes the releases no hold is in the way of any more, oldest first. Call with the lock held. */
static void release_ready_locked(void) {
  bool any = false;
  while (ticket_count > 0 && !held_locked(tickets[ticket_head].slot)) {
    /* Sequentially consistent: every read of the slot comes before the count the acquisition sees. */
    __atomic_fetch_add(tickets[ticket_head].released, 1, __ATOMIC_SEQ_CST);
    ticket_head = (ticket_head + 1) % MAX_TICKETS;
    ticket_count--;
    any = true;
  }
  if (any) pthread_cond_broadcast(&rings_changed);
}

static bool waited_on_locked(range r) {
  if (held_locked(r)) return true;
  for (unsigned i = 0; i < ticket_count; i++) {
    const ticket *t = &tickets[(ticket_head + i) % MAX_TICKETS];
    if (overlap(t->slot, r) || ((const unsigned char *)t->released >= r.start && (const unsigned char *)t->released < r.start + r.bytes)) {
      return true;
    }
  }
  return false;
}

static void add_ring(void *address, size_t bytes) {
  pthread_mutex_lock(&rings_lock);
  /* More rings than this at once never happens (one per saver); one left out is only copied from, not held. */
  if (ring_count < MAX_RINGS) rings[ring_count++] = (range){address, bytes};
  pthread_mutex_unlock(&rings_lock);
}

/* Before the mapping goes: waits for the writes that hold slots of it and the releases queued into it. */
static void remove_ring(void *address, size_t bytes) {
  range r = {address, bytes};
  pthread_mutex_lock(&rings_lock);
  for (unsigned i = 0; i < ring_count; i++) {
    if (rings[i].start == r.start) {
      rings[i] = rings[--ring_count];
      break;
    }
  }
  while (waited_on_locked(r)) pthread_cond_wait(&rings_changed, &rings_lock);
  pthread_mutex_unlock(&rings_lock);
}

static bool in_ring_locked(range r) {
  for (unsigned i = 0; i < ring_count; i++) {
    if (r.start >= rings[i].start && r.start + r.bytes <= rings[i].start + rings[i].bytes) return true;
  }
  return false;
}

bool shared_memory_copyable(const void *start, size_t bytes) {
  range r = {start, bytes};
  pthread_mutex_lock(&rings_lock);
  bool copyable = in_ring_locked(r);
  for (unsigned i = 0; i < copied_count && copyable; i++) {
    copyable = !(r.start >= copied[i].start && r.start + r.bytes <= copied[i].start + copied[i].bytes);
  }
  pthread_mutex_unlock(&rings_lock);
  return copyable;
}

bool shared_memory_hold(const void *start, size_t bytes) {
  range r = {start, bytes};
  bool held = false;
  pthread_mutex_lock(&rings_lock);
  if (hold_count < MAX_HOLDS && in_ring_locked(r)) {
    holds[hold_count++] = r;
    held = true;
  }
  pthread_mutex_unlock(&rings_lock);
  return held;
}

void shared_memory_unhold(const void *start, size_t bytes) {
  pthread_mutex_lock(&rings_lock);
  for (unsigned i = 0; i < hold_count; i++) {
    if (holds[i].start == start && holds[i].bytes == bytes) {
      holds[i] = holds[--hold_count];
      break;
    }
  }
  release_ready_locked();
  pthread_cond_broadcast(&rings_changed);
  pthread_mutex_unlock(&rings_lock);
}

static void release_mapping(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping *map = hint;
  remove_ring(map->address, map->bytes);
  munmap(map->address, map->bytes);
  if (map->fd >= 0) close(map->fd);
  free(map);
}

static napi_value throw_errno(napi_env env, const char *what, int error) {
  char message[512];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value wrap(napi_env env, void *address, size_t bytes, int fd) {
  mapping *map = malloc(sizeof *map);
  if (map == NULL) {
    munmap(address, bytes);
    if (fd >= 0) close(fd);
    return throw_errno(env, "shared memory", ENOMEM);
  }
  *map = (mapping){address, bytes, fd};
  add_ring(address, bytes);
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, address, bytes, release_mapping, map, &buffer) != napi_ok) {
    release_mapping(env, NULL, map);
    napi_throw_error(env, NULL, "shared memory: napi_create_external_arraybuffer failed");
    return NULL;
  }
  return buffer;
}

/* The slot (buffer, offset, bytes) a call names, as a range of the ring; false (an exception thrown) if it is none. */
static bool slot_argument(napi_env env, napi_callback_info info, const char *call, void **base, range *slot) {
  size_t argc = 3;
  napi_value args[3];
  size_t length = 0;
  double offset = 0, bytes = 0;
  char message[128];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_arraybuffer_info(env, args[0], base, &length) != napi_ok ||
      napi_get_value_double(env, args[1], &offset) != napi_ok || napi_get_value_double(env, args[2], &bytes) != napi_ok) {
    snprintf(message, sizeof message, "%s(buffer, offset, bytes)", call);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  if (!(offset >= 8) || !(bytes >= 0) || offset + bytes > (double)length || offset != (double)(size_t)offset ||
      bytes != (double)(size_t)bytes || (uintptr_t)*base % 8 != 0) {
    snprintf(message, sizeof message, "%s: the slot does not lie in the ring", call);
    napi_throw_range_error(env, NULL, message);
    return false;
  }
  *slot = (range){(const unsigned char *)*base + (size_t)offset, (size_t)bytes};
  return true;
}

/*
 * markSharedSlotCopied(buffer, offset, bytes): the frame in this slot took a
 * copy already on its way there; until its release the file driver writes it
 * from where it lies, never copying it again.
 */
napi_value mark_shared_slot_copied(napi_env env, napi_callback_info info) {
  void *base = NULL;
  range slot;
  if (!slot_argument(env, info, "markSharedSlotCopied", &base, &slot)) return NULL;
  pthread_mutex_lock(&rings_lock);
  if (copied_count < MAX_HOLDS) copied[copied_count++] = slot;
  pthread_mutex_unlock(&rings_lock);
  return NULL;
}

/*
 * releaseSharedSlot(buffer, offset, bytes): the slot [offset, offset + bytes)
 * of the ring `buffer` goes back to the acquisition (its release count, the
 * ring's first 8 bytes, counts one more) now, or once the writes that still
 * hold it or an earlier slot are done.
 */
napi_value release_shared_slot(napi_env env, napi_callback_info info) {
  void *base = NULL;
  range slot;
  if (!slot_argument(env, info, "releaseSharedSlot", &base, &slot)) return NULL;
  pthread_mutex_lock(&rings_lock);
  for (unsigned i = 0; i < copied_count; i++) {
    if (overlap(copied[i], slot)) copied[i--] = copied[--copied_count];
  }
  while (ticket_count == MAX_TICKETS) pthread_cond_wait(&rings_changed, &rings_lock);
  tickets[(ticket_head + ticket_count) % MAX_TICKETS] = (ticket){(int64_t *)base, slot};
  ticket_count++;
  release_ready_locked();
  pthread_mutex_unlock(&rings_lock);
  return NULL;
}

static bool get_size(napi_env env, napi_value value, size_t *bytes) {
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number > 0) || number > (double)(1ULL << 40) ||
      number != (double)(size_t)number) {
    napi_throw_range_error(env, NULL, "shared memory: the size must be a positive whole number of bytes");
    return false;
  }
  *bytes = (size_t)number;
  return true;
}

/* createSharedMemory(bytes): { buffer, path } — path opens it from another process. */
napi_value create_shared_memory(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  size_t bytes = 0;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, NULL, "createSharedMemory(bytes)");
    return NULL;
  }
  if (!get_size(env, args[0], &bytes)) return NULL;
  int fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "memfd_create", errno);
  if (ftruncate(fd, (off_t)bytes) < 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, "shared memory: ftruncate", error);
  }
  void *address = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) {
    int error = errno;
    close(fd);
    return throw_errno(env, "shared memory: mmap", error);
  }
  /*
   * Huge pages where the administrator lets shared memory have them
   * (shmem_enabled): a slot is then a few pieces of physical memory, which
   * the saver's O_DIRECT writes take in one device request (write_staging.c).
   * Elsewhere the kernel ignores the request.
   */
  madvise(address, bytes, MADV_HUGEPAGE);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)getpid(), fd);
  napi_value buffer = wrap(env, address, bytes, fd);
  if (buffer == NULL) return NULL;
  napi_value result, path_value;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &path_value) != napi_ok ||
      napi_set_named_property(env, result, "buffer", buffer) != napi_ok ||
      napi_set_named_property(env, result, "path", path_value) != napi_ok) {
    napi_throw_error(env, NULL, "shared memory: cannot build the result");
    return NULL;
  }
  return result;
}

/* openSharedMemory(path, bytes): ArrayBuffer over memory another process created. */
napi_value open_shared_memory(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  size_t bytes = 0;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "openSharedMemory(path, bytes)");
    return NULL;
  }
  char path[256];
  size_t length = 0;
  if (napi_get_value_string_utf8(env, args[0], path, sizeof path, &length) != napi_ok || length == 0 ||
      length >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "openSharedMemory: the path must be a short string");
    return NULL;
  }
  if (!get_size(env, args[1], &bytes)) return NULL;
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, path, errno);
  /*
   * Only ever a ring of labcast's: the path comes in a message, and mapping
   * some other file read-write (then writing the release count into it)
   * would damage it.
   */
  char link[64], target[128];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t length_read = readlink(link, target, sizeof target - 1);
  if (length_read < 0 || (target[length_read] = '\0', strncmp(target, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) != 0)) {
    close(fd);
    napi_throw_error(env, NULL, "shared memory: not a labcast frame ring");
    return NULL;
  }
  struct stat status;
  if (fstat(fd, &status) < 0 || (size_t)status.st_size < bytes) {
    int error = errno == 0 ? EINVAL : errno;
    close(fd);
    return throw_errno(env, "shared memory smaller than announced", error);
  }
  void *address = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int error = errno;
  close(fd);
  if (address == MAP_FAILED) return throw_errno(env, "shared memory: mmap", error);
  return wrap(env, address, bytes, -1);
}

/*
 * keepFreedMemory(): freed heap memory stays with this process for the next
 * allocation instead of going back to the kernel. Frames pass through
 * malloc'd buffers at up to GB/s: ZeroMQ's receive buffer of every message in
 * the saver, the blocks small frames are made in in the acquisition. glibc
 * maps each buffer of 128 KiB or more afresh and gives it back when freed (and
 * trims its heap likewise), so every 4 KiB page of every message was a page
 * fault with a zeroed page: half the page faults of a 64x64 recording, ~30 %
 * of its frame rate (docs/performance.md). Buffers up to 32 MiB (glibc's
 * largest threshold) now come from the heap and are reused as they are freed;
 * the heap keeps up to 256 MiB it no longer uses.
 */
napi_value keep_freed_memory(napi_env env, napi_callback_info info) {
  (void)info;
  if (mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) != 1 || mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024) != 1) {
    napi_throw_error(env, NULL, "keepFreedMemory: mallopt refused");
  }
  return NULL;
}
