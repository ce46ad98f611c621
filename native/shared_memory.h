/*
 * shared_memory: memfd-backed memory that labcast's acquisition and local
 * saver both map (see shared_memory.c).
 */
#ifndef LABCAST_SHARED_MEMORY_H
#define LABCAST_SHARED_MEMORY_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>

#include <stddef.h>

napi_value create_shared_memory(napi_env env, napi_callback_info info);
napi_value open_shared_memory(napi_env env, napi_callback_info info);
/* releaseSharedSlot(buffer, offset, bytes): a ring slot back to its writer, in order, once no write holds it. */
napi_value release_shared_slot(napi_env env, napi_callback_info info);
/* markSharedSlotCopied(buffer, offset, bytes): the slot's frame took a copy already; written in place until released. */
napi_value mark_shared_slot_copied(napi_env env, napi_callback_info info);
/* keepFreedMemory(): freed heap memory is kept for reuse, not handed back to the kernel (frames' buffers). */
napi_value keep_freed_memory(napi_env env, napi_callback_info info);

/*
 * For the file driver (direct_vfd.c), from any thread. hold: if [start,
 * start + bytes) lies in a ring this process maps, keeps it (the slot is not
 * released, the mapping not undone) until unhold, and returns true; false
 * otherwise (then the caller must copy the bytes, not keep the pointer).
 */
bool shared_memory_hold(const void *start, size_t bytes);
/*
 * Whether [start, start + bytes) lies in a ring this process maps and its
 * frame took no copy on its way there (no markSharedSlotCopied since the
 * slot's last release): the saver may spend its one copy on it.
 */
bool shared_memory_copyable(const void *start, size_t bytes);
void shared_memory_unhold(const void *start, size_t bytes);

#endif
