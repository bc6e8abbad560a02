"""The symmetry reduction of the Z3 proofs (``prove_by_step(symmetry=True)``).

The declared symmetry is real on the explored states, the reduction never changes a verdict, and it
refuses (checks every step) when the invariant or the steps are not symmetric.
"""

from __future__ import annotations

import pytest

from explorer.engines.smt.induction import StepProofStats, prove_by_step
from explorer.engines.smt.lemmas import add_aux_invariants, full_strengthening
from invariants.delayed_work.properties import SAFETY
from spec import symmetry
from spec.delayed_work import make_spec
from spec.lang import all_, successors
from tests.reference import naive_distances, step_results


def _proof_spec(**constants):
    spec = make_spec(**constants)
    add_aux_invariants(spec)
    return spec


def test_delayed_work_declares_cpus_items_and_progs_interchangeable():
    spec = make_spec(variant="rfc_fixed")
    assert [base.name for base, _ in spec.symmetries] == ["CPU", "Item", "Prog"]
    assert make_spec(variant="rfc_fixed", callback="submits").symmetries == []  # (w + 1) mod n


@pytest.mark.parametrize(
    "constants, generators",
    [
        pytest.param({"cpus": 2, "items": 2, "progs": 1}, 2, marks=pytest.mark.slow),  # 32K states
        ({"cpus": 1, "items": 2, "progs": 2, "user_closes": False}, 2),
    ],
)
def test_reachable_states_are_closed_under_the_symmetry_and_steps_map_to_steps(constants, generators):
    """On every reachable state (BFS; the two instances cover swaps of CPUs, items and progs), each
    generator maps the state to a reachable state with the same invariant verdicts, and its
    successors onto the successors of the image. The successor check takes two Python expansions a
    state: on the 32K-state instance it runs on every eighth state in a fixed order (273 s whole)."""
    spec = make_spec(variant="rfc_fixed", **constants)
    reach = set(naive_distances(spec))
    stride = 8 if len(reach) > 10_000 else 1
    gens = symmetry.generators(spec)
    assert len(gens) == generators  # a swap per group with two values
    for name, g in gens:
        for k, s in enumerate(sorted(reach, key=repr)):
            gs = symmetry.permute_state(spec, g, s)
            assert gs in reach, name
            assert [p.fn(gs) for p in spec.invariants] == [p.fn(s) for p in spec.invariants]
            if k % stride:
                continue
            succ_g = {symmetry.permute_state(spec, g, t) for _i, t in successors(spec, s)}
            assert succ_g == {t for _i, t in successors(spec, gs)}, name


def test_canonical_perm_orders_values_by_first_appearance():
    spec = make_spec(variant="rfc_fixed", cpus=3, items=3, progs=2)
    m = spec.model
    perm = symmetry.canonical_perm(spec, [(m.CPU, 2), (m.Item, 1), (m.Prog, 1), (m.Item, 0)])
    assert perm[id(m.CPU)][2] == 0 and perm[id(m.Item)][1] == 0 and perm[id(m.Item)][0] == 1
    assert perm[id(m.Prog)] == (1, 0)
    assert symmetry.permute_params(spec, perm, [(m.CPU, 2), (m.Item, m.NONE)]) == (0, m.NONE)


@pytest.mark.parametrize("size", [(2, 2, 1), pytest.param((3, 3, 2), marks=pytest.mark.slow)])
def test_symmetry_gives_the_same_proof_with_far_fewer_queries(size):
    cpus, items, progs = size
    spec = _proof_spec(variant="rfc_repaired", cpus=cpus, items=items, progs=progs)
    strengthen = full_strengthening(spec, SAFETY[0])
    full = prove_by_step(spec, SAFETY[0], strengthen)
    reduced = prove_by_step(spec, SAFETY[0], strengthen, symmetry=True)
    assert full.ok and reduced.ok
    assert reduced.stats.note.startswith("used")
    assert reduced.stats.by_symmetry > 0 and reduced.stats.asymmetric == 0
    assert reduced.stats.queries < full.stats.queries


@pytest.mark.parametrize("invariant", ["NoStrandedItem", "RunsAtMostOnce"])
def test_a_cti_found_under_symmetry_still_replays(invariant):
    spec = _proof_spec(variant="rfc_repaired")
    r = prove_by_step(spec, invariant, symmetry=True)
    assert not r.ok and r.stage == "step" and r.failed == invariant
    pre, post = r.trace.states
    assert spec.invariant_named(invariant).fn(pre) is True
    assert post in step_results(spec, r.trace.steps[1], pre)
    assert spec.invariant_named(invariant).fn(post) is False


def test_an_asymmetric_invariant_switches_the_reduction_off():
    spec = _proof_spec(variant="rfc_repaired", cpus=2, items=2)

    def FirstItemNeverReady(s):  # singles out w0: not symmetric (and not an invariant)
        return s.flags[0] != spec.model.WFlags.READY

    r = prove_by_step(spec, FirstItemNeverReady, symmetry=True)
    assert r.stats.note.startswith("not used: the invariant is not symmetric")
    assert r.stats.by_symmetry == 0
    assert not r.ok and r.failed == "FirstItemNeverReady"


def test_a_wrongly_declared_symmetry_is_caught_per_step():
    """A submitting callback picks item (w + 1) mod n, so swapping two of three items is no symmetry.
    Declared anyway, the steps whose image differs are checked directly and the verdict stands."""
    spec = _proof_spec(variant="rfc_repaired", callback="submits", cpus=1, items=3, progs=1)
    assert spec.symmetries == []
    item_or_none = spec.variables[[v.name for v in spec.variables].index("chain")].type.codomain.codomain
    assert item_or_none.name == "ItemOrNone"
    spec.symmetric(spec.model.Item, item_or_none)
    strengthen = full_strengthening(spec, SAFETY[0])
    reduced = prove_by_step(spec, SAFETY[0], strengthen, symmetry=True)
    full = prove_by_step(spec, SAFETY[0], strengthen)
    assert reduced.stats.asymmetric > 0
    assert reduced.ok == full.ok


def test_the_prove_command_reports_the_symmetry(capsys):
    from explorer.cli import main

    code = main(["prove", "spec/configs/rfc_repaired.toml", "--invariant", SAFETY[0], "--aux", "--symmetry"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Symmetry: used (CPU, Item, Prog)" in out and "PROVED" in out
    assert StepProofStats().note == "not requested"


def test_an_order_comparison_on_symmetric_values_switches_the_reduction_off():
    """Renaming values is exact only for formulas that compare them for equality; w < NONE is not."""
    spec = _proof_spec(variant="rfc_repaired")
    m = spec.model

    def ItemsInRange(s):
        return all_(s.sub_item[c][lv] <= m.NONE for c in m.CPU for lv in m.levels())

    r = prove_by_step(spec, ItemsInRange, full_strengthening(spec, "ItemsInRange"), symmetry=True)
    assert r.stats.note.startswith("not used: a symmetric value is used by bvsle")
    assert r.ok and r.stats.by_symmetry == 0
