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

static void release_mapping(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping *map = hint;
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
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, address, bytes, release_mapping, map, &buffer) != napi_ok) {
    release_mapping(env, NULL, map);
    napi_throw_error(env, NULL, "shared memory: napi_create_external_arraybuffer failed");
    return NULL;
  }
  return buffer;
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
