"""The spec as a Promela model for Spin: ``export`` prints it (``python -m explorer export-promela``).

How the model is obtained: as the compiled engine's C (``explorer/engines/compiled/codegen.py``), from
the Z3 terms of ``explorer.engines.smt.encoding.Encoding(spec).steps(s)`` (the (guard, successor) pairs
of every action instance) and ``Encoding.pred`` (invariants, state constraint), after ``z3.simplify``,
over one global variable per state leaf (``flags[w0]`` is ``flags_w0``). The printer is codegen's
``Printer`` with two changes: IF-THEN-ELSE is Promela's ``(c -> a : b)``, and a shared sub-term is
printed again where it is used instead of becoming a C local (Promela has no locals outside the state
vector; on the shipped models this makes a term at most a few times longer, measured).

The model (its header says the same to a Spin user):

* one ``active proctype``; each leaf a global of the smallest type holding its range (``bit``,
  ``byte``, ``short``, ``int``; a range beyond 32 bits is refused), initialised to its first initial
  value; a comment lists the names of every enumeration's values;
* Init, in an ``atomic``: a nondeterministic ``if`` per variable with several initial values, the state
  constraint if there is one, then the invariants;
* Next: ``do :: atomic { if :: d_step { guard -> checks; updates } ... fi; d_step { invariants } } od``,
  one option per step of each action instance, labelled (comment) as traces label the instance. The
  guard is the ``d_step``'s first statement, hence its executability; then each updated value outside
  its leaf's type fails an ``assert`` tagged as a type error (our engines stop there); then the
  updates, simultaneous: ordered so that no update reads a leaf assigned before it, and where updates
  read each other in a cycle, one old value is first copied into a local of the process (set back to 0
  before the ``d_step`` ends, so it never tells two stored states apart);
* a state with no enabled step blocks at the ``do``, which is no end state: Spin's "invalid end state"
  is our deadlock (``pan -E`` where the config does not check deadlock);
* each invariant is a separate ``assert(INV_<name> && (...))``: ``INV_<name>`` is a number
  (``#define``) that Spin prints at the start of the message, which is how ``tags`` names it. By
  default (``report_once``) an invariant is checked until it first fails, through a ``hidden`` flag
  (outside the state vector): ``pan -c0`` would otherwise print a line per violating state (33 million
  lines, 7.5 GB, in the 14.2M-state cell, since messages of two invariants alternate). Spin refuses
  ``hidden`` variables with ``-DBFS``, so ``report_once=False`` (``--bfs``) leaves them out;
* a state constraint is read as TLC and our BFS read it: a successor that violates it is discarded (the
  option's ``d_step`` then leaves the state as it is, a self-loop: no new state, and the state still has
  an enabled step); an initial state that violates it goes, with every leaf set to 0, to an end state
  (one more stored state: ``extra_states`` is 2).

A term with no Promela reading raises ``PromelaError`` (a ``SpecError``: one line naming the action or
predicate); a function with no symbolic reading raises ``Encoding``'s ``SpecError``; nothing is guessed.
How Spin is run on the model is ``spin.py``; how its answers are compared with ours,
``explorer.runs.spin_check``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import z3

from explorer.engines.bfs import DEADLOCK
from explorer.engines.compiled.codegen import CodegenError, Leaf, Printer, spec_leaves
from explorer.engines.smt.encoding import Encoding, _leaves
from spec.lang import BoolType, Enum, Fn, Spec, SpecError

TYPE_ERROR = "TypeError"  # the property name of an out-of-type update (our engines stop with an error)


class PromelaError(SpecError):
    """The spec (or one of its terms) has no Promela reading; the message names what and where."""


# --------------------------------------------------------------------------- names and types

PROMELA_KEYWORDS = frozenset(
    """active assert atomic bit bool break byte c_code c_decl c_expr c_state c_track chan d_step do else
    empty enabled eval false fi for full goto hidden if in init inline int len local mtype nempty never
    nfull notrace np_ od of pc_value pid print printf printm priority proctype provided run select
    short show skip timeout trace true typedef unless unsigned xr xs get_priority set_priority ltl
    always eventually until weakuntil stronguntil implies equivalent release""".split()
)
C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto if inline
    int long register restrict return short signed sizeof static struct switch typedef union unsigned
    void volatile while _Bool""".split()
)
# lower-case names that pan.h/pan.c #define or use for the state (a leaf named so would be rewritten)
PAN_NAMES = frozenset(
    """now uchar uint ulong ushort bfs_do_store cas continue enter_critical final get16bits get_permuted
    getframe grab_state iam_alive leave_critical long max maxseq0 minseq0 mix onstack_now onstack_put
    onstack_zap pptr pthread_equal q_sz qptr rand rot wasnew depth trpt this""".split()
)
RESERVED = PROMELA_KEYWORDS | C_KEYWORDS | PAN_NAMES


