"""The spec as Promela, for Spin: ``export-promela`` writes it, ``spin-check`` runs Spin on it and compares.

``python -m explorer export-promela CONFIG [--set NAME=VALUE] [-o FILE.pml] [--bfs]`` writes the
Promela model of the config's spec (default ``out/promela/<config>.pml``), checking the config's
invariants and deadlock as ``check`` would. ``python -m explorer spin-check [CONFIG ...] [--matrix]
[--only CELL ...] [--set NAME=VALUE] [--bfs] [--jobs N] [--max-states N]`` exports each spec, runs
``spin -a``, compiles and runs ``pan``, runs our compiled engine on the same spec, and compares. Exit
status of both: 0 (written; every spec agrees), 1 (spin-check: a spec disagrees), 2 (bad input: a
config, ``--set``, an unwritable ``-o``, a spec with no Promela reading, ``spin`` or ``cc`` missing or
failing; one ``error:`` line on stderr), 130 (interrupted).

How the model is obtained: as the compiled engine's C (``explorer/compiled/codegen.py``), from the Z3
terms of ``explorer.smt.Encoding(spec).steps(s)`` (the (guard, successor) pairs of every action
instance) and ``Encoding.pred`` (invariants, state constraint), after ``z3.simplify``, over one global
variable per state leaf (``flags[w0]`` is ``flags_w0``). The printer is codegen's ``Printer`` with two
changes: IF-THEN-ELSE is Promela's ``(c -> a : b)``, and a shared sub-term is printed again where it is
used instead of becoming a C local (Promela has no locals outside the state vector; on the shipped
models this makes a term at most a few times longer, measured).

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

What Spin must say, checked by ``spin_check`` (and ``tests/test_spin.py`` on every matrix cell, the
classic specs and random specs): with ``spin -o2`` (do not hide variables that are only written: Spin
would drop them from the state and merge states) and full state storage, pan's "states, stored" is our
distinct count plus ``extra_states`` (1: the state before Init has run); ``pan -c0`` goes on after
errors, as our BFS does, and reports each violated invariant, and the deadlock, at least once. With
``-DBFS``, pan also stores the states inside ``atomic`` sequences (two per state here), so its
"nominal states" line is the one to compare (pan prints it with 6 significant digits), and the depth
of each first report is ``PromelaModel.bfs_depth`` of our shortest trace (3 of Spin's transitions per
step). Arithmetic is Spin's 32-bit ``int`` (the compiled engine's is 64-bit), which no shipped model
comes near.

A term with no Promela reading raises ``PromelaError`` (a ``SpecError``: one line naming the action or
predicate); a function with no symbolic reading raises ``Encoding``'s ``SpecError``; nothing is guessed.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import z3
from tabulate import tabulate

from explorer.cli_common import (
    EXIT_OK,
    EXIT_VIOLATION,
    UsageError,
    add_set_option,
    check_invariant_names,
    load,
)
from explorer.engines.bfs import DEADLOCK, Options
from explorer.engines.compiled.codegen import CodegenError, Leaf, Printer, spec_leaves
from explorer.engines.smt.encoding import Encoding, _leaves
from spec.lang import BoolType, Enum, Fn, Spec, SpecError

TYPE_ERROR = "TypeError"  # the property name of an out-of-type update (our engines stop with an error)


class PromelaError(SpecError):
    """The spec (or one of its terms) has no Promela reading; the message names what and where."""


class SpinUnavailable(Exception):
    """spin or a C compiler is not installed (one line saying which)."""


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
    """``flags[w0]`` -> ``flags_w0``; ``x[a][b]`` -> ``x_a_b``."""
    return name.replace("][", "_").replace("[", "_").rstrip("]")


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

    def c(self, t: z3.ExprRef) -> str:
        k = t.get_id()
        text = self.memo.get(k)
        if text is None:
            text = self._print(t)
            self.alive.append(t)  # keep the id from being reused while memo holds it
            self.memo[k] = text
        return text

    def _print(self, t: z3.ExprRef) -> str:
        if z3.is_app(t) and t.decl().kind() == z3.Z3_OP_ITE:
            c, a, b = (self.c(x) for x in t.children())
            return f"({c} -> {a} : {b})"
        try:
            return super()._print(t)
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
        """``assert(TYPE_<leaf> && cond)``, without a report-once flag: a type error stops our engines,
        so a model that has one is only run to see Spin report it (pan prints an error line only when
        it differs from the previous one)."""
        self.types_checked.add(leaf)
        return f"assert({self.type_define[leaf]} && {cond});"

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
                flat = _leaves(v) if type(v) is tuple else [v]
                if len(flat) != self.widths[var.name]:
                    raise PromelaError(f"{where}: {var.name} is set to a value of the wrong shape")
            elif type(v) is tuple:
                raise PromelaError(f"{where}: {var.name} is set to a value of the wrong shape")
            else:
                flat = [v]
            post += [_simplify(x) for x in flat]
        checks: list[str] = []
        changed: list[tuple[int, Any, str]] = []  # (leaf, value, its text over the pre-state)
        for i, (lf, v, old) in enumerate(zip(self.leaves, post, self.consts, strict=True)):
            if isinstance(v, z3.ExprRef) and v.eq(old):
                continue  # UNCHANGED
            is_bool_value = type(v) is bool or isinstance(v, z3.BoolRef)
            if isinstance(lf.type, BoolType) != is_bool_value or not isinstance(v, (bool, int, z3.ExprRef)):
                checks.append(self.type_check(i, "false"))  # a Bool set to a number, or back
                continue
            text = str(int(v)) if type(v) in (bool, int) else pr.c(v)
            if not isinstance(lf.type, BoolType) and not (type(v) is int and lf.lo <= v <= lf.hi):
                checks.append(self.type_check(i, f"({lf.lo} <= {text} && {text} <= {lf.hi})"))
            changed.append((i, v, text))
        assigns, used = _ordered_assignments(
            changed, self.idents, self.const_leaf, self.ref, where, self.temp
        )
        assigns += [f"{self.temp(k)} = 0;" for k in range(used)]
        body = checks
        if cons_text is not None and changed:
            new_ref = dict(self.ref)
            for i, v, text in changed:
                new_ref[self.consts[i].get_id()] = f"({text})" if isinstance(v, z3.ExprRef) else text
            c = self.spec.constraint
            assert c is not None
            succ = self.pred_text(c.fn, f"state constraint {c.name}", new_ref)
            body += [
                "if",
                f":: {succ} ->",
                *(f"   {a}" for a in assigns),
                ":: else  /* the successor violates the state constraint: not stored, as in TLC */",
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
        if cons_text is not None:
            out.append(
                "end_excluded:  /* where initial states outside the constraint go (a valid end state) */"
            )
            out.append("    false")
        out.append("}")
        extra = 1
        if constraint is not None and any(constraint.fn(s) is not True for s in spec.init_states()):
            extra += 1
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
        if cons_text is not None:
            reset = "; ".join(f"{ident} = 0" for ident in self.idents)
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
        "   A step that sets a variable outside its type fails an assert tagged TYPE_<variable>.",
        "   Each option of the do loop is one step of one action instance, labelled as in our traces: a",
        "   d_step whose first statement is the guard, then the range checks of the new values, then the",
        "   updates, which are simultaneous (ordered so that no update reads a variable already updated).",
        "*/",
        "",
    ]


# --------------------------------------------------------------------------- running Spin

CC_FLAGS = ("-w", "-DSAFETY", "-DNOREDUCE")
# -DSAFETY: safety properties only (no cycle detection, so a smaller and faster pan); -DNOREDUCE: no
# partial order reduction (one process: nothing to reduce, and the count stays the plain reachable set).
BIG = 1_000_000  # from this many states on, pan.c is compiled with -O1 (else -O0), see CC_OPT
CC_OPT = ("-O0", "-O1")  # measured: -O0 compiles pan.c in 0.8 s, -O1 in 1.8 s and searches 25% faster
_ERROR = re.compile(r"^pan:\d+: (.*) \(at depth (\d+)\)$")
_TAGGED = re.compile(r"^assertion violated \(?(\d+)&&")


def spin_tools() -> tuple[str, str]:
    """The spin and C compiler executables; SpinUnavailable if either is missing."""
    spin = shutil.which("spin")
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if spin is None:
        raise SpinUnavailable("spin is not installed (Debian: apt-get install spin)")
    if cc is None:
        raise SpinUnavailable("no C compiler (cc or $CC) to compile Spin's pan.c")
    return spin, cc


class Clock:
    """Wall-clock and CPU seconds (this process and its finished children) per named phase."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @staticmethod
    def _cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        w0, c0 = time.perf_counter(), self._cpu()
        try:
            yield
        finally:
            self.wall[phase] = self.wall.get(phase, 0.0) + time.perf_counter() - w0
            self.cpu[phase] = self.cpu.get(phase, 0.0) + self._cpu() - c0


