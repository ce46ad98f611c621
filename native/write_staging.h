/*
 * write_staging: whether the O_DIRECT writer copies frames that lie in the
 * shared-memory ring into huge-page memory before writing them (see
 * write_staging.c).
 */
#ifndef LABCAST_WRITE_STAGING_H
#define LABCAST_WRITE_STAGING_H

#include <stdbool.h>
#include <sys/types.h>

/* Huge (2 MiB) pages: the alignment of the writer's own buffers and the size the kernel maps them in. */
#define WRITE_STAGING_HUGE_PAGE (2 * 1024 * 1024)

/*
 * For a file on `device`: true when a frame written from the ring's 4 KiB
 * pages would reach the disk as more requests than the same bytes written
 * from huge pages, and a copy into huge pages is possible and would help.
 * LABCAST_DIRECT_STAGING=1 or =0 decides instead. Why, in words, into
 * `reason` (`size` bytes; NULL: not wanted).
 */
bool write_staging_decide(dev_t device, char *reason, size_t size);

#endif
