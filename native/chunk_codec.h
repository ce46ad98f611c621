/*
 * Lossless codecs for frame chunks, each producing exactly the chunk format
 * of a registered HDF5 filter, so that a file written with H5Dwrite_chunk
 * opens in any reader that has the standard plugin:
 *   lz4             HDF5 filter 32004 (HDF Group's LZ4 plugin)
 *   bitshuffle-lz4  32008 (bitshuffle plugin, LZ4 mode; Dectris' format)
 *   zstd            32001 (Blosc plugin, compressor zstd, bit shuffle)
 *
 * The same codecs are registered in this process as the HDF5 filter classes
 * of those ids (codec_register_filters), so that libhdf5 never loads a
 * plugin for them here: the parameters stored in the file are the full
 * ones a reader needs whether or not a plugin is installed beside the
 * writer, and HDF5's own re-encoding of a chunk (a shrinking extent
 * rewrites the chunk it cuts) uses the same code.
 *
 * Thread-safe: codec_compress and codec_decompress touch no shared state
 * and may run on any thread; the registration calls HDF5 (the JS thread).
 */
#ifndef LABCAST_CHUNK_CODEC_H
#define LABCAST_CHUNK_CODEC_H

#include <stddef.h>
#include <stdint.h>

typedef enum { CODEC_NONE = 0, CODEC_LZ4 = 1, CODEC_BITSHUFFLE_LZ4 = 2, CODEC_ZSTD = 3 } codec_id;

#define CODEC_FILTER_LZ4 32004
#define CODEC_FILTER_BITSHUFFLE 32008
#define CODEC_FILTER_BLOSC 32001
/* The most filter parameters (cd_values) a codec stores. */
#define CODEC_MAX_VALUES 8

typedef struct {
  codec_id id;
  /* zstd: Blosc's clevel 1-9; the others have no level (0). */
  int level;
  /* Bytes per element (2 for uint16; 1 for uint8 and RGB uint8). */
  size_t elem_size;
  /* Bytes of one uncompressed chunk. */
  size_t chunk_bytes;
} codec_params;

/* CODEC_NONE for "none"; -1 for a name that is not a codec. */
int codec_from_name(const char *name);
const char *codec_name(codec_id id);
int codec_filter_id(codec_id id);
/* The level used when none is given, and the range a level may take (0, 0 when the codec has none). */
int codec_default_level(codec_id id);
void codec_level_range(codec_id id, int *min, int *max);

/*
 * NULL when the codec was built in; otherwise the Debian package whose
 * library was missing when the addon was built.
 */
const char *codec_missing_package(codec_id id);

/* The most bytes a compressed chunk can take, and the scratch memory codec_compress needs. */
size_t codec_bound(const codec_params *params);
size_t codec_scratch_bytes(const codec_params *params);
/* Compresses one chunk (params->chunk_bytes at in). Returns the bytes written to out, 0 on failure. */
size_t codec_compress(const codec_params *params, const uint8_t *in, uint8_t *out, size_t capacity, uint8_t *scratch);
/* Decompresses one chunk into out (params->chunk_bytes). 0 on success. */
int codec_decompress(const codec_params *params, const uint8_t *in, size_t in_bytes, uint8_t *out);

/* The filter parameters a reader needs, in the form the standard plugin stores them. Returns their count. */
size_t codec_filter_values(const codec_params *params, unsigned *values);

/* Registers the codecs as HDF5 filter classes of their ids; < 0 on failure. Call once, on the HDF5 thread. */
int codec_register_filters(void);

#endif