class _Names:
    """One namespace for every identifier of the model (cpp's #defines included)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, base: str) -> str:
        name = re.sub(r"\W", "_", base).strip("_") or "v"
        if name[0].isdigit():
            name = "v_" + name
        # all-capitals names are left to pan's macros (VECTORSZ, WS, ...); ours get a lower-case tail
        if name in RESERVED or name.upper() == name:
            name += "_v"
        return self._unique(name)

    def define(self, base: str) -> str:
        """A #define name (upper-case prefix), distinct from every variable."""
        return self._unique(re.sub(r"\W", "_", base))

    def _unique(self, name: str) -> str:
        """name, or name_2, name_3, ... : the first not yet used; it is then used."""
        out, k = name, 1
        while out in self.used:
            k += 1
            out = f"{name}_{k}"
        self.used.add(out)
        return out


def _leaf_ident(name: str) -> str:
    """``flags[w0]`` -> ``flags_w0``; ``x[a][b]`` -> ``x_a_b``; a record's ``token.pos`` -> ``token_pos``."""
    return name.replace("][", "_").replace("[", "_").replace("].", "_").replace(".", "_").rstrip("]")


def promela_type(leaf: Leaf) -> str:
    """The smallest Promela type holding the leaf's range [lo, hi]."""
    lo, hi = leaf.lo, leaf.hi
    if isinstance(leaf.type, BoolType) or (lo >= 0 and hi <= 1):
        return "bit"
    if lo >= 0 and hi <= 255:
        return "byte"
    if lo >= -(2**15) and hi < 2**15:
        return "short"
    if lo >= -(2**31) and hi < 2**31:
        return "int"
    raise PromelaError(f"variable {leaf.name}: range [{lo}, {hi}] does not fit Promela's 32-bit int")


# --------------------------------------------------------------------------- terms to Promela


class PromelaPrinter(Printer):
    """codegen's printer, with Promela's conditional expression and every shared sub-term inlined."""

    def _c(self, k: int) -> str:
        text = self.memo.get(k)
        if text is None:
            text = self.memo[k] = self._print(k)
        return text

    def _print(self, k: int) -> str:
        op, ids, _payload, _ast = self.nodes[k]
        if op == z3.Z3_OP_ITE:
            c, a, b = (self._c(x) for x in ids)
            return f"({c} -> {a} : {b})"
        try:
            return super()._print(k)
        except CodegenError as e:
            raise PromelaError(str(e).replace("no C for", "no Promela for")) from None


def _reads(t: Any, const_leaf: dict[int, int]) -> set[int]:
    """The leaves (indices) a term reads."""
    if not isinstance(t, z3.ExprRef):
        return set()
    out: set[int] = set()
    seen: set[int] = set()
    stack = [t]
    while stack:
        x = stack.pop()
        k = x.get_id()
        if k in seen:
            continue
        seen.add(k)
        if z3.is_const(x) and k in const_leaf:
            out.add(const_leaf[k])
        stack.extend(x.children())
    return out


