/* The compact store (check --store compact): a visited state in 3-6 bytes of memory, exactly.
 *
 * #included by search.c after its search struct; the plain store there keeps a state as its packed
 * bytes plus parent and action (26 bytes for the 2026 timer with two objects) and a table slot.
 *
 * Tree compression in two levels (LTSmin's tree table: Laarman, van de Pol, Weber, "Parallel Recursive
 * State Compression for Free", SPIN 2011): the packed state is cut into two halves, each half is
 * interned in its own table (an id per distinct half), and a state is the pair of its halves' ids. In
 * the models here a hundred thousand halves stand for 10^8 states, so the halves cost next to nothing.
 *
 * The pairs live in a quotient table (the idea of Cleary's compact hash table, IEEE Trans. Computers
 * 1984, here with Robin Hood linear probing): the pair, read as a U-bit number (U = the two ids'
 * widths), goes through an invertible mixing function; the top m bits of the result pick the home slot
 * of the 2^m slots, and a slot stores only the other U - m bits and its distance from home (one byte:
 * Robin Hood keeps distances short). Those bits determine the pair exactly: no fingerprints, no
 * collision probability. The ids' widths grow by 4 bits when a
 * half table outgrows them, and the table is rebuilt then (un-mixing each pair), as when it grows.
 *
 * Disk: with a memory budget (check --store-memory), or when an allocation fails, the table is spilled
 * to a sorted run on disk instead of growing (disk_runs.c), and a pair not in the table is looked up
 * in the runs.
 *
 * What the plain store also keeps per state, the parent link, the action and the pair, goes to an
 * unlinked file on disk in id order (TLC keeps its trace the same way): a trace reads one record per
 * step back. The pairs of the states not yet expanded stay in memory (8 bytes each, freed as levels
 * are expanded). Ids stay in BFS order, so counts, levels and shortest traces are the plain store's.
 *
 * Threads: expansion workers read the pairs and halves of the current level while the main thread
 * inserts; both are in chunks whose addresses never move (chunk tables sized for 2^32 up front), and
 * the pairs a worker reads use fixed 32-bit ids, never the table's current widths.
 */
#include <fcntl.h>
#include <unistd.h>

#include "disk_runs.c"

#define HW0 (SBYTES / 2) /* the halves' widths, constants so that comparing and hashing them inline */
#define HW1 (SBYTES - SBYTES / 2)
#define LINKB 16 /* a link record: parent id (4), action instance (4), the pair (8) */
#define WBUF_RECORDS 65536
#define MAX_DISPLACEMENT 254 /* a slot's distance from home, kept in its low byte as distance + 1 */

typedef struct {
    int32_t w;        /* bytes of a half */
    uint8_t **chunks; /* the halves in id order, CHUNK to a chunk */
    int64_t nchunks, n;
    uint32_t *table; /* open addressing, linear probing: id + 1, 0 empty */
    uint64_t tmask;
} halves_t;

struct compact {
    halves_t half[2];
    int32_t idbits[2]; /* a pair is (id0 << idbits[1]) | id1, a number of U = idbits[0] + idbits[1] bits */
    uint8_t *slots;    /* 2^m slots of sw bytes: (remainder << 8) | (displacement + 1), 0 empty */
    int32_t m, sw;
    int64_t used;
    uint64_t **pairs; /* per id (id0 << 32 | id1), kept until the id is expanded */
    int64_t pfreed;   /* chunks of pairs freed: every id below pfreed * CHUNK was expanded */
    int fd;           /* the link file, unlinked at creation */
    uint8_t *wbuf;    /* link records not yet written */
    int64_t wlen, written;
    int err; /* errno of a failed write: the search stops with ST_DISK */
    char dir[4096];       /* where the link file and the runs go */
    int64_t budget;       /* the most bytes the table of pairs may take before it spills (0: no limit) */
    run_t runs[MAX_RUNS]; /* the spilled pairs */
    int32_t nruns;
    int64_t spilled; /* pairs in the runs */
};

