"""The breadth-first search over hash partitions of the states: the part the thread engine
(``--partitions N``, here) and the Ray cluster engine (``--cluster N``, ``explorer/engines/cluster.py``)
share (issue 22: a search that scales with cores and machines).

Each partition owns the states whose hash falls in it (``nc_part_owner``: the hash's high bits) and holds
them in its own compiled store (``search.c``'s ``nc_part_*`` entry points), each with its parent's
global id (partition, id). A level is expanded by every partition at once (the same successor code,
packing, constraint and type checks as ``nc_run``), each successor goes to its owner in one batch per
owner, then every partition inserts what it received (in source order) at once: the new states are the
next level. Levels stay breadth-first, so every violation is found at its shortest length.

What equals the one-thread engine's result: distinct, generated, the level sizes (so the depth),
deadlocks, each action's generated count, and for every property violated the length of its shortest
counterexample. A counterexample is a concrete trace (re-walked through the partitions' parent links and
replayed through the Python spec's own steps, which must produce it); which of the shortest ones is
shown is chosen deterministically (the smallest packed state at that level), so it may differ from the
one-thread engine's choice, and is the same on every run with the same number of partitions. Each
action's distinct count depends on which step first reached a state (the order of the batches): it is
reported, not compared; its total is.

Under symmetry (``symmetry=True``, the spec's declared groups) every partition stores and routes each
state's canonical representative (``canon_pack``, as ``nc_run`` does): distinct counts orbits and
generated, the levels and each violation's length equal the one-thread engine's run with symmetry, and
the trace is made concrete as that engine's is (from an initial state in the first orbit, a step into
each next orbit).

A level is the unit of work: ``--max-states N`` and ``--max-seconds`` end the run after the level in
which the states stored reached N (or the time ran out), reported as incomplete; the counts are then that
level's end, so they may exceed N (the one-thread engine stops at exactly N). Liveness and refinements
are refused in one line: they need the state graph, which no partition keeps (a lasso crosses
partitions; ``matrix --cluster`` runs such a cell whole on one worker).
"""

from __future__ import annotations

import ctypes
import resource
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from explorer.engines.bfs import DEADLOCK, Options, Result, Trace, Violation
from explorer.engines.compiled import engine as native
from explorer.engines.compiled.codegen import flatten, unflatten
from spec.lang import Spec, SpecError, successors

I8, I32, I64, U8 = ctypes.c_int8, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint8
GID_BITS = 40  # search.c: a global state id is partition << GID_BITS | its id in that partition


class PartitionError(RuntimeError):
    """The partitioned search could not finish (a partition died or failed): one line."""


@dataclass
class _Level:
    """What one partition reports for one level it expanded."""

    generated: int = 0
    per_inst: list[int] = field(default_factory=list)  # steps taken per instance
    deadlocks: int = 0
    deadlock: bytes | None = None  # the smallest state of the level with no enabled step
    type_error: tuple[bytes, int] | None = None


