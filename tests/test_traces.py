"""explorer.outputs.traces and replay: text, ITF and DOT dumps; reading ITF back; replay; atomic files."""

import json
from pathlib import Path

import itf_py
import pytest

from explorer.cli import main
from explorer.engines.bfs import Options, Trace, explore
from explorer.outputs import traces
from explorer.outputs.replay import ReplayError, replay
from explorer.outputs.traces import (
    TraceError,
    format_text,
    load_itf_states,
    load_itf_trace,
    to_dot,
    to_itf,
    write_trace,
)
from spec.lang import Bool, Enum, Fn, Int, Set, Spec, const_fn, put, when
from tests.classic import diehard

ROOT = Path(__file__).resolve().parent.parent
BIG = 2**53  # the first integer ITF must spell as {"#bigint": ...}


def quiet(_line: str) -> None:
    """A progress sink, so tests print nothing."""


def first_violation(spec: Spec, **opts) -> Trace:
    res = explore(spec, Options(**opts), progress=quiet)
    assert res.violations, "the spec was meant to have a violation"
    return res.violations[0].trace


def diehard_trace() -> Trace:
    return first_violation(diehard.make_spec(goal_invariant=True), invariants=["NotSolved"])


def rich_spec() -> Spec:
    """Every kind of value: Bool, a big Int, an Enum, a function to an Enum, a set; parameterised actions."""
    spec = Spec("Rich")
    item = Enum("Item", 2)
    flag = Enum("Flag", ["FREE", "READY"])
    spec.var("flags", Fn(item, flag), init=const_fn(item, flag.FREE))
    spec.var("pending", Set(item), init=const_fn(item, False))
    spec.var("busy", Bool, init=False)
    spec.var("count", Int(0, BIG + 4), init=BIG - 1)
    spec.var("last", flag, init=flag.FREE)

    @spec.action(w=item, k=[1, 2])
    def Submit(s, w, k):
        return when(
            s.flags[w] == flag.FREE,
            flags=put(s.flags, w, flag.READY),
            pending=put(s.pending, w, True),
            count=s.count + k,
            busy=True,
            last=flag.READY,
        )

    @spec.invariant
    def NotAllReady(s):
        "Some item is still FREE."
        return not all(x == flag.READY for x in s.flags)

    return spec


# --------------------------------------------------------------------------- text


def test_text_numbers_states_and_marks_changed_variables():
    text = format_text(diehard_trace(), "Invariant NotSolved is violated.")
    lines = text.splitlines()
    assert lines[0] == "Invariant NotSolved is violated."
    assert "State 1: <Initial predicate>" in lines
    i = lines.index("State 2: <FillBigJug>")
    assert lines[i + 1 : i + 3] == ["* /\\ big = 5", "  /\\ small = 0"]
    assert "State 7: <BigToSmall>" in lines
    assert "* /\\ big = 4" in lines


def test_text_shows_values_with_their_types():
    text = format_text(first_violation(rich_spec()), "t")
    assert "flags = [Item0 |-> READY, Item1 |-> FREE]" in text
    assert "pending = {Item0}" in text
    assert "busy = TRUE" in text
    assert "State 2: <Submit(w=Item0, k=1)>" in text


# --------------------------------------------------------------------------- ITF


def test_itf_dump_is_read_by_itf_py(tmp_path):
    trace = first_violation(rich_spec())
    write_trace(trace, tmp_path / "v", "NotAllReady is violated")
    parsed = itf_py.trace_from_json(json.loads((tmp_path / "v.itf.json").read_text()))
    assert parsed.vars == ["flags", "pending", "busy", "count", "last"]
    assert parsed.meta["format"] == "ITF"
    assert parsed.loop is None
    assert len(parsed.states) == len(trace.states) == 3
    first, last = parsed.states[0].values, parsed.states[-1].values
    assert first["flags"] == {"Item0": "FREE", "Item1": "FREE"}
    assert first["pending"] == frozenset()
    assert first["busy"] is False
    assert first["count"] == BIG - 1 and first["mbt::actionTaken"] == "init"
    assert last["pending"] == frozenset({"Item0", "Item1"})
    assert last["count"] == BIG + 1 and last["last"] == "READY"
    assert [s.meta["index"] for s in parsed.states] == [0, 1, 2]
    assert parsed.states[1].values["mbt::actionTaken"] == "Submit"
    assert parsed.states[1].values["mbt::nondetPicks"]._asdict() == {"w": "Item0", "k": 1}


