/*
 * shared_memory: memfd-backed memory that labcast's acquisition and local
 * saver both map (see shared_memory.c).
 */
#ifndef LABCAST_SHARED_MEMORY_H
#define LABCAST_SHARED_MEMORY_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>

napi_value create_shared_memory(napi_env env, napi_callback_info info);
napi_value open_shared_memory(napi_env env, napi_callback_info info);

#endif
