/* The compiled explorer's search, written once for every spec.
 *
 * It is #included at the end of the C that explorer.compiled.codegen prints for a spec, which supplies the
 * spec's part: NLEAVES, SBYTES, spec_pack/spec_unpack (exact bit packing), spec_successors (every
 * enabled step, each passed to emit() below), the invariants, the constraint, extra predicates and
 * the symmetry permutation tables.
 *
 * The search is explorer/bfs.py's, statement for statement, so the counts are TLC's and equal to the
 * Python engine's: distinct, generated (initial states and every enabled step, duplicates included),
 * layers, per-action coverage, deadlocks, first violation at minimal depth, stopping rules.
 *
 * Store: states in BFS order, each record = packed state + parent id (uint32) + action instance
 * (uint16 or uint32), in chunks of 2^16 records (no realloc copies, no slack beyond one chunk), and an
 * open-addressing table of record ids (linear probing, grown at 70% load). States are compared whole:
 * no fingerprints, so no collision probability to estimate.
 *
 * Parallel expansion (threads > 1): each BFS level is cut into blocks; workers compute the successors
 * of a block into a buffer (the expensive part: guards, updates, packing, canonicalisation, hashing),
 * and the main thread inserts the buffers in block order, so ids, parents, counts and the first
 * violation are exactly those of the sequential search.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHUNK_BITS 16
#define CHUNK (1 << CHUNK_BITS)
#if NINST < 65535
typedef uint16_t via_t;
#define NO_VIA 0xFFFF
#else
typedef uint32_t via_t;
#define NO_VIA 0xFFFFFFFFu
#endif
#define RECB (SBYTES + 4 + sizeof(via_t))
#define NO_PARENT 0xFFFFFFFFu

enum stopped { ST_NONE, ST_VIOLATION, ST_MAX_STATES, ST_MAX_SECONDS, ST_MAX_DEPTH, ST_INTERRUPTED,
               ST_TYPE_ERROR, ST_NO_MEMORY, ST_TOO_MANY, ST_DISK };

/* One successor computed by a worker, inserted later by the main thread. */
typedef struct {
    uint8_t p[SBYTES];
    uint64_t h;
    int32_t inst;
    int8_t kind; /* 0: a step that passed the constraint, 1: excluded by it, 2: type error */
} succ_t;

typedef struct search {
    /* parameters */
    int64_t max_states; /* -1: none */
    double max_seconds; /* < 0: none */
    int32_t max_depth;  /* 0: none */
    int32_t stop_on_first, check_deadlock, keep_graph, symmetry, threads;
    int32_t ninv_on;
    int32_t inv_order[NINV > 0 ? NINV : 1];
    double progress_every;
    void (*progress)(int64_t, int64_t, int64_t, int64_t);
    /* store */
    uint8_t **chunks;
    int64_t nchunks, chunks_cap;
    int64_t n;
    uint32_t *table;
    uint64_t tmask;
    /* counts */
    int64_t generated, deadlocks;
    int64_t cov[NACTIONS > 0 ? NACTIONS : 1][2];
    int64_t *layers;
    int64_t nlayers, layers_cap;
    int8_t found[NINV + 1]; /* NINV: deadlock */
    int64_t events[2 * (NINV + 1)]; /* (which, state id) in the order found; which == NINV: deadlock */
    int32_t nevents;
    int32_t stopped;
    int64_t head, level_end, cur;
    int64_t error_state;
    int32_t error_inst;
    /* graph, as compressed rows: the edges of state v are gdst/ginst[goff[v] .. goff[v+1]). Edges are
       pushed while their source is expanded, and sources are expanded in id order, so the rows come
       for free: goff[v] is set when v's first edge (or a later state's) arrives, 8 bytes an edge and 8
       a state, against 12 an edge for (src, dst, inst) lists */
    int32_t *gdst, *ginst;
    int64_t *goff;
    int64_t gn, gcap, goff_n, goff_cap;
    /* memory accounting */
    int64_t bytes;
    struct timespec t0;
    /* per-expansion buffer (sequential and parallel) */
    succ_t *buf;
    int64_t nbuf, buf_cap;
    /* a partition of the distributed search (nc_part_*): each stored state's parent as a global id
       (partition << 40 | its id there), and the successors routed to each partition */
    uint64_t *gparent;
    int64_t gpcap;
    uint8_t **route;
    int64_t *route_len, *route_cap;
    int32_t nroutes;
    /* the compact store (compact_store.c), or NULL: the plain one above */
    struct compact *cs;
} search;

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static double elapsed(const search *x) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - x->t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - x->t0.tv_nsec);
}

/* The hash of w bytes (w a constant at every call, so the loop unrolls): a packed state's, and in the
 * compact store a half's. */
static inline uint64_t hash_bytes(const uint8_t *p, const int w) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)w;
    for (int i = 0; i < w; i += 8) {
        uint64_t v = 0;
        memcpy(&v, p + i, (w - i) < 8 ? (size_t)(w - i) : 8);
        h ^= v;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 29);
}

static uint64_t hash_state(const uint8_t *p) { return hash_bytes(p, SBYTES); }

static inline uint8_t *rec(const search *x, int64_t id) {
    return x->chunks[id >> CHUNK_BITS] + (size_t)(id & (CHUNK - 1)) * RECB;
}

/* The canonical packed form of t: t itself, or under symmetry the smallest (memcmp) packed image of t
 * under every permutation of the declared interchangeable values. */
