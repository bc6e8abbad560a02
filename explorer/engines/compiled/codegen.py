"""The spec as C: a third reading of the one definition, printed from the Z3 terms ``smt/encoding.py`` builds.

``Encoding(spec).steps(s)`` already turns every action instance into a list of (guard, successor) pairs
over one Z3 constant per state *leaf* (``flags[w0]``, ``prog_refcnt[prog0]``); invariants, the state
constraint, witnesses and the liveness predicates are Z3 terms over the same leaves. This module prints
those terms, after ``z3.simplify``, as C expressions over an array of leaf values, and adds the exact
bit packing of a state (each leaf has a finite domain: ``ceil(log2(hi - lo + 1))`` bits). Nothing here
knows any particular spec, so the compiled engine explores exactly what BFS and Z3 read.

The generated file is meant to be read: one block per action instance (labelled as in traces), leaves
named by ``enum`` constants, shared sub-terms as named locals. ``search.c`` (the search,
hand-written once) is compiled together with it; ``engine.py`` compiles, caches and loads both.

A term the printer has no C for (say, integer division) raises ``CodegenError``; so does a spec
function that cannot be read symbolically. The caller then falls back to the Python engine, with a
notice naming the action, rather than guess.

The same spec prints the same C in any process, whatever was built before it (so that the library
cache, keyed by the source, hits across processes): ``z3.simplify`` orders the arguments of sums,
conjunctions and comparisons by the ids of the terms, and Z3 hands out ids from one table per context,
reusing freed ones, so the order depended on every term built earlier in the process. ``generate``
therefore builds and prints its terms in a Z3 context of its own (``_own_z3_context``), where the ids
follow from the spec alone.

Semantics kept: integer arithmetic is done in ``int64_t`` without wrap-around, as Python does; an
updated leaf outside its type stops the search with a type error (BFS raises one there); an update of
a Bool leaf to an integer, or the reverse, is a type error when its step is enabled.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import z3

from explorer.engines.smt.encoding import Encoding, _leaves
from explorer.engines.tlc_count import multiplicity_c
from spec.lang import BoolType, Enum, Fn, Instance, Int, Spec, SpecError, Type
from spec.terms import raw as _raw

WORD = 64  # leaves never straddle a 64-bit word of the packed state


class CodegenError(SpecError):
    """The spec (or one of its terms) has no C reading; the message names what and where."""


@dataclass
class Leaf:
    name: str  # as in traces: flags[w0]
    var: int  # the variable it belongs to
    path: tuple[int, ...]  # the function arguments leading to it
    domains: tuple[Enum, ...]  # the domain Enum of each argument
    type: Type  # BoolType, Int or Enum
    lo: int
    hi: int
    bits: int
    word: int = 0
    shift: int = 0


def _leaf_range(t: Type) -> tuple[int, int]:
    if isinstance(t, BoolType):
        return 0, 1
    if isinstance(t, Int):
        return t.lo, t.hi
    if isinstance(t, Enum):
        return 0, len(t) - 1
    raise CodegenError(f"type {t!r} has no C encoding")


def spec_leaves(spec: Spec) -> list[Leaf]:
    """Every leaf of a state, in the order ``smt.encoding`` creates its constants, with its bit field."""
    out: list[Leaf] = []

    def walk(var: int, name: str, t: Type, path: tuple[int, ...], doms: tuple[Enum, ...]) -> None:
        if isinstance(t, Fn):
            for i in t.domain:
                walk(var, t.element_name(name, i), t.at(i), (*path, i), (*doms, t.domain))
            return
        lo, hi = _leaf_range(t)
        bits = max(1, math.ceil(math.log2(hi - lo + 1))) if hi > lo else 0
        out.append(Leaf(name, var, path, doms, t, lo, hi, bits))

    for k, v in enumerate(spec.variables):
        walk(k, v.name, v.type, (), ())
    word, used = 0, 0
    for leaf in out:
        if used + leaf.bits > WORD:
            word, used = word + 1, 0
        leaf.word, leaf.shift = word, used
        used += leaf.bits
    return out


def state_words(leaves: Sequence[Leaf]) -> int:
    return (max((lf.word for lf in leaves), default=0) + 1) if leaves else 1


def state_bytes(leaves: Sequence[Leaf]) -> int:
    """Bytes of a packed state: the used bits of the last word rounded up to whole bytes."""
    if not leaves:
        return 1
    last = max(lf.word for lf in leaves)
    used = max(lf.shift + lf.bits for lf in leaves if lf.word == last)
    return max(1, last * 8 + (used + 7) // 8)


def flatten(spec: Spec, s: Any) -> list[int]:
    """A concrete state as its list of leaf values (bools as 0/1)."""
    return [int(x) for x in _leaves(tuple(s))]


def unflatten(spec: Spec, leaves: Sequence[Leaf], values: Sequence[int]) -> Any:
    """The concrete state (namedtuple) of a list of leaf values."""
    it = iter(zip(leaves, values, strict=True))

    def build(t: Type) -> Any:
        if isinstance(t, Fn):
            return t.build([build(t.at(i)) for i in t.domain])
        _leaf, v = next(it)
        return bool(v) if isinstance(t, BoolType) else int(v)

    return spec.State(*(build(v.type) for v in spec.variables))


# --------------------------------------------------------------------------- terms to C

_BOOL_OPS = {z3.Z3_OP_AND: " && ", z3.Z3_OP_OR: " || "}
_BIN_OPS = {
    z3.Z3_OP_LE: "<=", z3.Z3_OP_LT: "<", z3.Z3_OP_GE: ">=", z3.Z3_OP_GT: ">",
    z3.Z3_OP_ULEQ: "<=", z3.Z3_OP_ULT: "<", z3.Z3_OP_UGEQ: ">=", z3.Z3_OP_UGT: ">",
    z3.Z3_OP_SLEQ: "<=", z3.Z3_OP_SLT: "<", z3.Z3_OP_SGEQ: ">=", z3.Z3_OP_SGT: ">",
    z3.Z3_OP_SUB: "-", z3.Z3_OP_BSUB: "-", z3.Z3_OP_IMPLIES: None, z3.Z3_OP_XOR: "!=",
}  # fmt: skip
_NARY = {z3.Z3_OP_ADD: " + ", z3.Z3_OP_BADD: " + ", z3.Z3_OP_MUL: " * ", z3.Z3_OP_BMUL: " * "}


# A term as the printer reads it: (operator, argument ids, payload, the term's Z3 AST). The operator
# is a Z3 decl kind, or _NUM (payload: the value) or _CONST (a constant: a leaf); the payload of an
# EXTRACT is (hi, lo), of a CONCAT the bit widths of its arguments.
_NUM, _CONST = -1, -2
_Node = tuple[int, tuple[int, ...], Any, Any]


class _Reader:
    """Reads Z3 terms through Z3's C API directly (``z3core._lib``): the Python API wraps every sub-term
    it visits in a reference-counted object, which made reading the terms most of ``generate``'s time.
    The terms read stay valid while their roots live (the Printer keeps them in ``alive``)."""

    def __init__(self, ctx: z3.Context):
        self.context = ctx
        self.ctx = ctx.ref()
        self.id, self.kind, self.to_app = _raw("Z3_get_ast_id"), _raw("Z3_get_ast_kind"), _raw("Z3_to_app")
        self.nargs, self.arg = _raw("Z3_get_app_num_args"), _raw("Z3_get_app_arg")
        self.decl, self.decl_kind = _raw("Z3_get_app_decl"), _raw("Z3_get_decl_kind")
        self.int_param, self.sort = _raw("Z3_get_decl_int_parameter"), _raw("Z3_get_sort")
        self.sort_kind, self.bv_size = _raw("Z3_get_sort_kind"), _raw("Z3_get_bv_sort_size")
        self.numeral = _raw("Z3_get_numeral_string")

    def read(self, root: Any, nodes: dict[int, _Node]) -> int:
        """Add root and its sub-terms not yet in ``nodes``; returns root's id."""
        ctx = self.ctx
        root_id = self.id(ctx, root)
        stack = [(root, root_id)]
        while stack:
            a, k = stack.pop()
            if k in nodes:
                continue
            kind = self.kind(ctx, a)
            if kind == z3.Z3_NUMERAL_AST:
                sk = self.sort_kind(ctx, self.sort(ctx, a))
                if sk not in (z3.Z3_INT_SORT, z3.Z3_BV_SORT):
                    raise CodegenError(f"no C for the numeral {self.show(a)}")
                text = self.numeral(ctx, a)  # bytes from the C function, str from the checked wrapper
                nodes[k] = (_NUM, (), int(text.decode() if isinstance(text, bytes) else text), a)
                continue
            if kind != z3.Z3_APP_AST:
                raise CodegenError("no C for a quantifier or bound variable")
            app = self.to_app(ctx, a)
            op = self.decl_kind(ctx, self.decl(ctx, app))
            args = [self.arg(ctx, app, i) for i in range(self.nargs(ctx, app))]
            ids = tuple(self.id(ctx, x) for x in args)
            if not args and op not in (z3.Z3_OP_TRUE, z3.Z3_OP_FALSE):
                nodes[k] = (_CONST, (), None, a)
                continue
            if op == z3.Z3_OP_EXTRACT:
                d = self.decl(ctx, app)
                payload: Any = (self.int_param(ctx, d, 0), self.int_param(ctx, d, 1))
            elif op == z3.Z3_OP_CONCAT:
                payload = tuple(self.bv_size(ctx, self.sort(ctx, x)) for x in args)
            else:
                payload = None
            nodes[k] = (op, ids, payload, a)
            stack.extend(zip(reversed(args), reversed(ids), strict=True))
        return root_id

    def show(self, a: Any) -> str:
        """A term in Z3's notation, for messages."""
        return str(z3.ExprRef(a, self.context))


