/*
 * labcast_hdf5: a small, generic Node-API binding over the system libhdf5,
 * enough for src/storage to write the recording layout natively. The layout
 * itself lives in TypeScript (src/storage/layout-writer.ts); this file only
 * turns JavaScript calls into HDF5 calls and HDF5 failures into exceptions.
 *
 * Handles (files, datasets) are HDF5 ids passed to JavaScript as BigInts:
 * hid_t is 64 bits with the object type in the high bits, beyond a double's
 * exact range. HDF5 checks the ids it is given, so a stale or forged handle
 * is an exception, not a crash, with one exception met on a full disk: a
 * second H5Fclose after a failed one crashes libhdf5 1.10, which
 * src/storage/native-backend.ts prevents.
 *
 * Every call is synchronous and runs on the JavaScript thread: Debian's serial
 * libhdf5 is not thread-safe, and the saver is a process of its own. The one
 * other threads are the file driver's writer (direct_vfd.c) and the
 * compression workers (chunk_pipeline.c), which never call HDF5.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <hdf5.h>

#include "chunk_codec.h"
#include "chunk_pipeline.h"
#include "direct_vfd.h"
#include "shared_memory.h"
#include "frame_pipe.h"
#include "write_staging.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

/* H5Dwrite_chunk arrived in 1.10.3, H5Pset_file_locking in 1.10.7. */
#if !H5_VERSION_GE(1, 10, 7)
#error "labcast_hdf5 needs HDF5 1.10.7 or newer"
#endif

#define MAX_RANK 32
#define MAX_STACK_LINES 24

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * The last HDF5 failure, captured right after the failing call: any later
 * HDF5 API call (even a close in the clean-up) clears the library's stack.
 */
static struct {
  char reason[1024];
  char message[4096];
  char lines[MAX_STACK_LINES][512];
  int line_count;
} failure;

typedef struct {
  char os_message[256];
  char os_context[256];
  int os_errno;
  char details[768];
  int detail_count;
} stack_summary;

static void append_text(char *target, size_t size, const char *text) {
  size_t used = strlen(target);
  if (used + 1 >= size) return;
  snprintf(target + used, size - used, "%s", text);
}

/* "file write failed: time = ..., errno = 28, error message = 'No space left on device', ..." */
static bool extract_os_error(const char *desc, stack_summary *summary) {
  const char *quoted = strstr(desc, "error message = '");
  if (quoted == NULL) return false;
  quoted += strlen("error message = '");
  const char *end = strchr(quoted, '\'');
  size_t length = end == NULL ? strlen(quoted) : (size_t)(end - quoted);
  if (length >= sizeof summary->os_message) length = sizeof summary->os_message - 1;
  memcpy(summary->os_message, quoted, length);
  summary->os_message[length] = '\0';

  const char *errno_text = strstr(desc, "errno = ");
  summary->os_errno = errno_text == NULL ? 0 : atoi(errno_text + strlen("errno = "));

  /* What HDF5 was doing, without the long list of file offsets and sizes. */
  const char *colon = strchr(desc, ':');
  length = colon == NULL ? strlen(desc) : (size_t)(colon - desc);
  if (length >= sizeof summary->os_context) length = sizeof summary->os_context - 1;
  memcpy(summary->os_context, desc, length);
  summary->os_context[length] = '\0';
  return true;
}

static herr_t visit_stack_entry(unsigned n, const H5E_error2_t *entry, void *data) {
  (void)n;
  stack_summary *summary = data;
  const char *desc = entry->desc == NULL ? "" : entry->desc;

  char minor[128] = "";
  H5Eget_msg(entry->min_num, NULL, minor, sizeof minor);
  if (failure.line_count < MAX_STACK_LINES) {
    snprintf(failure.lines[failure.line_count++], sizeof failure.lines[0], "%s(): %s [%s] (%s line %u)",
             entry->func_name == NULL ? "?" : entry->func_name, desc, minor,
             entry->file_name == NULL ? "?" : entry->file_name, entry->line);
  }

  if (summary->os_message[0] == '\0') extract_os_error(desc, summary);
  /* Innermost first, each text once, a few at most: the cause, then its context. */
  if (desc[0] != '\0' && summary->detail_count < 3 && strstr(summary->details, desc) == NULL) {
    if (summary->detail_count > 0) append_text(summary->details, sizeof summary->details, "; ");
    append_text(summary->details, sizeof summary->details, desc);
    summary->detail_count++;
  }
  return 0;
}

/* Reads the current HDF5 error stack into `failure`; its message is composed by name_failure(). */
static void capture_stack(void) {
  failure.line_count = 0;
  stack_summary summary;
  memset(&summary, 0, sizeof summary);

  /* A copy of the stack: walking it calls H5Eget_msg, an API call of its own. */
  hid_t stack = H5Eget_current_stack();
  if (stack >= 0) {
    H5Ewalk2(stack, H5E_WALK_UPWARD, visit_stack_entry, &summary);
    H5Eclose_stack(stack);
  }

  if (summary.os_message[0] != '\0') {
    snprintf(failure.reason, sizeof failure.reason, "%s (errno %d; HDF5: %s)", summary.os_message, summary.os_errno,
             summary.os_context);
  } else if (summary.details[0] != '\0') {
    snprintf(failure.reason, sizeof failure.reason, "HDF5: %s", summary.details);
  } else {
    snprintf(failure.reason, sizeof failure.reason, "HDF5 reported a failure without details");
  }
}

/* "what failed: why" */
static void name_failure(const char *what) {
  snprintf(failure.message, sizeof failure.message, "%s: %s", what, failure.reason);
}

/* Records the current HDF5 error stack as the message of the next exception. */
static void capture_failure(const char *what) {
  capture_stack();
  name_failure(what);
}

static napi_value throw_failure(napi_env env) {
  napi_value message, error, lines;
  if (napi_create_string_utf8(env, failure.message, NAPI_AUTO_LENGTH, &message) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, message, &error) != napi_ok) return NULL;
  if (napi_create_array_with_length(env, (size_t)failure.line_count, &lines) == napi_ok) {
    for (int i = 0; i < failure.line_count; i++) {
      napi_value line;
      if (napi_create_string_utf8(env, failure.lines[i], NAPI_AUTO_LENGTH, &line) == napi_ok) {
        napi_set_element(env, lines, (uint32_t)i, line);
      }
    }
    napi_set_named_property(env, error, "hdf5Stack", lines);
  }
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_hdf5(napi_env env, const char *what) {
  capture_failure(what);
  return throw_failure(env);
}

