/* The liveness pass's graph algorithms in C, on the arrays the search returns
 * (explorer/engines/liveness/graph.py).
 *
 * Each function is the Python reference of the same name in liveness/graph.py, statement for statement
 * (same root order, same edge order, same stack discipline), so verdicts, the number of components
 * examined and the counterexamples are identical; tests compare the two on every matrix cell.
 * Nothing here knows any spec: it is compiled once and cached like the specs' code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t n;
    const int64_t *off;
    const int32_t *dst, *inst;
    int32_t nconds;
    const int8_t *is_sf;      /* per condition: 0 WF, 1 SF */
    const int64_t *bi_off;    /* conditions of instance i: bi_cond[bi_off[i] .. bi_off[i+1]) */
    const int32_t *bi_cond;
    /* work arrays, n each */
    int64_t *mark;
    int32_t *idx, *low; /* Tarjan's numbers: below the number of states, so below 2^31 */
    int8_t *onstack;
    int64_t tag;
    int64_t examined;
    const uint8_t *skip;      /* skip[i]: edges of instance i are not walked (NULL: every edge is) */
} graph_t;

/* sccs: Tarjan on {v in nodes : mark[v] == tag}; components written to out (members in the order
 * Python pops them), their sizes to sizes; returns the number of components (-1: no memory). */
static int64_t sccs(graph_t *g, const int32_t *nodes, int64_t nn, int64_t tag, int32_t *out, int64_t *sizes) {
    const int64_t *off = g->off;
    const int32_t *dst = g->dst, *inst = g->inst;
    const uint8_t *skip = g->skip;
    int32_t *idx = g->idx, *low = g->low;
    int64_t *mark = g->mark;
    int8_t *onstack = g->onstack;
    for (int64_t k = 0; k < nn; k++) idx[nodes[k]] = -1;
    int64_t counter = 0, ncomp = 0, nout = 0;
    int32_t *stack = malloc((size_t)(nn > 0 ? nn : 1) * sizeof *stack);
    int32_t *call_v = malloc((size_t)(nn > 0 ? nn : 1) * sizeof *call_v);
    int64_t *call_e = malloc((size_t)(nn > 0 ? nn : 1) * sizeof *call_e);
    if (!stack || !call_v || !call_e) { free(stack); free(call_v); free(call_e); return -1; }
    int64_t sp = 0;
    for (int64_t r = 0; r < nn; r++) {
        int32_t root = nodes[r];
        if (idx[root] != -1) continue;
        idx[root] = low[root] = (int32_t)counter++;
        stack[sp++] = root;
        onstack[root] = 1;
        int64_t cp = 0;
        call_v[cp] = root;
        call_e[cp] = off[root];
        cp++;
        while (cp) {
            int32_t v = call_v[cp - 1];
            int64_t e = call_e[cp - 1], end = off[v + 1];
            int descended = 0;
            while (e < end) {
                int32_t w = dst[e++];
                if (mark[w] != tag || (skip && skip[inst[e - 1]])) continue;
                int32_t iw = idx[w];
                if (iw == -1) {
                    call_e[cp - 1] = e;
                    idx[w] = low[w] = (int32_t)counter++;
                    stack[sp++] = w;
                    onstack[w] = 1;
                    call_v[cp] = w;
                    call_e[cp] = off[w];
                    cp++;
                    descended = 1;
                    break;
                }
                if (onstack[w] && iw < low[v]) low[v] = iw;
            }
            if (descended) continue;
            cp--;
            if (cp) {
                int32_t u = call_v[cp - 1];
                if (low[v] < low[u]) low[u] = low[v];
            }
            if (low[v] == idx[v]) {
                int64_t size = 0;
                for (;;) {
                    int32_t w = stack[--sp];
                    onstack[w] = 0;
                    out[nout++] = w;
                    size++;
                    if (w == v) break;
                }
                sizes[ncomp++] = size;
            }
        }
    }
    free(stack);
    free(call_v);
    free(call_e);
    return ncomp;
}