class Printer:
    """Prints Z3 terms as C over leaf arrays; shared sub-terms become named locals (``lines``)."""

    def __init__(self, leaf_ref: dict[int, str], where: str):
        self.leaf_ref = leaf_ref  # Z3 constant id -> C expression (s[L_flags__w0])
        self.where = where
        self.lines: list[str] = []
        self.memo: dict[int, str] = {}
        self.uses: dict[int, int] = {}
        self.n = 0
        self.nodes: dict[int, _Node] = {}  # every term read, by Z3 id
        self.reader: _Reader | None = None
        # Z3 reuses the id of a term that has been freed: every term whose id is a key above is kept
        # alive here (a sub-term lives as long as its root), or a later, different term could be
        # printed as an earlier one's local.
        self.alive: list[z3.ExprRef] = []

    def _read(self, t: z3.ExprRef) -> int:
        if self.reader is None:
            self.reader = _Reader(t.ctx)
        self.alive.append(t)
        return self.reader.read(t.as_ast(), self.nodes)

    def count(self, roots: Sequence[z3.ExprRef]) -> None:
        """Count each sub-term's parents among roots, so terms used twice are computed once."""
        stack = [self._read(t) for t in roots]
        while stack:
            k = stack.pop()
            self.uses[k] = self.uses.get(k, 0) + 1
            if self.uses[k] == 1:
                stack.extend(self.nodes[k][1])

    def c(self, t: z3.ExprRef) -> str:
        return self._c(self._read(t))

    def _c(self, k: int) -> str:
        if k in self.memo:
            return self.memo[k]
        text = self._print(k)
        if self.uses.get(k, 0) > 1 and self.nodes[k][1]:
            self.n += 1
            name = f"e{self.n}"
            self.lines.append(f"const int64_t {name} = {text};")
            text = name
        self.memo[k] = text
        return text

    def _print(self, k: int) -> str:
        op, ids, payload, ast = self.nodes[k]
        if op == z3.Z3_OP_TRUE:
            return "1"
        if op == z3.Z3_OP_FALSE:
            return "0"
        if op == _NUM:
            return str(payload)
        if op == _CONST:
            ref = self.leaf_ref.get(k)
            if ref is None:
                raise CodegenError(f"{self.where}: the term {self._show(ast)} is no leaf of this state")
            return ref
        args = [self._c(a) for a in ids]
        if op in _BOOL_OPS:
            return "(" + _BOOL_OPS[op].join(args) + ")" if args else ("1" if op == z3.Z3_OP_AND else "0")
        if op in _NARY:
            return "(" + _NARY[op].join(args) + ")"
        if op == z3.Z3_OP_NOT:
            return f"!{args[0]}"
        if op == z3.Z3_OP_UMINUS or op == z3.Z3_OP_BNEG:
            return f"(-{args[0]})"
        if op == z3.Z3_OP_EQ or op == z3.Z3_OP_IFF:
            return f"({args[0]} == {args[1]})"
        if op == z3.Z3_OP_DISTINCT:
            pairs = [f"{a} != {b}" for i, a in enumerate(args) for b in args[i + 1 :]]
            return "(" + " && ".join(pairs) + ")"
        if op == z3.Z3_OP_ITE:
            return f"({args[0]} ? {args[1]} : {args[2]})"
        if op == z3.Z3_OP_IMPLIES:
            return f"(!{args[0]} || {args[1]})"
        if op in _BIN_OPS:
            return f"({args[0]} {_BIN_OPS[op]} {args[1]})"
        if op == z3.Z3_OP_EXTRACT:
            hi, lo = payload
            return f"(({args[0]} >> {lo}) & {(1 << (hi - lo + 1)) - 1})"
        if op == z3.Z3_OP_CONCAT:
            out = args[0]
            for a, size in zip(args[1:], payload[1:], strict=True):
                out = f"(({out} << {size}) | {a})"
            return out
        assert self.reader is not None
        term = z3.ExprRef(ast, self.reader.context)
        raise CodegenError(f"{self.where}: no C for the operator {term.decl().name()} (in {term})")

    def _show(self, ast: Any) -> str:
        assert self.reader is not None
        return self.reader.show(ast)