def test_the_itf_file_is_the_itf_object_with_one_state_per_line(tmp_path):
    trace = first_violation(rich_spec())
    write_trace(trace, tmp_path / "v", "t")
    text = (tmp_path / "v.itf.json").read_text()
    assert json.loads(text) == to_itf(trace, "t")
    state_lines = [line for line in text.splitlines() if line.startswith('    {"#meta": {"index": ')]
    assert len(state_lines) == len(trace.states)


def test_itf_value_encoding():
    itf = to_itf(first_violation(rich_spec()), "t")
    s0, s2 = itf["states"][0], itf["states"][2]
    assert s0["count"] == BIG - 1  # a plain JSON number below 2**53
    assert s2["count"] == {"#bigint": str(BIG + 1)}
    assert s0["flags"] == {"#map": [["Item0", "FREE"], ["Item1", "FREE"]]}
    assert s2["pending"] == {"#set": ["Item0", "Item1"]}
    assert s0["busy"] is False and s2["busy"] is True
    assert "loop" not in itf


def test_itf_round_trip_and_replay(tmp_path):
    trace = first_violation(rich_spec())
    write_trace(trace, tmp_path / "v", "t")
    spec = rich_spec()  # a fresh build: replay must not depend on object identity
    assert load_itf_states(tmp_path / "v.itf.json", spec) == trace.states
    back = load_itf_trace(tmp_path / "v.itf.json", spec)
    assert [None if s is None else s.label for s in back.steps] == [
        None if s is None else s.label for s in trace.steps
    ]
    replay(spec, back)


def test_load_itf_rejects_values_outside_the_type(tmp_path):
    spec = rich_spec()
    itf = to_itf(first_violation(spec), "t")
    itf["states"][1]["last"] = "GONE"
    (tmp_path / "bad.itf.json").write_text(json.dumps(itf))
    # numbered from 1, as replay and the text traces number states, with the file's 0-based index
    with pytest.raises(
        TraceError, match=r"state 2 \(index 1 in the file\): last: expected one of FREE, READY"
    ):
        load_itf_states(tmp_path / "bad.itf.json", spec)


def test_loading_and_replaying_number_a_state_alike(tmp_path):
    """The loader said "state 1" for the second state where replay said "state 2": one numbering."""
    spec = rich_spec()
    trace = first_violation(spec)
    itf = to_itf(trace, "t")
    del itf["states"][2]["last"]
    (tmp_path / "bad.itf.json").write_text(json.dumps(itf))
    with pytest.raises(TraceError, match=r"state 3 \(index 2 in the file\) lacks variable last"):
        load_itf_states(tmp_path / "bad.itf.json", spec)
    broken = Trace(spec, list(trace.states), list(trace.steps), None)
    broken.steps[2] = broken.steps[1]
    with pytest.raises(ReplayError, match=r"^state 3 <"):
        replay(spec, broken)


# --------------------------------------------------------------------------- lassos, DOT


def diehard_states(spec: Spec, *pairs: tuple[int, int]) -> list:
    return [spec.make_state({"big": b, "small": s}) for b, s in pairs]


def step(spec: Spec, label: str):
    return next(i for i in spec.instances() if i.label == label)


def test_lasso_whose_last_state_repeats_the_loop_state():
    spec = diehard.make_spec()
    states = diehard_states(spec, (0, 0), (5, 0), (0, 0))
    trace = Trace(spec, states, [None, step(spec, "FillBigJug"), step(spec, "EmptyBigJug")], loop=0)
    replay(spec, trace)
    text = format_text(trace, "t")
    assert "State 1: <Initial predicate>  (the loop starts here)" in text
    assert "State 3: Back to state 1: <EmptyBigJug>" in text
    assert to_itf(trace, "t")["loop"] == 0
    dot = to_dot(trace, "t")
    assert 's1 -> s0 [label="EmptyBigJug", style=dashed];' in dot
    assert "s2 " not in dot  # the repeated state is drawn as the back edge, not as a node


def test_lasso_with_an_implicit_closing_step_and_stuttering():
    spec = diehard.make_spec()
    closed = Trace(spec, diehard_states(spec, (0, 0), (5, 0)), [None, step(spec, "FillBigJug")], loop=0)
    replay(spec, closed)  # EmptyBigJug leads back
    assert format_text(closed, "t").rstrip().endswith("Back to state 1")
    stutter = Trace(
        spec, diehard_states(spec, (0, 0), (5, 0), (5, 0)), [None, step(spec, "FillBigJug"), None], loop=2
    )
    replay(spec, stutter)
    assert "State 3: <Stuttering>" in format_text(stutter, "t")
    assert to_itf(stutter, "t")["states"][2]["mbt::actionTaken"] == "stutter"
    no_way_back = Trace(spec, diehard_states(spec, (0, 0), (5, 0)), [None, step(spec, "FillBigJug")], loop=1)
    replay(spec, no_way_back)  # FillBigJug again is a self-loop in (5, 0)
    full = diehard_states(spec, (0, 0), (0, 3), (5, 3))  # no single step empties both jugs
    unreachable = Trace(spec, full, [None, step(spec, "FillSmallJug"), step(spec, "FillBigJug")], loop=0)
    with pytest.raises(ReplayError, match="no step leads from state 3 back to state 1"):
        replay(spec, unreachable)