/* A Node-API call failed: usually an argument of the wrong type, with an exception already pending. */
static napi_value throw_napi(napi_env env, const char *call) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    char message[512];
    snprintf(message, sizeof message, "labcast_hdf5: %s failed: %s", call,
             info != NULL && info->error_message != NULL ? info->error_message : "unknown Node-API error");
    napi_throw_error(env, NULL, message);
  }
  return NULL;
}

#define NAPI_CALL(env, call)                                                                                \
  do {                                                                                                      \
    if ((call) != napi_ok) return throw_napi((env), #call);                                                \
  } while (0)

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

static bool throw_out_of_memory(napi_env env) {
  napi_throw_error(env, NULL, "labcast_hdf5: out of memory");
  return false;
}

static napi_value throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------ */

static bool get_args(napi_env env, napi_callback_info info, size_t expected, napi_value *args) {
  size_t count = expected;
  if (napi_get_cb_info(env, info, &count, args, NULL, NULL) != napi_ok) {
    throw_napi(env, "napi_get_cb_info");
    return false;
  }
  if (count < expected) {
    char message[96];
    snprintf(message, sizeof message, "labcast_hdf5: expected %zu arguments, got %zu", expected, count);
    throw_type(env, message);
    return false;
  }
  return true;
}

static bool get_handle(napi_env env, napi_value value, hid_t *id) {
  int64_t raw = 0;
  bool lossless = false;
  if (napi_get_value_bigint_int64(env, value, &raw, &lossless) != napi_ok || !lossless) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) throw_type(env, "labcast_hdf5: a handle is a bigint returned by this module");
    return false;
  }
  *id = (hid_t)raw;
  return true;
}

static napi_value make_handle(napi_env env, hid_t id) {
  napi_value result;
  NAPI_CALL(env, napi_create_bigint_int64(env, (int64_t)id, &result));
  return result;
}

/* A UTF-8 copy of a JavaScript string; free() it. NULL with an exception pending on failure. */
static char *get_string(napi_env env, napi_value value) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) throw_type(env, "labcast_hdf5: expected a string");
    return NULL;
  }
  char *text = malloc(length + 1);
  if (text == NULL) {
    throw_out_of_memory(env);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, text, length + 1, &length) != napi_ok) {
    free(text);
    throw_napi(env, "napi_get_value_string_utf8");
    return NULL;
  }
  return text;
}

/*
 * An array of dimension sizes. With allow_unlimited, -1 means "no limit"
 * (H5S_UNLIMITED); other values must be non-negative integers.
 */
static bool get_dims(napi_env env, napi_value value, hsize_t *dims, int *rank, bool allow_unlimited) {
  bool is_array = false;
  uint32_t length = 0;
  if (napi_is_array(env, value, &is_array) != napi_ok || !is_array) {
    throw_type(env, "labcast_hdf5: dimensions must be an array of integers");
    return false;
  }
  if (napi_get_array_length(env, value, &length) != napi_ok) {
    throw_napi(env, "napi_get_array_length");
    return false;
  }
  if (length > MAX_RANK) {
    throw_range(env, "labcast_hdf5: more than 32 dimensions");
    return false;
  }
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;
    double number = 0;
    if (napi_get_element(env, value, i, &element) != napi_ok || napi_get_value_double(env, element, &number) != napi_ok) {
      throw_type(env, "labcast_hdf5: dimensions must be an array of integers");
      return false;
    }
    if (allow_unlimited && number == -1) {
      dims[i] = H5S_UNLIMITED;
    } else if (!(number >= 0 && number <= 9007199254740991.0) || number != (double)(hsize_t)number) {
      /* The range check comes first: it also refuses NaN, whose conversion to an integer is undefined. */
      throw_range(env, "labcast_hdf5: a dimension is not a non-negative integer");
      return false;
    } else {
      dims[i] = (hsize_t)number;
    }
  }
  *rank = (int)length;
  return true;
}

/* The bytes behind a TypedArray, Buffer, DataView or ArrayBuffer, without copying. */
typedef struct {
  void *data;
  size_t bytes;
  bool typed;
  napi_typedarray_type type;
} byte_view;

static bool get_bytes(napi_env env, napi_value value, byte_view *view) {
  bool is = false;
  view->typed = false;
  if (napi_is_typedarray(env, value, &is) == napi_ok && is) {
    size_t length = 0;
    if (napi_get_typedarray_info(env, value, &view->type, &length, &view->data, NULL, NULL) != napi_ok) {
      throw_napi(env, "napi_get_typedarray_info");
      return false;
    }
    size_t element = 1;
    switch (view->type) {
      case napi_int16_array:
      case napi_uint16_array: element = 2; break;
      case napi_int32_array:
      case napi_uint32_array:
      case napi_float32_array: element = 4; break;
      case napi_float64_array:
      case napi_bigint64_array:
      case napi_biguint64_array: element = 8; break;
      default: element = 1; break;
    }
    view->bytes = length * element;
    view->typed = true;
    return true;
  }
  if (napi_is_dataview(env, value, &is) == napi_ok && is) {
    if (napi_get_dataview_info(env, value, &view->bytes, &view->data, NULL, NULL) != napi_ok) {
      throw_napi(env, "napi_get_dataview_info");
      return false;
    }
    return true;
  }
  if (napi_is_arraybuffer(env, value, &is) == napi_ok && is) {
    if (napi_get_arraybuffer_info(env, value, &view->data, &view->bytes) != napi_ok) {
      throw_napi(env, "napi_get_arraybuffer_info");
      return false;
    }
    return true;
  }
  throw_type(env, "labcast_hdf5: data must be a TypedArray, Buffer, DataView or ArrayBuffer");
  return false;
}

/* The in-memory HDF5 type of a typed array's elements (host byte order: HDF5 converts to the file's). */
static hid_t memory_type_of(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: return H5T_NATIVE_INT8;
    case napi_uint8_array:
    case napi_uint8_clamped_array: return H5T_NATIVE_UINT8;
    case napi_int16_array: return H5T_NATIVE_INT16;
    case napi_uint16_array: return H5T_NATIVE_UINT16;
    case napi_int32_array: return H5T_NATIVE_INT32;
    case napi_uint32_array: return H5T_NATIVE_UINT32;
    case napi_float32_array: return H5T_NATIVE_FLOAT;
    case napi_float64_array: return H5T_NATIVE_DOUBLE;
    case napi_bigint64_array: return H5T_NATIVE_INT64;
    case napi_biguint64_array: return H5T_NATIVE_UINT64;
    default: return H5I_INVALID_HID;
  }
}

