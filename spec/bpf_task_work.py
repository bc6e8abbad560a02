"""bpf_task_work as merged (Linux, Sept 2025; kernel/bpf/helpers.c), with its safeguards as switches.

Sources: ``docs/second-reading/bpf_task_work.md`` (the "reading"; V8 = mainline commit 38aa7003e369,
"bpf: task work scheduling kfuncs") and ``shared/domain/brief.md`` §6-§8. Where they disagree this
model follows the reading (brief §8 is v4-v6 in two places: the free path and the number of usercnt
checks; see the reading §0.1 and the comments at ``free_after_gp`` and ``usercnt_check`` below).

A map value holds ``struct bpf_task_work_kern { ctx* }`` (the *slot*, ``slot[v]``). A ctx is one of a
small pool of objects per value (``pool``), each with an identity and a memory state
UNUSED -> LIVE -> (GP_WAIT ->) FREED, so that a use of freed ctx memory is seen as such. A ctx has
the state word (reading §1):

    (slot NULL) --T0 fetch_ctx: cmpxchg(slot, NULL, c), refcnt=1 (the map's ref)--> STANDBY
    STANDBY --T1 acquire_ctx: tryget, cmpxchg--> PENDING --T2 irq: cmpxchg--> SCHEDULING
    SCHEDULING --task_work_add fails: reset, T3 cmpxchg--> STANDBY
    SCHEDULING --T4 irq after task_work_add: cmpxchg--> SCHEDULED
    SCHEDULING | SCHEDULED --T5/T6 callback: cmpxchg--> RUNNING --T7 after callback_fn, reset--> STANDBY
    any --T8 cancel_and_free: xchg(slot, NULL), then xchg(state, FREED)--> FREED (terminal for the ctx)

and a refcount: the map's ref (set at T0, put by whoever wins xchg(slot, NULL), or by
``bpf_task_work_cancel_scheduled`` when the old state was SCHEDULED), a round ref taken by the
scheduler's ``refcount_inc_not_zero`` before T1 and put by whichever side ends the round, and
transient refs of schedulers that lose T1. ``ctx->prog`` and ``ctx->task`` are per round (written
after the claim, dropped by ``ctx_reset``). At refcount 0: ``ctx_reset``, then ``bpf_mem_free`` (V8:
the memory is immediately reusable, reading §2 and K-memalloc).

Actors (every one an independent thread: the PREEMPT_RT reading, where the irq_work runs in a
preemptible per-CPU kthread; on !RT the hard-irq runner cannot be preempted by its own CPU's task
context, so !RT has a subset of these interleavings):
- a scheduler per CPU (a prog run calling ``bpf_task_work_schedule``), ``pc[c]``:
    IDLE --SchedRun--> RUN --SchedIncProg: bpf_prog_inc_not_zero (+ bpf_task_acquire)--> [CHECK] FETCH
    CHECK (usercnt_check = before) --SchedCheckBefore--> FETCH
    FETCH --SchedFetch: READ_ONCE(slot) / alloc + cmpxchg(slot, NULL, c)--> HELD (pointer, no ref)
    HELD --SchedTryget: refcount_inc_not_zero--> REF --SchedClaim: T1--> [CLAIMED] IDLE (fields, queue)
    CLAIMED (usercnt_check = after) --SchedCheckAfter: usercnt != 0: fields, irq_work_queue--> IDLE
    CLAIMED --usercnt == 0: put own ref (T1u)--> XSLOT ... (cancel_and_free, as below) --> IDLE
- ``cancel_and_free`` (X) runs in a scheduler (T1u) or in the user actor (map update/delete of a
  value, the ``map_release_uref`` sweep at the last fd close, the ``map_free`` sweep):
    XSLOT --XSlot: c = xchg(slot, NULL)--> XSTATE (or done if NULL)
    XSTATE --XState: old = xchg(state, FREED); SCHEDULED: init_irq_work(cancel_scheduled), queue--> done
    XSTATE --otherwise--> XPUT --XPut: ctx_put (the map's ref)--> done
- the irq_work runner per CPU (``irq_work_single`` + ``bpf_task_work_irq``), ``runner[c]``:
    IDLE --IrqRun: clear PENDING; T2 (fails: put the round ref)--> ADD / TAIL
    ADD --IrqAdd: task_work_add (fails: reset, T3)--> ADDED / PUT
    ADDED --IrqT4--> TAIL, or CANCEL if T4 saw FREED --IrqCancel: task_work_cancel--> PUT / TAIL
    PUT --IrqPut: ctx_put--> TAIL --IrqDone: atomic_cmpxchg(flags, seen, seen & ~BUSY)--> IDLE
    (cancel_scheduled: IrqRun does task_work_cancel, then CS_PUT2 / CS_PUT put the refs, then TAIL)
- the target task: TaskWorkTake (task_work_run takes the whole list), CbStart (T5/T6, enter
  callback_fn), CbEnd (callback_fn returns, ctx_reset, T7), CbPut; TaskExit (exit_task_work ran the
  queued works; later task_work_add fails with -ESRCH).
- user space (one actor, ``pc[user]``): updates/deletes a value, closes the map fd (usercnt 1 -> 0:
  the ``map_release_uref`` sweep, then the refcnt put), detaches and closes the prog; the map_free
  sweep runs in the same actor when the map's refcnt reaches 0.

Abstractions, each with why it loses no kernel behaviour: ``ABSTRACTIONS`` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec.kernel import irq_work, kconfig, prog, rcu, task_work
from spec.lang import (
    Bool,
    Enum,
    Fn,
    Int,
    Spec,
    SpecError,
    all_,
    and_,
    any_,
    const_fn,
    disabled,
    halt_when,
    ite,
    not_,
    or_,
    over,
    put,
    when,
)

CHECKS = ["none", "before", "after"]

# name -> (type, default, min, max) for ints; (str, default, choices); (bool, default)
# Every safeguard is a switch whose default is the merged code (V8, commit 38aa7003e369).
PARAMS: dict[str, tuple] = {
    "cpus": (int, 2, 1, 2),
    "values": (int, 1, 1, 2),  # map values holding a bpf_task_work (array map)
    "pool": (int, 1, 1, 3),  # ctx objects each value can ever get (a fresh one per T0)
    # The usercnt check of bpf_task_work_acquire_ctx: "after" the STANDBY->PENDING cmpxchg (merged V8;
    # brief §8 says this single check is "later mainline": the reading §0.1-2 shows it is already in
    # V8), "before" the fetch/claim (the first check of v4-v6 alone), or "none".
    "usercnt_check": (str, "after", CHECKS),
    # bpf_task_work_ctx_tryget (refcount_inc_not_zero) before T1: the round's own ctx ref, put by the
    # side that ends the round. False: the round relies on the map's ref alone.
    "round_ref": (bool, True),
    # bpf_task_work_callback's T5/T6 cmpxchg result is checked: on FREED it puts and skips callback_fn.
    # False: callback_fn runs whatever the cmpxchg returned.
    "cb_freed_check": (bool, True),
    # bpf_task_work_irq's T2 result is checked: on FREED (not PENDING) it puts and returns. False: it
    # goes on to task_work_add whatever T2 returned.
    "irq_freed_check": (bool, True),
    # bpf_task_work_irq after a successful task_work_add: if T4 returned FREED, bpf_task_work_cancel.
    "irq_post_add_cancel": (bool, True),
    # cancel_and_free in SCHEDULED: bpf_task_work_cancel_scheduled through the ctx's irq_work (cancel
    # the queued task_work, then put the map's ref). False: put the map's ref like in any other state.
    "cancel_scheduled": (bool, True),
    # The ctx free path. False (merged V8): bpf_mem_free at the last put, no grace period (reading §2,
    # K-v5-ast; brief §8 "after a tasks-trace (+RCU) grace period" is v4-v6). True: v4-v6's
    # call_rcu_tasks_trace + call_rcu before the free (the later kfree_rcu + rcu_read_lock guards in
    # both ref-less windows protect the same readers).
    "free_after_gp": (bool, False),
    # ctx->prog: the round holds a prog ref (bpf_prog_inc_not_zero) until ctx_reset. False: the
    # scheduler puts its prog ref when bpf_task_work_schedule returns.
    "round_prog_ref": (bool, True),
    # cancel_and_free takes the ctx with xchg(&twk->ctx, NULL). False: READ_ONCE then WRITE_ONCE(NULL).
    "slot_xchg": (bool, True),
    # "returns": the target task eventually returns to user space (task_work_run is fair).
    # "may_block": it may never do so (a task blocked for ever, a kthread target: reading W15).
    "target": (str, "returns", ["returns", "may_block"]),
    "task_exits": (bool, True),  # the target task may exit (task_work_add then fails: W7)
    "user_updates": (bool, True),  # user space updates/deletes a value (bpf_obj_free_fields -> X)
    "user_closes": (bool, True),  # user space eventually closes the map fd, detaches, closes the prog
    # BPF_MAP_GET_FD_BY_ID after the sweep: usercnt 0 -> 1 again (reading W11, K-mapref); at most once.
    "reopen": (bool, False),
    # Prog runs (schedules) per CPU: 0 = unbounded. A bound only removes behaviours; it is used where
    # pool = 2 would otherwise exceed the state budget.
    "runs": (int, 0, 0, 3),
    **kconfig.PARAMS,  # preemption, irq_work delivery, tasks-trace semantics, stalls (spec/kernel/kconfig.py)
}


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The kernel-configuration values that give this cell different behaviours. bpf_task_work_irq
    runs from an irq_work without IRQ_WORK_HARD_IRQ: in hard-irq on a non-RT kernel, where only a
    stall stretches it while other CPUs make slow progress; in a preemptible kthread on PREEMPT_RT
    (docs/second-reading/round4.md Q7(b)). With self-IPI delivery a scheduler's irq_work runs before
    its prog run returns. No implicit reader and no tasks-trace grace period is involved: a
    non-preemptible kernel behaves as PREEMPT_RCU, and the tasks-trace semantics play no part."""
    return {
        "preemption": ("preempt_rcu", "preempt_rt"),
        "stalls": kconfig.STALLS,
        "irq_work": kconfig.IRQ_WORK,
    }


