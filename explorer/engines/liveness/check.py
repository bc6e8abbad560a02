"""Fair-cycle search on the explored state graph: ``P ~> Q``, ``[]<>P`` and ``<>[]P`` under WF/SF.

The semantics are TLC's, stated here once so that a verdict can be read without the code:

* Behaviours are infinite. Every state may stutter (``[Next]_vars``), so every state carries an implicit
  self-loop that takes no action; a state with no successor stutters forever. Hence every strongly
  connected component (SCC) of the graph, a single state included, contains a cycle.
* Fairness is about ``<A>_vars`` steps, as in TLA+'s ``WF_vars(A)`` / ``SF_vars(A)``: an action instance
  is *enabled* in state s iff the explored graph has an edge of that instance from s to a *different*
  state, and it is *taken* on a cycle iff the cycle uses such an edge. An instance whose only step from s
  is a self-loop is therefore not enabled there (its step would change no variable).
  Enabledness is read from the whole graph, not from the sub-graph being searched: an action that would
  leave the ``~Q`` region is still enabled inside it, and a cycle that never takes it is unfair.
  Successors cut off by a state constraint are not in the graph, so they do not enable anything.
* An infinite path ending in a cycle C is fair iff for every WF instance A: A is disabled in some state of
  C or taken on C; and for every SF instance A: A is disabled in every state of C or taken on C.
* ``Fairness(params=None)`` gives every instance of the action its own condition (``\\A c: WF(A(c))``);
  explicit params that name only some of the action's parameters do the same for the matching instances.
* The environment (``Spec.environment``: prog runs starting, user syscalls, ...) is never fair, and a
  cycle that takes one of its actions is the environment repeating for ever, not the design hanging: a
  property is *violated* only by a fair cycle that takes no environment step (the path to the cycle may
  take any). When the only fair cycles repeat the environment (an endless storm of prog runs starving a
  kernel step), the property holds and the verdict carries that lasso as ``storm``, reported apart.

Properties:
* ``P ~> Q`` fails iff from a reachable ``P /\\ ~Q`` state a fair infinite path stays in ``~Q`` forever.
* ``[]<>P`` fails iff a reachable fair cycle lies entirely in ``~P``.
* ``<>[]P`` fails iff a reachable fair cycle contains a ``~P`` state.
* ``<>P`` fails iff from an initial ``~P`` state a fair infinite path stays in ``~P`` forever (leads-to
  with the initial states as the P states).
* A formula of ``[]<>P`` and ``<>[]P`` under Boolean connectives (``spec/temporal.py``) fails iff its
  negation, in disjunctive normal form, has a disjunct that some reachable fair cycle satisfies: a cycle
  inside every ``<>[]`` predicate of the disjunct that visits a state of every ``[]<>`` one (a fair
  component holding a state of each has a fair cycle through all of them).

How: ``graph.py`` finds the fair components (SCCs, refined for strong fairness), ``lasso.py``
builds a counterexample through one. This file states the semantics and checks the properties.
"""

from __future__ import annotations

import functools
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from explorer.engines.bfs import Result, Trace
from explorer.engines.compiled.engine import graph_core
from explorer.engines.liveness.graph import _build_csr, _Cond, _reach_not_q, _Search, _select
from explorer.engines.liveness.lasso import _lasso
from spec.lang import Fairness, Instance, Spec, SpecError, Temporal
from spec.temporal import Literal, violations

_NOT = bytes([1, 0]) + bytes(254)  # bytes.translate table: 0 -> 1, 1 -> 0

KINDS = ("leadsto", "alwayseventually", "eventuallyalways", "eventually", "formula")
_FORMULAS = {
    "leadsto": "P ~> Q",
    "alwayseventually": "[]<>P",
    "eventuallyalways": "<>[]P",
    "eventually": "<>P",
}