static const uint64_t MIX1 = 0x9E3779B97F4A7C15ull, MIX2 = 0xBF58476D1CE4E5B9ull;
static uint64_t MIX1_INV, MIX2_INV;

static uint64_t odd_inverse(uint64_t c) { /* c * inv == 1 mod 2^64; Newton doubles the correct bits */
    uint64_t inv = c;
    for (int k = 0; k < 6; k++) inv *= 2 - c * inv;
    return inv;
}

static inline uint64_t low_bits(int u) { return u >= 64 ? ~0ull : (1ull << u) - 1; }

/* A bijection of the U-bit numbers: multiplications by odd constants and xor-shifts by at least U/2
 * (each its own inverse) mix every input bit into the top bits, which choose the home slot. */
static inline uint64_t mix(uint64_t v, int u) {
    uint64_t mask = low_bits(u);
    int s = (u + 1) / 2;
    v = (v * MIX1) & mask;
    v ^= v >> s;
    v = (v * MIX2) & mask;
    return v ^ (v >> s);
}

static inline uint64_t unmix(uint64_t v, int u) {
    uint64_t mask = low_bits(u);
    int s = (u + 1) / 2;
    v ^= v >> s;
    v = (v * MIX2_INV) & mask;
    v ^= v >> s;
    return (v * MIX1_INV) & mask;
}

/* ------------------------------------------------------------------ the two halves' tables */

static int halves_init(halves_t *t, int32_t w) {
    t->w = w;
    t->tmask = (1u << 12) - 1;
    t->chunks = calloc((size_t)((1ll << 32) >> CHUNK_BITS), sizeof *t->chunks);
    t->table = calloc(t->tmask + 1, sizeof *t->table);
    return t->chunks && t->table ? 0 : -1;
}

static void halves_free(halves_t *t) {
    if (t->chunks)
        for (int64_t i = 0; i < t->nchunks; i++) free(t->chunks[i]);
    free(t->chunks);
    free(t->table);
}

static inline const uint8_t *half_at(const halves_t *t, int64_t id) {
    return t->chunks[id >> CHUNK_BITS] + (size_t)(id & (CHUNK - 1)) * (size_t)t->w;
}

/* The id of half p (w: its table's width, a constant at every call), or -1. */
static inline int64_t halves_find(const halves_t *t, const uint8_t *p, const int w) {
    for (uint64_t i = hash_bytes(p, w) & t->tmask;; i = (i + 1) & t->tmask) {
        uint32_t slot = t->table[i];
        if (!slot) return -1;
        if (memcmp(half_at(t, slot - 1), p, (size_t)w) == 0) return slot - 1;
    }
}

static int halves_grow(halves_t *t) {
    uint64_t size = (t->tmask + 1) * 2;
    uint32_t *n = calloc(size, sizeof *n);
    if (!n) return -1;
    for (uint64_t i = 0; i <= t->tmask; i++) {
        uint32_t slot = t->table[i];
        if (!slot) continue;
        uint64_t j = hash_bytes(half_at(t, slot - 1), t->w) & (size - 1);
        while (n[j]) j = (j + 1) & (size - 1);
        n[j] = slot;
    }
    free(t->table);
    t->table = n;
    t->tmask = size - 1;
    return 0;
}

/* The id of half p, added if new; -1 out of memory or ids. */
static inline int64_t halves_add(halves_t *t, const uint8_t *p, const int w) {
    uint64_t h = hash_bytes(p, w), i = h & t->tmask;
    for (;; i = (i + 1) & t->tmask) {
        uint32_t slot = t->table[i];
        if (!slot) break;
        if (memcmp(half_at(t, slot - 1), p, (size_t)w) == 0) return slot - 1;
    }
    if (t->n >= 0xFFFFFFFEll) return -1;
    int64_t id = t->n;
    if ((id >> CHUNK_BITS) >= t->nchunks) {
        uint8_t *chunk = malloc((size_t)CHUNK * (size_t)t->w + 1); /* + 1: a half may be empty */
        if (!chunk) return -1;
        t->chunks[t->nchunks++] = chunk;
    }
    memcpy((uint8_t *)half_at(t, id), p, (size_t)w);
    t->table[i] = (uint32_t)(id + 1);
    t->n++;
    if ((uint64_t)t->n * 10 > (t->tmask + 1) * 7 && halves_grow(t)) return -1;
    return id;
}

