"""The expected-verdict matrix: every cell's computed verdicts, and every dumped counterexample replays."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.bfs import DEADLOCK
from explorer.matrix import DEFAULT_EXPECTATIONS, compare, load_expectations, run_matrix
from explorer.traces import load_itf_trace, replay
from spec.config import ConfigError
from spec.delayed_work import make_spec
from spec.lang import successors

PROPS, CELLS = load_expectations(DEFAULT_EXPECTATIONS)
BY_NAME = {c.name: c for c in CELLS}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    out = tmp_path_factory.mktemp("counterexamples")
    results = run_matrix(CELLS, out, jobs=2)
    return out, {r.name: r for r in results}


@pytest.mark.parametrize("cell", [c.name for c in CELLS])
def test_cell_verdicts_match_expectations(matrix, cell):
    _, results = matrix
    res = results[cell]
    assert res.error is None, res.error
    assert compare(PROPS, [BY_NAME[cell]], [res]) == []
    assert res.distinct > 0 and res.depth > 0


def _dumps(out: Path, cell: str) -> list[Path]:
    return sorted((out / cell).glob("*.itf.json"))


@pytest.mark.parametrize("cell", [c.name for c in CELLS])
def test_every_dumped_counterexample_replays(matrix, cell):
    """Each dump is re-executed step by step against the spec; its last state (or its cycle) violates
    the property it was dumped for."""
    out, results = matrix
    res = results[cell]
    violated = {p for p, v in res.verdicts.items() if v == "violated"}
    dumps = _dumps(out, cell)
    assert {d.name.removesuffix(".itf.json") for d in dumps} == violated
    spec = make_spec(**BY_NAME[cell].constants)
    for d in dumps:
        prop = d.name.removesuffix(".itf.json")
        trace = load_itf_trace(d, spec)
        replay(spec, trace)
        last = trace.states[-1]
        if prop == DEADLOCK:
            assert list(successors(spec, last)) == []
        elif prop in {p.name for p in spec.invariants}:
            assert spec.invariant_named(prop).fn(last) is False
            assert all(spec.invariant_named(prop).fn(s) is True for s in trace.states[:-1])
        else:
            assert trace.loop is not None, f"{prop} should be a lasso"
            assert trace.states[-1] == trace.states[trace.loop]
            family = [t for t in spec.properties if t.name.split("[")[0] == prop]
            cycle = trace.states[trace.loop :]
            # some instance of the property is violated along the whole cycle
            assert any(
                all(t.q(s) is False for s in cycle) if t.kind == "leadsto" else True for t in family
            ), f"{prop}: no instance is false on every state of the cycle"


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