@dataclass
class LivenessVerdict:
    """The outcome of one temporal property, with the fairness it was checked under."""

    name: str
    kind: str  # one of KINDS
    holds: bool
    fairness: list[str]  # e.g. ["WF_vars(Drain(c=CPU0))"]; empty means no fairness was assumed
    trace: Trace | None = None  # a fair lasso that violates the property, when it does not hold
    doc: str = ""
    seconds: float = 0.0
    components: int = 0  # SCCs examined, refinements included (a measure of the work done)
    region: int = 0  # states in the searched sub-graph (~Q reachable from P/\~Q, ~P, or all)
    environment: list[str] | None = None  # actions a violating cycle may not take (None: every one may)
    storm: Trace | None = None  # a fair lasso whose cycle repeats the environment, when that is all there is
    shown: str = ""  # a nested formula, its predicates named P1, P2, ... (kind "formula")

    @property
    def formula(self) -> str:
        return self.shown if self.kind == "formula" else _FORMULAS[self.kind]


def fairness_conditions(spec: Spec, fairness: Sequence[Fairness] | None = None) -> list[str]:
    """The per-instance fairness conditions, as printed in a verdict (``WF_vars(A(c=CPU0))``)."""
    return [c.label for c in _conditions(spec, spec.fairness if fairness is None else fairness)]


def _conditions(spec: Spec, fairness: Sequence[Fairness]) -> list[_Cond]:
    insts = spec.instances()
    out: list[_Cond] = []
    seen: set[tuple[str, int]] = set()
    for f in fairness:
        if f.kind not in ("WF", "SF"):
            raise SpecError(f"spec {spec.name}: fairness kind {f.kind!r} is not WF or SF")
        action = next((a for a in spec.actions if a.name == f.action), None)
        if action is None:
            known = ", ".join(a.name for a in spec.actions) or "none"
            raise SpecError(f"spec {spec.name}: {f.kind} names unknown action {f.action} (known: {known})")
        want: dict[str, Any] = {}
        for k, v in f.params or ():
            if k not in action.params:
                raise SpecError(f"spec {spec.name}: {f.kind}({f.action}) names unknown parameter {k}")
            t = action.param_types.get(k)
            # Accept an Enum value by name (c="CPU0") as well as by index (c=0).
            if isinstance(v, str) and t is not None and hasattr(t, "names") and v in t.names:
                v = t.names.index(v)
            want[k] = v
        unknown = [k for k in f.over if k not in action.params]
        if unknown:
            raise SpecError(
                f"spec {spec.name}: {f.kind}({f.action}) over names unknown parameter(s) {unknown}"
            )
        matched = [i for i in insts if i.action is action and all(i.args[k] == v for k, v in want.items())]
        if not matched:
            shown = ", ".join(f"{k}={v!r}" for k, v in want.items())
            raise SpecError(f"spec {spec.name}: {f.kind}({f.action}({shown})) matches no action instance")
        # one condition per value of the parameters outside over: \A c : SF_vars(\E S : A(c, S))
        groups: dict[tuple, list[Instance]] = {}
        for i in matched:
            groups.setdefault(tuple(v for k, v in i.args.items() if k not in f.over), []).append(i)
        for members in groups.values():
            key = (f.kind, tuple(i.index for i in members), f.where)
            if key in seen:  # the same condition declared twice is one condition
                continue
            seen.add(key)
            out.append(_Cond(f.kind, key[1], _label(f, members[0]), f.where))
    return out


def _label(f: Fairness, inst: Instance) -> str:
    """WF_vars(A(c=CPU0)), or with over and where: SF_vars(\\E S : A(c=c1, S) /\\ where's name)."""
    if not f.over and f.where is None:
        return f"{f.kind}_vars({inst.label})"
    args = []
    for k, v in inst.args.items():
        t = inst.action.param_types.get(k)
        args.append(k if k in f.over else f"{k}={t.show(v) if t is not None else v}")
    step = f"{inst.action.name}({', '.join(args)})" if args else inst.action.name
    if f.where is not None:
        step += f" /\\ {f.where.__name__}"
    return f"{f.kind}_vars(\\E {', '.join(f.over)} : {step})" if f.over else f"{f.kind}_vars({step})"


