"""The expected-verdict matrix: every cell's computed verdicts, and every dumped counterexample replays."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.engines.bfs import DEADLOCK
from explorer.outputs.replay import replay
from explorer.outputs.traces import load_itf_trace
from explorer.runs.matrix.cells import compare, run_matrix
from explorer.runs.results import DEFAULT_EXPECTATIONS, load_expectations
from invariants.delayed_work.properties import SAFETY
from spec.config import ConfigError, import_model
from spec.lang import successors
from tests.conftest import selected_params, selected_tests

PROPS, CELLS = load_expectations(DEFAULT_EXPECTATIONS)
BY_NAME = {c.name: c for c in CELLS}


def _spec(cell: str):
    return import_model(BY_NAME[cell].model).make_spec(**BY_NAME[cell].constants)


# The fast tier checks these small cells (a posted-RFC stranding, the task-context design and its fix, a
# bpf_timer and a bpf_wq cell: about 13K states in all); the full tier every cell of the matrix.
FAST_CELLS = ["rfc_posted_user_keeps_fds", "rfc_posted", "task_context_exit_drain", "timer_no_uref_sweep",
              "wq_inline_cancel"]  # fmt: skip
CELL_PARAMS = [pytest.param(c.name, marks=() if c.name in FAST_CELLS else pytest.mark.slow) for c in CELLS]
# the cells each test without a cell parameter reads
NEEDS = {
    "test_hypotheses_from_the_issue_are_confirmed": [
        "rfc_posted", "rfc_posted_user_keeps_fds", "rfc_posted_hash", "rfc_fixed_hash", "no_claim_lock",
        "locked_list_nmi", "locked_list", "rfc_fixed_cb_submits", "usercnt_cb_submits", "task_context",
        "task_context_exit_drain",
    ],
    "test_answers_under_the_linux_grace_period": [
        "rfc_fixed", "rfc_fixed_leak", "rfc_fixed_tasks_trace_leak", "no_work_prog_ref", "no_used_maps",
        "rfc_repaired", "rfc_repaired_tasks_trace",
    ],
    "test_rfc_posted_strands_with_two_submissions_before_one_drain": ["rfc_posted_user_keeps_fds"],
}  # fmt: skip


@pytest.fixture(scope="module")
def matrix(request, tmp_path_factory):
    """The cells the selected tests read, run as the matrix runs them (two workers)."""
    wanted = set(selected_params(request, "cell"))
    for test in selected_tests(request) & set(NEEDS):
        wanted |= set(NEEDS[test])
    out = tmp_path_factory.mktemp("counterexamples")
    # the kernel-configuration runs are make check's and tests/test_configurations.py's: not repeated here
    results = run_matrix([c for c in CELLS if c.name in wanted], out, jobs=2, configs=False)
    return out, {r.name: r for r in results}


@pytest.mark.parametrize("cell", CELL_PARAMS)
def test_cell_verdicts_match_expectations(matrix, cell):
    _, results = matrix
    res = results[cell]
    assert res.error is None, res.error
    assert compare(PROPS, [BY_NAME[cell]], [res]) == []
    assert res.distinct > 0 and res.depth > 0


def _dumps(out: Path, cell: str) -> list[Path]:
    return sorted((out / cell).glob("*.itf.json"))


@pytest.mark.parametrize("cell", CELL_PARAMS)
def test_every_dumped_counterexample_replays(matrix, cell):
    """Each dump is re-executed step by step against the spec; its last state (or its cycle) violates
    the property it was dumped for."""
    out, results = matrix
    res = results[cell]
    violated = {p for p, v in res.verdicts.items() if v == "violated"}
    dumps = _dumps(out, cell)
    names = {d.name.removesuffix(".itf.json") for d in dumps}
    assert {n for n in names if not n.endswith(".storm")} == violated
    # a storm lasso (the environment repeats in its cycle) is dumped beside a property that holds
    assert {n.removesuffix(".storm") for n in names if n.endswith(".storm")} == set(res.storms)
    assert all(res.verdicts[p] == "holds" for p in res.storms)
    spec = _spec(cell)
    for d in dumps:
        prop = d.name.removesuffix(".itf.json")
        trace = load_itf_trace(d, spec)
        replay(spec, trace)
        last = trace.states[-1]
        if prop.endswith(".storm"):
            prop = prop.removesuffix(".storm")
            assert trace.loop is not None, f"{prop}: a storm is a lasso"
            cycle_steps = trace.steps[trace.loop + 1 :]  # steps[i] leads to states[i]
            assert any(st.action.name in spec.environment for st in cycle_steps), (
                f"{prop}: no environment step"
            )
            family = [t for t in spec.properties if t.name.split("[")[0] == prop]
            cycle = trace.states[trace.loop :]
            assert any(all(t.q(s) is False for s in cycle) for t in family if t.kind == "leadsto"), prop
            continue
        if prop == DEADLOCK:
            assert list(successors(spec, last)) == []
        elif prop in {p.name for p in spec.invariants}:
            assert spec.invariant_named(prop).fn(last) is False
            assert all(spec.invariant_named(prop).fn(s) is True for s in trace.states[:-1])
        elif prop in {r.name for r in spec.refinements}:
            (ref,) = [r for r in spec.refinements if r.name == prop]
            pairs = list(zip(trace.states, trace.states[1:], strict=False))
            assert ref.step_check(*pairs[-1]) is True  # the last step is no abstract step
            assert all(ref.step_check(s, t) is False for s, t in pairs[:-1])
        else:
            assert trace.loop is not None, f"{prop} should be a lasso"
            assert trace.states[-1] == trace.states[trace.loop]
            family = [t for t in spec.properties if t.name.split("[")[0] == prop]
            cycle = trace.states[trace.loop :]
            # some instance of the property is violated along the whole cycle
            assert any(
                all(t.q(s) is False for s in cycle) if t.kind == "leadsto" else True for t in family
            ), f"{prop}: no instance is false on every state of the cycle"


@pytest.mark.slow
def test_hypotheses_from_the_issue_are_confirmed(matrix):
    """The issue's hypotheses, stated directly against the computed verdicts."""
    _, r = matrix
    assert r["rfc_posted"].verdicts["NoStrandedItem"] == "violated"  # inc_not_zero fails
    assert r["rfc_posted_user_keeps_fds"].verdicts["NoStrandedItem"] == "violated"  # two submits, one drain
    assert r["rfc_posted_hash"].verdicts["NoMapAccessAfterFree"] == "violated"
    assert r["rfc_fixed_hash"].verdicts["NoMapAccessAfterFree"] == "violated"
    assert r["no_claim_lock"].verdicts["NoDoubleEnqueue"] == "violated"
    assert r["locked_list_nmi"].verdicts[DEADLOCK] == "violated"
    assert r["locked_list"].verdicts[DEADLOCK] == "holds"
    assert r["rfc_fixed_cb_submits"].verdicts["ProgEventuallyFreed"] == "violated"
    assert r["usercnt_cb_submits"].verdicts["ProgEventuallyFreed"] == "holds"
    assert r["rfc_posted"].verdicts["EverySubmittedWorkRuns"] == "violated"
    assert r["task_context"].verdicts["EverySubmittedWorkRuns"] == "violated"
    assert r["task_context_exit_drain"].verdicts["EverySubmittedWorkRuns"] == "holds"


