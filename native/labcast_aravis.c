/*
 * labcast_aravis: a small Node-API binding over libaravis (GigE Vision and
 * USB3 Vision cameras with a GenICam node map), enough for
 * src/devices/genicam to drive a camera. Policy (which features mean what,
 * frame numbering, pixel unpacking) lives in TypeScript; this file turns
 * JavaScript calls into Aravis calls and GError failures into exceptions.
 *
 * Threads: feature access runs on the JavaScript thread (GenICam register
 * access is a short request/reply). Buffers are popped by one worker thread
 * per stream, which hands each popped ArvBuffer to the JavaScript thread
 * through a thread-safe function. There a complete image is *lent* to
 * JavaScript: the event's `data` is a view of the ArvBuffer's own memory, and
 * the buffer stays out of the stream until releaseBuffer(), which detaches
 * the view (any copy of it left in JavaScript reads as empty, never as freed
 * or reused memory) and requeues the buffer. The driver copies (or unpacks)
 * the pixels from that view straight into the frame's memory, a slot of the
 * saver's ring: the one copy labcast makes. Other buffers (incomplete,
 * not an image) go back to the stream at once. Stopping the stream takes back
 * every buffer still lent. The stream's buffers are a fixed pool allocated at
 * start and reused for the whole run: nothing is allocated per frame on the C
 * side beyond the view's small JavaScript objects. No GLib
 * main loop is needed: the device's "control-lost" signal is emitted from
 * Aravis's own heartbeat thread, where a handler sets a flag the worker
 * reports; the worker also probes a silent GigE Vision camera itself.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <arv.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STATS 40
#define STAT_NAME_SIZE 48
#define POP_TIMEOUT_US 100000

typedef struct {
  char names[MAX_STATS][STAT_NAME_SIZE];
  double values[MAX_STATS];
  int count;
} stats_snapshot;

typedef struct camera_handle camera_handle;

/* A buffer lent to JavaScript: out of the stream until released. */
typedef struct {
  ArvBuffer *buffer; /* the popped reference */
  double serial;     /* what JavaScript names it by: unique per camera handle, never reused */
  napi_ref view;     /* weak: the ArrayBuffer over its pixels, detached at release */
} lent_buffer;

/*
 * A slot of the saver's ring lent to the stream (pushSlot): Aravis assembles
 * an image straight into it. The references keep the ring's mapping alive
 * (its ArrayBuffer) until Aravis is done with the buffer, even when the
 * driver has moved on to another saver's ring, and give JavaScript back the
 * very view it lent.
 */
typedef struct {
  ArvBuffer *buffer;
  napi_ref view;         /* strong: the Uint8Array the driver lent */
  napi_ref array_buffer; /* strong: the ring's memory */
  void *data;            /* where the slot begins */
} slot_loan;

typedef struct {
  camera_handle *owner;
  ArvStream *stream;
  ArvBuffer **pool;
  guint pool_size;
  GPtrArray *slots;   /* slot_loan: lent to the stream, not yet back in JavaScript */
  GPtrArray *reserve; /* pool buffers kept out of the stream while slots feed it */
  gint min_queued;    /* with slots: pool buffers go in only while fewer than this are queued; 0 = always */
  lent_buffer *lent; /* pool_size entries: no more buffers than that exist */
  guint lent_count;
  GThread *thread;
  gint stop;              /* atomic: the worker ends its loop */
  gint stopping;          /* atomic: buffers reaching JavaScript are not delivered nor requeued */
  napi_threadsafe_function tsfn;
  char lost_message[256]; /* the event the worker sends when control is lost (its address is the marker) */
  char first_top_up;      /* its address marks the call that queues the first pool buffers, once slots are in */
} stream_run;

struct camera_handle {
  ArvCamera *camera;
  ArvDevice *device;
  gulong control_lost_handler;
  gint control_lost; /* atomic */
  stream_run *run;
  stats_snapshot last_stats;
  double next_serial;
  bool closed;
};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

#define CHECK_NAPI(call)                                                        \
  do {                                                                          \
    if ((call) != napi_ok) {                                                    \
      napi_throw_error(env, NULL, "labcast_aravis: Node-API call failed: " #call); \
      return NULL;                                                              \
    }                                                                           \
  } while (0)

static napi_value throw_gerror(napi_env env, const char *context, GError *error) {
  char message[1024];
  snprintf(message, sizeof message, "%s: %s", context, error != NULL ? error->message : "unknown Aravis error");
  if (error != NULL) g_error_free(error);
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value throw_message(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

/* A JavaScript string argument as a g_malloc'd C string (NULL with an exception pending). */
static char *string_arg(napi_env env, napi_value value, const char *what) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    char message[256];
    snprintf(message, sizeof message, "labcast_aravis: %s must be a string", what);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  char *text = g_malloc(length + 1);
  napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

static void set_string(napi_env env, napi_value object, const char *key, const char *value) {
  napi_value js;
  if (value == NULL) napi_get_null(env, &js);
  else napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &js);
  napi_set_named_property(env, object, key, js);
}

static void set_number(napi_env env, napi_value object, const char *key, double value) {
  napi_value js;
  napi_create_double(env, value, &js);
  napi_set_named_property(env, object, key, js);
}

static void set_bigint(napi_env env, napi_value object, const char *key, guint64 value) {
  napi_value js;
  napi_create_bigint_uint64(env, value, &js);
  napi_set_named_property(env, object, key, js);
}

static void set_bool(napi_env env, napi_value object, const char *key, bool value) {
  napi_value js;
  napi_get_boolean(env, value, &js);
  napi_set_named_property(env, object, key, js);
}

static camera_handle *handle_arg(napi_env env, napi_value value) {
  camera_handle *handle = NULL;
  if (napi_get_value_external(env, value, (void **)&handle) != napi_ok || handle == NULL) {
    napi_throw_type_error(env, NULL, "labcast_aravis: expected a camera handle from openCamera()");
    return NULL;
  }
  if (handle->closed) {
    napi_throw_error(env, NULL, "labcast_aravis: the camera is closed");
    return NULL;
  }
  return handle;
}

/* ------------------------------------------------------------------------ */
/* System: version, interfaces, discovery                                    */
/* ------------------------------------------------------------------------ */

static napi_value version(napi_env env, napi_callback_info info) {
  char text[32];
  snprintf(text, sizeof text, "%u.%u.%u", arv_get_major_version(), arv_get_minor_version(), arv_get_micro_version());
  napi_value result;
  CHECK_NAPI(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result));
  return result;
}

/* interfaces(): the interface ids Aravis knows ("Fake", "USB3Vision", "GigEVision"...). */
static napi_value interfaces(napi_env env, napi_callback_info info) {
  napi_value result;
  unsigned int count = arv_get_n_interfaces();
  CHECK_NAPI(napi_create_array_with_length(env, count, &result));
  for (unsigned int i = 0; i < count; i++) {
    napi_value id;
    napi_create_string_utf8(env, arv_get_interface_id(i), NAPI_AUTO_LENGTH, &id);
    napi_set_element(env, result, i, id);
  }
  return result;
}

/*
 * useInterfaces(ids): exactly these interfaces take part in discovery and
 * opening from now on, in this process. Discovery on GigEVision broadcasts on
 * every network interface, so tests restrict themselves to ["Fake"].
 */
static napi_value use_interfaces(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, NULL, "labcast_aravis: useInterfaces takes an array of interface ids");
    return NULL;
  }
  uint32_t length = 0;
  napi_get_array_length(env, argv[0], &length);
  char **wanted = g_new0(char *, length + 1);
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;
    napi_get_element(env, argv[0], i, &element);
    wanted[i] = string_arg(env, element, "an interface id");
    if (wanted[i] == NULL) {
      g_strfreev(wanted);
      return NULL;
    }
  }
  unsigned int count = arv_get_n_interfaces();
  for (uint32_t i = 0; i < length; i++) {
    bool known = false;
    for (unsigned int j = 0; j < count; j++) known = known || strcmp(arv_get_interface_id(j), wanted[i]) == 0;
    if (!known) {
      char message[256];
      snprintf(message, sizeof message, "labcast_aravis: unknown Aravis interface \"%s\"", wanted[i]);
      g_strfreev(wanted);
      return throw_message(env, message);
    }
  }
  for (unsigned int j = 0; j < count; j++) {
    const char *id = arv_get_interface_id(j);
    if (g_strv_contains((const char *const *)wanted, id)) arv_enable_interface(id);
    else arv_disable_interface(id);
  }
  g_strfreev(wanted);
  return NULL;
}