def _simplify(t: Any) -> Any:
    return z3.simplify(t) if isinstance(t, z3.ExprRef) else t


def _comment(text: str) -> str:
    return text.replace("*/", "* /").replace("\n", " ")


# --------------------------------------------------------------------------- the model


@dataclass
class PromelaModel:
    """A generated model and what is needed to read Spin's answer about it."""

    source: str
    name: str
    leaves: list[Leaf]
    idents: list[str]  # the Promela variable of each leaf
    tags: dict[int, str]  # assertion tag -> invariant name, or "TypeError: <leaf>"
    invariants: list[str]
    check_deadlock: bool
    report_once: bool
    extra_states: int  # states Spin stores that are not states of the spec (see the module docstring)
    steps: int  # options of the do loop (enabled steps of action instances)
    temps: int  # process locals used to break update cycles
    init_steps: int  # Spin's transitions before Init's invariants are checked (see bfs_depth)

    def bfs_depth(self, name: str, depth: int) -> int:
        """The depth at which Spin's -DBFS search first reports ``name`` (an invariant or "Deadlock")
        if our shortest trace to it has ``depth`` states: every step of the spec is 3 of Spin's
        transitions (the option's d_step, the jump past ``fi``, the invariants' d_step), and Init takes
        ``init_steps`` before its invariants are checked. Measured; tests/test_spin.py checks it."""
        return self.init_steps + 3 * (depth - 1) + (name == DEADLOCK)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.source, encoding="utf-8")
        return path


def export(
    spec: Spec,
    invariants: Sequence[str] | None = None,
    check_deadlock: bool = True,
    source: str = "",
    report_once: bool = True,
) -> PromelaModel:
    """The Promela model of spec, checking ``invariants`` (default: all of the spec's).

    ``report_once``: each assertion is checked until it first fails, through a ``hidden`` flag (not part
    of the state vector): ``pan -c0`` then prints one line per violated property instead of one per
    violating state (tens of millions in the largest cells). Spin refuses ``hidden`` with ``-DBFS``, so
    a model for a breadth-first search needs ``report_once=False`` (and a reader of pan's output that
    does not keep every line: ``run_spin`` streams it)."""
    try:
        return _Exporter(spec, invariants, check_deadlock, report_once).model(source)
    except CodegenError as e:
        raise e if isinstance(e, PromelaError) else PromelaError(str(e)) from None


