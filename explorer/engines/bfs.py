"""Breadth-first explicit-state search over a Spec, with TLC's distinct states and depth.

* distinct states: states stored (initial states included);
* states generated: initial states plus one successor per enabled step (each ``when`` an action
  instance returns whose guard is true), duplicates and self-loops included. This is TLC's count
  where each step is one disjunct of the TLA+ action and each parameter value one witness of its
  ``\\E``; TLC counts more where a guard holds a disjunction or an existential with several true
  disjuncts or witnesses (it makes a successor per each), which ``or_``/``any_`` count once, except
  in a spec with ``counting="tlc"``, where each step counts as its guard's multiplicity
  (``tlc_count.py``);
* depth: the number of states on the longest shortest path (an initial state alone is depth 1).

Level-by-level search means the first violation found is at the minimal depth, so its parent-link
trace is a shortest counterexample.
"""

from __future__ import annotations

import bisect
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from explorer.engines.store import NO_PARENT, StateStore
from spec.lang import Instance, Spec, SpecError, Step

DEADLOCK = "Deadlock"


@dataclass
class Options:
    check_deadlock: bool = True
    stop_on_first: bool = True
    max_states: int | None = None
    max_seconds: float | None = None
    max_depth: int | None = None  # explore only states at most this many states from Init (depth as counted)
    progress_every: float = 5.0
    keep_graph: bool = False
    invariants: list[str] | None = None  # names to check; None means all of the spec's
    # with stop_on_first False: stop once every checked invariant (and deadlock, if checked) is violated,
    # each with its shortest trace (the kernel-configuration runs need no more)
    stop_when_all_found: bool = False
    # compiled engine only: the C compiler's optimisation level. -O2 searches fastest; -O1 builds in
    # about 60% of its time and searches about 10% slower (the matrix's cells, most of them small);
    # -O0 builds in a quarter of it and searches half as fast (its kernel-configuration runs of a
    # cell known to be small). Measured in engine.py's CFLAGS comment.
    optimize: int = 2


@dataclass
class Trace:
    """A path of states; steps[i] is the instance that led to states[i] (None for the initial state)."""

    spec: Spec
    states: list[Any]
    steps: list[Instance | None]
    loop: int | None = None  # for lassos: the index of the state the last step returns to
    # What the first state is: an initial state, or (a counterexample to induction) any state that
    # satisfies the invariant, reachable or not.
    start: str = "Initial predicate"


CTI_START = "arbitrary state satisfying the invariant (need not be reachable)"


@dataclass
class Violation:
    name: str  # an invariant name, or DEADLOCK
    trace: Trace
    doc: str = ""

    @property
    def depth(self) -> int:
        return len(self.trace.states)


class Graph:
    """The explored transition relation, kept only when asked (liveness, step witnesses and refinements
    need it), as compressed rows: the edges of state v are ``dst``/``inst`` [``off[v]``, ``off[v+1]``),
    in the order the search found them. Sources are expanded in id order, so the rows are built as the
    edges arrive (``add``); self-loops (stuttering steps) are kept: a step witness may be one. Both
    engines build this one form (the compiled engine's arrays are read in place, with no copy)."""

    def __init__(self, off: Any = None, dst: Any = None, inst: Any = None, owner: Any = None) -> None:
        self.off = off if off is not None else array("q", [0])
        self.dst = dst if dst is not None else array("q")
        self.inst = inst if inst is not None else array("l")
        self._owner = owner  # what keeps borrowed buffers alive (the compiled search)

    def add(self, src: int, dst: int, inst: int) -> None:
        """An edge of source src, which is the last source seen or a later one."""
        off, n = self.off, len(self.dst)
        while len(off) <= src + 1:
            off.append(n)
        self.dst.append(dst)
        self.inst.append(inst)
        off[src + 1] = n + 1

    def close(self, n: int) -> None:
        """Rows for every one of the n states (the last ones may have no edges)."""
        while len(self.off) < n + 1:
            self.off.append(len(self.dst))

    @property
    def n(self) -> int:
        return len(self.off) - 1

    def __len__(self) -> int:
        return len(self.dst)

    def source(self, e: int) -> int:
        """The state edge e leaves."""
        return bisect.bisect_right(self.off, e) - 1

    def edges(self) -> Iterator[tuple[int, int, int]]:
        """(source, destination, instance) in the order found."""
        off, dst, inst = self.off, self.dst, self.inst
        for v in range(len(off) - 1):
            for e in range(off[v], off[v + 1]):
                yield v, dst[e], inst[e]


