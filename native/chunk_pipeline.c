/*
 * The compression queue of chunk_pipeline.h: a ring of `depth` slots, each a
 * chunk's input copy and its compressed output. Sequence numbers say where
 * each slot is: queued < `queued`, picked by a worker < `picked`, written
 * < `written`. Only the owning (JavaScript) thread writes and frees slots.
 */
#include "chunk_pipeline.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANK 32

typedef struct {
  hsize_t offset[MAX_RANK];
  uint8_t *input;
  uint8_t *output;
  uint8_t *scratch;
  size_t output_bytes;
  bool done;
} slot;

struct chunk_pipeline {
  hid_t dataset;
  codec_params params;
  int rank;
  size_t capacity;
  int depth;
  slot *slots;
  int thread_count;
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t work;     /* a chunk was queued, or stop */
  pthread_cond_t finished; /* a chunk was compressed */
  uint64_t queued, picked, written;
  bool stopping;
  pipeline_status failure;
  pipeline_totals totals;
};

static void *worker(void *argument) {
  chunk_pipeline *p = argument;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->stopping && p->picked == p->queued) pthread_cond_wait(&p->work, &p->lock);
    if (p->stopping) break;
    slot *s = &p->slots[p->picked % (uint64_t)p->depth];
    p->picked++;
    pthread_mutex_unlock(&p->lock);
    size_t bytes = codec_compress(&p->params, s->input, s->output, p->capacity, s->scratch);
    pthread_mutex_lock(&p->lock);
    s->output_bytes = bytes;
    s->done = true;
    pthread_cond_broadcast(&p->finished);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

hid_t pipeline_dataset(const chunk_pipeline *pipeline) { return pipeline->dataset; }

static void free_slots(chunk_pipeline *p) {
  for (int i = 0; i < p->depth; i++) {
    free(p->slots[i].input);
    free(p->slots[i].output);
    free(p->slots[i].scratch);
  }
  free(p->slots);
}

chunk_pipeline *pipeline_create(hid_t dataset, const codec_params *params, int rank, int threads) {
  if (rank < 1 || rank > MAX_RANK || threads < 1) return NULL;
  chunk_pipeline *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->dataset = dataset;
  p->params = *params;
  p->rank = rank;
  p->capacity = codec_bound(params);
  /* One chunk per worker, one being written, one being queued. */
  p->depth = threads + 2;
  p->slots = calloc((size_t)p->depth, sizeof(slot));
  p->threads = calloc((size_t)threads, sizeof(pthread_t));
  bool ok = p->slots != NULL && p->threads != NULL;
  for (int i = 0; ok && i < p->depth; i++) {
    p->slots[i].input = malloc(params->chunk_bytes);
    p->slots[i].output = malloc(p->capacity);
    p->slots[i].scratch = malloc(codec_scratch_bytes(params) + 1);
    ok = p->slots[i].input != NULL && p->slots[i].output != NULL && p->slots[i].scratch != NULL;
  }
  if (!ok) {
    if (p->slots != NULL) free_slots(p);
    free(p->threads);
    free(p);
    return NULL;
  }
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->finished, NULL);
  for (int i = 0; i < threads; i++) {
    if (pthread_create(&p->threads[i], NULL, worker, p) != 0) break;
    p->thread_count++;
  }
  if (p->thread_count == 0) {
    pipeline_destroy(p);
    return NULL;
  }
  return p;
}

/* Writes the oldest queued chunk, waiting for its compression if `wait`. Lock held on entry and exit. */
static pipeline_status write_oldest(chunk_pipeline *p, bool wait, bool *wrote) {
  *wrote = false;
  if (p->written == p->queued) return PIPELINE_OK;
  slot *s = &p->slots[p->written % (uint64_t)p->depth];
  while (wait && !s->done) pthread_cond_wait(&p->finished, &p->lock);
  if (!s->done) return PIPELINE_OK;
  if (s->output_bytes == 0) return PIPELINE_CODEC_FAILED;
  /* The slot is not touched by workers until it is queued again: write it without the lock. */
  pthread_mutex_unlock(&p->lock);
  herr_t status = H5Dwrite_chunk(p->dataset, H5P_DEFAULT, 0, s->offset, s->output_bytes, s->output);
  pthread_mutex_lock(&p->lock);
  if (status < 0) return PIPELINE_HDF5_FAILED;
  p->totals.bytes_in += p->params.chunk_bytes;
  p->totals.bytes_out += s->output_bytes;
  p->totals.chunks++;
  s->done = false;
  p->written++;
  *wrote = true;
  return PIPELINE_OK;
}

/* Writes what is ready (all of it when `all`); a failure sticks: nothing is written after it. */
static pipeline_status write_ready(chunk_pipeline *p, bool all) {
  if (p->failure != PIPELINE_OK) return p->failure;
  bool wrote = true;
  while (wrote) {
    pipeline_status status = write_oldest(p, all, &wrote);
    if (status != PIPELINE_OK) {
      p->failure = status;
      return status;
    }
  }
  return PIPELINE_OK;
}

pipeline_status pipeline_submit(chunk_pipeline *p, const hsize_t *offset, const void *chunk) {
  pthread_mutex_lock(&p->lock);
  pipeline_status status = write_ready(p, false);
  /* Full: the oldest chunk must be written before its slot takes this one. */
  while (status == PIPELINE_OK && p->queued - p->written >= (uint64_t)p->depth) {
    bool wrote = false;
    status = write_oldest(p, true, &wrote);
    if (status != PIPELINE_OK) p->failure = status;
  }
  if (status != PIPELINE_OK) {
    pthread_mutex_unlock(&p->lock);
    return status;
  }
  slot *s = &p->slots[p->queued % (uint64_t)p->depth];
  pthread_mutex_unlock(&p->lock);
  /* The slot is free (written), so no worker reads it: copy without the lock. */
  memcpy(s->offset, offset, sizeof(hsize_t) * (size_t)p->rank);
  memcpy(s->input, chunk, p->params.chunk_bytes);
  s->done = false;
  s->output_bytes = 0;
  pthread_mutex_lock(&p->lock);
  p->queued++;
  pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->lock);
  return PIPELINE_OK;
}

pipeline_status pipeline_drain(chunk_pipeline *p) {
  pthread_mutex_lock(&p->lock);
  pipeline_status status = write_ready(p, true);
  pthread_mutex_unlock(&p->lock);
  return status;
}

pipeline_totals pipeline_get_totals(chunk_pipeline *p) {
  pthread_mutex_lock(&p->lock);
  pipeline_totals totals = p->totals;
  pthread_mutex_unlock(&p->lock);
  return totals;
}

void pipeline_destroy(chunk_pipeline *p) {
  pthread_mutex_lock(&p->lock);
  p->stopping = true;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < p->thread_count; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->finished);
  pthread_mutex_destroy(&p->lock);
  free_slots(p);
  free(p->threads);
  free(p);
}