static int64_t halves_bytes(const halves_t *t) {
    return t->nchunks * (int64_t)CHUNK * t->w + (int64_t)(t->tmask + 1) * 4;
}

/* ------------------------------------------------------------------ the quotient table of pairs */

/* A slot is read and written as the 8 bytes at its start (little-endian; the table has 8 bytes of
 * slack at its end), masked to its sw bytes: a fixed-size load rather than a memcpy of sw bytes. */
static inline uint64_t slot_get(const struct compact *c, uint64_t i) {
    uint64_t v;
    memcpy(&v, c->slots + i * (uint64_t)c->sw, 8);
    return v & low_bits(8 * c->sw);
}

static inline void slot_put(struct compact *c, uint64_t i, uint64_t v) {
    uint8_t *at = c->slots + i * (uint64_t)c->sw;
    uint64_t old, mask = low_bits(8 * c->sw);
    memcpy(&old, at, 8);
    old = (old & ~mask) | (v & mask);
    memcpy(at, &old, 8);
}

static inline int universe(const struct compact *c) { return c->idbits[0] + c->idbits[1]; }

/* Find the mixed pair h; put it when absent and put is set. 1: present, 0: absent (now put), -1: a
 * displacement would pass MAX_DISPLACEMENT (the table must grow; nothing was changed).
 *
 * Robin Hood: along a run, slots hold pairs in order of home, so the search stops at the first slot
 * whose pair is closer to its home than we are to ours, and a new pair takes that slot, shifting the
 * rest of the run one slot on (each of them one further from home). */
static int pairs_probe(struct compact *c, uint64_t h, int put) {
    int rbits = universe(c) - c->m;
    uint64_t mask = (1ull << c->m) - 1, home = h >> rbits, rem = h & low_bits(rbits);
    uint64_t d = 0, i = home;
    for (;; d++, i = (i + 1) & mask) {
        uint64_t v = slot_get(c, i);
        if (!v || (v & 0xFF) < d + 1) break;
        if ((v & 0xFF) == d + 1 && (v >> 8) == rem) return 1;
    }
    if (!put) return 0;
    if (d > MAX_DISPLACEMENT) return -1;
    uint64_t end = i; /* the run's end: every pair from i to it moves on by one */
    for (uint64_t v; (v = slot_get(c, end)); end = (end + 1) & mask)
        if ((v & 0xFF) > MAX_DISPLACEMENT) return -1;
    uint64_t carry = (rem << 8) | (d + 1);
    for (;; i = (i + 1) & mask) {
        uint64_t v = slot_get(c, i);
        slot_put(c, i, carry);
        if (i == end) break;
        carry = v + 1; /* the displaced pair, one slot further from home */
    }
    c->used++;
    return 0;
}

