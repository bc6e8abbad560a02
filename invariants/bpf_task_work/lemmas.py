"""Auxiliary invariants that make the holding safety properties of ``spec/bpf_task_work`` inductive.

Used by ``explorer.smt.prove_by_step``: with them, the conjunction of the safety invariants that hold
for the merged design (V8, every safeguard switch at its default; ``PROVED_SAFETY``) and the lemmas
below is inductive, so it holds in every reachable state of configurations far larger than BFS
explores (two values with a pool of three ctx objects each). The design's known violations are left
out of the target: NoAsyncUseAfterFree (window A/B: bpf_mem_free without a grace period) and
NoNullTaskDeref (W9/W9b); with ``free_after_gp = true`` NoAsyncUseAfterFree is proved too. With a pool
of more than one ctx per value NoCallbackAfterUrefSweep is violated (task_work_merged_refill), so it
is proved for ``pool = 1`` only; the two lemmas that speak of the sweep are True (vacuous) for larger
pools, and the grace-period lemma is True without ``free_after_gp``, so ``aux_invariants`` always
returns every name of ``STRENGTHENING``.

The vocabulary: a ctx's *round token* is the one place its current round is at: a scheduler between
its T1 claim and the usercnt check (CLAIMED), the queued bpf_task_work_irq, a runner before
task_work_add (ADD), the task_work (queued or detached), callback_fn (RUN). Each token also holds the
round's ctx ref. A runner after task_work_add (ADDED, CANCEL, TAIL) and a scheduler that read the slot
without a ref (HELD) are *stale* pointers: they hold nothing and may see the ctx in any later state.

Each predicate states one fact about the modelled kernel code, and its docstring says why the code
keeps it. They describe the merged switches (slot xchg, round refs, the usercnt check after T1, the
T2/T5/T6 checks, cancel_scheduled, the per-round prog ref, no reopen) and refuse other switches; the
variants they also cover are ``free_after_gp`` and the ones that only remove steps (``runs``,
``target``, ``task_exits``, ``user_updates``, ``user_closes``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from invariants.bpf_task_work.properties import SAFETY
from spec.lang import Spec, all_, and_, any_, count, implies, not_, or_

STRENGTHENING = [
    "ActorsCanonical",
    "RunnersCanonical",
    "IrqWorkFlagsTrackQueue",
    "UnusedObjectsUntouched",
    "NotLiveHasNoHolders",
    "SlotHoldsItsOwnLiveCtx",
    "MapRefHeldOnceUntilFreed",
    "RoundTokenUnique",
    "TokensMatchState",
    "RoundFieldsFollowToken",
    "CancelScheduledOnFreedOnly",
    "ProgRefcntMatchesPhase",
    "MapRefcntAccounted",
    "UserJobShape",
    "NoLateRounds",
    "T1uSchedulerOwnsStuckCtx",
    "SweptValuesQuiet",
    "StaleReadersInGracePeriod",
]


def PROVED_SAFETY(spec: Spec) -> list[str]:  # noqa: N802 - a constant per configuration
    """The safety invariants that hold in this configuration (the expected verdicts of the
    task_work cells), in the order of invariants/bpf_task_work/properties.py's SAFETY."""
    cfg = spec.model.cfg
    out = [n for n in SAFETY if n != "NoNullTaskDeref"]
    if not cfg["free_after_gp"]:
        out.remove("NoAsyncUseAfterFree")
    if cfg["pool"] > 1:
        out.remove("NoCallbackAfterUrefSweep")
    return out