@dataclass
class Result:
    spec: Spec
    store: StateStore
    distinct: int = 0
    generated: int = 0
    layers: list[int] = field(default_factory=list)
    coverage: dict[str, list[int]] = field(default_factory=dict)  # action -> [generated, distinct]
    violations: list[Violation] = field(default_factory=list)
    stopped: str | None = (
        None  # None: exhausted; else "violation", "max-states", "max-seconds", "interrupted"
    )
    seconds: float = 0.0
    queue_left: int = 0
    graph: Graph | None = None
    deadlocks: int = 0

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def exhausted(self) -> bool:
        """True when every reachable state was explored (no limit, interrupt or early stop)."""
        return self.stopped is None

    def violation(self, name: str) -> Violation | None:
        for v in self.violations:
            if v.name == name:
                return v
        return None

    def trace_to(self, sid: int) -> Trace:
        insts = self.spec.instances()
        path = self.store.path_to(sid)
        steps: list[Instance | None] = [
            None if self.store.via[i] < 0 else insts[self.store.via[i]] for i in path
        ]
        return Trace(self.spec, [self.store.states[i] for i in path], steps)


class ModelError(SpecError):
    """The model's own code raised while the search evaluated it. ``trace`` leads to the state it was
    evaluated on (the CLI dumps it); the message names the action or invariant and that state."""

    def __init__(self, where: str, error: Exception, trace: Trace) -> None:
        what = " ".join(str(error).split()) or type(error).__name__
        depth = len(trace.states)
        super().__init__(f"{where} raised {type(error).__name__}: {what} (on the state at depth {depth})")
        self.trace = trace


def _type_checkers(spec: Spec) -> dict[str, Callable[[Any], bool]]:
    return {v.name: v.type.contains for v in spec.variables}