@dataclass
class SpinRun:
    """What Spin said about a model: counts, the properties it found violated, and the time taken."""

    stored: int = 0  # "states, stored" (with -DBFS: the nominal states, those outside atomic sequences)
    stored_raw: int = 0  # "states, stored" as printed
    nominal: str = ""  # -DBFS: the "nominal states" figure as printed (pan's %8g: 6 significant digits)
    transitions: int = 0
    depth_reached: int = 0
    errors: int = 0
    vector_bytes: int = 0
    # property (an invariant, "Deadlock", or "TypeError: <leaf>") -> the depth of its first report
    violations: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # error messages that are none of the above
    incomplete: str | None = None  # why the search is not exhaustive (depth limit, memory)
    seconds: dict[str, float] = field(default_factory=dict)  # spin, cc, pan: wall-clock seconds
    cpu: dict[str, float] = field(default_factory=dict)  # the same phases' CPU seconds
    command: str = ""  # the pan command line
    output: str = ""  # pan's output without its progress and error lines


def _int(pattern: str, text: str) -> int:
    m = re.search(pattern, text, re.M)
    return int(m.group(1)) if m else 0


class _PanReader:
    """Reads pan's output line by line: a -c0 search of a model without report-once flags can print
    an error line per violating state (tens of millions), so no line is kept but the first of each."""

    def __init__(self, model: PromelaModel, bfs: bool):
        self.model = model
        self.bfs = bool(bfs)
        self.run = SpinRun()
        self.head: list[str] = []  # the first lines and the last ones (the statistics come last)
        self.tail: collections.deque[str] = collections.deque(maxlen=200)

    def line(self, line: str) -> None:
        line = line.rstrip("\n")
        m = _ERROR.match(line)
        if m is None:
            if not line.startswith("Depth="):
                (self.head if len(self.head) < 50 else self.tail).append(line)
            return
        msg, depth = m.group(1), int(m.group(2))
        tag = _TAGGED.match(msg)
        if msg == "invalid end state":
            name = DEADLOCK
        elif tag and int(tag.group(1)) in self.model.tags:
            name = self.model.tags[int(tag.group(1))]
        else:
            if msg not in self.run.unknown and len(self.run.unknown) < 20:
                self.run.unknown.append(msg[:300])
            return
        run = self.run
        run.violations[name] = min(depth, run.violations.get(name, depth))

    def finish(self) -> SpinRun:
        run = self.run
        out = run.output = "\n".join([*self.head, *self.tail])
        run.stored_raw = _int(r"^\s*(\d+) states, stored", out)
        m = re.search(r"^\s*(\S+) nominal states", out, re.M)
        run.nominal = m.group(1) if m else ""
        if self.bfs and m:
            # printed with %8g: exact below 10^6 states only (1055790 comes out as 1.05579e+06)
            run.stored = round(float(run.nominal))
        else:
            run.stored = run.stored_raw
        run.transitions = _int(r"^\s*(\d+) transitions", out)
        run.depth_reached = _int(r"depth reached (\d+)", out)
        run.errors = _int(r"errors: (\d+)", out)
        run.vector_bytes = _int(r"State-vector (\d+) byte", out)
        if "max search depth too small" in out:
            run.incomplete = "max search depth too small"
        elif (
            re.search(r"out of memory|MEMLIM|memory limit|aborting", out, re.I)
            and "Full statespace" not in out
        ):
            run.incomplete = "out of memory"
        elif "Full statespace search" not in out:
            run.incomplete = "no statistics in pan's output: " + " ".join(out.split())[-200:]
        return run