/* Rebuild the table with 2^m slots and ids of the given widths; 0, or -1 out of memory. */
static int pairs_rebuild(struct compact *c, int32_t m, int32_t bits0, int32_t bits1) {
    struct compact old = *c;
    int u_old = universe(&old);
    for (;; m++) {
        c->m = m;
        c->idbits[0] = bits0;
        c->idbits[1] = bits1;
        c->sw = (bits0 + bits1 - m + 8 + 7) / 8;
        c->slots = calloc(((size_t)1 << m) * (size_t)c->sw + 8, 1);
        c->used = 0;
        if (!c->slots) { *c = old; return -1; }
        int overflow = 0;
        uint64_t old_mask = old.slots ? (1ull << old.m) - 1 : 0;
        for (uint64_t i = 0; old.slots && i <= old_mask && !overflow; i++) {
            uint64_t v = slot_get(&old, i);
            if (!v) continue;
            uint64_t home = (i - ((v & 0xFF) - 1)) & old_mask;
            uint64_t h = (home << (u_old - old.m)) | (v >> 8);
            if (bits0 != old.idbits[0] || bits1 != old.idbits[1]) {
                uint64_t pair = unmix(h, u_old);
                uint64_t id0 = pair >> old.idbits[1], id1 = pair & low_bits(old.idbits[1]);
                h = mix((id0 << bits1) | id1, bits0 + bits1);
            }
            overflow = pairs_probe(c, h, 1) < 0;
        }
        if (!overflow) break;
        free(c->slots);
    }
    free(old.slots);
    return 0;
}

/* Write the table's pairs to a new sorted run on disk and empty the table. The table is in order of
 * home slot (Robin Hood keeps every run of slots in that order), so a scan gives the mixed pairs in
 * ascending order, but for the pairs of one home (ordered by their remainders here) and the few at the
 * start that wrapped around from the end (the largest: sorted with the last home's). 0, or -1 (c->err
 * is set on a write error). */
static int pairs_spill(struct compact *c) {
    if (c->nruns == MAX_RUNS) return -1;
    run_t *r = &c->runs[c->nruns];
    int err = run_open(r, c->dir, c->idbits[0], c->idbits[1]);
    if (err) {
        c->err = err;
        return -1;
    }
    uint64_t size = 1ull << c->m, mask = size - 1;
    int rbits = universe(c) - c->m;
    uint64_t wrapped[MAX_DISPLACEMENT + 1], group[2 * (MAX_DISPLACEMENT + 1)];
    int nwrapped = 0, ngroup = 0;
    uint64_t i = 0, group_home = 0;
    for (uint64_t v; i < size && (v = slot_get(c, i)) && (v & 0xFF) - 1 > i; i++)
        wrapped[nwrapped++] = (((i - ((v & 0xFF) - 1)) & mask) << rbits) | (v >> 8);
    for (; i <= size && !err; i++) {
        uint64_t v = i < size ? slot_get(c, i) : 0, home = (i - ((v & 0xFF) - 1)) & mask;
        if (i == size) /* the wrapped pairs are the largest, their home perhaps the last one's */
            for (int a = 0; a < nwrapped; a++) group[ngroup++] = wrapped[a];
        if (ngroup && (!v || home != group_home)) { /* a home's pairs are complete: sort, write */
            for (int a = 1; a < ngroup; a++) /* insertion sort: a home has few */
                for (int b = a; b > 0 && group[b - 1] > group[b]; b--) {
                    uint64_t t = group[b];
                    group[b] = group[b - 1];
                    group[b - 1] = t;
                }
            for (int a = 0; a < ngroup && !err; a++) err = run_put(r, group[a]);
            ngroup = 0;
        }
        if (!v) continue;
        group_home = home;
        group[ngroup++] = (home << rbits) | (v >> 8);
    }
    if (!err) err = run_finish(r);
    if (err) {
        c->err = err;
        run_free(r);
        return -1;
    }
    c->nruns++;
    c->spilled += c->used;
    memset(c->slots, 0, (size_t)c->sw << c->m);
    c->used = 0;
    return 0;
}

/* 1 if the pair (id0, id1) was spilled, 0 if not, -1 on a read error. */
static int runs_have(const struct compact *c, int64_t id0, int64_t id1) {
    for (int32_t k = 0; k < c->nruns; k++) {
        const run_t *r = &c->runs[k];
        if (id0 >> r->bits0 || id1 >> r->bits1) continue; /* ids given after the run was written */
        int got = run_has(r, mix(((uint64_t)id0 << r->bits1) | (uint64_t)id1, r->bits0 + r->bits1));
        if (got) return got;
    }
    return 0;
}

/* The table with 2^m slots and ids of these widths; past the budget, or out of memory, the pairs go
 * to disk instead and the table keeps its size. 0 or -1. */
