"""bpf_task_work as merged (Linux, Sept 2025; kernel/bpf/helpers.c), with its safeguards as switches.

Sources: ``docs/second-reading/bpf_task_work.md`` (the "reading"; V8 = mainline commit 38aa7003e369,
"bpf: task work scheduling kfuncs") and ``shared/domain/brief.md`` §6-§8. Where they disagree this
model follows the reading (brief §8 is v4-v6 in two places: the free path and the number of usercnt
checks; see the reading §0.1 and the ``free_after_gp`` and ``usercnt_check`` switches below).

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
context, so !RT has a subset of these interleavings), one file each:
- ``scheduler.py``: a scheduler per CPU (a prog run calling ``bpf_task_work_schedule``), ``pc[c]``;
- ``cancel.py``: ``cancel_and_free`` (X), run in a scheduler (T1u) or in the user actor;
- ``irq.py``: the irq_work runner per CPU (``irq_work_single`` + ``bpf_task_work_irq`` or
  ``bpf_task_work_cancel_scheduled``), ``runner[c]``;
- ``task.py``: the target task (``task_work_run``, ``bpf_task_work_callback``, its exit);
- ``user.py``: user space (one actor, ``pc[user]``: updates/deletes a value, closes the map fd,
  detaches and closes the prog; the map_free sweep runs in the same actor when the map's refcnt
  reaches 0) and the free paths of the prog and (``free_after_gp``) the ctx.
``model.py`` holds the vocabulary they share (``Model``): the ctx's refcount, state word and irq_work,
the prog's put, the actors' program counters. ``make_spec`` below declares the state and registers
each part's actions.

Abstractions, each with why it loses no kernel behaviour: ``ABSTRACTIONS`` below.
"""

from __future__ import annotations

from typing import Any