class _Exporter:
    def __init__(self, spec: Spec, invariants: Sequence[str] | None, check_deadlock: bool, report_once: bool):
        self.spec = spec
        self.check_deadlock = check_deadlock
        self.report_once = report_once
        self.enc = Encoding(spec)
        self.leaves = spec_leaves(spec)
        self.s0 = self.enc.state(0)
        self.consts = _leaves(tuple(self.s0))
        self.names = _Names()
        self.idents = [self.names.take(_leaf_ident(lf.name)) for lf in self.leaves]
        self.types = [promela_type(lf) for lf in self.leaves]
        self.ref = {c.get_id(): ident for c, ident in zip(self.consts, self.idents, strict=True)}
        self.const_leaf = {c.get_id(): i for i, c in enumerate(self.consts)}
        self.widths = {v.name: len(_leaves(x)) for v, x in zip(spec.variables, self.s0, strict=True)}
        self.preds = (
            list(spec.invariants) if invariants is None else [spec.invariant_named(n) for n in invariants]
        )
        # assertion tags: the invariants 1..n, then one per leaf for a value outside its type
        self.tags: dict[int, str] = {}
        self.inv_define: list[str] = []
        for k, p in enumerate(self.preds, start=1):
            self.tags[k] = p.name
            self.inv_define.append(self.names.define(f"INV_{p.name}"))
        self.type_define: list[str] = []
        for i, lf in enumerate(self.leaves):
            self.tags[len(self.preds) + 1 + i] = f"{TYPE_ERROR}: {lf.name}"
            self.type_define.append(self.names.define(f"TYPE_{self.idents[i]}"))
        self.flags: dict[str, str] = {}  # tag define -> its hidden "reported" flag, in order of use
        self.temp_names: list[str] = []
        self.types_checked: set[int] = set()  # leaves whose updates are range-checked somewhere

    # ---- pieces
    def pred_text(self, fn: Callable[[Any], Any], what: str, refs: dict[int, str] | None = None) -> str:
        term = _simplify(self.enc.pred(fn, self.s0, what))
        return PromelaPrinter(self.ref if refs is None else refs, what).c(term)

    def check(self, define: str, cond: str) -> str:
        """``assert(TAG && cond)``; with report_once, skipped once it has failed (one line)."""
        if not self.report_once:
            return f"assert({define} && {cond});"
        flag = self.flags.get(define)
        if flag is None:
            flag = self.flags[define] = self.names.take(f"{define}_reported")
        return f"if :: !{flag} && !({cond}) -> {flag} = 1; assert({define} && {cond}) :: else -> skip fi;"

    def type_check(self, leaf: int, cond: str) -> str:
        """``assert(TYPE_<leaf> && cond)``, reported once like an invariant (``check``). A type error
        stops our engines, but Spin goes on past it (a short that wraps around walks through 65,536
        values): without the flag pan printed an error line at each step that broke a different type
        than the step before, millions in a random spec of the test suite, and reading them took
        longer than the search."""
        self.types_checked.add(leaf)
        return self.check(self.type_define[leaf], cond)

    def temp(self, k: int) -> str:
        while len(self.temp_names) <= k:
            self.temp_names.append(self.names.take(f"old_{len(self.temp_names)}"))
        return self.temp_names[k]

    def invariant_checks(self) -> list[str]:
        return [
            self.check(define, self.pred_text(p.fn, f"invariant {p.name}"))
            for define, p in zip(self.inv_define, self.preds, strict=True)
        ]

    def option(self, st: Any, cons_text: str | None) -> list[str] | None:
        """The do-loop option of one step: comment, then the d_step's lines; None if never enabled."""
        where = f"action {st.inst.label}"
        guard = _simplify(st.guard)
        if z3.is_false(guard):
            return None
        pr = PromelaPrinter(self.ref, where)
        post: list[Any] = []
        for var, v in zip(self.spec.variables, st.post, strict=True):
            if isinstance(var.type, Fn):
                flat = _leaves(v) if isinstance(v, tuple) else [v]
                if len(flat) != self.widths[var.name]:
                    raise PromelaError(f"{where}: {var.name} is set to a value of the wrong shape")
            elif isinstance(v, tuple):
                raise PromelaError(f"{where}: {var.name} is set to a value of the wrong shape")
            else:
                flat = [v]
            post += [_simplify(x) for x in flat]
        in_type: list[tuple[int, str]] = []  # (leaf, the condition its type check asserts)
        changed: list[tuple[int, Any, str]] = []  # (leaf, value, its text over the pre-state)
        for i, (lf, v, old) in enumerate(zip(self.leaves, post, self.consts, strict=True)):
            if isinstance(v, z3.ExprRef) and v.eq(old):
                continue  # UNCHANGED
            is_bool_value = type(v) is bool or isinstance(v, z3.BoolRef)
            if isinstance(lf.type, BoolType) != is_bool_value or not isinstance(v, (bool, int, z3.ExprRef)):
                in_type.append((i, "false"))  # a Bool set to a number, or back
                continue
            text = str(int(v)) if type(v) in (bool, int) else pr.c(v)
            if not isinstance(lf.type, BoolType) and not (type(v) is int and lf.lo <= v <= lf.hi):
                in_type.append((i, f"({lf.lo} <= {text} && {text} <= {lf.hi})"))
            changed.append((i, v, text))
        assigns, used = _ordered_assignments(
            changed, self.idents, self.const_leaf, self.ref, where, self.temp
        )
        assigns += [f"{self.temp(k)} = 0;" for k in range(used)]
        body = [self.type_check(i, cond) for i, cond in in_type]
        # The step is taken only if its successor is in type (and kept by the state constraint):
        # our engine stops at the first type error, and a Spin that went on with the wrapped-around
        # values searched a space hundreds of times ours (2.5 GB and minutes for a random spec of the
        # test suite) where all that is compared is which variable's type error it reports.
        keep = [cond for _, cond in in_type]
        constrained = cons_text is not None and bool(changed)
        if constrained:
            new_ref = dict(self.ref)
            for i, v, text in changed:
                new_ref[self.consts[i].get_id()] = f"({text})" if isinstance(v, z3.ExprRef) else text
            c = self.spec.constraint
            assert c is not None
            keep.append(self.pred_text(c.fn, f"state constraint {c.name}", new_ref))
        if keep:
            why = "outside its type (reported above: our engine stops there)"
            if constrained:
                why += " or violating the state constraint (as in TLC)"
            body += [
                "if",
                f":: {' && '.join(keep)} ->",
                *(f"   {a}" for a in assigns),
                f":: else  /* a successor {why}: not stored */",
                "fi;",
            ]
        else:
            body += assigns
        return [f"/* {_comment(st.inst.label)} */", f"d_step {{ {pr.c(guard)} ->", *(body or ["skip"])]

    # ---- the file
    def model(self, source: str) -> PromelaModel:
        spec = self.spec
        inv_lines = self.invariant_checks()
        constraint = spec.constraint
        cons_text = (
            self.pred_text(constraint.fn, f"state constraint {constraint.name}") if constraint else None
        )
        options = [o for o in (self.option(st, cons_text) for st in self.enc.steps(self.s0)) if o is not None]
        init_lines = self.init(cons_text)
        proc = self.names.take(f"{spec.name}_spec")
        out = _header(spec, source, self.preds, self.check_deadlock, constraint is not None, self.report_once)
        out.append(
            "/* Assertion tags: the first operand of each assert, a number Spin prints in its message. */"
        )
        for k, (define, p) in enumerate(zip(self.inv_define, self.preds, strict=True), start=1):
            doc = f": {_comment(p.doc.splitlines()[0])}" if p.doc else ""
            out.append(f"#define {define} {k}  /* invariant {p.name}{doc} */")
        for i, define in enumerate(self.type_define):
            if i in self.types_checked:
                what = f"{_comment(self.leaves[i].name)} set outside its type"
                out.append(f"#define {define} {len(self.preds) + 1 + i}  /* {what} */")
        enums: dict[int, Enum] = {id(lf.type): lf.type for lf in self.leaves if isinstance(lf.type, Enum)}
        if enums:
            out.append("")
            out.append("/* The values of the enumerations (a variable of one holds the number):")
            for e in enums.values():
                out.append(f"   {e.name}: " + ", ".join(f"{k} {_comment(n)}" for k, n in enumerate(e.names)))
            out.append("*/")
        out.append("")
        out.append("/* The state: one variable per leaf, initialised to its first initial value. */")
        first: list[int] = []
        for var in spec.variables:
            first += [int(x) for x in _leaves(var.init[0])]
        for lf, ident, ty, v in zip(self.leaves, self.idents, self.types, first, strict=True):
            out.append(f"{ty} {ident} = {v};  /* {_comment(lf.name)}: {lf.type!r} */")
        if self.flags:
            out.append("")
            out.append("/* Set when an assertion first fails, so that it is reported once. Hidden: not part")
            out.append(
                "   of the state (no state is told apart by it), not restored when the search backs up. */"
            )
            out += [f"hidden byte {flag};" for flag in self.flags.values()]
        out.append("")
        out.append(f"active proctype {proc}()")
        out.append("{")
        if self.temp_names:
            out.append(
                "    /* old values where updates read each other in a cycle; 0 again when a step ends */"
            )
            out.append(f"    int {', '.join(self.temp_names)};")
        out.append("    /* Init */")
        out.append("    atomic {")
        out += [f"        {line}" for line in init_lines]
        out.append("        d_step {  /* the invariants of the initial state */")
        out += [f"            {line}" for line in inv_lines] or ["            skip"]
        out.append("        }")
        out.append("    }")
        out.append("    /* Next: one option per step of an action instance. A state where none is enabled")
        out.append("       blocks here, which is no end state: Spin's invalid end state is our deadlock. */")
        out.append("    do")
        out.append("    :: atomic {")
        out.append("        if")
        for opt in options:
            out.append(f"        {opt[0]}")
            out.append(f"        :: {opt[1]}")
            out += [f"               {line}" for line in opt[2:]]
            out.append("           }")
        if not options:
            out.append("        :: false  /* no action instance has a step */")
        out.append("        fi;")
        out.append("        d_step {  /* the invariants of the new state */")
        out += [f"            {line}" for line in inv_lines] or ["            skip"]
        out.append("        }")
        out.append("       }")
        out.append("    od;")
        if cons_text is not None or spec.init_predicate is not None:
            out.append(
                "end_excluded:  /* where initial states outside the constraint (or Init) go: a valid end */"
            )
            out.append("    false")
        out.append("}")
        extra = 1
        inits = spec.init_states()
        if (constraint is not None and any(constraint.fn(s) is not True for s in inits)) or len(
            inits
        ) < math.prod(len(v.init) for v in spec.variables):
            extra += 1  # the all-0 state an excluded initial choice ends in
        return PromelaModel(
            "\n".join(out) + "\n",
            spec.name,
            self.leaves,
            self.idents,
            self.tags,
            [p.name for p in self.preds],
            self.check_deadlock,
            self.report_once,
            extra,
            len(options),
            len(self.temp_names),
            self.init_steps(),
        )

    def init(self, cons_text: str | None) -> list[str]:
        """Init: a nondeterministic choice for each variable with several initial values."""
        out: list[str] = []
        pos = 0
        for var in self.spec.variables:
            n = len(_leaves(var.init[0]))
            if len(var.init) > 1:
                out.append(f"if  /* {var.name}: one of {len(var.init)} initial values */")
                for value in var.init:
                    vals = [int(x) for x in _leaves(value)]
                    sets = "; ".join(f"{self.idents[pos + j]} = {x}" for j, x in enumerate(vals))
                    out.append(f":: d_step {{ {sets} }}")
                out.append("fi;")
            pos += n
        reset = "; ".join(f"{ident} = 0" for ident in self.idents)
        p = self.spec.init_predicate
        if p is not None:
            text = self.pred_text(p.fn, f"initial predicate {p.name}")
            out += [
                f"if  /* Init's {_comment(p.name)}: a choice outside it is no state: all 0, and end */",
                f":: d_step {{ {text} }}",
                f":: else -> d_step {{ {reset} }}; goto end_excluded",
                "fi;",
            ]
        if cons_text is not None:
            out += [
                "if  /* an initial state outside the state constraint is no state (TLC): all 0, and end */",
                f":: d_step {{ {cons_text} }}",
                f":: else -> d_step {{ {reset} }}; goto end_excluded",
                "fi;",
            ]
        return out

    def init_steps(self) -> int:
        """Spin's transitions from its first state to the one where Init's invariants are checked: one
        per ``if`` (the chosen option's d_step), and a jump from the last ``fi`` to the invariants'
        d_step (Spin's ``.(goto)``, as ``pan -d`` shows; none between two ``if``s)."""
        ifs = sum(len(var.init) > 1 for var in self.spec.variables) + (self.spec.constraint is not None)
        ifs += self.spec.init_predicate is not None
        return ifs + (ifs > 0)