/* _classify: 0 fair, 1 unfair, 2 refine (the states to drop are marked 0). */
static int classify(graph_t *g, const int32_t *comp, int64_t size, int64_t tag, int64_t *enabled_in,
                    int64_t *last, int8_t *taken, int8_t *bad_inst, int32_t ninst) {
    int32_t k = g->nconds;
    if (k == 0) return 0;
    for (int32_t c = 0; c < k; c++) { enabled_in[c] = 0; last[c] = -1; taken[c] = 0; }
    for (int64_t j = 0; j < size; j++) {
        int32_t v = comp[j];
        for (int64_t e = g->off[v]; e < g->off[v + 1]; e++) {
            int32_t i = g->inst[e];
            if (g->dst[e] == v || g->bi_off[i] == g->bi_off[i + 1]) continue; /* a self-loop is a stutter */
            int inside = g->mark[g->dst[e]] == tag;
            for (int64_t q = g->bi_off[i]; q < g->bi_off[i + 1]; q++) {
                int32_t c = g->bi_cond[q];
                if (last[c] != v) { last[c] = v; enabled_in[c]++; }
                if (inside) taken[c] = 1;
            }
        }
    }
    for (int32_t c = 0; c < k; c++)
        if (!g->is_sf[c] && enabled_in[c] == size && !taken[c]) return 1;
    int any_bad = 0;
    for (int32_t c = 0; c < k; c++)
        if (g->is_sf[c] && enabled_in[c] && !taken[c]) { taken[c] = 2; any_bad = 1; } /* 2: unserved SF */
    if (!any_bad) return 0;
    /* an instance is bad when it is one of an unserved SF condition's (a condition may span several) */
    for (int32_t i = 0; i < ninst; i++) {
        bad_inst[i] = 0;
        for (int64_t q = g->bi_off[i]; q < g->bi_off[i + 1]; q++)
            if (taken[g->bi_cond[q]] == 2) { bad_inst[i] = 1; break; }
    }
    for (int64_t j = 0; j < size; j++) {
        int32_t v = comp[j];
        for (int64_t e = g->off[v]; e < g->off[v + 1]; e++)
            if (g->dst[e] != v && bad_inst[g->inst[e]]) { g->mark[v] = 0; break; }
    }
    return 2;
}

/* fair_components: the maximal fair SCCs within nodes (containing a required state, if required is
 * given), in the order found: their members one after the other in members (at most nn), their sizes
 * in fair_sizes. Returns their number, or -1.
 * mark: n int64, idx, low: n int32 each, onstack: n bytes (zeroed); tag0: the first unused tag. */
int64_t gc_fair(int64_t n, const int64_t *off, const int32_t *dst, const int32_t *inst, int32_t ninst,
                int32_t nconds, const int8_t *is_sf, const int64_t *bi_off,
                const int32_t *bi_cond, const int32_t *nodes, int64_t nn, const uint8_t *required,
                int32_t *members, int64_t *fair_sizes, int64_t *mark, int32_t *idx, int32_t *low,
                int8_t *onstack, int64_t *tag_io, int64_t *examined, const uint8_t *skip) {
    graph_t g = {n, off, dst, inst, nconds, is_sf, bi_off, bi_cond, mark, idx, low, onstack, *tag_io, 0,
                 skip};
    int64_t nmembers = 0;
    int64_t cap = nn > 0 ? nn : 1;
    int32_t *pool = malloc((size_t)cap * sizeof *pool);          /* components, stacked */
    int64_t *sizes = malloc((size_t)cap * sizeof *sizes);        /* component sizes, stacked */
    int32_t *rest = malloc((size_t)cap * sizeof *rest);
    int64_t *enabled_in = malloc((size_t)(nconds + 1) * sizeof *enabled_in);
    int64_t *last = malloc((size_t)(nconds + 1) * sizeof *last);
    int8_t *taken = malloc((size_t)(nconds + 1));
    int8_t *bad_inst = malloc((size_t)(ninst + 1));
    int64_t nfair = -1;
    if (!pool || !sizes || !rest || !enabled_in || !last || !taken || !bad_inst) goto done;
    int64_t tag = ++g.tag;
    for (int64_t k = 0; k < nn; k++) mark[nodes[k]] = tag;
    int64_t ncomp = sccs(&g, nodes, nn, tag, pool, sizes);
    if (ncomp < 0) goto done;
    int64_t top = 0; /* pool end */
    for (int64_t c = 0; c < ncomp; c++) top += sizes[c];
    nfair = 0;
    while (ncomp) {
        int64_t size = sizes[--ncomp];
        top -= size;
        int32_t *comp = pool + top;
        g.examined++;
        if (required) {
            int any = 0;
            for (int64_t j = 0; j < size && !any; j++) any = required[comp[j]];
            if (!any) continue;
        }
        tag = ++g.tag;
        for (int64_t j = 0; j < size; j++) mark[comp[j]] = tag;
        int verdict = classify(&g, comp, size, tag, enabled_in, last, taken, bad_inst, ninst);
        if (verdict == 0) {
            memcpy(members + nmembers, comp, (size_t)size * sizeof *comp);
            nmembers += size;
            fair_sizes[nfair++] = size;
        } else if (verdict == 2) {
            int64_t nr = 0;
            for (int64_t j = 0; j < size; j++)
                if (mark[comp[j]] == tag) rest[nr++] = comp[j];
            if (nr) {
                /* the sub-components of rest replace comp on the stack (they are no larger) */
                int64_t more = sccs(&g, rest, nr, tag, pool + top, sizes + ncomp);
                if (more < 0) { nfair = -1; goto done; }
                for (int64_t c = 0; c < more; c++) top += sizes[ncomp + c];
                ncomp += more;
            }
        }
    }
done:
    *tag_io = g.tag;
    *examined += g.examined;
    free(pool);
    free(sizes);
    free(rest);
    free(enabled_in);
    free(last);
    free(taken);
    free(bad_inst);
    return nfair;
}

