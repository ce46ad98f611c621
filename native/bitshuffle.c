/*
 * Bitshuffle (see bitshuffle.h). The transposed layout: for each byte j of
 * an element and each bit k of that byte (LSB first), one row of
 * elements/8 bytes, where bit t of row byte g is bit k of byte j of element
 * 8g+t. Rows in the order (j, k). This is bitshuffle's
 * bshuf_trans_bit_elem, reimplemented: byte transpose, then an 8x8 bit
 * transpose per 8 elements (SSE2 movemask where available).
 */
#include "bitshuffle.h"

#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef LABCAST_HAVE_LZ4
#include <lz4.h>
#endif

#define TARGET_BLOCK_BYTES 8192
#define BLOCK_MULTIPLE 8
#define MIN_BLOCK_ELEMENTS 128
#define HEADER_BYTES 12

size_t bshuf_block_elements(size_t elem_size) {
  size_t elements = TARGET_BLOCK_BYTES / elem_size;
  elements -= elements % BLOCK_MULTIPLE;
  return elements < MIN_BLOCK_ELEMENTS ? MIN_BLOCK_ELEMENTS : elements;
}

/* Transposes an 8x8 bit matrix: bit t of byte k out = bit k of byte t in. Its own inverse. */
static inline uint64_t transpose_8x8(uint64_t x) {
  uint64_t t;
  t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
  x = x ^ t ^ (t << 7);
  t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
  x = x ^ t ^ (t << 14);
  t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
  x = x ^ t ^ (t << 28);
  return x;
}

static inline uint64_t load_le64(const uint8_t *p) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--) x = (x << 8) | p[i];
  return x;
}

/* Rows of one element byte: `bytes` (elements, a multiple of 8) bytes at `in`, bit rows at out + k*row. */
static void transpose_bits(const uint8_t *in, uint8_t *out, size_t elements, size_t row) {
  size_t g = 0;
#ifdef __SSE2__
  for (; g + 2 <= elements / 8; g += 2) {
    __m128i x = _mm_loadu_si128((const __m128i *)(in + 8 * g));
    for (int k = 7; k >= 0; k--) {
      int mask = _mm_movemask_epi8(x);
      out[(size_t)k * row + g] = (uint8_t)mask;
      out[(size_t)k * row + g + 1] = (uint8_t)(mask >> 8);
      x = _mm_slli_epi64(x, 1);
    }
  }
#endif
  for (; g < elements / 8; g++) {
    uint64_t x = transpose_8x8(load_le64(in + 8 * g));
    for (int k = 0; k < 8; k++) out[(size_t)k * row + g] = (uint8_t)(x >> (8 * k));
  }
}

/* Byte j of every element into row j (the byte shuffle); a copy for one-byte elements. */
static void transpose_bytes(const uint8_t *in, uint8_t *out, size_t elements, size_t elem_size) {
  if (elem_size == 1) {
    memcpy(out, in, elements);
  } else if (elem_size == 2) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128i low_byte = _mm_set1_epi16(0x00FF);
    for (; i + 16 <= elements; i += 16) {
      __m128i a = _mm_loadu_si128((const __m128i *)(in + 2 * i));
      __m128i b = _mm_loadu_si128((const __m128i *)(in + 2 * i + 16));
      _mm_storeu_si128((__m128i *)(out + i), _mm_packus_epi16(_mm_and_si128(a, low_byte), _mm_and_si128(b, low_byte)));
      _mm_storeu_si128((__m128i *)(out + elements + i), _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)));
    }
#endif
    for (; i < elements; i++) {
      out[i] = in[2 * i];
      out[elements + i] = in[2 * i + 1];
    }
  } else {
    for (size_t i = 0; i < elements; i++)
      for (size_t j = 0; j < elem_size; j++) out[j * elements + i] = in[i * elem_size + j];
  }
}

static void untranspose_bytes(const uint8_t *in, uint8_t *out, size_t elements, size_t elem_size) {
  if (elem_size == 1) {
    memcpy(out, in, elements);
  } else {
    for (size_t i = 0; i < elements; i++)
      for (size_t j = 0; j < elem_size; j++) out[i * elem_size + j] = in[j * elements + i];
  }
}

void bshuf_transpose(const uint8_t *in, uint8_t *out, size_t elements, size_t elem_size) {
  size_t row = elements / 8;
  if (elem_size == 1) {
    transpose_bits(in, out, elements, row);
    return;
  }
  /* Byte rows first, in a buffer of their own; a block is ~8 KiB, so the stack holds it. */
  uint8_t stack[TARGET_BLOCK_BYTES];
  size_t bytes = elements * elem_size;
  uint8_t *bytes_rows = bytes <= sizeof stack ? stack : malloc(bytes);
  if (bytes_rows == NULL) abort();
  transpose_bytes(in, bytes_rows, elements, elem_size);
  for (size_t j = 0; j < elem_size; j++) transpose_bits(bytes_rows + j * elements, out + j * 8 * row, elements, row);
  if (bytes_rows != stack) free(bytes_rows);
}

void bshuf_untranspose(const uint8_t *in, uint8_t *out, size_t elements, size_t elem_size) {
  size_t row = elements / 8;
  uint8_t stack[TARGET_BLOCK_BYTES];
  size_t bytes = elements * elem_size;
  uint8_t *bytes_rows = bytes <= sizeof stack ? stack : malloc(bytes);
  if (bytes_rows == NULL) abort();
  for (size_t j = 0; j < elem_size; j++) {
    const uint8_t *rows = in + j * 8 * row;
    uint8_t *target = bytes_rows + j * elements;
    for (size_t g = 0; g < row; g++) {
      uint64_t x = 0;
      for (int k = 7; k >= 0; k--) x = (x << 8) | rows[(size_t)k * row + g];
      x = transpose_8x8(x);
      for (int t = 0; t < 8; t++) target[8 * g + (size_t)t] = (uint8_t)(x >> (8 * t));
    }
  }
  untranspose_bytes(bytes_rows, out, elements, elem_size);
  if (bytes_rows != stack) free(bytes_rows);
}

#ifdef LABCAST_HAVE_LZ4

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v) {
  put_be32(p, (uint32_t)(v >> 32));
  put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

uint64_t bshuf_lz4_stated_bytes(const uint8_t *in, size_t in_bytes) {
  if (in_bytes < HEADER_BYTES) return 0;
  return ((uint64_t)get_be32(in) << 32) | get_be32(in + 4);
}

size_t bshuf_lz4_bound(size_t bytes, size_t elem_size) {
  size_t block_bytes = bshuf_block_elements(elem_size) * elem_size;
  size_t blocks = bytes / block_bytes + 2;
  return HEADER_BYTES + blocks * (4 + (size_t)LZ4_compressBound((int)block_bytes)) + bytes;
}

size_t bshuf_lz4_compress(const uint8_t *in, size_t bytes, size_t elem_size, uint8_t *out, size_t capacity,
                          uint8_t *scratch) {
  if (bytes % elem_size != 0 || capacity < HEADER_BYTES) return 0;
  size_t elements = bytes / elem_size;
  size_t block = bshuf_block_elements(elem_size);
  put_be64(out, bytes);
  put_be32(out + 8, (uint32_t)(block * elem_size));
  size_t used = HEADER_BYTES;
  size_t done = 0;
  while (done < elements) {
    size_t n = elements - done < block ? elements - done : block;
    n -= n % BLOCK_MULTIPLE;
    if (n == 0) break;
    bshuf_transpose(in + done * elem_size, scratch, n, elem_size);
    if (capacity - used < 4) return 0;
    int packed = LZ4_compress_default((const char *)scratch, (char *)out + used + 4, (int)(n * elem_size),
                                      (int)(capacity - used - 4 > (size_t)INT32_MAX ? INT32_MAX : capacity - used - 4));
    if (packed <= 0) return 0;
    put_be32(out + used, (uint32_t)packed);
    used += 4 + (size_t)packed;
    done += n;
  }
  /* Fewer than 8 elements left over: stored as they are. */
  size_t rest = (elements - done) * elem_size;
  if (capacity - used < rest) return 0;
  memcpy(out + used, in + done * elem_size, rest);
  return used + rest;
}

int bshuf_lz4_decompress(const uint8_t *in, size_t in_bytes, size_t elem_size, uint8_t *out, size_t out_bytes) {
  if (in_bytes < HEADER_BYTES || bshuf_lz4_stated_bytes(in, in_bytes) != out_bytes || out_bytes % elem_size != 0) return -1;
  size_t block = get_be32(in + 8) / elem_size;
  if (block == 0 || block % BLOCK_MULTIPLE != 0) return -1;
  size_t elements = out_bytes / elem_size;
  uint8_t *scratch = malloc(block * elem_size);
  if (scratch == NULL) return -1;
  size_t used = HEADER_BYTES, done = 0;
  int status = 0;
  while (done < elements) {
    size_t n = elements - done < block ? elements - done : block;
    n -= n % BLOCK_MULTIPLE;
    if (n == 0) break;
    if (in_bytes - used < 4) {
      status = -1;
      break;
    }
    uint32_t packed = get_be32(in + used);
    used += 4;
    if (packed > in_bytes - used ||
        LZ4_decompress_safe((const char *)in + used, (char *)scratch, (int)packed, (int)(n * elem_size)) != (int)(n * elem_size)) {
      status = -1;
      break;
    }
    bshuf_untranspose(scratch, out + done * elem_size, n, elem_size);
    used += packed;
    done += n;
  }
  size_t rest = (elements - done) * elem_size;
  if (status == 0 && in_bytes - used >= rest) memcpy(out + done * elem_size, in + used, rest);
  else status = -1;
  free(scratch);
  return status;
}

#endif
