"""A soft hrtimer (kernel/time/hrtimer.c; brief §4 and docs/second-reading/bpf_timer.md §1).

State per timer: ``state`` INACTIVE or ENQUEUED, and ``running``: the CPU whose softirq is inside the
timer's callback (``base->running``), or ``none``.

- ``hrtimer_start``: ENQUEUED, also while the callback runs (the start "can have popped in and
  enqueued the timer for us already"; ``__run_hrtimer`` then keeps it enqueued). A running timer stays
  on its base (switch_hrtimer_base does not move it), so its next expiry cannot overlap the running
  callback: one callback of a timer at a time.
- expiry (``__run_hrtimer``): removed (INACTIVE), ``running`` set, the callback runs in HRTIMER_SOFTIRQ;
  when it returns ``running`` is cleared (HRTIMER_NORESTART: the state is not touched again).
- ``hrtimer_try_to_cancel``: -1 while the callback runs; else removes an enqueued timer.
- ``hrtimer_cancel``: loops on try_to_cancel, waiting (spinning) while the callback runs: one step
  enabled when ``running`` is none. A context that waits for a callback that cannot finish (its own,
  or one that waits for it) spins for ever.
"""

from __future__ import annotations

from typing import Any

from spec.lang import and_

INACTIVE, ENQUEUED = 0, 1
STATES = ["INACTIVE", "ENQUEUED"]


def can_expire(state: Any, running: Any, none: int) -> Any:
    return and_(state == ENQUEUED, running == none)


def cancel_passes(running: Any, none: int) -> Any:
    """hrtimer_cancel returns (try_to_cancel succeeded): the callback is not running."""
    return running == none
