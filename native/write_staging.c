/*
 * write_staging: when the saver should copy a ring frame before an O_DIRECT
 * write, although the frame already lies in page-aligned memory it could be
 * written from.
 *
 * Why: the kernel turns a direct write into device requests by the physical
 * memory behind it. A 2 MiB frame in the ring (memfd, 4 KiB pages, scattered
 * in physical memory) is 512 separate pieces; a bio holds at most 256 of
 * them and a request at most the device's max_segments, so the write goes
 * out as several requests. The same 2 MiB in one huge page is one piece and
 * one request. On the development VM's virtio disk (max_segments 254,
 * max_sectors_kb 4096) that is 4 requests against 1 per frame, 1.3-1.5 GB/s
 * against 2.0-2.3 GB/s, and a 2 MiB memcpy costs ~0.13 ms of the saver's
 * main thread while the writer thread writes the frame before
 * (docs/performance.md, "Huge pages"). It is also why `dd oflag=direct`
 * swings between two speeds from one run to the next: whether its buffer's
 * pages happened to be contiguous.
 *
 * So the writer copies ring frames into its own huge-page buffers when the
 * device's limits say the copy saves requests, transparent huge pages exist
 * for private memory, and the ring itself cannot have huge pages (shared
 * memory gets them only where the administrator allowed it: shmem_enabled);
 * otherwise it writes the ring slot in place, with no copy. The copy is a
 * budget of one per frame: a frame that was copied on its way into the ring
 * (Aravis assembling GigE Vision packets, a frame copied into its slot) is
 * written in place whatever this decides (shared_memory_copyable).
 */
#define _GNU_SOURCE
#include "write_staging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#define THP "/sys/kernel/mm/transparent_hugepage/"
/* A megapixel uint16 frame, the size the decision is made for. */
#define FRAME_BYTES (2 * 1024 * 1024)
#define PAGE_BYTES 4096
/* The kernel's BIO_MAX_VECS: one bio holds at most this many separate pieces of memory. */
#define BIO_MAX_PIECES 256

/* The bracketed word of a sysfs policy file ("always [madvise] never"), or "" if unreadable. */
static void selected_policy(const char *path, char *word, size_t size) {
  word[0] = '\0';
  FILE *in = fopen(path, "r");
  if (in == NULL) return;
  char line[256];
  if (fgets(line, sizeof line, in) != NULL) {
    char *open = strchr(line, '['), *close = open != NULL ? strchr(open, ']') : NULL;
    if (close != NULL && (size_t)(close - open - 1) < size) {
      memcpy(word, open + 1, (size_t)(close - open - 1));
      word[close - open - 1] = '\0';
    }
  }
  fclose(in);
}

static bool huge_when_asked(const char *policy) {
  return strcmp(policy, "always") == 0 || strcmp(policy, "madvise") == 0 || strcmp(policy, "advise") == 0 ||
         strcmp(policy, "within_size") == 0 || strcmp(policy, "force") == 0;
}

/* Whether memory shared between processes (memfd) comes in huge pages when asked with MADV_HUGEPAGE. */
static bool shared_huge_pages(void) {
  char policy[32], per_size[32];
  selected_policy(THP "shmem_enabled", policy, sizeof policy);
  /* Kernels with per-size policies: the 2 MiB one decides unless it defers to the global one. */
  selected_policy(THP "hugepages-2048kB/shmem_enabled", per_size, sizeof per_size);
  if (per_size[0] != '\0' && strcmp(per_size, "inherit") != 0) return huge_when_asked(per_size);
  return huge_when_asked(policy);
}

static bool private_huge_pages(void) {
  char policy[32];
  selected_policy(THP "enabled", policy, sizeof policy);
  return huge_when_asked(policy);
}

static long queue_limit(dev_t device, const char *name) {
  char path[128];
  long value = -1;
  /* A whole disk has queue/ itself; a partition's limits are its disk's, one level up. */
  const char *places[] = {"/sys/dev/block/%u:%u/queue/%s", "/sys/dev/block/%u:%u/../queue/%s"};
  for (unsigned i = 0; i < 2 && value < 0; i++) {
    snprintf(path, sizeof path, places[i], major(device), minor(device), name);
    FILE *in = fopen(path, "r");
    if (in == NULL) continue;
    if (fscanf(in, "%ld", &value) != 1) value = -1;
    fclose(in);
  }
  return value;
}

/* Device requests for one frame, from scattered 4 KiB pages and from one piece of memory; false if not a block device. */
static bool frame_requests(dev_t device, long *scattered, long *contiguous) {
  long segments = queue_limit(device, "max_segments");
  long request_kb = queue_limit(device, "max_sectors_kb");
  if (segments <= 0 || request_kb <= 0) return false;
  long pieces_per_request = segments;
  if (pieces_per_request > request_kb * 1024 / PAGE_BYTES) pieces_per_request = request_kb * 1024 / PAGE_BYTES;
  if (pieces_per_request <= 0) return false;
  /* The frame's pages go into bios of BIO_MAX_PIECES, and each bio is split to the device's limits. */
  long pages = FRAME_BYTES / PAGE_BYTES;
  long bio_pages = pages < BIO_MAX_PIECES ? pages : BIO_MAX_PIECES;
  *scattered = (pages + bio_pages - 1) / bio_pages * ((bio_pages + pieces_per_request - 1) / pieces_per_request);
  *contiguous = (FRAME_BYTES / 1024 + request_kb - 1) / request_kb;
  return true;
}

#define SAY(...) (reason != NULL ? (void)snprintf(reason, size, __VA_ARGS__) : (void)0)

bool write_staging_decide(dev_t device, char *reason, size_t size) {
  const char *set = getenv("LABCAST_DIRECT_STAGING");
  if (set != NULL && (strcmp(set, "1") == 0 || strcmp(set, "0") == 0)) {
    SAY("LABCAST_DIRECT_STAGING=%s", set);
    return set[0] == '1';
  }
  if (!private_huge_pages()) {
    SAY("no transparent huge pages to copy into");
    return false;
  }
  if (shared_huge_pages()) {
    SAY("the ring itself is in huge pages: shmem_enabled allows them");
    return false;
  }
  long scattered = 0, contiguous = 0;
  if (!frame_requests(device, &scattered, &contiguous)) {
    SAY("device %u:%u has no disk limits to go by: tmpfs, or a file system over several disks", major(device), minor(device));
    return false;
  }
  SAY("device %u:%u takes a 2 MiB frame as %ld request%s from 4 KiB pages, %ld from a huge page", major(device),
      minor(device), scattered, scattered == 1 ? "" : "s", contiguous);
  return scattered > contiguous;
}
