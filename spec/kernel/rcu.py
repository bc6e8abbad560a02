"""RCU grace periods (brief §6; the call_rcu() kernel-doc in kernel/rcu/tree.c; docs/kernel-facts.md).

A grace period started by ``call_rcu`` (or ``synchronize_rcu``) waits for the read-side critical
sections *in flight when it starts* and for nothing else: its callback "might well execute
concurrently with RCU read-side critical sections that started after call_rcu()". A model keeps, for
each pending grace period, the set of readers it waits for (a snapshot taken when it starts) and drops
a reader from every snapshot when that reader's section ends (``end_finished_readers``). The grace
period may end at any time after its snapshot is empty: a real one may take longer, never less.

Flavours: ``call_rcu`` (since v5.0 any region with preemption, bh or irqs disabled is a reader, hard-
and soft-irq handlers included) and ``call_rcu_tasks_trace`` (only ``rcu_read_lock_trace`` sections).
Which contexts are readers of which flavour is the model's to say; the block only keeps snapshots.

Readers are identified by (CPU, level) or by any other key: a snapshot is a tuple of tuples of
Booleans (rows x columns), and a snapshot variable maps some key (a prog, an element, an object) to
one snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from spec.lang import Step, and_, any_, ite, not_, put


def snapshot(is_reader: Callable[[int, int], Any], rows: int, cols: int) -> tuple:
    """The readers in flight now: ``is_reader(row, col)`` for every reader slot."""
    return tuple(tuple(is_reader(r, k) for k in range(cols)) for r in range(rows))


def nobody(rows: int, cols: int) -> tuple:
    """The empty snapshot (no grace period pending, or one that waits for no reader)."""
    return tuple(tuple(False for _ in range(cols)) for _ in range(rows))


def gp_over(waited: tuple) -> Any:
    """A grace period whose snapshot is ``waited`` may end: every reader in it has finished."""
    return not_(any_(x for row in waited for x in row))


def start_gp(table: tuple, key: int, readers_now: tuple, cond: Any = True) -> tuple:
    """``call_rcu`` for ``key`` (if ``cond``): its grace period's readers are fixed now."""
    return put(table, key, ite(cond, readers_now, table[key]))


def end_finished_readers(
    fn: Callable[..., Any],
    activity_vars: Sequence[str],
    readers: Sequence[tuple[int, int]],
    idle_after: Callable[[Any, int, int], Any],
    snapshots: Sequence[str],
) -> Callable[..., Any]:
    """Wrap an action so that each step drops, from every pending grace period's snapshot, a reader
    whose read-side section the step ends.

    ``activity_vars`` are the variables whose change can end a section (a step that changes none of
    them ends none); ``idle_after(t, row, col)`` says the reader is outside any section in state ``t``
    (built from the step's updates); ``snapshots`` are the snapshot variables (key -> rows x cols)."""

    def step_ends(s: Any, st: Step) -> Step:
        upd = st.updates
        if not any(v in upd for v in activity_vars):
            return st
        after = s._replace(**{v: upd[v] for v in activity_vars if v in upd})
        ended = {(r, k): idle_after(after, r, k) for r, k in readers}
        if all(e is False for e in ended.values()):
            return st
        new = dict(upd)
        for name in snapshots:
            table = upd.get(name, getattr(s, name))
            if all(x is False for snap in table for row in snap for x in row):
                continue  # no grace period pending (the common case; a Z3 term is never ``False``)
            new[name] = tuple(
                tuple(
                    tuple(
                        and_(snap[r][k], not_(ended[r, k])) if (r, k) in ended else snap[r][k]
                        for k in range(len(snap[r]))
                    )
                    for r in range(len(snap))
                )
                for snap in table
            )
        return st._replace(updates=new)

    def wrapped(s: Any, **args: Any) -> Any:
        r = fn(s, **args)
        if isinstance(r, Step):
            return step_ends(s, r)
        return [step_ends(s, st) for st in r]

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped
