"""Records (``spec.lang.Record``, issue 23): TLA+'s ``[f1 : T1, ...]`` as a value every back-end reads,
checked on EWD998 (tests/classic/ewd998.py, whose token is a record) and on a record inside a function.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import z3

from explorer.engines.bfs import Options, explore
from explorer.engines.compiled import engine as native
from explorer.engines.smt.bmc import bmc
from explorer.engines.smt.layers import count_layers
from explorer.outputs.export.tla import export
from explorer.outputs.export.tla_printer import ExportError
from explorer.outputs.traces import TraceError, decode_value, encode_value
from spec.lang import Bool, Enum, Fn, Int, Record, Spec, SpecError, eq, ite, put, when
from tests.classic import ewd998
from tests.test_export_tla import assert_well_formed

JAR = os.environ.get("TLA2TOOLS_JAR", "")

Node = Enum("Node", 2)
Msg = Record("Msg", src=Node, bal=Int(0, 2), live=Bool)


def test_a_record_is_built_read_and_updated_like_tlas():
    m = Msg(src=1, bal=2, live=True)
    assert (m.src, m.bal, m.live) == (1, 2, True)
    assert Msg.contains(m) and Msg.show(m) == "[src |-> Node1, bal |-> 2, live |-> TRUE]"
    assert Msg.contains(m._replace(bal=0)) and put(m, 1, 0) == m._replace(bal=0)  # [m EXCEPT !.bal = 0]
    assert type(put(m, 1, 0)) is Msg.cls
    assert not Msg.contains((1, 2, True))  # a plain tuple is not a record value
    assert not Msg.contains(m._replace(bal=3))
    assert len(Msg.values()) == 2 * 3 * 2 and all(Msg.contains(v) for v in Msg.values())
    with pytest.raises(SpecError, match="not identifiers"):
        Record("Bad", _x=Bool)


def test_ite_and_eq_read_records_alike_concretely_and_symbolically():
    a, b = Msg(src=0, bal=1, live=False), Msg(src=1, bal=2, live=True)
    assert ite(True, a, b) is a and eq(a, a) is True and eq(a, b) is False
    c = z3.Bool("c")
    r = ite(c, a, b)
    assert type(r) is Msg.cls  # still a record: r.bal reads the field
    assert z3.simplify(z3.substitute(r.bal, (c, z3.BoolVal(True)))).as_long() == 1
    x = Msg(src=z3.BitVec("s", 8), bal=z3.Int("b"), live=z3.Bool("l"))
    solver = z3.Solver()
    solver.add(eq(x, b))
    assert solver.check() == z3.sat and solver.model()[z3.Int("b")].as_long() == 2


def test_itf_writes_a_record_as_an_object_and_reads_it_back():
    m = Msg(src=1, bal=2, live=True)
    j = encode_value(Msg, m)
    assert j == {"src": "Node1", "bal": 2, "live": True}
    back = decode_value(Msg, json.loads(json.dumps(j)), "m")
    assert back == m and type(back) is Msg.cls
    with pytest.raises(Exception, match="fields"):
        decode_value(Msg, {"src": "Node1"}, "m")


def _inbox_spec() -> Spec:
    """A function of records, updated field by field and as a whole."""
    spec = Spec("Inbox")
    spec.var("inbox", Fn(Node, Msg), tuple(Msg(src=i, bal=0, live=False) for i in Node))

    @spec.action(i=Node, j=Node)
    def Send(s, i, j):
        m = s.inbox[j]
        return when(m.bal < 2, inbox=put(s.inbox, j, Msg(src=i, bal=m.bal + 1, live=True)))

    @spec.action(i=Node)
    def Drop(s, i):
        return when(s.inbox[i].live, inbox=put(s.inbox, i, s.inbox[i]._replace(live=False)))

    @spec.invariant
    def BelowTwo(s):
        return s.inbox[0].bal < 2

    return spec


def test_a_function_of_records_is_the_same_on_every_engine():
    opts = Options(stop_on_first=False, check_deadlock=False)
    a = explore(_inbox_spec(), opts)
    b = native.explore(_inbox_spec(), opts, lambda _l: None)
    assert (a.distinct, a.generated, a.layers) == (b.distinct, b.generated, b.layers)
    va, vb = a.violation("BelowTwo"), b.violation("BelowTwo")
    assert va is not None and vb is not None and va.trace.states == vb.trace.states
    assert type(vb.trace.states[-1].inbox[0]) is Msg.cls  # the compiled store gives records back
    r = bmc(_inbox_spec(), 6, invariants=["BelowTwo"])
    assert r.violation == "BelowTwo" and len(r.trace.states) == len(va.trace.states)
    assert count_layers(_inbox_spec(), 3, "image") == a.layers[:4]


@pytest.mark.slow  # 6 s of the fast tier (round 12: make test over 3 minutes in a fresh clone)
def test_ewd998_with_two_nodes_is_the_same_on_every_engine():
    # TLC on the original EWD998.tla with N = 2 (its EWD998Small.cfg otherwise; see
    # tests/test_classic.py for the build and N = 3): 33664 generated, 6876 distinct, depth 28
    opts = Options(stop_on_first=False, check_deadlock=False)
    a = explore(ewd998.make_spec(n=2), opts)
    b = native.explore(ewd998.make_spec(n=2), opts, lambda _l: None)
    assert a.exhausted and a.violations == [] and b.violations == []
    assert (a.distinct, a.generated, a.depth) == (b.distinct, b.generated, b.depth) == (6876, 33664, 28)
    # Z3 reads the token record alike: its layer counts are the search's
    assert count_layers(ewd998.make_spec(n=2), 4, "image") == a.layers[:5]


def test_ewd998_exports_records_as_tla_records():
    spec = ewd998.make_spec(n=2)
    mod = export(spec, spec.name, deadlock=False)
    assert_well_formed(spec, mod, False)
    assert "token \\in [pos : 0..1, q : " in mod.tla  # TypeOK: the record's set
    assert "[pos |-> 0, q |-> 0, color |-> black]" in mod.tla.replace('"', "")  # an initial token
    assert "token.pos" in mod.tla and "!.pos" in mod.tla or "token' = [pos |->" in mod.tla


def test_ewd998_safras_invariant_is_inductive_and_a_cti_carries_the_token():
    """The module's claim: Inv is Safra's inductive invariant, and it makes TerminationDetection
    inductive; alone, TerminationDetection has a counterexample to induction, whose states hold the
    token as a record."""
    from explorer.engines.smt.induction import prove

    assert prove(ewd998.make_spec(n=2), "Inv").ok
    assert prove(ewd998.make_spec(n=2), "TerminationDetection", strengthen=["Inv"]).ok
    r = prove(ewd998.make_spec(n=2), "TerminationDetection")
    assert not r.ok and r.trace is not None
    assert all(type(s.token).__name__ == "Token" for s in r.trace.states)


# --------------------------------------------------------------------------- TLC's counting (tlc_count.py)


def _branching_spec(counting: str, split: bool) -> Spec:
    """A guard with disjunctions inside conjunctions, an IF and an implication, written as one step
    (TLC's counting reads its structure) or split by hand into one step per way TLC reaches it."""
    from spec.lang import and_, implies, not_, or_

    spec = Spec("Branching", counting=counting)
    V = Enum("V", 3)
    spec.var("x", Int(0, 3), 0)
    spec.var("a", Fn(V, Bool), (False, False, False))

    @spec.action(v=V)
    def Set(s, v):
        return when(not_(s.a[v]), a=put(s.a, v, True))

    @spec.action()
    def Bump(s):
        a0, a1, a2 = s.a
        if not split:
            # x < 3 /\ (a0 \/ (a1 /\ (a2 \/ x = 0))) /\ (IF a2 THEN a0 \/ a1 ELSE TRUE) /\ (a1 => (a0 \/ a2))
            g = and_(s.x < 3, or_(a0, and_(a1, or_(a2, s.x == 0))), ite(a2, or_(a0, a1), True),
                     implies(a1, or_(a0, a2)))  # fmt: skip
            return when(g, x=s.x + 1)
        firsts = [a0, and_(a1, a2), and_(a1, s.x == 0)]
        ifs = [and_(a2, a0), and_(a2, a1), not_(a2)]
        thens = [and_(a1, a0), and_(a1, a2), not_(a1)]
        return [when(and_(s.x < 3, f, i, t), x=s.x + 1) for f in firsts for i in ifs for t in thens]

    return spec


def _partitioned(spec: Spec, opts: Options, _progress) -> object:
    from explorer.engines.partitioned import explore_partitioned

    return explore_partitioned(spec, opts, parts=2)


@pytest.mark.parametrize("engine", ["python", "native", "partitions"])
def test_tlc_counting_reads_the_guards_structure_as_the_steps_split_by_hand(engine):
    run = {"native": native.explore, "python": explore, "partitions": _partitioned}[engine]
    opts = Options(stop_on_first=False, check_deadlock=False)
    one = run(_branching_spec("tlc", split=False), opts, lambda _l: None)
    split = run(_branching_spec("steps", split=True), opts, lambda _l: None)
    plain = run(_branching_spec("steps", split=False), opts, lambda _l: None)
    assert (one.distinct, one.depth) == (split.distinct, split.depth) == (plain.distinct, plain.depth)
    assert one.generated == split.generated > plain.generated
    if engine != "partitions":  # which step first reached a state is not compared there
        assert one.coverage == split.coverage


def test_an_unknown_counting_mode_is_one_line():
    with pytest.raises(SpecError, match="counting 'tlc2' is none of steps, tlc"):
        explore(_branching_spec("tlc2", split=False), Options())


def _init_disjunction_spec() -> Spec:
    """``Init == x \\in 0..2 /\\ y \\in {0, 1} /\\ (x = 0 \\/ x < 2)``, ``Next == UNCHANGED <<x, y>>``, in
    TLC's counting. TLC (built here from tlaplus/tlaplus cc6b616) branches at a disjunction only while a
    variable is still unassigned: this Init, whose disjunction comes after both assignments (as the
    export prints an initial predicate), generates 4 initial states; with ``y \\in {0, 1}`` after the
    disjunction it generates 6 (x = 0 satisfies both disjuncts, and each branch then assigns y). The
    same holds in an action: a disjunction after every primed variable is assigned counts once, one
    before them once per true disjunct (as the export prints a guard, before the updates)."""
    from spec.lang import or_

    spec = Spec("InitDisj", counting="tlc")
    spec.var("x", Int(0, 2), [0, 1, 2], any_of=True)
    spec.var("y", Int(0, 1), [0, 1], any_of=True)

    @spec.initially
    def XSmall(s):
        return or_(s.x == 0, s.x < 2)

    @spec.action()
    def Stay(s):
        return when(True)

    return spec


@pytest.mark.parametrize("engine", ["python", "native", "partitions"])
def test_an_initial_predicate_counts_once_as_tlc_evaluates_it_after_every_assignment(engine):
    run = {"native": native.explore, "python": explore, "partitions": _partitioned}[engine]
    res = run(_init_disjunction_spec(), Options(stop_on_first=False, check_deadlock=False), lambda _l: None)
    assert (res.distinct, res.generated, res.depth) == (4, 8, 1)


@pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)
def test_tlc_on_the_export_counts_the_initial_predicate_once_too():
    from explorer.runs.tlc_check import tlc_check

    r = tlc_check(_init_disjunction_spec(), "initdisj", JAR)
    assert r.agree and r.tlc == (4, 8, 1), r.problems


