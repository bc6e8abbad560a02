"""spec/spin_lock: a prog's own bpf_spin_lock against a prog in an NMI on the same CPU (the second
readings' C3: docs/second-reading/round5-issue21.md and round8-c3.md).

The matrix checks the nine cells' verdicts; these tests pin the shortest deadlock of each violated
cell (read step by step against the kernel lines each action cites) and what stops the others: the
trampoline's per-prog recursion guard, the verifier's refusal of the other tracing prog types, and
bpf_res_spin_lock's -EDEADLK.
"""

from __future__ import annotations

import pytest

from explorer.engines.bfs import DEADLOCK, Options
from explorer.engines.compiled.engine import explore_any
from spec.lang import SpecError
from spec.spin_lock import make_spec


def _shortest(prop: str, **constants) -> list[str] | None:
    spec = make_spec(**constants)
    r = explore_any(spec, Options(stop_on_first=False), lambda _l: None, "native")
    assert r.exhausted or r.stopped == "violation"
    bad = [v for v in r.violations if v.name == prop]
    return [st.label for st in bad[0].trace.steps[1:]] if bad else None


@pytest.mark.parametrize(
    "constants",
    [
        {},  # case a: a tp_btf prog on nmi_handler locks the value the interrupted tc prog holds
        {"task_prog": "fentry", "nmi_prog": "same_prog", "recursion_check": False},
        {"nmi_prog": "kprobe", "verifier": "none"},
    ],
    ids=["tracing", "no_recursion_check", "no_verifier_check"],
)
def test_an_nmi_prog_spins_on_the_lock_its_cpu_holds(constants):
    assert _shortest("NoSelfDeadlock", **constants) == [
        "Run(c=cpu0, lv=TASK, v=v0)",  # bpf_spin_lock: local_irq_save, preempt_disable
        "Lock(c=cpu0, lv=TASK)",  # arch_spin_lock takes the free lock
        "Run(c=cpu0, lv=NMI, v=v0)",  # NMI -> the prog -> bpf_spin_lock on the same value
    ]


@pytest.mark.parametrize(
    "constants",
    [
        {"task_prog": "fentry", "nmi_prog": "same_prog"},
        {"nmi_prog": "kprobe"},
        {"verifier": "tracing_refused"},
        {"values": 2, "nmi_value": "other"},
    ],
    ids=["recursion_guard", "verifier", "tracing_refused", "other_value"],
)
def test_the_guards_leave_no_prog_spinning_on_its_own_cpu(constants):
    assert _shortest("NoSelfDeadlock", **constants) is None


def test_two_nmis_each_wanting_the_value_the_other_cpu_holds_deadlock():
    # case e: no AA on either CPU, an ABBA across them
    assert _shortest(DEADLOCK, values=2, nmi_value="other") == [
        "Run(c=cpu0, lv=TASK, v=v0)",
        "Run(c=cpu1, lv=TASK, v=v1)",
        "Lock(c=cpu0, lv=TASK)",
        "Run(c=cpu0, lv=NMI, v=v1)",
        "Lock(c=cpu1, lv=TASK)",
        "Run(c=cpu1, lv=NMI, v=v0)",
    ]


@pytest.mark.parametrize("values", [1, 2])
def test_the_resilient_lock_gives_up_where_the_spin_lock_hangs(values):
    constants = {"lock": "res", "values": values, "nmi_value": "other" if values == 2 else "any"}
    assert _shortest("NoSelfDeadlock", **constants) is None
    assert _shortest(DEADLOCK, **constants) is None


def test_the_nmi_run_of_the_same_prog_is_skipped_while_its_counter_is_taken():
    spec = make_spec(task_prog="fentry", nmi_prog="same_prog")
    m = spec.model
    s = spec.State(
        pc=((m.PC.HELD, m.PC.IDLE), (m.PC.IDLE, m.PC.IDLE)),
        val=((0, 0), (0, 0)),
        owner=(m.owner_id(0, 0),),
        active=(True, False),
    )
    run = next(i for i in spec.instances() if i.label == "Run(c=cpu0, lv=NMI, v=v0)")
    (step,) = [st for st in run.steps(s) if st.guard is True]
    assert step.updates["pc"][0][1] == m.PC.SKIPPED  # bpf_prog_inc_misses_counter(prog); return 0;


@pytest.mark.parametrize(
    "constants, message",
    [
        ({"nmi_prog": "same_prog"}, "needs task_prog = 'fentry'"),
        ({"task_prog": "fentry", "verifier": "tracing_refused"}, "refuses an fentry task_prog too"),
        ({"lock": "qspin"}, "lock = 'qspin' is not one of spin, res"),
    ],
)
def test_bad_constants_are_refused_in_one_line(constants, message):
    with pytest.raises(SpecError, match=message):
        make_spec(**constants)
