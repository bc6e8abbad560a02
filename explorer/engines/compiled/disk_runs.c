/* Sorted runs on disk: where the compact store (compact_store.c, #included before it) spills its table
 * of pairs when the table reaches its memory budget or an allocation fails, as TLC's disk-backed
 * fingerprint set does: the values sorted on disk and one in-memory index entry per page of them.
 *
 * A run holds the mixed pairs of one spill, in ascending order, in an unlinked file. The ids' widths
 * may have grown since a run was written, so a run keeps the widths it was written with and a lookup
 * mixes the pair for each run alike. A lookup reads at most one page (4 KiB) per run; runs are never
 * merged (a spill happens when memory is short, and a store that spills often should get more memory:
 * the number of runs is capped).
 */

#define RUN_PAGE 512 /* values per page: 4 KiB */
#define MAX_RUNS 64

typedef struct {
    int fd;
    int32_t bits0, bits1; /* its values are mix((id0 << bits1) | id1, bits0 + bits1) */
    int64_t n;
    uint64_t *index; /* the first value of each page */
    int64_t npages, index_cap;
    uint64_t *page; /* the page being written */
    int64_t fill;
} run_t;

/* A new, empty run in dir. 0, or an errno. */
static int run_open(run_t *r, const char *dir, int32_t bits0, int32_t bits1) {
    memset(r, 0, sizeof *r);
    r->bits0 = bits0;
    r->bits1 = bits1;
    char path[4200];
    snprintf(path, sizeof path, "%s/.explorer-spill-XXXXXX", dir);
    r->fd = mkstemp(path);
    if (r->fd < 0) return errno;
    unlink(path);
    r->page = malloc(RUN_PAGE * sizeof *r->page);
    return r->page ? 0 : ENOMEM;
}

static int run_flush_page(run_t *r) {
    if (!r->fill) return 0;
    if (r->npages == r->index_cap) {
        int64_t cap = r->index_cap ? 2 * r->index_cap : 1024;
        uint64_t *ix = realloc(r->index, (size_t)cap * sizeof *ix);
        if (!ix) return ENOMEM;
        r->index = ix;
        r->index_cap = cap;
    }
    size_t bytes = (size_t)r->fill * sizeof *r->page;
    off_t at = (off_t)r->npages * RUN_PAGE * (off_t)sizeof *r->page;
    for (size_t done = 0; done < bytes;) {
        ssize_t k = pwrite(r->fd, (const uint8_t *)r->page + done, bytes - done, at + (off_t)done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? errno : ENOSPC;
        done += (size_t)k;
    }
    r->index[r->npages++] = r->page[0];
    r->n += r->fill;
    r->fill = 0;
    return 0;
}

/* Append v, larger than every value before it. 0, or an errno. */
static int run_put(run_t *r, uint64_t v) {
    r->page[r->fill++] = v;
    return r->fill == RUN_PAGE ? run_flush_page(r) : 0;
}

/* The run is complete: write its last page. 0, or an errno. */
static int run_finish(run_t *r) {
    int err = run_flush_page(r);
    free(r->page);
    r->page = NULL;
    return err;
}

/* 1 if v is in the run, 0 if not, -1 on a read error. */
static int run_has(const run_t *r, uint64_t v) {
    if (!r->npages || v < r->index[0]) return 0;
    int64_t lo = 0, hi = r->npages - 1; /* the last page whose first value is <= v */
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (r->index[mid] <= v) lo = mid;
        else hi = mid - 1;
    }
    uint64_t page[RUN_PAGE];
    int64_t count = r->n - lo * RUN_PAGE < RUN_PAGE ? r->n - lo * RUN_PAGE : RUN_PAGE;
    size_t bytes = (size_t)count * sizeof *page;
    off_t at = (off_t)lo * RUN_PAGE * (off_t)sizeof *page;
    for (size_t got = 0; got < bytes;) {
        ssize_t k = pread(r->fd, (uint8_t *)page + got, bytes - got, at + (off_t)got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        got += (size_t)k;
    }
    int64_t a = 0, b = count - 1;
    while (a <= b) {
        int64_t mid = (a + b) / 2;
        if (page[mid] == v) return 1;
        if (page[mid] < v) a = mid + 1;
        else b = mid - 1;
    }
    return 0;
}

static void run_free(run_t *r) {
    if (r->fd >= 0) close(r->fd);
    free(r->index);
    free(r->page);
}
