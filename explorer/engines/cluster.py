"""The breadth-first search across processes or machines, on Ray (issue 22: a search that outgrows one
machine).

Each Ray actor owns one hash partition of the states (``crc32(packed state) % workers``) and holds the
same compiled library as the single-machine engine (``explorer/engines/compiled``): it keeps its states
and their parent links itself, expands its part of a level in C (``nc_expand``: the same successor code,
packing, constraint and type checks as ``nc_run``), and sends each successor to its owner in one batch
per owner. Batches travel between actors through Ray's object store (the driver passes references, not
the states). Levels stay breadth-first: a level is expanded everywhere before the next one is inserted,
so every violation is found at its shortest length.

What equals the single-machine engine's result: distinct, generated, the level sizes (so the depth),
deadlocks, each action's generated count, and for every property violated the length of its shortest
counterexample. A counterexample is a concrete trace (re-walked through the partitions' parent links and
replayed through the Python spec's own steps, which must produce it); which of the shortest ones is shown
is chosen deterministically (the smallest packed state at that level), so it may differ from the
single-machine engine's choice. Each action's distinct count depends on which step first reached a state,
which is order-dependent (here the order of the batches): it is reported, not compared; its total is.

Limits, each refused in one line: no liveness (no graph), no symmetry reduction, no ``--max-states``
(a level is the unit of work). ``--max-seconds`` and an interrupt end the run between levels, reported
as incomplete. A worker that dies ends the run with ``ClusterError`` naming it.
"""

from __future__ import annotations

import ctypes
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.engines.bfs import DEADLOCK, Options, Result, Trace, Violation
from explorer.engines.compiled import engine as native
from explorer.engines.compiled.codegen import flatten, unflatten
from spec.lang import Spec, SpecError, successors

I8, I32, I64, U8 = ctypes.c_int8, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint8
GID_BITS = 40  # search.c: a global state id is partition << GID_BITS | its id in that partition


class ClusterError(RuntimeError):
    """The cluster could not finish the search (a worker died, Ray could not start): one line."""


@dataclass(frozen=True)
class Recipe:
    """How a worker builds the spec: the model module, its constants and the config's directory (a spec
    object is not sent over the network; each worker builds and compiles its own)."""

    model: str
    constants: dict[str, Any]
    near: str | None = None

    def build(self) -> Spec:
        from spec.config import import_model

        return import_model(self.model, Path(self.near) if self.near else None).make_spec(**self.constants)


@dataclass
class _Level:
    """What one partition reports for one level it expanded."""

    generated: int = 0
    per_inst: list[int] = field(default_factory=list)  # steps taken per instance
    deadlocks: int = 0
    deadlock: bytes | None = None  # the smallest state of the level with no enabled step
    type_error: tuple[bytes, int] | None = None
    routed: int = 0  # successors sent (duplicates included)


class Partition:
    """One partition of the states (a Ray actor): a compiled store of the states it owns, each with its
    parent's global id, and the range of ids that is its part of the current level."""

    def __init__(self, recipe: Recipe, index: int, parts: int) -> None:
        self.spec = recipe.build()
        self.library = native.load(self.spec)
        self.lib = self.library.lib
        self.handle = native._Handle(self.library)
        self.index, self.parts = index, parts
        self.sbytes = int(self.lib.nc_state_bytes())
        self.rbytes = int(self.lib.nc_part_record_bytes())
        self.ninv = len(self.spec.invariants)
        self.ninst = len(self.spec.instances())
        self.level = (0, 0)  # the ids of the current level

    def ping(self) -> int:
        return self.index

    def insert(self, *blobs: bytes) -> tuple[int, list[bytes | None], list[int]]:
        """Store the new states among the routed successors sent here (in source order); they are the
        next level: how many, per invariant the smallest new state that violates it (or None), and per
        instance how many new states it led to (which step came first is the order of the batches)."""
        before = int(self.lib.nc_part_count(self.handle.ptr))
        per_inst = (I64 * max(1, self.ninst))()
        for blob in blobs:
            n = len(blob) // self.rbytes
            if n and self.lib.nc_part_insert(self.handle.ptr, n, blob, per_inst) < 0:
                raise MemoryError(f"partition {self.index}: out of memory storing states")
        after = int(self.lib.nc_part_count(self.handle.ptr))
        self.level = (before, after)
        bad: list[bytes | None] = [None] * self.ninv
        if after > before and self.ninv:
            first = (I64 * self.ninv)()
            self.lib.nc_part_check(self.handle.ptr, before, after, first)
            bad = [None if first[k] < 0 else self._get(first[k])[0] for k in range(self.ninv)]
        return after - before, bad, list(per_inst[: self.ninst])

    def expand(self) -> tuple[Any, ...]:
        """Expand this partition's part of the level: the level report, then one blob of routed
        successors per partition."""
        stats, per_inst = (I64 * 5)(), (I64 * max(1, self.ninst))()
        from_, to = self.level
        if self.lib.nc_part_expand(self.handle.ptr, from_, to, self.index, self.parts, stats, per_inst) < 0:
            raise MemoryError(f"partition {self.index}: out of memory expanding {to - from_} states")
        rep = _Level(generated=stats[0], per_inst=list(per_inst[: self.ninst]), deadlocks=stats[1])
        if stats[2] >= 0:
            rep.deadlock = self._get(stats[2])[0]
        if stats[3] >= 0:
            rep.type_error = (self._get(stats[3])[0], int(stats[4]))
        blobs = []
        for d in range(self.parts):
            n = int(self.lib.nc_part_routed_len(self.handle.ptr, d))
            buf = (U8 * max(1, n * self.rbytes))()
            if n:
                self.lib.nc_part_routed(self.handle.ptr, d, buf)
            blobs.append(bytes(buf)[: n * self.rbytes])
            rep.routed += n
        return (rep, *blobs)

    def _get(self, sid: int) -> tuple[bytes, int, int]:
        packed, gparent, inst = (U8 * self.sbytes)(), ctypes.c_uint64(), I32()
        self.lib.nc_part_get(self.handle.ptr, sid, packed, ctypes.byref(gparent), ctypes.byref(inst))
        return bytes(packed), int(gparent.value), int(inst.value)

    def get(self, sid: int) -> tuple[bytes, int, int]:
        """State ``sid`` of this partition: packed, its parent's global id, the instance into it."""
        return self._get(sid)

    def find(self, packed: bytes) -> int:
        """The id of a packed state this partition owns (a counterexample's last state)."""
        sid = int(self.lib.nc_part_find(self.handle.ptr, packed))
        if sid < 0:
            raise KeyError(f"partition {self.index} does not hold the state asked for")
        return sid

    def stored_bytes(self) -> int:
        return int(self.lib.nc_part_bytes(self.handle.ptr))


