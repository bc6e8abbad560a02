"""The Z3 backend on the delayed_work model agrees with explicit-state search.

(a) per-depth state counts: ``count_layers`` equals the first K+1 BFS layers, for every variant;
(b) BMC finds the shallow BFS violations at the same minimal depth;
(c) induction: rfc_repaired's safety is inductive with the auxiliary invariants, and without them the
    counterexample to induction replays on the concrete model;
plus the ``bmc``/``prove``/``queries`` subcommands.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.cli import main
from explorer.engines.bfs import Options, explore
from explorer.engines.smt.bmc import bmc
from explorer.engines.smt.induction import prove, prove_by_step
from explorer.engines.smt.layers import count_layers
from explorer.engines.smt.lemmas import add_aux_invariants, full_strengthening
from invariants.delayed_work.lemmas import STRENGTHENING
from invariants.delayed_work.properties import SAFETY
from spec.delayed_work import VARIANTS, make_spec
from spec.lang import successors
from tests.reference import step_results

K = 4


def bfs_layers(spec, k: int) -> list[int]:
    """Distinct states at each shortest distance 0..k, by the slow reference successor function."""
    seen = set(spec.init_states())
    frontier = list(seen)
    layers = [len(frontier)]
    for _ in range(k):
        nxt = []
        for s in frontier:
            for _inst, t in successors(spec, s):
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        frontier = nxt
        layers.append(len(nxt))
    return layers


# --------------------------------------------------------------------------- (a) counts


@pytest.mark.parametrize(
    "variant", [v if v == "rfc_posted" else pytest.param(v, marks=pytest.mark.slow) for v in VARIANTS]
)
def test_count_layers_matches_bfs(variant):
    spec = make_spec(variant=variant)
    assert count_layers(spec, K) == bfs_layers(spec, K)


@pytest.mark.slow
def test_count_layers_matches_the_bfs_engine_on_the_default():
    spec = make_spec()
    res = explore(spec, Options(check_deadlock=False, stop_on_first=False), progress=lambda _line: None)
    assert res.distinct == 31986
    assert count_layers(spec, 5) == res.layers[:6]


# --------------------------------------------------------------------------- (b) violations


@pytest.mark.parametrize(
    "variant,invariant,depth",
    [
        ("rfc_posted", "NoStrandedItem", 4),
        pytest.param("task_context", "NoStrandedItem", 4, marks=pytest.mark.slow),
        pytest.param("no_claim_lock", "RefcountsConsistent", 4, marks=pytest.mark.slow),
    ],
)
def test_bmc_finds_the_bfs_violation_at_the_same_depth(variant, invariant, depth):
    spec = make_spec(variant=variant)
    res = explore(spec, Options(check_deadlock=False, invariants=[invariant]), progress=lambda _line: None)
    v = res.violation(invariant)
    assert v is not None and len(v.trace.states) - 1 == depth
    r = bmc(spec, depth + 2, [invariant])
    assert r.violation == invariant
    assert r.depth == len(v.trace.states) - 1
    assert spec.invariant_named(invariant).fn(r.trace.states[-1]) is False
    for pre, inst, post in zip(r.trace.states, r.trace.steps[1:], r.trace.states[1:], strict=False):
        assert any(i.label == inst.label and t == post for i, t in successors(spec, pre))


@pytest.mark.slow
def test_bmc_finds_nothing_on_rfc_fixed_within_the_bound():
    spec = make_spec(variant="rfc_fixed", cpus=1)
    assert bmc(spec, 6, SAFETY).ok


# --------------------------------------------------------------------------- (c) induction


@pytest.fixture(scope="module")
def fixed():
    """rfc_repaired: the design whose safety the strengthening of invariants/delayed_work/lemmas.py proves."""
    spec = make_spec(variant="rfc_repaired")
    add_aux_invariants(spec)
    return spec


@pytest.mark.parametrize("engine", [prove_by_step, prove])
def test_rfc_repaired_safety_is_inductive_with_the_strengthening(fixed, engine):
    r = engine(fixed, "NoStrandedItem", full_strengthening(fixed, "NoStrandedItem"))
    assert r.ok, (r.failed, r.stage)


@pytest.mark.slow
def test_every_aux_invariant_holds_on_every_reachable_state(fixed):
    res = explore(fixed, Options(check_deadlock=False, stop_on_first=False), progress=lambda _line: None)
    assert res.distinct == 31970
    assert res.violations == []


def test_strengthening_names_are_the_aux_invariants(fixed):
    assert [p.name for p in fixed.invariants] == SAFETY + STRENGTHENING


@pytest.mark.parametrize("engine", [prove_by_step, prove])
@pytest.mark.parametrize("invariant", ["NoStrandedItem", "NoDoubleEnqueue", "RunsAtMostOnce"])
def test_without_strengthening_the_cti_replays(fixed, engine, invariant):
    r = engine(fixed, invariant)
    assert not r.ok and r.stage == "step" and r.failed == invariant
    pre, post = r.trace.states
    inst = r.trace.steps[1]
    assert fixed.invariant_named(invariant).fn(pre) is True
    assert post in step_results(fixed, inst, pre)
    assert fixed.invariant_named(invariant).fn(post) is False


def test_the_two_engines_agree_on_a_partial_strengthening(fixed):
    """Dropping FlagsMatchHolder breaks the proof in both engines."""
    strengthen = [n for n in full_strengthening(fixed, "NoStrandedItem") if n != "FlagsMatchHolder"]
    a = prove_by_step(fixed, "NoStrandedItem", strengthen)
    b = prove(fixed, "NoStrandedItem", strengthen)
    assert not a.ok and not b.ok
    for r in (a, b):
        pre, post = r.trace.states
        assert post in step_results(fixed, r.trace.steps[1], pre)
        names = [r.invariant, *strengthen]
        assert all(fixed.invariant_named(n).fn(pre) is True for n in names)
        assert fixed.invariant_named(r.failed).fn(post) is False


@pytest.mark.slow
def test_induction_beyond_bfs_reach():
    spec = make_spec(variant="rfc_repaired", cpus=3, items=3, progs=2, nmi=True)
    add_aux_invariants(spec)
    r = prove_by_step(spec, SAFETY[0], full_strengthening(spec, SAFETY[0]))
    assert r.ok, (r.failed, r.stage)


# --------------------------------------------------------------------------- the subcommands


@pytest.fixture
def config(tmp_path):
    def make(variant: str) -> str:
        p = tmp_path / f"dw_{variant}.toml"
        p.write_text(f'model = "spec.delayed_work"\n[constants]\nvariant = "{variant}"\n')
        return str(p)

    return make


def test_cli_bmc_dumps_a_violation(config, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["bmc", config("rfc_posted"), "--depth", "5", "--invariant", "NoStrandedItem", "--out", str(out)]
    )
    assert code == 1
    assert (out / "bmc" / "dw_rfc_posted" / "NoStrandedItem.itf.json").exists()
    assert "Found at depth 4" in capsys.readouterr().out


def test_cli_bmc_clean_within_the_bound(config, tmp_path):
    assert main(["bmc", config("rfc_fixed"), "--depth", "2", "--out", str(tmp_path)]) == 0


def test_cli_prove(config, tmp_path, capsys):
    cfg = config("rfc_repaired")
    assert main(["prove", cfg, "--invariant", "NoStrandedItem", "--aux", "--out", str(tmp_path)]) == 0
    assert "PROVED" in capsys.readouterr().out
    strengthen = ["--strengthen", "ItemHeldOnce", "FlagsMatchHolder"]
    assert main(["prove", cfg, "--invariant", "NoStrandedItem", *strengthen, "--out", str(tmp_path)]) == 1
    text = capsys.readouterr().out
    assert "Pre-state" in text and "Action:" in text and "Post-state" in text
    assert Path(tmp_path / "prove" / "dw_rfc_repaired" / "NoStrandedItem.cti.txt").exists()
    assert main(["prove", cfg, "--invariant", "NoSuchThing"]) == 2
    assert (
        main(
            [
                "prove",
                cfg,
                "--invariant",
                "RunsAtMostOnce",
                "--aux",
                "--set",
                "cpus=4",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )


def test_cli_queries_one(tmp_path, capsys):
    assert main(["queries", "--only", "LostItems[rfc_posted]", "--out", str(tmp_path)]) == 0
    assert "SAT" in capsys.readouterr().out
    assert (tmp_path / "queries" / "LostItems[rfc_posted].txt").exists()


@pytest.mark.slow
def test_a_query_prints_the_same_trace_whatever_ran_before_it(tmp_path, capsys):
    """Each query runs in a fresh process (robustness item 16)."""
    name = "LostItems[rfc_posted]"
    assert main(["queries", "--only", name, "--out", str(tmp_path / "a")]) == 0
    assert main(["queries", "--only", "ClaimLockNeeded", name, "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    a = (tmp_path / "a" / "queries" / f"{name}.txt").read_text()
    b = (tmp_path / "b" / "queries" / f"{name}.txt").read_text()
    assert a == b
