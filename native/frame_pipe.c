/*
 * frame_pipe: reads raw frames from a pipe (ffmpeg's rawvideo output) straight
 * into memory the caller gives, a ring slot shared with the saver for large
 * frames, so the pixels go from the kernel's pipe buffer to where the saver
 * writes them from with no copy in user space (src/devices/ffmpeg/ffmpeg-run.ts).
 *
 * openFramePipe(bytes) makes the pipe (its read end non-blocking, both ends
 * close-on-exec), enlarged (never shrunk) towards `bytes` within the
 * system's limit so the writer is not held up while a frame is handed on,
 * and an eventfd that cancels reads.
 *
 * readFramePipe(readFd, cancelFd, view, offset) fills view[offset..] on a
 * libuv worker thread, one thread-pool hop per frame rather than one per
 * chunk, until the view is full, the pipe's writer is gone (end of file) or
 * cancelFd is signalled; the read end being non-blocking, a wait is a poll on
 * both descriptors, so a stop never waits for the writer. The view's buffer
 * is kept alive until the read settles.
 */
#define _GNU_SOURCE
#include "frame_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Where the kernel caps what an unprivileged process may ask of F_SETPIPE_SZ, and its default. */
#define PIPE_MAX_SIZE_PATH "/proc/sys/fs/pipe-max-size"
#define PIPE_MAX_SIZE_DEFAULT (1024 * 1024)

static napi_value throw_errno(napi_env env, const char *what, int error) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static long pipe_max_size(void) {
  FILE *file = fopen(PIPE_MAX_SIZE_PATH, "r");
  if (file == NULL) return PIPE_MAX_SIZE_DEFAULT;
  long value = 0;
  if (fscanf(file, "%ld", &value) != 1 || value <= 0) value = PIPE_MAX_SIZE_DEFAULT;
  fclose(file);
  return value;
}

static napi_value set_int(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  if (napi_create_double(env, value, &number) != napi_ok) return NULL;
  if (napi_set_named_property(env, object, name, number) != napi_ok) return NULL;
  return object;
}

napi_value open_frame_pipe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double wanted = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_double(env, argv[0], &wanted) != napi_ok) {
    napi_throw_type_error(env, NULL, "openFramePipe(bytes)");
    return NULL;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return throw_errno(env, "pipe2", errno);
  int cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (cancel_fd < 0) {
    int error = errno;
    close(fds[0]);
    close(fds[1]);
    return throw_errno(env, "eventfd", error);
  }
  /* Only the reader's end: the writer (ffmpeg) keeps blocking writes. */
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  /* As large as asked, within the system's limit; refused (the user's pipe quota) = the default size, which still works. */
  long max = pipe_max_size();
  long size = (long)wanted;
  if (size > max) size = max;
  if (size > fcntl(fds[0], F_GETPIPE_SZ)) fcntl(fds[0], F_SETPIPE_SZ, (int)size);
  int actual = fcntl(fds[0], F_GETPIPE_SZ);

  napi_value result;
  if (napi_create_object(env, &result) != napi_ok || set_int(env, result, "readFd", fds[0]) == NULL ||
      set_int(env, result, "writeFd", fds[1]) == NULL || set_int(env, result, "cancelFd", cancel_fd) == NULL ||
      set_int(env, result, "pipeBytes", actual) == NULL) {
    close(fds[0]);
    close(fds[1]);
    close(cancel_fd);
    return NULL;
  }
  return result;
}

typedef enum { READ_FULL, READ_EOF, READ_CANCELLED, READ_FAILED } read_end;

/* Reads into [buffer + *done, buffer + bytes) until full, end of file or cancelled; waits in poll when the pipe is empty. */
static read_end read_until(int fd, int cancel_fd, unsigned char *buffer, size_t bytes, size_t *done, int *error) {
  while (*done < bytes) {
    ssize_t got = read(fd, buffer + *done, bytes - *done);
    if (got > 0) {
      *done += (size_t)got;
      continue;
    }
    if (got == 0) return READ_EOF;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      *error = errno;
      return READ_FAILED;
    }
    struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = cancel_fd, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      *error = errno;
      return READ_FAILED;
    }
    if (fds[1].revents != 0) return READ_CANCELLED;
  }
  return READ_FULL;
}

