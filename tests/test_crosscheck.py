"""BFS and Z3 agree on the model: layer sizes and minimal violation depths (explorer/runs/crosscheck.py).

The fast tier compares two delayed_work cells; the full tier every cell of the matrix, as
``python -m explorer crosscheck`` does (``make check`` ran it before the tiers)."""

import pytest

from explorer.cli import main
from explorer.runs.crosscheck import Agreement, check_cell
from explorer.runs.results import Cell


@pytest.mark.parametrize(
    "name, consts",
    [
        ("rfc_posted", {"variant": "rfc_posted"}),
        pytest.param(
            "no_claim_lock",
            {"variant": "no_claim_lock", "cpus": 1, "irq_progs": True},
            marks=pytest.mark.slow,
        ),
    ],
)
def test_backends_agree_on_posted_and_no_claim_lock(name, consts):
    ag = check_cell(Cell(name, "spec.delayed_work", consts, {}), layers=4, bmc_depth=6)
    assert ag.problems == [], ag.problems
    assert ag.bfs_layers[0] == 1 and sum(ag.bfs_layers) > 50
    assert ag.depths, "a shallow violation should have been compared"


def test_a_disagreement_is_reported():
    ag = Agreement("x", bfs_layers=[1, 7], z3_layers=[1, 6], depths={"Inv": (4, None)})
    assert len(ag.problems) == 2


@pytest.mark.slow
def test_every_matrix_cell_agrees(capsys):
    assert main(["crosscheck"]) == 0, capsys.readouterr().out
