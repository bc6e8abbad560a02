"""spec/prog_swap: two progs share one timer or wq, and the second prog's set_callback swaps the
first's callback and reference out (docs/second-reading/round8-two-progs.md).

The matrix checks the nine cells' verdicts; these tests pin the shortest counterexamples that were read
step by step against the kernel lines each action cites, and the store buffer's rules.
"""

from __future__ import annotations

import pytest

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from spec.lang import SpecError
from spec.prog_swap import make_spec


def _shortest(prop: str, **constants) -> list[str] | None:
    spec = make_spec(**constants)
    r = explore_any(spec, Options(stop_on_first=False), lambda _l: None, "native")
    assert r.exhausted or r.stopped == "violation"
    bad = [v for v in r.violations if v.name == prop]
    return [st.label for st in bad[0].trace.steps[1:]] if bad else None


def test_a_store_buffer_tears_the_rework_loops_prog_and_callback_apart():
    # round8-two-progs.md S3: A's xchg returns NULL (a fresh timer), so nothing drains its store of
    # callback_fn before its exit test reads it back from the buffer
    assert _shortest("CallbackMatchesProg", design="loop", memory="tso") == [
        "ProgRun(p=A, op=set_callback)",
        "ProgRun(p=B, op=set_callback)",
        "LoopGuard(c=cpu0)",
        "LoopGuard(c=cpu1)",
        "LoopXchg(c=cpu0)",  # prev = NULL
        "LoopStore(c=cpu0)",  # callback_fn = A's, in cpu0's store buffer
        "LoopReadProg(c=cpu0)",  # cb->prog == A
        "LoopXchg(c=cpu1)",  # prev = A: cb->prog = B
        "LoopStore(c=cpu1)",  # callback_fn = B's, in cpu1's store buffer
        "LoopReadFn(c=cpu0)",  # forwarded: A's; A's loop exits
        "Drain(c=cpu1)",  # memory: B's (bpf_prog_put(A) below needs the drain)
        "LoopPutPrev(c=cpu1)",
        "LoopReadProg(c=cpu1)",
        "LoopReadFn(c=cpu1)",  # B's: B's loop exits
        "LoopPutGuard(c=cpu1)",
        "Drain(c=cpu0)",  # memory: A's, over B's
        "LoopPutGuard(c=cpu0)",  # both loops done: cb->prog = B, callback_fn = A's
    ]


def test_the_exit_test_keeps_the_pair_on_sequentially_consistent_memory():
    assert _shortest("CallbackMatchesProg", design="loop") is None
    assert _shortest("CallbackMatchesProg", design="loop", retry_check=False) == [
        "ProgRun(p=A, op=set_callback)",
        "ProgRun(p=B, op=set_callback)",
        "LoopGuard(c=cpu0)",
        "LoopGuard(c=cpu1)",
        "LoopXchg(c=cpu0)",
        "LoopXchg(c=cpu1)",
        "LoopStore(c=cpu1)",
        "LoopStore(c=cpu0)",  # the later store wins: A's callback under B's reference
        "LoopPutPrev(c=cpu1)",
        "LoopPutGuard(c=cpu0)",
        "LoopPutGuard(c=cpu1)",
    ]


def test_a_wq_callback_outlives_its_prog_after_a_swap():
    # round8-two-progs.md S1: the delete path's hole, reached by a second prog's set_callback
    assert _shortest("NoCallbackAfterProgFree", kind="wq") == [
        "ProgRun(p=A, op=set_callback)",
        "ProgRun(p=B, op=set_callback)",
        "SetCallbackLocked(c=cpu0)",
        "ProgRun(p=A, op=start)",
        "Start(c=cpu0)",
        "WorkDequeue",
        "WorkReadFn",  # READ_ONCE(cb->callback_fn) = A's
        "SetCallbackLocked(c=cpu1)",  # B swaps A out: one of A's two references put
        "WorkEnter",  # rcu_read_lock_trace(); callback_fn(...)
        "UserRelease(p=A)",  # the last one: call_rcu waits for no tasks-trace reader
        "ProgFree(p=A)",
    ]


@pytest.mark.parametrize(
    "constants", [{}, {"sleepable": True}, {"design": "loop"}], ids=["v6.12", "sleepable", "rework"]
)
def test_a_timer_callback_keeps_its_prog_through_a_swap(constants):
    assert _shortest("NoCallbackAfterProgFree", **constants) is None


def test_a_locked_instruction_waits_for_the_store_buffer():
    spec = make_spec(design="loop", memory="tso")
    m = spec.model
    s = spec.init_states()[0]._replace(pc=(m.PC.XCHG, m.PC.IDLE), buf=(0, m.NONE))
    xchg = next(i for i in spec.instances() if i.label == "LoopXchg(c=cpu0)")
    assert not any(st.guard is True for st in xchg.steps(s))
    drained = s._replace(buf=(m.NONE, m.NONE))
    assert any(st.guard is True for st in xchg.steps(drained))


def test_only_the_loop_models_a_store_buffer():
    from spec.bpf_async import make_spec as bpf_async_spec

    with pytest.raises(SpecError, match="this model is sequentially consistent"):
        bpf_async_spec(memory="tso")
    with pytest.raises(SpecError, match="this model is sequentially consistent"):
        make_spec(memory="tso")  # design = locked: the lock orders every writer


@pytest.mark.parametrize(
    "constants, message",
    [
        ({"kind": "task_work"}, "kind = 'task_work' is not one of timer, wq"),
        ({"retry_check": False}, "retry_check is the loop's"),
        ({"preemption": "preempt_rt"}, "refuses bpf_timer on PREEMPT_RT"),
    ],
)
def test_bad_constants_are_refused_in_one_line(constants, message):
    with pytest.raises(SpecError, match=message):
        make_spec(**constants)