# --------------------------------------------------------------------------- the generated file


@dataclass
class Program:
    """The generated C source and what the Python side needs to talk to it."""

    source: str
    leaves: list[Leaf]
    instances: list[Instance]
    # extra predicates with no C reading (their C returns 0): the caller evaluates them in Python
    skipped_state: set[int] = field(default_factory=set)
    skipped_step: set[int] = field(default_factory=set)

    @property
    def record_bytes(self) -> int:
        """A stored state's record in search.c: packed state, parent id, action instance."""
        return state_bytes(self.leaves) + 4 + (2 if len(self.instances) < 65535 else 4)


def _ident(name: str) -> str:
    return "L_" + re.sub(r"\W", "_", name.replace("][", "__").replace("[", "__").rstrip("]"))


def _simplify(t: Any) -> Any:
    return z3.simplify(t) if isinstance(t, z3.ExprRef) else t


@contextmanager
def _own_z3_context() -> Iterator[None]:
    """Make a fresh Z3 context the default one while the body runs, then restore the previous one.

    Every term ``generate`` builds (the state constants of ``Encoding``, and whatever the spec's
    functions build from them through ``spec.lang``'s helpers, which take the default context) then
    lives in a context that saw nothing else, so its ids, and with them the argument order
    ``z3.simplify`` chooses, depend on the spec alone. The context is freed with its last term (the
    generated program keeps none). z3's Python API has no public setter for the default context; where
    its private name is missing the body runs in the shared context (correct C, in a history-dependent
    order: the cache then misses across processes, which ``tests/test_native.py`` would show)."""
    z3_module = getattr(z3, "z3", None)
    if z3_module is None or not hasattr(z3_module, "_main_ctx"):
        yield
        return
    saved = z3_module._main_ctx
    z3_module._main_ctx = z3.Context()
    try:
        yield
    finally:
        z3_module._main_ctx = saved


