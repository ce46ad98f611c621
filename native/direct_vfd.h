/*
 * direct_vfd: an HDF5 file driver that writes large raw-data blocks with
 * O_DIRECT and everything else through the page cache (see direct_vfd.c).
 */
#ifndef LABCAST_DIRECT_VFD_H
#define LABCAST_DIRECT_VFD_H

#include <hdf5.h>
#include <stdint.h>

/* Allocations of at least this size start on a page boundary (H5Pset_alignment). */
#define DIRECT_VFD_ALIGN_THRESHOLD (64 * 1024)
#define DIRECT_VFD_PAGE 4096

/* The driver's id, registered with HDF5 on first use; negative on failure. */
hid_t direct_vfd_id(void);

/* Sets the driver and the page alignment of large allocations on a file-access list. */
herr_t direct_vfd_set_fapl(hid_t fapl);

/*
 * Waits until the file's queued direct writes are written; negative, with the
 * write's error on HDF5's stack, if one failed. Call it before H5Fflush and
 * H5Fclose: HDF5 writes the superblock (which records the end of the file)
 * before it calls the driver's own flush, and a superblock that counts bytes
 * never written makes the whole file unreadable ("truncated file"). A file of
 * another driver: nothing to do.
 */
herr_t direct_vfd_drain_file(hid_t file_id);

/* Bytes written so far by every file of this driver, and how many of them bypassed the page cache. */
typedef struct {
  uint64_t direct_bytes;
  uint64_t buffered_bytes;
  uint64_t direct_fallbacks; /* files whose file system refused O_DIRECT */
  uint64_t in_place_bytes;   /* of the direct bytes, those written from ring memory with no copy */
  uint64_t staged_bytes;     /* ring memory copied into huge pages first (write_staging.c) */
  uint64_t direct_writes;    /* slots handed to the writer thread (chunks that follow one another share one) */
} direct_vfd_counters;

direct_vfd_counters direct_vfd_totals(void);

#endif