/* listDevices(): updates the device list of the enabled interfaces and describes each device. */
static napi_value list_devices(napi_env env, napi_callback_info info) {
  arv_update_device_list();
  unsigned int count = arv_get_n_devices();
  napi_value result;
  CHECK_NAPI(napi_create_array_with_length(env, count, &result));
  for (unsigned int i = 0; i < count; i++) {
    napi_value device;
    napi_create_object(env, &device);
    set_string(env, device, "deviceId", arv_get_device_id(i));
    set_string(env, device, "physicalId", arv_get_device_physical_id(i));
    set_string(env, device, "address", arv_get_device_address(i));
    set_string(env, device, "vendor", arv_get_device_vendor(i));
    set_string(env, device, "model", arv_get_device_model(i));
    set_string(env, device, "serial", arv_get_device_serial_nbr(i));
    set_string(env, device, "protocol", arv_get_device_protocol(i));
    napi_set_element(env, result, i, device);
  }
  return result;
}

/* ------------------------------------------------------------------------ */
/* Camera                                                                    */
/* ------------------------------------------------------------------------ */

static void on_control_lost(ArvDevice *device, gpointer data) {
  camera_handle *handle = data;
  g_atomic_int_set(&handle->control_lost, 1);
}

static void stop_run(napi_env env, camera_handle *handle);

/* env is NULL from a finalizer: no lent view can be reachable then (see take_back_lent). */
static void close_handle(napi_env env, camera_handle *handle) {
  if (handle->closed) return;
  stop_run(env, handle);
  if (handle->control_lost_handler != 0) g_signal_handler_disconnect(handle->device, handle->control_lost_handler);
  handle->control_lost_handler = 0;
  g_clear_object(&handle->camera);
  handle->device = NULL;
  handle->closed = true;
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  camera_handle *handle = data;
  close_handle(NULL, handle);
  g_free(handle);
}

/* openCamera(id | null): a handle; id is a device id, physical id (MAC), address, or null for the first device. */
static napi_value open_camera(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *id = NULL;
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type == napi_string) {
    id = string_arg(env, argv[0], "the camera id");
    if (id == NULL) return NULL;
  }
  GError *error = NULL;
  ArvCamera *camera = arv_camera_new(id, &error);
  if (camera == NULL) {
    char context[512];
    snprintf(context, sizeof context, "cannot open GenICam camera %s", id != NULL ? id : "(first found)");
    g_free(id);
    return throw_gerror(env, context, error);
  }
  g_free(id);
  camera_handle *handle = g_new0(camera_handle, 1);
  handle->next_serial = 1;
  handle->camera = camera;
  handle->device = arv_camera_get_device(camera);
  handle->control_lost_handler = g_signal_connect(handle->device, "control-lost", G_CALLBACK(on_control_lost), handle);
  napi_value result;
  if (napi_create_external(env, handle, finalize_handle, NULL, &result) != napi_ok) {
    finalize_handle(env, handle, NULL);
    return throw_message(env, "labcast_aravis: cannot create the camera handle");
  }
  return result;
}

static napi_value close_camera(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&handle) != napi_ok || handle == NULL) {
    return throw_message(env, "labcast_aravis: closeCamera takes a camera handle");
  }
  close_handle(env, handle);
  return NULL;
}

/* cameraInfo(handle): vendor, model, serial, deviceId, protocol flags. */
static napi_value camera_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  napi_value result;
  napi_create_object(env, &result);
  GError *error = NULL;
  set_string(env, result, "vendor", arv_camera_get_vendor_name(handle->camera, &error));
  g_clear_error(&error);
  set_string(env, result, "model", arv_camera_get_model_name(handle->camera, &error));
  g_clear_error(&error);
  set_string(env, result, "serial", arv_camera_get_device_serial_number(handle->camera, &error));
  g_clear_error(&error);
  set_string(env, result, "deviceId", arv_camera_get_device_id(handle->camera, &error));
  g_clear_error(&error);
  set_bool(env, result, "isGigE", arv_camera_is_gv_device(handle->camera));
  set_bool(env, result, "isUsb3", arv_camera_is_uv_device(handle->camera));
  set_bool(env, result, "controlLost", g_atomic_int_get(&handle->control_lost) != 0);
  return result;
}

/* ------------------------------------------------------------------------ */
/* Features                                                                  */
/* ------------------------------------------------------------------------ */

static ArvGcNode *feature_node(napi_env env, camera_handle *handle, const char *name) {
  ArvGcNode *node = arv_device_get_feature(handle->device, name);
  if (node == NULL || !ARV_IS_GC_FEATURE_NODE(node)) {
    char message[512];
    snprintf(message, sizeof message, "the camera has no feature \"%s\"", name);
    napi_throw_error(env, "NO_FEATURE", message);
    return NULL;
  }
  return node;
}

