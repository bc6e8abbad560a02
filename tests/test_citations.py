"""Every action of every model (the spec of each matrix cell) and of every kernel harness block cites
the kernel lines it models and why they are one step (issue 19 §3): ``@cites(source, function, lines,
atomic)`` with a source tag the spec lists in ``spec.sources`` ("" only for a model-only step, which
says so in ``atomic``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from spec.config import import_model
from spec.kernel import harness
from spec.lang import Spec, cites, when

EXPECTED = Path(__file__).resolve().parents[1] / "spec" / "configs" / "expected.toml"


def citation_problems(spec: Spec) -> list[str]:
    """What is missing from the citations of the spec's actions (empty: every action is cited)."""
    problems = []
    for a in spec.actions:
        where = f"{spec.name}: action {a.name}"
        if not a.cites:
            problems.append(f"{where} cites no kernel lines")
        for c in a.cites:
            if not c.atomic.strip():
                problems.append(f"{where}: citation of {c.function!r} says not why it is one step")
            if not c.function.strip() or not c.lines.strip():
                problems.append(f"{where}: a citation without function or lines")
            if c.source and c.source not in spec.sources:
                problems.append(f"{where}: source {c.source!r} is not in spec.sources")
            if not c.source and "model" not in c.atomic:
                problems.append(f"{where}: a step without a source must say it is the model's own")
    return problems


def _matrix_cells() -> list[tuple[str, str, dict]]:
    data = tomllib.loads(EXPECTED.read_text(encoding="utf-8"))
    models = {"": data["model"]} | {name: fam["model"] for name, fam in data.get("family", {}).items()}
    return [(c["name"], models[c.get("family", "")], c.get("constants", {})) for c in data["cell"]]


CELLS = _matrix_cells()


@pytest.mark.parametrize(("cell", "model", "constants"), CELLS, ids=[c[0] for c in CELLS])
def test_every_action_of_a_matrix_cell_is_cited(cell: str, model: str, constants: dict) -> None:
    spec = import_model(model).make_spec(**constants)
    assert spec.sources, f"{cell}: spec.sources is empty"
    assert citation_problems(spec) == []


@pytest.mark.parametrize("block", harness.BLOCKS)
def test_every_action_of_a_kernel_harness_is_cited(block: str) -> None:
    spec = harness.make_spec(block=block)
    assert citation_problems(spec) == []


def test_the_checker_finds_an_uncited_action_and_an_unknown_source() -> None:
    """The check can fail: an action without @cites, and one citing a tag the spec does not list."""
    spec = harness.make_spec(block="rcu")

    @spec.action()
    def Uncited(s):
        return when(False)

    @spec.action()
    @cites("K-nowhere", "f", "l", "one atomic operation")
    def UnknownSource(s):
        return when(False)

    @spec.action()
    @cites("K-rcu-doc", "f", "l", "  ")
    def NoReason(s):
        return when(False)

    problems = citation_problems(spec)
    assert any("Uncited cites no kernel lines" in p for p in problems)
    assert any("UnknownSource: source 'K-nowhere'" in p for p in problems)
    assert any("NoReason: citation of 'f' says not why" in p for p in problems)
    assert len(problems) == 3


def test_the_actions_command_lists_every_citation():
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "explorer", "actions", "spec/configs/bpf_timer.toml"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "bpf_timer_cancel" in r.stdout and "one step:" in r.stdout and "MISSING" not in r.stdout
    assert "Sources:" in r.stdout and "confirm against" in r.stdout  # R1 was read from a non-upstream copy


def test_the_actions_check_fails_on_an_uncited_action():
    from explorer.commands.actions import problems
    from spec.lang import Bool, Spec, when

    spec = Spec("uncited")
    spec.var("x", Bool, False)

    @spec.action()
    def Flip(s):
        return when(True, x=not s.x)

    assert problems(spec) == ["Flip: cites no kernel lines"]