static int pairs_resize(struct compact *c, int32_t m, int32_t bits0, int32_t bits1) {
    int64_t bytes = (int64_t)((bits0 + bits1 - m + 15) / 8) << m;
    /* past MAX_RUNS runs, the budget gives way: the table grows as if there were none */
    int over = c->budget && m > c->m && bytes > c->budget && c->nruns < MAX_RUNS;
    if (!over && pairs_rebuild(c, m, bits0, bits1) == 0) return 0;
    if (!c->used || pairs_spill(c)) return -1;
    return pairs_rebuild(c, c->m, bits0, bits1); /* an empty table: only the ids may have widened */
}

/* Make room for one more pair whose ids are id0 and id1: wider ids, more slots. 0 or -1. */
static int pairs_reserve(struct compact *c, int64_t id0, int64_t id1) {
    int32_t b0 = c->idbits[0], b1 = c->idbits[1], m = c->m;
    while (id0 >= (1ll << b0)) b0 += 4;
    while (id1 >= (1ll << b1)) b1 += 4;
    if ((uint64_t)(c->used + 1) * 5 > (1ull << m) * 4) m++;
    /* keep at least 8 bits of remainder, so the ids never run short of room before the slots do */
    while (b0 + b1 < m + 8) {
        if (b0 <= b1) b0 += 4;
        else b1 += 4;
    }
    if (b0 == c->idbits[0] && b1 == c->idbits[1] && m == c->m) return 0;
    if (b0 > 32 || b1 > 32) return -1;
    return pairs_resize(c, m, b0, b1);
}

/* ------------------------------------------------------------------ the link file */

static int links_flush(struct compact *c) {
    int64_t off = 0;
    while (off < c->wlen * LINKB) {
        ssize_t k = pwrite(c->fd, c->wbuf + off, (size_t)(c->wlen * LINKB - off),
                           (off_t)(c->written * LINKB + off));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) { c->err = k < 0 ? errno : ENOSPC; return -1; }
        off += k;
    }
    c->written += c->wlen;
    c->wlen = 0;
    return 0;
}

static int links_append(struct compact *c, uint32_t parent, uint32_t inst, uint64_t pair) {
    uint8_t *r = c->wbuf + c->wlen * LINKB;
    memcpy(r, &parent, 4);
    memcpy(r + 4, &inst, 4);
    memcpy(r + 8, &pair, 8);
    if (++c->wlen == WBUF_RECORDS) return links_flush(c);
    return 0;
}

/* The link record of id: from the write buffer, else from the file. 0, or -1 (read error). */
static int links_read(const struct compact *c, int64_t id, uint32_t *parent, uint32_t *inst, uint64_t *pair) {
    uint8_t r[LINKB];
    if (id >= c->written) {
        memcpy(r, c->wbuf + (id - c->written) * LINKB, LINKB);
    } else {
        for (int64_t got = 0; got < LINKB;) {
            ssize_t k = pread(c->fd, r + got, (size_t)(LINKB - got), (off_t)(id * LINKB + got));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) return -1;
            got += k;
        }
    }
    memcpy(parent, r, 4);
    memcpy(inst, r + 4, 4);
    memcpy(pair, r + 8, 8);
    return 0;
}

/* ------------------------------------------------------------------ the store's operations */

static void compact_free(struct compact *c) {
    if (!c) return;
    halves_free(&c->half[0]);
    halves_free(&c->half[1]);
    free(c->slots);
    if (c->pairs)
        for (int64_t i = c->pfreed; i < ((1ll << 32) >> CHUNK_BITS); i++) free(c->pairs[i]);
    free(c->pairs);
    free(c->wbuf);
    if (c->fd >= 0) close(c->fd);
    for (int32_t k = 0; k < c->nruns; k++) run_free(&c->runs[k]);
    free(c);
}

/* A compact store whose link file is created (and unlinked) in dir, its table spilling to disk there
 * past budget bytes (0: only when an allocation fails); NULL with errno set. */