static const char *node_type(ArvGcNode *node) {
  if (ARV_IS_GC_ENUMERATION(node)) return "Enumeration";
  if (ARV_IS_GC_BOOLEAN(node)) return "Boolean";
  if (ARV_IS_GC_COMMAND(node)) return "Command";
  if (ARV_IS_GC_CATEGORY(node)) return "Category";
  if (ARV_IS_GC_FLOAT(node)) return "Float";
  if (ARV_IS_GC_INTEGER(node)) return "Integer";
  if (ARV_IS_GC_STRING(node)) return "String";
  return "Other";
}

static const char *access_text(ArvGcAccessMode mode) {
  switch (mode) {
    case ARV_GC_ACCESS_MODE_RO: return "RO";
    case ARV_GC_ACCESS_MODE_WO: return "WO";
    case ARV_GC_ACCESS_MODE_RW: return "RW";
    default: return "NA";
  }
}

/* Parses (handle, name) and finds the node; NULL with an exception pending on failure. */
static ArvGcNode *handle_and_node(napi_env env, napi_callback_info info, size_t wanted, napi_value *argv,
                                  camera_handle **handle_out, char **name_out) {
  size_t argc = wanted;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "labcast_aravis: expected (handle, featureName, ...)");
    return NULL;
  }
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  char *name = string_arg(env, argv[1], "the feature name");
  if (name == NULL) return NULL;
  ArvGcNode *node = feature_node(env, handle, name);
  if (node == NULL) {
    g_free(name);
    return NULL;
  }
  *handle_out = handle;
  *name_out = name;
  return node;
}

static napi_value feature_failure(napi_env env, const char *verb, const char *name, GError *error) {
  char context[512];
  snprintf(context, sizeof context, "cannot %s feature \"%s\"", verb, name);
  return throw_gerror(env, context, error);
}

/* getFeature(handle, name): number (Integer, Float), string (Enumeration, String) or boolean. */
static napi_value get_feature(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  camera_handle *handle;
  char *name;
  ArvGcNode *node = handle_and_node(env, info, 2, argv, &handle, &name);
  if (node == NULL) return NULL;
  GError *error = NULL;
  napi_value result = NULL;
  if (ARV_IS_GC_ENUMERATION(node)) {
    const char *value = arv_gc_enumeration_get_string_value(ARV_GC_ENUMERATION(node), &error);
    if (error == NULL) napi_create_string_utf8(env, value != NULL ? value : "", NAPI_AUTO_LENGTH, &result);
  } else if (ARV_IS_GC_BOOLEAN(node)) {
    gboolean value = arv_gc_boolean_get_value(ARV_GC_BOOLEAN(node), &error);
    if (error == NULL) napi_get_boolean(env, value, &result);
  } else if (ARV_IS_GC_FLOAT(node)) {
    double value = arv_gc_float_get_value(ARV_GC_FLOAT(node), &error);
    if (error == NULL) napi_create_double(env, value, &result);
  } else if (ARV_IS_GC_INTEGER(node)) {
    gint64 value = arv_gc_integer_get_value(ARV_GC_INTEGER(node), &error);
    if (error == NULL) napi_create_double(env, (double)value, &result);
  } else if (ARV_IS_GC_STRING(node)) {
    const char *value = arv_gc_string_get_value(ARV_GC_STRING(node), &error);
    if (error == NULL) napi_create_string_utf8(env, value != NULL ? value : "", NAPI_AUTO_LENGTH, &result);
  } else {
    char message[512];
    snprintf(message, sizeof message, "feature \"%s\" is a %s, which has no value to read", name, node_type(node));
    g_free(name);
    return throw_message(env, message);
  }
  if (error != NULL) {
    napi_value thrown = feature_failure(env, "read", name, error);
    g_free(name);
    return thrown;
  }
  g_free(name);
  return result;
}

/* setFeature(handle, name, value): value a number, string (Enumeration entry, String) or boolean. */
static napi_value set_feature(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  camera_handle *handle;
  char *name;
  ArvGcNode *node = handle_and_node(env, info, 3, argv, &handle, &name);
  if (node == NULL) return NULL;
  napi_valuetype type;
  napi_typeof(env, argv[2], &type);
  GError *error = NULL;
  const char *expected = NULL;
  if (ARV_IS_GC_ENUMERATION(node)) {
    if (type == napi_string) {
      char *value = string_arg(env, argv[2], "the value");
      arv_gc_enumeration_set_string_value(ARV_GC_ENUMERATION(node), value, &error);
      g_free(value);
    } else if (type == napi_number) {
      int64_t value;
      napi_get_value_int64(env, argv[2], &value);
      arv_gc_enumeration_set_int_value(ARV_GC_ENUMERATION(node), value, &error);
    } else expected = "an entry name";
  } else if (ARV_IS_GC_BOOLEAN(node)) {
    if (type == napi_boolean) {
      bool value;
      napi_get_value_bool(env, argv[2], &value);
      arv_gc_boolean_set_value(ARV_GC_BOOLEAN(node), value, &error);
    } else expected = "a boolean";
  } else if (ARV_IS_GC_FLOAT(node)) {
    if (type == napi_number) {
      double value;
      napi_get_value_double(env, argv[2], &value);
      arv_gc_float_set_value(ARV_GC_FLOAT(node), value, &error);
    } else expected = "a number";
  } else if (ARV_IS_GC_INTEGER(node)) {
    if (type == napi_number) {
      int64_t value;
      napi_get_value_int64(env, argv[2], &value);
      arv_gc_integer_set_value(ARV_GC_INTEGER(node), value, &error);
    } else expected = "an integer";
  } else if (ARV_IS_GC_STRING(node)) {
    if (type == napi_string) {
      char *value = string_arg(env, argv[2], "the value");
      arv_gc_string_set_value(ARV_GC_STRING(node), value, &error);
      g_free(value);
    } else expected = "a string";
  } else {
    expected = "nothing (it has no value to set)";
  }
  if (expected != NULL) {
    char message[512];
    snprintf(message, sizeof message, "feature \"%s\" (%s) takes %s", name, node_type(node), expected);
    g_free(name);
    napi_throw_type_error(env, NULL, message);
    return NULL;
  }
  if (error != NULL) {
    napi_value thrown = feature_failure(env, "set", name, error);
    g_free(name);
    return thrown;
  }
  g_free(name);
  return NULL;
}

/* executeCommand(handle, name) */
static napi_value execute_command(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  camera_handle *handle;
  char *name;
  ArvGcNode *node = handle_and_node(env, info, 2, argv, &handle, &name);
  if (node == NULL) return NULL;
  if (!ARV_IS_GC_COMMAND(node)) {
    char message[512];
    snprintf(message, sizeof message, "feature \"%s\" is a %s, not a Command", name, node_type(node));
    g_free(name);
    return throw_message(env, message);
  }
  GError *error = NULL;
  arv_gc_command_execute(ARV_GC_COMMAND(node), &error);
  napi_value thrown = error != NULL ? feature_failure(env, "execute", name, error) : NULL;
  g_free(name);
  return thrown;
}