@pytest.mark.slow
def test_answers_under_the_linux_grace_period(matrix):
    """What changed once the grace period waits only for readers in flight at call_rcu."""
    _, r = matrix
    assert r["rfc_fixed"].verdicts["NoIrqWorkUseAfterFree"] == "violated"  # two runners, one BUSY bit
    assert r["rfc_fixed_leak"].verdicts["NoIrqWorkUseAfterFree"] == "vacuous"  # the same race: a leak
    assert all(r["rfc_fixed_leak"].verdicts[p] in ("holds", "vacuous") for p in SAFETY)
    assert r["rfc_fixed_tasks_trace_leak"].verdicts["NoMapAccessAfterFree"] == "violated"
    assert r["no_work_prog_ref"].verdicts["NoCallbackAfterProgFree"] == "violated"  # claim (d) needed
    assert r["no_used_maps"].verdicts["NoMapAccessAfterFree"] == "violated"  # claim (b) needed
    for cell in ("rfc_repaired", "rfc_repaired_tasks_trace"):
        assert all(r[cell].verdicts[p] == "holds" for p in SAFETY), cell


@pytest.mark.parametrize("cell", CELL_PARAMS)
def test_every_kernel_witness_is_reached_and_its_trace_replays(matrix, cell):
    """A witness trace is a real behaviour of the model that ends in the witnessed state or step."""
    out, results = matrix
    res = results[cell]
    spec = _spec(cell)
    witnesses = {w.name: w for w in spec.witnesses}
    for name, (kernel, depth) in res.witnesses.items():
        if depth is None:
            assert not kernel or name in BY_NAME[cell].unreachable
            continue
        trace = load_itf_trace(out.parent / "witnesses" / cell / f"{name}.itf.json", spec)
        replay(spec, trace)
        assert len(trace.states) == depth
        w = witnesses[name]
        args = trace.states[-1:] if w.action is None else trace.states[-2:]
        assert w.fn(*args) is True
        if w.action is not None:
            assert trace.steps[-1].action.name == w.action