def explore_cluster(
    recipe: Recipe,
    opts: Options | None = None,
    workers: int = 2,
    address: str | None = None,
    progress: Callable[[str], None] | None = None,
    on_started: Callable[[list], None] | None = None,
) -> Result:
    """Explore the spec of ``recipe`` on a Ray cluster of ``workers`` partitions: a local one started
    here (``ray.init`` with that many CPUs) or the running cluster at ``address`` (or the one this
    process already joined). ``on_started`` gets the partitions' actor handles once they are up (the
    fault test kills one)."""
    opts = opts or Options()
    if opts.max_states is not None:
        raise SpecError("--max-states is not supported on a cluster (a whole level is the unit of work)")
    if opts.keep_graph:
        raise SpecError("liveness needs the state graph, which the cluster search does not keep")
    import ray  # a dependency of this engine only

    spec = recipe.build()
    invs = spec.invariants if opts.invariants is None else [spec.invariant_named(n) for n in opts.invariants]
    checked = {spec.invariants.index(p) for p in invs}
    started_here = not ray.is_initialized()
    try:
        if started_here:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
            else:
                ray.init(
                    num_cpus=workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
        return _search(ray, recipe, spec, opts, checked, workers, progress, on_started)
    finally:
        if started_here:
            ray.shutdown()


def _search(
    ray: Any,
    recipe: Recipe,
    spec: Spec,
    opts: Options,
    checked: set[int],
    workers: int,
    progress: Callable[[str], None] | None,
    on_started: Callable[[list], None] | None,
) -> Result:
    actor = ray.remote(num_cpus=1, max_restarts=0)(Partition)
    parts = [actor.remote(recipe, k, workers) for k in range(workers)]

    def get(refs: Any, what: str) -> Any:
        try:
            return ray.get(refs)
        except ray.exceptions.RayActorError as e:
            dead = _dead_partition(ray, parts)
            raise ClusterError(
                f"{what}: partition {dead} died ({type(e).__name__}); the search is incomplete"
            ) from None
        except ray.exceptions.RayTaskError as e:
            raise ClusterError(
                f"{what}: a partition failed: {str(e.cause) or type(e.cause).__name__}"
            ) from None

    get([p.ping.remote() for p in parts], "starting the partitions")
    if on_started is not None:
        on_started(parts)
    t0 = time.monotonic()
    # the driver packs the initial states with its own copy of the library (the same code as nc_run)
    library = native.load(spec)
    handle = native._Handle(library)
    inits = spec.init_states()
    sb = int(library.lib.nc_state_bytes())
    leaves = [v for s in inits for v in flatten(spec, s)]
    packed, kept = (U8 * max(1, sb * len(inits)))(), (I8 * max(1, len(inits)))()
    library.lib.nc_pack(handle.ptr, len(inits), (I32 * max(1, len(leaves)))(*leaves), packed, kept)
    data = bytes(packed)
    rb = int(library.lib.nc_part_record_bytes())
    seeds = [bytearray() for _ in range(workers)]
    initial = (2**64 - 1).to_bytes(8, "little") + (-1).to_bytes(4, "little", signed=True)
    for i in range(len(inits)):
        if kept[i]:
            s = data[i * sb : (i + 1) * sb]
            seeds[library.lib.nc_part_owner(s, workers)] += s + initial[: rb - sb]
    insts = spec.instances()
    res = Result(spec, store=None)  # type: ignore[arg-type] - the states stay in the partitions
    res.generated = len(inits)
    res.coverage = {a.name: [0, 0] for a in spec.actions}
    found: dict[str, tuple[int, bytes]] = {}  # property -> (level, smallest state at that level)
    reports = get(
        [p.insert.remote(bytes(seeds[k])) for k, p in enumerate(parts)], "storing the initial states"
    )
    level = 0
    while True:
        new = sum(r[0] for r in reports)
        if new == 0:
            break
        for r in reports:
            for inst, n in zip(insts, r[2], strict=True):
                res.coverage[inst.action.name][1] += n
        res.layers.append(new)
        res.distinct += new
        _note_violations(found, spec, checked, reports, level)
        if found and opts.stop_on_first:
            res.stopped = "violation"
            break
        if opts.max_depth is not None and len(res.layers) >= opts.max_depth:
            res.stopped = "max-depth"
            break
        if opts.max_seconds is not None and time.monotonic() - t0 >= opts.max_seconds:
            res.stopped = "max-seconds"
            break
        outs = [p.expand.options(num_returns=workers + 1).remote() for p in parts]
        levels = get([o[0] for o in outs], f"expanding level {level}")
        for rep in levels:
            if rep.type_error is not None:
                state, inst = rep.type_error
                native.raise_type_error(spec, _decode(spec, library, state), inst)
            res.generated += rep.generated
            res.deadlocks += rep.deadlocks
            for inst, n in zip(insts, rep.per_inst, strict=True):
                res.coverage[inst.action.name][0] += n
        dead = [rep.deadlock for rep in levels if rep.deadlock is not None]
        if opts.check_deadlock and dead and DEADLOCK not in found:
            found[DEADLOCK] = (level, min(dead))
        if found.get(DEADLOCK, (-1,))[0] == level and opts.stop_on_first:
            res.stopped = "violation"
            break
        reports = get(
            [p.insert.remote(*[o[1 + k] for o in outs]) for k, p in enumerate(parts)],
            f"inserting level {level + 1}",
        )
        level += 1
        if progress is not None:
            progress(
                f"Progress({len(res.layers)}): {res.generated} states generated, {res.distinct} distinct"
            )
    res.seconds = time.monotonic() - t0
    for name in sorted(found, key=lambda n: (found[n][0], n)):
        trace = _trace(spec, library, parts, found[name][1], get)
        doc = (
            "a reachable state with no enabled action" if name == DEADLOCK else spec.invariant_named(name).doc
        )
        res.violations.append(Violation(name, trace, doc))
    res.cluster_workers = workers  # type: ignore[attr-defined] - for describe_engine
    return res


def _note_violations(
    found: dict[str, tuple[int, bytes]], spec: Spec, checked: set[int], reports: list, level: int
) -> None:
    for k in sorted(checked):
        name = spec.invariants[k].name
        bad = [r[1][k] for r in reports if r[1][k] is not None]
        if bad and name not in found:
            found[name] = (level, min(bad))


def _dead_partition(ray: Any, parts: list) -> str:
    for k, p in enumerate(parts):
        try:
            ray.get(p.ping.remote(), timeout=5)
        except Exception:  # noqa: BLE001 - any failure names this partition
            return str(k)
    return "?"


def _decode(spec: Spec, library: Any, packed: bytes) -> Any:
    leaves = library.program.leaves
    out = (I32 * max(1, len(leaves)))()
    library.lib.nc_unpack(packed, out)
    return unflatten(spec, leaves, list(out))


def _trace(spec: Spec, library: Any, parts: list, last: bytes, get: Any) -> Trace:
    """The path to ``last`` (a state of the level being looked at) through the partitions' parent
    links, replayed through the spec's own steps: each must be a successor of the one before, a check
    of the whole cluster path."""
    home = int(library.lib.nc_part_owner(last, len(parts)))
    sid = get(parts[home].find.remote(last), "reading a counterexample")
    chain: list[tuple[bytes, int]] = []
    while True:
        packed, gparent, inst = get(parts[home].get.remote(sid), "reading a counterexample")
        chain.append((packed, inst))
        if inst < 0:
            break
        home, sid = gparent >> GID_BITS, gparent & ((1 << GID_BITS) - 1)
    chain.reverse()
    insts = spec.instances()
    states = [_decode(spec, library, s) for s, _ in chain]
    steps = [None if i < 0 else insts[i] for _, i in chain]
    for k in range(1, len(states)):
        if not any(i is steps[k] and t == states[k] for i, t in successors(spec, states[k - 1])):
            raise ClusterError(
                f"the cluster's trace leaves the spec at step {k} ({steps[k].label}): engine bug"
            )
    return Trace(spec, states, steps)