def generate(
    spec: Spec,
    state_preds: Sequence[tuple[str, Callable[[Any], Any]]] = (),
    step_preds: Sequence[tuple[str, Callable[[Any, Any], Any], list[int]]] = (),
    perms: Sequence[tuple[list[int], list[list[int] | None]]] = (),
) -> Program:
    """C for spec: pack/unpack, the successor function, the invariants and the constraint, plus extra
    state predicates (``fn(s)``), step predicates (``fn(s, t)``, evaluated on the steps of the listed
    instances) and the symmetry permutations (leaf source index and value map per leaf).

    The same spec gives byte-identical C in every process (see the module docstring)."""
    with _own_z3_context():
        return _generate(spec, state_preds, step_preds, perms)


def _generate(
    spec: Spec,
    state_preds: Sequence[tuple[str, Callable[[Any], Any]]],
    step_preds: Sequence[tuple[str, Callable[[Any, Any], Any], list[int]]],
    perms: Sequence[tuple[list[int], list[list[int] | None]]],
) -> Program:
    enc = Encoding(spec)
    leaves = spec_leaves(spec)
    s0, s1 = enc.state(0), enc.state(1)
    consts0, consts1 = _leaves(tuple(s0)), _leaves(tuple(s1))
    ref0 = {c.get_id(): f"s[{_ident(lf.name)}]" for c, lf in zip(consts0, leaves, strict=True)}
    ref1 = {c.get_id(): f"t[{_ident(lf.name)}]" for c, lf in zip(consts1, leaves, strict=True)}
    nw, nb = state_words(leaves), state_bytes(leaves)
    insts = spec.instances()
    action_of = {id(a): k for k, a in enumerate(spec.actions)}
    inst_action = ", ".join(str(action_of[id(i.action)]) for i in insts)
    out: list[str] = [
        f"/* Generated by explorer.compiled.codegen from spec {spec.name!r}: rebuilt from the spec. */",
        "#include <stdint.h>",
        "#include <string.h>",
        "#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__",
        "#error the packed state is cut from little-endian 64-bit words",
        "#endif",
        "",
        f"#define NLEAVES {len(leaves)}",
        f"#define NWORDS {nw}",
        f"#define SBYTES {nb}",
        f"#define NINST {len(insts)}",
        f"#define NACTIONS {len(spec.actions)}",
        f"#define NINV {len(spec.invariants)}",
        f"#define NSPRED {len(state_preds)}",
        f"#define NTPRED {len(step_preds)}",
        f"#define NPERMS {max(1, len(perms))}",
        "typedef int32_t leaf_t;",
        "",
        "enum leaf {",
        *(f"    {_ident(lf.name)} = {i},  /* {lf.type!r}, bits {lf.word * WORD + lf.shift}.. */"
          for i, lf in enumerate(leaves)),
        "};",
        "",
        f"static const int32_t INST_ACTION[NINST] = {{{inst_action}}};  /* the action of each instance */",
        "",
    ]  # fmt: skip
    out += _pack_functions(leaves, nw, nb)
    out += _successors(spec, enc, s0, leaves, ref0, insts)
    out += _predicates(
        "spec_invariant",
        [(p.name, p.fn) for p in spec.invariants],
        lambda name, fn: enc.pred(fn, s0, f"invariant {name}"),
        ref0,
    )
    constraint = spec.constraint
    out += _predicates(
        "spec_constraint_one",
        [(constraint.name, constraint.fn)] if constraint else [],
        lambda name, fn: enc.pred(fn, s0, f"state constraint {name}"),
        ref0,
    )
    out += [f"static int spec_has_constraint = {1 if constraint else 0};", ""]
    skipped_state: set[int] = set()
    skipped_step: set[int] = set()
    out += _predicates(
        "spec_state_pred",
        list(state_preds),
        lambda name, fn: enc.pred(fn, s0, f"predicate {name}"),
        ref0,
        skipped=skipped_state,
    )
    out += _predicates(
        "spec_step_pred",
        [(n, f) for n, f, _ in step_preds],
        lambda name, fn: enc.pred(lambda s: fn(s, s1), s0, f"step predicate {name}"),
        {**ref0, **ref1},
        two_states=True,
        skipped=skipped_step,
    )
    out += _perm_tables(perms, len(leaves))
    return Program(
        "\n".join(out) + "\n",
        leaves,
        insts,
        skipped_state,
        skipped_step,
    )