def edge_filters(result: Result, search: _Search, conds: Sequence[_Cond]) -> dict[int, bytearray]:
    """For each condition with a where filter, its steps among the graph's edges (1): an edge of one of
    its instances from a state where the filter is true for that instance's arguments."""
    out: dict[int, bytearray] = {}
    insts = result.spec.instances()
    g, states = search.g, result.store.states
    for ci, c in enumerate(conds):
        if c.where is None:
            continue
        members, ok = set(c.insts), bytearray(len(g.dst))
        for v in range(g.n):
            s = None
            for e in range(g.off[v], g.off[v + 1]):
                i = g.inst[e]
                if i not in members:
                    continue
                s = states[v] if s is None else s
                r = c.where(s, **insts[i].args)
                if r is not True and r is not False:
                    raise SpecError(f"fairness {c.label}: where returned {type(r).__name__}, not a Boolean")
                ok[e] = r
        out[ci] = ok
    return out


def _eval(pred: Callable[[Any], Any], states: Sequence[Any], what: str) -> bytearray:
    """pred over every stored state, as a 0/1 array indexed by state id (in C when the store is the
    compiled engine's and pred was compiled with it)."""
    evaluate = getattr(states, "evaluate", None)
    fast = evaluate(pred) if evaluate is not None else None
    if fast is not None:
        return fast
    out = bytearray(len(states))
    for sid, s in enumerate(states):
        r = pred(s)
        if r is True:
            out[sid] = 1
        elif r is not False:
            raise SpecError(f"{what} returned {type(r).__name__}, not a Boolean")
    return out


def _require_graph(result: Result) -> None:
    if result.graph is None:
        raise ValueError("liveness checking needs the state graph: explore with Options(keep_graph=True)")
    if not result.exhausted:
        raise ValueError(
            f"liveness checking needs the whole state space, but the search stopped early "
            f"({result.stopped}); explore with Options(check_deadlock=False) if terminal states are "
            "expected, and stop_on_first=False to keep going past invariant violations"
        )


def check_liveness(
    result: Result,
    props: Sequence[str | Temporal] | None = None,
    fairness: Sequence[Fairness] | None = None,
    impl: str = "auto",
    environment: bool = True,
) -> list[LivenessVerdict]:
    """Check temporal properties on an exhausted search with ``keep_graph=True``.

    ``props``: property names or Temporal objects (default: all of ``result.spec.properties``).
    ``fairness``: overrides ``spec.fairness`` (default: the spec's own fairness).
    ``impl``: "c" runs the graph algorithms compiled (``graph_core.c``), "python" the reference code
    below; "auto" is "c" where a C compiler exists. Both give the same verdicts, counts and lassos.
    ``environment``: a violating cycle takes no action of ``spec.environment`` (False: any cycle counts,
    as TLC does).
    """
    if impl not in ("auto", "c", "python"):
        raise ValueError(f"check_liveness: impl must be auto, c or python, not {impl!r}")
    core = None if impl == "python" else graph_core()
    if impl == "c" and core is None:
        raise ValueError("check_liveness: impl='c' needs a C compiler")
    _require_graph(result)
    spec = result.spec
    chosen: list[Temporal] = []
    for p in spec.properties if props is None else props:
        if isinstance(p, Temporal):
            chosen.append(p)
            continue
        t = next((x for x in spec.properties if x.name == p), None)
        if t is None:
            known = ", ".join(x.name for x in spec.properties) or "none"
            raise ValueError(f"spec {spec.name}: no temporal property named {p} (known: {known})")
        chosen.append(t)
    for t in chosen:
        if t.kind not in KINDS:
            raise ValueError(
                f"property {t.name}: unknown kind {t.kind!r} (expected one of {', '.join(KINDS)})"
            )
        if t.kind == "leadsto" and t.q is None:
            raise ValueError(f"property {t.name}: leads-to needs a Q predicate")
        if (t.kind == "formula") != (t.formula is not None):
            raise ValueError(f"property {t.name}: a formula is the kind 'formula' and the kind is one")
    conds = _conditions(spec, spec.fairness if fairness is None else fairness)
    labels = [c.label for c in conds]
    if not chosen:
        return []
    search = _Search(_build_csr(result, core), conds, len(spec.instances()), core)
    search.filtered = edge_filters(result, search, conds)
    skip = environment_mask(spec, conds) if environment else None
    return [
        _check_formula(result, search, t, labels, skip)
        if t.kind == "formula"
        else _check_one(result, search, t, labels, skip)
        for t in chosen
    ]