def test_rfc_posted_strands_with_two_submissions_before_one_drain(matrix):
    """With user space holding every fd, inc_not_zero cannot fail: the stranding is the reverse bug."""
    _, r = matrix
    steps = r["rfc_posted_user_keeps_fds"].steps["NoStrandedItem"]
    assert sum(s.startswith("SubmitEnqueue") for s in steps) == 2
    assert sum(s.startswith("DrainTake") for s in steps) == 1


# --------------------------------------------------------------------------- bad expectation files

GOOD_CELL = """
[[cell]]
name = "a"
constants = { variant = "rfc_fixed" }
[cell.expect]
NoDoubleEnqueue = "holds: claim lock"
"""


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "expected.toml"
    p.write_text(body, encoding="utf-8")
    return p


HEAD = 'model = "spec.delayed_work"\nproperties = ["NoDoubleEnqueue"]\n'


@pytest.mark.parametrize(
    "body, message",
    [
        (HEAD + GOOD_CELL.replace('name = "a"', 'name = "a"\nbogus = 1'), "unknown key"),
        (HEAD + "junk = 1\n" + GOOD_CELL, "unknown top-level key"),
        (HEAD + GOOD_CELL.replace('"holds: claim lock"', '"maybe: who knows"'), "does not start with holds"),
        (HEAD + GOOD_CELL.replace("NoDoubleEnqueue = ", "NoSuchThing = "), "not a property"),
        (HEAD + GOOD_CELL.replace('variant = "rfc_fixed"', 'variant = "nope"'), "constants.variant"),
        (HEAD + GOOD_CELL.replace('variant = "rfc_fixed"', "cpus = 9"), "out of range"),
        (HEAD + GOOD_CELL.replace('variant = "rfc_fixed"', "colour = 1"), "unknown constant"),
        (HEAD + GOOD_CELL + GOOD_CELL, "duplicate cell name"),
        (
            'model = "spec.delayed_work"\nproperties = ["NoDoubleEnqueue", "Deadlock"]\n' + GOOD_CELL,
            "no expectation",
        ),
        (HEAD + "[[cell]\n", "Expected"),
    ],
)
def test_bad_expectation_file_is_one_line_error(tmp_path, body, message):
    with pytest.raises(ConfigError) as e:
        load_expectations(_write(tmp_path, body))
    assert message in str(e.value)
    assert "\n" not in str(e.value)
    assert str(tmp_path) in str(e.value)