/*
 * Variable-length UTF-8 text, space-padded: the same string type h5wasm
 * writes, so both backends produce identical files. Close it after use.
 */
static hid_t make_text_type(void) {
  hid_t type = H5Tcopy(H5T_C_S1);
  if (type < 0) return type;
  if (H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0 ||
      H5Tset_strpad(type, H5T_STR_SPACEPAD) < 0) {
    H5Tclose(type);
    return H5I_INVALID_HID;
  }
  return type;
}

/*
 * The file type for a dtype name (little-endian, as the wire carries pixels).
 * *owned is set when the caller must H5Tclose the result.
 */
static hid_t file_type_of(const char *dtype, bool *owned) {
  *owned = false;
  if (strcmp(dtype, "uint8") == 0) return H5T_STD_U8LE;
  if (strcmp(dtype, "int8") == 0) return H5T_STD_I8LE;
  if (strcmp(dtype, "uint16") == 0) return H5T_STD_U16LE;
  if (strcmp(dtype, "int16") == 0) return H5T_STD_I16LE;
  if (strcmp(dtype, "uint32") == 0) return H5T_STD_U32LE;
  if (strcmp(dtype, "int32") == 0) return H5T_STD_I32LE;
  if (strcmp(dtype, "uint64") == 0) return H5T_STD_U64LE;
  if (strcmp(dtype, "int64") == 0) return H5T_STD_I64LE;
  if (strcmp(dtype, "float32") == 0) return H5T_IEEE_F32LE;
  if (strcmp(dtype, "float64") == 0) return H5T_IEEE_F64LE;
  if (strcmp(dtype, "string") == 0) {
    *owned = true;
    return make_text_type();
  }
  return H5I_INVALID_HID;
}

/* Text values: one JavaScript string, or an array of them. Pointers into one allocation; free_texts() it. */
typedef struct {
  char **items;
  size_t count;
} text_list;

static void free_texts(text_list *list) {
  if (list->items == NULL) return;
  for (size_t i = 0; i < list->count; i++) free(list->items[i]);
  free(list->items);
  list->items = NULL;
}

static bool get_texts(napi_env env, napi_value value, text_list *list) {
  napi_valuetype kind;
  bool is_array = false;
  list->items = NULL;
  list->count = 0;
  if (napi_typeof(env, value, &kind) != napi_ok) {
    throw_napi(env, "napi_typeof");
    return false;
  }
  if (kind == napi_string) {
    list->items = calloc(1, sizeof(char *));
    if (list->items == NULL) return throw_out_of_memory(env);
    list->count = 1;
    list->items[0] = get_string(env, value);
    if (list->items[0] == NULL) {
      free_texts(list);
      return false;
    }
    return true;
  }
  if (napi_is_array(env, value, &is_array) != napi_ok || !is_array) {
    throw_type(env, "labcast_hdf5: text data must be a string or an array of strings");
    return false;
  }
  uint32_t length = 0;
  napi_get_array_length(env, value, &length);
  list->items = calloc(length == 0 ? 1 : length, sizeof(char *));
  if (list->items == NULL) return throw_out_of_memory(env);
  list->count = length;
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;
    if (napi_get_element(env, value, i, &element) != napi_ok) throw_napi(env, "napi_get_element");
    else list->items[i] = get_string(env, element);
    if (list->items[i] == NULL) {
      free_texts(list);
      return false;
    }
  }
  return true;
}

static hsize_t element_count(const hsize_t *dims, int rank) {
  hsize_t count = 1;
  for (int i = 0; i < rank; i++) count *= dims[i];
  return count;
}

/* A dataspace of the given shape ([] = scalar) and optional maximum shape. */
static hid_t make_space(const hsize_t *dims, int rank, const hsize_t *max_dims) {
  return rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, max_dims);
}

/*
 * Writes `data` (text or a typed array) as the whole of an attribute or
 * dataset whose file type is `file_type` and which holds `count` elements.
 */
typedef herr_t (*writer_fn)(hid_t target, hid_t memory_type, const void *buffer);

static herr_t write_attribute(hid_t target, hid_t memory_type, const void *buffer) {
  return H5Awrite(target, memory_type, buffer);
}

/*
 * HDF5 1.10 allocates (and zeroes) its whole type-conversion buffer, 1 MiB by
 * default, for every H5Dwrite that converts, such as each text dataset of a
 * file's metadata: ~2 MiB of memset per text, most of a file's creation cost
 * (measured with perf). A whole-dataset write converts in strips of this many
 * bytes instead; one element always fits.
 */
#define WHOLE_WRITE_BUFFER_BYTES (16 * 1024)

static hid_t whole_write_transfer(void) {
  static hid_t transfer = H5I_INVALID_HID;
  if (transfer >= 0) return transfer;
  hid_t made = H5Pcreate(H5P_DATASET_XFER);
  if (made < 0) return H5P_DEFAULT;
  if (H5Pset_buffer(made, WHOLE_WRITE_BUFFER_BYTES, NULL, NULL) < 0) {
    H5Pclose(made);
    return H5P_DEFAULT;
  }
  transfer = made;
  return transfer;
}

static herr_t write_whole_dataset(hid_t target, hid_t memory_type, const void *buffer) {
  return H5Dwrite(target, memory_type, H5S_ALL, H5S_ALL, whole_write_transfer(), buffer);
}

/* Returns false with an exception pending (or a captured HDF5 failure thrown). */
static bool write_values(napi_env env, hid_t target, hid_t file_type, hsize_t count, napi_value data, writer_fn write,
                         const char *what) {
  if (H5Tget_class(file_type) == H5T_STRING) {
    text_list texts;
    if (!get_texts(env, data, &texts)) return false;
    if ((hsize_t)texts.count != count) {
      free_texts(&texts);
      throw_range(env, "labcast_hdf5: the number of strings does not match the shape");
      return false;
    }
    herr_t status = 0;
    if (count > 0) {
      hid_t memory_type = make_text_type();
      status = memory_type < 0 ? -1 : write(target, memory_type, texts.items);
      if (status < 0) capture_failure(what);
      if (memory_type >= 0) H5Tclose(memory_type);
    }
    free_texts(&texts);
    if (status < 0) return throw_failure(env), false;
    return true;
  }

  byte_view view;
  if (!get_bytes(env, data, &view)) return false;
  if (!view.typed) {
    throw_type(env, "labcast_hdf5: numbers must come in a TypedArray of the values' type");
    return false;
  }
  hid_t memory_type = memory_type_of(view.type);
  if (memory_type < 0) {
    throw_type(env, "labcast_hdf5: unsupported TypedArray type");
    return false;
  }
  if ((hsize_t)view.bytes != count * H5Tget_size(memory_type)) {
    throw_range(env, "labcast_hdf5: the data does not hold exactly one value per element of the shape");
    return false;
  }
  if (count == 0) return true;
  if (write(target, memory_type, view.data) < 0) {
    throw_hdf5(env, what);
    return false;
  }
  return true;
}