def parse_pan(output: str, model: PromelaModel, bfs: bool = False) -> SpinRun:
    """Read pan's report: the counts and, from the error lines, the violated properties."""
    reader = _PanReader(model, bfs)
    for line in output.splitlines():
        reader.line(line)
    return reader.finish()


def run_spin(
    model: PromelaModel,
    workdir: Path,
    bfs: bool = False,
    expected_states: int | None = None,
    memlim_mb: int = 8192,
    collapse: bool = False,
    cc_opt: str | None = None,
) -> SpinRun:
    """Write the model to workdir, generate pan.c (``spin -o2 -a``), compile it and search exhaustively
    with ``pan -c0`` (every error reported, the search goes on). ``expected_states`` sizes the hash
    table and the depth limit of a DFS, and picks -O0 or -O1; a DFS that reaches its depth limit is run
    again with four times the limit. SpinUnavailable without spin or cc; SpecError if spin or cc fail."""
    if bfs and model.report_once:
        raise UsageError("a -DBFS search needs a model exported with report_once=False (no hidden variables)")
    spin, cc = spin_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    pml = model.write(workdir / "model.pml")
    clock = Clock()
    with clock("spin"):
        _run([spin, "-o2", "-a", pml.name], workdir, "spin -a")
    n = expected_states or 1 << 20
    opt = cc_opt or CC_OPT[(expected_states or 0) >= BIG]
    flags = [opt, *CC_FLAGS, f"-DMEMLIM={memlim_mb}"]
    vector = sum({"bit": 1, "byte": 1, "short": 2, "int": 4}[promela_type(lf)] for lf in model.leaves)
    vector += 4 * model.temps + 64
    if vector > 1000:  # pan's default VECTORSZ is 1024 bytes
        flags.append(f"-DVECTORSZ={2 * vector}")
    flags += ["-DBFS"] if bfs else []
    flags += ["-DCOLLAPSE"] if collapse else []
    with clock("cc"):
        _run([cc, *flags, "-o", "pan", "pan.c"], workdir, "cc pan.c")
    hash_bits = max(18, min(30, (2 * n).bit_length()))
    depth = max(100_000, n // 4)  # measured: a DFS goes at most n/10 deep (atomic steps included)
    while True:
        args = ["./pan", "-c0", "-n", f"-w{hash_bits}"]
        args += [] if bfs else [f"-m{depth}"]
        args += [] if model.check_deadlock else ["-E"]
        reader = _PanReader(model, bfs)
        with (
            clock("pan"),
            subprocess.Popen(
                args,
                cwd=workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            ) as proc,
        ):
            assert proc.stdout is not None
            for line in proc.stdout:
                reader.line(line)
        run = reader.finish()
        run.command = " ".join(args)
        if run.incomplete == "max search depth too small" and depth < 1 << 30:
            depth *= 4
            continue
        break
    run.seconds, run.cpu = clock.wall, clock.cpu
    return run


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        tail = " ".join((r.stderr + r.stdout).split())[-300:]
        raise SpecError(f"{what} failed (exit {r.returncode}): {tail}")
    return r.stdout + r.stderr


# --------------------------------------------------------------------------- Spin against our engine


@dataclass
class SpinCheck:
    """Spin against our compiled engine on one spec."""

    name: str
    distinct: int = 0  # our count (0 if our engine stopped at an error)
    stored: int = 0  # Spin's (nominal with -DBFS)
    extra: int = 1  # what Spin stores beyond the spec's states
    ours: dict[str, int] = field(default_factory=dict)  # violated property -> our shortest trace length
    spin: dict[str, int] = field(default_factory=dict)  # violated property -> Spin's first-report depth
    our_error: str | None = None  # our engine's type error (it stops there)
    skipped: str | None = None  # why Spin was not run (too many states for the limit given)
    problems: list[str] = field(default_factory=list)  # empty when the two agree
    seconds: dict[str, float] = field(default_factory=dict)  # ours, export, spin, cc, pan: wall-clock
    cpu: dict[str, float] = field(default_factory=dict)  # the same phases' CPU seconds
    run: SpinRun | None = None

    @property
    def agree(self) -> bool:
        return not self.problems


def spin_check(
    spec: Spec,
    name: str,
    workdir: Path | None = None,
    bfs: bool = False,
    check_deadlock: bool = True,
    invariants: Sequence[str] | None = None,
    max_states: int | None = None,
    promela_spec: Spec | None = None,
) -> SpinCheck:
    """Explore spec with our compiled engine and with Spin, and say where they disagree: Spin's stored
    count must be our distinct count plus the model's ``extra_states``, and the two must find the same
    violated invariants and deadlock (a type error: Spin must report one on the same variable). With
    ``-DBFS`` (``bfs``), Spin's depth of each first report must be ``PromelaModel.bfs_depth`` of ours.
    A spec with more than ``max_states`` states is not given to Spin (``skipped`` says so).
    ``promela_spec``: give Spin this spec's model instead (a test's way to see the check fail)."""
    from explorer.engines.compiled.engine import explore_any

    res = SpinCheck(name)
    clock = Clock()
    with clock("export"):  # first: a spec with no Promela reading fails before any search
        model = export(promela_spec or spec, invariants, check_deadlock, report_once=not bfs)
    res.extra = model.extra_states
    try:
        with clock("ours"):
            r = explore_any(
                spec,
                Options(
                    stop_on_first=False,
                    check_deadlock=check_deadlock,
                    invariants=invariants,
                    max_states=max_states,
                ),
                lambda _line: None,
            )
    except SpecError as e:
        m = re.search(r" sets (\w+) to .*, outside ", str(e))
        if m is None:
            raise
        res.our_error = f"{TYPE_ERROR}: {m.group(1)}"
        r = None
    if r is not None:
        if r.stopped == "max-states":
            res.skipped = f"more than {max_states} states"
            res.seconds, res.cpu = clock.wall, clock.cpu
            return res
        if not r.exhausted:
            raise SpecError(f"{name}: our search stopped early ({r.stopped})")
        res.distinct = r.distinct
        res.ours = {v.name: v.depth for v in r.violations}
    with tempfile.TemporaryDirectory(prefix="spin-") as tmp:
        run = run_spin(model, workdir or Path(tmp), bfs=bfs, expected_states=res.distinct or None)
    res.run = run
    res.seconds = {**clock.wall, **run.seconds}
    res.cpu = {**clock.cpu, **run.cpu}
    res.stored = run.stored
    res.spin = dict(run.violations)
    if run.incomplete:
        res.problems.append(f"Spin's search is incomplete: {run.incomplete}")
    if run.unknown:
        res.problems.append(f"Spin reported errors this module cannot name: {run.unknown[0]}")
    if res.our_error is not None:
        spin_types = {k.split("[", 1)[0] for k in res.spin if k.startswith(TYPE_ERROR)}
        if res.our_error not in spin_types:
            res.problems.append(
                f"our engine stops at {res.our_error}; Spin reports {sorted(res.spin) or 'none'}"
            )
        return res
    want = res.distinct + res.extra
    if bfs and run.nominal and "e" in run.nominal:  # too many states for pan's %8g to print exactly
        if run.nominal != f"{want:g}":
            res.problems.append(
                f"Spin's nominal states {run.nominal}, expected {want:g} (ours + {res.extra})"
            )
    elif res.stored != want:
        res.problems.append(
            f"Spin stored {res.stored} states, expected {res.distinct} + {res.extra} (ours + {res.extra})"
        )
    if set(res.spin) != set(res.ours):
        only_spin = sorted(set(res.spin) - set(res.ours))
        only_ours = sorted(set(res.ours) - set(res.spin))
        res.problems.append(f"violations differ: only Spin {only_spin}, only ours {only_ours}")
    if bfs:
        for prop, d in sorted(res.ours.items()):
            want = model.bfs_depth(prop, d)
            if prop in res.spin and res.spin[prop] != want:
                res.problems.append(
                    f"{prop}: Spin's BFS first reports it at depth {res.spin[prop]}, expected {want}"
                    f" (our shortest trace: {d} states)"
                )
    return res


@dataclass(frozen=True)
class Job:
    """A spec to check, named by its model module and constants (so a worker process can build it)."""

    name: str
    module: str
    constants: dict[str, Any]
    check_deadlock: bool = True
    invariants: tuple[str, ...] | None = None


def _check_job(job: Job, bfs: bool, max_states: int | None) -> SpinCheck:
    from spec.config import import_model

    spec = import_model(job.module).make_spec(**job.constants)
    return spin_check(
        spec,
        job.name,
        bfs=bfs,
        check_deadlock=job.check_deadlock,
        invariants=job.invariants,
        max_states=max_states,
    )


def spin_check_all(
    jobs: Sequence[Job],
    workers: int = 2,
    bfs: bool = False,
    max_states: int | None = None,
    on_done: Callable[[SpinCheck], None] | None = None,
) -> list[SpinCheck]:
    """``spin_check`` on every job, ``workers`` at a time (each job in a worker process: our engine,
    export, spin, cc and pan). Raises KeyboardInterrupt if interrupted."""
    from explorer.runs.workers import run_all

    args = [(job, bfs, max_states) for job in jobs]
    done, interrupted = run_all(
        _check_job, args, workers, on_done=None if on_done is None else lambda _i, r: on_done(r)
    )
    if interrupted:
        raise KeyboardInterrupt
    return [r for r in done if r is not None]


# --------------------------------------------------------------------------- the commands


def add_export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a config file (TOML), e.g. spec/configs/<name>.toml")
    add_set_option(p)
    p.add_argument(
        "-o", "--output", metavar="FILE.pml",
        help="where to write the model (default: out/promela/<config>.pml)",
    )  # fmt: skip
    p.add_argument(
        "--bfs", action="store_true",
        help="a model for pan -DBFS: no hidden report-once flags (every failing state is reported)",
    )  # fmt: skip


def run_export(args: argparse.Namespace) -> int:
    config, spec = load(args.config, args.overrides)
    invariants = config.check.invariants
    if invariants is not None:
        check_invariant_names(spec, invariants)
    shown = ", ".join(f"{k}={v!r}" for k, v in config.constants.items())
    model = export(
        spec,
        invariants,
        config.check.deadlock,
        source=f"{config.path}{': ' + shown if shown else ''}",
        report_once=not args.bfs,
    )
    path = Path(args.output) if args.output else Path("out") / "promela" / f"{config.name}.pml"
    if path.is_dir():
        raise UsageError(f"-o {path}: is a directory, expected a file name")
    try:
        model.write(path)
    except OSError as e:
        raise UsageError(f"-o {path}: cannot write it ({e.strerror})") from None
    print(
        f"Wrote {path}: {len(model.leaves)} variables, {model.steps} steps, "
        f"{len(model.invariants)} invariants, deadlock {'checked' if model.check_deadlock else 'ignored'}"
    )
    bfs = " -DBFS" if args.bfs else ""
    e_flag = "" if model.check_deadlock else " -E"
    depth = "" if args.bfs else " -m2000000"
    cc = f"cc -O1 {' '.join(CC_FLAGS[1:])}{bfs} -o pan pan.c"
    print(f"Run: spin -o2 -a {path.name} && {cc} && ./pan -c0 -n -w26{depth}{e_flag}")
    print(f"Spin's stored states (with -DBFS: nominal states) = reachable states + {model.extra_states}")
    return EXIT_OK


def add_check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("configs", nargs="*", metavar="CONFIG", help="config files (TOML) to check")
    p.add_argument("--matrix", action="store_true", help="check every cell of the matrix's expectations")
    p.add_argument(
        "--only", action="extend", nargs="+", metavar="CELL", help="with --matrix: only these cells"
    )
    p.add_argument(
        "--expectations", default=None, metavar="FILE",
        help="the matrix's expectation file (default: spec/configs/expected.toml)",
    )  # fmt: skip
    add_set_option(p)
    p.add_argument("--bfs", action="store_true", help="run pan -DBFS and compare the depths too")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="specs checked at once (default 2)")
    p.add_argument(
        "--max-states", type=int, default=None, metavar="N",
        help="skip a spec with more than N reachable states (our engine counts them first)",
    )  # fmt: skip