def _pack_functions(leaves: Sequence[Leaf], nw: int, nb: int) -> list[str]:
    out = ["static void spec_pack(const leaf_t *v, uint8_t *p) {", f"    uint64_t w[{nw}] = {{0}};"]
    for lf in leaves:
        if lf.bits:
            out.append(f"    w[{lf.word}] |= (uint64_t)(v[{_ident(lf.name)}] - ({lf.lo})) << {lf.shift};")
    out += ["    memcpy(p, w, SBYTES);", "}", ""]
    out += ["static void spec_unpack(const uint8_t *p, leaf_t *v) {", f"    uint64_t w[{nw}] = {{0}};"]
    out.append("    memcpy(w, p, SBYTES);")
    for lf in leaves:
        field_ = f"(leaf_t)((w[{lf.word}] >> {lf.shift}) & {(1 << lf.bits) - 1}u)" if lf.bits else "0"
        out.append(f"    v[{_ident(lf.name)}] = {field_} + ({lf.lo});")
    out += ["}", ""]
    return out


def _update_value(leaf: Leaf, v: Any, pr: Printer) -> str | None:
    """C for the new value of a leaf; None when the value cannot have the leaf's type (a type error)."""
    is_bool_value = type(v) is bool or isinstance(v, z3.BoolRef)
    if isinstance(leaf.type, BoolType) != is_bool_value:
        return None
    if type(v) in (bool, int):
        return str(int(v))
    if not isinstance(v, z3.ExprRef):
        return None
    return pr.c(v)