def lane(action: str, args: dict[str, str]) -> str | None:
    """The execution context of a step, for the report's sequence diagrams (None: the generic rule).
    bpf_task_work_schedule runs in a prog run on its CPU, the irq_work in hard-irq there, the
    task_work callback in the target task, cancel_and_free in a prog run or in user space."""
    if action.startswith("Sched"):
        return f"{args['c']} prog run"
    if action.startswith("Irq"):
        return f"{args['c']} irq_work"
    if action.startswith(("Cb", "TaskWork")):
        return "target task"
    if action.startswith("X"):
        return "user space" if args["a"] == "user" else f"{args['a']} prog run"
    return None


ABSTRACTIONS = [
    "Every actor (scheduler per CPU, irq_work runner per CPU, the target task, user space) is an "
    "independent thread, as on PREEMPT_RT where the irq_work runs in a preemptible per-CPU kthread "
    "(reading §0.1-6). On a non-RT kernel bpf_task_work_irq runs in hard-irq: a scheduler on its CPU "
    "that is a task-context prog run waits for it, but one in NMI can interrupt it, so the model keeps "
    "every interleaving (a superset). What non-RT does forbid is timing: with stalls = none, while a "
    "runner is between two of its steps no slow activity starts (the target task's return to user "
    "space, a user system call, a task exit); a finding that needs such a window needs a stall (NMI, "
    "SMI, vCPU preemption) on non-RT, and only a preemption on RT (docs/second-reading/round4.md Q7(b)). "
    "With irq_work = self_ipi on non-RT, a scheduler's irq_work runs before its prog run returns "
    "(SchedReturn).",
    "A scheduler's READ_ONCE(slot), the allocation and the T0 cmpxchg are one step: the loser of T0 "
    "frees an object nobody else ever saw and continues with the winner's, which is what reading the "
    "slot at the cmpxchg gives. Allocation failure (bpf_mem_alloc returns NULL: -ENOMEM) is also what "
    "happens when a value's pool of ctx objects is used up.",
    "bpf_task_acquire is merged with bpf_prog_inc_not_zero and always succeeds (the target's "
    "task_struct lifetime is not modelled; ctx->task is kept as non-NULL/NULL for the W9 question).",
    "The field writes (task, prog, callback, map, map_val), init_task_work, init_irq_work and "
    "irq_work_queue are one step with the step before them (T1, or the usercnt check after it): only "
    "the claimer writes them and nobody reads them before the irq_work runs (the final put, which "
    "runs ctx_reset, cannot happen while the claimer holds its round ref); init_irq_work's flags=0 and "
    "the claim's flags|=CLAIMED make any overlapping runner's final cmpxchg fail in both orders.",
    "The usercnt check after T1 and what follows it are one step (the put of the own ref on 0, the "
    "field writes and queue otherwise): only a close (1 -> 0) or a reopen changes usercnt, and the "
    "sweep reads neither the fields nor the irq_work of a PENDING ctx, so moving the read to the "
    "next step's instant gives the same outcomes.",
    "The callback's two cmpxchg (T5, then T6 if T5 saw SCHEDULED) are one step: between them the state "
    "can only go SCHEDULED -> FREED, which the merged step shows by seeing FREED at once.",
    "irq_work_single's clearing of PENDING is merged with the first step of the func (T2 for "
    "bpf_task_work_irq, task_work_cancel for cancel_scheduled): nobody can queue this irq_work while "
    "the state is PENDING (T2) or FREED (cancel_scheduled), and T2's result depends on the state only.",
    "task_work_add's failure path (ctx_reset, then the T3 cmpxchg) is one step: between them nobody "
    "reads ctx->task or ctx->prog (a stale runner's T4 can turn SCHEDULING into SCHEDULED in either "
    "order, which makes T3 fail in both). The callback's ctx_reset and T7 are one step likewise.",
    "cancel_scheduled's two puts after a successful task_work_cancel (the round's, then the map's) are "
    "one step: the first is never the last (the map's ref remains), so no one can tell them apart.",
    "The task runs its detached works one at a time in any order (task_work_run takes the whole list "
    "with one xchg, which TaskWorkTake is; it then runs them in list order: any order is a superset). "
    "TaskExit is enabled only when no work is queued: exit_task_work runs the queued works first (W16), "
    "then task_work_add fails with -ESRCH.",
    "Grace periods (the prog's call_rcu, the ctx's when free_after_gp) wait exactly for the readers in "
    "flight when they start: prog runs (schedulers) and irq_work runners (hard-irq, or "
    "guard(rcu_tasks_trace)); the callback and the user-space cancel_and_free hold a ctx ref across "
    "every access, so they need no grace period. A real grace period may wait longer, never less.",
    "The map and its values are freed the moment the map_free sweep ends (2025's map free is deferred to "
    "a workqueue and an RCU grace period; an earlier free only adds chances for a use-after-free).",
    "A use of freed ctx memory is recorded and the behaviour halts (undefined behaviour: bpf_mem_free "
    "makes the memory reusable at once, so what happens next is not the model's to guess). The irq_work "
    "core's final flag cmpxchg after the func freed the ctx is recorded too but does not halt: it is a "
    "failed cmpxchg on type-stable memory unless the object was reused in between.",
    "User space is one thread: an update/delete and the fd close never overlap (two threads could: a "
    "delete between its two xchg while the close's sweep finds the slot NULL; the T1u race of "
    "task_work_merged_refill shows the same effect). Its cancel_scheduled is queued on cpu0.",
    "runs > 0 bounds the prog runs per CPU (only removes behaviours; used with pool = 2).",
    "Not modelled: hash maps (element reuse, W14), LRU eviction, inner maps, callbacks that schedule "
    "other values (chains, W12), NMI/hard-irq progs, the later irq_work-deferred destroy, "
    "task_struct lifetime, TWA_SIGNAL vs TWA_RESUME (both are one task_work_add).",
]