class Partition:
    """One partition of the states (a Ray actor): a compiled store of the states it owns, each with its
    parent's global id, and the range of ids that is its part of the current level."""

    def __init__(self, source: Any, index: int, parts: int, symmetry: bool = False) -> None:
        """``source``: the spec, or (in another process) a ``Recipe`` that builds it; ``symmetry``: store
        and route each state's canonical representative under the spec's declared symmetry."""
        self.spec = source if isinstance(source, Spec) else source.build()
        self.library = native.load(self.spec, symmetry)
        self.lib = self.library.lib
        self.handle = _handle(self.library, symmetry)
        self.index, self.parts = index, parts
        self.sbytes = int(self.lib.nc_state_bytes())
        self.rbytes = int(self.lib.nc_part_record_bytes())
        self.ninv = len(self.spec.invariants)
        self.ninst = len(self.spec.instances())
        self.level = (0, 0)  # the ids of the current level

    def ping(self) -> int:
        return self.index

    def peak_bytes(self) -> int:
        """This process's peak resident memory (Linux: ru_maxrss in KiB): a Ray actor's own, which the
        driver's statistics cannot see."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def insert(self, *batches: Any) -> tuple[int, list[bytes | None], list[int]]:
        """Store the new states among the routed successors sent here (in source order); they are the
        next level: how many, per invariant the smallest new state that violates it (or None), and per
        instance how many new states it led to (which step came first is the order of the batches). A
        batch is bytes (from another process) or (address, count) of another partition's routing buffer
        in this process (read in place: no copy)."""
        before = int(self.lib.nc_part_count(self.handle.ptr))
        per_inst = (I64 * max(1, self.ninst))()
        for batch in batches:
            where, n = (batch, len(batch) // self.rbytes) if isinstance(batch, bytes) else batch
            if n and self.lib.nc_part_insert(self.handle.ptr, n, where, per_inst) < 0:
                raise MemoryError(f"partition {self.index}: out of memory storing states")
        after = int(self.lib.nc_part_count(self.handle.ptr))
        self.level = (before, after)
        bad: list[bytes | None] = [None] * self.ninv
        if after > before and self.ninv:
            first = (I64 * self.ninv)()
            self.lib.nc_part_check(self.handle.ptr, before, after, first)
            bad = [None if first[k] < 0 else self._get(first[k])[0] for k in range(self.ninv)]
        return after - before, bad, list(per_inst[: self.ninst])

    def expand(self, copy: bool = True) -> tuple[Any, ...]:
        """Expand this partition's part of the level: the level report, then the successors routed to
        each partition: bytes (``copy``, to send to another process), or (address, count) in this
        partition's routing buffer, valid until its next expand."""
        stats, per_inst = (I64 * 5)(), (I64 * max(1, self.ninst))()
        from_, to = self.level
        if self.lib.nc_part_expand(self.handle.ptr, from_, to, self.index, self.parts, stats, per_inst) < 0:
            raise MemoryError(f"partition {self.index}: out of memory expanding {to - from_} states")
        rep = _Level(generated=stats[0], per_inst=list(per_inst[: self.ninst]), deadlocks=stats[1])
        if stats[2] >= 0:
            rep.deadlock = self._get(stats[2])[0]
        if stats[3] >= 0:
            rep.type_error = (self._get(stats[3])[0], int(stats[4]))
        batches: list[Any] = []
        for d in range(self.parts):
            n = int(self.lib.nc_part_routed_len(self.handle.ptr, d))
            where = self.lib.nc_part_routed(self.handle.ptr, d)
            if copy:
                batches.append(ctypes.string_at(where, n * self.rbytes) if n else b"")
            else:
                batches.append((where, n))
        return (rep, *batches)

    def insert_expand(self, *batches: Any) -> tuple[Any, ...]:
        """``insert`` then ``expand`` in one call (the Ray backend's one round trip a level): the insert
        report, then expand's. The driver discards the expansion where it stops at this level; an
        expansion changes no stored state, so a discarded one leaves nothing behind."""
        return (self.insert(*batches), *self.expand())

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


class Backend(Protocol):
    """Where the partitions run: each call acts on every partition at once and returns when all did. A
    backend may also offer ``insert_expand(routed, what)`` (``insert_routed`` then ``expand`` in one
    call: the Ray backend, where a call is a round trip), which ``search_levels`` then uses."""

    parts: int

    def insert(self, blobs: list[list[bytes]], what: str) -> list[tuple[int, list[bytes | None], list[int]]]:
        """Partition k inserts ``blobs[k]`` (a list of routed-successor blobs, in source order)."""

    def expand(self, what: str) -> tuple[list[_Level], Any]:
        """Every partition expands its level: the reports, and the routed batches (opaque: handed to
        ``insert_routed``)."""

    def insert_routed(self, routed: Any, what: str) -> list[tuple[int, list[bytes | None], list[int]]]:
        """Partition k inserts what every partition routed to it, in source order."""

    def find(self, k: int, packed: bytes) -> int: ...

    def get(self, k: int, sid: int) -> tuple[bytes, int, int]: ...


def _handle(library: Any, symmetry: bool) -> Any:
    """A search handle of ``library`` whose packing canonicalises under symmetry (``nc_set``'s flag; the
    other parameters are nc_run's, which a partition does not call)."""
    handle = native._Handle(library)
    if symmetry:
        library.lib.nc_set(handle.ptr, -1, -1.0, 0, 0, 0, 0, 1, 1, 1.0, native.PROGRESS(), 0, (I32 * 1)())
    return handle


def check_options(opts: Options, where: str) -> None:
    if opts.keep_graph:
        raise SpecError(f"liveness needs the state graph, which the search {where} does not keep")