from spec.bpf_task_work import cancel, irq, scheduler, task, user
from spec.bpf_task_work.model import Model, lane
from spec.config import model_constants
from spec.kernel import kconfig, prog, rcu, sources
from spec.lang import (
    Bool,
    Enum,
    Fn,
    Int,
    Set,
    Spec,
    SpecError,
    Step,
    all_,
    bind,
    cites,
    const_fn,
    halt_when,
    or_,
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
    # bpf_task_work_fetch_ctx's allocation may fail (-ENOMEM) at every call, as bpf_mem_alloc /
    # kmalloc_nolock may; False: only when the value's pool of ctx objects is used up
    "alloc_fails": (bool, True),
    # BPF_MAP_GET_FD_BY_ID after the sweep: usercnt 0 -> 1 again (reading W11, K-mapref); at most once.
    "reopen": (bool, False),
    # Prog runs (schedules) per CPU: 0 = unbounded. A bound only removes behaviours; it is used where
    # pool = 2 would otherwise exceed the state budget.
    "runs": (int, 0, 0, 3),
    **kconfig.PARAMS,  # the kernel configuration (spec/kernel/kconfig.py)
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
    "slot at the cmpxchg gives. Allocation failure (bpf_mem_alloc returns NULL: -ENOMEM) may happen at "
    "every fetch that finds the slot empty (alloc_fails), and always once the value's pool of ctx objects "
    "is used up.",
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

__all__ = ["ABSTRACTIONS", "PARAMS", "STATES", "Model", "kconfig_relevant", "lane", "make_spec"]


@cites(
    "",
    "(model)",
    "none: a stuttering step of the model",
    "model-only: enabled when nothing runs or is pending, so that an idle system is not reported as a "
    "deadlock; it changes no variable",
)
def Quiescent(m: Model, s: Any) -> Step:
    """Nothing runs or is pending: the system may idle (a stuttering step, not a deadlock)."""
    PC, RPhase, Tw, Phase = m.PC, m.RPhase, m.Tw, m.Phase
    idle = [s.pc[a] == PC.IDLE for a in m.Actor] + [s.runner[c] == RPhase.IDLE for c in m.CPU]
    idle += [s.iw_cpu[o] == m.NO_CPU for o in m.Obj] + [s.tw[o] == Tw.NONE for o in m.Obj]
    idle += [s.cb == m.CB.IDLE, s.job == m.Job.NONE]
    idle += [or_(s.prog_phase == Phase.LIVE, s.prog_phase == Phase.FREED)]
    idle += [s.mem[o] != m.Mem.GP_WAIT for o in m.Obj]
    return when(or_(all_(idle), m.broken(s)))


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS for names, defaults and ranges)."""
    from invariants.bpf_task_work import properties, witnesses

    cfg = model_constants("bpf_task_work", PARAMS, constants)
    if cfg["usercnt_check"] not in CHECKS:
        raise SpecError(f"bpf_task_work: usercnt_check must be one of {CHECKS}")
    if cfg["target"] not in ("returns", "may_block"):
        raise SpecError("bpf_task_work: target must be returns or may_block")

    ncpu, nval, npool = cfg["cpus"], cfg["values"], cfg["pool"]
    kc = kconfig.KernelConfig(cfg)
    gp = cfg["free_after_gp"]

    spec = Spec("bpf_task_work")
    spec.constants = dict(cfg)
    spec.lemmas = "invariants.bpf_task_work.lemmas"
    spec.sources = sources.pick("V8", "K-irqwork", "K-tw", "K-rcu-doc", "K-syscall", "K-core", "K-arraymap")
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
    NO_OBJ, NO_CPU, NO_VAL, USER = len(Obj), ncpu, nval, ncpu
    m = Model(
        spec, cfg, ncpu, nval, npool, CPU, Val, Obj, Actor, PC, Mem, St, RPhase, Tw, CB, IwFn, Job,
        Phase, NO_OBJ, NO_CPU, NO_VAL, USER, kc=kc, CpuOrNone=CpuOrNone, ValOrNone=ValOrNone,
        ObjOrNone=ObjOrNone,
    )  # fmt: skip
    declare_state(spec, m)
    register_actions(spec, m)

    snapshots = ["prog_gp"] + (["ctx_gp"] if gp else [])
    readers = [(r, 0) for r in range(2 * ncpu)]

    def idle_after(t: Any, r: int, _k: int) -> Any:
        return t.pc[r] == PC.IDLE if r < ncpu else t.runner[r - ncpu] == RPhase.IDLE

    for a in spec.actions:
        if a.name != "Quiescent":
            a.fn = halt_when(a.fn, m.broken)
        a.fn = rcu.end_finished_readers(a.fn, ("pc", "runner"), readers, idle_after, snapshots)

    properties.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec


def declare_state(spec: Spec, m: Model) -> None:
    """The model's variables, in their order in a state (every engine and export relies on it)."""
    cfg, ncpu, gp = m.cfg, m.ncpu, m.gp
    CPU, Val, Obj, Actor, PC, Mem, St = m.CPU, m.Val, m.Obj, m.Actor, m.PC, m.Mem, m.St
    RPhase, Tw, CB, IwFn, Job, Phase = m.RPhase, m.Tw, m.CB, m.IwFn, m.Job, m.Phase
    CpuOrNone, ValOrNone, ObjOrNone = m.CpuOrNone, m.ValOrNone, m.ObjOrNone
    NO_OBJ, NO_CPU, NO_VAL = m.NO_OBJ, m.NO_CPU, m.NO_VAL
    P1 = Enum("P", ["prog"])
    Col = Enum("Col", ["in"])
    Reader = Enum("Reader", [f"sched{c}" for c in range(ncpu)] + [f"irq{c}" for c in range(ncpu)])
    # fd + link + one per scheduler + one per ctx round
    max_prog = 2 + ncpu + len(Obj)
    # map's ref (twice when the slot is not xchg'd) + round + a tryget per scheduler
    max_ref = 4 + 3 * ncpu
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
    spec.var("prog_gp", Fn(P1, Fn(CPU, Set(Col))), (no_readers,), "prog runs its grace period waits for")
    if gp:
        spec.var(
            "ctx_gp", Fn(Obj, Fn(Reader, Set(Col))), const_fn(Obj, rcu.nobody(2 * ncpu, 1)),
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


def register_actions(spec: Spec, m: Model) -> None:
    """Each actor's actions, in the order of the search's successors (traces depend on it: keep it)."""
    cfg, CPU, Val, Obj, Actor = m.cfg, m.CPU, m.Val, m.Obj, m.Actor

    def act(fn: Any, **params: Any) -> None:
        spec.action(**params)(bind(fn, m))

    # the scheduler (scheduler.py)
    act(scheduler.SchedRun, c=CPU, v=Val)
    if m.prompt:
        act(scheduler.SchedReturn, c=CPU)
    act(scheduler.SchedIncProg, c=CPU)
    if m.check == "before":
        act(scheduler.SchedCheckBefore, c=CPU)
    act(scheduler.SchedFetch, c=CPU)
    if m.round_ref:
        act(scheduler.SchedTryget, c=CPU)
    act(scheduler.SchedClaim, c=CPU)
    if m.check == "after":
        act(scheduler.SchedCheckAfter, c=CPU)
    # cancel_and_free (cancel.py)
    act(cancel.XSlot, a=Actor)
    if not cfg["slot_xchg"]:
        act(cancel.XClear, a=Actor)
    act(cancel.XState, a=Actor)
    act(cancel.XPut, a=Actor)
    # the irq_work runner (irq.py)
    act(irq.IrqRun, c=CPU, o=Obj)
    act(irq.IrqAdd, c=CPU)
    act(irq.IrqT4, c=CPU)
    if cfg["irq_post_add_cancel"]:
        act(irq.IrqCancel, c=CPU)
    act(irq.IrqPut, c=CPU)
    act(irq.IrqDone, c=CPU)
    # the target task (task.py)
    act(task.TaskWorkTake)
    act(task.CbStart, o=Obj)
    act(task.CbEnd)
    if m.round_ref:
        act(task.CbPut)
    if cfg["task_exits"]:
        act(task.TaskExit)
    # user space and the free paths (user.py)
    if cfg["user_updates"]:
        act(user.UserUpdate, v=Val)
    if cfg["user_closes"]:
        act(user.MapFdClose)
        act(user.ProgDetach)
        act(user.ProgFdClose)
    if cfg["reopen"]:
        act(user.MapGetFdById)
    act(user.ProgPutDeferred)
    act(user.ProgFree)
    if m.gp:
        act(user.CtxGpEnd, o=Obj)
    act(Quiescent)