static const char *end_name(read_end end) {
  switch (end) {
    case READ_FULL:
      return "full";
    case READ_EOF:
      return "eof";
    default:
      return "cancelled";
  }
}

static napi_value read_result(napi_env env, size_t done, read_end end) {
  napi_value result, name;
  if (napi_create_object(env, &result) != napi_ok || set_int(env, result, "bytes", (double)done) == NULL) return NULL;
  if (napi_create_string_utf8(env, end_name(end), NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_set_named_property(env, result, "end", name) != napi_ok) {
    return NULL;
  }
  return result;
}

/* The bytes of a Uint8Array, and that `offset` lies within them. */
static int view_bytes(napi_env env, napi_value view, double offset, unsigned char **data, size_t *bytes) {
  bool typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *start = NULL;
  if (napi_is_typedarray(env, view, &typed) != napi_ok || !typed) return 0;
  if (napi_get_typedarray_info(env, view, &type, &length, &start, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  if (offset < 0 || offset > (double)length) return 0;
  *data = (unsigned char *)start;
  *bytes = length;
  return 1;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref view; /* keeps the memory alive while a worker thread writes into it */
  int fd;
  int cancel_fd;
  unsigned char *data;
  size_t bytes;
  size_t done;
  read_end end;
  int error;
} pipe_read;

static void execute_read(napi_env env, void *data) {
  (void)env;
  pipe_read *read = data;
  read->end = read_until(read->fd, read->cancel_fd, read->data, read->bytes, &read->done, &read->error);
}

static void complete_read(napi_env env, napi_status status, void *data) {
  pipe_read *read = data;
  napi_value value = NULL;
  if (status != napi_ok) {
    napi_value message;
    napi_create_string_utf8(env, "reading the frame pipe was cancelled by Node", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &value);
    napi_reject_deferred(env, read->deferred, value);
  } else if (read->end == READ_FAILED) {
    char text[256];
    snprintf(text, sizeof text, "reading the frame pipe: %s", strerror(read->error));
    napi_value message;
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &value);
    napi_reject_deferred(env, read->deferred, value);
  } else {
    value = read_result(env, read->done, read->end);
    napi_resolve_deferred(env, read->deferred, value);
  }
  napi_delete_reference(env, read->view);
  napi_delete_async_work(env, read->work);
  free(read);
}

napi_value read_frame_pipe(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t fd = -1, cancel_fd = -1;
  double offset = 0;
  unsigned char *data = NULL;
  size_t bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &cancel_fd) != napi_ok ||
      napi_get_value_double(env, argv[3], &offset) != napi_ok || !view_bytes(env, argv[2], offset, &data, &bytes)) {
    napi_throw_type_error(env, NULL, "readFramePipe(readFd, cancelFd, view, offset)");
    return NULL;
  }
  pipe_read *read = calloc(1, sizeof *read);
  if (read == NULL) return throw_errno(env, "readFramePipe", ENOMEM);
  read->fd = fd;
  read->cancel_fd = cancel_fd;
  read->data = data;
  read->bytes = bytes;
  read->done = (size_t)offset;
  napi_value promise, name;
  if (napi_create_promise(env, &read->deferred, &promise) != napi_ok) {
    free(read);
    return NULL;
  }
  if (napi_create_reference(env, argv[2], 1, &read->view) != napi_ok) {
    free(read);
    return NULL;
  }
  if (napi_create_string_utf8(env, "labcast:readFramePipe", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute_read, complete_read, read, &read->work) != napi_ok) {
    napi_delete_reference(env, read->view);
    free(read);
    return NULL;
  }
  if (napi_queue_async_work(env, read->work) != napi_ok) {
    napi_delete_async_work(env, read->work);
    napi_delete_reference(env, read->view);
    free(read);
    return NULL;
  }
  return promise;
}