/* _reach_not_q: the ~Q states reachable inside ~Q from a P /\ ~Q state, each source starting at its own
 * BFS depth (from the parent links); nodes in discovery order; dist, pred_state, pred_inst as there. */
int64_t gc_reach_not_q(int64_t n, const int64_t *off, const int32_t *dst, const int32_t *inst,
                       const int32_t *parent, const uint8_t *p, const uint8_t *q, int32_t *nodes,
                       int32_t *dist, int32_t *pred_state, int32_t *pred_inst) {
    /* int32: state ids, instances and BFS depths all fit (ids are below 2^31), 12 bytes a state less */
    int32_t *depth = malloc((size_t)(n > 0 ? n : 1) * sizeof *depth);
    int64_t *count = calloc((size_t)(n + 2), sizeof *count);
    int32_t *sources = malloc((size_t)(n > 0 ? n : 1) * sizeof *sources);
    int32_t *frontier = malloc((size_t)(n > 0 ? n : 1) * sizeof *frontier);
    int32_t *next = malloc((size_t)(n > 0 ? n : 1) * sizeof *next);
    int64_t nn = -1;
    if (!depth || !count || !sources || !frontier || !next) goto out;
    for (int64_t v = 0; v < n; v++) depth[v] = parent[v] < 0 ? 0 : depth[parent[v]] + 1;
    /* sources sorted by (depth, id): a counting sort by depth, ids ascending within a depth */
    int64_t ns = 0;
    for (int64_t v = 0; v < n; v++)
        if (p[v] && !q[v]) { count[depth[v] + 1]++; ns++; }
    for (int64_t d = 0; d <= n; d++) count[d + 1] += count[d];
    for (int64_t v = 0; v < n; v++)
        if (p[v] && !q[v]) sources[count[depth[v]]++] = (int32_t)v;
    for (int64_t v = 0; v < n; v++) { dist[v] = -1; pred_state[v] = -1; pred_inst[v] = -1; }
    nn = 0;
    int64_t si = 0, nf = 0, level = ns ? depth[sources[0]] : 0;
    while (si < ns || nf) {
        if (!nf && si < ns && depth[sources[si]] > level) level = depth[sources[si]];
        while (si < ns && depth[sources[si]] <= level) {
            int32_t s = sources[si++];
            if (dist[s] == -1) {
                dist[s] = (int32_t)level;
                frontier[nf++] = s;
                nodes[nn++] = s;
            }
        }
        int64_t nx = 0;
        for (int64_t k = 0; k < nf; k++) {
            int32_t v = frontier[k];
            for (int64_t e = off[v]; e < off[v + 1]; e++) {
                int32_t w = dst[e];
                if (q[w] || dist[w] != -1) continue;
                dist[w] = (int32_t)(level + 1);
                pred_state[w] = v;
                pred_inst[w] = inst[e];
                next[nx++] = w;
                nodes[nn++] = w;
            }
        }
        int32_t *t = frontier;
        frontier = next;
        next = t;
        nf = nx;
        level++;
    }
out:
    free(depth);
    free(count);
    free(sources);
    free(frontier);
    free(next);
    return nn;
}

/* The states v (ascending) with mask[v] == want, or every state when mask is NULL; returns how many. */
int64_t gc_select(int64_t n, const uint8_t *mask, uint8_t want, int32_t *out) {
    int64_t k = 0;
    for (int64_t v = 0; v < n; v++)
        if (!mask || mask[v] == want) out[k++] = (int32_t)v;
    return k;
}
