"""Induction with Z3: is an invariant, with its strengthening, preserved by every step from Init?

``prove`` asks one query per conjunct over the whole Next relation; ``prove_by_step`` asks one small
query per transition and changed atom, and, with ``symmetry``, only for the steps in canonical order,
covering the others by a symmetry it first proves (``_covered``: why that is sound, and how the
permuted formulas are computed by renaming). Both return a ``ProveResult``: PROVED, or a counterexample
to induction that replays concretely.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from explorer.engines.bfs import CTI_START, Trace
from explorer.engines.smt.encoding import (
    TYPE_ERROR,
    Encoding,
    InvariantLike,
    _as_term,
    _atoms,
    _in_type,
    _leaves,
    _predicates,
    _sat,
    _Step,
    _trace,
)
from explorer.engines.smt.raw import constants_in
from explorer.engines.smt.symbolic import ENUM_BITS
from spec import symmetry
from spec.lang import Fn, Predicate, Spec, rebuild
from spec.terms import disjunction, negation


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
    base = [enc.type_ok(s), enc.constraint(s), *hold]
    s_leaves = _leaves(tuple(s))
    s_ids = [a.get_id() for a in s_leaves]
    leaf_types = _leaf_types(enc.types)
    # A step changes only the atoms that mention a leaf it moves, and keeps the type of every leaf it
    # does not move (TypeOK(s) is assumed): the query reads only those (measured on the bpf_timer
    # proof: substituting into the whole invariant and TypeOK(post) were half its time).
    atoms_of_leaf: dict[int, list[int]] = {}
    for n, leaves in enumerate(constants_in(all_atoms)):
        for leaf in leaves:
            atoms_of_leaf.setdefault(leaf, []).append(n)
    has_constraint = spec.constraint is not None
    for i, st in enumerate(steps):
        if i in covered:
            continue
        p_leaves = _leaves(tuple(st.post))
        moved = [
            j
            for j, (a, b) in enumerate(zip(s_leaves, p_leaves, strict=True))
            if b is not a and not (isinstance(b, z3.ExprRef) and b.eq(a))
        ]
        if not moved:
            continue  # a stuttering step
        sub = _Substitution([(s_leaves[j], _as_term(p_leaves[j], s_leaves[j])) for j in moved])
        affected = sorted({n for j in moved for n in atoms_of_leaf.get(s_ids[j], ())})
        changed = [a for n in affected for a in _atoms(sub(all_atoms[n])) if a.get_id() not in have]
        moved_types = [_as_bool_term(_in_type(leaf_types[j], p_leaves[j])) for j in moved]
        # Two ways to fail, each with its own assumptions: a well-typed successor (kept by the state
        # constraint) that breaks a changed atom, or (check_types) a successor that leaves its type.
        # They must stay separate disjuncts: asserting TypeOK(post) around both would make the type
        # error unsatisfiable whenever an atom changed, and the proof would pass in silence.
        kept = []
        if changed:
            kept = moved_types + ([enc.constraint(enc.cls(*st.post))] if has_constraint else [])
        broken = disjunction([negation(a) for a in changed]) if changed else None
        type_error = z3.Not(z3.And(moved_types)) if check_types else None
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


def _leaf_types(types: Sequence[Any]) -> list[Any]:
    """The type of each leaf, in the order of ``_leaves`` (a function's codomain once per argument)."""
    out: list[Any] = []
    for t in types:
        out += _leaf_types([t.at(i) for i in t.domain]) if isinstance(t, Fn) else [t]
    return out


def _as_bool_term(x: Any) -> z3.BoolRef:
    return z3.BoolVal(x) if type(x) is bool else x


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
        # per permutation g: the leaf g moves into each place (permuting a state of leaf indices)
        indices = enc.cls(*_rebuild(tuple(s), list(range(len(s_leaves)))))
        sources: dict[tuple, list[int]] = {}
        constants: dict[tuple[int, Any], z3.ExprRef] = {}  # a concrete post value, as a term, once

        def as_term(v: Any, place: int) -> z3.ExprRef:
            if isinstance(v, z3.ExprRef):
                return _as_term(v, s_leaves[place])
            term = constants.get((place, v))
            if term is None:
                term = constants[place, v] = _as_term(v, s_leaves[place])
            return term

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
            key = tuple(sorted(perm.items()))
            source = sources.get(key)
            if source is None:
                moved = symmetry.permute_state(spec, perm, indices, values=False)
                source = sources[key] = _leaves(tuple(moved))
            x_post = _leaves(tuple(st.post))
            for place, (a, k) in enumerate(zip(_leaves(tuple(y.post)), source, strict=True)):
                # A leaf neither step changes (the very pre-state term, as the encoding frames it) maps
                # by construction: renaming the pre-state leaf of this place gives the leaf g moves
                # here, s_leaves[k], which is b. Most leaves are such (at 8x16x2 this check was most of
                # the proof's time).
                b = x_post[k]
                if a is s_leaves[place] and b is s_leaves[k]:
                    continue
                ra = _norm(rename(as_term(a, place)), memo)
                if not ra.eq(_norm(as_term(b, place), memo)):
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


def _eval_leaf(v: Any, model: z3.ModelRef, like: z3.ExprRef) -> Any:
    if not isinstance(v, z3.ExprRef):
        return v
    r = model.eval(v, model_completion=True)
    return z3.is_true(r) if isinstance(like, z3.BoolRef) else r.as_long()


def _rebuild(template: Any, leaves: list[Any]) -> Any:
    """Put a flat list of leaf values back into the nested-tuple shape of template."""
    it = iter(leaves)

    def go(t: Any) -> Any:
        if isinstance(t, tuple):
            return rebuild(t, [go(x) for x in t])
        return next(it)

    return go(template)
