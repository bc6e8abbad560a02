"""``explorer.outputs.export.tla``: every config, some matrix cells and the classic specs export to TLA+
modules that a TLA+ parser accepts, with the definitions their .cfg names.

The parser is tree-sitter-tlaplus (the TLA+ community's grammar, used by GitHub and the editors; C, so
every module parses in well under a second), checked here to reject broken modules. johnyf's ``tla``
package parses them too, but in pure Python at about 3 s a module, too slow for this suite's budget.
TLC is not on CI's machines: with ``TLA2TOOLS_JAR`` set to a tla2tools.jar (and java on the PATH), the
last test also runs TLC on the classic specs and one config and compares its distinct-state counts with
ours.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tree_sitter_tlaplus
from tree_sitter import Language, Node, Parser

from explorer.cli import main
from explorer.cli_common import load
from explorer.engines.bfs import Options, explore
from explorer.outputs.export.tla import Exported, _abstract, _instantiate, export, module_name
from explorer.outputs.export.tla_printer import ExportError
from explorer.runs.results import DEFAULT_EXPECTATIONS, load_expectations
from spec.config import import_model
from spec.lang import Bool, Enum, Fairness, Fn, Int, Spec, and_, ite, or_, put, when
from spec.values import seq_append, seq_get, seq_head, seq_tail, seq_vars
from tests.classic import (
    asynctermination,
    diehard,
    ewd998,
    paxos,
    readerswriters,
    simpleallocator,
    tcommit,
    twophase,
)

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted(p for p in (ROOT / "spec" / "configs").glob("*.toml") if p.name != "expected.toml")
CLASSIC_CONFIGS = sorted((ROOT / "tests" / "classic").glob("*.toml"))
CELLS = ["rfc_fixed_cb_submits", "wq_delete_self", "rework_wq", "task_work_merged_refill"]


def _parser() -> Parser:
    with warnings.catch_warnings():  # tree-sitter 0.23+ deprecates the int handle the grammar hands out
        warnings.simplefilter("ignore", DeprecationWarning)
        return Parser(Language(tree_sitter_tlaplus.language()))


PARSER = _parser()


def syntax_errors(text: str) -> list[str]:
    """Where tree-sitter-tlaplus finds the module malformed (``line:col``), empty if it parses."""
    out: list[str] = []
    stack = [PARSER.parse(text.encode()).root_node]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            out.append(
                f"{n.start_point[0] + 1}:{n.start_point[1] + 1}: {'missing ' if n.is_missing else ''}{n.type}"
            )
        elif n.has_error:
            stack.extend(n.children)
    return out


def _module(text: str) -> Node:
    (module,) = [n for n in PARSER.parse(text.encode()).root_node.named_children if n.type == "module"]
    return module


def defined_names(text: str) -> tuple[str, set[str], list[str]]:
    """The module's name, its operator definitions and its variables."""
    module = _module(text)
    name = next(n.text.decode() for n in module.named_children if n.type == "identifier")
    ops = {
        n.named_children[0].text.decode() for n in module.named_children if n.type == "operator_definition"
    }
    variables = [
        c.text.decode()
        for n in module.named_children
        if n.type == "variable_declaration"
        for c in n.named_children
        if c.type == "identifier"
    ]
    return name, ops, variables


def cfg_names(cfg: str) -> set[str]:
    """Every name the .cfg refers to (SPECIFICATION, INVARIANT, PROPERTY, CONSTRAINT entries)."""
    names: set[str] = set()
    for line in cfg.splitlines():
        line = line.split("\\*")[0].strip()
        if not line or line.startswith("CHECK_DEADLOCK"):
            continue
        words = line.split()
        names.update(w for w in words if w not in ("SPECIFICATION", "INVARIANT", "PROPERTY", "CONSTRAINT"))
    return names


def assert_well_formed(spec: Spec, mod: Exported, deadlock: bool = True) -> None:
    assert syntax_errors(mod.tla) == [], f"{mod.name}.tla does not parse"
    name, ops, variables = defined_names(mod.tla)
    assert name == mod.name
    lengths = {d.length for d in spec.sequences.values()}  # Len(q) of a bounded sequence
    assert variables == [n for n in spec.var_names if n not in lengths]
    assert {a.name for a in spec.actions} <= ops
    assert cfg_names(mod.cfg) <= ops, f"{mod.name}.cfg names what the module does not define"
    assert f"CHECK_DEADLOCK {'TRUE' if deadlock else 'FALSE'}" in mod.cfg
    # every instance is there, labelled as in traces (an action without parameters is its operator),
    # or listed as never enabled
    for inst in spec.instances():
        never = f"never enabled (every guard is FALSE): {inst.label}"
        assert f"\\* {inst.label}" in mod.tla or not inst.args or never in mod.tla
    for instanced, text in mod.instanced.items():  # a refinement's abstract spec
        assert syntax_errors(text) == [], f"{instanced}.tla does not parse"
        assert f"INSTANCE {instanced} WITH" in mod.tla


# --------------------------------------------------------------------------- every config, cells, classics


