"""``tlc-check``: TLC's distinct, generated and depth on our TLA+ export against our compiled engine in
TLC's counting (``explorer/runs/tlc_check.py``). TLC is on no registry this project reaches, so the
tests that run it need ``TLA2TOOLS_JAR`` (skipped otherwise, in CI among others); the bad-input paths
run everywhere."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.runs.tlc_check import tlc_check
from tests.classic import twophase

ROOT = Path(__file__).resolve().parent.parent
JAR = os.environ.get("TLA2TOOLS_JAR", "")
needs_tlc = pytest.mark.skipif(
    not (JAR and Path(JAR).is_file() and shutil.which("java")), reason="TLA2TOOLS_JAR not set"
)


def test_without_a_jar_it_is_one_line_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("TLA2TOOLS_JAR", raising=False)
    assert main(["tlc-check", str(ROOT / "tests/classic/diehard.toml")]) == 2
    err = capsys.readouterr().err
    assert err == "error: TLC needs a tla2tools.jar: give --jar JAR or set TLA2TOOLS_JAR\n"
    assert (
        main(["tlc-check", str(ROOT / "tests/classic/diehard.toml"), "--jar", str(tmp_path / "no.jar")]) == 2
    )
    assert capsys.readouterr().err.startswith("error: no tla2tools.jar at ")
    assert main(["tlc-check"]) == 2
    assert "give CONFIG files, --matrix, or both" in capsys.readouterr().err


@needs_tlc
def test_tlc_agrees_on_a_config_and_a_matrix_cell(capsys):
    code = main(["tlc-check", str(ROOT / "spec/configs/rfc_posted.toml"), "--matrix", "--only", "wq"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 agree, 0 disagree, 0 skipped" in out


@needs_tlc
def test_a_module_of_another_spec_disagrees(tmp_path):
    r = tlc_check(twophase.make_spec(rms=3), "twophase3", JAR, tla_spec=twophase.make_spec(rms=4))
    assert not r.agree
    assert r.ours == (288, 1146, 11) and r.tlc[0] > 288
    assert any(p.startswith("distinct: ours 288, TLC ") for p in r.problems)


@needs_tlc
def test_a_refinement_verdict_tlc_does_not_share_is_a_disagreement():
    """EWD998 refines AsyncTerminationDetection; TLC given the module without the passive check in
    terminationDetected (the same state space) finds the refinement broken in 3 states."""
    from tests.classic import ewd998

    r = tlc_check(ewd998.make_spec(n=2), "ewd998", JAR, tla_spec=ewd998.make_spec(n=2, passive_check=False))
    assert r.ours == r.tlc == (6876, 33664, 28)
    assert r.refinements == {"TDSpec": (0, 3)}
    assert r.problems == ["TDSpec: ours holds, TLC fails in 3 states"]