/*
 * featureInfo(handle, name): { name, type, access, available, implemented,
 * locked, description, displayName, unit, min, max, increment, entries }.
 * Fields that do not apply to the type, or that the camera cannot tell now,
 * are absent.
 */
static napi_value feature_info(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  camera_handle *handle;
  char *name;
  ArvGcNode *node = handle_and_node(env, info, 2, argv, &handle, &name);
  if (node == NULL) return NULL;
  ArvGcFeatureNode *feature = ARV_GC_FEATURE_NODE(node);
  napi_value result;
  napi_create_object(env, &result);
  set_string(env, result, "name", name);
  set_string(env, result, "type", node_type(node));
  GError *error = NULL;
  gboolean implemented = arv_gc_feature_node_is_implemented(feature, &error);
  if (error != NULL) implemented = FALSE;
  g_clear_error(&error);
  gboolean available = implemented && arv_gc_feature_node_is_available(feature, &error);
  if (error != NULL) available = FALSE;
  g_clear_error(&error);
  gboolean locked = arv_gc_feature_node_is_locked(feature, &error);
  if (error != NULL) locked = FALSE;
  g_clear_error(&error);
  set_bool(env, result, "implemented", implemented);
  set_bool(env, result, "available", available);
  set_bool(env, result, "locked", locked);
  set_string(env, result, "access", available ? access_text(arv_gc_feature_node_get_actual_access_mode(feature)) : "NA");
  const char *description = arv_gc_feature_node_get_description(feature);
  if (description == NULL) description = arv_gc_feature_node_get_tooltip(feature);
  set_string(env, result, "description", description != NULL ? description : "");
  const char *display = arv_gc_feature_node_get_display_name(feature);
  set_string(env, result, "displayName", display != NULL ? display : name);
  if (available) {
    if (ARV_IS_GC_ENUMERATION(node)) {
      guint count = 0;
      const char **entries = arv_gc_enumeration_dup_available_string_values(ARV_GC_ENUMERATION(node), &count, &error);
      if (error == NULL && entries != NULL) {
        napi_value array;
        napi_create_array_with_length(env, count, &array);
        for (guint i = 0; i < count; i++) {
          napi_value entry;
          napi_create_string_utf8(env, entries[i], NAPI_AUTO_LENGTH, &entry);
          napi_set_element(env, array, i, entry);
        }
        napi_set_named_property(env, result, "entries", array);
      }
      g_free(entries);
      g_clear_error(&error);
    } else if (ARV_IS_GC_FLOAT(node) && !ARV_IS_GC_BOOLEAN(node)) {
      ArvGcFloat *value = ARV_GC_FLOAT(node);
      const char *unit = arv_gc_float_get_unit(value);
      set_string(env, result, "unit", unit != NULL ? unit : "");
      double min = arv_gc_float_get_min(value, &error);
      if (error == NULL) set_number(env, result, "min", min);
      g_clear_error(&error);
      double max = arv_gc_float_get_max(value, &error);
      if (error == NULL) set_number(env, result, "max", max);
      g_clear_error(&error);
      double inc = arv_gc_float_get_inc(value, &error);
      if (error == NULL && inc > 1e-300) set_number(env, result, "increment", inc); /* DBL_MIN: the camera gave none */
      g_clear_error(&error);
    } else if (ARV_IS_GC_INTEGER(node) && !ARV_IS_GC_COMMAND(node) && !ARV_IS_GC_BOOLEAN(node)) {
      ArvGcInteger *value = ARV_GC_INTEGER(node);
      const char *unit = arv_gc_integer_get_unit(value);
      set_string(env, result, "unit", unit != NULL ? unit : "");
      gint64 min = arv_gc_integer_get_min(value, &error);
      if (error == NULL) set_number(env, result, "min", (double)min);
      g_clear_error(&error);
      gint64 max = arv_gc_integer_get_max(value, &error);
      if (error == NULL) set_number(env, result, "max", (double)max);
      g_clear_error(&error);
      gint64 inc = arv_gc_integer_get_inc(value, &error);
      if (error == NULL && inc > 0) set_number(env, result, "increment", (double)inc);
      g_clear_error(&error);
    }
  }
  g_free(name);
  return result;
}

static void collect_features(ArvGc *genicam, const char *category_name, GPtrArray *names, GHashTable *seen, int depth) {
  if (depth > 16) return;
  ArvGcNode *node = arv_gc_get_node(genicam, category_name);
  if (node == NULL || !ARV_IS_GC_CATEGORY(node)) return;
  for (const GSList *item = arv_gc_category_get_features(ARV_GC_CATEGORY(node)); item != NULL; item = item->next) {
    const char *name = item->data;
    if (g_hash_table_contains(seen, name)) continue;
    g_hash_table_add(seen, (gpointer)name);
    ArvGcNode *child = arv_gc_get_node(genicam, name);
    if (child == NULL) continue;
    if (ARV_IS_GC_CATEGORY(child)) collect_features(genicam, name, names, seen, depth + 1);
    else g_ptr_array_add(names, (gpointer)name);
  }
}

/* listFeatures(handle): every feature name under the Root category, in the camera's order. */
static napi_value list_features(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  ArvGc *genicam = arv_device_get_genicam(handle->device);
  GPtrArray *names = g_ptr_array_new();
  GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
  collect_features(genicam, "Root", names, seen, 0);
  napi_value result;
  napi_create_array_with_length(env, names->len, &result);
  for (guint i = 0; i < names->len; i++) {
    napi_value name;
    napi_create_string_utf8(env, g_ptr_array_index(names, i), NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, result, i, name);
  }
  g_hash_table_destroy(seen);
  g_ptr_array_free(names, TRUE);
  return result;
}

/* ------------------------------------------------------------------------ */
/* GigE Vision transport                                                     */
/* ------------------------------------------------------------------------ */

/* gvAutoPacketSize(handle): negotiates the largest packet size the path carries; returns it. */
static napi_value gv_auto_packet_size(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  if (!arv_camera_is_gv_device(handle->camera)) return throw_message(env, "packet size applies to GigE Vision cameras only");
  GError *error = NULL;
  guint size = arv_camera_gv_auto_packet_size(handle->camera, &error);
  if (error != NULL) return throw_gerror(env, "packet size negotiation failed", error);
  napi_value result;
  napi_create_uint32(env, size, &result);
  return result;
}