@pytest.mark.parametrize("path", CONFIGS + CLASSIC_CONFIGS, ids=lambda p: p.stem)
def test_config_exports_a_module_that_parses(path: Path) -> None:
    config, spec = load(path)
    mod = export(
        spec, module_name(config.name), invariants=config.check.invariants, deadlock=config.check.deadlock
    )
    assert_well_formed(spec, mod, config.check.deadlock)
    invariants = config.check.invariants or [p.name for p in spec.invariants]
    assert all(re.sub(r"\W+", "_", n).strip("_") in mod.cfg for n in invariants)
    for f in spec.fairness:
        assert f"{f.kind}_vars({f.action}" in mod.tla


@pytest.mark.parametrize("cell", CELLS)
def test_matrix_cell_exports_a_module_that_parses(cell: str) -> None:
    _props, cells = load_expectations(DEFAULT_EXPECTATIONS)
    (c,) = [c for c in cells if c.name == cell]
    spec = import_model(c.model).make_spec(**c.constants)
    assert_well_formed(spec, export(spec, module_name(c.name)))


@pytest.mark.parametrize(
    "make",
    [tcommit.make_spec, twophase.make_spec, readerswriters.make_spec, paxos.make_spec],
    ids=["tcommit", "twophase", "rw", "paxos"],
)
def test_classic_spec_exports_a_module_that_parses(make: Callable[[], Spec]) -> None:
    spec = make()
    assert_well_formed(spec, export(spec, spec.name, deadlock=spec.name != "TCommit"), spec.name != "TCommit")


def test_a_refinement_exports_as_an_instance_of_the_abstract_module_and_a_property() -> None:
    """EWD998's THEOREM Spec => TDSpec: AsyncTerminationDetection is written beside the module, and
    the mapping is the WITH of its INSTANCE (a variable where it is one, else its expression)."""
    spec = ewd998.make_spec(n=2)
    mod = export(spec, "EWD998", deadlock=False)
    assert_well_formed(spec, mod, False)
    assert list(mod.instanced) == ["EWD998_TDSpec"]
    assert "TDSpec_Abstract == INSTANCE EWD998_TDSpec WITH active <- active, pending <- pending," in mod.tla
    assert "terminationDetected <- (token.pos = 0 /\\ token.color = " in mod.tla
    assert "TDSpec == TDSpec_Abstract!Init /\\ [][TDSpec_Abstract!Next]_TDSpec_Abstract!vars" in mod.tla
    assert "PROPERTY\n    TDSpec\n" in mod.cfg
    assert "MODULE EWD998_TDSpec" in mod.instanced["EWD998_TDSpec"]
    assert "/\\ terminationDetected \\in {FALSE, TRUE}" in mod.instanced["EWD998_TDSpec"]
    assert not export(spec, "EWD998", properties=False).instanced
    # an abstract Enum value the mapping computes (ite(c, 1, 0)) is printed as the Enum's literal
    _config, posted = load(ROOT / "spec/configs/rfc_posted.toml")
    line = next(ln for ln in export(posted, "rfc_posted").tla.splitlines() if "INSTANCE" in ln)
    assert 'THEN "PENDING" ELSE "RAN" ELSE "IDLE"' in line


def test_a_fairness_filter_exports_as_an_operator_of_the_parameters() -> None:
    """SimpleAllocator's WF_vars(Return(c, alloc[c])) is a where filter read on the symbolic state, one
    formula per instance, printed as one operator of the parameters where every instance's is that one
    with its values in place; its SF_vars(\\E S : Allocate(c, S)) has none."""
    spec = simpleallocator.make_spec()
    exported = export(spec, spec.name)
    lines = exported.tla.splitlines()
    assert "returns_all(c, S) == alloc[c] = S" in lines
    fair = "\\A c \\in Client : WF_vars(\\E S \\in SUBSET Resource : returns_all(c, S) /\\ Return(c, S))"
    assert f"    /\\ {fair}" in lines
    assert "    /\\ \\A c \\in Client : SF_vars(\\E S \\in SUBSET Resource : Allocate(c, S))" in lines
    assert_well_formed(spec, exported)
    spec = simpleallocator.make_spec(fairness="SimpleAllocator2")
    exported = export(spec, spec.name)
    assert "returns_all_satisfied(c, S) ==\n    /\\ unsat[c] = {}\n    /\\ alloc[c] = S\n" in exported.tla
    assert (
        "WF_vars(\\E S \\in SUBSET Resource : returns_all_satisfied(c, S) /\\ Return(c, S))" in exported.tla
    )
    assert_well_formed(spec, exported)


def test_a_fairness_filter_of_no_one_formula_is_one_disjunct_per_instance() -> None:
    """A filter that differs by instance (a Python ``if`` on a parameter is fine: the parameters are
    concrete) is printed as an action is: each instance's formula guarded by its parameter values, an
    instance whose filter is FALSE left out."""
    spec = simpleallocator.make_spec(clients=2)
    spec.fairness = [
        Fairness("WF", "Return", over=("S",), where=lambda s, c, S: s.alloc[c][0] if c == 0 else S == 3)
    ]
    exported = export(spec, spec.name)
    assert "Return_where(c, S) ==" in exported.tla
    assert '    \\/ /\\ <<c, S>> = <<"c1", {}>>\n       /\\ ("r1" \\in alloc["c1"])\n' in exported.tla
    assert '    \\/ <<c, S>> = <<"c2", {"r1", "r2"}>>\n' in exported.tla
    assert '<<c, S>> = <<"c2", {}>>' not in exported.tla.split("Return_where(c, S) ==")[1]
    assert "WF_vars(\\E S \\in SUBSET Resource : Return_where(c, S) /\\ Return(c, S))" in exported.tla
    assert_well_formed(spec, exported)
    # a filter TRUE for every instance is no filter
    spec.fairness = [Fairness("WF", "Return", over=("S",), where=lambda s, c, S: True)]
    assert "\\A c \\in Client : WF_vars(\\E S \\in SUBSET Resource : Return(c, S))" in export(spec, "M").tla