def test_cell_errors_name_the_line(tmp_path):
    body = HEAD + GOOD_CELL.replace('variant = "rfc_fixed"', "cpus = 9")
    with pytest.raises(ConfigError, match=r"expected.toml:5: cell a: constants.cpus"):
        load_expectations(_write(tmp_path, body))


def test_cli_matrix_on_one_cell(tmp_path, capsys):
    from explorer.cli import main

    p = _write(tmp_path, HEAD + GOOD_CELL)
    assert main(["matrix", "--expect", str(p), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    assert "ok" in capsys.readouterr().out
    wrong = _write(tmp_path, HEAD + GOOD_CELL.replace('"holds: claim lock"', '"violated: claimed"'))
    assert main(["matrix", "--expect", str(wrong), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 1
    assert "MISMATCH a: NoDoubleEnqueue expected violated" in capsys.readouterr().err


# --------------------------------------------------------------------------- witnesses and vacuity


def _run(tmp_path, body: str) -> int:
    from explorer.cli import main

    p = _write(tmp_path, body)
    return main(["matrix", "--expect", str(p), "--out", str(tmp_path / "out"), "--jobs", "1"])


SMALL = """
[[cell]]
name = "small"
constants = {{ variant = "rfc_fixed", cpus = 1{extra} }}
[cell.expect]
NoDoubleEnqueue = "vacuous (1 CPU): task-level submits never overlap on one CPU"
"""


def test_an_over_strong_grace_period_is_caught_by_its_witness(tmp_path, capsys):
    """The test-only grace_period = too_strong restores the defect of an earlier model (it waited for
    readers that began after call_rcu): the witness of that kernel behaviour becomes unreachable."""
    assert _run(tmp_path, HEAD + SMALL.format(extra="")) == 0
    capsys.readouterr()
    assert _run(tmp_path, HEAD + SMALL.format(extra=', grace_period = "too_strong"')) == 1
    err = capsys.readouterr().err
    assert "kernel witness ReaderOutlivesGracePeriod is unreachable" in err


def test_a_vacuous_holds_fails_the_matrix(tmp_path, capsys):
    body = HEAD + SMALL.format(extra="").replace('"vacuous (1 CPU): task', '"holds (1 CPU): task')
    assert _run(tmp_path, body) == 1
    err = capsys.readouterr().err
    assert "NoDoubleEnqueue expected holds" in err
    assert "computed vacuous (unreachable: ConcurrentSubmits)" in err


def test_a_one_cpu_holds_must_say_so(tmp_path):
    body = HEAD + SMALL.format(extra="").replace('"vacuous (1 CPU): task', '"holds: task')
    with pytest.raises(ConfigError, match="a 1-CPU cell cannot show a cross-CPU race"):
        load_expectations(_write(tmp_path, body))


def test_only_a_one_cpu_cell_may_say_one_cpu(tmp_path):
    body = HEAD + SMALL.format(extra="").replace("cpus = 1", "cpus = 2")
    with pytest.raises(ConfigError, match=r"\(1 CPU\) in a cell with more than one CPU"):
        load_expectations(_write(tmp_path, body))


def test_declared_unreachable_witness_is_checked_both_ways(tmp_path, capsys):
    wrong = HEAD + SMALL.format(extra="") + '[cell.unreachable]\nLastPutFromHardIrq = "claimed too small"\n'
    assert _run(tmp_path, wrong) == 1
    assert "kernel witness LastPutFromHardIrq is reachable" in capsys.readouterr().err
    strong = SMALL.format(extra=', grace_period = "too_strong"')
    declared = '[cell.unreachable]\nReaderOutlivesGracePeriod = "the test-only strong grace period"\n'
    posted = HEAD + strong + declared
    assert _run(tmp_path, posted) == 0
