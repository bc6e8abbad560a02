"""Z3 backend: the same Spec as a symbolic transition relation; bounded model checking and induction.

The spec is read by *dual interpretation* (see ``spec/lang.py``): every action, invariant and the state
constraint is the very Python function BFS runs, called here with a state whose fields are Z3 terms.

Encoding (one copy of the variables per step ``k``, one Z3 constant per leaf value):

* ``Int`` leaves are ``z3.Int`` (``prog_refcnt@3``), ``Enum`` leaves bit-vectors (``ENUM_BITS``),
  ``Bool`` leaves ``z3.Bool``, and a ``Fn`` value is a tuple of leaf terms, nested for ``Fn`` of
  ``Fn`` (``flags[Item0]@3``). Per-element
  constants (not Z3 arrays) keep every formula quantifier- and array-free, and match the tuple
  representation the helpers already work on.
* ``TypeOK(s)``: every leaf is in its type's range (Z3 integers are unbounded, the spec's are not).
* ``Init(s)``: for each variable, the disjunction of its allowed initial values (Init is their product).
* ``Next(s, t)``: the disjunction, over every action instance and every step it returns, of
  ``guard(s) /\\ t = s[updates]`` (variables not updated are framed: ``t.v = s.v``).
* The state constraint, if any, holds in every state of a path: TLC discards successors that violate it
  and never expands them, so they are not reachable (and not counted).

BFS raises an error when an enabled step sets a variable outside its type; here such a step is excluded
from paths by ``TypeOK(t)``, so ``bmc`` and ``prove`` look for it explicitly and report it as
``TYPE_ERROR``, which keeps the two backends in agreement about what is reachable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import z3

from explorer.engines.bfs import CTI_START, DEADLOCK, Trace
from spec import symmetry
from spec.lang import BoolType, Enum, Fn, Instance, Int, Predicate, Spec, SpecError, Type

TYPE_ERROR = "TypeError"  # an enabled step sets a variable outside its type (BFS raises SpecError there)

# Enum leaves are bit-vectors: on the delayed_work proofs a query that took 1.2-3.2 s with Int
# leaves took 0.25-0.4 s (4 CPUs x 8 items, one SubmitEnqueue step). Values of a symmetric group
# (Spec.symmetric) get a width of their own, so a group's constants can be told apart from every
# other enum's by sort alone: the symmetry check renames them by substitution (``_renaming``).
ENUM_BITS = 8

InvariantLike = str | Predicate | Callable[[Any], Any]


# --------------------------------------------------------------------------- terms


def _fresh(type_: Type, name: str, k: int, widths: dict[int, int]) -> Any:
    """A fresh Z3 term (or nested tuple of terms for a function) for a variable of type_ at step k."""
    if isinstance(type_, Fn):
        return tuple(
            _fresh(type_.codomain, f"{name}[{type_.domain.show(i)}]", k, widths) for i in type_.domain
        )
    if isinstance(type_, BoolType):
        return z3.Bool(f"{name}@{k}")
    if isinstance(type_, Enum):
        return z3.BitVec(f"{name}@{k}", widths.get(id(type_), ENUM_BITS))
    if isinstance(type_, Int):
        return z3.Int(f"{name}@{k}")
    raise SpecError(f"variable {name}: type {type_!r} has no Z3 encoding")


@contextmanager
def _no_truth_tests() -> Iterator[None]:
    """While a spec function runs on Z3 terms, a Python truth test of a term (``if s.x == 1``, ``and``,
    ``or``, ``not``) raises instead of answering. z3's own ``__bool__`` answers an equality by comparing
    the two terms' structure (``s.x == 1`` is False for the variable ``x``), which silently drops a
    branch: BMC then misses violations and induction proves false invariants. Constant terms (True,
    False) are still allowed."""
    saved = z3.AstRef.__bool__

    def refuse(term: z3.AstRef) -> bool:
        if z3.is_true(term):
            return True
        if z3.is_false(term):
            return False
        raise z3.Z3Exception(f"Python truth test of the symbolic term {term}")

    z3.AstRef.__bool__ = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        z3.AstRef.__bool__ = saved  # type: ignore[method-assign]


def _as_bool(x: Any, what: str) -> z3.BoolRef:
    """A guard or predicate result as a Z3 Boolean; a constant Python bool is allowed (``when(True)``)."""
    if type(x) is bool:
        return z3.BoolVal(x)
    if isinstance(x, z3.BoolRef):
        return x
    raise SpecError(f"{what} is {type(x).__name__}, not a Boolean")


def _in_type(type_: Type, v: Any) -> Any:
    """v is a value of type_: a Python bool for concrete v, a Z3 term otherwise."""
    if isinstance(type_, Fn):
        if type(v) is not tuple or len(v) != len(type_.domain):
            return False
        parts = [_in_type(type_.codomain, x) for x in v]
        return z3.And([z3.BoolVal(p) if type(p) is bool else p for p in parts])
    if not isinstance(v, z3.ExprRef):
        return type_.contains(v)
    if isinstance(type_, BoolType):
        return isinstance(v, z3.BoolRef)
    if isinstance(v, z3.BoolRef) or not isinstance(v, (z3.ArithRef, z3.BitVecRef)):
        return False
    if isinstance(type_, Int):
        return z3.And(type_.lo <= v, v <= type_.hi)
    if isinstance(type_, Enum):
        return z3.ULT(v, len(type_)) if isinstance(v, z3.BitVecRef) else False
    return False


def _eq(x: Any, v: Any) -> z3.BoolRef:
    """x = v for a fresh variable term x and an update value v (a term, a Python value or a tuple)."""
    if type(x) is tuple:
        return z3.And([_eq(a, b) for a, b in zip(x, v, strict=True)])
    if isinstance(x, z3.BoolRef) and not isinstance(v, (bool, z3.BoolRef)):
        return z3.BoolVal(False)  # ill-typed value for a Bool leaf; reported as a type error
    if isinstance(x, z3.ArithRef) and isinstance(v, (bool, z3.BoolRef)):
        return z3.BoolVal(False)
    return x == v


def _leaves(value: Any) -> list[Any]:
    if type(value) is tuple:
        return [leaf for x in value for leaf in _leaves(x)]
    return [value]


def _decode(term: Any, model: z3.ModelRef) -> Any:
    if type(term) is tuple:
        return tuple(_decode(t, model) for t in term)
    v = model.eval(term, model_completion=True)
    if isinstance(term, z3.BoolRef):
        return z3.is_true(v)
    return v.as_long()


@dataclass
class _Step:
    inst: Instance
    guard: z3.BoolRef
    post: tuple  # the successor's value of every variable, in spec order
    binds: tuple = ()  # the over() cases the step was made in (spec.lang.Step.binds)
    sibling: int = 0  # its position among the instance's steps with the same binds


class Encoding:
    """The Spec's Init, TypeOK, constraint and Next as Z3 formulas over per-step state terms."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.cls = spec.State
        self.names = spec.var_names
        self.types = [v.type for v in spec.variables]
        self.pos = {n: i for i, n in enumerate(self.names)}
        self.widths: dict[int, int] = {}  # id(Enum) -> bit width, for the symmetric groups' Enums
        for g, (base, extended) in enumerate(spec.symmetries):
            for e in (base, *extended):
                self.widths[id(e)] = ENUM_BITS + 1 + g

    def state(self, k: int) -> Any:
        """The state terms of step k (Z3 returns the same constant for the same name, so this is stable)."""
        return self.cls(*(_fresh(t, n, k, self.widths) for t, n in zip(self.types, self.names, strict=True)))

    def type_ok(self, s: Any) -> z3.BoolRef:
        return z3.And([_as_bool(_in_type(t, x), "TypeOK") for t, x in zip(self.types, s, strict=True)])

    def init(self, s: Any) -> z3.BoolRef:
        return z3.And(
            [z3.Or([_eq(x, v) for v in var.init]) for var, x in zip(self.spec.variables, s, strict=True)]
        )

    def constraint(self, s: Any) -> z3.BoolRef:
        c = self.spec.constraint
        return z3.BoolVal(True) if c is None else self.pred(c.fn, s, f"state constraint {c.name}")

    def pred(self, fn: Callable[[Any], Any], s: Any, what: str) -> z3.BoolRef:
        try:
            with _no_truth_tests():
                return _as_bool(fn(s), what)
        except z3.Z3Exception as e:
            hint = "a Python if/and/or on a state value?"
            raise SpecError(f"{what} cannot be read symbolically ({hint}): {e}") from e
        except SpecError:
            raise
        except Exception as e:
            raise SpecError(f"{what} cannot be read symbolically ({type(e).__name__}: {e})") from e

    def steps(self, s: Any) -> list[_Step]:
        """Every (instance, step) of the spec applied to the symbolic state s."""
        out = []
        for inst in self.spec.instances():
            try:
                with _no_truth_tests():
                    steps = inst.steps(s)
            except z3.Z3Exception as e:
                raise SpecError(
                    f"action {inst.label} cannot be read symbolically"
                    f" (a Python if/and/or/min on a state value?): {e}"
                ) from e
            except SpecError:
                raise
            except Exception as e:  # e.g. a state value used as a Python index: name the action
                raise SpecError(
                    f"action {inst.label} cannot be read symbolically ({type(e).__name__}: {e};"
                    " a state value used as a Python index? use select())"
                ) from e
            siblings: dict[tuple, int] = {}
            for st in steps:
                post = list(s)
                for k, v in st.updates.items():
                    p = self.pos.get(k)
                    if p is None:
                        raise SpecError(f"action {inst.label} updates unknown variable {k}")
                    post[p] = _fit(v, s[p])
                key = tuple(v for _, v in st.binds)
                siblings[key] = siblings.get(key, -1) + 1
                guard = _as_bool(st.guard, f"action {inst.label}: guard")
                out.append(_Step(inst, guard, tuple(post), tuple(st.binds), siblings[key]))
        return out

    def next(self, s: Any, t: Any, steps: list[_Step] | None = None) -> z3.BoolRef:
        steps = self.steps(s) if steps is None else steps
        return z3.Or(
            [z3.And(st.guard, *(_eq(x, v) for x, v in zip(t, st.post, strict=True))) for st in steps]
        )

    def enabled(self, steps: list[_Step]) -> z3.BoolRef:
        return z3.Or([st.guard for st in steps])

    def type_error(self, steps: list[_Step]) -> z3.BoolRef:
        """Some enabled step sets a variable outside its type."""
        bad = []
        for st in steps:
            ok = [_in_type(t, v) for t, v in zip(self.types, st.post, strict=True)]
            ok = [z3.BoolVal(x) if type(x) is bool else x for x in ok]
            bad.append(z3.And(st.guard, z3.Not(z3.And(ok))))
        return z3.Or(bad)

    def decode(self, s: Any, model: z3.ModelRef) -> Any:
        return self.cls(*(_decode(x, model) for x in s))

    def block(self, s: Any, concrete: Any) -> z3.BoolRef:
        """s is not the concrete state."""
        return z3.Or([a != b for a, b in zip(_leaves(tuple(s)), _leaves(tuple(concrete)), strict=True)])