def test_a_fairness_filter_that_cannot_be_read_symbolically_is_refused_by_name() -> None:
    """A Python ``==`` on tuples of state values (a truth test of a Z3 term) or a result that is no
    Boolean: the export refuses the filter, naming it and saying why."""
    spec = simpleallocator.make_spec(clients=1)

    def holds_both(s, c, S):
        return tuple(s.alloc[c]) == (True, True)

    spec.fairness = [Fairness("WF", "Return", over=("S",), where=holds_both)]
    with pytest.raises(ExportError, match=r"where holds_both holds, .* cannot print: .*Python truth test"):
        export(spec, spec.name)
    spec.fairness = [Fairness("WF", "Return", over=("S",), where=lambda s, c, S: 1)]
    with pytest.raises(ExportError, match=r"where <lambda> holds, .* cannot print: .* is int, not a Boolean"):
        export(spec, spec.name)


def test_a_filter_is_generalized_only_where_putting_the_values_back_gives_each_instance() -> None:
    """The values go back only where the name is a reference: not in a string, a record's field or a
    record constructor's field name."""
    text = 'rec.c = c /\\ [c |-> "c"] = x /\\ "a c" = c'
    assert _instantiate(text, {"c": '"c1"'}) == 'rec.c = "c1" /\\ [c |-> "c"] = x /\\ "a c" = "c1"'
    assert _abstract('alloc["c1"] = {"r1"} /\\ "c1" = x', {"c": '"c1"', "S": '{"r1"}'}) == (
        "alloc[c] = S /\\ c = x"
    )


def _queue_spec() -> Spec:
    """A bounded sequence updated by Append and Tail, and two ways the export has no TLA+ operator for:
    dropping the last element and clearing it, written slot by slot."""
    spec = Spec("Queue")
    Item = Enum("Item", ["a", "b", "none"])
    seq_vars(spec, "q", Item, 3, Item.names.index("none"), "a queue")

    @spec.action(x=Item)
    def Put(s, x):
        room, upd = seq_append(s, "q", x)
        return when(room, **upd) if x != 2 else []

    @spec.action()
    def Get(s):
        nonempty, upd = seq_tail(s, "q", 2)
        return when(nonempty, **upd)

    @spec.action()
    def DropLast(s):
        n = s.q_len
        return when(n > 1, q=tuple(ite(n == k + 1, 2, v) for k, v in enumerate(s.q)), q_len=n - 1)

    @spec.action()
    def Clear(s):
        return when(and_(s.q_len == 3, seq_get(s.q, 3) == 1), q=(2, 2, 2), q_len=0)

    return spec


def _queue_edges_spec() -> Spec:
    """Where TLA+'s operators and the engines part (found by this round's review, each a wrong TLC
    result before): a push and a pop whose guards do not keep Append and Tail defined (the engines
    change nothing there), an Append of Head(q) when q may be empty, a copy of one sequence to another,
    and an invariant that reads q[1] before it tests the length (the engines read the filler there)."""
    spec = Spec("QueueEdges")
    seq_vars(spec, "q", Int(0, 1), 2, 0)
    seq_vars(spec, "r", Int(0, 1), 2, 0)

    @spec.action(v=[0, 1])
    def Push(s, v):
        return when(True, **seq_append(s, "q", v)[1])

    @spec.action()
    def Pop(s):
        return when(True, **seq_tail(s, "q", 0)[1])

    @spec.action()
    def Dup(s):
        room, upd = seq_append(s, "r", seq_head(s.q))
        return when(room, **upd)

    @spec.action()
    def Copy(s):
        return when(s.r_len == 2, r=s.q, r_len=s.q_len)

    @spec.invariant
    def HeadIsABit(s):
        return or_(seq_get(s.q, 1) != 3, s.q_len == 0)

    return spec