def search_levels(
    spec: Spec,
    backend: Backend,
    opts: Options,
    progress: Callable[[str], None] | None = None,
    symmetry: bool = False,
) -> Result:
    """The breadth-first search over the backend's partitions (see the module docstring); ``symmetry``:
    the partitions were made with it (the initial states are packed and traces made concrete alike)."""
    parts = backend.parts
    invs = spec.invariants if opts.invariants is None else [spec.invariant_named(n) for n in opts.invariants]
    checked = sorted(spec.invariants.index(p) for p in invs)
    t0 = time.monotonic()
    # the initial states, packed by this process's copy of the library (the same code as nc_run)
    library = native.load(spec, symmetry)
    handle = _handle(library, symmetry)
    inits = spec.init_states()
    sb = int(library.lib.nc_state_bytes())
    leaves = [v for s in inits for v in flatten(spec, s)]
    packed, kept = (U8 * max(1, sb * len(inits)))(), (I8 * max(1, len(inits)))()
    library.lib.nc_pack(handle.ptr, len(inits), (I32 * max(1, len(leaves)))(*leaves), packed, kept)
    data = bytes(packed)
    seeds = [bytearray() for _ in range(parts)]
    # a routed record's tail for an initial state: no parent, no instance, hash not computed
    initial = (2**64 - 1).to_bytes(8, "little") + (-1).to_bytes(4, "little", signed=True) + bytes(8)
    for i in range(len(inits)):
        if kept[i]:
            s = data[i * sb : (i + 1) * sb]
            seeds[library.lib.nc_part_owner(s, parts)] += s + initial
    insts = spec.instances()
    res = Result(spec, store=None)  # type: ignore[arg-type] - the states stay in the partitions
    res.generated = len(inits)
    res.coverage = {a.name: [0, 0] for a in spec.actions}
    found: dict[str, tuple[int, bytes]] = {}  # property -> (level, smallest state at that level)
    try:  # Ctrl-C or SIGTERM (KeyboardInterrupt in the CLI): what the finished levels found, as nc_run
        reports = backend.insert([[bytes(b)] for b in seeds], "storing the initial states")
        # a backend whose calls are network round trips inserts a level and expands it in one call
        fused = getattr(backend, "insert_expand", None)
        expanded: tuple[list[_Level], Any] | None = None  # the fused call's expansion of the new level
        level = 0
        next_progress = t0 + opts.progress_every
        while True:
            new = sum(r[0] for r in reports)
            if new == 0:
                break
            for r in reports:
                for inst, n in zip(insts, r[2], strict=True):
                    res.coverage[inst.action.name][1] += n
            res.layers.append(new)
            res.distinct += new
            for k in checked:
                bad = [r[1][k] for r in reports if r[1][k] is not None]
                if bad and spec.invariants[k].name not in found:
                    found[spec.invariants[k].name] = (level, min(bad))
            if found and opts.stop_on_first:
                res.stopped = "violation"
                break
            if opts.max_depth is not None and len(res.layers) >= opts.max_depth:
                res.stopped = "max-depth"
                break
            if opts.max_states is not None and res.distinct >= opts.max_states:
                res.stopped = "max-states"
                break
            if opts.max_seconds is not None and time.monotonic() - t0 >= opts.max_seconds:
                res.stopped = "max-seconds"
                break
            levels, routed = expanded if expanded is not None else backend.expand(f"expanding level {level}")
            for rep in levels:
                if rep.type_error is not None:
                    state, inst = rep.type_error
                    native.raise_type_error(spec, decode(spec, library, state), inst)
                res.generated += rep.generated
                res.deadlocks += rep.deadlocks
                for inst, n in zip(insts, rep.per_inst, strict=True):
                    res.coverage[inst.action.name][0] += n
            dead = [rep.deadlock for rep in levels if rep.deadlock is not None]
            if opts.check_deadlock and dead and DEADLOCK not in found:
                found[DEADLOCK] = (level, min(dead))
                if opts.stop_on_first:
                    res.stopped = "violation"
                    break
            if fused is not None:
                reports, *expanded_now = fused(routed, f"inserting and expanding level {level + 1}")
                expanded = (expanded_now[0], expanded_now[1])
            else:
                reports = backend.insert_routed(routed, f"inserting level {level + 1}")
            level += 1
            if progress is not None and time.monotonic() >= next_progress:
                next_progress = time.monotonic() + opts.progress_every
                progress(
                    f"Progress({len(res.layers)}): {res.generated} states generated, {res.distinct} distinct"
                )
    except KeyboardInterrupt:
        res.stopped = "interrupted"
    if res.stopped is not None and res.layers:
        res.queue_left = res.layers[-1]  # the last level stored was not (wholly) expanded
    res.seconds = time.monotonic() - t0
    for name in sorted(found, key=lambda n: (found[n][0], n)):
        trace = _trace(spec, library, backend, found[name][1], handle if symmetry else None)
        doc = (
            "a reachable state with no enabled action" if name == DEADLOCK else spec.invariant_named(name).doc
        )
        res.violations.append(Violation(name, trace, doc))
    return res