static struct compact *compact_new(const char *dir, int64_t budget) {
    MIX1_INV = odd_inverse(MIX1);
    MIX2_INV = odd_inverse(MIX2);
    struct compact *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = -1;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.explorer-links-XXXXXX", dir) >= (int)sizeof path) {
        free(c);
        errno = ENAMETOOLONG;
        return NULL;
    }
    c->fd = mkstemp(path);
    if (c->fd < 0) { free(c); return NULL; }
    unlink(path);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->budget = budget;
    c->pairs = calloc((size_t)((1ll << 32) >> CHUNK_BITS), sizeof *c->pairs);
    c->wbuf = malloc((size_t)WBUF_RECORDS * LINKB);
    if (!c->pairs || !c->wbuf || halves_init(&c->half[0], SBYTES / 2) ||
        halves_init(&c->half[1], SBYTES - SBYTES / 2) || pairs_rebuild(c, 8, 8, 8)) {
        compact_free(c);
        errno = ENOMEM;
        return NULL;
    }
    return c;
}

static int64_t compact_bytes(const struct compact *c) {
    int64_t live = 0;
    for (int64_t i = c->pfreed; i < ((1ll << 32) >> CHUNK_BITS) && c->pairs[i]; i++) live++;
    return halves_bytes(&c->half[0]) + halves_bytes(&c->half[1]) + ((int64_t)c->sw << c->m) +
           live * CHUNK * 8 + (int64_t)WBUF_RECORDS * LINKB + ((1ll << 32) >> CHUNK_BITS) * 8 * 3;
}

static inline uint64_t mixed_pair(const struct compact *c, int64_t id0, int64_t id1) {
    return mix(((uint64_t)id0 << c->idbits[1]) | (uint64_t)id1, universe(c));
}

/* 1 if the packed state p is stored, else 0. */
static int compact_has(const struct compact *c, const uint8_t *p) {
    int64_t id0 = halves_find(&c->half[0], p, HW0), id1 = halves_find(&c->half[1], p + HW0, HW1);
    if (id0 < 0 || id1 < 0) return 0;
    if (pairs_probe((struct compact *)c, mixed_pair(c, id0, id1), 0) == 1) return 1;
    return runs_have(c, id0, id1) == 1;
}

/* The halves' ids of the successor p of the state whose pair is pp (none: ~0), or -1 where unknown:
 * a step changes a few variables, so a successor mostly shares a half with its parent. */
static inline void halves_of(const struct compact *c, const uint8_t *p, uint64_t pp, int64_t *ids) {
    ids[0] = ids[1] = -1;
    if (pp != ~0ull) {
        if (!memcmp(p, half_at(&c->half[0], (int64_t)(pp >> 32)), HW0)) ids[0] = (int64_t)(pp >> 32);
        if (!memcmp(p + HW0, half_at(&c->half[1], (int64_t)(pp & 0xFFFFFFFFu)), HW1)) ids[1] = (int64_t)(pp & 0xFFFFFFFFu);
    }
    if (ids[0] < 0) ids[0] = halves_find(&c->half[0], p, HW0);
    if (ids[1] < 0) ids[1] = halves_find(&c->half[1], p + HW0, HW1);
}

/* Before inserting the n successors o of the queued state parent: find their halves' ids (ids[2k],
 * ids[2k + 1]; -1 for a half not stored yet) and prefetch the home slots of the pairs they make, so
 * that those cache misses overlap (the plain store prefetches its table the same way). */
