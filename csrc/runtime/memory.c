/* memory.c: linear memories.
 *
 * A memory reserves its whole reachable range once (max pages, or 4 GiB when
 * it has no maximum) as inaccessible address space, and growing only makes
 * more of that range readable and writable.  The data pointer therefore never
 * changes, so the interpreter may keep it in a register across calls and
 * nothing has to be re-read after memory.grow but the size.  MAP_NORESERVE
 * keeps the reservation from being charged against the commit limit:
 * address space is cheap, committed memory is not. */
#define _GNU_SOURCE 1 /* MAP_ANONYMOUS, MAP_NORESERVE */

#include "runtime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_NORESERVE
#define MAP_NORESERVE 0
#endif

/* The page count a memory may reach: its maximum, or the 32-bit address space. */
static uint32_t memory_max_pages(wp_limits limits) {
  return limits.has_max ? limits.max : WP_MAX_PAGES;
}

static bool limits_valid(wp_limits limits, wp_error *err) {
  if (limits.min > WP_MAX_PAGES || (limits.has_max && limits.max > WP_MAX_PAGES)) {
    wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET, "memory size must be at most %u pages (4GiB)",
                 WP_MAX_PAGES);
    return false;
  }
  if (limits.has_max && limits.min > limits.max) {
    wp_error_set(err, WP_ERR_ARG, WP_NO_OFFSET,
                 "size minimum must not be greater than maximum (%u > %u pages)", limits.min,
                 limits.max);
    return false;
  }
  return true;
}

/* wp_memory_init_reserve: set up m (its previous contents are ignored) with
 * limits.min pages accessible.  A memory that can never hold a page still
 * reserves one OS page, so that data is never NULL (hosts and the loop may
 * form data + 0 without a special case). */
int wp_memory_init_reserve(wp_memory *m, wp_limits limits, wp_error *err) {
  memset(m, 0, sizeof *m);
  if (!limits_valid(limits, err)) return -1;
  uint64_t reserve = (uint64_t)memory_max_pages(limits) * WP_PAGE_SIZE;
  if (reserve == 0) reserve = (uint64_t)sysconf(_SC_PAGESIZE);
  if (reserve > SIZE_MAX)
    return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET,
                        "cannot reserve %llu bytes of address space for a memory",
                        (unsigned long long)reserve);
  void *p = mmap(NULL, (size_t)reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET,
                        "cannot reserve %llu bytes of address space for a memory",
                        (unsigned long long)reserve);
#ifdef MADV_HUGEPAGE
  /* Guests index their memory at random (hash tables, heaps): transparent
   * huge pages spare them most TLB misses.  The kernel uses them only for
   * whole aligned 2 MiB ranges, so small memories are unaffected.  Advice
   * only: failure changes nothing.  WASMPROF_NO_HUGEPAGES=1 opts out (to
   * measure the difference, or to keep resident memory minimal). */
  const char *no_huge = getenv("WASMPROF_NO_HUGEPAGES");
  if (!no_huge || strcmp(no_huge, "1") != 0) (void)madvise(p, (size_t)reserve, MADV_HUGEPAGE);
#endif
#ifdef MADV_DONTDUMP
  /* Core dumps hold the committed pages only (wp_memory_grow_pages marks
   * them): a 4 GiB reservation would otherwise make every core 4 GiB. */
  (void)madvise(p, (size_t)reserve, MADV_DONTDUMP);
#endif
  m->data = p;
  m->reserved = reserve;
  m->limits = limits;
  m->limits.min = 0;
  if (wp_memory_grow_pages(m, limits.min) < 0) {
    wp_memory_release(m);
    return wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "cannot allocate %u pages of memory",
                        limits.min);
  }
  return 0;
}

/* wp_memory_release: unmap m's reservation; m may be zeroed or half built. */
void wp_memory_release(wp_memory *m) {
  if (m->data) munmap(m->data, (size_t)m->reserved);
  memset(m, 0, sizeof *m);
}

/* wp_memory_grow_pages: memory.grow.  Returns the old page count, or -1 when
 * the new size would pass the maximum or the system refuses the pages; on
 * failure m is unchanged, as the spec requires. */
int64_t wp_memory_grow_pages(wp_memory *m, uint32_t delta) {
  uint32_t old = m->limits.min;
  uint64_t pages = (uint64_t)old + delta;
  if (pages > memory_max_pages(m->limits)) return -1;
  if (m->host_max_pages && pages > m->host_max_pages) return -1; /* wp_instance_config limit */
  uint64_t bytes = pages * WP_PAGE_SIZE;
  if (bytes > m->reserved) return -1; /* cannot happen: the reservation covers the max */
  if (delta > 0 && mprotect(m->data + m->size, (size_t)(bytes - m->size), PROT_READ | PROT_WRITE) != 0)
    return -1;
#ifdef MADV_DODUMP
  if (delta > 0) (void)madvise(m->data + m->size, (size_t)(bytes - m->size), MADV_DODUMP);
#endif
  m->size = bytes;
  m->limits.min = (uint32_t)pages;
  return old;
}

/* ---- public API ---------------------------------------------------------- */

wp_memory *wp_memory_new(wp_limits limits, wp_error *err) {
  wp_memory *m = malloc(sizeof *m);
  if (!m) {
    wp_error_set(err, WP_ERR_NOMEM, WP_NO_OFFSET, "out of memory");
    return NULL;
  }
  if (wp_memory_init_reserve(m, limits, err) != 0) {
    free(m);
    return NULL;
  }
  return m;
}

void wp_memory_free(wp_memory *m) {
  if (!m) return;
  wp_memory_release(m);
  free(m);
}

uint8_t *wp_memory_data(const wp_memory *m) { return m->data; }

uint64_t wp_memory_size(const wp_memory *m) { return m->size; }

wp_limits wp_memory_limits(const wp_memory *m) { return m->limits; }

int64_t wp_memory_grow(wp_memory *m, uint32_t delta_pages) { return wp_memory_grow_pages(m, delta_pages); }
