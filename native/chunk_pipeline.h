/*
 * Compressed chunk writes off the JavaScript thread: chunks are queued (a
 * copy), compressed by worker threads, and written with H5Dwrite_chunk in
 * the order they were queued, on the thread that queues and drains, the only
 * one that calls HDF5 (Debian's libhdf5 is not thread-safe). With two workers
 * chunk k+1 is compressed while chunk k is, and chunk k-1 is being written.
 */
#ifndef LABCAST_CHUNK_PIPELINE_H
#define LABCAST_CHUNK_PIPELINE_H

#include <hdf5.h>
#include <stdint.h>

#include "chunk_codec.h"

typedef struct chunk_pipeline chunk_pipeline;

typedef enum {
  PIPELINE_OK = 0,
  /* H5Dwrite_chunk failed; the HDF5 error stack is the current one. */
  PIPELINE_HDF5_FAILED = -1,
  /* The codec could not compress a chunk (out of memory, or a bug): the message says so. */
  PIPELINE_CODEC_FAILED = -2,
} pipeline_status;

typedef struct {
  /* Bytes of uncompressed chunks written, of compressed chunks written, and how many. */
  uint64_t bytes_in;
  uint64_t bytes_out;
  uint64_t chunks;
} pipeline_totals;

/* NULL when out of memory or a thread cannot start. */
chunk_pipeline *pipeline_create(hid_t dataset, const codec_params *params, int rank, int threads);
hid_t pipeline_dataset(const chunk_pipeline *pipeline);
/* Queues a copy of one chunk at `offset`; writes the chunks already compressed. Waits while the queue is full. */
pipeline_status pipeline_submit(chunk_pipeline *pipeline, const hsize_t *offset, const void *chunk);
/* Writes every queued chunk. */
pipeline_status pipeline_drain(chunk_pipeline *pipeline);
pipeline_totals pipeline_get_totals(chunk_pipeline *pipeline);
/* Stops the workers and frees everything; chunks not drained are not written. */
void pipeline_destroy(chunk_pipeline *pipeline);

#endif
