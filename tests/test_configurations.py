"""The configuration analysis of a counterexample: which kernel configurations it needs."""

from __future__ import annotations

from explorer.runs.configurations import analyse, needs_summary
from spec.kernel import kconfig

RELEVANT = {
    "preemption": ("preempt_rcu", "preempt_rt"),
    "stalls": kconfig.STALLS,
    "irq_work": kconfig.IRQ_WORK,
}


def _fake(violated_when):
    calls = []

    def run(constants):
        calls.append(dict(constants))
        feats = kconfig.features(constants)
        return {"P": ("violated", 17) if violated_when(feats) else ("holds", None)}

    return run, calls


def test_a_finding_that_needs_rt_or_a_stall_says_so_and_skips_implied_runs():
    run, calls = _fake(lambda f: "rt" in f or "stall" in f)
    needs = analyse({"cpus": 2}, RELEVANT, ["P"], run)["P"]
    assert needs.minimal == [["rt"], ["stall"]]  # every configuration checked is preemptible
    assert needs.summary == "needs PREEMPT_RT, or a stalled hard-irq handler (NMI, SMI or hypervisor)"
    assert not needs.contradictions
    assert len(needs.rows) == 8
    assert len(calls) < 8, "configurations implied by the feature order must not run"
    assert all(c["cpus"] == 2 for c in calls), "the cell's other constants are kept"
    by_label = {r.label: r for r in needs.rows}
    rt_stall = by_label["PREEMPT_RT, irq_work by self-IPI, a hard-irq stall"]
    assert rt_stall.verdict == "violated"


def test_a_finding_in_every_configuration():
    run, _ = _fake(lambda f: True)
    needs = analyse({}, RELEVANT, ["P"], run)["P"]
    assert needs.minimal == [[]]  # PREEMPT_RCU is the least preemption value checked here
    run, _ = _fake(lambda f: True)
    needs = analyse({}, {"irq_work": kconfig.IRQ_WORK}, ["P"], run)["P"]
    assert needs.minimal == [[]]
    assert needs.summary == "exists in every kernel configuration checked"


def test_a_contract_only_finding_is_on_no_shipped_kernel():
    run, _ = _fake(lambda f: "contract" in f)
    needs = analyse({}, {"tasks_trace": kconfig.TASKS_TRACE}, ["P"], run)["P"]
    assert needs.minimal == [["contract"]]
    assert needs.summary.endswith("on no shipped kernel")


def test_a_model_that_loses_a_behaviour_with_more_features_is_reported():
    """Violated with self-IPI delivery but not from the tick, which allows more: a model error."""
    run, _ = _fake(lambda f: "tick" not in f)
    pruned = analyse({}, {"irq_work": kconfig.IRQ_WORK}, ["P"], run)["P"]
    assert not pruned.contradictions  # the order is assumed when runs are skipped
    needs = analyse({}, {"irq_work": kconfig.IRQ_WORK}, ["P"], run, verify=True)["P"]
    assert needs.contradictions and "holds under irq_work from the tick" in needs.contradictions[0]


def test_the_cells_own_verdicts_are_not_run_again():
    run, calls = _fake(lambda f: "tick" in f)
    known = {"P": ("violated", 9)}
    needs = analyse({"irq_work": "tick"}, {"irq_work": kconfig.IRQ_WORK}, ["P"], run, known=known)["P"]
    assert [c["irq_work"] for c in calls] == ["self_ipi"]
    assert {r.label: (r.verdict, r.depth) for r in needs.rows} == {
        "irq_work by self-IPI": ("holds", None),
        "irq_work from the tick": ("violated", 9),
    }


def test_preempt_rt_is_named_alone():
    run, _ = _fake(lambda f: "rt" in f)
    needs = analyse({}, {"preemption": kconfig.PREEMPTION}, ["P"], run)["P"]
    assert needs.minimal == [["preemptible", "rt"]]
    assert needs.summary == "needs PREEMPT_RT"


def test_no_relevant_dimension():
    assert needs_summary([], ran=False).startswith("no kernel-configuration dimension")


def test_a_configuration_run_stops_once_each_target_has_its_shortest_trace():
    """stop_when_all_found: both engines stop at the same state with the exhaustive run's depths."""
    from explorer.engines.bfs import Options
    from explorer.engines.compiled.engine import explore_any
    from spec.config import import_model

    spec = import_model("spec.bpf_async").make_spec(kind="wq")
    targets = ["NoAsyncUseAfterFree", "NoMapAccessAfterFree"]
    full = explore_any(spec, Options(stop_on_first=False, invariants=targets), lambda _l: None, "native")
    want = sorted((v.name, v.depth) for v in full.violations if v.name in targets)
    stopped = []
    for engine in ("native", "python"):
        opts = Options(
            stop_on_first=False, stop_when_all_found=True, invariants=targets, check_deadlock=False
        )
        r = explore_any(spec, opts, lambda _l: None, engine)
        assert r.stopped == "violation" and sorted((v.name, v.depth) for v in r.violations) == want
        stopped.append(r.distinct)
    assert stopped[0] == stopped[1] < full.distinct
