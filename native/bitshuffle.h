/*
 * The bitshuffle transform and the chunk format of HDF5 filter 32008
 * (bitshuffle + LZ4), written here because Debian ships bitshuffle only as a
 * Python module and an HDF5 plugin, not as a library to link.
 *
 * Chunk format (what the bitshuffle plugin reads):
 *   uint64 BE  uncompressed bytes of the chunk
 *   uint32 BE  block size in bytes (block elements * element size)
 *   per block: uint32 BE compressed bytes, then the LZ4 block of the
 *              bit-transposed elements
 *   the last (elements % 8) elements raw, untransposed.
 */
#ifndef LABCAST_BITSHUFFLE_H
#define LABCAST_BITSHUFFLE_H

#include <stddef.h>
#include <stdint.h>

/* The plugin's default: blocks of ~8 KiB, a multiple of 8 elements (bshuf_default_block_size). */
size_t bshuf_block_elements(size_t elem_size);

/* Bit-transposes `elements` (a multiple of 8) elements of `elem_size` bytes from in to out. */
void bshuf_transpose(const uint8_t *in, uint8_t *out, size_t elements, size_t elem_size);
/* The inverse of bshuf_transpose. */
void bshuf_untranspose(const uint8_t *in, uint8_t *out, size_t elements, size_t elem_size);

#ifdef LABCAST_HAVE_LZ4
/* Bytes out may need at most, for `bytes` in. */
size_t bshuf_lz4_bound(size_t bytes, size_t elem_size);
/*
 * Compresses one chunk into the 32008 format. `scratch` holds at least one
 * block (bshuf_block_elements * elem_size bytes). Returns the bytes written,
 * 0 on failure.
 */
size_t bshuf_lz4_compress(const uint8_t *in, size_t bytes, size_t elem_size, uint8_t *out, size_t capacity,
                          uint8_t *scratch);
/* Decompresses one 32008 chunk of `in_bytes` into out (`out_bytes`, as its header says). 0 on success. */
int bshuf_lz4_decompress(const uint8_t *in, size_t in_bytes, size_t elem_size, uint8_t *out, size_t out_bytes);
/* The uncompressed size a 32008 chunk's header states (0 if the chunk is too short to have one). */
uint64_t bshuf_lz4_stated_bytes(const uint8_t *in, size_t in_bytes);
#endif

#endif