def decode(spec: Spec, library: Any, packed: bytes) -> Any:
    leaves = library.program.leaves
    out = (I32 * max(1, len(leaves)))()
    library.lib.nc_unpack(packed, out)
    return unflatten(spec, leaves, list(out))


def _trace(spec: Spec, library: Any, backend: Backend, last: bytes, canon: Any = None) -> Trace:
    """The path to ``last`` through the partitions' parent links, replayed through the spec's own steps:
    each must be a successor of the one before, a check of the whole partitioned path. ``canon``: the
    symmetric search's handle; the path is then of orbits' representatives, made concrete."""
    home = int(library.lib.nc_part_owner(last, backend.parts))
    sid = backend.find(home, last)
    chain: list[tuple[bytes, int]] = []
    while True:
        packed, gparent, inst = backend.get(home, sid)
        chain.append((packed, inst))
        if inst < 0:
            break
        home, sid = gparent >> GID_BITS, gparent & ((1 << GID_BITS) - 1)
    chain.reverse()
    if canon is not None:
        return _concrete(spec, library, canon, [s for s, _ in chain])
    insts = spec.instances()
    states = [decode(spec, library, s) for s, _ in chain]
    steps = [None if i < 0 else insts[i] for _, i in chain]
    for k in range(1, len(states)):
        if not any(i is steps[k] and t == states[k] for i, t in successors(spec, states[k - 1])):
            label = steps[k].label
            raise PartitionError(f"the partitioned trace leaves the spec at step {k} ({label}): engine bug")
    return Trace(spec, states, steps)


def _concrete(spec: Spec, library: Any, handle: Any, orbits: list[bytes]) -> Trace:
    """A behaviour through the orbits whose representatives are ``orbits`` (the one-thread engine's
    ``concrete_trace``, each orbit told by its packed representative)."""

    def representative(state: Any) -> bytes:
        leaves = flatten(spec, state)
        out, kept = (U8 * int(library.lib.nc_state_bytes()))(), (I8 * 1)()
        library.lib.nc_pack(handle.ptr, 1, (I32 * max(1, len(leaves)))(*leaves), out, kept)
        return bytes(out)

    return native.concrete_trace(spec, len(orbits), lambda state, k: representative(state) == orbits[k])


# --------------------------------------------------------------------------- threads on one machine


class Threads:
    """The partitions in this process, one thread each: the C calls release the GIL (ctypes), so
    expansion and insertion run on every core at once."""

    def __init__(self, spec: Spec, parts: int, symmetry: bool = False) -> None:
        self.parts = parts
        self.partitions = [Partition(spec, k, parts, symmetry) for k in range(parts)]
        self.pool = ThreadPoolExecutor(max_workers=parts, thread_name_prefix="partition")

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _on_all(self, call: Callable[[int], Any]) -> list:
        """call(k) for every partition k at once, in order. On Ctrl-C the C calls under way cannot be
        stopped: this waits for them (the rest of their part of the level) before passing it on, so
        that nothing reads a partition while it is being written."""
        futures = [self.pool.submit(call, k) for k in range(self.parts)]
        try:
            return [f.result() for f in futures]
        except KeyboardInterrupt:
            wait(futures)
            raise

    def insert(self, blobs: list[list[bytes]], what: str) -> list:
        return self._on_all(lambda k: self.partitions[k].insert(*blobs[k]))

    def expand(self, what: str) -> tuple[list[_Level], Any]:
        out = self._on_all(lambda k: self.partitions[k].expand(copy=False))
        return [o[0] for o in out], [o[1:] for o in out]

    def insert_routed(self, routed: Any, what: str) -> list:
        return self.insert([[r[k] for r in routed] for k in range(self.parts)], what)

    def find(self, k: int, packed: bytes) -> int:
        return self.partitions[k].find(packed)

    def get(self, k: int, sid: int) -> tuple[bytes, int, int]:
        return self.partitions[k].get(sid)


def explore_partitioned(
    spec: Spec,
    opts: Options | None = None,
    parts: int = 2,
    progress: Callable[[str], None] | None = None,
    symmetry: bool = False,
) -> Result:
    """The breadth-first search over ``parts`` hash partitions of the states, one thread each
    (``symmetry``: one state per orbit of the spec's declared symmetry)."""
    opts = opts or Options()
    check_options(opts, "over partitions")
    backend = Threads(spec, parts, symmetry)
    try:
        res = search_levels(spec, backend, opts, progress, symmetry)
    finally:
        backend.close()
    res.partitions = parts  # type: ignore[attr-defined] - for describe_engine
    return res
