"""spec/timer_lock: bpf_timer's value lock against a prog that runs inside a timer helper on the same
CPU (the second reading's C2; Kumar Kartikeya Dwivedi's 2022 report).

The matrix checks the five cells' verdicts; these tests pin the shortest deadlock of each and what
stops the others: bpf_timer_start's in_nmi() refusal, cancel_and_free's lockless early return on a
detached timer, and the verifier's refusal of the nested prog.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from explorer.runs.matrix.cells import run_cell
from explorer.runs.results import load_expectations
from spec.lang import SpecError
from spec.timer_lock import NESTED, TASK, make_spec


def _deadlock(**constants):
    spec = make_spec(**constants)
    r = explore_any(spec, Options(stop_on_first=False), lambda _l: None, "native")
    bad = [v for v in r.violations if v.name == "NoSelfDeadlock"]
    return [st.label for st in bad[0].trace.steps[1:]] if bad else None


@pytest.mark.parametrize(
    "constants, nested_op",
    [
        ({"nested": "tracing"}, "START"),  # C2(a): tp_btf on hrtimer_start calls bpf_timer_start
        ({"nested": "nmi"}, "FREE"),  # C2(b): cancel_and_free has no in_nmi() test
        ({"nested": "nmi", "nested_ops": "start", "nmi_check": False}, "START"),
    ],
)
def test_a_prog_inside_bpf_timer_start_spins_on_the_lock_its_cpu_holds(constants, nested_op):
    assert _deadlock(**constants) == [
        "Call(c=cpu0, lv=TASK, op=START)",
        "Lock(c=cpu0, lv=TASK)",
        f"Call(c=cpu0, lv=NESTED, op={nested_op})",
    ]


@pytest.mark.parametrize(
    "constants",
    [{"nested": "nmi", "nested_ops": "start"}, {"verifier": "tracing_refused"}],
    ids=["in_nmi", "verifier"],
)
def test_the_guards_leave_no_prog_spinning_on_its_own_cpu(constants):
    assert _deadlock(**constants) is None


def test_cancel_and_free_returns_before_the_lock_once_the_timer_is_detached():
    spec = make_spec(nested="nmi")
    m = spec.model
    free = m.Op.FREE
    # cpu0's task level freed the fields (the timer is detached) and now holds the lock in a start
    s = spec.State(
        pc=((m.PC.HELD, m.PC.IDLE), (m.PC.IDLE, m.PC.IDLE)),
        op=((m.Op.START, m.Op.START), (m.Op.START, m.Op.START)),
        owner=m.owner_id(0, TASK),
        timer=False,
    )
    call = next(i for i in spec.instances() if i.label == f"Call(c=cpu0, lv=NESTED, op={m.Op.show(free)})")
    (step,) = [st for st in call.steps(s) if st.guard is True]
    assert step.updates["pc"][0][NESTED] == m.PC.REFUSED  # if (!READ_ONCE(async->cb)) return NULL;


def test_bad_constants_are_refused_in_one_line():
    with pytest.raises(SpecError, match="nested = 'kprobe' is not one of tracing, nmi"):
        make_spec(nested="kprobe")


def test_the_matrix_says_no_configuration_dimension_changes_its_counterexamples():
    # the model declares no kernel-configuration dimension (kconfig_relevant is empty): the report
    # says the finding needs nothing, rather than saying nothing
    _props, cells = load_expectations(Path(__file__).resolve().parent.parent / "spec/configs/expected.toml")
    cell = next(c for c in cells if c.name == "timer_lock_tracing")
    res = run_cell(cell, None)
    assert res.verdicts["NoSelfDeadlock"] == "violated"
    summary = res.configurations["NoSelfDeadlock"]["summary"]
    assert summary == "no kernel-configuration dimension changes this cell"
