"""spec/nmi_put: a prog in an NMI makes another prog's last bpf_prog_put (the second reading's C2''',
docs/second-reading/round9-c2-nmi-put.md). The matrix checks the nine cells' verdicts; these tests pin
the shortest hang (read step by step against the cited lines) and what stops it elsewhere."""

from __future__ import annotations

import pytest

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from spec.lang import SpecError
from spec.nmi_put import make_spec


def _shortest(**constants) -> list[str] | None:
    spec = make_spec(**constants)
    # at most 80 states: the Python engine finishes before a compiler would (spec/nmi_put's cells run
    # on the compiled engine in the matrix, and Spin and Z3 agree with it there)
    r = explore_any(spec, Options(stop_on_first=False), lambda _l: None, "python")
    bad = [v for v in r.violations if v.name == "NoSelfDeadlock"]
    return [st.label for st in bad[0].trace.steps[1:]] if bad else None


@pytest.mark.parametrize(
    "constants",
    [
        {"design": "rework", "nmi_op": "set_callback"},
        {"design": "rework", "nmi_op": "delete"},
        {"design": "locked", "nmi_prog": "tracing", "nmi_op": "delete"},
        {"design": "locked", "nmi_prog": "tracing", "nmi_check": False},
    ],
    ids=["rework-set_callback", "rework-delete", "v6.12-delete", "v6.12-no_nmi_check"],
)
def test_the_last_put_in_an_nmi_spins_on_the_pool_lock_its_cpu_holds(constants):
    assert _shortest(**constants) == [
        "TaskQueue(c=cpu0)",  # queue_work_on: local_irq_save, raw_spin_lock(&pool->lock)
        "NmiEnter(c=cpu0)",  # an NMI runs prog B
        "UserRelease",  # prog A closed: the timer's reference is its last
        "NmiHelper(c=cpu0)",  # B's helper puts A: zero, in_irq() -> schedule_work -> the same lock
    ]


def test_a_v612_wq_delete_from_nmi_needs_no_last_put():
    assert _shortest(
        design="locked", kind="wq", nmi_prog="tracing", nmi_op="delete", user_releases=False
    ) == [
        "TaskQueue(c=cpu0)",
        "NmiEnter(c=cpu0)",
        "NmiHelper(c=cpu0)",  # bpf_wq_cancel_and_free: schedule_work(&work->delete_work)
    ]


@pytest.mark.parametrize(
    "constants",
    [
        {"design": "locked", "nmi_prog": "tracing"},  # set_callback's in_nmi() refusal
        {"design": "locked", "nmi_prog": "perf_event", "nmi_op": "delete"},  # the verifier's rule
        {"design": "rework", "user_releases": False},  # not the last put
        {"design": "rework", "nmi_put": "irq_work"},  # the candidate fix
    ],
    ids=["v6.12-in_nmi", "v6.12-verifier", "rework-user-keeps", "rework-irq_work-put"],
)
def test_what_keeps_the_nmi_off_the_pool_lock(constants):
    assert _shortest(**constants) is None


def test_bad_constants_are_refused_in_one_line():
    with pytest.raises(SpecError, match="nmi_check is v6.12's"):
        make_spec(design="rework", nmi_check=False)
    with pytest.raises(SpecError, match="nmi_op = 'cancel' is not one of set_callback, delete"):
        make_spec(nmi_op="cancel")