static void canon_pack(const search *x, const leaf_t *t, uint8_t *best) {
    spec_pack(t, best);
    if (!x->symmetry) return;
    leaf_t u[NLEAVES > 0 ? NLEAVES : 1];
    uint8_t cand[SBYTES];
    for (int p = 1; p < NPERMS; p++) {
        for (int i = 0; i < NLEAVES; i++) {
            leaf_t v = t[PERM_SRC[p][i]];
            const int32_t *m = PERM_VAL[p][i];
            u[i] = (m[0] >= 0 && v >= 0 && v < VMAPW && m[v] >= 0) ? m[v] : v;
        }
        spec_pack(u, cand);
        if (memcmp(cand, best, SBYTES) < 0) memcpy(best, cand, SBYTES);
    }
}

#ifdef COMPACT_STORE
#include "compact_store.c"
#else
/* The compact store is compiled in only for check --store compact (-DCOMPACT_STORE): its 600 lines cost
 * every other library 0.1-0.3 s of cc, and make check builds 290 of them. Here x->cs is always NULL,
 * and these stand in for what the search calls behind a test of it. */
struct compact {
    int err;
    int32_t nruns;
    int64_t spilled;
};
#define COMPACT_BATCH 1
static int compact_has(const struct compact *c, const uint8_t *p) { (void)c, (void)p; return 0; }
static int64_t compact_add(search *x, const uint8_t *p, uint32_t parent, uint32_t inst, int64_t failed,
                           const int64_t *known) {
    (void)x, (void)p, (void)parent, (void)inst, (void)known;
    return failed;
}
static void compact_prepare(const search *x, const succ_t *o, int64_t n, int64_t parent, int64_t *ids) {
    (void)x, (void)o, (void)n, (void)parent, (void)ids;
}
static void compact_release(struct compact *c, int64_t head) { (void)c, (void)head; }
static void compact_queued(const struct compact *c, int64_t id, uint8_t *out) { (void)c, (void)id, (void)out; }
static int compact_stored(const struct compact *c, int64_t id, uint8_t *out, uint32_t *parent, uint32_t *inst) {
    (void)c, (void)id, (void)out, (void)parent, (void)inst;
    return -1;
}
static void compact_free(struct compact *c) { (void)c; }
static struct compact *compact_new(const char *dir, int64_t budget) {
    (void)dir, (void)budget;
    errno = ENOTSUP;
    return NULL;
}
static int64_t compact_bytes(const struct compact *c) { (void)c; return 0; }
static int links_read(const struct compact *c, int64_t id, uint32_t *parent, uint32_t *inst, uint64_t *pair) {
    (void)c, (void)id, (void)parent, (void)inst, (void)pair;
    return -1;
}
#endif

/* The id of the packed state p, or -1 (the compact store: 0 when stored, it has no id to give). */
static int64_t lookup(const search *x, const uint8_t *p, uint64_t h) {
    if (x->cs) return compact_has(x->cs, p) ? 0 : -1;
    for (uint64_t i = h & x->tmask;; i = (i + 1) & x->tmask) {
        uint32_t slot = x->table[i];
        if (slot == 0) return -1;
        if (memcmp(rec(x, slot - 1), p, SBYTES) == 0) return slot - 1;
    }
}

static int grow_table(search *x) {
    uint64_t size = (x->tmask + 1) * 2;
    uint32_t *t = calloc(size, sizeof *t);
    if (!t) return -1;
    for (uint64_t i = 0; i <= x->tmask; i++) {
        uint32_t slot = x->table[i];
        if (!slot) continue;
        uint64_t j = hash_state(rec(x, slot - 1)) & (size - 1);
        while (t[j]) j = (j + 1) & (size - 1);
        t[j] = slot;
    }
    free(x->table);
    x->bytes += (int64_t)((size - (x->tmask + 1)) * sizeof *t);
    x->table = t;
    x->tmask = size - 1;
    return 0;
}

/* Add p if new: its id, or -1 - the id of the stored copy; -2^62 when out of memory or ids. */
#define ADD_FAILED (-(1ll << 62))
static int64_t add_state(search *x, const uint8_t *p, uint64_t h, uint32_t parent, via_t via) {
    if (x->cs) return compact_add(x, p, parent, via == NO_VIA ? 0xFFFFFFFFu : via, ADD_FAILED, NULL);
    uint64_t i = h & x->tmask;
    for (;; i = (i + 1) & x->tmask) {
        uint32_t slot = x->table[i];
        if (slot == 0) break;
        if (memcmp(rec(x, slot - 1), p, SBYTES) == 0) return -1 - (int64_t)(slot - 1);
    }
    if (x->n >= 0xFFFFFFFEll) return ADD_FAILED;
    int64_t id = x->n;
    if ((id >> CHUNK_BITS) >= x->nchunks) {
        uint8_t *chunk = malloc((size_t)CHUNK * RECB);
        if (!chunk) return ADD_FAILED;
        x->chunks[x->nchunks++] = chunk;
        x->bytes += (int64_t)CHUNK * (int64_t)RECB;
    }
    uint8_t *r = rec(x, id);
    memcpy(r, p, SBYTES);
    memcpy(r + SBYTES, &parent, 4);
    memcpy(r + SBYTES + 4, &via, sizeof via);
    x->table[i] = (uint32_t)(id + 1);
    x->n++;
    if ((uint64_t)x->n * 10 > (x->tmask + 1) * 7 && grow_table(x)) return ADD_FAILED;
    return id;
}

/* Why add_state failed. */
static int add_failure(const search *x) {
    if (x->cs && x->cs->err) return ST_DISK;
    return x->n >= 0xFFFFFFFEll ? ST_TOO_MANY : ST_NO_MEMORY;
}

/* The leaves of a stored state that is not yet expanded. */
static inline void load_queued(const search *x, int64_t id, leaf_t *s) {
    if (x->cs) {
        uint8_t p[SBYTES];
        compact_queued(x->cs, id, p);
        spec_unpack(p, s);
    } else {
        spec_unpack(rec(x, id), s);
    }
}

