"""What two progs sharing one timer or wq must keep: no prog's code runs after its free, the object's
callback is the code of the prog it holds a reference on, and every prog reference is held by someone
who will put it (``spec/prog_swap``)."""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_, implies, ite, not_


def runs_freed_code(s: Any, m: Any) -> Any:
    """Some context is inside the code of a freed prog: a prog run, or the callback (a timer's body,
    or a wq callback once it has called callback_fn)."""
    freed = m.Phase.FREED
    runs = [and_(s.pc[c] != m.PC.IDLE, s.phase[m.prog_of(c)] == freed) for c in m.CPU]
    callback = [and_(s.cbk == m.CbPhase.IN_OP, s.cbk_fn == p, s.phase[p] == freed) for p in m.Prog]
    return any_(runs + callback)


def register(spec: Spec, m: Any) -> None:
    def NoCallbackAfterProgFree(s):
        """No prog's code runs after the prog is freed: the timer callback's softirq section is a
        classic reader that the prog's call_rcu waits for; the wq callback's rcu_read_lock_trace is
        one only for a tasks-trace grace period (a sleepable prog's), and its read of callback_fn comes
        before it. A prog run is a reader of its own prog's flavour."""
        return not_(runs_freed_code(s, m))

    def CallbackMatchesProg(s):
        """Once no set_callback is half done and no store waits in a buffer, cb->callback_fn is the
        callback of cb->prog, the prog the object holds its reference on: otherwise the callback runs
        code that no reference keeps alive."""
        return implies(m.settled(s), s.cb_fn == s.cb_prog)

    def RefcountMatchesHolders(s):
        """Once no set_callback is half done, each prog's refcnt is the references someone holds:
        user space's (until it detaches and closes) and the object's (cb->prog): no swap leaks one
        or puts one twice."""
        held = [s.refcnt[p] == ite(s.attached[p], 1, 0) + ite(s.cb_prog == p, 1, 0) for p in m.Prog]
        return implies(m.settled(s), and_(*held))

    for fn in (NoCallbackAfterProgFree, CallbackMatchesProg, RefcountMatchesHolders):
        spec.invariant(fn)