# --------------------------------------------------------------------------- sets of records (RecordSet)


def test_a_record_set_is_an_enum_of_records_that_the_export_prints_as_records():
    """Paxos's Message: its values are records, the TLA+ module's Message is the set of those records
    and msgs a subset of it (TLC on such a module counts what we count: test_export_tla.py)."""
    from tests.classic import paxos

    spec = paxos.make_spec()
    msgs = next(v for v in spec.variables if v.name == "msgs")
    Message = msgs.type.domain
    one_a = Message.where(type="1a", bal=0)
    assert len(one_a) == 1 and Message.fields(one_a[0]) == {"type": "1a", "bal": 0}
    mod = export(spec, "Paxos")
    tla = mod.tla
    assert (
        'Message == {[type |-> "1a", bal |-> 0], [type |-> "1a", bal |-> 1], [type |-> "1b", acc |-> "a1"'
        in tla
    )
    assert "@type: Set({type: Str, bal: Int, acc: Str, mbal: Int, mval: Str, val: Str});" in tla
    assert "msgs \\in SUBSET Message" in tla
    # a vote <<b, v>> of Ballot \\X Value: a TupleSet
    (voting,) = mod.instanced.values()  # Voting, the abstract spec of the refinement, has the votes
    assert 'Vote == {<<0, "v1">>, <<1, "v1">>}' in tla and "@type: (Str -> Set(<<Int, Str>>));" in voting
    assert_well_formed(spec, mod)


