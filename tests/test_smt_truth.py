"""The Z3 reading refuses a Python truth test of a state value instead of answering wrongly.

z3's ``BoolRef.__bool__`` answers ``s.x == 1`` by comparing the two terms' structure (False for the
variable x), so an ``if`` on it silently takes one branch: BMC then reported "no violation" and
induction PROVED on a spec whose BFS finds the violation at depth 2 (issue: robustness, item 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from explorer.engines.bfs import Options, explore
from explorer.engines.smt.bmc import bmc
from explorer.engines.smt.encoding import TYPE_ERROR
from explorer.engines.smt.induction import prove, prove_by_step
from spec.lang import Int, Spec, SpecError, when


def _spec(step: Callable[[Any], Any], invariant: Callable[[Any], Any] | None = None) -> Spec:
    spec = Spec("Truth")
    spec.var("x", Int(0, 3), init=0)
    spec.action()(step)

    def NeverThree(s):
        return s.x != 3

    spec.invariant(invariant or NeverThree)
    return spec


def _if_eq(s):
    if s.x == 1:
        return when(True, x=3)
    return when(s.x < 2, x=s.x + 1)


def _if_ne(s):
    if s.x != 1:
        return when(s.x < 2, x=s.x + 1)
    return when(True, x=3)


def _py_and(s):
    return when((s.x >= 0) and (s.x < 2), x=s.x + 1)


def _py_or(s):
    return when((s.x == 0) or (s.x == 1), x=s.x + 1)


def _py_not(s):
    return when(not (s.x == 2), x=(s.x + 1) % 4)


@pytest.mark.parametrize("step", [_if_eq, _if_ne, _py_and, _py_or, _py_not], ids=lambda f: f.__name__)
def test_a_truth_test_in_an_action_is_an_error_naming_it(step):
    spec = _spec(step)
    with pytest.raises(SpecError, match=rf"action {step.__name__} cannot be read symbolically"):
        bmc(spec, 3, ["NeverThree"])
    with pytest.raises(SpecError, match=rf"action {step.__name__}"):
        prove(spec, "NeverThree")


def test_the_issue_example_is_found_by_bfs_and_refused_by_z3():
    spec = _spec(_if_eq)
    r = explore(spec, Options(), progress=lambda _line: None)
    assert r.violations and r.violations[0].name == "NeverThree" and r.violations[0].depth == 3


@pytest.mark.parametrize(
    "invariant",
    [lambda s: True if s.x == 3 else s.x < 5, lambda s: (s.x != 3) and (s.x >= 0), lambda s: not (s.x == 3)],
    ids=["if", "and", "not"],
)
def test_a_truth_test_in_an_invariant_is_an_error_naming_it(invariant):
    invariant.__name__ = "Inv"
    spec = _spec(lambda s: when(s.x < 3, x=s.x + 1), invariant)
    with pytest.raises(SpecError, match="invariant Inv cannot be read symbolically"):
        bmc(spec, 2, ["Inv"])


ZERO = 0  # a name, not a literal: `is 0` would be a SyntaxWarning


@pytest.mark.parametrize(
    "invariant",
    [lambda s: s.x is ZERO, lambda s: str(s.x) == "0"],
    ids=["is", "str"],
)
def test_an_invariant_read_as_a_constant_it_is_not_is_an_error_naming_it(invariant):
    """``is`` or a Python value of a term never call its truth test: they read as False on the
    symbolic state, so Z3 and the exports would check another invariant; it is true initially."""
    invariant.__name__ = "Inv"
    spec = _spec(lambda s: when(s.x < 3, x=s.x + 1), invariant)
    with pytest.raises(
        SpecError, match=r"invariant Inv reads as the constant False on symbolic values but is"
    ):
        bmc(spec, 2, ["Inv"])


def test_constant_guards_and_helpers_still_work():
    spec = _spec(lambda s: when(True, x=(s.x + 1) % 4))
    assert not bmc(spec, 4, ["NeverThree"]).ok


def test_the_cli_exits_2_with_one_line(tmp_path, capsys):
    from explorer.cli import main

    mod = tmp_path / "truthspec.py"
    mod.write_text(
        "from spec.lang import Int, Spec, when\n"
        "def make_spec():\n"
        "    spec = Spec('Truth')\n"
        "    spec.var('x', Int(0, 3), init=0)\n"
        "    @spec.action()\n"
        "    def Step(s):\n"
        "        if s.x == 1:\n"
        "            return when(True, x=3)\n"
        "        return when(s.x < 2, x=s.x + 1)\n"
        "    @spec.invariant\n"
        "    def NeverThree(s):\n"
        "        return s.x != 3\n"
        "    return spec\n",
        encoding="utf-8",
    )
    cfg = tmp_path / "truth.toml"
    cfg.write_text('model = "truthspec"\n', encoding="utf-8")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        for cmd in (["bmc", str(cfg), "--depth", "5"], ["prove", str(cfg), "--invariant", "NeverThree"]):
            assert main([*cmd, "--out", str(tmp_path / "out")]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and "action Step cannot be read symbolically" in err[0]
    finally:
        sys.path.remove(str(tmp_path))


# --------------------------------------------------------------------------- --check-types, both engines


def _leaves_its_type() -> Spec:
    spec = Spec("Overflow")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Inc(s):
        return when(True, x=s.x + 1)  # x = 3 steps to 4, outside Int(0, 3)

    @spec.invariant
    def NonNegative(s):
        return s.x >= 0  # mentions x: the per-step engine used to assume TypeOK(post) here

    return spec


@pytest.mark.parametrize("engine", [prove, prove_by_step], ids=["whole", "step"])
def test_check_types_reports_a_step_that_leaves_its_type(engine):
    spec = _leaves_its_type()
    r = engine(spec, "NonNegative", check_types=True)
    assert not r.ok and r.failed == TYPE_ERROR
    assert r.trace.states[0].x == 3
    assert engine(spec, "NonNegative").ok  # without the check such a step is no transition


# --------------------------------------------------------------------------- CTI labels, dump modes


def test_a_cti_is_labelled_as_an_arbitrary_state_in_every_format(tmp_path):
    import json
    import os

    from explorer.outputs.traces import write_trace

    spec = _spec(lambda s: when(s.x < 3, x=s.x + 1), lambda s: s.x != 3)
    for engine in (prove, prove_by_step):
        r = engine(spec, spec.invariants[0])
        assert not r.ok and r.stage == "step"
        old = os.umask(0o022)
        try:
            txt, itf, dot = write_trace(r.trace, tmp_path / "cti", "CTI")
        finally:
            os.umask(old)
        assert "State 1: <arbitrary state satisfying the invariant" in txt.read_text()
        assert "Initial predicate" not in txt.read_text()
        assert json.loads(itf.read_text())["states"][0]["mbt::actionTaken"] == "arbitrary"
        assert "arbitrary state satisfying the invariant" in dot.read_text()
        assert all(p.stat().st_mode & 0o777 == 0o644 for p in (txt, itf, dot))