STATES = ["STANDBY", "PENDING", "SCHEDULING", "SCHEDULED", "RUNNING", "FREED"]
# RETURN: with irq_work = self_ipi on a non-RT kernel, a scheduler's run after irq_work_queue (the
# self-IPI runs bpf_task_work_irq before the helper returns)
PCS = [
    "IDLE",
    "RUN",
    "CHECK",
    "FETCH",
    "HELD",
    "REF",
    "CLAIMED",
    "XSLOT",
    "XCLEAR",
    "XSTATE",
    "XPUT",
    "RETURN",
]
RPHASES = ["IDLE", "ADD", "ADDED", "CANCEL", "PUT", "CS_PUT2", "CS_PUT", "TAIL"]

__all__ = ["ABSTRACTIONS", "PARAMS", "STATES", "lane", "make_spec"]


@dataclass
class Model:
    """The constants and the model's vocabulary, shared with the properties and witnesses."""

    spec: Spec
    cfg: dict
    ncpu: int
    nval: int
    pool: int
    CPU: Enum
    Val: Enum
    Obj: Enum
    Actor: Enum
    PC: Enum
    Mem: Enum
    St: Enum
    RPhase: Enum
    Tw: Enum
    CB: Enum
    IwFn: Enum
    Job: Enum
    Phase: Enum
    NO_OBJ: int
    NO_CPU: int
    NO_VAL: int
    USER: int

    @property
    def fill_action(self) -> str:
        """The action whose success path writes the fields and queues the irq_work."""
        return "SchedCheckAfter" if self.cfg["usercnt_check"] == "after" else "SchedClaim"

    def obj_val(self, o: int) -> int:
        return o // self.pool

    def broken(self, s: Any) -> Any:
        """Undefined behaviour happened earlier in the behaviour (the model halts there)."""
        return or_(s.uaf_ctx, s.uaf_prog, s.uaf_map, s.null_task, s.underflow)

    def user_gone(self, s: Any) -> Any:
        """User space has let go for good: map fd closed (and, with reopen, its one reopen spent),
        prog detached and its fd closed."""
        gone = and_(s.map_usercnt == 0, not_(s.prog_fd), not_(s.prog_attached))
        return and_(gone, s.reopened) if self.cfg["reopen"] else gone

    def round_holders(self, s: Any, o: int) -> list:
        """Who holds o's round ref (the callback's): the queued irq_work, the runner before its put,
        the queued or detached task_work, the callback until its put, cancel_scheduled before its
        first put."""
        R = self.RPhase
        iw_irq = and_(s.iw_cpu[o] != self.NO_CPU, s.iw_fn[o] == self.IwFn.IRQ)
        runner = [
            and_(s.robj[c] == o, or_(s.runner[c] == R.ADD, s.runner[c] == R.PUT, s.runner[c] == R.CS_PUT2))
            for c in self.CPU
        ]
        tw = s.tw[o] != self.Tw.NONE
        cb = and_(s.cbobj == o, s.cb != self.CB.IDLE)
        return [iw_irq, *runner, tw, cb]

    def map_ref_holders(self, s: Any, o: int) -> list:
        """Who holds o's map ref: the slot, a cancel_and_free between its slot xchg (its WRITE_ONCE
        without slot_xchg) and its put, a queued cancel_scheduled or its runner before the put."""
        P, R = self.PC, self.RPhase
        slot = [s.slot[v] == o for v in self.Val]
        x = [and_(s.aobj[a] == o, or_(s.pc[a] == P.XSTATE, s.pc[a] == P.XPUT)) for a in self.Actor]
        iw_cs = and_(s.iw_cpu[o] != self.NO_CPU, s.iw_fn[o] == self.IwFn.CANCEL)
        runner = [
            and_(s.robj[c] == o, or_(s.runner[c] == R.CS_PUT2, s.runner[c] == R.CS_PUT)) for c in self.CPU
        ]
        return [*slot, *x, iw_cs, *runner]

    def transient_holders(self, s: Any, o: int) -> list:
        """Schedulers holding their tryget ref (REF, or CLAIMED before the usercnt check)."""
        P = self.PC
        return [and_(s.aobj[c] == o, or_(s.pc[c] == P.REF, s.pc[c] == P.CLAIMED)) for c in self.CPU]

    def sched_holds_prog(self, s: Any, c: int) -> Any:
        """Scheduler c holds its own prog ref (from bpf_prog_inc_not_zero until transfer or put)."""
        return and_(s.pc[c] != self.PC.IDLE, s.pc[c] != self.PC.RUN, s.pc[c] != self.PC.RETURN)


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS for names, defaults and ranges)."""
    from invariants.bpf_task_work import properties as props
    from invariants.bpf_task_work import witnesses

    cfg = {k: v[1] for k, v in PARAMS.items()}
    unknown = sorted(set(constants) - set(cfg))
    if unknown:
        raise SpecError(f"bpf_task_work: unknown constant(s) {', '.join(unknown)}")
    cfg.update(constants)
    if cfg["usercnt_check"] not in CHECKS:
        raise SpecError(f"bpf_task_work: usercnt_check must be one of {CHECKS}")
    if cfg["target"] not in ("returns", "may_block"):
        raise SpecError("bpf_task_work: target must be returns or may_block")

    ncpu, nval, npool = cfg["cpus"], cfg["values"], cfg["pool"]
    kc = kconfig.KernelConfig(cfg)
    # the irq_work runs in hard-irq (not a thread): a self-IPI takes it at once, and only a stall can
    # stretch it while another CPU makes slow progress
    hardirq_runner = not kc.rt
    prompt = hardirq_runner and kc.self_ipi
    no_stall = hardirq_runner and kc.no_stalls
    check = cfg["usercnt_check"]
    round_ref = cfg["round_ref"]
    gp = cfg["free_after_gp"]

    spec = Spec("bpf_task_work")
    spec.constants = dict(cfg)
    spec.lemmas = "invariants.bpf_task_work.lemmas"
    CPU = Enum("CPU", [f"cpu{i}" for i in range(ncpu)])
    CpuOrNone = Enum("CpuOrNone", [*CPU.names, "none"])
    Val = Enum("Val", [f"v{i}" for i in range(nval)])
    ValOrNone = Enum("ValOrNone", [*Val.names, "none"])
    Obj = Enum("Obj", [f"v{v}c{k}" for v in range(nval) for k in range(npool)])
    ObjOrNone = Enum("ObjOrNone", [*Obj.names, "none"])
    Actor = Enum("Actor", [*CPU.names, "user"])
    PC = Enum("PC", PCS)
    Mem = Enum("Mem", ["UNUSED", "LIVE", "GP_WAIT", "FREED"])
    St = Enum("St", STATES)
    RPhase = Enum("RPhase", RPHASES)
    Tw = Enum("Tw", ["NONE", "QUEUED", "DETACHED"])
    CB = Enum("CB", ["IDLE", "RUN", "PUT"])
    IwFn = Enum("IwFn", ["IRQ", "CANCEL"])
    Job = Enum("Job", ["NONE", "UPDATE", "RELEASE", "MAPFREE"])
    Phase = Enum("Phase", prog.PHASES)
    P1 = Enum("P", ["prog"])
    Col = Enum("Col", ["in"])
    Reader = Enum("Reader", [f"sched{c}" for c in range(ncpu)] + [f"irq{c}" for c in range(ncpu)])
    NO_OBJ, NO_CPU, NO_VAL, USER = len(Obj), ncpu, nval, ncpu
    m = Model(
        spec, cfg, ncpu, nval, npool, CPU, Val, Obj, Actor, PC, Mem, St, RPhase, Tw, CB, IwFn, Job,
        Phase, NO_OBJ, NO_CPU, NO_VAL, USER,
    )  # fmt: skip

    # fd + link + one per scheduler + one per ctx round
    max_prog = 2 + ncpu + len(Obj)
    # map's ref (twice when the slot is not xchg'd) + round + a tryget per scheduler
    max_ref = 4 + 3 * ncpu

    # ------------------------------------------------------------------ variables
    spec.var("slot", Fn(Val, ObjOrNone), const_fn(Val, NO_OBJ), "bpf_task_work_kern.ctx of each value")
    spec.var("mem", Fn(Obj, Mem), const_fn(Obj, Mem.UNUSED), "each ctx object's memory")
    spec.var("st", Fn(Obj, St), const_fn(Obj, St.STANDBY), "ctx->state")
    spec.var("ref", Fn(Obj, Int(-1, max_ref)), const_fn(Obj, 0), "ctx->refcnt")
    spec.var("has_prog", Fn(Obj, Bool), const_fn(Obj, False), "ctx->prog != NULL (holds a prog ref)")
    spec.var("has_task", Fn(Obj, Bool), const_fn(Obj, False), "ctx->task != NULL")
    spec.var("iw_flags", Fn(Obj, Int(0, 3)), const_fn(Obj, 0), "ctx->irq_work flags (PENDING 1, BUSY 2)")
    spec.var("iw_cpu", Fn(Obj, CpuOrNone), const_fn(Obj, NO_CPU), "raised list the irq_work is on")
    spec.var("iw_fn", Fn(Obj, IwFn), const_fn(Obj, IwFn.IRQ), "ctx->irq_work.func")
    spec.var("tw", Fn(Obj, Tw), const_fn(Obj, Tw.NONE), "ctx->work on the target's task_works list")
    spec.var("pc", Fn(Actor, PC), const_fn(Actor, PC.IDLE), "schedulers (per CPU) and user space")
    spec.var("aobj", Fn(Actor, ObjOrNone), const_fn(Actor, NO_OBJ), "the ctx an actor holds a pointer to")
    spec.var("aval", Fn(Actor, ValOrNone), const_fn(Actor, NO_VAL), "the value an actor works on")
    spec.var("job", Job, Job.NONE, "user space's cancel_and_free job")
    spec.var("runner", Fn(CPU, RPhase), const_fn(CPU, RPhase.IDLE), "irq_work runner per CPU")
    spec.var("robj", Fn(CPU, ObjOrNone), const_fn(CPU, NO_OBJ), "the ctx whose irq_work runs")
    spec.var("seen", Fn(CPU, Int(0, 3)), const_fn(CPU, 0), "irq_work_single's flags snapshot")
    spec.var("cb", CB, CB.IDLE, "the target task's bpf_task_work_callback")
    spec.var("cbobj", ObjOrNone, NO_OBJ)
    spec.var("task_alive", Bool, True, "the target accepts task_work (has not exited)")
    spec.var("prog_refcnt", Int(-1, max_prog), 2, "fd + attach link at start")
    spec.var("prog_phase", Phase, Phase.LIVE)
    spec.var("prog_fd", Bool, True)
    spec.var("prog_attached", Bool, True)
    no_readers = rcu.nobody(ncpu, 1)
    spec.var("prog_gp", Fn(P1, Fn(CPU, Fn(Col, Bool))), (no_readers,), "prog runs its grace period waits for")
    if gp:
        spec.var(
            "ctx_gp", Fn(Obj, Fn(Reader, Fn(Col, Bool))), const_fn(Obj, rcu.nobody(2 * ncpu, 1)),
            "readers each ctx's grace period waits for",
        )  # fmt: skip
    spec.var("map_usercnt", Int(0, 1), 1, "the map fd")
    spec.var("map_refcnt", Int(-1, 2), 2, "the map fd + the prog's used_maps")
    spec.var("map_freed", Bool, False)
    spec.var("reopened", Bool, False)
    if cfg["runs"]:
        spec.var("nruns", Fn(CPU, Int(0, cfg["runs"])), const_fn(CPU, 0), "prog runs started per CPU")
    # ghosts
    spec.var("swept", Bool, False, "the map_release_uref sweep has finished and usercnt is still 0")
    spec.var("armed", Fn(Obj, Bool), const_fn(Obj, False), "a round returned 0 and has not ended")
    spec.var("cb_ran", Bool, False, "callback_fn was entered at least once")
    spec.var("cb_on_freed", Bool, False, "callback_fn entered on a FREED ctx")
    spec.var("cb_after_sweep", Bool, False, "callback_fn entered after the uref sweep finished")
    spec.var("late", Fn(Obj, Bool), const_fn(Obj, False), "the ctx's last round was armed at usercnt 0")
    spec.var("late_cb", Bool, False, "callback_fn entered for a round armed at usercnt 0")
    spec.var("freed_twice", Bool, False, "xchg(state, FREED) found FREED (two cancel_and_free of a ctx)")
    spec.var("left_freed", Bool, False, "a ctx's state left FREED")
    spec.var("reinit_pending", Bool, False, "init_irq_work on an irq_work that is PENDING (queued)")
    spec.var("uaf_ctx", Bool, False, "freed ctx memory was used by helpers.c code")
    spec.var("uaf_irq_core", Bool, False, "irq_work core touched a freed ctx's irq_work")
    spec.var("uaf_prog", Bool, False, "callback_fn entered while its prog was freed")
    spec.var("uaf_map", Bool, False, "freed map memory was accessed")
    spec.var("null_task", Bool, False, "task_work_cancel/add with ctx->task == NULL")
    spec.var("underflow", Bool, False, "a ctx refcount went below zero")

    # ------------------------------------------------------------------ helpers
    def cur(s: Any, upd: dict, name: str) -> Any:
        return upd.get(name, getattr(s, name))

    def orv(s: Any, upd: dict, name: str, cond: Any) -> None:
        upd[name] = or_(cur(s, upd, name), cond)

    def touch(s: Any, o: int, upd: dict, cond: Any = True) -> dict:
        """helpers.c code reads or writes ctx o: a use-after-free if its memory is freed."""
        orv(s, upd, "uaf_ctx", and_(cond, cur(s, upd, "mem")[o] == Mem.FREED))
        return upd

    def readers_now(s: Any, upd: dict) -> tuple:
        """The readers in flight after this step (the actor making it included, if it goes on)."""
        pcs, runners = cur(s, upd, "pc"), cur(s, upd, "runner")

        def is_reader(r: int, _k: int) -> Any:
            return pcs[r] != PC.IDLE if r < ncpu else runners[r - ncpu] != RPhase.IDLE

        return rcu.snapshot(is_reader, 2 * ncpu, 1)

    def prog_put(s: Any, upd: dict, cond: Any = True, hardirq: bool = False) -> dict:
        """bpf_prog_put (if cond): at zero the free path starts (deferred from hard-irq)."""
        refs, phases, issues = prog.put_ref(
            (cur(s, upd, "prog_refcnt"),), (cur(s, upd, "prog_phase"),), 0, Phase, hardirq
        )
        upd["prog_refcnt"] = ite(cond, refs[0], cur(s, upd, "prog_refcnt"))
        upd["prog_phase"] = ite(cond, phases[0], cur(s, upd, "prog_phase"))
        if not hardirq:
            now = rcu.snapshot(lambda c, _k: s.pc[c] != PC.IDLE, ncpu, 1)
            upd["prog_gp"] = rcu.start_gp(cur(s, upd, "prog_gp"), 0, now, and_(cond, issues))
        return upd

    def reset(s: Any, o: int, upd: dict, cond: Any = True, hardirq: bool = False) -> dict:
        """bpf_task_work_ctx_reset (if cond): put ctx->prog, release ctx->task, both NULL."""
        hp = cur(s, upd, "has_prog")
        prog_put(s, upd, and_(cond, hp[o]), hardirq)
        upd["has_prog"] = put(hp, o, and_(hp[o], not_(cond)))
        ht = cur(s, upd, "has_task")
        upd["has_task"] = put(ht, o, and_(ht[o], not_(cond)))
        return upd

    def ctx_put(s: Any, o: int, upd: dict, hardirq: bool = False) -> dict:
        """bpf_task_work_ctx_put: refcount_dec_and_test; at 0 ctx_reset, then bpf_mem_free (or, with
        free_after_gp, the grace period starts)."""
        touch(s, o, upd)
        r = cur(s, upd, "ref")
        new = r[o] - 1
        last = new == 0
        upd["ref"] = put(r, o, new)
        orv(s, upd, "underflow", new < 0)
        reset(s, o, upd, last, hardirq)
        mem = cur(s, upd, "mem")
        upd["mem"] = put(mem, o, ite(last, Mem.GP_WAIT if gp else Mem.FREED, mem[o]))
        if gp:
            upd["ctx_gp"] = rcu.start_gp(cur(s, upd, "ctx_gp"), o, readers_now(s, upd), last)
        return upd

    def set_state(s: Any, o: int, upd: dict, new: Any) -> dict:
        st = cur(s, upd, "st")
        orv(s, upd, "left_freed", and_(st[o] == St.FREED, new != St.FREED))
        upd["st"] = put(st, o, new)
        return upd

    def end_round(s: Any, o: int, upd: dict) -> dict:
        upd["armed"] = put(cur(s, upd, "armed"), o, False)
        return upd

    def queue_iw(s: Any, o: int, c: int, fn: int, upd: dict) -> dict:
        """init_irq_work(&ctx->irq_work, fn) then irq_work_queue on CPU c: after init the claim always
        succeeds and queues it here."""
        orv(s, upd, "reinit_pending", irq_work.is_pending(cur(s, upd, "iw_flags")[o]))
        flags, _ = irq_work.claim(0)
        upd["iw_flags"] = put(cur(s, upd, "iw_flags"), o, flags)
        upd["iw_cpu"] = put(cur(s, upd, "iw_cpu"), o, c)
        upd["iw_fn"] = put(cur(s, upd, "iw_fn"), o, fn)
        return upd

    def set_actor(s: Any, a: int, upd: dict, pc: int, obj: Any = NO_OBJ, val: Any = NO_VAL) -> dict:
        upd["pc"] = put(cur(s, upd, "pc"), a, pc)
        upd["aobj"] = put(cur(s, upd, "aobj"), a, obj)
        upd["aval"] = put(cur(s, upd, "aval"), a, val)
        return upd

    def sched_fail(s: Any, c: int, upd: dict) -> dict:
        """bpf_task_work_schedule returns an error: release the task, put the prog ref; the run ends."""
        prog_put(s, upd)
        return set_actor(s, c, upd, PC.IDLE)

    def fill(s: Any, c: int, o: int, upd: dict) -> dict:
        """The fields (ctx->prog takes the scheduler's prog ref), init_task_work, init_irq_work and
        irq_work_queue on this CPU; bpf_task_work_schedule returns 0 and the run ends."""
        touch(s, o, upd)
        if cfg["round_prog_ref"]:
            upd["has_prog"] = put(cur(s, upd, "has_prog"), o, True)
        else:
            prog_put(s, upd)
        upd["has_task"] = put(cur(s, upd, "has_task"), o, True)
        queue_iw(s, o, c, IwFn.IRQ, upd)
        upd["armed"] = put(cur(s, upd, "armed"), o, True)
        upd["late"] = put(cur(s, upd, "late"), o, s.map_usercnt == 0)
        return set_actor(s, c, upd, PC.RETURN if prompt else PC.IDLE)

    def handlers_quiet(s: Any) -> Any:
        """stalls = none on a non-RT kernel: no hard-irq handler is between two of its steps, so a slow
        activity (a return to user space, a system call, a task exit) may start elsewhere."""
        return all_(s.runner[c] == RPhase.IDLE for c in CPU) if no_stall else True

    def user_idle(s: Any) -> Any:
        return and_(s.pc[USER] == PC.IDLE, s.job == Job.NONE)

    # ------------------------------------------------------------------ the scheduler (a prog run)
    @spec.action(c=CPU, v=Val)
    def SchedRun(s, c, v):
        """A run of the attached prog starts on CPU c (an RCU reader) and calls
        bpf_task_work_schedule on value v's bpf_task_work."""
        g = and_(s.pc[c] == PC.IDLE, s.prog_attached)
        upd = set_actor(s, c, {}, PC.RUN, NO_OBJ, v)
        if cfg["runs"]:
            g = and_(g, s.nruns[c] < cfg["runs"])
            upd["nruns"] = put(s.nruns, c, s.nruns[c] + 1)
        return when(g, **upd)

    if prompt:

        @spec.action(c=CPU)
        def SchedReturn(s, c):
            """irq_work = self_ipi: bpf_task_work_irq ran on c (the self-IPI interrupted the helper
            before it returned); now the helper returns and the prog run ends."""
            raised = any_(s.iw_cpu[o] == c for o in Obj)
            g = and_(s.pc[c] == PC.RETURN, not_(raised), s.runner[c] == RPhase.IDLE)
            return when(g, **set_actor(s, c, {}, PC.IDLE))

    @spec.action(c=CPU)
    def SchedIncProg(s, c):
        """bpf_prog_inc_not_zero(aux->prog) and bpf_task_acquire; failure returns -EBADF before any
        claim (W13)."""
        ok, new = prog.inc_not_zero(s.prog_refcnt)
        nxt = PC.CHECK if check == "before" else PC.FETCH
        g = s.pc[c] == PC.RUN
        return [
            when(and_(g, ok), prog_refcnt=new, pc=put(s.pc, c, nxt)),
            when(and_(g, not_(ok)), **set_actor(s, c, {}, PC.IDLE)),
        ]

    if check == "before":

        @spec.action(c=CPU)
        def SchedCheckBefore(s, c):
            """if (!atomic64_read(&map->usercnt)) return -EBUSY (before fetch and claim: v4-v6's first
            check alone)."""
            g = s.pc[c] == PC.CHECK
            return [
                when(and_(g, s.map_usercnt == 0), **sched_fail(s, c, {})),
                when(and_(g, s.map_usercnt != 0), pc=put(s.pc, c, PC.FETCH)),
            ]

    @spec.action(c=CPU)
    def SchedFetch(s, c):
        """bpf_task_work_fetch_ctx: READ_ONCE(twk->ctx); if NULL, bpf_mem_alloc a zeroed ctx
        (refcnt 1: the map's ref, STANDBY) and cmpxchg(&twk->ctx, NULL, ctx) (T0)."""
        g = s.pc[c] == PC.FETCH
        if disabled(g):
            return []
        nxt = PC.REF if not round_ref else PC.HELD
        steps = []
        for v in over(s.aval[c], Val):
            gv = and_(g, s.aval[c] == v)
            base = {}
            orv(s, base, "uaf_map", s.map_freed)
            cur_obj = s.slot[v]
            steps.append(when(and_(gv, cur_obj != NO_OBJ), **set_actor(s, c, dict(base), nxt, cur_obj, v)))
            empty = and_(gv, cur_obj == NO_OBJ)
            objs = [v * npool + k for k in range(npool)]
            for i, o in enumerate(objs):
                first_unused = and_(s.mem[o] == Mem.UNUSED, *[s.mem[p] != Mem.UNUSED for p in objs[:i]])
                upd = dict(base)
                upd["slot"] = put(s.slot, v, o)
                upd["mem"] = put(s.mem, o, Mem.LIVE)
                upd["st"] = put(s.st, o, St.STANDBY)
                upd["ref"] = put(s.ref, o, 1)
                set_actor(s, c, upd, nxt, o, v)
                steps.append(when(and_(empty, first_unused), **upd))
            exhausted = all_(s.mem[o] != Mem.UNUSED for o in objs)
            steps.append(when(and_(empty, exhausted), **sched_fail(s, c, dict(base))))  # -ENOMEM
        return steps

    if round_ref:

        @spec.action(c=CPU)
        def SchedTryget(s, c):
            """bpf_task_work_ctx_tryget: refcount_inc_not_zero (window A: the pointer was read without
            a ref); failure returns -EBUSY."""
            g = s.pc[c] == PC.HELD
            if disabled(g):
                return []
            steps = []
            for o in over(s.aobj[c], Obj):
                go = and_(g, s.aobj[c] == o)
                ok = touch(s, o, {"ref": put(s.ref, o, s.ref[o] + 1), "pc": put(s.pc, c, PC.REF)})
                steps.append(when(and_(go, s.ref[o] > 0), **ok))
                steps.append(when(and_(go, s.ref[o] <= 0), **sched_fail(s, c, touch(s, o, {}))))
            return steps

    @spec.action(c=CPU)
    def SchedClaim(s, c):
        """T1: cmpxchg(&ctx->state, STANDBY, PENDING). Failure: ctx_put (own ref), -EBUSY."""
        g = s.pc[c] == PC.REF
        if disabled(g):
            return []
        steps = []
        for o in over(s.aobj[c], Obj):
            go = and_(g, s.aobj[c] == o)
            ok = touch(s, o, {})
            set_state(s, o, ok, St.PENDING)
            if check == "after":
                ok["pc"] = put(s.pc, c, PC.CLAIMED)
            else:
                fill(s, c, o, ok)
            steps.append(when(and_(go, s.st[o] == St.STANDBY), **ok))
            fail = touch(s, o, {})
            if round_ref:
                ctx_put(s, o, fail)
            steps.append(when(and_(go, s.st[o] != St.STANDBY), **sched_fail(s, c, fail)))
        return steps

    if check == "after":

        @spec.action(c=CPU)
        def SchedCheckAfter(s, c):
            """if (!atomic64_read(&map->usercnt)): put own ref, 'transfer map's ref into
            cancel_and_free()' (T1u); otherwise the fields and irq_work_queue, return 0."""
            g = s.pc[c] == PC.CLAIMED
            if disabled(g):
                return []
            steps = []
            for o in over(s.aobj[c], Obj):
                go = and_(g, s.aobj[c] == o)
                steps.append(when(and_(go, s.map_usercnt != 0), **fill(s, c, o, {})))
                t1u = {}
                if round_ref:
                    ctx_put(s, o, t1u)
                set_actor(s, c, t1u, PC.XSLOT, NO_OBJ, s.aval[c])
                steps.append(when(and_(go, s.map_usercnt == 0), **t1u))
            return steps

    # ------------------------------------------------------------------ cancel_and_free (X)
    def x_cpu(a: int) -> int:
        return a if a < ncpu else 0  # user space queues cancel_scheduled on cpu0

    def x_done(s: Any, a: int, upd: dict) -> list[tuple[Any, dict]]:
        """cancel_and_free returned, as (condition, updates) cases: a scheduler's run ends (-EBUSY:
        put its prog ref); user space goes on with its job (the next value of a sweep, the refcnt put
        after map_release_uref, the map memory after map_free)."""
        if a < ncpu:
            return [(True, sched_fail(s, a, upd))]
        cases = []
        for v in over(s.aval[a], Val):
            at = s.aval[a] == v
            last = v == nval - 1
            cases.append((and_(at, s.job == Job.UPDATE), set_actor(s, a, dict(upd, job=Job.NONE), PC.IDLE)))
            sweep = or_(s.job == Job.RELEASE, s.job == Job.MAPFREE)
            if not last:
                cases.append((and_(at, sweep), set_actor(s, a, dict(upd), PC.XSLOT, NO_OBJ, v + 1)))
                continue
            rel = and_(at, s.job == Job.RELEASE)
            new = s.map_refcnt - 1
            done = dict(upd, map_refcnt=new, swept=True)
            cases.append(
                (and_(rel, new == 0), set_actor(s, a, dict(done, job=Job.MAPFREE), PC.XSLOT, NO_OBJ, 0))
            )
            cases.append((and_(rel, new != 0), set_actor(s, a, dict(done, job=Job.NONE), PC.IDLE)))
            freed = dict(upd, map_freed=True, job=Job.NONE)
            cases.append((and_(at, s.job == Job.MAPFREE), set_actor(s, a, freed, PC.IDLE)))
        return cases

    @spec.action(a=Actor)
    def XSlot(s, a):
        """ctx = xchg(&twk->ctx, NULL); if (!ctx) return (idempotent per slot). Without slot_xchg:
        READ_ONCE here, WRITE_ONCE(NULL) in XClear."""
        g = s.pc[a] == PC.XSLOT
        if disabled(g):
            return []
        steps = []
        for v in over(s.aval[a], Val):
            gv = and_(g, s.aval[a] == v)
            o = s.slot[v]
            base = {}
            orv(s, base, "uaf_map", s.map_freed)
            for gx, u in x_done(s, a, dict(base)):
                steps.append(when(and_(gv, o == NO_OBJ, gx), **u))
            got = dict(base)
            if cfg["slot_xchg"]:
                got["slot"] = put(s.slot, v, NO_OBJ)
                set_actor(s, a, got, PC.XSTATE, o, v)
            else:
                set_actor(s, a, got, PC.XCLEAR, o, v)
            steps.append(when(and_(gv, o != NO_OBJ), **got))
        return steps

    if not cfg["slot_xchg"]:

        @spec.action(a=Actor)
        def XClear(s, a):
            """WRITE_ONCE(twk->ctx, NULL)."""
            g = s.pc[a] == PC.XCLEAR
            if disabled(g):
                return []
            return [
                when(and_(g, s.aval[a] == v), slot=put(s.slot, v, NO_OBJ), pc=put(s.pc, a, PC.XSTATE))
                for v in over(s.aval[a], Val)
            ]

    @spec.action(a=Actor)
    def XState(s, a):
        """state = xchg(&ctx->state, FREED); if it was SCHEDULED: init_irq_work(cancel_scheduled) and
        irq_work_queue ('run in irq_work to avoid locks in NMI'), which owns the map's ref now."""
        g = s.pc[a] == PC.XSTATE
        if disabled(g):
            return []
        steps = []
        for o in over(s.aobj[a], Obj):
            go = and_(g, s.aobj[a] == o)
            base = touch(s, o, {})
            set_state(s, o, base, St.FREED)
            orv(s, base, "freed_twice", s.st[o] == St.FREED)
            sched = s.st[o] == St.SCHEDULED
            if cfg["cancel_scheduled"]:
                cs = queue_iw(s, o, x_cpu(a), IwFn.CANCEL, dict(base))
                for gx, u in x_done(s, a, cs):
                    steps.append(when(and_(go, sched, gx), **u))
                steps.append(when(and_(go, not_(sched)), **base, pc=put(s.pc, a, PC.XPUT)))
            else:
                steps.append(when(go, **base, pc=put(s.pc, a, PC.XPUT)))
        return steps

    @spec.action(a=Actor)
    def XPut(s, a):
        """bpf_task_work_ctx_put(ctx): the map's ref."""
        g = s.pc[a] == PC.XPUT
        if disabled(g):
            return []
        steps = []
        for o in over(s.aobj[a], Obj):
            for gx, u in x_done(s, a, ctx_put(s, o, {})):
                steps.append(when(and_(g, s.aobj[a] == o, gx), **u))
        return steps

    # ------------------------------------------------------------------ the irq_work runner
    @spec.action(c=CPU, o=Obj)
    def IrqRun(s, c, o):
        """irq_work_single: clear PENDING (seen := flags), then the func's first step:
        bpf_task_work_irq's T2 cmpxchg(PENDING, SCHEDULING) (not PENDING: ctx_put, return), or
        cancel_scheduled's task_work_cancel(ctx->task, &ctx->work)."""
        g = and_(s.iw_cpu[o] == c, s.runner[c] == RPhase.IDLE)
        if disabled(g):
            return []
        cleared = irq_work.run_start(s.iw_flags[o])
        base = dict(
            iw_cpu=put(s.iw_cpu, o, NO_CPU),
            iw_flags=put(s.iw_flags, o, cleared),
            seen=put(s.seen, c, cleared),
            robj=put(s.robj, c, o),
            uaf_irq_core=or_(s.uaf_irq_core, s.mem[o] == Mem.FREED),
        )
        touch(s, o, base)
        steps = []
        is_irq = s.iw_fn[o] == IwFn.IRQ
        pending = s.st[o] == St.PENDING
        ok = set_state(s, o, dict(base), St.SCHEDULING)
        ok["runner"] = put(s.runner, c, RPhase.ADD)
        steps.append(when(and_(g, is_irq, pending), **ok))
        if cfg["irq_freed_check"]:
            fail = dict(base, runner=put(s.runner, c, RPhase.TAIL))
            if round_ref:
                ctx_put(s, o, fail, hardirq=True)
            end_round(s, o, fail)
            steps.append(when(and_(g, is_irq, not_(pending)), **fail))
        else:
            go_on = dict(base, runner=put(s.runner, c, RPhase.ADD))
            steps.append(when(and_(g, is_irq, not_(pending)), **go_on))
        # cancel_scheduled: bpf_task_work_cancel (task_work_cancel reads ctx->task), then two puts on
        # success (the callback's ref, then the map's), one otherwise
        cs = dict(base)
        orv(s, cs, "null_task", not_(s.has_task[o]))
        queued = s.tw[o] == Tw.QUEUED
        won = dict(cs, tw=put(s.tw, o, Tw.NONE))
        end_round(s, o, won)
        won["runner"] = put(s.runner, c, RPhase.CS_PUT2 if round_ref else RPhase.CS_PUT)
        steps.append(when(and_(g, not_(is_irq), queued), **won))
        lost = dict(cs, runner=put(s.runner, c, RPhase.CS_PUT))
        steps.append(when(and_(g, not_(is_irq), not_(queued)), **lost))
        return steps

    @spec.action(c=CPU)
    def IrqAdd(s, c):
        """task_work_add(ctx->task, &ctx->work, mode); on error (-ESRCH, the task is exiting):
        ctx_reset, (void)cmpxchg(SCHEDULING, STANDBY), then ctx_put."""
        g = s.runner[c] == RPhase.ADD
        if disabled(g):
            return []
        steps = []
        for o in over(s.robj[c], Obj):
            go = and_(g, s.robj[c] == o)
            base = touch(s, o, {})
            orv(s, base, "null_task", not_(s.has_task[o]))
            ok = dict(base, tw=put(s.tw, o, Tw.QUEUED), runner=put(s.runner, c, RPhase.ADDED))
            steps.append(when(and_(go, task_work.add_succeeds(s.task_alive)), **ok))
            fail = reset(s, o, dict(base), hardirq=True)
            set_state(s, o, fail, ite(s.st[o] == St.SCHEDULING, St.STANDBY, s.st[o]))
            end_round(s, o, fail)
            fail["runner"] = put(s.runner, c, RPhase.PUT if round_ref else RPhase.TAIL)
            steps.append(when(and_(go, not_(task_work.add_succeeds(s.task_alive))), **fail))
        return steps

    @spec.action(c=CPU)
    def IrqT4(s, c):
        """state = cmpxchg(SCHEDULING, SCHEDULED) (window B: no ref held, 'we rely on RCU
        protection'); if it was FREED: bpf_task_work_cancel."""
        g = s.runner[c] == RPhase.ADDED
        if disabled(g):
            return []
        steps = []
        for o in over(s.robj[c], Obj):
            go = and_(g, s.robj[c] == o)
            base = touch(s, o, {})
            was = s.st[o]
            set_state(s, o, base, ite(was == St.SCHEDULING, St.SCHEDULED, was))
            nxt = RPhase.CANCEL if cfg["irq_post_add_cancel"] else RPhase.TAIL
            steps.append(when(and_(go, was == St.FREED), **base, runner=put(s.runner, c, nxt)))
            steps.append(when(and_(go, was != St.FREED), **base, runner=put(s.runner, c, RPhase.TAIL)))
        return steps

    if cfg["irq_post_add_cancel"]:

        @spec.action(c=CPU)
        def IrqCancel(s, c):
            """bpf_task_work_cancel: task_work_cancel(ctx->task, &ctx->work); success puts the
            callback's ref on its behalf."""
            g = s.runner[c] == RPhase.CANCEL
            if disabled(g):
                return []
            steps = []
            for o in over(s.robj[c], Obj):
                go = and_(g, s.robj[c] == o)
                base = touch(s, o, {})
                orv(s, base, "null_task", not_(s.has_task[o]))
                queued = s.tw[o] == Tw.QUEUED
                won = dict(base, tw=put(s.tw, o, Tw.NONE))
                end_round(s, o, won)
                won["runner"] = put(s.runner, c, RPhase.PUT if round_ref else RPhase.TAIL)
                steps.append(when(and_(go, queued), **won))
                steps.append(when(and_(go, not_(queued)), **base, runner=put(s.runner, c, RPhase.TAIL)))
            return steps

    @spec.action(c=CPU)
    def IrqPut(s, c):
        """bpf_task_work_ctx_put from the irq_work (hard-irq: a last prog put is deferred)."""
        R = RPhase
        g = or_(s.runner[c] == R.PUT, s.runner[c] == R.CS_PUT2, s.runner[c] == R.CS_PUT)
        if disabled(g):
            return []
        steps = []
        for o in over(s.robj[c], Obj):
            go = and_(g, s.robj[c] == o)
            two = s.runner[c] == R.CS_PUT2
            both = ctx_put(
                s, o, ctx_put(s, o, {"runner": put(s.runner, c, R.TAIL)}, hardirq=True), hardirq=True
            )
            steps.append(when(and_(go, two), **both))
            last = ctx_put(s, o, {"runner": put(s.runner, c, R.TAIL)}, hardirq=True)
            steps.append(when(and_(go, not_(two)), **last))
        return steps

    @spec.action(c=CPU)
    def IrqDone(s, c):
        """irq_work_single after func: atomic_cmpxchg(&flags, seen, seen & ~BUSY) on the ctx's
        irq_work (and rcuwait_wake_up on RT)."""
        g = s.runner[c] == RPhase.TAIL
        if disabled(g):
            return []
        steps = []
        for o in over(s.robj[c], Obj):
            upd = dict(
                iw_flags=put(s.iw_flags, o, irq_work.run_end(s.iw_flags[o], s.seen[c])),
                runner=put(s.runner, c, RPhase.IDLE),
                robj=put(s.robj, c, NO_OBJ),
                seen=put(s.seen, c, 0),
                uaf_irq_core=or_(s.uaf_irq_core, s.mem[o] == Mem.FREED),
            )
            steps.append(when(and_(g, s.robj[c] == o), **upd))
        return steps

    # ------------------------------------------------------------------ the target task
    @spec.action()
    def TaskWorkTake(s):
        """The task returns to user space (or enters exit_task_work): task_work_run takes the whole
        list with one xchg; task_work_cancel of these works now fails."""
        any_q = any_(s.tw[o] == Tw.QUEUED for o in Obj)
        g = and_(any_q, s.cb == CB.IDLE, all_(s.tw[o] != Tw.DETACHED for o in Obj), handlers_quiet(s))
        new = tuple(ite(s.tw[o] == Tw.QUEUED, Tw.DETACHED, s.tw[o]) for o in Obj)
        return when(g, tw=new)

    @spec.action(o=Obj)
    def CbStart(s, o):
        """bpf_task_work_callback: T5 cmpxchg(SCHEDULING, RUNNING), else T6 cmpxchg(SCHEDULED,
        RUNNING); on success callback_fn(map, key, value) starts; on FREED: ctx_put, return."""
        g = and_(s.tw[o] == Tw.DETACHED, s.cb == CB.IDLE)
        if disabled(g):
            return []
        base = touch(s, o, {"tw": put(s.tw, o, Tw.NONE), "cbobj": o})
        end_round(s, o, base)
        ok = or_(s.st[o] == St.SCHEDULING, s.st[o] == St.SCHEDULED)

        def enter(upd: dict) -> dict:
            orv(s, upd, "uaf_prog", s.prog_phase == Phase.FREED)
            orv(s, upd, "uaf_map", s.map_freed)
            upd["cb_ran"] = True
            orv(s, upd, "cb_on_freed", s.st[o] == St.FREED)
            orv(s, upd, "cb_after_sweep", s.swept)
            orv(s, upd, "late_cb", s.late[o])
            upd["cb"] = CB.RUN
            return upd

        run = enter(set_state(s, o, dict(base), St.RUNNING))
        steps = [when(and_(g, ok), **run)]
        if cfg["cb_freed_check"]:
            skip = dict(base, cb=CB.PUT) if round_ref else dict(base, cb=CB.IDLE, cbobj=NO_OBJ)
            steps.append(when(and_(g, not_(ok)), **skip))
        else:
            steps.append(when(and_(g, not_(ok)), **enter(dict(base))))
        return steps

    @spec.action()
    def CbEnd(s):
        """callback_fn returns; ctx_reset; (void)cmpxchg(RUNNING, STANDBY) (fails harmlessly on FREED)."""
        g = s.cb == CB.RUN
        if disabled(g):
            return []
        steps = []
        for o in over(s.cbobj, Obj):
            upd = touch(s, o, {})
            orv(s, upd, "uaf_map", s.map_freed)
            reset(s, o, upd)
            set_state(s, o, upd, ite(s.st[o] == St.RUNNING, St.STANDBY, s.st[o]))
            if round_ref:
                upd["cb"] = CB.PUT
            else:
                upd["cb"], upd["cbobj"] = CB.IDLE, NO_OBJ
            steps.append(when(and_(g, s.cbobj == o), **upd))
        return steps

    if round_ref:

        @spec.action()
        def CbPut(s):
            """bpf_task_work_ctx_put: the callback's ref."""
            g = s.cb == CB.PUT
            if disabled(g):
                return []
            return [
                when(and_(g, s.cbobj == o), **ctx_put(s, o, {"cb": CB.IDLE, "cbobj": NO_OBJ}))
                for o in over(s.cbobj, Obj)
            ]

    if cfg["task_exits"]:

        @spec.action()
        def TaskExit(s):
            """do_exit: exit_task_work has run every queued work; task_work_add now fails (-ESRCH)."""
            idle = and_(s.cb == CB.IDLE, all_(s.tw[o] == Tw.NONE for o in Obj))
            return when(and_(s.task_alive, idle, handlers_quiet(s)), task_alive=False)

    # ------------------------------------------------------------------ user space and free paths
    if cfg["user_updates"]:

        @spec.action(v=Val)
        def UserUpdate(s, v):
            """bpf_map_update_elem / delete on value v: bpf_obj_free_fields -> cancel_and_free."""
            g = and_(user_idle(s), s.map_usercnt == 1, handlers_quiet(s))
            return when(g, job=Job.UPDATE, **set_actor(s, USER, {}, PC.XSLOT, NO_OBJ, v))

    if cfg["user_closes"]:

        @spec.action()
        def MapFdClose(s):
            """bpf_map_put_with_uref: usercnt 1 -> 0 runs map_release_uref (a cancel_and_free sweep of
            every value), then the refcnt put (XSlot/x_done)."""
            g = and_(user_idle(s), s.map_usercnt == 1, handlers_quiet(s))
            return when(g, map_usercnt=0, job=Job.RELEASE, **set_actor(s, USER, {}, PC.XSLOT, NO_OBJ, 0))

        @spec.action()
        def ProgDetach(s):
            """The link is released: bpf_prog_put."""
            return when(and_(s.prog_attached, handlers_quiet(s)), **prog_put(s, {"prog_attached": False}))

        @spec.action()
        def ProgFdClose(s):
            return when(and_(s.prog_fd, handlers_quiet(s)), **prog_put(s, {"prog_fd": False}))

    if cfg["reopen"]:

        @spec.action()
        def MapGetFdById(s):
            """BPF_MAP_GET_FD_BY_ID: __bpf_map_inc_not_zero(map, true) raises usercnt again."""
            g = and_(user_idle(s), s.map_usercnt == 0, s.map_refcnt > 0, not_(s.reopened), handlers_quiet(s))
            return when(g, map_usercnt=1, map_refcnt=s.map_refcnt + 1, reopened=True, swept=False)

    @spec.action()
    def ProgPutDeferred(s):
        """The workqueue runs bpf_prog_put_deferred (the last put was in hard-irq): call_rcu now."""
        upd = {"prog_phase": Phase.RCU_WAIT}
        now = rcu.snapshot(lambda c, _k: s.pc[c] != PC.IDLE, ncpu, 1)
        upd["prog_gp"] = rcu.start_gp(s.prog_gp, 0, now)
        return when(s.prog_phase == Phase.PUT_DEFERRED, **upd)

    @spec.action()
    def ProgFree(s):
        """The grace period ends: bpf_prog_free_deferred puts the used maps and frees the prog; at the
        map's refcnt 0, map_free sweeps every value (cancel_and_free) in the user-space actor."""
        g = and_(s.prog_phase == Phase.RCU_WAIT, rcu.gp_over(s.prog_gp[0]))
        new = s.map_refcnt - 1
        upd = dict(prog_phase=Phase.FREED, map_refcnt=new)
        starts = and_(new == 0, user_idle(s))
        free = set_actor(s, USER, dict(upd, job=Job.MAPFREE), PC.XSLOT, NO_OBJ, 0)
        return [when(and_(g, starts), **free), when(and_(g, not_(starts)), **upd)]

    if gp:

        @spec.action(o=Obj)
        def CtxGpEnd(s, o):
            """The ctx's grace period ends: bpf_mem_free."""
            g = and_(s.mem[o] == Mem.GP_WAIT, rcu.gp_over(s.ctx_gp[o]))
            return when(g, mem=put(s.mem, o, Mem.FREED))

    @spec.action()
    def Quiescent(s):
        """Nothing runs or is pending: the system may idle (a stuttering step, not a deadlock)."""
        idle = [s.pc[a] == PC.IDLE for a in Actor] + [s.runner[c] == RPhase.IDLE for c in CPU]
        idle += [s.iw_cpu[o] == NO_CPU for o in Obj] + [s.tw[o] == Tw.NONE for o in Obj]
        idle += [s.cb == CB.IDLE, s.job == Job.NONE]
        idle += [or_(s.prog_phase == Phase.LIVE, s.prog_phase == Phase.FREED)]
        idle += [s.mem[o] != Mem.GP_WAIT for o in Obj]
        return when(or_(all_(idle), m.broken(s)))

    snapshots = ["prog_gp"] + (["ctx_gp"] if gp else [])
    readers = [(r, 0) for r in range(2 * ncpu)]

    def idle_after(t: Any, r: int, _k: int) -> Any:
        return t.pc[r] == PC.IDLE if r < ncpu else t.runner[r - ncpu] == RPhase.IDLE

    for a in spec.actions:
        if a.name != "Quiescent":
            a.fn = halt_when(a.fn, m.broken)
        a.fn = rcu.end_finished_readers(a.fn, ("pc", "runner"), readers, idle_after, snapshots)

    props.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec
