/*
 * Chunk codecs and their HDF5 filter classes (see chunk_codec.h). Each
 * library is optional at build time (scripts/build-native.mjs defines
 * LABCAST_HAVE_LZ4 / LABCAST_HAVE_BLOSC when its headers are there); a codec
 * without its library says which package is missing, and nothing falls back
 * to raw chunks.
 */
#include "chunk_codec.h"
#include "bitshuffle.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#ifdef LABCAST_HAVE_LZ4
#include <lz4.h>
#endif
#ifdef LABCAST_HAVE_BLOSC
#include <blosc.h>
#endif

/* Version of the Blosc HDF5 filter's parameter layout, and the bitshuffle plugin's version stored with its parameters. */
#define BLOSC_FILTER_VERSION 2
#define BSHUF_MAJOR 0
#define BSHUF_MINOR 3
#define BSHUF_MODE_LZ4 2
/*
 * Blosc's zstd on bit-shuffled pixels: on camera-like uint16 frames the bit
 * shuffle leaves the noise bits in rows of their own and zstd finds the
 * rest (docs/decisions/0008-compression.md).
 */
#define ZSTD_SHUFFLE 2
#define ZSTD_COMPCODE 5
/* LZ4 filter: one LZ4 block per chunk (the plugin allows up to 1 GiB a block). */
#define LZ4_HEADER 12

static const char *const NAMES[] = {"none", "lz4", "bitshuffle-lz4", "zstd"};

int codec_from_name(const char *name) {
  for (int i = 0; i < (int)(sizeof NAMES / sizeof NAMES[0]); i++) {
    if (strcmp(name, NAMES[i]) == 0) return i;
  }
  return -1;
}

const char *codec_name(codec_id id) { return id <= CODEC_ZSTD ? NAMES[id] : "?"; }

int codec_filter_id(codec_id id) {
  switch (id) {
    case CODEC_LZ4: return CODEC_FILTER_LZ4;
    case CODEC_BITSHUFFLE_LZ4: return CODEC_FILTER_BITSHUFFLE;
    case CODEC_ZSTD: return CODEC_FILTER_BLOSC;
    default: return 0;
  }
}

int codec_default_level(codec_id id) { return id == CODEC_ZSTD ? 1 : 0; }

void codec_level_range(codec_id id, int *min, int *max) {
  *min = id == CODEC_ZSTD ? 1 : 0;
  *max = id == CODEC_ZSTD ? 9 : 0;
}

