"""Two contexts on each CPU competing for a lock: a task level, and a level nested inside it (a tracing
prog running in the code it traces, or a prog in an NMI) that runs to its end before the task level
steps again. What ``spec/htab_lock``, ``spec/timer_lock`` and ``spec/spin_lock`` share: the owner of a
lock names a context (``Owner``: ``c.lv`` for each CPU and level, then ``none``), and a resilient lock
(rqspinlock, bpf_res_spin_lock) gives up where a raw one spins."""

from __future__ import annotations

from typing import Any

from spec.lang import Step, and_, not_, or_, put, when

TASK, NESTED = 0, 1


class TwoLevels:
    """Mixed into a model whose state has ``pc[c][lv]`` with ``PC.IDLE``, and an ``Owner`` Enum."""

    PC: Any
    NONE: int

    def owner_id(self, c: int, lv: int) -> int:
        return 2 * c + lv

    def can_step(self, s: Any, c: int, lv: int) -> Any:
        """The task level runs only while no nested prog runs on its CPU; the nested level always can."""
        return s.pc[c][NESTED] == self.PC.IDLE if lv == TASK else True

    def set_pc(self, s: Any, c: int, lv: int, pc: int) -> tuple:
        return put(s.pc, c, put(s.pc[c], lv, pc))

    def give_up_steps(self, g: Any, owner: Any, c: int, updates: dict) -> list[Step]:
        """A resilient lock's attempt on a lock ``owner`` holds: -EDEADLK at once where a context of
        its own CPU holds it (AA), -ETIMEDOUT where another CPU's does (the timeout is not timed: the
        waiter may give up at any step). ``updates``: the caller's state after giving up."""
        same_cpu = or_(*[owner == self.owner_id(c, x) for x in (TASK, NESTED)])
        other_cpu = and_(owner != self.NONE, not_(same_cpu))
        return [when(and_(g, same_cpu), **updates), when(and_(g, other_cpu), **updates)]
