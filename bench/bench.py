"""Explorer throughput, measured, not asserted: `make bench` (or `python bench/bench.py [--quick]`).

Every figure is measured in this run, each search in a fresh process (so its peak RSS is its own):

1. Engines: the compiled engine (explorer.engines.compiled.engine, one thread) against the Python
   reference (explorer.engines.bfs) on the same spec: distinct and generated counts (which must agree),
   seconds, distinct states per second, the speed-up, and the compile time (spec to C to a loaded
   library, with an empty cache) shown apart from the search.
2. Memory: bytes per stored state of the compiled store (packed state, parent link, action, and the
   hash table's share), and the process's peak RSS.
3. Symmetry: rfc_fixed at 3 CPUs, full count against the number of orbits under the declared symmetry.
4. Both cores: the compiled search with 2 threads against 1 (same counts): its parallel expansion (one
   thread inserts every state), and the search over 2 hash partitions (explorer.engines.partitioned:
   each thread expands and inserts its own partition).
5. Liveness: the search (keeping the graph) against the liveness pass in C (and in Python where it
   finishes in seconds).
7. Cluster: the search on a local Ray cluster (explorer.engines.cluster) of 1, 2 and 4 partitions
   against the compiled engine (1 thread): same counts; the search's seconds (Ray's start apart),
   distinct states per second in all and per partition. This machine has 2 cores: 4 partitions share
   them, which shows the cost of the extra hops, not a speed-up.
8. Memory at scale: the plain store against the compact store (compact_store.c, `check --store
   compact`) on the 2026 rework's timer with two objects, stopped at 1M, 10M and 100M states and run to
   the end, and bpf_task_work with two values to the end: seconds, distinct states per second (and its
   ratio to the rate at 1M), the store's bytes per state and the whole process's peak RSS per state.
6. Spin: the same spec exported to Promela (explorer.outputs.export.promela) and searched by Spin's pan (full
   state storage, -DSAFETY -DNOREDUCE, cc -O2 like ours), beside the compiled engine: export, spin -a,
   cc and pan seconds against our search (same count: Spin stores ours + 1). Skipped without spin.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tabulate import tabulate  # noqa: E402

SPECS = {
    "TwoPhase rms=8": ("tests.classic.twophase", {"rms": 8}),
    "TwoPhase rms=6": ("tests.classic.twophase", {"rms": 6}),
    "rfc_fixed 2 CPUs x 2 items": ("spec.delayed_work", {"variant": "rfc_fixed"}),
    "rfc_fixed 3 CPUs x 2 items": ("spec.delayed_work", {"variant": "rfc_fixed", "cpus": 3}),
    "usercnt_cb_submits (largest cell before 2-CPU cells)": (
        "spec.delayed_work", {"variant": "usercnt", "callback": "submits"}
    ),
    "rfc_fixed_two_progs (2 CPUs)": ("spec.delayed_work", {"variant": "rfc_fixed", "progs": 2}),
    "no_claim_lock (largest matrix cell)": (
        "spec.delayed_work", {"variant": "no_claim_lock", "irq_progs": True}
    ),
    "2026 timer, 2 objects": (
        "spec.bpf_async", {"kind": "timer", "design": "refcnt", "irq_callers": True, "objs": 2}
    ),
    "bpf_task_work, 2 values": ("spec.bpf_task_work", {"values": 2}),
    "ReadersWriters 4 actors (sets, a sequence)": ("tests.classic.readerswriters", {"actors": 4}),
    "Paxos 3 acceptors, 2 values, ballots 0..2 (message set)": (
        "tests.classic.paxos", {"acceptors": 3, "values": 2, "max_ballot": 2}
    ),
    "EWD998 3 nodes (a record token)": ("tests.classic.ewd998", {"n": 3}),
}  # fmt: skip


# --------------------------------------------------------------------------- one measurement (child)


def _spec(name: str):
    import importlib

    module, constants = SPECS[name]
    return importlib.import_module(module).make_spec(**constants)


def measure(job: dict) -> dict:
    """Run one search in this process and return its figures."""
    from explorer.engines import bfs
    from explorer.engines.bfs import Options
    from explorer.engines.compiled import engine as native
    from explorer.engines.liveness.check import check_liveness

    quiet = lambda _line: None  # noqa: E731
    out: dict = {}
    if job["engine"] == "spin":
        return measure_spin(job)
    if job["engine"] == "cluster":
        return measure_cluster(job)
    if job["engine"] == "python":
        t0 = time.perf_counter()
        res = bfs.explore(_spec(job["spec"]), Options(stop_on_first=False), quiet)
        out["seconds"] = time.perf_counter() - t0
    else:
        spec = _spec(job["spec"])
        t0 = time.perf_counter()
        lib = native.load(spec, job.get("symmetry", False), compact=job.get("store") == "compact")
        out["compile"] = time.perf_counter() - t0
        out["compile_cc"] = lib.compile_seconds
        opts = Options(
            stop_on_first=False, keep_graph=job.get("liveness", False), max_states=job.get("max_states")
        )
        t0 = time.perf_counter()
        sym, threads = job.get("symmetry", False), job.get("threads", 1)
        if job.get("partitions"):
            from explorer.engines.partitioned import explore_partitioned

            res = explore_partitioned(spec, opts, parts=job["partitions"])
            out["seconds"] = time.perf_counter() - t0
            out["distinct"], out["generated"], out["depth"] = res.distinct, res.generated, res.depth
            out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            return out
        # the link file (unlinked at once) goes to this child's compile cache, a folder run() removes
        compact = Path(os.environ["BPF_CHECKER_CACHE"]) if job.get("store") == "compact" else None
        res = native.explore(spec, opts, quiet, symmetry=sym, threads=threads, compact_dir=compact)
        out["seconds"] = time.perf_counter() - t0
        out["store_bytes"] = res.store_bytes
        out["record_bytes"] = lib.program.record_bytes
        if job.get("liveness"):
            native.graph_core()  # compiled (or loaded) before the clock starts, like the spec's library
            for impl in ("c", "python") if job.get("python_liveness", True) else ("c",):
                t0 = time.perf_counter()
                verdicts = check_liveness(res, impl=impl)
                out[f"liveness_{impl}"] = time.perf_counter() - t0
            out["edges"] = len(res.graph)
            out["properties"] = len(verdicts)
    out["distinct"], out["generated"], out["depth"] = res.distinct, res.generated, res.depth
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def measure_spin(job: dict) -> dict:
    """Export the spec to Promela and run Spin on it (spin -a, cc, pan) in this process's children."""
    from explorer.outputs.export.promela import export
    from explorer.outputs.export.spin import run_spin

    spec = _spec(job["spec"])
    t0 = time.perf_counter()
    model = export(spec)
    out = {"export": time.perf_counter() - t0}
    with tempfile.TemporaryDirectory() as work:
        r = run_spin(model, Path(work), expected_states=job.get("expected"), cc_opt="-O2")
    if r.incomplete or r.unknown:
        raise SystemExit(f"bench: Spin on {job['spec']}: {r.incomplete or r.unknown}")
    out.update(r.seconds)
    out["distinct"] = r.stored - model.extra_states
    out["violations"] = sorted(r.violations)
    # the largest of the children (spin -a, cc, pan): a process cannot tell its finished children apart
    out["rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def measure_cluster(job: dict) -> dict:
    """The search on a local Ray cluster of job["workers"] partitions started in this process."""
    import ray

    from explorer.engines.bfs import Options
    from explorer.engines.cluster import Recipe, explore_cluster

    module, constants = SPECS[job["spec"]]
    t0 = time.perf_counter()
    ray.init(num_cpus=job["workers"], include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    out = {"start": time.perf_counter() - t0}
    try:
        res = explore_cluster(
            Recipe(module, constants), Options(stop_on_first=False), workers=job["workers"],
            fused=job.get("fused", True),
        )  # fmt: skip
    finally:
        ray.shutdown()
    out.update(seconds=res.seconds, distinct=res.distinct, generated=res.generated, depth=res.depth)
    return out


def cluster_table(names: list[str], workers: list[int]) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        print("7. Cluster: skipped, Ray is not installed (pip install 'ray>=2.9')\n")
        return
    rows = []
    for name in names:
        one = run({"spec": name, "engine": "native"})
        base = one["distinct"] / one["seconds"]
        rows.append(
            [name, "compiled, 1 thread", one["distinct"], one["depth"], f"{one['seconds']:.2f}", "",
             f"{base:.0f}", ""]
        )  # fmt: skip
        # each worker count, and 2 partitions again with two round trips a level (insert, then expand):
        # what fusing them into one call (Partition.insert_expand) saves
        for w, fused in [(w, True) for w in workers] + [(2, False)]:
            c = run({"spec": name, "engine": "cluster", "workers": w, "fused": fused})
            assert [c[k] for k in ("distinct", "generated", "depth")] == [
                one[k] for k in ("distinct", "generated", "depth")
            ]
            rate = c["distinct"] / c["seconds"]
            label = f"Ray, {w} partition{'s' if w > 1 else ''}" + ("" if fused else ", 2 round trips a level")
            cpus_used = min(w, os.cpu_count() or 1)  # more partitions than CPUs share them
            rows.append(
                [name, label, c["distinct"], c["depth"], f"{c['seconds']:.2f}", f"{c['start']:.1f}",
                 f"{rate:.0f}", f"{rate / w / base:.2f}", f"{rate / cpus_used / base:.2f}"]
            )  # fmt: skip
    cpus = os.cpu_count()
    print(f"7. Cluster: a local Ray cluster ({cpus} CPUs here) against the compiled engine, same counts")
    headers = [
        "spec",
        "engine",
        "distinct",
        "levels",
        "search s",
        "Ray start s",
        "distinct/s",
        "per partition / compiled",
        "per CPU used / compiled",
    ]
    print(tabulate(rows, headers=headers))
    print()


def run(job: dict) -> dict:
    """measure(job) in a fresh process, with an empty compile cache (so compile time is measured)."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "BPF_CHECKER_CACHE": cache, "PYTHONPATH": str(ROOT)}
        r = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(job)], capture_output=True, text=True, env=env
        )
    if r.returncode != 0:
        raise SystemExit(f"bench: {job} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the tables (parent)


def engines(names: list[str]) -> None:
    rows = []
    for name in names:
        py = run({"spec": name, "engine": "python"})
        c = run({"spec": name, "engine": "native"})
        same = (c["distinct"], c["generated"]) == (py["distinct"], py["generated"])
        assert same, f"{name}: the engines disagree"
        rows.append([
            name, c["distinct"], c["generated"], c["depth"],
            f"{py['seconds']:.1f}", f"{c['seconds']:.2f}", f"{py['seconds'] / c['seconds']:.0f}x",
            f"{py['distinct'] / py['seconds']:,.0f}", f"{c['distinct'] / c['seconds']:,.0f}",
            f"{c['compile']:.1f} ({c['compile_cc']:.1f})",
            f"{c['record_bytes']} + {c['store_bytes'] / c['distinct'] - c['record_bytes']:.1f}",
            f"{py['rss_mib']:.0f} / {c['rss_mib']:.0f}",
        ])  # fmt: skip
    print("1-2. Compiled engine (1 thread) against the Python BFS, same spec, same machine, this run")
    print(
        tabulate(
            rows,
            headers=["spec", "distinct", "generated", "depth", "python s", "native s", "speed-up",
                     "python distinct/s", "native distinct/s", "compile s (cc)", "B/state: record + table",
                     "peak RSS MiB py / native"],
        )
    )  # fmt: skip
    print(
        "bytes/state: a record (packed state + parent id + action) plus the hash table's and chunk table's"
        " share, i.e. the compiled store's whole allocation divided by the states stored; compile: C from"
        " the spec's Z3 terms plus cc -O2 (cc alone in brackets)\n"
    )


def symmetry_table() -> None:
    name = "rfc_fixed 3 CPUs x 2 items"
    full = run({"spec": name, "engine": "native"})
    red = run({"spec": name, "engine": "native", "symmetry": True})
    bound = full["distinct"] / 6
    print("3. Symmetry (CPU, Item and Prog values interchangeable, as the spec declares)")
    print(
        tabulate(
            [[name, full["distinct"], red["distinct"], f"{bound:,.0f}", f"{red['distinct'] / bound:.2f}",
              f"{full['seconds']:.2f}", f"{red['seconds']:.2f}"]],
            headers=["spec", "full", "orbits", "full / 3!", "orbits / (full / 3!)", "full s", "reduced s"],
        )
    )  # fmt: skip
    print()


def threads_table(names: list[str]) -> None:
    rows = []
    for name in names:
        one = run({"spec": name, "engine": "native", "threads": 1})
        two = run({"spec": name, "engine": "native", "threads": 2})
        p1 = run({"spec": name, "engine": "native", "partitions": 1})
        p2 = run({"spec": name, "engine": "native", "partitions": 2})
        for r in (two, p1, p2):
            assert (one["distinct"], one["generated"]) == (r["distinct"], r["generated"])
        s1, s2, q1, q2 = (r["seconds"] for r in (one, two, p1, p2))
        rows.append([name, one["distinct"], f"{s1:.2f}", f"{s2:.2f}", f"{s1 / s2:.2f}x",
                     f"{q1:.2f}", f"{q2:.2f}", f"{s1 / q2:.2f}x", f"{q1 / q2:.2f}x"])  # fmt: skip
    cpus = os.cpu_count()
    print(f"4. Both cores ({cpus} CPUs here), same counts: the search's parallel expansion (one inserter)")
    print("   and the search over hash partitions (each thread expands and inserts its own)")
    headers = ["spec", "distinct", "1 thread s", "2 threads s", "speed-up", "1 partition s", "2 partitions s",
               "speed-up (1 thread)", "(1 partition)"]  # fmt: skip
    print(tabulate(rows, headers=headers))
    print()


def native_table(names: list[str]) -> None:
    rows = []
    for name in names:
        c = run({"spec": name, "engine": "native"})
        rows.append([name, c["distinct"], c["generated"], c["depth"], f"{c['seconds']:.2f}",
                     f"{c['distinct'] / c['seconds']:,.0f}", f"{c['compile']:.1f} ({c['compile_cc']:.1f})",
                     f"{c['record_bytes']} + {c['store_bytes'] / c['distinct'] - c['record_bytes']:.1f}",
                     f"{c['rss_mib']:.0f}"])  # fmt: skip
    print("1b. Compiled engine alone on the largest cells (the Python BFS would need hours), and on three")
    print("    classic specs written with the new values (issue 23): sets and a sequence, a message set,")
    print("    a record")
    print(tabulate(rows, headers=["spec", "distinct", "generated", "depth", "native s", "native distinct/s",
                                  "compile s (cc)", "B/state: record + table", "peak RSS MiB"]))  # fmt: skip
    print()


def memory_table(limits: list[int | None], whole: list[str]) -> None:
    name = "2026 timer, 2 objects"
    jobs = [(name, limit, store) for limit in limits for store in ("plain", "compact")]
    jobs += [(other, None, "compact") for other in whole]
    rows, first_rate = [], {}
    for spec, limit, store in jobs:
        r = run({"spec": spec, "engine": "native", "threads": 2, "store": store, "max_states": limit})
        rate = r["distinct"] / r["seconds"]
        first_rate.setdefault((spec, store), rate)
        rows.append([spec, f"{limit:,}" if limit else "to the end", store, f"{r['distinct']:,}",
                     f"{r['generated']:,}", r["depth"], f"{r['seconds']:.1f}", f"{rate:,.0f}",
                     f"{rate / first_rate[spec, store]:.2f}", f"{r['store_bytes'] / r['distinct']:.1f}",
                     f"{r['rss_mib'] * 2**20 / r['distinct']:.1f}", f"{r['rss_mib']:,.0f}"])  # fmt: skip
    print("8. Memory at scale (2 threads): the plain store against the compact store (check --store compact)")
    print(tabulate(rows, headers=["spec", "stopped at", "store", "distinct", "generated", "depth", "s",
                                  "distinct/s", "rate / its first row's", "store B/state",
                                  "peak RSS B/state", "peak RSS MiB"]))  # fmt: skip
    print(
        "store B/state: the store's own count of its allocation (the compact store: the halves' tables,"
        " the pairs' table and the queue not yet expanded; its links are on disk); peak RSS: the whole"
        " process, Python included\n"
    )


def liveness_table(names: list[tuple[str, bool]]) -> None:
    rows = []
    for name, with_python in names:
        r = run({"spec": name, "engine": "native", "liveness": True, "python_liveness": with_python})
        py = f"{r['liveness_python']:.2f}" if with_python else "-"
        rows.append([name, r["distinct"], r["edges"], r["properties"], f"{r['seconds']:.2f}",
                     f"{r['liveness_c']:.2f}", f"{r['liveness_c'] / r['seconds']:.2f}", py])  # fmt: skip
    print("5. Liveness: the search keeping its graph, then every temporal property of the spec")
    print(tabulate(rows, headers=["spec", "states", "edges", "properties", "search s", "liveness in C s",
                                  "liveness / search", "liveness in Python s"]))  # fmt: skip


def spin_table(names: list[str]) -> None:
    import shutil

    print("6. Spin (pan, full state storage) against the compiled engine (1 thread), same spec, this run")
    if shutil.which("spin") is None:
        print("skipped: spin is not installed (apt-get install spin)\n")
        return
    rows = []
    for name in names:
        c = run({"spec": name, "engine": "native"})
        sp = run({"spec": name, "engine": "spin", "expected": c["distinct"]})
        same = sp["distinct"] == c["distinct"]
        assert same, f"{name}: Spin stored {sp['distinct']} + 1 states, ours {c['distinct']}"
        rows.append([
            name, c["distinct"], f"{sp['export']:.1f}", f"{sp['spin']:.2f}", f"{sp['cc']:.1f}",
            f"{sp['pan']:.2f}", f"{c['compile']:.1f}", f"{c['seconds']:.2f}",
            f"{sp['pan'] / c['seconds']:.1f}x",
            f"{c['distinct'] / sp['pan']:,.0f}", f"{c['distinct'] / c['seconds']:,.0f}",
            f"{sp['rss_mib']:.0f} / {c['rss_mib']:.0f}",
        ])  # fmt: skip
    print(
        tabulate(
            rows,
            headers=["spec", "distinct", "export s", "spin -a s", "cc s", "pan s", "ours: compile s",
                     "ours: search s", "pan / ours", "pan distinct/s", "ours distinct/s",
                     "peak RSS MiB cc+pan / ours"],
        )
    )  # fmt: skip
    print(
        "export: the spec's Z3 terms printed as Promela; cc: pan.c at -O2; pan: ./pan -c0 (an exhaustive DFS"
        " that goes on after errors); ours: the C from the same terms at -O2, then our BFS\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small specs only (seconds, not minutes)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return
    t0 = time.monotonic()
    if args.quick:
        engines(["TwoPhase rms=6", "rfc_fixed 2 CPUs x 2 items"])
        threads_table(["TwoPhase rms=6"])
    else:
        engines(["TwoPhase rms=8", "rfc_fixed 2 CPUs x 2 items", "rfc_fixed 3 CPUs x 2 items",
                 "usercnt_cb_submits (largest cell before 2-CPU cells)"])  # fmt: skip
        native_table(["rfc_fixed_two_progs (2 CPUs)", "no_claim_lock (largest matrix cell)",
                      "ReadersWriters 4 actors (sets, a sequence)",
                      "Paxos 3 acceptors, 2 values, ballots 0..2 (message set)",
                      "EWD998 3 nodes (a record token)"])  # fmt: skip
        symmetry_table()
        threads_table(["TwoPhase rms=8", "rfc_fixed 3 CPUs x 2 items", "no_claim_lock (largest matrix cell)"])
    liveness_table(
        [("usercnt_cb_submits (largest cell before 2-CPU cells)", True)]
        + ([] if args.quick else [("rfc_fixed_two_progs (2 CPUs)", False)])
    )
    print()
    spin_table(["TwoPhase rms=6"] if args.quick else ["TwoPhase rms=8", "rfc_fixed 3 CPUs x 2 items"])
    if args.quick:
        cluster_table(["rfc_fixed 2 CPUs x 2 items"], [1, 2])
        memory_table([1_000_000], [])
    else:
        # a level costs a few Ray round trips whatever its size, so the small searches show that
        # latency and the largest matrix cell the throughput
        cluster_table(["TwoPhase rms=8", "rfc_fixed 3 CPUs x 2 items", "no_claim_lock (largest matrix cell)"],
                      [1, 2, 4])  # fmt: skip
        memory_table([1_000_000, 10_000_000, 100_000_000, None], ["bpf_task_work, 2 values"])
    print(f"\nbench took {time.monotonic() - t0:.0f}s")


if __name__ == "__main__":
    main()