def environment_mask(spec: Spec, conds: Sequence[_Cond]) -> bytearray | None:
    """1 for every action instance of the spec's environment (None without one). An environment action
    must exist and must not be fair: a fair one would make the environment part of the design."""
    if not spec.environment:
        return None
    names = {a.name for a in spec.actions}
    unknown = [a for a in spec.environment if a not in names]
    if unknown:
        raise SpecError(f"spec {spec.name}: environment names unknown action(s) {', '.join(unknown)}")
    insts = spec.instances()
    fair = sorted({insts[i].action.name for c in conds for i in c.insts} & set(spec.environment))
    if fair:
        raise SpecError(f"spec {spec.name}: environment action(s) {', '.join(fair)} are declared fair")
    return bytearray(i.action.name in spec.environment for i in insts)


def _check_one(
    res: Result, search: _Search, prop: Temporal, labels: list[str], skip: bytearray | None
) -> LivenessVerdict:
    t0 = time.monotonic()
    store = res.store
    states = store.states
    n = len(states)
    g = search.g
    examined0 = search.examined
    assert prop.p is not None
    p = _eval(prop.p, states, f"property {prop.name}: P")
    # For leads-to, pred_state/pred_inst link each ~Q state back towards its P /\ ~Q source (-1 at a
    # source, whose own prefix comes from the BFS parent links).
    pred_state: array | None = None
    pred_inst: array | None = None
    required: bytearray | None = None
    if prop.kind == "leadsto":
        assert prop.q is not None
        q = _eval(prop.q, states, f"property {prop.name}: Q")
        nodes, dist, pred_state, pred_inst = _reach_not_q(res, g, p, q, search.core)
    elif prop.kind == "eventually":  # leads-to from the initial states
        initial = bytearray(parent < 0 for parent in store.parent)
        nodes, dist, pred_state, pred_inst = _reach_not_q(res, g, initial, p, search.core)
    elif prop.kind == "alwayseventually":
        nodes = _select(search.core, n, p, 0)
        dist = None
    else:
        nodes = _select(search.core, n, None, 0)
        required = p.translate(_NOT)
        dist = None
    fair, storms = _hangs_and_storms(
        search, skip, lambda: search.fair_components(nodes, required) if nodes else []
    )
    env = None if skip is None else [a for a in res.spec.environment]
    verdict = LivenessVerdict(
        prop.name, prop.kind, not fair, list(labels), None, prop.doc, 0.0, 0, len(nodes), env
    )
    if fair:
        search.skip = skip  # its cycle walks no environment step
        verdict.trace = _shortest_lasso(res, search, fair, required, dist, pred_state, pred_inst)
    elif storms:  # no hang of the design, but one when the environment repeats for ever
        verdict.storm = _shortest_lasso(res, search, storms, required, dist, pred_state, pred_inst)
    search.skip = None
    verdict.components = search.examined - examined0
    verdict.seconds = time.monotonic() - t0
    return verdict