def test_dot_labels_nodes_with_changes_and_edges_with_actions():
    dot = to_dot(diehard_trace(), 'Invariant "NotSolved" is violated.\nrationale')
    assert dot.startswith('digraph "DieHard" {')
    assert 'label="Invariant \\"NotSolved\\" is violated.";' in dot
    assert 's0 [label="State 1\\lbig = 0\\lsmall = 0\\l"];' in dot
    assert 's3 [label="State 4\\lsmall = 0\\l"];' in dot  # only what EmptySmallJug changed
    assert 's2 -> s3 [label="EmptySmallJug"];' in dot
    assert dot.rstrip().endswith("}")


# --------------------------------------------------------------------------- replay rejects tampering


def test_replay_accepts_the_found_trace():
    replay(diehard.make_spec(goal_invariant=True), diehard_trace())


@pytest.mark.parametrize(
    "tamper, message",
    [
        (
            lambda t: t.states.__setitem__(3, t.states[3]._replace(small=1)),
            r"state 4 <EmptySmallJug>: .*differs in small",
        ),
        (lambda t: t.steps.__setitem__(2, t.steps[1]), r"state 3 <FillBigJug>: FillBigJug does not lead"),
        (lambda t: t.states.__setitem__(0, t.states[0]._replace(big=1)), r"state 1 is not an initial state"),
        (
            lambda t: t.steps.__setitem__(4, None),
            r"state 5 <Stuttering>: a stuttering step changes big, small",
        ),
        (
            lambda t: t.states.__setitem__(2, t.states[2]._replace(big=9)),
            r"state 3: big = 9 is outside Int\(0, 5\)",
        ),
        (lambda t: t.steps.pop(), r"7 states but 6 steps"),
    ],
)
def test_replay_rejects_a_tampered_trace(tamper, message):
    trace = diehard_trace()
    tamper(trace)
    with pytest.raises(ReplayError, match=message):
        replay(diehard.make_spec(goal_invariant=True), trace)


def test_replay_rejects_a_disabled_action():
    spec = rich_spec()
    trace = first_violation(spec)
    trace.steps[2] = trace.steps[1]  # Submit(w=Item0) again, but Item0 is no longer FREE
    with pytest.raises(ReplayError, match=r"state 3 <Submit\(w=Item0, k=1\)>: .* is not enabled in state 2"):
        replay(spec, trace)


# --------------------------------------------------------------------------- files


def test_write_trace_writes_three_files(tmp_path):
    paths = write_trace(diehard_trace(), tmp_path / "a" / "b" / "NotSolved", "t")
    assert [p.name for p in paths] == ["NotSolved.txt", "NotSolved.itf.json", "NotSolved.dot"]
    assert all(p.is_file() for p in paths)


def test_write_trace_keeps_earlier_outputs_on_error(tmp_path, monkeypatch):
    base = tmp_path / "NotSolved"
    paths = write_trace(diehard_trace(), base, "first")
    before = {p: p.read_bytes() for p in paths}

    def broken(trace, title):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(traces, "to_dot", broken)
    with pytest.raises(RuntimeError):
        write_trace(diehard_trace(), base, "second")
    assert {p: p.read_bytes() for p in paths} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no temp files left


def test_two_runs_write_byte_identical_files(tmp_path, capsys):
    config = str(ROOT / "tests/classic/diehard_goal.toml")
    for run in ("one", "two"):
        assert (
            main(["check", config, "--out", str(tmp_path / run), "--continue"]) == 0
        )  # the config expects NotSolved violated
    capsys.readouterr()
    one = sorted((tmp_path / "one").rglob("*"))
    two = sorted((tmp_path / "two").rglob("*"))
    assert [p.relative_to(tmp_path / "one") for p in one] == [p.relative_to(tmp_path / "two") for p in two]
    files = [p for p in one if p.is_file()]
    assert len(files) == 3
    for p in files:
        assert p.read_bytes() == (tmp_path / "two" / p.relative_to(tmp_path / "one")).read_bytes()