def _ordered_assignments(
    changed: list[tuple[int, Any, str]],
    idents: list[str],
    const_leaf: dict[int, int],
    ref: dict[int, str],
    where: str,
    temp: Callable[[int], str],
) -> tuple[list[str], int]:
    """Assignments with the meaning of a simultaneous update: leaf x is assigned only after every update
    that reads x; a cycle is broken by copying the old value of one of its leaves into a local, which
    the updates still to come then read. Returns the statements and the number of locals used."""
    reads = {i: _reads(v, const_leaf) - {i} for i, v, _t in changed}
    text = {i: t for i, _v, t in changed}
    value = {i: v for i, v, _t in changed}
    pending = [i for i, _v, _t in changed]
    done: list[str] = []
    saved: dict[int, str] = {}
    while pending:
        ready = [i for i in pending if not any(i in reads[j] for j in pending if j != i)]
        if not ready:
            x = max(pending, key=lambda i: (sum(i in reads[j] for j in pending if j != i), -i))
            t = temp(len(saved))
            saved[x] = t
            done.append(f"{t} = {idents[x]};")
            sub = dict(ref)
            for cid, leaf in const_leaf.items():
                if leaf in saved:
                    sub[cid] = saved[leaf]
            for j in pending:
                if x in reads[j]:
                    reads[j].discard(x)
                    text[j] = PromelaPrinter(sub, where).c(value[j])
            continue
        for i in ready:
            done.append(f"{idents[i]} = {text[i]};")
        pending = [i for i in pending if i not in ready]
    return done, len(saved)