def _instance_between(spec: Spec, pre: Any, post: Any) -> Instance | None:
    """An instance whose enabled step leads from pre to post (concrete replay, so the trace is checked)."""
    for inst in spec.instances():
        for st in inst.steps(pre):
            if st.guard is True and pre._replace(**st.updates) == post:
                return inst
    return None


def _trace(spec: Spec, states: list[Any]) -> Trace:
    steps: list[Instance | None] = [None]
    for pre, post in zip(states, states[1:], strict=False):
        inst = _instance_between(spec, pre, post)
        if inst is None:
            raise RuntimeError(f"smt: decoded step {pre} -> {post} is no step of the spec (encoding bug)")
        steps.append(inst)
    return Trace(spec, states, steps)


def _predicates(spec: Spec, invariants: Iterable[InvariantLike] | None) -> list[Predicate]:
    if invariants is None:
        return list(spec.invariants)
    out = []
    for i in invariants:
        if isinstance(i, str):
            out.append(spec.invariant_named(i))
        elif isinstance(i, Predicate):
            out.append(i)
        else:
            out.append(Predicate(getattr(i, "__name__", "invariant"), i, (i.__doc__ or "").strip()))
    return out


# --------------------------------------------------------------------------- bounded model checking


@dataclass
class BmcResult:
    """Outcome of ``bmc``. ``violation`` is an invariant name, ``DEADLOCK`` or ``TYPE_ERROR``."""

    spec: Spec
    depth: int  # steps of the counterexample, or the depth checked up to when ok
    violation: str | None = None
    trace: Trace | None = None
    detail: str = ""
    seconds: float = 0.0
    seconds_per_depth: list[float] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C: ``depth`` is then the last depth fully checked (-1: none)

    @property
    def ok(self) -> bool:
        return self.violation is None and not self.interrupted