/* gvSetPacketSize(handle, bytes) */
static napi_value gv_set_packet_size(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  if (!arv_camera_is_gv_device(handle->camera)) return throw_message(env, "packet size applies to GigE Vision cameras only");
  int32_t size = 0;
  if (argc < 2 || napi_get_value_int32(env, argv[1], &size) != napi_ok) return throw_message(env, "gvSetPacketSize takes a number of bytes");
  GError *error = NULL;
  arv_camera_gv_set_packet_size(handle->camera, size, &error);
  if (error != NULL) return throw_gerror(env, "cannot set the packet size", error);
  guint actual = arv_camera_gv_get_packet_size(handle->camera, &error);
  g_clear_error(&error);
  napi_value result;
  napi_create_uint32(env, actual, &result);
  return result;
}

/* ------------------------------------------------------------------------ */
/* Streaming                                                                 */
/* ------------------------------------------------------------------------ */

static void snapshot_stats(ArvStream *stream, stats_snapshot *out) {
  out->count = 0;
  guint64 completed = 0, failures = 0, underruns = 0;
  arv_stream_get_statistics(stream, &completed, &failures, &underruns);
  const char *base[] = {"n_completed_buffers", "n_failures", "n_underruns"};
  double base_values[] = {(double)completed, (double)failures, (double)underruns};
  for (int i = 0; i < 3; i++) {
    g_strlcpy(out->names[out->count], base[i], STAT_NAME_SIZE);
    out->values[out->count++] = base_values[i];
  }
  if (ARV_IS_GV_STREAM(stream)) {
    guint64 resent = 0, missing = 0;
    arv_gv_stream_get_statistics(ARV_GV_STREAM(stream), &resent, &missing);
    g_strlcpy(out->names[out->count], "n_resent_packets", STAT_NAME_SIZE);
    out->values[out->count++] = (double)resent;
    g_strlcpy(out->names[out->count], "n_missing_packets", STAT_NAME_SIZE);
    out->values[out->count++] = (double)missing;
  }
  guint infos = arv_stream_get_n_infos(stream);
  for (guint i = 0; i < infos && out->count < MAX_STATS; i++) {
    const char *name = arv_stream_get_info_name(stream, i);
    if (name == NULL) continue;
    bool known = false;
    for (int j = 0; j < out->count; j++) known = known || strcmp(out->names[j], name) == 0;
    if (known) continue;
    GType type = arv_stream_get_info_type(stream, i);
    double value;
    if (type == G_TYPE_UINT64) value = (double)arv_stream_get_info_uint64(stream, i);
    else if (type == G_TYPE_DOUBLE) value = arv_stream_get_info_double(stream, i);
    else continue;
    g_strlcpy(out->names[out->count], name, STAT_NAME_SIZE);
    out->values[out->count++] = value;
  }
}

/* GigE Vision bootstrap register: the control channel privilege, which every camera answers. */
#define GVBS_CONTROL_CHANNEL_PRIVILEGE 0x0a00
/* A stream silent this long makes the worker ask the camera whether it is still there. */
#define SILENCE_PROBE_US 1000000
/* Unanswered probes in a row that mean the camera is gone (each waits out Aravis's GVCP retries). */
#define PROBES_TO_FAIL 2

static gpointer pop_loop(gpointer data) {
  stream_run *run = data;
  bool lost_reported = false;
  /*
   * Aravis 0.8 signals control-lost only when the camera answers that it no
   * longer has us as controller; a camera that stops answering at all
   * (unplugged, powered off) goes unnoticed, so a silent GigE Vision stream is
   * probed here, off the JavaScript thread (Aravis serialises GVCP requests).
   */
  bool probe = ARV_IS_GV_DEVICE(run->owner->device);
  gint64 last_activity = g_get_monotonic_time();
  gint64 last_probe = 0;
  int unanswered = 0;
  napi_acquire_threadsafe_function(run->tsfn);
  while (!g_atomic_int_get(&run->stop)) {
    if (!lost_reported && g_atomic_int_get(&run->owner->control_lost)) {
      lost_reported = true;
      napi_call_threadsafe_function(run->tsfn, run->lost_message, napi_tsfn_blocking);
    }
    ArvBuffer *buffer = arv_stream_timeout_pop_buffer(run->stream, POP_TIMEOUT_US);
    gint64 now = g_get_monotonic_time();
    if (buffer != NULL) {
      last_activity = now;
      unanswered = 0;
      napi_call_threadsafe_function(run->tsfn, buffer, napi_tsfn_blocking);
    } else if (probe && !lost_reported && now - last_activity > SILENCE_PROBE_US && now - last_probe > SILENCE_PROBE_US) {
      guint32 value = 0;
      GError *error = NULL;
      bool answered = arv_device_read_register(run->owner->device, GVBS_CONTROL_CHANNEL_PRIVILEGE, &value, &error);
      g_clear_error(&error);
      last_probe = g_get_monotonic_time();
      unanswered = answered ? 0 : unanswered + 1;
      if (unanswered >= PROBES_TO_FAIL) {
        g_atomic_int_set(&run->owner->control_lost, 1);
        snprintf(run->lost_message, sizeof run->lost_message, "the camera stopped answering (unplugged, powered off or unreachable)");
        lost_reported = true;
        napi_call_threadsafe_function(run->tsfn, run->lost_message, napi_tsfn_blocking);
      }
    }
  }
  napi_release_threadsafe_function(run->tsfn, napi_tsfn_release);
  return NULL;
}

/*
 * Lends a complete image to JavaScript: the event's `data` views the
 * buffer's own pixels and its `serial` names the loan for releaseBuffer().
 * False (the buffer goes back at once, the event without data) only when
 * Node-API refuses, which the driver counts as a failed frame.
 */
static bool lend(napi_env env, stream_run *run, ArvBuffer *buffer, napi_value event) {
  if (run->lent_count >= run->pool_size) return false; /* cannot happen: no more buffers exist */
  size_t size = 0;
  void *pixels = (void *)arv_buffer_get_image_data(buffer, &size);
  napi_value array_buffer, view, serial;
  if (pixels == NULL || napi_create_external_arraybuffer(env, pixels, size, NULL, NULL, &array_buffer) != napi_ok) return false;
  if (napi_create_typedarray(env, napi_uint8_array, size, array_buffer, 0, &view) != napi_ok) {
    napi_detach_arraybuffer(env, array_buffer);
    return false;
  }
  lent_buffer *entry = &run->lent[run->lent_count];
  if (napi_create_reference(env, array_buffer, 0, &entry->view) != napi_ok) {
    napi_detach_arraybuffer(env, array_buffer);
    return false;
  }
  entry->buffer = buffer;
  entry->serial = run->owner->next_serial++;
  run->lent_count += 1;
  napi_create_double(env, entry->serial, &serial);
  napi_set_named_property(env, event, "data", view);
  napi_set_named_property(env, event, "serial", serial);
  return true;
}

