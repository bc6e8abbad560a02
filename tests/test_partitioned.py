"""The search over hash partitions of the states, one thread each (explorer/engines/partitioned.py),
against the one-thread compiled engine: the same distinct and generated counts, level sizes, deadlocks,
per-action generated counts and shortest violation lengths, counterexamples the Python spec replays, and
the same trace on every run with the same number of partitions. (tests/test_cluster.py runs the same
search with each partition a Ray actor.)"""

from __future__ import annotations

import pytest

from explorer.engines.bfs import DEADLOCK, Options
from explorer.engines.compiled.engine import explore_any
from explorer.engines.partitioned import explore_partitioned
from spec.config import import_model
from spec.lang import successors

CELLS = [
    ("spec.prog_swap", {"kind": "wq"}),
    ("spec.prog_swap", {"design": "loop", "memory": "tso"}),
    ("spec.spin_lock", {}),
    ("spec.nmi_put", {"design": "locked", "kind": "wq", "nmi_prog": "tracing", "nmi_op": "delete"}),
    ("spec.delayed_work", {"variant": "rfc_fixed"}),
    ("spec.bpf_async", {"kind": "wq", "design": "refcnt", "irq_callers": True}),
]


def _summary(res):
    return (
        res.distinct,
        res.generated,
        res.layers,
        res.deadlocks,
        {a: c[0] for a, c in res.coverage.items()},
        sum(c[1] for c in res.coverage.values()),
        sorted((v.name, len(v.trace.states)) for v in res.violations),
    )


# 2 partitions in the fast tier; 1 and 3 in the full tier
@pytest.mark.parametrize(
    "parts", [pytest.param(1, marks=pytest.mark.slow), 2, pytest.param(3, marks=pytest.mark.slow)]
)
@pytest.mark.parametrize("model, constants", CELLS, ids=[f"{m[5:]}-{i}" for i, (m, _) in enumerate(CELLS)])
def test_partitions_find_what_one_thread_finds(model, constants, parts):
    spec = import_model(model).make_spec(**constants)
    opts = Options(stop_on_first=False)
    one = explore_any(spec, opts, lambda _l: None, "native")
    many = explore_partitioned(spec, opts, parts=parts)
    assert _summary(many) == _summary(one)
    for v in many.violations:
        last = v.trace.states[-1]
        if v.name == DEADLOCK:
            assert not any(st.guard is True for i in spec.instances() for st in i.steps(last))
        else:
            assert not spec.invariant_named(v.name).fn(last)


def test_the_trace_shown_is_the_same_on_every_run_with_the_same_partitions():
    spec = import_model("spec.delayed_work").make_spec(variant="rfc_fixed")
    runs = [explore_partitioned(spec, Options(stop_on_first=False), parts=2) for _ in range(2)]
    labels = [[[str(s) for s in v.trace.steps] for v in r.violations] for r in runs]
    assert labels[0] == labels[1] and labels[0]


def test_a_stop_at_the_first_violation_ends_with_its_level():
    spec = import_model("spec.prog_swap").make_spec(kind="wq")
    res = explore_partitioned(spec, Options(), parts=2)
    assert res.stopped == "violation" and [v.name for v in res.violations] == ["NoCallbackAfterProgFree"]
    assert res.depth == len(res.violations[0].trace.states)  # whole levels, up to the violation's


@pytest.mark.parametrize(
    "variant, parts", [("rfc_posted", 2), pytest.param("rfc_fixed", 3, marks=pytest.mark.slow)]
)
def test_partitions_under_symmetry_count_the_orbits_one_thread_counts(variant, parts):
    """Every partition stores and routes canonical representatives: the orbits, generated steps, levels
    and violation lengths of the one-thread engine with symmetry, and concrete traces (each step one of
    the spec's own, replayed from an initial state)."""
    spec = import_model("spec.delayed_work").make_spec(variant=variant)
    opts = Options(stop_on_first=False)
    one = explore_any(spec, opts, lambda _l: None, "native", symmetry=True)
    plain = explore_any(spec, opts, lambda _l: None, "native")
    many = explore_partitioned(spec, opts, parts=parts, symmetry=True)
    assert one.distinct < plain.distinct  # the reduction is real on this model
    assert (many.distinct, many.generated, many.layers, many.deadlocks) == (
        one.distinct,
        one.generated,
        one.layers,
        one.deadlocks,
    )
    assert sorted((v.name, len(v.trace.states)) for v in many.violations) == sorted(
        (v.name, len(v.trace.states)) for v in one.violations
    )
    assert many.violations or variant == "rfc_fixed"
    for v in many.violations:
        states, steps = v.trace.states, v.trace.steps
        assert states[0] in spec.init_states()
        for k in range(1, len(states)):
            assert any(i is steps[k] and t == states[k] for i, t in successors(spec, states[k - 1]))
        if v.name != DEADLOCK:
            assert not spec.invariant_named(v.name).fn(states[-1])


def test_max_states_ends_the_partitioned_search_after_the_level_that_reached_it():
    spec = import_model("spec.delayed_work").make_spec(variant="rfc_fixed")
    full = explore_partitioned(spec, Options(stop_on_first=False), parts=2)
    cut = explore_partitioned(spec, Options(stop_on_first=False, max_states=1000), parts=2)
    reached = next(k for k in range(len(full.layers)) if sum(full.layers[: k + 1]) >= 1000)
    assert cut.stopped == "max-states" and not cut.exhausted
    assert cut.layers == full.layers[: reached + 1] and cut.distinct == sum(cut.layers) >= 1000
