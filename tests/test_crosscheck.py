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


# Every cell, to smaller bounds than the command's defaults (layers 0..4, violations within 6 steps,
# which the two cells above keep): layers 0..3 and violations within 5 steps took 35% of the time on a
# sample of six cells (6 s against 17 s), and this test was 453 s of one worker in round 12's 21m47s
# fresh-clone make test-all (CI's limit is 20 minutes).
@pytest.mark.slow
def test_every_matrix_cell_agrees(capsys):
    assert main(["crosscheck", "--layers", "3", "--bmc-depth", "5"]) == 0, capsys.readouterr().out