def test_a_record_set_refuses_fields_it_cannot_print():
    from spec.values import RecordSet, TupleSet

    V = Enum("V", ["v1"])
    with pytest.raises(SpecError, match="field val = 3 is not a value of V"):
        RecordSet("M", [{"type": "a", "val": 3}], enums={"val": V})
    with pytest.raises(SpecError, match="field bal = 1.5 is not an int or a string"):
        RecordSet("M", [{"type": "a", "bal": 1.5}])
    with pytest.raises(SpecError, match="field 'a b' is not an identifier"):
        RecordSet("M", [{"a b": 1}])
    with pytest.raises(SpecError, match="element 1 = 2 is not a value of V"):
        TupleSet("T", [(0, 2)], enums={1: V})


def test_a_tuple_set_filler_is_a_value_but_no_tuple():
    """ReadersWriters' queue slots hold <<"read", a>> pairs or, past the end, the filler: a value of the
    Enum that is no tuple, which ITF writes as its name and the TLA+ export refuses to print."""
    from explorer.outputs.export.tla_printer import enum_literal
    from spec.values import TupleSet

    A = Enum("A", ["1", "2"])
    R = TupleSet("R", [("read", a) for a in A], enums={1: A}, filler="none")
    assert R.names == ["tread_1", "tread_2", "none"] and R.filler == 2 and R.tuples() == [0, 1]
    with pytest.raises(SpecError, match="none is the filler, no tuple"):
        R.item(2)
    with pytest.raises(ExportError, match="R's value none is the filler of a sequence's unused slots"):
        enum_literal(R, 2)
    assert enum_literal(R, 1) == '<<"read", "2">>'
    assert encode_value(R, 2) == "none" and decode_value(R, "none", "x") == 2
    assert (
        encode_value(R, 0) == {"#tup": ["read", "1"]} and decode_value(R, {"#tup": ["read", "1"]}, "x") == 0
    )
    with pytest.raises(SpecError, match="the filler 'tread_1' is also a tuple's name"):
        TupleSet("R", [("read", 0)], enums={1: A}, filler="tread_1")