def _successors(
    spec: Spec, enc: Encoding, s0: Any, leaves: list[Leaf], ref0: dict[int, str], insts: list[Instance]
) -> list[str]:
    blocks: list[list[str]] = []  # one per step, in the order BFS tries them
    tlc = spec.counts_like_tlc()
    pre = _leaves(tuple(s0))
    var_leaves = [len(_leaves(x)) if isinstance(x, tuple) else 1 for x in s0]
    steps = enc.steps(s0)
    for st in steps:
        where = f"action {st.inst.label}"
        pr = Printer(ref0, where)
        guard = _simplify(st.guard)
        if z3.is_false(guard):
            continue
        post_vals: list[Any] = []
        for var, v, width in zip(spec.variables, st.post, var_leaves, strict=True):
            flat = _leaves(v) if isinstance(var.type, Fn) else [v]
            if len(flat) != width or (not isinstance(var.type, Fn) and isinstance(v, tuple)):
                raise CodegenError(f"{where}: {var.name} is set to a value of the wrong shape")
            post_vals += flat
        pr.count([guard])
        gtext = pr.c(guard)
        out: list[str] = []
        blocks.append(out)
        out.append(f"    /* {st.inst.label} */")
        out.append("    {")
        out += [f"        {line}" for line in pr.lines]
        out.append(f"        if ({gtext}) {{")
        pr.lines = []
        changed: list[tuple[int, str | None]] = []
        post_vals = [_simplify(v) for v in post_vals]
        pr.count([v for v in post_vals if isinstance(v, z3.ExprRef)])
        checks = []
        for i, (lf, v, old) in enumerate(zip(leaves, post_vals, pre, strict=True)):
            if isinstance(v, z3.ExprRef) and v.eq(old):
                continue  # UNCHANGED
            text = _update_value(lf, v, pr)
            changed.append((i, text))
            if text is None or isinstance(lf.type, BoolType):
                continue
            if type(v) is int and lf.lo <= v <= lf.hi:
                continue  # a constant of the leaf's type
            name = _ident(lf.name)
            checks.append(f"(t[{name}] < {lf.lo} || t[{name}] > {lf.hi})")
        bad_type = any(text is None for _, text in changed)
        # TLC's counting: the step's multiplicity, from the guard as the spec built it (tlc_count.py)
        more = multiplicity_c(st.guard, pr.c) if tlc else None
        out += [f"            {line}" for line in pr.lines]
        out.append("            memcpy(t, s, sizeof t);")
        for i, text in changed:
            if text is not None:
                out.append(f"            t[{_ident(leaves[i].name)}] = (leaf_t)({text});")
        ok = "0" if bad_type else ("!(" + " || ".join(checks) + ")" if checks else "1")
        out.append("            *enabled = 1;")
        out.append(f"            if (emit(x, {st.inst.index}, t, {ok})) return -1;")
        if more is not None:
            out.append(f"            if (emit_more(x, {st.inst.index}, {more} - 1)) return -1;")
        out.append("        }")
        out.append("    }")
    return _successor_functions(blocks)