const char *codec_missing_package(codec_id id) {
  switch (id) {
    case CODEC_LZ4:
    case CODEC_BITSHUFFLE_LZ4:
#ifdef LABCAST_HAVE_LZ4
      return NULL;
#else
      return "liblz4-dev";
#endif
    case CODEC_ZSTD:
#ifdef LABCAST_HAVE_BLOSC
      /* Debian's Blosc has zstd; a Blosc built without it cannot write these files. */
      return strstr(blosc_list_compressors(), "zstd") != NULL ? NULL : "libblosc-dev (a Blosc with zstd)";
#else
      return "libblosc-dev libzstd-dev";
#endif
    default: return NULL;
  }
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

size_t codec_bound(const codec_params *params) {
  size_t bytes = params->chunk_bytes;
  switch (params->id) {
#ifdef LABCAST_HAVE_LZ4
    case CODEC_LZ4: return LZ4_HEADER + 4 + (size_t)LZ4_compressBound((int)bytes);
    case CODEC_BITSHUFFLE_LZ4: return bshuf_lz4_bound(bytes, params->elem_size);
#endif
#ifdef LABCAST_HAVE_BLOSC
    case CODEC_ZSTD: return bytes + BLOSC_MAX_OVERHEAD;
#endif
    default: return bytes;
  }
}

size_t codec_scratch_bytes(const codec_params *params) {
  return params->id == CODEC_BITSHUFFLE_LZ4 ? bshuf_block_elements(params->elem_size) * params->elem_size : 0;
}

#ifdef LABCAST_HAVE_LZ4
/* The 32004 format: uint64 BE bytes, uint32 BE block bytes, then per block uint32 BE size + LZ4 (or raw if not smaller). */
static size_t lz4_compress(const uint8_t *in, size_t bytes, uint8_t *out, size_t capacity) {
  if (capacity < LZ4_HEADER + 4) return 0;
  put_be32(out, (uint32_t)((uint64_t)bytes >> 32));
  put_be32(out + 4, (uint32_t)bytes);
  put_be32(out + 8, (uint32_t)bytes);
  int packed = LZ4_compress_default((const char *)in, (char *)out + LZ4_HEADER + 4, (int)bytes,
                                    (int)(capacity - LZ4_HEADER - 4));
  if (packed <= 0 || (size_t)packed >= bytes) {
    /* Incompressible: the plugin reads a block whose size equals the block size as raw bytes. */
    if (capacity < LZ4_HEADER + 4 + bytes) return 0;
    memcpy(out + LZ4_HEADER + 4, in, bytes);
    packed = (int)bytes;
  }
  put_be32(out + LZ4_HEADER, (uint32_t)packed);
  return LZ4_HEADER + 4 + (size_t)packed;
}

static int lz4_decompress(const uint8_t *in, size_t in_bytes, uint8_t *out, size_t out_bytes) {
  if (in_bytes < LZ4_HEADER) return -1;
  uint64_t stated = ((uint64_t)get_be32(in) << 32) | get_be32(in + 4);
  size_t block = get_be32(in + 8);
  if (stated != out_bytes) return -1;
  if (block == 0 || block > out_bytes) block = out_bytes;
  size_t used = LZ4_HEADER, done = 0;
  while (done < out_bytes) {
    size_t n = out_bytes - done < block ? out_bytes - done : block;
    if (in_bytes - used < 4) return -1;
    size_t packed = get_be32(in + used);
    used += 4;
    if (packed > in_bytes - used) return -1;
    if (packed == n) memcpy(out + done, in + used, n);
    else if (LZ4_decompress_safe((const char *)in + used, (char *)out + done, (int)packed, (int)n) != (int)n) return -1;
    used += packed;
    done += n;
  }
  return 0;
}
#endif

#ifdef LABCAST_HAVE_BLOSC
static size_t blosc_pack(int level, int shuffle, int compcode, size_t elem_size, const uint8_t *in, size_t bytes,
                         uint8_t *out, size_t capacity) {
  const char *compressor = NULL;
  if (blosc_compcode_to_compname(compcode, &compressor) < 0 || compressor == NULL) return 0;
  int packed = blosc_compress_ctx(level, shuffle, elem_size, bytes, in, out, capacity, compressor, 0, 1);
  return packed <= 0 ? 0 : (size_t)packed;
}

static int blosc_unpack(const uint8_t *in, size_t in_bytes, uint8_t *out, size_t out_bytes) {
  size_t stated = 0, compressed = 0, block = 0;
  if (in_bytes < BLOSC_MIN_HEADER_LENGTH) return -1;
  blosc_cbuffer_sizes(in, &stated, &compressed, &block);
  if (stated != out_bytes || compressed > in_bytes) return -1;
  return blosc_decompress_ctx(in, out, out_bytes, 1) == (int)out_bytes ? 0 : -1;
}
#endif

size_t codec_compress(const codec_params *params, const uint8_t *in, uint8_t *out, size_t capacity, uint8_t *scratch) {
  (void)in;
  (void)out;
  (void)capacity;
  (void)scratch;
  switch (params->id) {
#ifdef LABCAST_HAVE_LZ4
    case CODEC_LZ4: return lz4_compress(in, params->chunk_bytes, out, capacity);
    case CODEC_BITSHUFFLE_LZ4:
      return bshuf_lz4_compress(in, params->chunk_bytes, params->elem_size, out, capacity, scratch);
#endif
#ifdef LABCAST_HAVE_BLOSC
    case CODEC_ZSTD:
      return blosc_pack(params->level, ZSTD_SHUFFLE, ZSTD_COMPCODE, params->elem_size, in, params->chunk_bytes, out,
                        capacity);
#endif
    default: return 0;
  }
}

int codec_decompress(const codec_params *params, const uint8_t *in, size_t in_bytes, uint8_t *out) {
  (void)in;
  (void)in_bytes;
  (void)out;
  switch (params->id) {
#ifdef LABCAST_HAVE_LZ4
    case CODEC_LZ4: return lz4_decompress(in, in_bytes, out, params->chunk_bytes);
    case CODEC_BITSHUFFLE_LZ4: return bshuf_lz4_decompress(in, in_bytes, params->elem_size, out, params->chunk_bytes);
#endif
#ifdef LABCAST_HAVE_BLOSC
    case CODEC_ZSTD: return blosc_unpack(in, in_bytes, out, params->chunk_bytes);
#endif
    default: return -1;
  }
}

size_t codec_filter_values(const codec_params *params, unsigned *values) {
  switch (params->id) {
    case CODEC_LZ4:
      /* Block size 0: the plugin's default; the block size a reader needs is in each chunk's header. */
      values[0] = 0;
      return 1;
    case CODEC_BITSHUFFLE_LZ4:
      /*
       * The form the plugin's set_local makes of the user's (block size,
       * mode): a reader takes the element size from values[2] and the mode
       * from values[4]. The short user form stored as it is (a writer
       * without the plugin loaded) would make a reader take the mode (2) as
       * the element size.
       */
      values[0] = BSHUF_MAJOR;
      values[1] = BSHUF_MINOR;
      values[2] = (unsigned)params->elem_size;
      values[3] = 0;
      values[4] = BSHUF_MODE_LZ4;
      return 5;
    case CODEC_ZSTD:
      values[0] = BLOSC_FILTER_VERSION;
#ifdef LABCAST_HAVE_BLOSC
      values[1] = BLOSC_VERSION_FORMAT;
#else
      values[1] = 2;
#endif
      values[2] = (unsigned)params->elem_size;
      values[3] = (unsigned)params->chunk_bytes;
      values[4] = (unsigned)params->level;
      values[5] = ZSTD_SHUFFLE;
      values[6] = ZSTD_COMPCODE;
      return 7;
    default: return 0;
  }
}

/* ------------------------------------------------------------------------ */
/* HDF5 filter classes                                                       */
/* ------------------------------------------------------------------------ */

/* Element size and chunk bytes of the dataset being created. */
static herr_t chunk_geometry(hid_t dcpl, hid_t type, size_t *elem_size, size_t *chunk_bytes) {
  hsize_t dims[32];
  int rank = H5Pget_chunk(dcpl, 32, dims);
  size_t size = H5Tget_size(type);
  if (rank <= 0 || size == 0) return -1;
  size_t bytes = size;
  for (int i = 0; i < rank; i++) bytes *= (size_t)dims[i];
  *elem_size = size;
  *chunk_bytes = bytes;
  return 0;
}

/* Writes the full parameters for the dataset's element type and chunk size, keeping a level given by the user. */
static herr_t set_local_values(hid_t dcpl, hid_t type, codec_id id, int filter) {
  unsigned flags = 0, given[CODEC_MAX_VALUES] = {0};
  size_t count = CODEC_MAX_VALUES;
  if (H5Pget_filter_by_id2(dcpl, (H5Z_filter_t)filter, &flags, &count, given, 0, NULL, NULL) < 0) return -1;
  codec_params params = {id, codec_default_level(id), 0, 0};
  if (chunk_geometry(dcpl, type, &params.elem_size, &params.chunk_bytes) < 0) return -1;
  if (id == CODEC_ZSTD && count > 4 && given[4] >= 1 && given[4] <= 9) params.level = (int)given[4];
  unsigned values[CODEC_MAX_VALUES];
  size_t n = codec_filter_values(&params, values);
  return H5Pmodify_filter(dcpl, (H5Z_filter_t)filter, flags, n, values) < 0 ? -1 : 1;
}

static herr_t bitshuffle_set_local(hid_t dcpl, hid_t type, hid_t space) {
  (void)space;
  return set_local_values(dcpl, type, CODEC_BITSHUFFLE_LZ4, CODEC_FILTER_BITSHUFFLE);
}

static herr_t blosc_set_local(hid_t dcpl, hid_t type, hid_t space) {
  (void)space;
  return set_local_values(dcpl, type, CODEC_ZSTD, CODEC_FILTER_BLOSC);
}

/* An HDF5 filter callback around one codec: encodes or decodes *buf in place (a new buffer). */
static size_t run_filter(codec_id id, unsigned flags, size_t nvalues, const unsigned values[], size_t nbytes,
                         size_t *buf_size, void **buf) {
  codec_params params = {id, codec_default_level(id), 1, nbytes};
  if (id == CODEC_BITSHUFFLE_LZ4) {
    if (nvalues < 5 || values[4] != BSHUF_MODE_LZ4 || values[2] == 0) return 0;
    params.elem_size = values[2];
  }
  const uint8_t *in = *buf;
  uint8_t *out = NULL;
  size_t out_bytes = 0;
  if (flags & H5Z_FLAG_REVERSE) {
    if (id == CODEC_LZ4 && nbytes >= 8) {
      params.chunk_bytes = ((size_t)get_be32(in) << 32) | get_be32(in + 4);
#ifdef LABCAST_HAVE_LZ4
    } else if (id == CODEC_BITSHUFFLE_LZ4) {
      params.chunk_bytes = bshuf_lz4_stated_bytes(in, nbytes);
#endif
#ifdef LABCAST_HAVE_BLOSC
    } else if (id == CODEC_ZSTD && nbytes >= BLOSC_MIN_HEADER_LENGTH) {
      size_t compressed = 0, block = 0;
      blosc_cbuffer_sizes(in, &params.chunk_bytes, &compressed, &block);
#endif
    } else {
      return 0;
    }
    out = malloc(params.chunk_bytes == 0 ? 1 : params.chunk_bytes);
    if (out == NULL || codec_decompress(&params, in, nbytes, out) != 0) {
      free(out);
      return 0;
    }
    out_bytes = params.chunk_bytes;
    *buf_size = params.chunk_bytes;
  } else {
    size_t capacity = codec_bound(&params);
    out = malloc(capacity);
    uint8_t *scratch = malloc(codec_scratch_bytes(&params) + 1);
    if (out != NULL && scratch != NULL) {
      if (id == CODEC_ZSTD) {
#ifdef LABCAST_HAVE_BLOSC
        if (nvalues >= 7) out_bytes = blosc_pack((int)values[4], (int)values[5], (int)values[6], values[2], in, nbytes, out, capacity);
#endif
      } else {
        out_bytes = codec_compress(&params, in, out, capacity, scratch);
      }
    }
    free(scratch);
    if (out_bytes == 0) {
      free(out);
      return 0;
    }
    *buf_size = capacity;
  }
  free(*buf);
  *buf = out;
  return out_bytes;
}

static size_t lz4_filter(unsigned flags, size_t n, const unsigned v[], size_t bytes, size_t *size, void **buf) {
  return run_filter(CODEC_LZ4, flags, n, v, bytes, size, buf);
}
static size_t bitshuffle_filter(unsigned flags, size_t n, const unsigned v[], size_t bytes, size_t *size, void **buf) {
  return run_filter(CODEC_BITSHUFFLE_LZ4, flags, n, v, bytes, size, buf);
}
static size_t blosc_filter(unsigned flags, size_t n, const unsigned v[], size_t bytes, size_t *size, void **buf) {
  return run_filter(CODEC_ZSTD, flags, n, v, bytes, size, buf);
}

int codec_register_filters(void) {
#ifdef LABCAST_HAVE_BLOSC
  blosc_init();
#endif
  const H5Z_class2_t classes[] = {
      {H5Z_CLASS_T_VERS, (H5Z_filter_t)CODEC_FILTER_LZ4, 1, 1, "lz4", NULL, NULL,
       lz4_filter},
      {H5Z_CLASS_T_VERS, (H5Z_filter_t)CODEC_FILTER_BITSHUFFLE, 1, 1, "bitshuffle",
       NULL, bitshuffle_set_local, bitshuffle_filter},
      {H5Z_CLASS_T_VERS, (H5Z_filter_t)CODEC_FILTER_BLOSC, 1, 1, "blosc", NULL,
       blosc_set_local, blosc_filter},
  };
  const codec_id ids[] = {CODEC_LZ4, CODEC_BITSHUFFLE_LZ4, CODEC_ZSTD};
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
    /* A codec whose library is missing is not registered: a reader of such a file gets HDF5's own plugin, or an error. */
    if (codec_missing_package(ids[i]) != NULL) continue;
    if (H5Zregister(&classes[i]) < 0) return -1;
  }
  return 0;
}