def bmc(
    spec: Spec,
    depth: int,
    invariants: Sequence[InvariantLike] | None = None,
    check_deadlock: bool = False,
    check_types: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BmcResult:
    """Find the smallest k <= depth at which an invariant fails on some path of k steps from Init.

    Checks k = 0, 1, 2, ... on one incremental solver (the path prefix is asserted once; each query is
    pushed and popped), so the first counterexample is a shortest one, as in BFS. ``invariants`` are
    names (or predicates); None means all of the spec's. With ``check_deadlock``, a reachable state with
    no enabled step is reported as ``DEADLOCK``; with ``check_types``, an enabled step that leaves a
    variable's type is reported as ``TYPE_ERROR`` (BFS stops with an error there).
    """
    enc = Encoding(spec)
    invs = _predicates(spec, invariants)
    solver = z3.Solver()
    t0 = time.monotonic()
    res = BmcResult(spec, depth)
    try:
        return _bmc_loop(spec, enc, invs, solver, res, depth, check_deadlock, check_types, t0, progress)
    except KeyboardInterrupt:
        res.interrupted = True
        res.depth = len(res.seconds_per_depth) - 1
        res.seconds = time.monotonic() - t0
        return res


def _bmc_loop(
    spec: Spec,
    enc: Encoding,
    invs: list[Predicate],
    solver: z3.Solver,
    res: BmcResult,
    depth: int,
    check_deadlock: bool,
    check_types: bool,
    t0: float,
    progress: Callable[[str], None] | None,
) -> BmcResult:
    states = [enc.state(0)]
    solver.add(enc.type_ok(states[0]), enc.init(states[0]), enc.constraint(states[0]))
    prev_steps: list[_Step] = []  # the steps of states[k - 1], reused for Next and the checks at k - 1
    for k in range(depth + 1):
        tk = time.monotonic()
        s = states[k]
        if k > 0:
            solver.add(enc.type_ok(s), enc.constraint(s), enc.next(states[k - 1], s, prev_steps))
        # One query for all invariants; which ones fail is then read off the concrete state.
        bad = [z3.Not(enc.pred(p.fn, s, f"invariant {p.name}")) for p in invs]
        found = _check(enc, solver, states, z3.Or(bad)) if bad else None
        if found is not None:
            last = found.states[-1]
            name = next((p.name for p in invs if p.fn(last) is False), invs[0].name)
            doc = next((p.doc for p in invs if p.name == name), "")
            return _done(res, k, name, found, doc, t0, tk)
        prev_steps = enc.steps(s)
        if check_types:
            found = _check(enc, solver, states, enc.type_error(prev_steps))
            if found is not None:
                return _done(res, k, TYPE_ERROR, found, _type_error_detail(spec, found.states[-1]), t0, tk)
        if check_deadlock:
            found = _check(enc, solver, states, z3.Not(enc.enabled(prev_steps)))
            if found is not None:
                return _done(res, k, DEADLOCK, found, "a reachable state with no enabled action", t0, tk)
        res.seconds_per_depth.append(time.monotonic() - tk)
        if progress is not None:
            took, total = res.seconds_per_depth[-1], time.monotonic() - t0
            progress(f"BMC: no violation at depth {k} ({took:.1f}s, {total:.1f}s in all)")
        if k < depth:
            states.append(enc.state(k + 1))
    res.seconds = time.monotonic() - t0
    return res


def _check(enc: Encoding, solver: z3.Solver, states: list[Any], goal: z3.BoolRef) -> Trace | None:
    solver.push()
    try:
        solver.add(goal)
        if not _sat(solver):
            return None
        m = solver.model()
        return _trace(enc.spec, [enc.decode(s, m) for s in states])
    finally:
        solver.pop()


def _done(res: BmcResult, k: int, name: str, trace: Trace, detail: str, t0: float, tk: float) -> BmcResult:
    res.depth, res.violation, res.trace, res.detail = k, name, trace, detail
    now = time.monotonic()
    res.seconds_per_depth.append(now - tk)
    res.seconds = now - t0
    return res


def _type_error_detail(spec: Spec, s: Any) -> str:
    for inst in spec.instances():
        for st in inst.steps(s):
            if st.guard is True:
                try:
                    spec.check_step(inst, st)
                except SpecError as e:
                    return str(e)
    return "an enabled step leaves a variable's type"


# --------------------------------------------------------------------------- counting


def count_layers(spec: Spec, K: int, method: str = "image") -> list[int]:  # noqa: N803 - the bound's usual name
    """The number of distinct states at shortest distance exactly d from Init, for d = 0..K.

    Equals BFS's ``layers[:K+1]`` (zeros past the last layer). States are enumerated with blocking
    clauses: each model found is excluded and the solver asked again until unsat. Two formulations:

    * ``"image"`` (default): layer d = { t : TypeOK(t) /\\ C(t) /\\ Next(s, t) for some s in layer d-1 }
      minus the states found so far; one copy of Next, so it scales to thousands of states.
    * ``"unroll"``: layer d = the last states of d-step paths from Init (Init, Next and C on every
      state of the unrolling) minus the states found so far. It shares nothing with the frontier but
      Init, so it is the more independent check, and about ten times slower.
    """
    if method == "image":
        return _count_image(spec, K)
    if method == "unroll":
        return _count_unroll(spec, K)
    raise ValueError(f"count_layers: unknown method {method!r} (image, unroll)")


def _enumerate(enc: Encoding, solver: z3.Solver, s: Any) -> list[Any]:
    """Every assignment to s the solver allows, blocking each one found (the blocks stay asserted)."""
    found = []
    while _sat(solver):
        x = enc.decode(s, solver.model())
        found.append(x)
        solver.add(enc.block(s, x))
    return found


def _count_image(spec: Spec, K: int) -> list[int]:  # noqa: N803
    enc = Encoding(spec)
    s, t = enc.state(0), enc.state(1)
    first = z3.Solver()
    first.add(enc.type_ok(s), enc.init(s), enc.constraint(s))
    frontier = _enumerate(enc, first, s)
    layers = [len(frontier)]
    solver = z3.Solver()
    solver.add(enc.type_ok(t), enc.constraint(t), enc.next(s, t))
    for x in frontier:
        solver.add(enc.block(t, x))
    s_leaves = _leaves(tuple(s))
    while len(layers) <= K and frontier:
        solver.push()
        solver.add(
            z3.Or(
                [z3.And([a == b for a, b in zip(s_leaves, _leaves(tuple(x)), strict=True)]) for x in frontier]
            )
        )
        frontier = _enumerate(enc, solver, t)
        solver.pop()
        for x in frontier:  # re-assert outside the push: seen states stay excluded from later layers
            solver.add(enc.block(t, x))
        layers.append(len(frontier))
    return layers + [0] * (K + 1 - len(layers))


def _count_unroll(spec: Spec, K: int) -> list[int]:  # noqa: N803
    enc = Encoding(spec)
    solver = z3.Solver()
    states = [enc.state(0)]
    solver.add(enc.type_ok(states[0]), enc.init(states[0]), enc.constraint(states[0]))
    seen: list[Any] = []
    layers: list[int] = []
    for d in range(K + 1):
        s = states[d]
        if d > 0:
            # Only the last state is enumerated, so constraining earlier ones with one more transition
            # (after their layer is done) loses nothing.
            solver.add(enc.type_ok(s), enc.constraint(s), enc.next(states[d - 1], s))
        solver.push()
        for old in seen:
            solver.add(enc.block(s, old))
        found = _enumerate(enc, solver, s)
        solver.pop()
        seen.extend(found)
        layers.append(len(found))
        if not found:  # an empty layer: every later one is empty too
            break
        states.append(enc.state(d + 1))
    return layers + [0] * (K + 1 - len(layers))


# --------------------------------------------------------------------------- induction


@dataclass
class ProveResult:
    """Outcome of ``prove``. On failure, ``trace`` is the counterexample: one initial state when
    ``stage == "init"``; for ``stage == "step"`` a counterexample to induction (pre, post), with
    ``trace.steps[1]`` the instance taken. ``failed`` names the conjunct that broke (or ``TYPE_ERROR``)."""

    spec: Spec
    invariant: str
    ok: bool
    stage: str | None = None  # None, "init" or "step"
    failed: str | None = None
    trace: Trace | None = None
    seconds: float = 0.0
    stats: StepProofStats | None = None  # prove_by_step only


def prove(
    spec: Spec,
    invariant: InvariantLike,
    strengthen: Sequence[InvariantLike] = (),
    check_types: bool = False,
) -> ProveResult:
    """Prove that invariant holds in every reachable state by induction, strengthened by ``strengthen``.

    With I = invariant /\\ strengthen (the auxiliary invariants), checks
      initiation:  Init /\\ TypeOK /\\ C  =>  I
      consecution: I /\\ TypeOK /\\ C /\\ Next /\\ TypeOK' /\\ C'  =>  P'   for each conjunct P of I.
    C is the state constraint (successors violating it are discarded, as in TLC). Sound with any
    strengthening: the conjunction is then an inductive invariant, and it implies the target. Steps
    that leave a variable's type are not transitions (BFS stops with an error there instead); with
    ``check_types`` the proof also shows that no step enabled in an I-state does that, so BFS could
    never stop with a type error. Its failure is reported as ``TYPE_ERROR`` with the pre-state alone.
    """
    enc = Encoding(spec)
    target = _predicates(spec, [invariant])[0]
    conj = [target] + _predicates(spec, strengthen)
    t0 = time.monotonic()
    res = ProveResult(spec, target.name, ok=False)

    def fail(stage: str, name: str, states: list[Any], m: z3.ModelRef) -> ProveResult:
        res.stage, res.failed = stage, name
        res.trace = _trace(spec, [enc.decode(s, m) for s in states])
        if stage == "step":
            res.trace.start = CTI_START
        res.seconds = time.monotonic() - t0
        return res

    s, t = enc.state(0), enc.state(1)
    hold_s = [enc.pred(p.fn, s, f"invariant {p.name}") for p in conj]
    solver = z3.Solver()
    solver.add(enc.type_ok(s), enc.constraint(s))
    solver.push()
    solver.add(enc.init(s))
    for p, h in zip(conj, hold_s, strict=True):
        solver.push()
        solver.add(z3.Not(h))
        if _sat(solver):
            return fail("init", p.name, [s], solver.model())
        solver.pop()
    solver.pop()

    solver.add(*hold_s)
    steps = enc.steps(s)
    solver.push()
    solver.add(enc.type_ok(t), enc.constraint(t), enc.next(s, t, steps))
    for p in conj:
        solver.push()
        solver.add(z3.Not(enc.pred(p.fn, t, f"invariant {p.name}")))
        if _sat(solver):
            return fail("step", p.name, [s, t], solver.model())
        solver.pop()
    solver.pop()
    if check_types:
        solver.add(enc.type_error(steps))
        if _sat(solver):
            return fail("step", TYPE_ERROR, [s], solver.model())
    res.ok = True
    res.seconds = time.monotonic() - t0
    return res


class SolverUnknown(SpecError):
    """Z3 answered neither sat nor unsat: no verdict can be drawn, and none is printed."""


def _sat(solver: z3.Solver) -> bool:
    """True if sat, False if unsat; Ctrl-C during the check (Z3 reports it as "canceled") is raised
    as KeyboardInterrupt, and any other unknown as SolverUnknown (one line, exit 2)."""
    r = solver.check()
    if r == z3.unknown:
        why = solver.reason_unknown()
        if "cancel" in why:
            raise KeyboardInterrupt
        raise SolverUnknown(f"smt: the solver returned unknown ({why}): no verdict")
    return r == z3.sat


# --------------------------------------------------------------------------- induction, step by step


@dataclass
class StepProofStats:
    """What ``prove_by_step`` did: consecution queries asked, steps covered by symmetry instead, and
    how the symmetry was settled (``note``)."""

    queries: int = 0
    by_symmetry: int = 0
    asymmetric: int = 0  # non-canonical steps whose symmetric image could not be confirmed (checked)
    note: str = "not requested"
    seconds_invariance: float = 0.0  # proving the invariant symmetric
    seconds_mapping: float = 0.0  # proving the covered steps map onto their images
    slowest: list[tuple[float, str]] = field(default_factory=list)  # the 3 slowest consecution queries


def prove_by_step(
    spec: Spec,
    invariant: InvariantLike,
    strengthen: Sequence[InvariantLike] = (),
    check_types: bool = False,
    symmetry: bool = False,
) -> ProveResult:
    """``prove`` with consecution split per transition and per changed atom.

    For each step (action instance and branch) it substitutes the step's post-state terms into the
    invariant's atoms (``z3.substitute``), drops the atoms that come out unchanged (they hold by the
    pre-state assumption) and asks Z3 whether the rest can fail: the same formula as ``prove``
    (Init => I; I /\\ TypeOK /\\ C /\\ Next /\\ TypeOK' /\\ C' => I'), as many small queries instead of
    one per conjunct over the whole Next.

    ``symmetry``: if the spec declares interchangeable values (``Spec.symmetric``), ask the
    consecution query only for the steps whose parameters are in canonical order (cpu0 before cpu1,
    ...) and cover every other step by its canonical image. Both facts that makes sound are proved
    with Z3 first, never assumed: I /\\ C is invariant under a generating set of permutations, and
    each covered step is mapped onto its image (guard and post-state, ``_covered``). Whatever cannot
    be confirmed is checked directly. ``res.stats`` says how many steps each way.

    Same result type as ``prove``: on failure ``trace`` is [initial state] (stage "init") or [pre,
    post] with the step taken (stage "step"), and ``failed`` names the first conjunct (target first)
    the post-state violates. The post-state is recomputed by concrete execution, so a CTI replays."""
    enc = Encoding(spec)
    target = _predicates(spec, [invariant])[0]
    conj = [target] + _predicates(spec, strengthen)
    t0 = time.monotonic()
    res = ProveResult(spec, target.name, ok=False)
    stats = res.stats = StepProofStats()
    s = enc.state(0)
    hold = [enc.pred(p.fn, s, f"invariant {p.name}") for p in conj]

    def first_failed(state: Any) -> str:
        return next((p.name for p in conj if p.fn(state) is False), conj[0].name)

    # initiation
    solver = z3.Solver()
    solver.add(enc.type_ok(s), enc.constraint(s), enc.init(s), z3.Not(z3.And(hold)))
    if _sat(solver):
        pre = enc.decode(s, solver.model())
        res.stage, res.failed = "init", first_failed(pre)
        res.trace = Trace(spec, [pre], [None])
        res.seconds = time.monotonic() - t0
        return res

    # consecution
    steps = enc.steps(s)
    covered = _covered(enc, s, conj, hold, steps, stats) if symmetry else set()
    all_atoms = [a for h in hold for a in _atoms(h)]
    have = {a.get_id() for a in all_atoms}
    inv = z3.And(all_atoms) if all_atoms else z3.BoolVal(True)
    base = [enc.type_ok(s), enc.constraint(s), *hold]
    s_leaves = _leaves(tuple(s))
    has_constraint = spec.constraint is not None
    for i, st in enumerate(steps):
        if i in covered:
            continue
        post = enc.cls(*st.post)
        p_leaves = _leaves(tuple(st.post))
        pairs = [
            (a, _as_term(b, a))
            for a, b in zip(s_leaves, p_leaves, strict=True)
            if not (isinstance(b, z3.ExprRef) and b.eq(a))
        ]
        if not pairs and not check_types:
            continue  # a stuttering step
        changed = [a for a in _atoms(z3.substitute(inv, *pairs)) if a.get_id() not in have] if pairs else []
        # Two ways to fail, each with its own assumptions: a well-typed successor (kept by the state
        # constraint) that breaks a changed atom, or (check_types) a successor that leaves its type.
        # They must stay separate disjuncts: asserting TypeOK(post) around both would make the type
        # error unsatisfiable whenever an atom changed, and the proof would pass in silence.
        kept = [enc.type_ok(post)] + ([enc.constraint(post)] if has_constraint else []) if changed else []
        broken = z3.Or([z3.Not(a) for a in changed]) if changed else None
        type_error = None
        if check_types:
            ok = [_in_type(t, v) for t, v in zip(enc.types, st.post, strict=True)]
            type_error = z3.Not(z3.And([z3.BoolVal(x) if type(x) is bool else x for x in ok]))
        if broken is None and type_error is None:
            continue
        stats.queries += 1
        # A fresh solver per query: on one incremental solver what earlier queries left behind made
        # single queries take minutes that take a tenth of a second alone (measured at 4x6x2).
        solver = z3.Solver()
        solver.add(*base, st.guard)
        if type_error is None:
            solver.add(*kept, broken)  # as top-level facts: 10 s at 4x8x2, 17 s as one disjunct
        elif broken is None:
            solver.add(type_error)
        else:
            solver.add(z3.Or(z3.And(*kept, broken), type_error))
        tq = time.monotonic()
        sat = _sat(solver)
        stats.slowest = sorted([*stats.slowest, (time.monotonic() - tq, st.inst.label)], reverse=True)[:3]
        model = solver.model() if sat else None
        if not sat:
            continue
        pre = enc.decode(s, model)
        after = _rebuild(
            tuple(st.post), [_eval_leaf(v, model, a) for v, a in zip(p_leaves, s_leaves, strict=True)]
        )
        nxt = spec.State(*after)
        type_bad = any(not v.type.contains(x) for v, x in zip(spec.variables, nxt, strict=True))
        if type_bad:
            res.stage, res.failed = "step", TYPE_ERROR
            res.trace = Trace(spec, [pre], [None], start=CTI_START)
        else:
            res.stage, res.failed = "step", first_failed(nxt)
            res.trace = Trace(spec, [pre, nxt], [None, st.inst], start=CTI_START)
        res.seconds = time.monotonic() - t0
        return res
    res.ok = True
    res.seconds = time.monotonic() - t0
    return res


def _covered(
    enc: Encoding,
    s: Any,
    conj: list[Predicate],
    hold: list[z3.BoolRef],
    steps: list[_Step],
    stats: StepProofStats,
) -> set[int]:
    """Indices of the steps whose consecution follows from a canonical step's, by a checked symmetry.

    Soundness: suppose step X has a CTI (s, t). Let g be the permutation putting X's parameters in
    canonical order and Y the step with the permuted parameters. (1) I /\\ C is invariant under every
    permutation (checked on generators, so for g and its inverse): g(s) satisfies I, g(t) does not.
    (2) guard_X(s) implies guard_Y(g(s)) and post_Y(g(s)) = g(post_X(s)) (checked per X): (g(s), g(t))
    is a step of Y. Types are kept by permutations. So (g(s), g(t)) is a CTI for Y, which is checked.

    How F(g(s)) is computed: g moves leaves (flags[w] to flags[g(w)]) and renames values. Enum values
    are only compared for equality (anything else is refused), so renaming every value v of a group in
    a formula into g^-1(v) and every leaf into the leaf g moves there gives F(g(s)) exactly, with no
    case split on values (``_renaming``). Both checks are then mostly syntactic (``_norm``: equal up to
    the order of commutative arguments); what is not is asked of Z3."""
    spec = enc.spec
    if not spec.symmetries:
        stats.note = "none declared (Spec.symmetric)"
        return set()
    t0 = time.monotonic()
    memo: dict[int, tuple[z3.ExprRef, z3.ExprRef]] = {}
    s_leaves = _leaves(tuple(s))
    try:
        renamings = {}

        def renaming(perm: symmetry.Perm) -> _Substitution:
            key = tuple(sorted(perm.items()))
            if key not in renamings:
                renamings[key] = _Substitution(_renaming(enc, perm, s, s_leaves))
            return renamings[key]

        # (1) the invariant, with the state constraint, is symmetric
        inv = [*hold, enc.constraint(s)]
        atoms = [a for h in inv for a in _atoms(h)]
        have = {_norm(a, memo).get_id() for a in atoms}
        check = z3.Solver()
        check.add(enc.type_ok(s), *inv)
        for name, g in symmetry.generators(spec):
            rename = renaming(g)
            moved = [_atoms(rename(h)) for h in inv]
            rest = [a for group in moved for a in group if _norm(a, memo).get_id() not in have]
            if rest:
                check.push()
                check.add(z3.Not(z3.And(rest)))
                asym = _sat(check)
                check.pop()
                if asym:
                    stats.note = f"not used: the invariant is not symmetric under the {name}"
                    return set()
        t1 = time.monotonic()
        stats.seconds_invariance = t1 - t0

        # (2) each non-canonical step maps onto its canonical image
        index = {
            (st.inst.action.name, tuple(v for _, v in _params(st)), st.sibling): i
            for i, st in enumerate(steps)
        }
        eq = z3.Solver()
        eq.add(enc.type_ok(s))
        out = set()
        for i, st in enumerate(steps):
            params = _params(st)
            perm = symmetry.canonical_perm(spec, params)
            if symmetry.is_identity(perm):
                continue
            j = index.get((st.inst.action.name, symmetry.permute_params(spec, perm, params), st.sibling))
            if j is None:
                stats.asymmetric += 1
                continue
            y = steps[j]
            rename = renaming(perm)
            goals = []
            y_guard = rename(y.guard)
            if _norm(y_guard, memo).get_id() != _norm(st.guard, memo).get_id():
                goals.append(y_guard)
            # post_Y(g(s)) = g(post_X(s)): leaf by leaf, rename(post_Y) = post_X with its leaves moved
            x_post = _leaves(tuple(symmetry.permute_state(spec, perm, enc.cls(*st.post), values=False)))
            for a, b, like in zip(_leaves(tuple(y.post)), x_post, s_leaves, strict=True):
                ra = _norm(rename(_as_term(a, like)), memo)
                if not ra.eq(_norm(_as_term(b, like), memo)):
                    goals.append(ra == b)
            mapped = True
            if goals:
                eq.push()
                eq.add(st.guard, z3.Not(z3.And(goals)))
                mapped = not _sat(eq)
                eq.pop()
            if mapped:
                out.add(i)
            else:
                stats.asymmetric += 1
    except _NotRenamable as e:
        stats.note = f"not used: {e}"
        return set()
    stats.by_symmetry = len(out)
    stats.seconds_mapping = time.monotonic() - t1
    names = ", ".join(b.name for b, _ in spec.symmetries)
    stats.note = f"used ({names}): invariant symmetric, {len(out)} steps covered by their canonical image"
    return out


class _Substitution:
    """z3.substitute with fixed pairs, prepared once: z3.substitute re-checks every pair's sorts on
    each call, which made the step mapping cost a minute at 4x4x2 (thousands of calls x hundreds of
    pairs). The pairs come from ``_renaming``, sort-correct by construction."""

    def __init__(self, pairs: list[tuple[z3.ExprRef, z3.ExprRef]]):
        self.pairs = pairs
        self.n = len(pairs)
        self.src = (z3.Ast * self.n)()
        self.dst = (z3.Ast * self.n)()
        for i, (a, b) in enumerate(pairs):
            self.src[i], self.dst[i] = a.as_ast(), b.as_ast()
        self.leaf = {a.get_id(): b for a, b in pairs}

    def __call__(self, e: z3.ExprRef) -> z3.ExprRef:
        if not self.n:
            return e
        moved = self.leaf.get(e.get_id())
        if moved is not None and z3.is_const(e):
            return moved
        ctx = e.ctx
        return z3.z3._to_expr_ref(z3.Z3_substitute(ctx.ref(), e.as_ast(), self.n, self.src, self.dst), ctx)


class _NotRenamable(Exception):
    """A formula does something with a symmetric value other than compare it for equality."""


def _renaming(enc: Encoding, perm: symmetry.Perm, s: Any, s_leaves: list[Any]) -> list[tuple]:
    """The substitution taking F(s) to F(g(s)) for the permutation g (see ``_covered``): each leaf to
    the leaf g moves into its place, each value c of a group to g^-1(c)."""
    spec = enc.spec
    moved = _leaves(tuple(symmetry.permute_state(spec, perm, s, values=False)))
    pairs = [(a, b) for a, b in zip(s_leaves, moved, strict=True) if not a.eq(b)]
    for base, _extended in spec.symmetries:
        sigma = perm[id(base)]
        width = enc.widths[id(base)]
        inverse = {j: i for i, j in enumerate(sigma)}
        pairs += [(z3.BitVecVal(c, width), z3.BitVecVal(inverse[c], width)) for c in sigma if inverse[c] != c]
    return pairs


_EQUALITY_ONLY = {z3.Z3_OP_EQ, z3.Z3_OP_DISTINCT, z3.Z3_OP_ITE}


def _is_group_sort(e: z3.ExprRef) -> bool:
    return isinstance(e, z3.BitVecRef) and e.size() != ENUM_BITS


_COMMUTATIVE = {z3.Z3_OP_AND, z3.Z3_OP_OR, z3.Z3_OP_EQ, z3.Z3_OP_ADD, z3.Z3_OP_MUL, z3.Z3_OP_DISTINCT}


def _norm(e: z3.ExprRef, memo: dict[int, tuple[z3.ExprRef, z3.ExprRef]]) -> z3.ExprRef:
    """e with the arguments of commutative operators sorted (by AST id): equal up to their order."""
    key = e.get_id()
    hit = memo.get(key)
    if hit is not None:
        return hit[1]
    if not z3.is_app(e) or e.num_args() == 0:
        r = e
    else:
        kids = [_norm(c, memo) for c in e.children()]
        k = e.decl().kind()
        if k not in _EQUALITY_ONLY and any(_is_group_sort(c) for c in kids):
            raise _NotRenamable(f"a symmetric value is used by {e.decl().name()} (only = is renamable)")
        if k in _COMMUTATIVE:
            kids.sort(key=lambda c: c.get_id())
        if k == z3.Z3_OP_AND:
            r = z3.And(kids)
        elif k == z3.Z3_OP_OR:
            r = z3.Or(kids)
        elif k == z3.Z3_OP_ADD:
            r = z3.Sum(kids)
        else:
            r = e.decl()(*kids)
    memo[key] = (e, r)  # e is kept alive: a freed AST's id could be reused
    return r


def _params(st: _Step) -> list[tuple[Any, Any]]:
    return [(st.inst.action.param_types.get(k), v) for k, v in st.inst.args.items()] + list(st.binds)


def _atoms(f: z3.BoolRef) -> list[z3.BoolRef]:
    out, todo = [], [f]
    while todo:
        x = todo.pop()
        if z3.is_and(x):
            todo.extend(reversed(x.children()))
        elif not z3.is_true(x):
            out.append(x)
    return out


def _fit(v: Any, like: Any) -> Any:
    """An update value in its variable's sort: ``ite(cond, 2, 0)`` of two Python constants is an Int
    term, and a bit-vector variable (an Enum or a small Int) needs it as a bit-vector. The values are
    in the variable's type (``check_types`` proves that), so the conversion is exact; an If of
    constants is rebuilt leaf by leaf so that Z3 and the C printer see no Int2BV."""
    if type(like) is tuple:
        return tuple(_fit(a, b) for a, b in zip(v, like, strict=True)) if type(v) is tuple else v
    if isinstance(v, z3.ArithRef) and isinstance(like, z3.BitVecRef):
        return _int_to_bv(v, like.size())
    return v


def _int_to_bv(v: z3.ArithRef, size: int) -> z3.ExprRef:
    if z3.is_int_value(v):
        return z3.BitVecVal(v.as_long(), size)
    if z3.is_app_of(v, z3.Z3_OP_ITE):
        c, a, b = v.children()
        return z3.If(c, _int_to_bv(a, size), _int_to_bv(b, size))
    return z3.Int2BV(v, size)


def _as_term(v: Any, like: z3.ExprRef) -> z3.ExprRef:
    if isinstance(v, z3.ExprRef):
        if isinstance(like, z3.BitVecRef) and v.sort() == z3.IntSort():
            return _int_to_bv(v, like.size())
        if v.sort() != like.sort():
            raise SpecError(f"smt: {v} has sort {v.sort()}, the variable {like} has {like.sort()}")
        return v
    if isinstance(like, z3.BoolRef):
        return z3.BoolVal(bool(v))
    if isinstance(like, z3.BitVecRef):
        return z3.BitVecVal(int(v), like.size())
    return z3.IntVal(int(v))


def _eval_leaf(v: Any, model: z3.ModelRef, like: z3.ExprRef) -> Any:
    if not isinstance(v, z3.ExprRef):
        return v
    r = model.eval(v, model_completion=True)
    return z3.is_true(r) if isinstance(like, z3.BoolRef) else r.as_long()


def _rebuild(template: Any, leaves: list[Any]) -> Any:
    """Put a flat list of leaf values back into the nested-tuple shape of template."""
    it = iter(leaves)

    def go(t: Any) -> Any:
        if type(t) is tuple:
            return tuple(go(x) for x in t)
        return next(it)

    return go(template)