#define COMPACT_BATCH 64
static void compact_prepare(const search *x, const succ_t *o, int64_t n, int64_t parent, int64_t *ids) {
    const struct compact *c = x->cs;
    uint64_t pp = c->pairs[parent >> CHUNK_BITS][parent & (CHUNK - 1)];
    int u = universe(c), rbits = u - c->m;
    for (int64_t k = 0; k < n; k++) {
        int64_t *id = ids + 2 * k;
        id[0] = id[1] = -1;
        if (o[k].kind != 0) continue;
        halves_of(c, o[k].p, pp, id);
        if (id[0] < 0 || id[1] < 0 || id[0] >> c->idbits[0] || id[1] >> c->idbits[1]) continue;
        uint64_t home = mixed_pair(c, id[0], id[1]) >> rbits;
        __builtin_prefetch(c->slots + home * (uint64_t)c->sw);
    }
}

#define COMPACT_KNOWN (-1) /* a state already stored: the compact store knows it is there, not its id */

/* add_state for the compact store: the new id, COMPACT_KNOWN, or ADD_FAILED (out of memory or ids, or
 * the link file failed: c->err). known: the halves' ids compact_prepare found (-1: not yet), or NULL. */
static int64_t compact_add(search *x, const uint8_t *p, uint32_t parent, uint32_t inst, int64_t failed,
                           const int64_t *known) {
    struct compact *c = x->cs;
    if (x->n >= 0xFFFFFFFEll) return failed;
    int64_t id0 = known ? known[0] : -1, id1 = known ? known[1] : -1;
    if (id0 < 0) id0 = halves_add(&c->half[0], p, HW0);
    if (id1 < 0) id1 = halves_add(&c->half[1], p + HW0, HW1);
    if (id0 < 0 || id1 < 0 || pairs_reserve(c, id0, id1)) return failed;
    if (c->nruns) { /* spilled: in the table, or on disk */
        if (pairs_probe(c, mixed_pair(c, id0, id1), 0) == 1) return COMPACT_KNOWN;
        int got = runs_have(c, id0, id1);
        if (got < 0) {
            c->err = EIO;
            return failed;
        }
        if (got) return COMPACT_KNOWN;
    }
    int r = pairs_probe(c, mixed_pair(c, id0, id1), 1);
    while (r < 0) { /* a displacement past MAX_DISPLACEMENT: more slots */
        if (pairs_resize(c, c->m + 1, c->idbits[0], c->idbits[1])) return failed;
        r = pairs_probe(c, mixed_pair(c, id0, id1), 1);
    }
    if (r == 1) return COMPACT_KNOWN;
    int64_t id = x->n;
    if (!c->pairs[id >> CHUNK_BITS] && !(c->pairs[id >> CHUNK_BITS] = malloc((size_t)CHUNK * 8))) return failed;
    uint64_t pair = ((uint64_t)id0 << 32) | (uint64_t)id1;
    c->pairs[id >> CHUNK_BITS][id & (CHUNK - 1)] = pair;
    if (links_append(c, parent, inst, pair)) return failed;
    x->n++;
    return id;
}

static inline void pair_packed(const struct compact *c, uint64_t pair, uint8_t *out) {
    memcpy(out, half_at(&c->half[0], (int64_t)(pair >> 32)), HW0);
    memcpy(out + HW0, half_at(&c->half[1], (int64_t)(pair & 0xFFFFFFFFu)), HW1);
}

/* The packed state of an id not yet expanded (the queue's pairs). */
static inline void compact_queued(const struct compact *c, int64_t id, uint8_t *out) {
    pair_packed(c, c->pairs[id >> CHUNK_BITS][id & (CHUNK - 1)], out);
}

/* Free the queue's pairs of the ids below head (expanded). Only between levels: no worker runs. */
static void compact_release(struct compact *c, int64_t head) {
    while (((c->pfreed + 1) << CHUNK_BITS) <= head) {
        free(c->pairs[c->pfreed]);
        c->pairs[c->pfreed++] = NULL;
    }
}

/* The packed state, parent and instance of any stored id (read from the link file). 0 or -1. */
static int compact_stored(const struct compact *c, int64_t id, uint8_t *out, uint32_t *parent, uint32_t *inst) {
    uint64_t pair;
    if (links_read(c, id, parent, inst, &pair)) return -1;
    pair_packed(c, pair, out);
    return 0;
}