# Steps per C function: gcc's optimisation time grows faster than linearly in a function's size
# (measured: a 212-step timer spec compiles at -O1 in 3.2 s as one function, 2.0 s in functions of 8
# steps, 2.5 s in one function per step; the 250 libraries of a matrix run 221 -> 200 s at -O1 and
# 99 -> 93 s at -O0). The search runs as fast: the calls are per state, not per step.
STEPS_PER_FUNCTION = 8


def _successor_functions(blocks: list[list[str]]) -> list[str]:
    """spec_successors: the steps' blocks, STEPS_PER_FUNCTION to a function, called in order."""
    out = [
        "/* Every enabled step of every action instance, in the order BFS tries them: emit() counts it,",
        "   checks the updated leaves' types, the constraint and the invariants, and stores it if new. */",
        "struct search;",
        "static int emit(struct search *x, int inst, leaf_t *t, int changed_lo_hi_ok);",
        "static int emit_more(struct search *x, int inst, int64_t n);",
    ]
    calls = []
    for k in range(0, len(blocks), STEPS_PER_FUNCTION):
        name = f"spec_successors_{k // STEPS_PER_FUNCTION}"
        out.append(f"static int {name}(struct search *x, const leaf_t *s, int *enabled) {{")
        out.append("    leaf_t t[NLEAVES];")
        for block in blocks[k : k + STEPS_PER_FUNCTION]:
            out += block
        out += ["    return 0;", "}", ""]
        calls.append(f"    if ({name}(x, s, &enabled)) return -1;")
    out += ["static int spec_successors(struct search *x, const leaf_t *s) {", "    int enabled = 0;"]
    out += calls
    out += ["    return enabled;", "}", ""]
    return out


def _predicates(
    cname: str,
    preds: Sequence[tuple[str, Callable[..., Any]]],
    term: Callable[[str, Callable[..., Any]], Any],
    refs: dict[int, str],
    two_states: bool = False,
    skipped: set[int] | None = None,
) -> list[str]:
    """C for each predicate; with ``skipped`` given, one with no C reading returns 0 and is listed."""
    args = "const leaf_t *s, const leaf_t *t" if two_states else "const leaf_t *s"
    out = []
    for k, (name, fn) in enumerate(preds):
        pr = Printer(refs, name)
        try:
            body = _simplify(term(name, fn))
            pr.count([body])
            text = pr.c(body)
        except SpecError:
            if skipped is None:
                raise
            skipped.add(k)
            pr.lines, text = [], "0 /* no C reading: evaluated in Python */"
        unused = "    (void)t;\n" if two_states else ""
        out.append(f"/* {name} */\nstatic int {cname}_{k}({args}) {{\n{unused}"
                   + "".join(f"    {line}\n" for line in pr.lines) + f"    return {text};\n}}")  # fmt: skip
    calls = "".join(
        f"    case {k}: return {cname}_{k}({'s, t' if two_states else 's'});\n" for k in range(len(preds))
    )
    out.append(f"static int {cname}(int k, {args}) {{\n    switch (k) {{\n{calls}    }}\n"
               + ("    (void)t;\n" if two_states else "") + "    (void)s;\n    return 1;\n}\n")  # fmt: skip
    return out


def _perm_tables(perms: Sequence[tuple[list[int], list[list[int] | None]]], n: int) -> list[str]:
    """PERM_SRC[p][i]: the leaf whose value moves to leaf i; PERM_VAL[p][i]: its value map (or -1s)."""
    if not perms:
        perms = [(list(range(n)), [None] * n)]
    width = max([len(m) for _, maps in perms for m in maps if m is not None] or [1])
    src = ",\n    ".join("{" + ", ".join(map(str, s)) + "}" for s, _ in perms)
    vals = []
    for _, maps in perms:
        rows = [m + [-1] * (width - len(m)) if m is not None else [-1] * width for m in maps]
        vals.append("{" + ", ".join("{" + ", ".join(map(str, r)) + "}" for r in rows) + "}")
    return [
        f"#define VMAPW {width}",
        f"static const int32_t PERM_SRC[NPERMS][NLEAVES > 0 ? NLEAVES : 1] = {{\n    {src}\n}};",
        "static const int32_t PERM_VAL[NPERMS][NLEAVES > 0 ? NLEAVES : 1][VMAPW] = {\n    "
        + ",\n    ".join(vals)
        + "\n};",
        "",
    ]