/*
 * Ends one loan: the view is detached (env NULL: the environment is going, no
 * view can be read any more) and the buffer requeued, or dropped when the
 * stream is stopping (the pool keeps its own reference).
 */
static void requeue_pool_buffer(stream_run *run, ArvBuffer *buffer);

static void end_loan(napi_env env, stream_run *run, guint index, bool requeue) {
  lent_buffer entry = run->lent[index];
  run->lent[index] = run->lent[--run->lent_count];
  if (env != NULL) {
    napi_value array_buffer = NULL;
    if (napi_get_reference_value(env, entry.view, &array_buffer) == napi_ok && array_buffer != NULL) {
      napi_detach_arraybuffer(env, array_buffer);
    }
    napi_delete_reference(env, entry.view);
  }
  if (requeue) requeue_pool_buffer(run, entry.buffer);
  else g_object_unref(entry.buffer);
}

/*
 * Every buffer still lent comes back when the stream stops. From a finalizer
 * (env NULL) the views cannot be detached, and need not be: the handle is
 * unreachable, so is the driver that holds it, and so are the views it held.
 */
static void take_back_lent(napi_env env, stream_run *run) {
  while (run->lent_count > 0) end_loan(env, run, run->lent_count - 1, false);
}

/* How many buffers wait in the stream for an image. */
static gint queued_buffers(stream_run *run) {
  gint input = 0, output = 0;
  arv_stream_get_n_buffers(run->stream, &input, &output);
  return input;
}

/* Pool buffers go back to the stream while it is short of slots (a full ring: the saver behind), else wait in reserve. */
static void top_up(stream_run *run) {
  while (run->reserve->len > 0 && (run->min_queued == 0 || queued_buffers(run) < run->min_queued)) {
    arv_stream_push_buffer(run->stream, g_ptr_array_steal_index(run->reserve, run->reserve->len - 1));
  }
}

static void requeue_pool_buffer(stream_run *run, ArvBuffer *buffer) {
  if (run->min_queued == 0) arv_stream_push_buffer(run->stream, buffer);
  else {
    g_ptr_array_add(run->reserve, buffer);
    top_up(run);
  }
}

static void free_loan(napi_env env, slot_loan *loan) {
  if (env != NULL) {
    napi_delete_reference(env, loan->view);
    napi_delete_reference(env, loan->array_buffer);
  }
  g_free(loan);
}

/*
 * A slot's buffer came back: the event's `slot` is the view the driver lent
 * (whatever became of the image), and for a complete image `data` views the
 * image where Aravis put it in the slot (at its start unless the payload
 * holds more than the image). The buffer is done with; the slot is the driver's again.
 */
static void deliver_slot(napi_env env, stream_run *run, slot_loan *loan, ArvBuffer *buffer, ArvBufferStatus status, napi_value event) {
  set_number(env, event, "status", status);
  set_bigint(env, event, "frameId", arv_buffer_get_frame_id(buffer));
  set_bigint(env, event, "timestampNs", arv_buffer_get_timestamp(buffer));
  set_bigint(env, event, "systemTimestampNs", arv_buffer_get_system_timestamp(buffer));
  napi_value view = NULL, array_buffer = NULL;
  napi_get_reference_value(env, loan->view, &view);
  napi_get_reference_value(env, loan->array_buffer, &array_buffer);
  if (view != NULL) napi_set_named_property(env, event, "slot", view);
  if (status == ARV_BUFFER_STATUS_SUCCESS && arv_buffer_get_payload_type(buffer) == ARV_BUFFER_PAYLOAD_TYPE_IMAGE && array_buffer != NULL) {
    set_number(env, event, "pixelFormat", arv_buffer_get_image_pixel_format(buffer));
    set_number(env, event, "width", arv_buffer_get_image_width(buffer));
    set_number(env, event, "height", arv_buffer_get_image_height(buffer));
    size_t size = 0;
    const guint8 *image = arv_buffer_get_image_data(buffer, &size);
    void *base = NULL;
    size_t total = 0;
    napi_get_arraybuffer_info(env, array_buffer, &base, &total);
    napi_value data;
    if (image != NULL && image >= (const guint8 *)base && image + size <= (const guint8 *)base + total &&
        napi_create_typedarray(env, napi_uint8_array, size, array_buffer, image - (const guint8 *)base, &data) == napi_ok) {
      napi_set_named_property(env, event, "data", data);
    }
  } else if (status == ARV_BUFFER_STATUS_SUCCESS) {
    set_number(env, event, "payloadType", arv_buffer_get_payload_type(buffer));
  }
  g_ptr_array_remove_fast(run->slots, loan);
  free_loan(env, loan);
  g_object_unref(buffer); /* the only reference: the slot's memory stays the ring's */
}

static void deliver(napi_env env, napi_value callback, void *context, void *data) {
  stream_run *run = context;
  if (data == &run->first_top_up) {
    if (env != NULL && !g_atomic_int_get(&run->stopping)) top_up(run);
    return;
  }
  if (data == run->lost_message) {
    if (env == NULL || g_atomic_int_get(&run->stopping)) return;
    napi_value event, undefined;
    napi_create_object(env, &event);
    set_string(env, event, "error", run->lost_message);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 1, &event, NULL);
    return;
  }
  ArvBuffer *buffer = data;
  if (env == NULL || g_atomic_int_get(&run->stopping)) {
    g_object_unref(buffer); /* the popped reference; the pool keeps its own (a slot's memory is the ring's) */
    return;
  }
  napi_value event, undefined;
  napi_create_object(env, &event);
  ArvBufferStatus status = arv_buffer_get_status(buffer);
  slot_loan *loan = (slot_loan *)arv_buffer_get_user_data(buffer);
  if (loan != NULL) {
    deliver_slot(env, run, loan, buffer, status, event);
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 1, &event, NULL);
    top_up(run);
    return;
  }
  set_number(env, event, "status", status);
  set_bigint(env, event, "frameId", arv_buffer_get_frame_id(buffer));
  set_bigint(env, event, "timestampNs", arv_buffer_get_timestamp(buffer));
  set_bigint(env, event, "systemTimestampNs", arv_buffer_get_system_timestamp(buffer));
  bool lent = false;
  if (status == ARV_BUFFER_STATUS_SUCCESS && arv_buffer_get_payload_type(buffer) == ARV_BUFFER_PAYLOAD_TYPE_IMAGE) {
    set_number(env, event, "pixelFormat", arv_buffer_get_image_pixel_format(buffer));
    set_number(env, event, "width", arv_buffer_get_image_width(buffer));
    set_number(env, event, "height", arv_buffer_get_image_height(buffer));
    lent = lend(env, run, buffer, event);
  } else if (status == ARV_BUFFER_STATUS_SUCCESS) {
    set_number(env, event, "payloadType", arv_buffer_get_payload_type(buffer));
  }
  if (!lent) requeue_pool_buffer(run, buffer);
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, callback, 1, &event, NULL);
  top_up(run);
}