def _jobs(args: argparse.Namespace) -> list[Job]:
    from explorer.runs.results import DEFAULT_EXPECTATIONS, load_expectations

    if not args.configs and not args.matrix:
        raise UsageError("give CONFIG files, --matrix, or both")
    if args.only and not args.matrix:
        raise UsageError("--only selects matrix cells: use it with --matrix")
    if args.overrides and not args.configs:
        raise UsageError("--set changes a CONFIG's constants; the matrix cells have their own")
    if args.jobs < 1 or (args.max_states is not None and args.max_states < 1):
        raise UsageError("--jobs and --max-states take a positive integer")
    jobs: list[Job] = []
    for path in args.configs:
        config, spec = load(path, args.overrides)
        invariants = config.check.invariants
        if invariants is not None:
            check_invariant_names(spec, invariants)
        jobs.append(
            Job(
                config.name,
                config.module,
                dict(config.constants),
                config.check.deadlock,
                tuple(invariants) if invariants is not None else None,
            )
        )
    if args.matrix:
        _props, cells = load_expectations(
            Path(args.expectations) if args.expectations else DEFAULT_EXPECTATIONS
        )
        known = {c.name for c in cells}
        unknown = sorted(set(args.only or ()) - known)
        if unknown:
            raise UsageError(f"no matrix cell named {', '.join(unknown)}")
        jobs += [
            Job(c.name, c.model, dict(c.constants)) for c in cells if not args.only or c.name in args.only
        ]
    return jobs


