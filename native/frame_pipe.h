/*
 * frame_pipe: a pipe read frame by frame straight into memory the caller
 * gives (see frame_pipe.c).
 */
#ifndef LABCAST_FRAME_PIPE_H
#define LABCAST_FRAME_PIPE_H

#define NAPI_VERSION 8
#include <node_api.h>

/* openFramePipe(bytes) -> { readFd, writeFd, cancelFd, pipeBytes } */
napi_value open_frame_pipe(napi_env env, napi_callback_info info);
/* readFramePipe(readFd, cancelFd, view, offset) -> Promise<{ bytes, end: 'full' | 'eof' | 'cancelled' }> */
napi_value read_frame_pipe(napi_env env, napi_callback_info info);

#endif