static void finalize_run(napi_env env, void *data, void *hint) {
  stream_run *run = data;
  if (run->owner != NULL) {
    /* Node is tearing the environment down while the stream runs: end the worker first. */
    g_atomic_int_set(&run->stopping, 1);
    g_atomic_int_set(&run->stop, 1);
    if (run->thread != NULL) g_thread_join(run->thread);
    run->owner->run = NULL;
    run->owner = NULL;
  }
  take_back_lent(NULL, run);
  /* Slot buffers still queued are freed with the stream; their memory is the ring's. */
  g_clear_object(&run->stream); /* frees the buffers still queued in it */
  for (guint i = 0; i < run->slots->len; i++) free_loan(NULL, g_ptr_array_index(run->slots, i));
  g_ptr_array_free(run->slots, TRUE);
  for (guint i = 0; i < run->reserve->len; i++) g_object_unref(g_ptr_array_index(run->reserve, i));
  g_ptr_array_free(run->reserve, TRUE);
  for (guint i = 0; i < run->pool_size; i++) g_object_unref(run->pool[i]);
  g_free(run->pool);
  g_free(run->lent);
  g_free(run);
}

/* Stops the worker and the acquisition; the run's memory goes when the last queued buffer has reached JavaScript. */
static void stop_run(napi_env env, camera_handle *handle) {
  stream_run *run = handle->run;
  if (run == NULL) return;
  handle->run = NULL;
  g_atomic_int_set(&run->stopping, 1);
  g_atomic_int_set(&run->stop, 1);
  g_thread_join(run->thread);
  run->thread = NULL;
  run->owner = NULL;
  GError *error = NULL;
  arv_camera_stop_acquisition(handle->camera, &error);
  g_clear_error(&error);
  snapshot_stats(run->stream, &handle->last_stats);
  take_back_lent(env, run);
  if (run->slots->len > 0) {
    /*
     * Slots still queued: Aravis's receiving thread ends and drops every
     * queued buffer, so nothing writes a slot after this returns and the
     * driver may give them back to the ring (the pool keeps its own references).
     */
    arv_stream_stop_thread(run->stream, TRUE);
    /*
     * Started again, empty (no buffer queued, acquisition stopped): a stream's
     * finalize stops its thread once more and Aravis logs a CRITICAL when it
     * finds none running (arv_fake_stream_finalize, for one).
     */
    arv_stream_start_thread(run->stream);
    for (guint i = 0; i < run->slots->len; i++) free_loan(env, g_ptr_array_index(run->slots, i));
    g_ptr_array_set_size(run->slots, 0);
  }
  napi_release_threadsafe_function(run->tsfn, napi_tsfn_release);
}

/*
 * startStream(handle, bufferCount, onEvent): allocates the pool, starts the
 * acquisition; onEvent gets one object per popped buffer (status, frameId,
 * timestampNs, systemTimestampNs, and for a complete image pixelFormat, width,
 * height, data) or { error } when the camera's control is lost. With
 * minQueued > 0 (the driver lends ring slots, pushSlot) pool buffers enter
 * the stream only while fewer than that many buffers are queued, so images
 * are assembled in slots while there are slots, in the pool when the ring is full.
 */
static napi_value start_stream(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_message(env, "startStream takes (handle, bufferCount, onEvent, minQueued?)");
  uint32_t min_queued = 0;
  napi_valuetype min_type = napi_undefined;
  if (argc >= 4) napi_typeof(env, argv[3], &min_type);
  if (min_type != napi_undefined && (napi_get_value_uint32(env, argv[3], &min_queued) != napi_ok || min_queued > 2048)) {
    return throw_message(env, "startStream: minQueued must be an integer in 0..2048");
  }
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  if (handle->run != NULL) return throw_message(env, "the camera is already streaming");
  uint32_t count = 0;
  if (napi_get_value_uint32(env, argv[1], &count) != napi_ok || count < 2 || count > 2048) {
    return throw_message(env, "startStream: bufferCount must be an integer in 2..2048");
  }
  GError *error = NULL;
  guint payload = arv_camera_get_payload(handle->camera, &error);
  if (error != NULL) return throw_gerror(env, "cannot read the payload size", error);
  ArvStream *stream = arv_camera_create_stream(handle->camera, NULL, NULL, &error);
  if (stream == NULL) return throw_gerror(env, "cannot create the stream", error);
  if (ARV_IS_GV_STREAM(stream)) {
    /* The kernel's receive buffer sized from the payload: full rate without root's sysctl where rmem_max allows. */
    g_object_set(stream, "socket-buffer", ARV_GV_STREAM_SOCKET_BUFFER_AUTO, NULL);
  }
  stream_run *run = g_new0(stream_run, 1);
  run->owner = handle;
  run->stream = stream;
  run->pool_size = count;
  run->pool = g_new0(ArvBuffer *, count);
  run->lent = g_new0(lent_buffer, count);
  run->slots = g_ptr_array_new();
  run->reserve = g_ptr_array_new();
  run->min_queued = (gint)min_queued;
  snprintf(run->lost_message, sizeof run->lost_message, "the camera's control channel was lost (camera unplugged, powered off or unreachable)");
  for (guint i = 0; i < count; i++) {
    run->pool[i] = arv_buffer_new_allocate(payload);
    if (min_queued > 0) g_ptr_array_add(run->reserve, g_object_ref(run->pool[i]));
    else arv_stream_push_buffer(stream, g_object_ref(run->pool[i]));
  }
  napi_value name;
  napi_create_string_utf8(env, "labcast_aravis stream", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, run, finalize_run, run, deliver, &run->tsfn) != napi_ok) {
    finalize_run(env, run, NULL);
    return throw_message(env, "startStream: cannot create the thread-safe function");
  }
  arv_camera_start_acquisition(handle->camera, &error);
  if (error != NULL) {
    g_atomic_int_set(&run->stopping, 1);
    run->owner = NULL;
    napi_release_threadsafe_function(run->tsfn, napi_tsfn_release);
    return throw_gerror(env, "cannot start the acquisition", error);
  }
  /* The thread-safe function stays referenced: a running stream keeps the process alive until stopStream. */
  run->thread = g_thread_new("labcast-aravis-pop", pop_loop, run);
  handle->run = run;
  /*
   * With slots, the pool's first buffers wait for the next turn of the event
   * loop: the driver pushes its slots right after this call, and Aravis fills
   * buffers in the order they were queued, so the first images are assembled
   * in slots too (queued now, the first two landed in pool buffers and were
   * copied: two copies for a GigE Vision snap instead of one).
   */
  if (min_queued == 0) top_up(run);
  else if (napi_call_threadsafe_function(run->tsfn, &run->first_top_up, napi_tsfn_nonblocking) != napi_ok) top_up(run);
  return NULL;
}