/* The packed form of any stored state (the compact store reads it from its link file); 0 or -1. */
static int stored_packed(const search *x, int64_t id, uint8_t *out) {
    if (!x->cs) {
        memcpy(out, rec(x, id), SBYTES);
        return 0;
    }
    uint32_t parent, inst;
    return compact_stored(x->cs, id, out, &parent, &inst);
}

static int push_layer(search *x, int64_t v) {
    if (x->nlayers == x->layers_cap) {
        int64_t cap = x->layers_cap ? 2 * x->layers_cap : 64;
        int64_t *l = realloc(x->layers, (size_t)cap * sizeof *l);
        if (!l) return -1;
        x->layers = l;
        x->layers_cap = cap;
    }
    x->layers[x->nlayers++] = v;
    return 0;
}

/* goff[v] for every v < upto not yet set: the edges pushed so far are all of sources below upto. */
static int close_rows(search *x, int64_t upto) {
    if (upto + 1 > x->goff_cap) {
        int64_t cap = x->goff_cap ? 2 * x->goff_cap : 1 << 16;
        while (cap < upto + 1) cap *= 2;
        int64_t *o = realloc(x->goff, (size_t)cap * sizeof *o);
        if (!o) return -1;
        x->goff = o;
        x->goff_cap = cap;
    }
    while (x->goff_n < upto) x->goff[x->goff_n++] = x->gn;
    return 0;
}

static int push_edge(search *x, int64_t src, int64_t dst, int32_t inst) {
    if (x->gn == x->gcap) {
        int64_t cap = x->gcap ? 2 * x->gcap : 1 << 16;
        int32_t *b = realloc(x->gdst, (size_t)cap * 4), *c;
        if (!b) return -1;
        x->gdst = b;
        c = realloc(x->ginst, (size_t)cap * 4);
        if (!c) return -1;
        x->ginst = c;
        x->gcap = cap;
    }
    if (close_rows(x, src + 1)) return -1;
    x->gdst[x->gn] = (int32_t)dst;
    x->ginst[x->gn] = inst;
    x->gn++;
    return 0;
}

static void close_layers(search *x) {
    if (x->n > x->level_end) push_layer(x, x->n - x->level_end);
}

/* stop_on_first: 1 stops at the first violation, 2 once every checked invariant (and deadlock, if
 * checked) is violated; 0 explores everything. */
static int stops(const search *x) {
    return x->stop_on_first == 1 || (x->stop_on_first == 2 && x->nevents == x->ninv_on + (x->check_deadlock != 0));
}

static int finish(search *x, int stopped, int64_t head) {
    x->stopped = stopped;
    x->head = head;
    return 1;
}

/* Check the invariants on new state id; 1 if the search must stop. */
static int check_invariants(search *x, int64_t id, const leaf_t *s) {
    for (int k = 0; k < x->ninv_on; k++) {
        int inv = x->inv_order[k];
        if (spec_invariant(inv, s)) continue;
        if (!x->found[inv]) {
            x->found[inv] = 1;
            x->events[2 * x->nevents] = inv;
            x->events[2 * x->nevents + 1] = id;
            x->nevents++;
            if (stops(x)) return 1;
        }
    }
    return 0;
}

/* The next free entry of the successor buffer, for instance inst (NULL out of memory: stopped set). */
static inline succ_t *next_succ(search *x, int inst) {
    if (x->nbuf == x->buf_cap) {
        int64_t cap = x->buf_cap ? 2 * x->buf_cap : 256;
        succ_t *b = realloc(x->buf, (size_t)cap * sizeof *b);
        if (!b) { x->stopped = ST_NO_MEMORY; return NULL; }
        x->buf = b;
        x->buf_cap = cap;
    }
    succ_t *o = &x->buf[x->nbuf++];
    o->inst = inst;
    return o;
}

/* Called by spec_successors for every enabled step: compute it into the buffer (the part a worker
 * thread may do). ok == 0: the step sets a leaf outside its type. */
static int emit(search *x, int inst, leaf_t *t, int ok) {
    succ_t *o = next_succ(x, inst);
    if (!o) return 1;
    if (!ok) { o->kind = 2; return 1; }
    if (spec_has_constraint && !spec_constraint_one(0, t)) { o->kind = 1; return 0; }
    o->kind = 0;
    canon_pack(x, t, o->p);
    o->h = hash_state(o->p);
    return 0;
}

/* TLC's counting (a spec's counting = "tlc", explorer/engines/tlc_count.py): n more successors of
 * instance inst for the step just emitted, each counted as generated and not stored, as a successor
 * the state constraint excludes is (kind 1). */
__attribute__((unused)) static int emit_more(search *x, int inst, int64_t n) {
    for (; n > 0; n--) {
        succ_t *o = next_succ(x, inst);
        if (!o) return 1;
        o->kind = 1;
    }
    return 0;
}

/* Insert the successors of state cur (computed into buf) as bfs.py does; 1 if the search stops. */
/* Table look-ups are cache misses (a slot, then the record it names); successors are known ahead, so
 * the slot of the successor PF_SLOT places ahead and the record of the one PF_REC ahead are
 * prefetched, which overlaps those misses. ahead: how many more successors follow buf in memory. */
#define PF_SLOT 24
#define PF_REC 12
static inline void prefetch_ahead(const search *x, const succ_t *o, int64_t ahead) {
    if (x->cs) return;
    if (ahead > PF_SLOT && o[PF_SLOT].kind == 0) __builtin_prefetch(&x->table[o[PF_SLOT].h & x->tmask]);
    if (ahead > PF_REC && o[PF_REC].kind == 0) {
        uint32_t slot = x->table[o[PF_REC].h & x->tmask];
        if (slot) __builtin_prefetch(rec(x, slot - 1));
    }
}