/* ------------------------------------------------------------------------ */
/* Files and groups                                                          */
/* ------------------------------------------------------------------------ */

/* createFile(path, exclusive, directIo): bigint */
static napi_value create_file(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!get_args(env, info, 3, args)) return NULL;
  bool exclusive = true, direct_io = true;
  NAPI_CALL(env, napi_get_value_bool(env, args[1], &exclusive));
  NAPI_CALL(env, napi_get_value_bool(env, args[2], &direct_io));
  char *path = get_string(env, args[0]);
  if (path == NULL) return NULL;

  char what[1200];
  snprintf(what, sizeof what, "cannot create %s", path);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  hid_t file = H5I_INVALID_HID;
  bool ok = fapl >= 0 &&
            /*
             * [v1.8, v1.10]: readable by HDF5 1.10, and superblock v2, which has
             * no "open for write" flag that would stop h5py from reading a file
             * being recorded (see src/storage/hdf5-layout.ts, LIBVER_BOUNDS).
             */
            H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V110) >= 0 &&
            /*
             * No flock: HDF5 1.10 would hold an exclusive lock for as long as the
             * writer has the file open, and h5py, taking a shared lock, could not
             * read a recording in progress.
             */
            H5Pset_file_locking(fapl, false, true) >= 0 &&
            /* Closing the file closes every object still open in it, even after a failure. */
            H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0 &&
            /* Frame chunks past the page cache (native/direct_vfd.c); otherwise HDF5's sec2 driver. */
            (!direct_io || direct_vfd_set_fapl(fapl) >= 0);
  if (ok) {
    file = H5Fcreate(path, exclusive ? H5F_ACC_EXCL : H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    ok = file >= 0;
  }
  if (!ok) capture_failure(what);
  if (fapl >= 0) H5Pclose(fapl);
  free(path);
  if (!ok) return throw_failure(env);
  return make_handle(env, file);
}

/* flush(file): everything written so far goes to the operating system (not fsync'd). */
static napi_value flush_file(napi_env env, napi_callback_info info) {
  napi_value args[1];
  hid_t file;
  if (!get_args(env, info, 1, args) || !get_handle(env, args[0], &file)) return NULL;
  if (direct_vfd_drain_file(file) < 0 || H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
    return throw_hdf5(env, "flushing the file failed");
  }
  return NULL;
}

/* closeFile(file) */
static napi_value close_file(napi_env env, napi_callback_info info) {
  napi_value args[1];
  hid_t file;
  if (!get_args(env, info, 1, args) || !get_handle(env, args[0], &file)) return NULL;
  if (direct_vfd_drain_file(file) < 0) return throw_hdf5(env, "closing the file failed");
  if (H5Fclose(file) < 0) return throw_hdf5(env, "closing the file failed");
  return NULL;
}