/*
 * pushSlot(handle, view, capacity): lends the stream `capacity` bytes of
 * memory from where `view` (a Uint8Array over a ring's ArrayBuffer) begins,
 * for Aravis to assemble an image in; the view comes back as the `slot` of
 * that buffer's event, or is simply the driver's again once stopStream
 * returns. Push slots right after startStream, before the first image, so
 * that they are filled before any pool buffer.
 */
static napi_value push_slot(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_message(env, "pushSlot takes (handle, view, capacity)");
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  stream_run *run = handle->run;
  if (run == NULL) return throw_message(env, "pushSlot: the camera is not streaming");
  bool is_typedarray = false;
  napi_is_typedarray(env, argv[1], &is_typedarray);
  if (!is_typedarray) return throw_message(env, "pushSlot: view must be a Uint8Array");
  napi_typedarray_type type;
  size_t length = 0, byte_offset = 0, total = 0;
  void *data = NULL, *base = NULL;
  napi_value array_buffer;
  CHECK_NAPI(napi_get_typedarray_info(env, argv[1], &type, &length, &data, &array_buffer, &byte_offset));
  CHECK_NAPI(napi_get_arraybuffer_info(env, array_buffer, &base, &total));
  uint32_t capacity = 0;
  if (type != napi_uint8_array || napi_get_value_uint32(env, argv[2], &capacity) != napi_ok || capacity < length ||
      byte_offset + capacity > total || data == NULL) {
    return throw_message(env, "pushSlot: capacity must be at least the view's length and lie within its ArrayBuffer");
  }
  slot_loan *loan = g_new0(slot_loan, 1);
  if (napi_create_reference(env, argv[1], 1, &loan->view) != napi_ok) {
    g_free(loan);
    return throw_message(env, "pushSlot: cannot reference the view");
  }
  if (napi_create_reference(env, array_buffer, 1, &loan->array_buffer) != napi_ok) {
    napi_delete_reference(env, loan->view);
    g_free(loan);
    return throw_message(env, "pushSlot: cannot reference the ring's memory");
  }
  loan->data = data;
  loan->buffer = arv_buffer_new_full(capacity, data, loan, NULL);
  g_ptr_array_add(run->slots, loan);
  arv_stream_push_buffer(run->stream, loan->buffer);
  return NULL;
}

static napi_value stop_stream(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  stop_run(env, handle);
  return NULL;
}

/*
 * releaseBuffer(handle, serial): ends the loan of a lent image (its view
 * detached, the buffer requeued). True when it was lent; false when the
 * stream it came from has stopped (it was taken back then) or it was released before.
 */
static napi_value release_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  double serial = 0;
  if (argc < 2 || napi_get_value_double(env, argv[1], &serial) != napi_ok) return throw_message(env, "releaseBuffer takes (handle, serial)");
  stream_run *run = handle->run;
  bool found = false;
  for (guint i = 0; run != NULL && i < run->lent_count && !found; i++) {
    if (run->lent[i].serial != serial) continue;
    end_loan(env, run, i, true);
    found = true;
  }
  napi_value result;
  napi_get_boolean(env, found, &result);
  return result;
}

/* payloadBytes(handle): what one buffer must hold under the current settings (image, padding, chunk data). */
static napi_value payload_bytes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  GError *error = NULL;
  guint payload = arv_camera_get_payload(handle->camera, &error);
  if (error != NULL) return throw_gerror(env, "cannot read the payload size", error);
  napi_value result;
  napi_create_double(env, payload, &result);
  return result;
}

/* streamStatistics(handle): the running stream's counters, or the last stream's at its stop ({} before any). */
static napi_value stream_statistics(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  camera_handle *handle = handle_arg(env, argv[0]);
  if (handle == NULL) return NULL;
  stats_snapshot live;
  const stats_snapshot *stats = &handle->last_stats;
  if (handle->run != NULL) {
    snapshot_stats(handle->run->stream, &live);
    stats = &live;
  }
  napi_value result;
  napi_create_object(env, &result);
  for (int i = 0; i < stats->count; i++) set_number(env, result, stats->names[i], stats->values[i]);
  return result;
}

/* ------------------------------------------------------------------------ */
/* Module                                                                    */
/* ------------------------------------------------------------------------ */

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
      {"version", NULL, version, NULL, NULL, NULL, napi_default, NULL},
      {"interfaces", NULL, interfaces, NULL, NULL, NULL, napi_default, NULL},
      {"useInterfaces", NULL, use_interfaces, NULL, NULL, NULL, napi_default, NULL},
      {"listDevices", NULL, list_devices, NULL, NULL, NULL, napi_default, NULL},
      {"openCamera", NULL, open_camera, NULL, NULL, NULL, napi_default, NULL},
      {"closeCamera", NULL, close_camera, NULL, NULL, NULL, napi_default, NULL},
      {"cameraInfo", NULL, camera_info, NULL, NULL, NULL, napi_default, NULL},
      {"getFeature", NULL, get_feature, NULL, NULL, NULL, napi_default, NULL},
      {"setFeature", NULL, set_feature, NULL, NULL, NULL, napi_default, NULL},
      {"executeCommand", NULL, execute_command, NULL, NULL, NULL, napi_default, NULL},
      {"featureInfo", NULL, feature_info, NULL, NULL, NULL, napi_default, NULL},
      {"listFeatures", NULL, list_features, NULL, NULL, NULL, napi_default, NULL},
      {"gvAutoPacketSize", NULL, gv_auto_packet_size, NULL, NULL, NULL, napi_default, NULL},
      {"gvSetPacketSize", NULL, gv_set_packet_size, NULL, NULL, NULL, napi_default, NULL},
      {"startStream", NULL, start_stream, NULL, NULL, NULL, napi_default, NULL},
      {"stopStream", NULL, stop_stream, NULL, NULL, NULL, napi_default, NULL},
      {"releaseBuffer", NULL, release_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"pushSlot", NULL, push_slot, NULL, NULL, NULL, napi_default, NULL},
      {"payloadBytes", NULL, payload_bytes, NULL, NULL, NULL, napi_default, NULL},
      {"streamStatistics", NULL, stream_statistics, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok) return NULL;
  return exports;
}