def _row(r: SpinCheck, bfs: bool) -> list[Any]:
    def props(d: dict[str, int]) -> str:
        return ", ".join(f"{k}@{v}" if bfs else k for k, v in sorted(d.items())) or "-"

    verdict = "skipped" if r.skipped else ("agree" if r.agree else "DISAGREE")
    cpu = sum(r.cpu.values())
    stored: Any = r.stored or "-"
    if bfs and r.run is not None and "e" in r.run.nominal:
        stored = r.run.nominal  # pan prints the nominal count with 6 significant digits
    return [r.name, r.distinct or "-", stored, props(r.ours), props(r.spin), verdict, f"{cpu:.1f}"]


def run_check(args: argparse.Namespace) -> int:
    jobs = _jobs(args)
    try:
        spin_tools()
    except SpinUnavailable as e:
        raise UsageError(str(e)) from None
    t0 = time.perf_counter()

    def done(r: SpinCheck) -> None:
        what = r.skipped or ("agree" if r.agree else "DISAGREE: " + "; ".join(r.problems))
        print(f"{r.name}: {r.distinct} states, Spin {r.stored}: {what}", flush=True)

    results = spin_check_all(jobs, args.jobs, args.bfs, args.max_states, done)
    print()
    depth = " (name@depth: ours in states, Spin's -DBFS depth)" if args.bfs else ""
    print(f"Spin against the compiled engine{depth}; Spin stores our count + 1 (its state before Init)")
    print(
        tabulate(
            [_row(r, args.bfs) for r in results],
            headers=["spec", "distinct", "Spin stored", "violated (ours)", "violated (Spin)", "", "CPU s"],
        )
    )
    bad = [r for r in results if not r.skipped and not r.agree]
    skipped = [r for r in results if r.skipped]
    print(
        f"\n{len(results) - len(bad) - len(skipped)} agree, {len(bad)} disagree, {len(skipped)} skipped"
        f" ({time.perf_counter() - t0:.0f} s)"
    )
    return EXIT_VIOLATION if bad else EXIT_OK