def _check_formula(
    res: Result, search: _Search, prop: Temporal, labels: list[str], skip: bytearray | None
) -> LivenessVerdict:
    """A nested formula (see the module docstring): each disjunct of its negation is searched as
    ``[]<>P`` and ``<>[]P`` are, the "stays" literals restricting the states and the "visits" ones each
    required in the cycle's component; the counterexample is the shallowest over all disjuncts."""
    t0 = time.monotonic()
    states = res.store.states
    n = len(states)
    examined0 = search.examined
    preds = prop.formula.predicates()
    masks = {id(p): _eval(p, states, f"property {prop.name}: P{k}") for k, p in enumerate(preds, 1)}
    names = {id(p): f"P{k}" for k, p in enumerate(preds, 1)}
    shown = prop.formula.text(lambda p: names[id(p)])

    def mask(lit: Literal) -> bytearray:
        m = masks[id(lit.pred)]
        return m.translate(_NOT) if lit.negated else m

    found: list[tuple[int, list[int], list[bytearray]]] = []  # (entry, component, visits), violations
    storms: list[tuple[int, list[int], list[bytearray]]] = []
    region = 0
    for conj in violations(prop.formula):
        stays = [mask(lit) for lit in conj if lit.kind == "stays"]
        visits = [mask(lit) for lit in conj if lit.kind == "visits"]
        inside = None if not stays else _all_of(stays, n)
        nodes = _select(search.core, n, inside, 1)
        region = max(region, len(nodes))
        hangs, with_env = _hangs_and_storms(
            search, skip, functools.partial(_cycles_visiting, search, nodes, visits)
        )
        found += hangs
        storms += with_env
    verdict = LivenessVerdict(
        prop.name, "formula", not found, list(labels), None, prop.doc, 0.0, 0, region,
        None if skip is None else list(res.spec.environment), None, shown,
    )  # fmt: skip
    if found:
        search.skip = skip
        entry, comp, visits = min(found, key=lambda x: x[0])
        verdict.trace = _lasso(res, search, comp, entry, None, None, visits)
    elif storms:
        entry, comp, visits = min(storms, key=lambda x: x[0])
        verdict.storm = _lasso(res, search, comp, entry, None, None, visits)
    search.skip = None
    verdict.components = search.examined - examined0
    verdict.seconds = time.monotonic() - t0
    return verdict


def _hangs_and_storms(
    search: _Search, skip: bytearray | None, find: Callable[[], list[Any]]
) -> tuple[list[Any], list[Any]]:
    """``find()``'s fair cycles under the environment rule: those that take no environment step (the
    design hangs) and, where there are none, those that do (a storm: the environment repeating).

    With an environment, the graph with its steps is searched first: a fair cycle without them is
    a fair cycle with them (the environment's steps are never fair, so they change no condition's
    enabledness), so where that search finds none, as for most properties that hold, there is
    neither a hang nor a storm and the search without them is not needed (half the liveness time
    of the largest cells). Where it finds some, the search without them says which of the two.
    ``search.skip`` is None on return."""
    search.skip = None
    storms = find() if skip is not None else []
    hangs: list[Any] = []
    if skip is None or storms:
        search.skip = skip
        hangs = find()
        search.skip = None
    return hangs, ([] if hangs else storms)


def _cycles_visiting(
    search: _Search, nodes: Sequence[int], visits: list[bytearray]
) -> list[tuple[int, list[int], list[bytearray]]]:
    """The fair components within nodes that hold a state of every visits set, each as (its smallest
    state in the first set, the component, visits)."""
    required = visits[0] if visits else None
    comps = search.fair_components(nodes, required) if nodes else []
    return [
        (min(v for v in c if required is None or required[v]), c, visits)
        for c in comps
        if all(any(m[v] for v in c) for m in visits[1:])
    ]


def _all_of(masks: Sequence[bytearray], n: int) -> bytearray:
    """The states in every mask (each 0/1 per state)."""
    both = int.from_bytes(masks[0], "little")
    for m in masks[1:]:
        both &= int.from_bytes(m, "little")
    return bytearray(both.to_bytes(n, "little"))


def _shortest_lasso(
    res: Result,
    search: _Search,
    fair: list[list[int]],
    required: bytearray | None,
    dist: Any,
    pred_state: array | None,
    pred_inst: array | None,
) -> Trace:
    """The counterexample with the shortest prefix: states are numbered in BFS order, so for the last two
    kinds the smallest id is the shallowest; for leads-to dist counts the detour through P /\\ ~Q. Its
    cycle walks only the edges the search walks (no environment step in a kernel-only search)."""
    best: tuple[int, int, list[int]] | None = None
    for comp in fair:
        cands = comp if required is None else [v for v in comp if required[v]]
        entry = min(cands, key=(lambda v: (dist[v], v)) if dist is not None else None)
        key = (dist[entry] if dist is not None else entry, entry)
        if best is None or key < best[:2]:
            best = (key[0], key[1], comp)
    assert best is not None
    entry, comp = best[1], best[2]
    return _lasso(res, search, comp, entry, pred_state, pred_inst)