/* createGroup(file, path) */
static napi_value create_group(napi_env env, napi_callback_info info) {
  napi_value args[2];
  hid_t file;
  if (!get_args(env, info, 2, args) || !get_handle(env, args[0], &file)) return NULL;
  char *path = get_string(env, args[1]);
  if (path == NULL) return NULL;
  hid_t group = H5Gcreate2(file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0) {
    char what[1200];
    snprintf(what, sizeof what, "cannot create group %s", path);
    free(path);
    return throw_hdf5(env, what);
  }
  free(path);
  H5Gclose(group);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Attributes                                                                */
/* ------------------------------------------------------------------------ */

/*
 * setAttribute(file, objectPath, name, dtype, shape, data): creates or
 * replaces an attribute. dtype "string" takes a string (shape []) or an array
 * of strings (shape [n]); numeric dtypes take a TypedArray of the values.
 */
static napi_value set_attribute(napi_env env, napi_callback_info info) {
  napi_value args[6];
  hid_t file;
  hsize_t dims[MAX_RANK];
  int rank = 0;
  if (!get_args(env, info, 6, args) || !get_handle(env, args[0], &file)) return NULL;
  if (!get_dims(env, args[4], dims, &rank, false)) return NULL;
  char *object = get_string(env, args[1]);
  char *name = object == NULL ? NULL : get_string(env, args[2]);
  char *dtype = name == NULL ? NULL : get_string(env, args[3]);
  if (dtype == NULL) {
    free(object);
    free(name);
    return NULL;
  }

  char what[1400];
  snprintf(what, sizeof what, "cannot write attribute %s of %s", name, object);
  bool owned = false;
  hid_t file_type = file_type_of(dtype, &owned);
  hid_t space = H5I_INVALID_HID;
  hid_t attribute = H5I_INVALID_HID;
  if (file_type < 0) {
    throw_type(env, "labcast_hdf5: unknown dtype");
    goto done;
  }
  htri_t exists = H5Aexists_by_name(file, object, name, H5P_DEFAULT);
  if (exists < 0) goto hdf5_failed;
  /*
   * Replaced rather than rewritten in place: HDF5 1.10 fails to write an
   * existing attribute reopened by name ("can't locate open attribute?").
   * The object header reuses the freed space.
   */
  if (exists > 0 && H5Adelete_by_name(file, object, name, H5P_DEFAULT) < 0) goto hdf5_failed;
  space = make_space(dims, rank, NULL);
  if (space < 0) goto hdf5_failed;
  attribute = H5Acreate_by_name(file, object, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (attribute < 0) goto hdf5_failed;
  /* On failure it has thrown; the clean-up is the same either way. */
  write_values(env, attribute, file_type, element_count(dims, rank), args[5], write_attribute, what);
  goto done;

hdf5_failed:
  capture_failure(what);
  throw_failure(env);

done:
  if (attribute >= 0) H5Aclose(attribute);
  if (space >= 0) H5Sclose(space);
  if (owned && file_type >= 0) H5Tclose(file_type);
  free(object);
  free(name);
  free(dtype);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Datasets                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * createDataset(file, path, dtype, shape, maxShape, chunks): bigint
 * maxShape null = fixed size, -1 in it = unlimited; chunks null = contiguous.
 */
static napi_value create_dataset(napi_env env, napi_callback_info info) {
  napi_value args[6];
  hid_t file;
  hsize_t dims[MAX_RANK], max_dims[MAX_RANK], chunks[MAX_RANK];
  int rank = 0, max_rank = 0, chunk_rank = 0;
  napi_valuetype kind;
  if (!get_args(env, info, 6, args) || !get_handle(env, args[0], &file)) return NULL;
  if (!get_dims(env, args[3], dims, &rank, false)) return NULL;
  NAPI_CALL(env, napi_typeof(env, args[4], &kind));
  bool has_max = kind != napi_null && kind != napi_undefined;
  if (has_max && !get_dims(env, args[4], max_dims, &max_rank, true)) return NULL;
  NAPI_CALL(env, napi_typeof(env, args[5], &kind));
  bool chunked = kind != napi_null && kind != napi_undefined;
  if (chunked && !get_dims(env, args[5], chunks, &chunk_rank, false)) return NULL;
  if ((has_max && max_rank != rank) || (chunked && chunk_rank != rank)) {
    return throw_range(env, "labcast_hdf5: shape, maxShape and chunks must have the same rank");
  }
  if (chunked && (rank == 0 || element_count(chunks, chunk_rank) == 0)) {
    return throw_range(env, "labcast_hdf5: chunks must be positive, and a scalar cannot be chunked");
  }
  char *path = get_string(env, args[1]);
  char *dtype = path == NULL ? NULL : get_string(env, args[2]);
  if (dtype == NULL) {
    free(path);
    return NULL;
  }

  char what[1200];
  snprintf(what, sizeof what, "cannot create dataset %s", path);
  bool owned = false;
  hid_t file_type = file_type_of(dtype, &owned);
  hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dataset = H5I_INVALID_HID;
  bool failed = false;
  if (file_type < 0) {
    free(path);
    free(dtype);
    return throw_type(env, "labcast_hdf5: unknown dtype");
  }
  space = make_space(dims, rank, has_max ? max_dims : NULL);
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  failed = space < 0 || dcpl < 0 || (chunked && H5Pset_chunk(dcpl, rank, chunks) < 0);
  if (!failed) {
    dataset = H5Dcreate2(file, path, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    failed = dataset < 0;
  }
  if (failed) capture_failure(what);
  if (space >= 0) H5Sclose(space);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (owned) H5Tclose(file_type);
  free(path);
  free(dtype);
  if (failed) return throw_failure(env);
  return make_handle(env, dataset);
}

/* closeDataset(dataset) */
static napi_value close_dataset(napi_env env, napi_callback_info info) {
  napi_value args[1];
  hid_t dataset;
  if (!get_args(env, info, 1, args) || !get_handle(env, args[0], &dataset)) return NULL;
  if (H5Dclose(dataset) < 0) return throw_hdf5(env, "closing a dataset failed");
  return NULL;
}

/* The dataset's name for messages ("?" if HDF5 cannot tell). */
static void dataset_what(hid_t dataset, const char *action, char *what, size_t size) {
  char name[512] = "?";
  if (H5Iget_name(dataset, name, sizeof name) < 0) snprintf(name, sizeof name, "?");
  snprintf(what, size, "%s %s", action, name);
}

static napi_value throw_dataset_failure(napi_env env, hid_t dataset, const char *action) {
  /* The stack first: H5Iget_name, an API call, would clear it. */
  capture_stack();
  char what[700];
  dataset_what(dataset, action, what, sizeof what);
  name_failure(what);
  return throw_failure(env);
}

/* writeDataset(dataset, data): the whole dataset, text or a TypedArray of the values. */
static napi_value write_dataset(napi_env env, napi_callback_info info) {
  napi_value args[2];
  hid_t dataset;
  if (!get_args(env, info, 2, args) || !get_handle(env, args[0], &dataset)) return NULL;
  hid_t type = H5Dget_type(dataset);
  hid_t space = type < 0 ? H5I_INVALID_HID : H5Dget_space(dataset);
  if (space < 0) {
    if (type >= 0) H5Tclose(type);
    return throw_dataset_failure(env, dataset, "cannot write");
  }
  hssize_t count = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  char what[700];
  dataset_what(dataset, "cannot write", what, sizeof what);
  write_values(env, dataset, type, count < 0 ? 0 : (hsize_t)count, args[1], write_whole_dataset, what);
  H5Tclose(type);
  return NULL;
}

/* setExtent(dataset, shape) */
static napi_value set_extent(napi_env env, napi_callback_info info) {
  napi_value args[2];
  hid_t dataset;
  hsize_t dims[MAX_RANK];
  int rank = 0;
  if (!get_args(env, info, 2, args) || !get_handle(env, args[0], &dataset)) return NULL;
  if (!get_dims(env, args[1], dims, &rank, false)) return NULL;
  if (H5Dset_extent(dataset, dims) < 0) return throw_dataset_failure(env, dataset, "cannot resize");
  return NULL;
}

/*
 * writeChunk(dataset, offset, data): one whole chunk of raw file bytes at
 * `offset` (a multiple of the chunk shape), through H5Dwrite_chunk: no
 * hyperslab selection, no type conversion, no copy here (the file driver,
 * direct_vfd.c, makes the one copy O_DIRECT needs).
 */
static napi_value write_chunk(napi_env env, napi_callback_info info) {
  napi_value args[3];
  hid_t dataset;
  hsize_t offset[MAX_RANK], chunk[MAX_RANK];
  int rank = 0;
  byte_view view;
  if (!get_args(env, info, 3, args) || !get_handle(env, args[0], &dataset)) return NULL;
  if (!get_dims(env, args[1], offset, &rank, false) || !get_bytes(env, args[2], &view)) return NULL;

  /* A chunk of the wrong size would be stored as it is and read back as garbage. */
  hid_t dcpl = H5Dget_create_plist(dataset);
  hid_t type = dcpl < 0 ? H5I_INVALID_HID : H5Dget_type(dataset);
  int chunk_rank = type < 0 ? -1 : H5Pget_chunk(dcpl, MAX_RANK, chunk);
  size_t element = type < 0 ? 0 : H5Tget_size(type);
  if (chunk_rank < 0) {
    napi_value thrown = throw_dataset_failure(env, dataset, "cannot write a chunk of");
    if (type >= 0) H5Tclose(type);
    if (dcpl >= 0) H5Pclose(dcpl);
    return thrown;
  }
  H5Tclose(type);
  H5Pclose(dcpl);
  if (chunk_rank != rank) return throw_range(env, "labcast_hdf5: writeChunk offset rank differs from the dataset's");
  for (int i = 0; i < rank; i++) {
    if (offset[i] % chunk[i] != 0) return throw_range(env, "labcast_hdf5: writeChunk offset is not on a chunk boundary");
  }
  if ((hsize_t)view.bytes != element_count(chunk, rank) * element) {
    return throw_range(env, "labcast_hdf5: writeChunk data is not exactly one chunk");
  }
  if (H5Dwrite_chunk(dataset, H5P_DEFAULT, 0, offset, view.bytes, view.data) < 0) {
    return throw_dataset_failure(env, dataset, "cannot write a chunk of");
  }
  return NULL;
}

/* writeHyperslab(dataset, start, count, data): a block of elements from a TypedArray of the values. */
static napi_value write_hyperslab(napi_env env, napi_callback_info info) {
  napi_value args[4];
  hid_t dataset;
  hsize_t start[MAX_RANK], count[MAX_RANK];
  int rank = 0, count_rank = 0;
  byte_view view;
  if (!get_args(env, info, 4, args) || !get_handle(env, args[0], &dataset)) return NULL;
  if (!get_dims(env, args[1], start, &rank, false) || !get_dims(env, args[2], count, &count_rank, false)) return NULL;
  if (!get_bytes(env, args[3], &view)) return NULL;
  if (rank != count_rank) return throw_range(env, "labcast_hdf5: start and count must have the same rank");
  if (!view.typed) return throw_type(env, "labcast_hdf5: numbers must come in a TypedArray of the values' type");
  hid_t memory_type = memory_type_of(view.type);
  if (memory_type < 0) return throw_type(env, "labcast_hdf5: unsupported TypedArray type");
  hsize_t elements = element_count(count, rank);
  if ((hsize_t)view.bytes != elements * H5Tget_size(memory_type)) {
    return throw_range(env, "labcast_hdf5: the data does not hold exactly one value per element of the block");
  }
  if (elements == 0) return NULL;

  hid_t file_space = H5Dget_space(dataset);
  hid_t memory_space = H5Screate_simple(rank, count, NULL);
  bool failed = file_space < 0 || memory_space < 0 ||
                H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
                H5Dwrite(dataset, memory_type, memory_space, file_space, H5P_DEFAULT, view.data) < 0;
  napi_value thrown = failed ? throw_dataset_failure(env, dataset, "cannot write a block of") : NULL;
  if (file_space >= 0) H5Sclose(file_space);
  if (memory_space >= 0) H5Sclose(memory_space);
  return thrown;
}

static bool set_number(napi_env env, napi_value object, const char *name, uint64_t value) {
  napi_value number;
  return napi_create_double(env, (double)value, &number) == napi_ok &&
         napi_set_named_property(env, object, name, number) == napi_ok;
}

/* ioCounters(): bytes written by this process's files with O_DIRECT and through the page cache. */
static napi_value io_counters(napi_env env, napi_callback_info info) {
  (void)info;
  direct_vfd_counters totals = direct_vfd_totals();
  napi_value result;
  NAPI_CALL(env, napi_create_object(env, &result));
  if (!set_number(env, result, "directBytes", totals.direct_bytes) ||
      !set_number(env, result, "bufferedBytes", totals.buffered_bytes) ||
      !set_number(env, result, "directRefused", totals.direct_fallbacks) ||
      !set_number(env, result, "inPlaceBytes", totals.in_place_bytes) ||
      !set_number(env, result, "stagedBytes", totals.staged_bytes) ||
      !set_number(env, result, "directWrites", totals.direct_writes)) {
    return throw_napi(env, "napi_set_named_property");
  }
  return result;
}

/*
 * ringStaging(path): { staged, reason }: whether a file created in `path` (a
 * directory or a file) would copy ring frames into huge pages before its
 * O_DIRECT writes, and why (write_staging.c).
 */
static napi_value ring_staging(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  if (argc < 1) return throw_type(env, "ringStaging(path)");
  char *path = get_string(env, args[0]);
  if (path == NULL) return NULL;
  struct stat status;
  int failed = stat(path, &status) < 0 ? errno : 0;
  if (failed != 0) {
    char message[512];
    snprintf(message, sizeof message, "ringStaging: %s: %s", path, strerror(failed));
    free(path);
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  free(path);
  char reason[256];
  bool staged = write_staging_decide(status.st_dev, reason, sizeof reason);
  napi_value result, staged_value, reason_value;
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_get_boolean(env, staged, &staged_value));
  NAPI_CALL(env, napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &reason_value));
  NAPI_CALL(env, napi_set_named_property(env, result, "staged", staged_value));
  NAPI_CALL(env, napi_set_named_property(env, result, "reason", reason_value));
  return result;
}

/* version(): the HDF5 library version in use, e.g. "1.10.8". */
static napi_value library_version(napi_env env, napi_callback_info info) {
  (void)info;
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  char text[64];
  snprintf(text, sizeof text, "%u.%u.%u", major, minor, release);
  napi_value result;
  NAPI_CALL(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result));
  return result;
}

/* ------------------------------------------------------------------------ */
/* Compressed frame chunks (chunk_codec.c, chunk_pipeline.c)                 */
/* ------------------------------------------------------------------------ */

#define MAX_PIPELINES 16
static chunk_pipeline *pipelines[MAX_PIPELINES];

static chunk_pipeline *find_pipeline(hid_t dataset) {
  for (int i = 0; i < MAX_PIPELINES; i++) {
    if (pipelines[i] != NULL && pipeline_dataset(pipelines[i]) == dataset) return pipelines[i];
  }
  return NULL;
}

static napi_value throw_pipeline(napi_env env, hid_t dataset, pipeline_status status) {
  if (status == PIPELINE_HDF5_FAILED) return throw_dataset_failure(env, dataset, "cannot write a compressed chunk of");
  napi_throw_error(env, NULL, "labcast_hdf5: compressing a chunk failed (out of memory?)");
  return NULL;
}

/* compressionCodecs(): {codec: null | the Debian package that was missing when the addon was built}. */
static napi_value compression_codecs(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  NAPI_CALL(env, napi_create_object(env, &result));
  for (codec_id id = CODEC_LZ4; id <= CODEC_ZSTD; id++) {
    const char *missing = codec_missing_package(id);
    napi_value value;
    if (missing == NULL) NAPI_CALL(env, napi_get_null(env, &value));
    else NAPI_CALL(env, napi_create_string_utf8(env, missing, NAPI_AUTO_LENGTH, &value));
    NAPI_CALL(env, napi_set_named_property(env, result, codec_name(id), value));
  }
  return result;
}

/* Whether the filter parameters stored for the dataset are the ones a reader of `params` needs. */
static bool stored_values_match(hid_t dataset, const codec_params *params) {
  unsigned expected[CODEC_MAX_VALUES], stored[CODEC_MAX_VALUES];
  size_t expected_count = codec_filter_values(params, expected), stored_count = CODEC_MAX_VALUES;
  unsigned flags = 0;
  hid_t dcpl = H5Dget_create_plist(dataset);
  if (dcpl < 0) return false;
  herr_t status = H5Pget_filter_by_id2(dcpl, (H5Z_filter_t)codec_filter_id(params->id), &flags, &stored_count, stored,
                                       0, NULL, NULL);
  H5Pclose(dcpl);
  return status >= 0 && stored_count == expected_count && memcmp(stored, expected, expected_count * sizeof(unsigned)) == 0;
}

/*
 * createCompressedDataset(file, path, dtype, shape, maxShape, chunks, codec, level, threads): bigint
 * An extendible chunked dataset whose chunks are written compressed with
 * writeCompressedChunk, by `threads` worker threads.
 */
static napi_value create_compressed_dataset(napi_env env, napi_callback_info info) {
  napi_value args[9];
  hid_t file;
  hsize_t dims[MAX_RANK], max_dims[MAX_RANK], chunks[MAX_RANK];
  int rank = 0, max_rank = 0, chunk_rank = 0;
  int32_t level = 0, threads = 0;
  if (!get_args(env, info, 9, args) || !get_handle(env, args[0], &file)) return NULL;
  if (!get_dims(env, args[3], dims, &rank, false) || !get_dims(env, args[4], max_dims, &max_rank, true) ||
      !get_dims(env, args[5], chunks, &chunk_rank, false)) {
    return NULL;
  }
  NAPI_CALL(env, napi_get_value_int32(env, args[7], &level));
  NAPI_CALL(env, napi_get_value_int32(env, args[8], &threads));
  if (max_rank != rank || chunk_rank != rank || rank == 0 || element_count(chunks, chunk_rank) == 0) {
    return throw_range(env, "labcast_hdf5: a compressed dataset needs shape, maxShape and positive chunks of one rank");
  }
  if (threads < 1 || threads > 64) return throw_range(env, "labcast_hdf5: compression threads must be 1-64");
  char *codec = get_string(env, args[6]);
  if (codec == NULL) return NULL;
  int id = codec_from_name(codec);
  free(codec);
  if (id <= CODEC_NONE) return throw_range(env, "labcast_hdf5: unknown codec (lz4, bitshuffle-lz4 or zstd)");
  const char *missing = codec_missing_package((codec_id)id);
  if (missing != NULL) {
    char message[256];
    snprintf(message, sizeof message, "labcast_hdf5: %s was not built in (install %s and rebuild)", codec_name((codec_id)id),
             missing);
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  int min_level = 0, max_level = 0;
  codec_level_range((codec_id)id, &min_level, &max_level);
  if (level < min_level || level > max_level) return throw_range(env, "labcast_hdf5: compression level out of range");
  char *path = get_string(env, args[1]);
  char *dtype = path == NULL ? NULL : get_string(env, args[2]);
  if (dtype == NULL) {
    free(path);
    return NULL;
  }
  bool owned = false;
  hid_t file_type = file_type_of(dtype, &owned);
  free(dtype);
  if (file_type < 0 || H5Tget_class(file_type) == H5T_STRING) {
    if (owned && file_type >= 0) H5Tclose(file_type);
    free(path);
    return throw_type(env, "labcast_hdf5: a compressed dataset holds numbers");
  }
  codec_params params = {(codec_id)id, level, H5Tget_size(file_type), 0};
  params.chunk_bytes = (size_t)element_count(chunks, rank) * params.elem_size;
  unsigned values[CODEC_MAX_VALUES];
  size_t value_count = codec_filter_values(&params, values);

  char what[1200];
  snprintf(what, sizeof what, "cannot create dataset %s", path);
  hid_t space = make_space(dims, rank, max_dims);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t dataset = H5I_INVALID_HID;
  /*
   * Optional, as areaDetector and Dectris' writers mark it: chunks are
   * written already compressed, and HDF5 never needs the filter to write.
   */
  bool failed = space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, rank, chunks) < 0 ||
                H5Pset_filter(dcpl, (H5Z_filter_t)codec_filter_id(params.id), H5Z_FLAG_OPTIONAL, value_count, values) < 0;
  if (!failed) {
    dataset = H5Dcreate2(file, path, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    failed = dataset < 0;
  }
  if (failed) capture_failure(what);
  free(path);
  if (space >= 0) H5Sclose(space);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (owned) H5Tclose(file_type);
  if (failed) return throw_failure(env);
  if (!stored_values_match(dataset, &params)) {
    H5Dclose(dataset);
    napi_throw_error(env, NULL, "labcast_hdf5: the compression filter's stored parameters differ from the ones written");
    return NULL;
  }
  int free_entry = -1;
  for (int i = 0; i < MAX_PIPELINES && free_entry < 0; i++) {
    if (pipelines[i] == NULL) free_entry = i;
  }
  chunk_pipeline *pipeline = free_entry < 0 ? NULL : pipeline_create(dataset, &params, rank, threads);
  if (pipeline == NULL) {
    H5Dclose(dataset);
    napi_throw_error(env, NULL, "labcast_hdf5: cannot start the compression threads (out of memory, or too many compressed datasets open)");
    return NULL;
  }
  pipelines[free_entry] = pipeline;
  return make_handle(env, dataset);
}

/* writeCompressedChunk(dataset, offset, data): queues one whole uncompressed chunk; earlier ones may be written now. */
static napi_value write_compressed_chunk(napi_env env, napi_callback_info info) {
  napi_value args[3];
  hid_t dataset;
  hsize_t offset[MAX_RANK], chunk[MAX_RANK];
  int rank = 0;
  byte_view view;
  if (!get_args(env, info, 3, args) || !get_handle(env, args[0], &dataset)) return NULL;
  if (!get_dims(env, args[1], offset, &rank, false) || !get_bytes(env, args[2], &view)) return NULL;
  chunk_pipeline *pipeline = find_pipeline(dataset);
  if (pipeline == NULL) return throw_type(env, "labcast_hdf5: not a compressed dataset of createCompressedDataset");
  hid_t dcpl = H5Dget_create_plist(dataset);
  int chunk_rank = dcpl < 0 ? -1 : H5Pget_chunk(dcpl, MAX_RANK, chunk);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (chunk_rank != rank) return throw_range(env, "labcast_hdf5: writeCompressedChunk offset rank differs from the dataset's");
  size_t element = 0;
  hid_t type = H5Dget_type(dataset);
  if (type >= 0) {
    element = H5Tget_size(type);
    H5Tclose(type);
  }
  for (int i = 0; i < rank; i++) {
    if (offset[i] % chunk[i] != 0) return throw_range(env, "labcast_hdf5: writeCompressedChunk offset is not on a chunk boundary");
  }
  if ((hsize_t)view.bytes != element_count(chunk, rank) * element) {
    return throw_range(env, "labcast_hdf5: writeCompressedChunk data is not exactly one chunk");
  }
  pipeline_status status = pipeline_submit(pipeline, offset, view.data);
  if (status != PIPELINE_OK) return throw_pipeline(env, dataset, status);
  return NULL;
}

/*
 * drainCompressed(dataset): writes every queued chunk, then
 * {bytesIn, bytesOut, chunks} of the chunks written so far.
 */
static napi_value drain_compressed(napi_env env, napi_callback_info info) {
  napi_value args[1];
  hid_t dataset;
  if (!get_args(env, info, 1, args) || !get_handle(env, args[0], &dataset)) return NULL;
  chunk_pipeline *pipeline = find_pipeline(dataset);
  if (pipeline == NULL) return throw_type(env, "labcast_hdf5: not a compressed dataset of createCompressedDataset");
  pipeline_status status = pipeline_drain(pipeline);
  if (status != PIPELINE_OK) return throw_pipeline(env, dataset, status);
  pipeline_totals totals = pipeline_get_totals(pipeline);
  napi_value result;
  NAPI_CALL(env, napi_create_object(env, &result));
  if (!set_number(env, result, "bytesIn", totals.bytes_in) || !set_number(env, result, "bytesOut", totals.bytes_out) ||
      !set_number(env, result, "chunks", totals.chunks)) {
    return throw_napi(env, "napi_set_named_property");
  }
  return result;
}

/* storedBytes(dataset): the bytes its chunks take in the file (H5Dget_storage_size). */
static napi_value stored_bytes(napi_env env, napi_callback_info info) {
  napi_value args[1];
  hid_t dataset;
  if (!get_args(env, info, 1, args) || !get_handle(env, args[0], &dataset)) return NULL;
  napi_value result;
  NAPI_CALL(env, napi_create_double(env, (double)H5Dget_storage_size(dataset), &result));
  return result;
}

/* endCompressed(dataset): stops its compression threads; chunks not drained are dropped. Before closing the file. */
static napi_value end_compressed(napi_env env, napi_callback_info info) {
  napi_value args[1];
  hid_t dataset;
  if (!get_args(env, info, 1, args) || !get_handle(env, args[0], &dataset)) return NULL;
  for (int i = 0; i < MAX_PIPELINES; i++) {
    if (pipelines[i] != NULL && pipeline_dataset(pipelines[i]) == dataset) {
      pipeline_destroy(pipelines[i]);
      pipelines[i] = NULL;
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Module                                                                    */
/* ------------------------------------------------------------------------ */

NAPI_MODULE_INIT() {
  /*
   * No atexit clean-up: HDF5's would flush files left open when the process
   * exits after a failure, writing state newer than the last flush (a grown
   * extent, a stale valid_frames). Without it a file left open keeps exactly
   * its last flush, as after a kill -9. Must come before any other call.
   */
  H5dont_atexit();

  /*
   * A library other than the one compiled against would make HDF5 abort the
   * process at the first call (H5check_version); refuse to load instead, and
   * labcast falls back to h5wasm.
   */
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  if (major != H5_VERS_MAJOR || minor != H5_VERS_MINOR || release != H5_VERS_RELEASE) {
    char message[200];
    snprintf(message, sizeof message,
             "labcast_hdf5 was built against HDF5 %d.%d.%d but libhdf5 %u.%u.%u is installed; rebuild it",
             H5_VERS_MAJOR, H5_VERS_MINOR, H5_VERS_RELEASE, major, minor, release);
    napi_throw_error(env, NULL, message);
    return NULL;
  }
  if (H5open() < 0) {
    napi_throw_error(env, NULL, "labcast_hdf5: the HDF5 library failed to initialise");
    return NULL;
  }
  /* Failures become exceptions carrying the stack's text; nothing is printed to stderr. */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  /* labcast's codecs as the filters of their ids, before HDF5 could load a plugin for them (chunk_codec.h). */
  if (codec_register_filters() < 0) {
    napi_throw_error(env, NULL, "labcast_hdf5: registering the compression filters failed");
    return NULL;
  }

  napi_property_descriptor functions[] = {
      {"version", NULL, library_version, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ioCounters", NULL, io_counters, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ringStaging", NULL, ring_staging, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createSharedMemory", NULL, create_shared_memory, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openSharedMemory", NULL, open_shared_memory, NULL, NULL, NULL, napi_enumerable, NULL},
      {"releaseSharedSlot", NULL, release_shared_slot, NULL, NULL, NULL, napi_enumerable, NULL},
      {"markSharedSlotCopied", NULL, mark_shared_slot_copied, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openFramePipe", NULL, open_frame_pipe, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readFramePipe", NULL, read_frame_pipe, NULL, NULL, NULL, napi_enumerable, NULL},
      {"keepFreedMemory", NULL, keep_freed_memory, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createFile", NULL, create_file, NULL, NULL, NULL, napi_enumerable, NULL},
      {"flush", NULL, flush_file, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeFile", NULL, close_file, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createGroup", NULL, create_group, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setAttribute", NULL, set_attribute, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createDataset", NULL, create_dataset, NULL, NULL, NULL, napi_enumerable, NULL},
      {"closeDataset", NULL, close_dataset, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeDataset", NULL, write_dataset, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setExtent", NULL, set_extent, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeChunk", NULL, write_chunk, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeHyperslab", NULL, write_hyperslab, NULL, NULL, NULL, napi_enumerable, NULL},
      {"compressionCodecs", NULL, compression_codecs, NULL, NULL, NULL, napi_enumerable, NULL},
      {"createCompressedDataset", NULL, create_compressed_dataset, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writeCompressedChunk", NULL, write_compressed_chunk, NULL, NULL, NULL, napi_enumerable, NULL},
      {"drainCompressed", NULL, drain_compressed, NULL, NULL, NULL, napi_enumerable, NULL},
      {"storedBytes", NULL, stored_bytes, NULL, NULL, NULL, napi_enumerable, NULL},
      {"endCompressed", NULL, end_compressed, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok) {
    return throw_napi(env, "napi_define_properties");
  }
  return exports;
}