def aux_invariants(spec: Spec) -> dict[str, Callable[[Any], Any]]:
    """The auxiliary invariants for a bpf_task_work spec with the merged switches, by name."""
    m = spec.model
    cfg = m.cfg
    merged = dict(
        usercnt_check="after", round_ref=True, cb_freed_check=True, irq_freed_check=True,
        irq_post_add_cancel=True, cancel_scheduled=True, round_prog_ref=True, slot_xchg=True,
        reopen=False,
    )  # fmt: skip
    off = sorted(k for k, v in merged.items() if cfg[k] != v)
    if off:
        raise ValueError(f"auxiliary invariants are written for the merged bpf_task_work, not {off}")
    PC, Mem, St, R, Tw, CB, IwFn, Job, Phase = m.PC, m.Mem, m.St, m.RPhase, m.Tw, m.CB, m.IwFn, m.Job, m.Phase
    NO_OBJ, NO_CPU, NO_VAL, USER = m.NO_OBJ, m.NO_CPU, m.NO_VAL, m.USER
    gp = cfg["free_after_gp"]
    scheds = list(m.CPU)

    def objs_of(v: int) -> list[int]:
        return [o for o in m.Obj if m.obj_val(o) == v]

    def at(s: Any, a: int, pcs: list[int], o: int) -> Any:
        return and_(any_(s.pc[a] == p for p in pcs), s.aobj[a] == o)

    def runs(s: Any, c: int, phases: list[int], o: int) -> Any:
        return and_(any_(s.runner[c] == p for p in phases), s.robj[c] == o)

    def tokens(s: Any, o: int) -> list:
        """Where o's current round is (each also holds the round's ctx ref)."""
        claimed = [at(s, c, [PC.CLAIMED], o) for c in scheds]
        irq = and_(s.iw_cpu[o] != NO_CPU, s.iw_fn[o] == IwFn.IRQ)
        add = [runs(s, c, [R.ADD], o) for c in m.CPU]
        return [*claimed, irq, *add, s.tw[o] != Tw.NONE, and_(s.cb == CB.RUN, s.cbobj == o)]

    def armed_tokens(s: Any, o: int) -> list:
        """The tokens after the fields were written (all but CLAIMED)."""
        return tokens(s, o)[len(scheds) :]

    def holders(s: Any, o: int) -> list:
        return m.map_ref_holders(s, o) + m.round_holders(s, o) + m.transient_holders(s, o)

    def pointers(s: Any, o: int) -> list:
        """Everyone who has o's address, with or without a ref."""
        return (
            [s.slot[v] == o for v in m.Val]
            + [s.aobj[a] == o for a in m.Actor]
            + [s.robj[c] == o for c in m.CPU]
            + [s.cbobj == o, s.tw[o] != Tw.NONE, s.iw_cpu[o] != NO_CPU, s.has_prog[o], s.has_task[o]]
        )

    def cancel_pending(s: Any, o: int) -> Any:
        iw = and_(s.iw_cpu[o] != NO_CPU, s.iw_fn[o] == IwFn.CANCEL)
        return or_(iw, *[runs(s, c, [R.CS_PUT2, R.CS_PUT], o) for c in m.CPU])

    # ------------------------------------------------------------------ shapes

    def ActorsCanonical(s):
        """A scheduler or cancel_and_free has a ctx pointer exactly at the pcs that read one (HELD,
        REF, CLAIMED, XSTATE, XPUT), and it is a ctx of the value it works on; an idle actor has no
        value; schedulers never pass CHECK or XCLEAR (usercnt_check = after, slot_xchg), user space
        only runs cancel_and_free.

        Why: set_actor writes pc, aobj and aval together; SchedFetch and XSlot read the pointer from
        slot[aval], whose ctx belongs to that value (SlotHoldsItsOwnLiveCtx)."""
        ok = []
        with_obj = [PC.HELD, PC.REF, PC.CLAIMED, PC.XSTATE, PC.XPUT]
        for a in m.Actor:
            pcs = [PC.IDLE, PC.XSLOT, PC.XSTATE, PC.XPUT]
            if a != USER:
                pcs += [PC.RUN, PC.FETCH, PC.HELD, PC.REF, PC.CLAIMED]
            ok.append(any_(s.pc[a] == p for p in pcs))
            has = any_(s.pc[a] == p for p in with_obj)
            ok.append(implies(not_(has), s.aobj[a] == NO_OBJ))
            ok.append(implies(has, any_(and_(s.aobj[a] == o, s.aval[a] == m.obj_val(o)) for o in m.Obj)))
            ok.append((s.pc[a] == PC.IDLE) == (s.aval[a] == NO_VAL))
        return all_(ok)

    def RunnersCanonical(s):
        """An idle irq_work runner has no ctx and seen = 0; a busy one has a ctx and seen = BUSY; the
        callback has a ctx exactly when it is not idle.

        Why: IrqRun sets robj and seen (the flags it cleared PENDING from: a queued irq_work's flags
        are PENDING|BUSY), IrqDone clears both; CbStart sets cbobj, CbPut (or the skip) clears it."""
        ok = []
        for c in m.CPU:
            idle = s.runner[c] == R.IDLE
            ok.append(idle == (s.robj[c] == NO_OBJ))
            ok.append(implies(idle, s.seen[c] == 0))
            ok.append(implies(not_(idle), s.seen[c] == 2))
        ok.append((s.cb == CB.IDLE) == (s.cbobj == NO_OBJ))
        return all_(ok)

    def IrqWorkFlagsTrackQueue(s):
        """ctx->irq_work's flags are PENDING|BUSY exactly while it is on a raised list, otherwise
        BUSY or 0 (never PENDING alone).

        Why: irq_work_claim sets PENDING|BUSY and queues; irq_work_single clears PENDING as it takes
        the work off the list; its final cmpxchg clears BUSY only if no one claimed since."""
        return all_(
            and_(
                (s.iw_flags[o] == 3) == (s.iw_cpu[o] != NO_CPU),
                or_(s.iw_flags[o] == 0, s.iw_flags[o] == 2, s.iw_flags[o] == 3),
            )
            for o in m.Obj
        )

    def UnusedObjectsUntouched(s):
        """A ctx object that no T0 has allocated yet is STANDBY and nobody has its address.

        Why: the only way to a ctx is the slot (T0 publishes it there) and the pointers copied from
        it or from the ctx's own irq_work/task_work."""
        return all_(
            implies(s.mem[o] == Mem.UNUSED, and_(s.st[o] == St.STANDBY, not_(any_(pointers(s, o)))))
            for o in m.Obj
        )

    def NotLiveHasNoHolders(s):
        """A ctx whose refcount reached 0 (freed, or waiting for its grace period) has no ref holder,
        no queued irq_work or task_work, no ctx->prog/ctx->task, and its state is FREED; a LIVE ctx's
        refcount is positive.

        Why: the last bpf_task_work_ctx_put runs ctx_reset; every ref holder had to put its ref
        before, and a new ref is only taken by refcount_inc_not_zero (fails at 0). The map's ref is
        put only after xchg(state, FREED)."""
        ok = []
        for o in m.Obj:
            dead = or_(s.mem[o] == Mem.FREED, s.mem[o] == Mem.GP_WAIT)
            stuff = holders(s, o) + [s.iw_cpu[o] != NO_CPU, s.has_prog[o], s.has_task[o]]
            ok.append(implies(dead, and_(s.st[o] == St.FREED, not_(any_(stuff)))))
            ok.append(implies(s.mem[o] == Mem.LIVE, s.ref[o] > 0))
        return all_(ok)

    def SlotHoldsItsOwnLiveCtx(s):
        """bpf_task_work_kern.ctx of value v is NULL or one of v's ctx objects, which is LIVE.

        Why: T0 installs a fresh object of v's pool; the slot holds the map's ref, put only after
        xchg(&twk->ctx, NULL) took the ctx out."""
        ok = []
        for v in m.Val:
            ok.append(any_(s.slot[v] == x for x in [NO_OBJ, *objs_of(v)]))
            for o in objs_of(v):
                ok.append(implies(s.slot[v] == o, s.mem[o] == Mem.LIVE))
        return all_(ok)

    def MapRefHeldOnceUntilFreed(s):
        """Each ctx's map ref has at most one holder, and an allocated ctx is not FREED exactly while
        the holder is the slot or a cancel_and_free before its xchg(state, FREED).

        Why: T0 creates the ref in the slot; xchg(&twk->ctx, NULL) hands it to exactly one
        cancel_and_free, which marks FREED and then puts it (or passes it to cancel_scheduled)."""
        ok = []
        for o in m.Obj:
            ok.append(count(m.map_ref_holders(s, o)) <= 1)
            before_free = [s.slot[v] == o for v in m.Val] + [at(s, a, [PC.XSTATE], o) for a in m.Actor]
            ok.append(implies(s.mem[o] != Mem.UNUSED, (s.st[o] != St.FREED) == any_(before_free)))
        return all_(ok)

    # ------------------------------------------------------------------ the round

    def RoundTokenUnique(s):
        """A ctx's round is in at most one place: claimed by one scheduler, or its irq_work queued,
        or one runner before task_work_add, or its task_work, or its callback.

        Why: T1 (STANDBY -> PENDING) admits one claimer; each step hands the round on (fill queues
        the irq_work, T2 lets one runner through, task_work_add queues the work, the task detaches
        and runs it); FREED stops new rounds (only T1 from STANDBY starts one)."""
        return all_(count(tokens(s, o)) <= 1 for o in m.Obj)

    def TokensMatchState(s):
        """The state word says where the round is: STANDBY: nowhere; PENDING: claimed or irq_work
        queued (or nowhere after T1u); SCHEDULING: a runner before task_work_add or the task_work;
        SCHEDULED: the same (or nowhere: a wedged SCHEDULED); RUNNING: the callback. Each token
        finds the state its own step set, or FREED.

        Why: each transition is a cmpxchg by the token's holder from the state it expects; only
        cancel_and_free's xchg(FREED) and a stale runner's T4 (SCHEDULING -> SCHEDULED, window B) act
        without the token."""
        ok = []
        for o in m.Obj:
            st = s.st[o]
            claimed = [at(s, c, [PC.CLAIMED], o) for c in scheds]
            irq = and_(s.iw_cpu[o] != NO_CPU, s.iw_fn[o] == IwFn.IRQ)
            add = [runs(s, c, [R.ADD], o) for c in m.CPU]
            tw = s.tw[o] != Tw.NONE
            cb = and_(s.cb == CB.RUN, s.cbobj == o)

            def is_(*xs, st=st):
                return any_(st == x for x in xs)

            ok.append(implies(any_(claimed), is_(St.PENDING, St.FREED)))
            ok.append(implies(irq, is_(St.PENDING, St.FREED)))
            ok.append(implies(any_(add), is_(St.SCHEDULING, St.SCHEDULED, St.FREED)))
            ok.append(implies(tw, is_(St.SCHEDULING, St.SCHEDULED, St.FREED)))
            ok.append(implies(cb, is_(St.RUNNING, St.FREED)))
            ok.append(implies(st == St.SCHEDULING, any_([*add, tw])))
            ok.append(implies(st == St.RUNNING, cb))
        return all_(ok)

    def RoundFieldsFollowToken(s):
        """ctx->prog and ctx->task are set together, while the round is past its fields (irq_work
        queued, a runner before task_work_add, the task_work, the callback); not before (a claimer
        writes them at the usercnt check) and, unless FREED, not after (ctx_reset).

        Why: fill writes both after T1 and the check; ctx_reset clears both and runs where the
        round ends (task_work_add failing, the callback's return, the last put), and the last put
        needs every token's ref gone. On FREED the round may end without ctx_reset (T2, T5/T6 or
        task_work_cancel see FREED and only put)."""
        ok = []
        for o in m.Obj:
            armed = any_(armed_tokens(s, o))
            ok.append(s.has_prog[o] == s.has_task[o])
            ok.append(implies(armed, s.has_prog[o]))
            ok.append(implies(any_(at(s, c, [PC.CLAIMED], o) for c in scheds), not_(s.has_prog[o])))
            ok.append(implies(s.st[o] != St.FREED, s.has_prog[o] == armed))
        return all_(ok)

    def CancelScheduledOnFreedOnly(s):
        """cancel_scheduled (queued, or its runner before its put) and a runner's bpf_task_work_cancel
        run on a FREED ctx only, and no claimer or queued bpf_task_work_irq is then on that ctx.

        Why: cancel_and_free queues cancel_scheduled right after xchg(state, FREED) saw SCHEDULED (no
        claimer nor queued irq then), T4 goes to CANCEL only on FREED, and FREED admits no new T1."""
        ok = []
        for o in m.Obj:
            cp = cancel_pending(s, o)
            cancel = or_(*[runs(s, c, [R.CANCEL], o) for c in m.CPU])
            ok.append(implies(or_(cp, cancel), s.st[o] == St.FREED))
            claimed = [at(s, c, [PC.CLAIMED], o) for c in scheds]
            ok.append(implies(cp, not_(any_(claimed))))
        return all_(ok)

    # ------------------------------------------------------------------ prog, map, user space

    def ProgRefcntMatchesPhase(s):
        """The prog's refcount is never negative, and it is positive exactly while the prog is LIVE;
        its free path only goes PUT_DEFERRED -> RCU_WAIT -> FREED.

        Why: __bpf_prog_put starts the free path at 0, and bpf_prog_inc_not_zero never revives a 0."""
        ph = s.prog_phase
        shape = any_(ph == p for p in [Phase.LIVE, Phase.PUT_DEFERRED, Phase.RCU_WAIT, Phase.FREED])
        return and_(s.prog_refcnt >= 0, (s.prog_refcnt > 0) == (ph == Phase.LIVE), shape)

    def MapRefcntAccounted(s):
        """map refcnt = user space's ref (the fd, until map_release_uref's sweep ends) + the prog's
        used_maps (until the prog is freed); the map is freed only after both, by map_free's sweep.

        Why: bpf_map_put_with_uref puts after the sweep; bpf_prog_free_deferred puts used_maps; the
        last put runs map_free in the user actor."""
        user = or_(s.map_usercnt == 1, s.job == Job.RELEASE)
        ok = [s.map_refcnt == count([user, s.prog_phase != Phase.FREED])]
        ok.append(implies(s.job == Job.MAPFREE, and_(s.map_refcnt == 0, s.prog_phase == Phase.FREED)))
        gone = and_(s.prog_phase == Phase.FREED, s.job == Job.NONE, s.map_refcnt == 0)
        ok.append(implies(s.map_freed, gone))
        return all_(ok)

    def UserJobShape(s):
        """User space runs cancel_and_free exactly while it has a job; an update runs with the fd open,
        the sweeps after the close; swept is set exactly once the close's sweep has returned.

        Why: UserUpdate and MapFdClose start only from idle with usercnt 1; x_done ends an update,
        moves a sweep to the next value and ends the release sweep with swept (no reopen here)."""
        ok = [(s.pc[USER] == PC.IDLE) == (s.job == Job.NONE)]
        ok.append(implies(s.job == Job.UPDATE, s.map_usercnt == 1))
        ok.append(implies(s.job == Job.RELEASE, s.map_usercnt == 0))
        ok.append(s.swept == and_(s.map_usercnt == 0, s.job != Job.RELEASE))
        ok.append(not_(s.reopened))
        return all_(ok)

    def NoLateRounds(s):
        """No round is armed while usercnt is 0 (the fields are written only after the usercnt check
        after T1 saw the fd open), and schedulers that took T1u (cancel_and_free) see usercnt 0.

        Why: SchedCheckAfter fills only on usercnt != 0, and usercnt never rises again (no reopen)."""
        ok = [not_(s.late[o]) for o in m.Obj]
        for c in scheds:
            x = any_(s.pc[c] == p for p in [PC.XSLOT, PC.XSTATE, PC.XPUT])
            ok.append(implies(x, s.map_usercnt == 0))
        return all_(ok)

    # ------------------------------------------------------------------ the uref sweep (pool = 1)

    def visited(s: Any, v: int) -> Any:
        """The release sweep has passed value v (or has returned)."""
        later = [s.aval[USER] == w for w in range(v + 1, m.nval)]
        here = and_(s.aval[USER] == v, s.pc[USER] == PC.XPUT)
        return or_(s.swept, and_(s.job == Job.RELEASE, or_(*later, here)))

    def T1uSchedulerOwnsStuckCtx(s):
        """(One ctx per value.) A scheduler in T1u's cancel_and_free that still finds its ctx in the
        slot, or has taken it from there, finds it PENDING with no round anywhere: its own claim,
        never queued.

        Why: it won T1 (STANDBY -> PENDING), saw usercnt 0 and did not write the fields; only a T2
        (needs a queued irq_work) or xchg(FREED) (needs the slot's ctx) moves PENDING; with one
        object per value its value's ctx is the one it claimed, already allocated. (With a pool of
        more, T1u can take a refilled slot's other ctx: task_work_merged_refill; then True.)"""
        if m.pool != 1:
            return True
        ok = []
        for c in scheds:
            for v in m.Val:
                (o,) = objs_of(v)
                xslot = and_(s.pc[c] == PC.XSLOT, s.aval[c] == v)
                ok.append(implies(xslot, s.mem[o] != Mem.UNUSED))
                stuck = and_(s.st[o] == St.PENDING, not_(any_(tokens(s, o))))
                ok.append(implies(or_(and_(xslot, s.slot[v] == o), at(s, c, [PC.XSTATE], o)), stuck))
        return all_(ok)

    def SweptValuesQuiet(s):
        """(One ctx per value.) Once the uref sweep has passed a value, its ctx has no round past the
        claim: it is STANDBY, PENDING without a queued irq_work, or FREED.

        Why: the sweep's xchg(state, FREED) ends whatever round there was, or finds the slot NULL
        because the ctx was never allocated, is FREED, or is in a T1u cancel_and_free (stuck PENDING);
        after it usercnt stays 0, so the check after T1 never writes the fields of a new round. (With
        a pool of more it is false, as NoCallbackAfterUrefSweep is; then True.)"""
        if m.pool != 1:
            return True
        ok = []
        for v in m.Val:
            (o,) = objs_of(v)
            st = s.st[o]
            quiet = or_(
                st == St.STANDBY,
                st == St.FREED,
                and_(st == St.PENDING, not_(and_(s.iw_cpu[o] != NO_CPU, s.iw_fn[o] == IwFn.IRQ))),
            )
            ok.append(implies(visited(s, v), quiet))
        return all_(ok)

    # ------------------------------------------------------------------ free_after_gp

    def StaleReadersInGracePeriod(s):
        """(free_after_gp.) A scheduler that read the slot without a ref (HELD) and an irq_work runner
        never see freed ctx memory: while their ctx waits for its grace period they are in its
        snapshot.

        Why: they got the pointer while the ctx was LIVE (from the slot, from the raised list), inside
        a prog run or an irq_work (RCU readers); call_rcu at the last put waits for every reader in
        flight, and each stays in flight (not IDLE) while it keeps the pointer. (Without the grace
        period it is false, windows A and B; then True.)"""
        if not gp:
            return True
        ok = []
        for o in m.Obj:
            for c in m.CPU:
                for r, has in ((c, at(s, c, [PC.HELD], o)), (m.ncpu + c, s.robj[c] == o)):
                    ok.append(implies(has, s.mem[o] != Mem.FREED))
                    ok.append(implies(and_(has, s.mem[o] == Mem.GP_WAIT), s.ctx_gp[o][r][0]))
        return all_(ok)

    fns = [
        ActorsCanonical,
        RunnersCanonical,
        IrqWorkFlagsTrackQueue,
        UnusedObjectsUntouched,
        NotLiveHasNoHolders,
        SlotHoldsItsOwnLiveCtx,
        MapRefHeldOnceUntilFreed,
        RoundTokenUnique,
        TokensMatchState,
        RoundFieldsFollowToken,
        CancelScheduledOnFreedOnly,
        ProgRefcntMatchesPhase,
        MapRefcntAccounted,
        UserJobShape,
        NoLateRounds,
        T1uSchedulerOwnsStuckCtx,
        SweptValuesQuiet,
        StaleReadersInGracePeriod,
    ]
    assert [f.__name__ for f in fns] == STRENGTHENING
    return {f.__name__: f for f in fns}