def explore(spec: Spec, opts: Options | None = None, progress: Callable[[str], None] | None = None) -> Result:
    """Explore every state reachable from Init; see the module docstring for what is counted."""
    opts = opts or Options()
    if progress is None:

        def progress(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    store = StateStore()
    res = Result(spec, store, graph=Graph() if opts.keep_graph else None)
    insts = spec.instances()
    names = spec.var_names
    pos = {n: i for i, n in enumerate(names)}
    checkers = _type_checkers(spec)
    new_state = tuple.__new__
    cls = spec.State
    invs = spec.invariants if opts.invariants is None else [spec.invariant_named(n) for n in opts.invariants]
    n_checked = len(invs) + (1 if opts.check_deadlock else 0)
    constraint = spec.constraint.fn if spec.constraint else None
    cov = {a.name: [0, 0] for a in spec.actions}
    res.coverage = cov
    calls = [(i.action.fn, i.args, i, cov[i.action.name]) for i in insts]
    found: set[str] = set()
    graph = res.graph
    counter = None
    if spec.counts_like_tlc():
        from explorer.engines.tlc_count import TlcCounter  # it reads the spec through Z3

        counter = TlcCounter(spec)
    t0 = time.monotonic()
    next_progress = t0 + opts.progress_every

    def check_invariants(sid: int, state: Any) -> bool:
        """Record violations of state; True if the search must stop."""
        for inv in invs:
            try:
                ok = inv.fn(state)
            except Exception as e:
                raise ModelError(f"invariant {inv.name}", e, res.trace_to(sid)) from e
            if ok is True:
                continue
            if ok is not False:
                raise SpecError(f"invariant {inv.name} returned {type(ok).__name__}, not a Boolean")
            if inv.name not in found:
                found.add(inv.name)
                res.violations.append(Violation(inv.name, res.trace_to(sid), inv.doc))
                if opts.stop_on_first or (opts.stop_when_all_found and len(found) == n_checked):
                    return True
        return False

    def finish(stopped: str | None, head: int) -> Result:
        res.stopped = stopped
        res.distinct = len(store)
        res.seconds = time.monotonic() - t0
        res.queue_left = len(store) - head
        if res.graph is not None:
            res.graph.close(len(store))
        return res

    head = 0
    level_end = 0
    limit = opts.max_states
    try:
        for s in spec.init_states():
            res.generated += 1
            if constraint is not None and constraint(s) is not True:
                continue
            sid = store.add(s, NO_PARENT, -1)
            if sid >= 0 and check_invariants(sid, s):
                res.layers.append(len(store))
                return finish("violation", 0)
        if len(store):
            res.layers.append(len(store))
        level_end = len(store)
        if opts.max_depth is not None and len(res.layers) >= opts.max_depth:
            return finish("max-depth", head)
        while head < len(store):
            if head == level_end:
                level_end = len(store)
                res.layers.append(level_end - head)
                if opts.max_depth is not None and len(res.layers) >= opts.max_depth:
                    return finish("max-depth", head)  # the deepest layer is stored and checked, not expanded
            s = store.states[head]
            sid = head
            head += 1
            enabled = False
            for fn, args, inst, c in calls:
                try:
                    r = fn(s, **args)
                except Exception as e:  # a bug in the model: name it, and keep the way to the state
                    raise ModelError(f"action {inst.label}", e, res.trace_to(sid)) from e
                mults: list[int] | None = None  # TLC counting: this instance's enabled steps' multiplicities
                for step in (r,) if type(r) is Step else _steps(inst, r):
                    g = step[0]
                    if g is not True:
                        if g is False:
                            continue
                        raise SpecError(f"action {inst.label}: guard is {type(g).__name__}, not a Boolean")
                    extra = 0  # generated beyond the step itself, counted after it (as the compiled engine)
                    if counter is not None and counter.branches[inst.index]:
                        if mults is None:
                            mults = counter.multiplicities(inst, s)
                            mults.reverse()
                        if not mults:
                            raise SpecError(f"TLC counting: {inst.label} has more steps than its Z3 reading")
                        extra = mults.pop() - 1
                    enabled = True
                    upd = step[1]
                    vals = list(s)
                    for k, v in upd.items():
                        p = pos.get(k)
                        if p is None:
                            raise SpecError(f"action {inst.label} updates unknown variable {k}")
                        if vals[p] is not v and not checkers[k](v):
                            raise SpecError(
                                f"action {inst.label} sets {k} to {v!r}, outside {spec.var_type(k)!r}"
                            )
                        vals[p] = v
                    t = new_state(cls, vals)
                    res.generated += 1
                    c[0] += 1
                    if constraint is not None and constraint(t) is not True:
                        if extra:
                            res.generated += extra
                            c[0] += extra
                        continue
                    if limit is not None and len(store) >= limit and store.id_of(t) is None:
                        _close_layers(res, len(store), level_end)  # a new state past the limit
                        return finish("max-states", head - 1)
                    tid = store.add(t, sid, inst.index)
                    if tid >= 0:
                        c[1] += 1
                        if graph is not None:
                            graph.add(sid, tid, inst.index)
                        if check_invariants(tid, t):
                            if len(store) > level_end:
                                res.layers.append(len(store) - level_end)
                            return finish("violation", head)
                    elif graph is not None:
                        graph.add(sid, -1 - tid, inst.index)
                    if extra:
                        res.generated += extra
                        c[0] += extra
            if not enabled:
                res.deadlocks += 1
                if opts.check_deadlock and DEADLOCK not in found:
                    found.add(DEADLOCK)
                    res.violations.append(
                        Violation(DEADLOCK, res.trace_to(sid), "a reachable state with no enabled action")
                    )
                    if opts.stop_on_first or (opts.stop_when_all_found and len(found) == n_checked):
                        _close_layers(res, len(store), level_end)
                        return finish("violation", head)
            if (head & 127) == 0:
                now = time.monotonic()
                if opts.max_seconds is not None and now - t0 >= opts.max_seconds:
                    _close_layers(res, len(store), level_end)
                    return finish("max-seconds", head)
                if now >= next_progress:
                    next_progress = now + opts.progress_every
                    rate = len(store) / max(now - t0, 1e-9)
                    progress(
                        f"Progress({len(res.layers)}): {res.generated} states generated, "
                        f"{len(store)} distinct, {len(store) - head} left on queue, {rate:.0f} distinct/s"
                    )
    except KeyboardInterrupt:
        _close_layers(res, len(store), level_end)
        return finish("interrupted", head)
    return finish("violation" if res.violations and opts.stop_on_first else None, head)


def _close_layers(res: Result, n: int, level_end: int) -> None:
    """Count the partly built next layer, so partial statistics cover every stored state."""
    if n > level_end:
        res.layers.append(n - level_end)


def _steps(inst: Instance, r: Any) -> Any:
    if isinstance(r, (list, tuple)):
        return r
    raise SpecError(f"action {inst.label} returned {type(r).__name__}, expected when(...) or a list of them")