def test_a_bounded_sequence_exports_as_one_tla_sequence() -> None:
    """seq_vars' slots and length are one TLA+ variable: Append, Tail and Len where the updates are
    those (Z3 shows them equal under the guard), a function of 1..Len elsewhere; Cardinality(S) where a
    term counts a set variable's members."""
    tla = export(readerswriters.make_spec(actors=3), "ReadersWriters").tla
    assert "EXTENDS Integers, Sequences, FiniteSets" in tla
    assert 'Req == {<<"read", "1">>, <<"read", "2">>, <<"read", "3">>, <<"write", "1">>,' in tla
    assert "VARIABLE waiting\n" in tla and "@type: Seq(<<Str, Str>>);" in tla and "waiting_len" not in tla
    assert "/\\ waiting \\in Seq(Req)\n    /\\ Len(waiting) <= 6\n" in tla
    assert "/\\ waiting = <<>>" in tla
    assert '/\\ waiting\' = Append(waiting, <<"write", "2">>)' in tla
    assert '/\\ waiting[1] = <<"read", "3">>' in tla and "/\\ waiting' = Tail(waiting)" in tla
    assert "/\\ Cardinality(writers) <= 1" in tla
    spec = _queue_spec()
    mod = export(spec, "Queue")
    assert_well_formed(spec, mod)
    assert '/\\ q\' = Append(q, "b")' in mod.tla and "/\\ q' = Tail(q)" in mod.tla
    # slot k of the new value is read only inside the new length, where Len(q) = k is false
    assert "q' = [x_1 \\in 1..(-1 + Len(q)) |-> CASE x_1 = 1 -> q[1] [] x_1 = 2 -> q[2]]" in mod.tla
    assert "/\\ q' = <<>>" in mod.tla and "FiniteSets" not in mod.tla
    assert '/\\ q[3] = "b"' in mod.tla  # after Len(q) = 3: as written
    edges = export(_queue_edges_spec(), "QueueEdges").tla
    assert "Append(q" not in edges and "Tail(q)" not in edges  # not defined where these steps are
    assert "r' = Append(r, (IF 1 <= Len(q) THEN q[1] ELSE 0))" in edges  # Head(q) of an empty q
    assert "(IF 1 <= Len(q) THEN q[1] ELSE 0) # 3" in edges  # read before the length is tested


def random_sequence_spec(seed: int) -> Spec:
    """A sequence of at most three values in 0..2 and a variable y, with three to six of: a push of a
    constant or of y, a pop (setting y to the head, or not), a drop-last, a clear, y set to a slot;
    each under a random guard that may read a slot before or after testing the length, and guarded by
    the operator's own condition or not; and an invariant that reads a slot. In TLC's counting, as a
    guard may be a disjunction."""
    rng = random.Random(seed)
    spec = Spec(f"Seq{seed}", counting="tlc")
    seq_vars(spec, "q", Int(0, 2), 3, 0)
    spec.var("y", Int(0, 2), 0)

    def guard(s: Any, kind: int, k: int, v: int) -> Any:
        return [
            True,
            s.q_len >= k,
            and_(s.q_len >= k, seq_get(s.q, k) == s.y),
            or_(seq_get(s.q, k) != s.y, s.q_len < k),  # reads q[k] first
            s.y == v,
            and_(s.q_len > 0, seq_head(s.q) != 1),
        ][kind]

    for name in rng.sample(["Push", "PushY", "Pop", "PopY", "DropLast", "Clear", "SetY"], rng.randint(3, 6)):
        kind, k, v, own = rng.randrange(6), rng.randint(1, 3), rng.randrange(3), rng.random() < 0.6

        def act(s, name=name, kind=kind, k=k, v=v, own=own):
            g = guard(s, kind, k, v)
            if name in ("Push", "PushY"):
                room, upd = seq_append(s, "q", v if name == "Push" else s.y)
                return when(and_(g, room) if own else g, **upd)
            if name in ("Pop", "PopY"):
                nonempty, upd = seq_tail(s, "q", 0)
                y = {"y": seq_head(s.q)} if name == "PopY" else {}
                return when(and_(g, nonempty) if own else g, **upd, **y)
            if name == "DropLast":
                n = s.q_len
                return when(
                    and_(g, n > 0), q=tuple(ite(n == i + 1, 0, x) for i, x in enumerate(s.q)), q_len=n - 1
                )
            if name == "Clear":
                return when(g, q=(0, 0, 0), q_len=0)
            return when(g, y=seq_get(s.q, k))

        act.__name__ = name
        spec.action()(act)
    k = rng.randint(1, 3)
    spec.invariant(lambda s: or_(seq_get(s.q, k) == s.y, seq_get(s.q, k) != s.y))
    return spec


def test_a_disjunct_of_an_action_tells_nothing_about_the_next() -> None:
    """TLC evaluates each disjunct of an action's \\/ as a branch of its own (it counts a state per
    true one), so ``Len(q) < 1 \\/ q[1] # y`` in a guard reads q[1] also where Len(q) = 0: found by a
    random comparison with TLC. In a state predicate the same \\/ is a Boolean TLC stops early in."""
    spec = Spec("Disjunct", counting="tlc")
    seq_vars(spec, "q", Int(0, 2), 3, 0)
    spec.var("y", Int(0, 2), 0)

    @spec.action()
    def PushY(s):
        room, upd = seq_append(s, "q", s.y)
        return when(and_(or_(s.q_len < 1, seq_get(s.q, 1) != s.y), room), **upd)

    @spec.invariant
    def Inv(s):
        return or_(s.q_len < 1, seq_get(s.q, 1) != 3)

    tla = export(spec, "Disjunct").tla
    assert "/\\ \\/ 1 > Len(q)\n       \\/ (IF 1 <= Len(q) THEN q[1] ELSE 0) # y" in tla
    assert "Inv ==\n    \\/ 1 > Len(q)\n    \\/ q[1] # 3" in tla


def test_a_slot_left_past_a_new_length_is_refused() -> None:
    """A pop that only shortens the length keeps the old value in the slot: our engines count it as
    part of the state, a TLA+ sequence has no such slot (TLC found 7 states where we find 12)."""
    spec = Spec("Stale")
    seq_vars(spec, "q", Int(0, 1), 2, 0)

    @spec.action(v=[0, 1])
    def Push(s, v):
        room, upd = seq_append(s, "q", v)
        return when(room, **upd)

    @spec.action()
    def Pop(s):
        return when(s.q_len > 0, q_len=s.q_len - 1)

    with pytest.raises(ExportError, match="action Pop: q keeps a value in a slot past its new length"):
        export(spec, "Stale")