def test_subsets_as_an_action_parameter_print_as_tla_sets():
    """SimpleAllocator's ``\\E S \\in SUBSET Resource : Request(c, S)``: the export prints it so, each
    instance's S a set literal; TLC on it counts what we count."""
    from tests.classic import simpleallocator

    spec = simpleallocator.make_spec()
    mod = export(spec, "SimpleAllocator", properties=False)
    assert "\\E c \\in Client, S \\in SUBSET Resource : Request(c, S)" in mod.tla
    assert '<<c, S>> = <<"c1", {"r1", "r2"}>>' in mod.tla and "SUBSET_Resource" not in mod.tla
    assert_well_formed(spec, mod)
    if JAR and Path(JAR).is_file() and shutil.which("java"):
        from explorer.runs.tlc_check import tlc_check

        r = tlc_check(spec, "simpleallocator", JAR)
        assert r.agree and r.tlc == (400, 1633, 6), r.problems


def test_itf_writes_records_tuples_and_subsets_of_an_enum_as_such_and_reads_them_back(tmp_path):
    """A RecordSet's value is an ITF record (a JSON object), a TupleSet's a #tup, a PowerSet's a #set,
    as Apalache and Quint write them; a trace of Paxos replays from its ITF file."""
    from explorer.outputs.traces import load_itf_trace, to_itf
    from spec.lang import Set
    from spec.values import RecordSet, TupleSet, powerset

    V = Enum("V", ["v1", "v2"])
    M = RecordSet("M", [{"type": "1a", "bal": 0}, {"type": "2a", "bal": 1, "val": 1}], enums={"val": V})
    T = TupleSet("T", [(0, 0), (1, 1)], enums={1: V})
    S = powerset(V)
    assert encode_value(M, 1) == {"type": "2a", "bal": 1, "val": "v2"}
    assert encode_value(T, 1) == {"#tup": [1, "v2"]}
    assert encode_value(S, 3) == {"#set": ["v1", "v2"]}
    assert encode_value(Set(M), (True, False)) == {"#set": [{"type": "1a", "bal": 0}]}
    for t, v in [(M, 1), (T, 1), (S, 3), (Set(M), (True, True))]:
        assert decode_value(t, json.loads(json.dumps(encode_value(t, v))), "x") == v
    with pytest.raises(TraceError, match="is no value of M"):
        decode_value(M, {"type": "1b", "bal": 0}, "m")
    from tests.classic import paxos

    spec = paxos.make_spec(ballot_check=False)
    res = explore(spec, Options(check_deadlock=False, keep_graph=True, stop_on_first=False), lambda _l: None)
    from explorer.engines.refinement import check_refinements

    (v,) = check_refinements(res)  # a trace whose states hold messages of every type
    itf = to_itf(v.trace, "refinement")
    assert any(
        isinstance(m, dict) and m.get("type") == "2b" for s in itf["states"] for m in s["msgs"]["#set"]
    )
    (tmp_path / "t.itf.json").write_text(json.dumps(itf))
    back = load_itf_trace(tmp_path / "t.itf.json", spec)  # the picks too: m is a message record
    assert back.states == v.trace.states and back.steps == v.trace.steps