def _header(
    spec: Spec,
    source: str,
    preds: Sequence[Any],
    check_deadlock: bool,
    constrained: bool,
    report_once: bool,
) -> list[str]:
    inv = ", ".join(p.name for p in preds) or "none"
    e_flag = "" if check_deadlock else " -E"
    bfs = (
        "cannot be searched with -DBFS (Spin refuses hidden variables there; export with --bfs)"
        if report_once
        else "is the -DBFS variant (every failing state is reported, so pan's output can be long)"
    )
    extra = " (plus 1 if an initial state violates the state constraint)" if constrained else ""
    return [
        f"/* Promela model of spec {spec.name}" + (f" ({source})" if source else ""),
        "   Generated by `python -m explorer export-promela` (explorer/export_promela.py) from the Z3 terms",
        "   that the compiled engine prints as C. Do not edit: regenerate.",
        "",
        "   An exhaustive search that goes on after errors, as our breadth-first search does:",
        "       spin -o2 -a model.pml",
        "       cc -O1 -DSAFETY -DNOREDUCE -DMEMLIM=8192 -o pan pan.c",
        f"       ./pan -c0 -n -w26 -m2000000{e_flag}",
        "   -o2 keeps the variables that are only written (Spin would drop them, merging states); -w26:",
        "   a hash table of 2^26 slots; -m: the depth limit of pan's DFS (raise it if pan says it is too",
        "   small).",
        f"   The 'states, stored' line is then the number of reachable states of the spec plus 1{extra}:",
        "   the state before Init has run. (With -DBFS, Spin also stores the states inside atomic sequences:",
        f"   compare its 'nominal states' line.) This file {bfs}.",
        "",
        f"   Invariants (each a separate assert, tagged by a number #defined below): {inv}.",
        "   A deadlock (a reachable state where no action instance is enabled) is Spin's 'invalid end state'"
        + ("." if check_deadlock else "; this config does not check deadlock (-E)."),
        "   A step that sets a variable outside its type fails an assert tagged TYPE_<variable>, and its",
        "   successor is not stored (our engine stops at the first type error).",
        "   Each option of the do loop is one step of one action instance, labelled as in our traces: a",
        "   d_step whose first statement is the guard, then the range checks of the new values, then the",
        "   updates, which are simultaneous (ordered so that no update reads a variable already updated).",
        "*/",
        "",
    ]