def test_a_broken_module_does_not_parse() -> None:
    """The check above can fail: each of these breaks the exported DieHard."""
    tla = export(diehard.make_spec(), "DieHard").tla
    assert syntax_errors(tla) == []
    broken = [
        tla.replace("big' = 5", "big' = = 5"),  # an operator without its operand
        tla.replace("Next ==", "Next == (", 1),  # an unclosed parenthesis
        tla.replace("UNCHANGED <<small>>", "UNCHANGED <<small>", 1),  # an unclosed tuple
        tla.rsplit("====", 1)[0].rstrip("=\n") + "\n",  # no end of module
        tla.replace("VARIABLE big", "VARIABLE"),  # a declaration without its name
    ]
    for text in broken:
        assert text != tla
        assert syntax_errors(text), text


# --------------------------------------------------------------------------- what the module says


def test_diehard_reads_as_written() -> None:
    mod = export(diehard.make_spec(goal_invariant=True), "DieHard", invariants=["NotSolved"])
    assert "VARIABLE big\n" in mod.tla and "VARIABLE small\n" in mod.tla
    assert "Init ==\n    /\\ big = 0\n    /\\ small = 0\n" in mod.tla
    assert "FillBigJug ==\n    /\\ big' = 5\n    /\\ UNCHANGED <<small>>\n" in mod.tla
    assert "    /\\ big \\in 0..5\n    /\\ small \\in 0..3\n" in mod.tla
    # the spec's own TypeOK keeps its name; the variables' types get another
    assert "TypeOK == TRUE" in mod.tla and "VarTypesOK ==" in mod.tla
    assert mod.cfg.split("INVARIANT\n")[1].split("CHECK")[0].split() == ["VarTypesOK", "NotSolved"]
    assert "Spec == Init /\\ [][Next]_vars /\\ Fairness" in mod.tla


def test_functions_enums_parameters_fairness_and_properties() -> None:
    CPU = Enum("CPU", ["cpu0", "cpu1"])
    St = Enum("St", ["IDLE", "BUSY"])
    spec = Spec("Tiny")
    spec.var("st", Fn(CPU, St), init=(0, 0), doc="each CPU's state")
    spec.var("n", Int(0, 3), init=[0, 1], any_of=True)
    spec.var("flag", Bool, init=False)

    @spec.action(c=CPU)
    def Take(s, c):
        "CPU c gets busy."
        return when(s.st[c] == St.IDLE, st=put(s.st, c, St.BUSY), n=s.n + 1, flag=or_(s.flag, s.n == 0))

    @spec.action(c=CPU)
    def Drop(s, c):
        return [when(s.st[c] == St.BUSY, st=put(s.st, c, St.IDLE)), when(s.n > 2, n=0)]

    spec.add_invariant("Small", lambda s: s.n <= 3)
    spec.wf("Take")
    spec.sf("Drop", c="cpu1")
    spec.leads_to("Freed[cpu0]", lambda s: s.st[0] == St.BUSY, lambda s: s.st[0] == St.IDLE)
    spec.always_eventually("Idle", lambda s: s.n == 0)
    mod = export(spec, "Tiny", deadlock=False)
    assert_well_formed(spec, mod, deadlock=False)
    tla = mod.tla
    assert 'CPU == {"cpu0", "cpu1"}' in tla and 'St == {"IDLE", "BUSY"}' in tla
    assert "\\* @type: (Str -> Str);\nVARIABLE st" in tla
    assert "    /\\ st \\in [CPU -> St]\n    /\\ n \\in 0..3\n    /\\ flag \\in BOOLEAN\n" in tla
    assert '    /\\ st = [x \\in CPU |-> "IDLE"]\n    /\\ n \\in {0, 1}\n' in tla
    assert '    \\* Take(c=cpu1)\n    \\/ /\\ c = "cpu1"\n       /\\ st["cpu1"] = "IDLE"\n' in tla
    assert '       /\\ st\' = [st EXCEPT !["cpu1"] = "BUSY"]\n' in tla
    assert "       /\\ n' = 1 + n\n" in tla
    assert "       /\\ flag' = (flag \\/ n = 0)\n" in tla  # not (flag' = flag) \/ n = 0
    assert '       /\\ \\/ /\\ st["cpu0"] = "BUSY"' in tla  # Drop's two steps, a disjunction
    assert "    \\/ \\E c \\in CPU : Take(c)\n    \\/ \\E c \\in CPU : Drop(c)\n" in tla
    assert '    /\\ \\A c \\in CPU : WF_vars(Take(c))\n    /\\ SF_vars(Drop("cpu1"))\n' in tla
    assert "Freed_cpu0 == Freed_cpu0_P ~> Freed_cpu0_Q" in tla and "Idle == []<>Idle_P" in tla
    assert "PROPERTY\n    Freed_cpu0\n    Idle\n" in mod.cfg
    assert "PROPERTY" not in export(spec, "Tiny", properties=False).cfg


def test_what_has_no_tla_reading_is_refused_naming_the_action() -> None:
    S = Enum("S", ["A", "B", "C"])
    T = Enum("T", ["p", "q", "r"])
    spec = Spec("Arith")
    spec.var("x", S, init=0)
    spec.var("y", T, init=0)

    @spec.action()
    def Next(s):  # Enum values are strings in TLA+: no arithmetic on them
        return when(s.x != S.C, x=s.x + 1)

    with pytest.raises(ExportError, match=r"^action Next: no TLA\+ for the operator bvadd"):
        export(spec, "Arith")
    spec.actions.clear()
    spec._instances = None

    @spec.action()
    def Copy(s):  # a T stored in an S by number would become a different string
        return when(True, x=s.y)

    with pytest.raises(ExportError, match=r"^action Copy: y \(a T\) is compared with or stored as a S"):
        export(spec, "Arith")
    with pytest.raises(ExportError, match="module name"):
        export(diehard.make_spec(), "not a name")


def test_an_order_on_enum_values_compares_their_positions() -> None:
    S = Enum("S", ["A", "B", "C"])
    spec = Spec("Ord")
    spec.var("x", S, init=0)
    spec.var("y", S, init=2)

    @spec.action()
    def Next(s):
        return [when(s.x < s.y, x=S.B), when(s.x >= S.B, y=S.A)]

    mod = export(spec, "Ord")
    assert_well_formed(spec, mod)
    assert 'SOrder == [x \\in S |-> CASE x = "A" -> 0 [] x = "B" -> 1 [] x = "C" -> 2]' in mod.tla
    assert "    \\/ /\\ SOrder[y] > SOrder[x]\n" in mod.tla  # x < y, as Z3 simplified it
    assert "    \\/ /\\ 1 <= SOrder[x]\n" in mod.tla
    assert "SOrder" not in export(diehard.make_spec(), "DieHard").tla  # defined only where used


# --------------------------------------------------------------------------- the command