static int insert_successors(search *x, int64_t cur, const succ_t *buf, int64_t nbuf, int enabled, int64_t ahead) {
    int64_t known[2 * COMPACT_BATCH];
    for (int64_t k = 0; k < nbuf; k++) {
        const succ_t *o = &buf[k];
        prefetch_ahead(x, o, ahead - k);
        if (x->cs && k % COMPACT_BATCH == 0)
            compact_prepare(x, o, nbuf - k < COMPACT_BATCH ? nbuf - k : COMPACT_BATCH, cur, known);
        if (o->kind == 2) {
            x->error_state = cur;
            x->error_inst = o->inst;
            return finish(x, ST_TYPE_ERROR, x->head);
        }
        x->generated++;
        x->cov[INST_ACTION[o->inst]][0]++;
        if (o->kind == 1) continue;
        if (x->max_states >= 0 && x->n >= x->max_states && lookup(x, o->p, o->h) < 0) {
            close_layers(x);
            return finish(x, ST_MAX_STATES, x->head - 1);
        }
        int64_t id = x->cs ? compact_add(x, o->p, (uint32_t)cur, (uint32_t)o->inst, ADD_FAILED, known + 2 * (k % COMPACT_BATCH))
                           : add_state(x, o->p, o->h, (uint32_t)cur, (via_t)o->inst);
        if (id == ADD_FAILED) return finish(x, add_failure(x), x->head);
        if (id >= 0) {
            x->cov[INST_ACTION[o->inst]][1]++;
            if (x->keep_graph && push_edge(x, cur, id, o->inst)) return finish(x, ST_NO_MEMORY, x->head);
            if (x->ninv_on) {
                leaf_t t[NLEAVES > 0 ? NLEAVES : 1];
                spec_unpack(o->p, t);
                if (check_invariants(x, id, t)) {
                    if (x->n > x->level_end) push_layer(x, x->n - x->level_end);
                    return finish(x, ST_VIOLATION, x->head);
                }
            }
        } else if (x->keep_graph && push_edge(x, cur, -1 - id, o->inst)) {
            return finish(x, ST_NO_MEMORY, x->head);
        }
    }
    if (!enabled) {
        x->deadlocks++;
        if (x->check_deadlock && !x->found[NINV]) {
            x->found[NINV] = 1;
            x->events[2 * x->nevents] = NINV;
            x->events[2 * x->nevents + 1] = cur;
            x->nevents++;
            if (stops(x)) {
                close_layers(x);
                return finish(x, ST_VIOLATION, x->head);
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ parallel expansion
 *
 * A level is cut into blocks of BLOCK states. Worker threads claim blocks in order (an atomic
 * counter) and compute their successors into per-block buffers; the main thread inserts the blocks
 * strictly in order, expanding a block itself when no worker has claimed it yet. Workers stay at most
 * WINDOW blocks ahead of the insertion, which bounds the buffered memory. Workers only read records
 * of the current level, which never move (chunks are allocated, never reallocated, and the chunk
 * table is sized for 2^32 states up front), so insertion needs no lock.
 */

#define BLOCK 1024 /* explorer.compiled.engine.PARALLEL_BLOCK */
#define WINDOW 16

typedef struct {
    int64_t from, to;
    succ_t *buf;
    int64_t nbuf;
    int64_t *offset; /* offset[i - from]: first buffer entry of state i; offset[to - from] = nbuf */
    int8_t *enabled;
    int failed;
    int ready; /* atomic: 1 once the buffer is complete */
} block_t;

typedef struct {
    search tmpl; /* the search as the level began: what expansion reads (constant during the level) */
    block_t *blocks;
    int64_t nblocks;
    int64_t next_claim; /* atomic */
    int64_t consumed;   /* atomic: blocks inserted so far */
    int stop;           /* atomic */
} level_t;

static void expand_into(const search *x, block_t *b) {
    search w = *x; /* a private copy for emit()'s buffer */
    w.buf = NULL;
    w.nbuf = w.buf_cap = 0;
    int64_t n = b->to - b->from;
    b->offset = malloc((size_t)(n + 1) * sizeof *b->offset);
    b->enabled = malloc((size_t)(n > 0 ? n : 1));
    if (!b->offset || !b->enabled) { b->failed = 1; return; }
    leaf_t s[NLEAVES > 0 ? NLEAVES : 1];
    for (int64_t i = b->from; i < b->to; i++) {
        b->offset[i - b->from] = w.nbuf;
        load_queued(x, i, s);
        int r = spec_successors(&w, s);
        b->enabled[i - b->from] = (int8_t)(r != 0);
        if (w.stopped == ST_NO_MEMORY) { b->failed = 1; break; }
    }
    b->offset[n] = w.nbuf;
    b->buf = w.buf;
    b->nbuf = w.nbuf;
}

static int claim(level_t *L, int64_t b) {
    return __atomic_compare_exchange_n(&L->next_claim, &b, b + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void *worker(void *arg) {
    level_t *L = arg;
    for (;;) {
        if (__atomic_load_n(&L->stop, __ATOMIC_ACQUIRE)) break;
        int64_t b = __atomic_load_n(&L->next_claim, __ATOMIC_ACQUIRE);
        if (b >= L->nblocks) break;
        if (b >= __atomic_load_n(&L->consumed, __ATOMIC_ACQUIRE) + WINDOW) { sched_yield(); continue; }
        if (!claim(L, b)) continue;
        expand_into(&L->tmpl, &L->blocks[b]);
        __atomic_store_n(&L->blocks[b].ready, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static int periodic(search *x, double *next_progress);

/* Expand and insert the states [head, level_end) of the current level; 1 if the search stops. */
static int expand_level_parallel(search *x, double *next_progress) {
    level_t L;
    memset(&L, 0, sizeof L);
    L.tmpl = *x;
    int64_t from = x->head, to = x->level_end;
    L.nblocks = (to - from + BLOCK - 1) / BLOCK;
    L.blocks = calloc((size_t)L.nblocks, sizeof *L.blocks);
    if (!L.blocks) return finish(x, ST_NO_MEMORY, x->head);
    for (int64_t b = 0; b < L.nblocks; b++) {
        L.blocks[b].from = from + b * BLOCK;
        L.blocks[b].to = L.blocks[b].from + BLOCK < to ? L.blocks[b].from + BLOCK : to;
    }
    int nt = x->threads - 1 < 63 ? x->threads - 1 : 63, started = 0;
    pthread_t tids[63];
    for (int k = 0; k < nt; k++)
        if (pthread_create(&tids[started], NULL, worker, &L) == 0) started++;
    int stop = 0;
    for (int64_t b = 0; b < L.nblocks && !stop; b++) {
        block_t *blk = &L.blocks[b];
        if (claim(&L, b)) {
            expand_into(&L.tmpl, blk);
        } else {
            while (!__atomic_load_n(&blk->ready, __ATOMIC_ACQUIRE)) sched_yield();
        }
        if (blk->failed) { stop = finish(x, ST_NO_MEMORY, x->head); break; }
        for (int64_t i = blk->from; i < blk->to; i++) {
            x->cur = i;
            x->head = i + 1;
            int64_t o = blk->offset[i - blk->from];
            int64_t nb = blk->offset[i - blk->from + 1] - o;
            if (insert_successors(x, i, blk->buf + o, nb, blk->enabled[i - blk->from], blk->nbuf - o)) {
                stop = 1;
                break;
            }
            if ((x->head & 127) == 0 && periodic(x, next_progress)) { stop = 1; break; }
        }
        free(blk->buf);
        free(blk->offset);
        free(blk->enabled);
        blk->buf = NULL;
        blk->offset = NULL;
        blk->enabled = NULL;
        __atomic_store_n(&L.consumed, b + 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&L.stop, 1, __ATOMIC_RELEASE);
    for (int k = 0; k < started; k++) pthread_join(tids[k], NULL);
    for (int64_t b = 0; b < L.nblocks; b++) {
        free(L.blocks[b].buf);
        free(L.blocks[b].offset);
        free(L.blocks[b].enabled);
    }
    free(L.blocks);
    return stop;
}

/* ------------------------------------------------------------------ entry points */

search *nc_new(void) {
    search *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->tmask = (1u << 12) - 1;
    /* room for 2^32 states' chunk pointers, so that a chunk's address never moves (parallel readers) */
    x->chunks_cap = (1ll << 32) >> CHUNK_BITS;
    x->chunks = calloc((size_t)x->chunks_cap, sizeof *x->chunks);
    x->table = calloc(x->tmask + 1, sizeof *x->table);
    if (!x->table || !x->chunks) {
        free(x->table);
        free(x->chunks);
        free(x);
        return NULL;
    }
    x->bytes = (int64_t)((x->tmask + 1) * sizeof *x->table + x->chunks_cap * sizeof *x->chunks);
    x->max_states = -1;
    x->max_seconds = -1;
    x->error_state = -1;
    x->threads = 1;
    x->progress_every = 5.0;
    return x;
}

void nc_free(search *x) {
    if (!x) return;
    for (int64_t i = 0; i < x->nchunks; i++) free(x->chunks[i]);
    free(x->chunks);
    free(x->table);
    free(x->layers);
    free(x->goff);
    free(x->gdst);
    free(x->ginst);
    free(x->buf);
    free(x->gparent);
    for (int32_t d = 0; d < x->nroutes; d++) free(x->route[d]);
    free(x->route);
    free(x->route_len);
    free(x->route_cap);
    compact_free(x->cs);
    free(x);
}

/* Use the compact store (compact_store.c), its link file in dir, its table spilling to disk past
 * budget bytes (0: when an allocation fails); before nc_run. 0, or an errno. */
int32_t nc_compact(search *x, const char *dir, int64_t budget) {
    if (x->n || x->cs || x->keep_graph) return EINVAL;
    x->cs = compact_new(dir, budget);
    return x->cs ? 0 : (errno ? errno : ENOMEM);
}

/* The compact store's spills: out[0] runs on disk, out[1] pairs in them. */
void nc_compact_spills(const search *x, int64_t *out) {
    out[0] = x->cs ? x->cs->nruns : 0;
    out[1] = x->cs ? x->cs->spilled : 0;
}

void nc_set(search *x, int64_t max_states, double max_seconds, int32_t max_depth, int32_t stop_on_first,
            int32_t check_deadlock, int32_t keep_graph, int32_t symmetry, int32_t threads,
            double progress_every, void (*progress)(int64_t, int64_t, int64_t, int64_t),
            int32_t ninv_on, const int32_t *inv_order) {
    x->max_states = max_states;
    x->max_seconds = max_seconds;
    x->max_depth = max_depth;
    x->stop_on_first = stop_on_first;
    x->check_deadlock = check_deadlock;
    x->keep_graph = keep_graph;
    x->symmetry = symmetry;
    x->threads = threads < 1 ? 1 : threads;
    x->progress_every = progress_every;
    x->progress = progress;
    x->ninv_on = ninv_on;
    for (int k = 0; k < ninv_on && k < NINV; k++) x->inv_order[k] = inv_order[k];
}

static int periodic(search *x, double *next_progress) {
    if (interrupted) { close_layers(x); return finish(x, ST_INTERRUPTED, x->head); }
    double now = elapsed(x);
    if (x->max_seconds >= 0 && now >= x->max_seconds) { close_layers(x); return finish(x, ST_MAX_SECONDS, x->head); }
    if (x->progress && now >= *next_progress) {
        *next_progress = now + x->progress_every;
        x->progress((int64_t)x->nlayers, x->generated, x->n, x->n - x->head);
    }
    return 0;
}

int nc_run(search *x, int64_t ninit, const leaf_t *inits) {
    clock_gettime(CLOCK_MONOTONIC, &x->t0);
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    /* Take over Ctrl-C and SIGTERM only where Python handles them (the CLI turns both into
       KeyboardInterrupt); an ignored or default disposition is left alone. */
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    int take_int = old_int.sa_handler != SIG_IGN && old_int.sa_handler != SIG_DFL;
    int take_term = old_term.sa_handler != SIG_IGN && old_term.sa_handler != SIG_DFL;
    if (take_int) sigaction(SIGINT, &sa, NULL);
    if (take_term) sigaction(SIGTERM, &sa, NULL);
    double next_progress = x->progress_every;
    leaf_t s[NLEAVES > 0 ? NLEAVES : 1];
    uint8_t p[SBYTES];
    x->head = 0;
    x->level_end = 0;
    int done = 0;
    for (int64_t i = 0; i < ninit && !done; i++) {
        const leaf_t *init = inits + i * NLEAVES;
        x->generated++;
        if (spec_has_constraint && !spec_constraint_one(0, init)) continue;
        canon_pack(x, init, p);
        int64_t id = add_state(x, p, hash_state(p), NO_PARENT, NO_VIA);
        if (id == ADD_FAILED) { done = finish(x, add_failure(x), 0); break; }
        if (id >= 0 && x->ninv_on && check_invariants(x, id, init)) {
            push_layer(x, x->n);
            done = finish(x, ST_VIOLATION, 0);
        }
    }
    if (!done) {
        if (x->n) push_layer(x, x->n);
        x->level_end = x->n;
        if (x->max_depth > 0 && x->nlayers >= x->max_depth) done = finish(x, ST_MAX_DEPTH, 0);
    }
    while (!done && x->head < x->n) {
        if (x->head == x->level_end) {
            if (x->cs) compact_release(x->cs, x->head);
            x->level_end = x->n;
            push_layer(x, x->level_end - x->head);
            if (x->max_depth > 0 && x->nlayers >= x->max_depth) { done = finish(x, ST_MAX_DEPTH, x->head); break; }
        }
        /* Levels of two blocks or more go block by block (expand, then insert with prefetching), on
           worker threads too when there are any; smaller ones state by state. */
        if (x->level_end - x->head >= 2 * BLOCK) {
            done = expand_level_parallel(x, &next_progress);
            continue;
        }
        int64_t cur = x->head;
        x->cur = cur;
        x->head++;
        load_queued(x, cur, s);
        x->nbuf = 0;
        int r = spec_successors(x, s);
        if (x->stopped == ST_NO_MEMORY) { done = 1; break; }
        if (insert_successors(x, cur, x->buf, x->nbuf, r != 0, x->nbuf)) { done = 1; break; }
        if ((x->head & 127) == 0 && periodic(x, &next_progress)) { done = 1; break; }
    }
    if (!done) finish(x, (x->nevents && x->stop_on_first == 1) ? ST_VIOLATION : ST_NONE, x->head);
    if (take_int) sigaction(SIGINT, &old_int, NULL);
    if (take_term) sigaction(SIGTERM, &old_term, NULL);
    return x->stopped;
}

/* ------------------------------------------------------------------ reading the result */

void nc_counts(const search *x, int64_t *out) {
    out[0] = x->n;
    out[1] = x->generated;
    out[2] = x->deadlocks;
    out[3] = x->stopped;
    out[4] = x->head;
    out[5] = x->error_state;
    out[6] = x->error_inst;
    out[7] = x->nlayers;
    out[8] = x->gn;
    out[9] = x->nevents;
    out[10] = x->cs ? compact_bytes(x->cs) : x->bytes;
}

void nc_layers(const search *x, int64_t *out) { memcpy(out, x->layers, (size_t)x->nlayers * sizeof *out); }
void nc_coverage(const search *x, int64_t *out) { memcpy(out, x->cov, sizeof x->cov); }
void nc_events(const search *x, int64_t *out) { memcpy(out, x->events, (size_t)x->nevents * 2 * sizeof *out); }

void nc_links(const search *x, int32_t *parent, int32_t *via) {
    for (int64_t i = 0; i < x->n && x->cs; i++) {
        uint32_t pa, inst;
        uint64_t pair;
        if (links_read(x->cs, i, &pa, &inst, &pair)) pa = inst = 0xFFFFFFFFu;
        parent[i] = pa == NO_PARENT ? -1 : (int32_t)pa;
        via[i] = inst == 0xFFFFFFFFu ? -1 : (int32_t)inst;
    }
    for (int64_t i = 0; i < x->n && !x->cs; i++) {
        uint32_t pa;
        via_t v;
        memcpy(&pa, rec(x, i) + SBYTES, 4);
        memcpy(&v, rec(x, i) + SBYTES + 4, sizeof v);
        parent[i] = pa == NO_PARENT ? -1 : (int32_t)pa;
        via[i] = v == NO_VIA ? -1 : (int32_t)v;
    }
}

/* The graph's rows (see the search's fields), with goff completed to n + 1 entries: out = {goff, gdst,
 * ginst} (owned by the search, alive until nc_free); -1 for no memory. */
int32_t nc_graph_rows(search *x, void **out) {
    if (close_rows(x, x->n + 1)) return -1;
    out[0] = x->goff;
    out[1] = x->gdst;
    out[2] = x->ginst;
    return 0;
}

/* The leaves of stored state id; 0, or -1 when the compact store's link file cannot be read. */
int32_t nc_state(const search *x, int64_t id, leaf_t *out) {
    uint8_t p[SBYTES];
    if (stored_packed(x, id, p)) return -1;
    spec_unpack(p, out);
    return 0;
}

/* Whether state leaves (canonicalised) is stored state id: what a trace under symmetry needs, and
 * what the compact store can answer (it keeps no table from states to ids). -1: a read error. */
int32_t nc_matches(const search *x, const leaf_t *leaves, int64_t id) {
    uint8_t p[SBYTES], q[SBYTES];
    canon_pack(x, leaves, p);
    if (stored_packed(x, id, q)) return -1;
    return memcmp(p, q, SBYTES) == 0;
}

/* The ids and instances (-1 at the initial state) from an initial state to id along first-discovery
 * links, written backwards from the end of ids[0..cap); the path's length, or -1 (a read error or a
 * path longer than cap). */
int64_t nc_path(const search *x, int64_t id, int32_t *ids, int32_t *insts, int64_t cap) {
    int64_t k = cap;
    while (id != (int64_t)NO_PARENT) {
        if (k == 0) return -1;
        uint32_t parent, inst;
        if (x->cs) {
            uint64_t pair;
            if (links_read(x->cs, id, &parent, &inst, &pair)) return -1;
        } else {
            via_t v;
            memcpy(&parent, rec(x, id) + SBYTES, 4);
            memcpy(&v, rec(x, id) + SBYTES + 4, sizeof v);
            inst = v == NO_VIA ? 0xFFFFFFFFu : v;
        }
        k--;
        ids[k] = (int32_t)id;
        insts[k] = inst == 0xFFFFFFFFu ? -1 : (int32_t)inst;
        id = parent == NO_PARENT ? (int64_t)NO_PARENT : (int64_t)parent;
    }
    return cap - k;
}

int64_t nc_lookup(const search *x, const leaf_t *leaves) {
    uint8_t p[SBYTES];
    canon_pack(x, leaves, p);
    return lookup(x, p, hash_state(p));
}

/* out[id] = state predicate k on every stored state (0/1). */
void nc_eval_state_pred(const search *x, int32_t k, uint8_t *out) {
    leaf_t s[NLEAVES > 0 ? NLEAVES : 1];
    uint8_t p[SBYTES];
    for (int64_t i = 0; i < x->n; i++) {
        out[i] = 0;
        if (stored_packed(x, i, p)) continue; /* the compact store keeps no graph: never asked */
        spec_unpack(p, s);
        out[i] = (uint8_t)spec_state_pred(k, s);
    }
}

/* The first graph edge, in the order edges were found, whose instance is marked in inst_on and whose
 * step satisfies step predicate k; -1 if none. */
int64_t nc_first_step(search *x, int32_t k, const uint8_t *inst_on) {
    leaf_t s[NLEAVES > 0 ? NLEAVES : 1], t[NLEAVES > 0 ? NLEAVES : 1];
    if (close_rows(x, x->n + 1)) return -2;
    for (int64_t v = 0; v < x->n; v++) {
        int unpacked = 0;
        for (int64_t e = x->goff[v]; e < x->goff[v + 1]; e++) {
            if (!inst_on[x->ginst[e]]) continue;
            if (!unpacked) spec_unpack(rec(x, v), s), unpacked = 1;
            spec_unpack(rec(x, x->gdst[e]), t);
            if (spec_step_pred(k, s, t)) return e;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------ the distributed search's steps
 *
 * explorer/engines/cluster.py runs the breadth-first search across processes (Ray actors), each owning
 * the states whose hash falls in its partition and keeping them itself. These entry points are nc_run's
 * per-state work without its store: pack initial states, expand a batch of packed states into their
 * successors through the same emit() (so the same packing, constraint and type checks, and counts),
 * and evaluate the invariants on a batch. They use the search only for its parameters (symmetry) and
 * for the successor buffer. */

int32_t nc_state_bytes(void) { return SBYTES; }

/* The packed (canonical) form of n initial states given as leaves, and whether each passes the state
 * constraint (an excluded initial state is generated but not stored, as in nc_run). */
void nc_pack(const search *x, int64_t n, const leaf_t *leaves, uint8_t *out, int8_t *kept) {
    for (int64_t i = 0; i < n; i++) {
        const leaf_t *s = leaves + i * NLEAVES;
        kept[i] = (int8_t)!(spec_has_constraint && !spec_constraint_one(0, s));
        canon_pack(x, s, out + i * SBYTES);
    }
}

void nc_unpack(const uint8_t *p, leaf_t *out) { spec_unpack(p, out); }

/* A partition keeps its states in the ordinary store (ids in insertion order, the table for
 * duplicates) and each one's parent as a global id in gparent. A routed successor is PREC bytes: the
 * packed state, its parent's global id, the instance that led to it (-1: an initial state) and its
 * hash (0: not computed yet). The owner of a state is taken from the high bits of its hash: the table
 * uses the low ones. */
#define PREC (SBYTES + 8 + 4 + 8)
#define PF_INSERT 16
#define GID_BITS 40
#define NO_GID 0xFFFFFFFFFFFFFFFFull

int32_t nc_part_record_bytes(void) { return PREC; }

int32_t nc_part_owner(const uint8_t *p, int32_t parts) { return (int32_t)((hash_state(p) >> GID_BITS) % (uint64_t)parts); }

/* Store the new states among n routed successors (duplicates and known states are dropped); the
 * number stored (their ids follow the earlier ones), or -1 out of memory or ids. per_inst[i] counts
 * the new states instance i led to. */
static inline uint64_t routed_hash(const uint8_t *r) {
    uint64_t h;
    memcpy(&h, r + SBYTES + 12, 8);
    return h ? h : hash_state(r);
}

int64_t nc_part_insert(search *x, int64_t n, const uint8_t *recs, int64_t *per_inst) {
    int64_t before = x->n;
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *r = recs + i * PREC;
        if (i + PF_INSERT < n) __builtin_prefetch(&x->table[routed_hash(r + PF_INSERT * PREC) & x->tmask]);
        uint64_t gp;
        int32_t inst;
        memcpy(&gp, r + SBYTES, 8);
        memcpy(&inst, r + SBYTES + 8, 4);
        int64_t id = add_state(x, r, routed_hash(r), NO_PARENT, inst < 0 ? NO_VIA : (via_t)inst);
        if (id == ADD_FAILED || id >= (1ll << GID_BITS)) return -1;
        if (id < 0) continue;
        if (inst >= 0) per_inst[inst]++;
        if (id >= x->gpcap) {
            int64_t cap = x->gpcap ? 2 * x->gpcap : 1 << 16;
            uint64_t *g = realloc(x->gparent, (size_t)cap * sizeof *g);
            if (!g) return -1;
            x->bytes += (cap - x->gpcap) * (int64_t)sizeof *g;
            x->gparent = g;
            x->gpcap = cap;
        }
        x->gparent[id] = gp;
    }
    return x->n - before;
}

/* For each invariant, the id of the smallest (memcmp) state among ids [from, to) that violates it,
 * or -1. */
void nc_part_check(const search *x, int64_t from, int64_t to, int64_t *first_bad) {
    leaf_t s[NLEAVES > 0 ? NLEAVES : 1];
    for (int k = 0; k < NINV; k++) first_bad[k] = -1;
    for (int64_t id = from; id < to; id++) {
        spec_unpack(rec(x, id), s);
        for (int k = 0; k < NINV; k++) {
            if (spec_invariant(k, s)) continue;
            if (first_bad[k] < 0 || memcmp(rec(x, id), rec(x, first_bad[k]), SBYTES) < 0) first_bad[k] = id;
        }
    }
}

static int route_push(search *x, int32_t d, const uint8_t *p, uint64_t gid, int32_t inst, uint64_t h) {
    if (x->route_len[d] == x->route_cap[d]) {
        int64_t cap = x->route_cap[d] ? 2 * x->route_cap[d] : 1024;
        uint8_t *b = realloc(x->route[d], (size_t)cap * PREC);
        if (!b) return -1;
        x->route[d] = b;
        x->route_cap[d] = cap;
    }
    uint8_t *r = x->route[d] + (size_t)x->route_len[d]++ * PREC;
    memcpy(r, p, SBYTES);
    memcpy(r + SBYTES, &gid, 8);
    memcpy(r + SBYTES + 8, &inst, 4);
    memcpy(r + SBYTES + 12, &h, 8);
    return 0;
}

/* Expand the states [from, to) of partition self into successors routed to their owners among parts
 * (read them with nc_part_routed). stats: generated, deadlocks, the smallest deadlocked state's id (-1:
 * none), a type error's state id and instance (-1: none). per_inst[i]: the steps of instance i taken.
 * Returns 0, or -1 out of memory. */
int nc_part_expand(search *x, int64_t from, int64_t to, int32_t self, int32_t parts, int64_t *stats,
                   int64_t *per_inst) {
    if (x->nroutes < parts) {
        uint8_t **r = realloc(x->route, (size_t)parts * sizeof *r);
        if (!r) return -1;
        x->route = r;
        int64_t *l = realloc(x->route_len, (size_t)parts * sizeof *l), *c;
        if (!l) return -1;
        x->route_len = l;
        c = realloc(x->route_cap, (size_t)parts * sizeof *c);
        if (!c) return -1;
        x->route_cap = c;
        for (int32_t d = x->nroutes; d < parts; d++) { x->route[d] = NULL; x->route_cap[d] = 0; }
        x->nroutes = parts;
    }
    for (int32_t d = 0; d < parts; d++) x->route_len[d] = 0;
    stats[0] = stats[1] = 0;
    stats[2] = stats[3] = stats[4] = -1;
    leaf_t s[NLEAVES > 0 ? NLEAVES : 1];
    x->stopped = ST_NONE;
    for (int64_t id = from; id < to; id++) {
        spec_unpack(rec(x, id), s);
        x->nbuf = 0;
        int enabled = spec_successors(x, s);
        if (x->stopped == ST_NO_MEMORY) return -1;
        if (!enabled) {
            stats[1]++;
            if (stats[2] < 0 || memcmp(rec(x, id), rec(x, stats[2]), SBYTES) < 0) stats[2] = id;
        }
        uint64_t gid = ((uint64_t)self << GID_BITS) | (uint64_t)id;
        for (int64_t k = 0; k < x->nbuf; k++) {
            const succ_t *o = &x->buf[k];
            if (o->kind == 2) {
                stats[3] = id;
                stats[4] = o->inst;
                return 0;
            }
            stats[0]++;
            per_inst[o->inst]++;
            if (o->kind == 1) continue;
            if (route_push(x, (int32_t)((o->h >> GID_BITS) % (uint64_t)parts), o->p, gid, o->inst, o->h)) return -1;
        }
    }
    return 0;
}

int64_t nc_part_routed_len(const search *x, int32_t d) { return d < x->nroutes ? x->route_len[d] : 0; }

/* The successors the last nc_part_expand routed to partition d: valid until the next expand. */
const uint8_t *nc_part_routed(const search *x, int32_t d) { return d < x->nroutes ? x->route[d] : NULL; }

/* State id of this partition: its packed form, its parent's global id (NO_GID: initial) and the
 * instance that led to it (-1: initial). */
void nc_part_get(const search *x, int64_t id, uint8_t *packed, uint64_t *gparent, int32_t *inst) {
    via_t v;
    memcpy(packed, rec(x, id), SBYTES);
    memcpy(&v, rec(x, id) + SBYTES + 4, sizeof v);
    *gparent = x->gparent[id];
    *inst = v == NO_VIA ? -1 : (int32_t)v;
}

/* The id of a packed state in this partition, or -1. */
int64_t nc_part_find(const search *x, const uint8_t *p) { return lookup(x, p, hash_state(p)); }

int64_t nc_part_count(const search *x) { return x->n; }
