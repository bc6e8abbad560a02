"""What the two-progs model must be able to do (kernel behaviours), and the preconditions of its
"holds"."""

from __future__ import annotations

from typing import Any

from spec.lang import Spec, and_, any_, or_
from spec.prog_swap import A, B


def register(spec: Spec, m: Any) -> None:
    PC, none = m.PC, m.NONE
    setter = "SetCallbackLocked" if m.locked else "LoopXchg"

    def add(name, fn, doc, action=None, kernel=True):
        spec.witness(name, fn, doc, action, kernel)

    add(
        "BSwapsOutA",
        lambda s, t: and_(s.cb_prog == A, t.cb_prog == B),
        "Prog B's set_callback replaces prog A in cb->prog (the verifier does not tie a timer or wq to "
        "the prog that initialised it).",
        action=setter,
    )
    add(
        "SwapWhileCallbackRuns",
        lambda s, t: and_(s.cb_prog == A, t.cb_prog == B, s.cbk != m.CbPhase.IDLE, s.cbk_fn == A),
        "B swaps A out while A's callback is running (for a wq: after its kworker read callback_fn).",
        action=setter,
    )
    add(
        "LastRefPutBySwap",
        lambda s, t: and_(s.refcnt[A] == 1, t.refcnt[A] == 0),
        "The swap puts A's last reference (user space has detached A and closed its fds).",
        action="SetCallbackLocked" if m.locked else "LoopPutPrev",
    )
    add("ProgFreed", lambda t: t.phase[A] == m.Phase.FREED, "Prog A's grace period ends and it is freed.")
    add(
        "SetCallbackFailsAtZero",
        lambda s, t: and_(
            s.pc[A] == (PC.SETCB if m.locked else PC.GUARD), t.pc[A] == PC.IDLE, s.refcnt[A] == 0
        ),
        "A run of A that began before A's last reference went calls set_callback: bpf_prog_inc_not_zero "
        "fails and the helper returns -ENOENT.",
        action="SetCallbackLocked" if m.locked else "LoopGuard",
    )
    spec.nonvacuous("NoCallbackAfterProgFree", "SwapWhileCallbackRuns", "LastRefPutBySwap", "ProgFreed")
    if m.locked:
        spec.nonvacuous("CallbackMatchesProg", "BSwapsOutA")
        spec.nonvacuous("RefcountMatchesHolders", "BSwapsOutA")
        return
    add(
        "SetCallbacksOverlap",
        lambda t: and_(
            *[or_(*[t.pc[c] == getattr(PC, p) for p in ("STORE", "PUT_PREV", "READ_PROG")]) for c in m.CPU]
        ),
        "A's and B's set_callback loops run at once, both past their xchg.",
    )
    spec.nonvacuous("CallbackMatchesProg", "SetCallbacksOverlap")
    spec.nonvacuous("RefcountMatchesHolders", "SetCallbacksOverlap")
    if m.cfg["retry_check"]:
        add(
            "LoopRetriesOnProg",
            lambda s, t: any_(t.pc[c] == PC.XCHG for c in m.CPU),
            "The exit test reads another prog in cb->prog and the loop goes round again.",
            action="LoopReadProg",
        )
        add(
            "LoopRetriesOnCallback",
            lambda s, t: any_(t.pc[c] == PC.XCHG for c in m.CPU),
            "The exit test reads another prog's callback_fn and the loop goes round again.",
            action="LoopReadFn",
        )
    if m.tso:
        add(
            "StoreForwarded",
            lambda s, t: any_(
                and_(s.pc[c] == PC.READ_FN, s.buf[c] != none, s.buf[c] != s.cb_fn) for c in m.CPU
            ),
            "The exit test reads the CPU's own callback_fn store from its store buffer while memory "
            "still holds another value.",
            action="LoopReadFn",
        )