def test_command_writes_the_module_and_cfg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tla"
    assert main(["export-tla", str(ROOT / "tests/classic/diehard_goal.toml"), "-o", str(out)]) == 0
    tla, cfg = (out / "diehard_goal.tla").read_text(), (out / "diehard_goal.cfg").read_text()
    assert syntax_errors(tla) == [] and "NotSolved" in cfg
    assert "Wrote" in capsys.readouterr().out
    args = ["export-tla", str(ROOT / "tests/classic/diehard.toml"), "-o", str(out), "--name", "Jugs"]
    assert main([*args, "--set", "goal_invariant=true"]) == 0
    assert "---- MODULE Jugs ----" in (out / "Jugs.tla").read_text()
    assert "NotSolved ==" in (out / "Jugs.tla").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--name", "1 bad"], "--name '1 bad': not a TLA+ identifier"),
        (["--set", "goal_invariant=3"], "goal_invariant"),
        (["--name", "ENABLED"], "not a TLA+ identifier"),
    ],
)
def test_command_bad_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["export-tla", str(ROOT / "tests/classic/diehard.toml"), "-o", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err and err.count("\n") == 1


def test_command_missing_config_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-tla", str(tmp_path / "nope.toml"), "-o", str(tmp_path)]) == 2
    assert "no such config file" in capsys.readouterr().err


# --------------------------------------------------------------------------- TLC, where there is one

JAR = os.environ.get("TLA2TOOLS_JAR", "")


@pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)
@pytest.mark.parametrize(
    "name, make",
    [
        ("DieHard", diehard.make_spec),
        ("TCommit", tcommit.make_spec),
        ("TwoPhase", twophase.make_spec),
        ("rfc_posted", lambda: load(ROOT / "spec/configs/rfc_posted.toml")[1]),
    ],
)
def test_tlc_finds_our_distinct_states(tmp_path: Path, name: str, make: Callable[[], Spec]) -> None:
    spec = make()
    mod = export(spec, name, deadlock=False, properties=False)
    mod.write(tmp_path)
    # the invariants are not checked here (TLC would stop at a violation): only the state space
    (tmp_path / f"{name}.cfg").write_text("INIT Init\nNEXT Next\nCHECK_DEADLOCK FALSE\n")
    run = subprocess.run(
        ["java", "-cp", JAR, "tlc2.TLC", "-workers", "2", "-metadir", str(tmp_path / "states"), name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    pattern = r"^([\d,]+) states generated, ([\d,]+) distinct states found"
    counts = re.findall(pattern, run.stdout, re.M)
    assert counts, run.stdout[-2000:]
    ours = explore(spec, Options(check_deadlock=False, stop_on_first=False), progress=lambda line: None)
    assert int(counts[-1][1].replace(",", "")) == ours.distinct


@pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)
@pytest.mark.parametrize(
    "make, broken",
    [
        (lambda: ewd998.make_spec(n=2), False),
        (paxos.make_spec, False),
        (lambda: ewd998.make_spec(n=2, passive_check=False), True),
        # the posted RFC frees the prog with a submitted work pending (the refinement family's finding)
        (lambda: load(ROOT / "spec/configs/rfc_posted.toml")[1], True),
    ],
    ids=["ewd998", "paxos", "ewd998_broken", "rfc_posted"],
)
def test_tlc_checks_an_exported_refinement_as_we_do(
    tmp_path: Path, make: Callable[[], Spec], broken: bool
) -> None:
    """TLC on the module's PROPERTY (the abstract spec instantiated with the mapping): it holds where
    our check finds no counterexample, and where ours finds one TLC reports the same behaviour."""
    spec = make()
    name = module_name(spec.name)
    mod = export(spec, name, deadlock=False)
    mod.write(tmp_path)
    # the refinements alone (a broken one also breaks an invariant, which TLC would report first; the
    # liveness properties are left out too)
    props = "".join(f"    {r.name}\n" for r in spec.refinements)
    assert all(f"    {r.name}\n" in mod.cfg for r in spec.refinements)
    cfg = "SPECIFICATION Spec\n" + ("CONSTRAINT StateConstraint\n" if "CONSTRAINT" in mod.cfg else "")
    (tmp_path / f"{name}.cfg").write_text(cfg + "PROPERTY\n" + props + "CHECK_DEADLOCK FALSE\n")
    run = subprocess.run(
        ["java", "-cp", JAR, "tlc2.TLC", "-workers", "1", "-metadir", str(tmp_path / "states"), name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    from explorer.engines.refinement import check_refinements

    ours = check_refinements(
        explore(spec, Options(check_deadlock=False, keep_graph=True, stop_on_first=False))
    )
    if not broken:
        assert "Model checking completed. No error has been found." in run.stdout, run.stdout[-2000:]
        assert ours == []
        return
    assert re.search(r"Error: Action property .* is violated", run.stdout), run.stdout[-2000:]
    tlc_steps = re.findall(r"^State \d+: <(\w+)", run.stdout, re.M)
    (v,) = ours
    assert tlc_steps == ["Initial", *(i.action.name for i in v.trace.steps[1:])]


@pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)
@pytest.mark.parametrize(
    "make",
    [
        tcommit.make_spec,
        twophase.make_spec,
        lambda: readerswriters.make_spec(actors=3),
        paxos.make_spec,
        lambda: ewd998.make_spec(n=2),
        asynctermination.make_spec,
        _queue_spec,
        _queue_edges_spec,
    ],
    ids=["tcommit", "twophase", "rw", "paxos", "ewd998", "asynctermination", "queue", "queue-edges"],
)
def test_tlc_on_an_exported_classic_module_counts_what_we_count(
    tmp_path: Path, make: Callable[[], Spec]
) -> None:
    """The module as exported, with its own configuration (invariants, constraint; deadlock not
    checked): TLC's distinct, generated and depth are ours (EWD998's in TLC's counting, from a guard
    with a disjunction)."""
    tlc_counts_what_we_count(tmp_path, make(), no_error=False)


def tlc_counts_what_we_count(tmp_path: Path, spec: Spec, no_error: bool = True) -> None:
    """TLC on the spec's export (its invariants; deadlock and properties not checked) finds the
    distinct states, generated states and depth our engine does (and, with no_error, no error)."""
    export(spec, spec.name, deadlock=False, properties=False).write(tmp_path)
    run = subprocess.run(
        ["java", "-cp", JAR, "tlc2.TLC", "-workers", "1", "-metadir", str(tmp_path / "states"), spec.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if no_error:
        assert "Model checking completed. No error has been found." in run.stdout, run.stdout[-2000:]
    counts = re.findall(r"^([\d,]+) states generated, ([\d,]+) distinct states found", run.stdout, re.M)
    depth = re.findall(r"depth of the complete state graph search is (\d+)", run.stdout)
    assert counts and depth, run.stdout[-2000:]
    ours = explore(spec, Options(check_deadlock=False, stop_on_first=False), progress=lambda line: None)
    generated, distinct = (int(x.replace(",", "")) for x in counts[-1])
    assert (distinct, generated, int(depth[-1])) == (ours.distinct, ours.generated, ours.depth)


@pytest.mark.slow
@pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)
@pytest.mark.parametrize("seed", range(12))
def test_tlc_counts_random_sequence_specs_as_we_do(tmp_path: Path, seed: int) -> None:
    tlc_counts_what_we_count(tmp_path, random_sequence_spec(seed))


def tlc_property_verdicts(tmp_path: Path, mod: Exported, props: list[str]) -> tuple[dict[str, bool], str]:
    """TLC's verdict on each of the module's properties named, and the output of its last run: TLC stops
    at the first violated property and names it, so it runs again without it until it finds none (a run
    over the whole graph; a violation may be found before its end)."""
    theirs: dict[str, bool] = {}
    left = list(props)
    while True:
        cfg = (
            "SPECIFICATION Spec\nPROPERTY\n" + "".join(f"    {p}\n" for p in left) + "CHECK_DEADLOCK FALSE\n"
        )
        (tmp_path / f"{mod.name}.cfg").write_text(cfg)
        run = subprocess.run(
            ["java", "-cp", JAR, "tlc2.TLC", "-workers", "1", "-metadir", str(tmp_path / "states"), mod.name],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        # "Temporal property P was violated", or "properties P, Q, and R were violated" by one behaviour
        found = re.search(r"^Error: Temporal propert(?:y|ies) (.+) (?:was|were) violated", run.stdout, re.M)
        if found is None:
            assert "Model checking completed. No error has been found." in run.stdout, run.stdout[-2000:]
            theirs.update((p, True) for p in left)
            return theirs, run.stdout
        violated = re.split(r",? and |, ", found.group(1))
        assert set(violated) <= set(left), run.stdout[-2000:]
        theirs.update((p, False) for p in violated)
        left = [p for p in left if p not in violated]
        if not left:
            return theirs, run.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)
@pytest.mark.parametrize(
    "fair", [(), ("A", "B", "C", "D", "E"), ("A", "C", "E")], ids=["unfair", "wf", "some"]
)
def test_tlc_decides_nested_formulas_and_eventually_as_we_do(tmp_path: Path, fair: tuple[str, ...]) -> None:
    """[]<>P => []<>Q and the like (spec/temporal.py) and <>P, exported as TLA+: TLC's verdict on each is
    our liveness engine's."""
    from explorer.engines.liveness.check import check_liveness
    from tests.test_liveness import walk_spec

    spec = walk_spec(fair)
    mod = export(spec, "Walk", deadlock=False)
    assert "ZeroOftenTwoOften == []<>ZeroOftenTwoOften_P1 => []<>ZeroOftenTwoOften_P2" in mod.tla
    assert "ReachesThree == <>ReachesThree_P" in mod.tla
    mod.write(tmp_path)
    res = explore(spec, Options(stop_on_first=False, keep_graph=True, check_deadlock=False), lambda _l: None)
    ours = {v.name: v.holds for v in check_liveness(res)}
    theirs, _ = tlc_property_verdicts(tmp_path, mod, list(ours))
    assert theirs == ours


def random_formula_spec(seed: int) -> Spec:
    r"""x in 0..4 with seven random moves, each weakly fair, strongly fair or neither, and three random
    formulas of []<>(x \in S) and <>[](x \in S) under /\, \/, ~ and =>, nested three deep."""
    from spec.temporal import always_eventually, eventually_always, t_and, t_implies, t_not, t_or

    rng = random.Random(seed)

    def formula(depth: int) -> Any:
        if depth == 0 or rng.random() < 0.3:
            xs = [k for k in range(5) if rng.random() < 0.4] or [rng.randrange(5)]
            op = always_eventually if rng.random() < 0.5 else eventually_always
            return op(lambda s, xs=tuple(xs): or_(*[s.x == k for k in xs]))
        op = rng.choice(["and", "or", "not", "implies"])
        if op == "not":
            return t_not(formula(depth - 1))
        return {"and": t_and, "or": t_or, "implies": t_implies}[op](formula(depth - 1), formula(depth - 1))

    spec = Spec("R")
    spec.var("x", Int(0, 4), 0)
    moves: set[tuple[int, int]] = set()
    while len(moves) < 7:
        a, b = rng.randrange(5), rng.randrange(5)
        if a != b:
            moves.add((a, b))
    for k, (a, b) in enumerate(sorted(moves)):

        def move(s, a=a, b=b):
            return when(s.x == a, x=b)

        move.__name__ = f"A{k}"
        spec.action()(move)
        r = rng.random()
        if r < 0.35:
            spec.wf(f"A{k}")
        elif r < 0.55:
            spec.sf(f"A{k}")
    for j in range(3):
        f = formula(3)
        spec.formula(f"F{j}", lambda f=f: f)
    return spec


@pytest.mark.slow
@pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)
@pytest.mark.parametrize("seed", range(12))
def test_tlc_decides_random_nested_formulas_as_we_do(tmp_path: Path, seed: int) -> None:
    from explorer.engines.liveness.check import check_liveness

    spec = random_formula_spec(seed)
    mod = export(spec, "R", deadlock=False)
    mod.write(tmp_path)
    res = explore(spec, Options(stop_on_first=False, keep_graph=True, check_deadlock=False), lambda _l: None)
    ours = {v.name: v.holds for v in check_liveness(res)}
    assert tlc_property_verdicts(tmp_path, mod, list(ours))[0] == ours


@pytest.mark.slow
@pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)
@pytest.mark.parametrize("fairness", ["SimpleAllocator", "SimpleAllocator2"])
def test_tlc_checks_an_exported_fairness_filter_as_we_do(tmp_path: Path, fairness: str) -> None:
    """SimpleAllocator exported with its fairness (a where filter on Return) and its properties: TLC's
    verdict on each property is our liveness engine's (SimpleAllocator2 => ClientsWillObtain and
    InfOftenSatisfied do not hold). TLC stops at the first violated property and names it, so it runs
    again without it until it finds none, a run that counts 400 distinct, 1,633 generated, depth 6."""
    from explorer.engines.liveness.check import check_liveness

    spec = simpleallocator.make_spec(fairness=fairness)
    mod = export(spec, "SimpleAllocator", deadlock=False)
    mod.write(tmp_path)
    ours = {
        re.sub(r"\W+", "_", v.name).strip("_"): v.holds
        for v in check_liveness(explore(spec, Options(stop_on_first=False, keep_graph=True), lambda _l: None))
    }
    assert set(ours) <= cfg_names(mod.cfg)
    theirs, last = tlc_property_verdicts(tmp_path, mod, list(ours))
    counts = re.findall(r"^([\d,]+) states generated, ([\d,]+) distinct states found", last, re.M)
    depth = re.findall(r"depth of the complete state graph search is (\d+)", last)
    assert (counts[-1], depth[-1]) == (("1633", "400"), "6"), last[-2000:]
    assert theirs == ours
    assert set(ours.values()) == ({True} if fairness == "SimpleAllocator" else {True, False})
