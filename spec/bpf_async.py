"""bpf_timer and bpf_wq as merged, and the 2026 bpf_async_cb rework, as one state machine with switches.

Sources: brief §4 (bpf_timer), §5 (bpf_wq and the rework), §6-§7 (prog and map lifetimes) and the
second readings ``docs/second-reading/bpf_timer.md`` (V21 = 2021 original, V24 = v6.12 with the 2023-24
fixes) and ``docs/second-reading/bpf_wq_and_async_cb.md`` (W = bpf_wq 2024, R = the 2026 rework with
its fixes). Built from the kernel blocks of ``spec/kernel``: ``rcu`` (kfree_rcu, the prog's call_rcu,
the rework's call_rcu_tasks_trace), ``hrtimer``, ``workqueue`` (the wq's work and delete_work), ``prog``.

``kind`` picks the async object: a timer (``struct bpf_hrtimer``: its callback runs in HRTIMER_SOFTIRQ
on some CPU) or a wq (``struct bpf_work``: its callback runs in a kworker, sleepable, under
``rcu_read_lock_trace``). ``design`` picks the synchronisation: ``locked`` (V24/W: every helper under
the map value's ``bpf_spin_lock`` with irqs off) or ``refcnt`` (R: ``cmpxchg`` init, ``xchg``
cancel_and_free, a refcount on the object, ``refcount_inc_not_zero`` before a start, the free after a
tasks-trace grace period and a busy re-check). Each safeguard is a switch (PARAMS) whose default is
the merged code, so that the matrix shows which property each one protects.

Actors:
- prog runs (TASK level on each CPU; each is an RCU reader for its whole run) call one helper on one
  map value: init, set_callback, start, cancel (timer only), or delete the element (map_delete_elem
  -> cancel_and_free). Lock sections are one step each (see ABSTRACTIONS).
- a timer callback (SOFTIRQ level on the CPU whose softirq expires it): expiry reads callback_fn (a
  NULL one returns at once), the body runs the prog's code and makes the ``callback`` workload's one
  helper call, then returns. ``hrtimer_running[c]`` is the object whose body runs on c.
- a wq callback (a kworker per object): reads callback_fn, enters rcu_read_lock_trace and runs the
  prog's code (two steps: the window between them is the second reading's CE-a2), makes the workload's
  helper call, returns.
- kworkers for deferred frees (the timer's delete_work of a6fcd19d7eac, the wq's delete_work), the
  prog's deferred put, RCU callbacks (kfree_rcu, the prog's free, the rework's tasks-trace free).
- user space: one sequential process that updates an element (cancel_and_free), closes the map fd
  (usercnt 0: map_release_uref sweeps every element, then the map reference is put), detaches the prog
  and closes its fd, in any order, each at most once (``user_closes``).

Objects: each map value may be initialised ``objs`` times; object ``o`` of value ``e`` is
``e * objs + k``. Its memory is UNUSED, LIVE (allocated), DETACHED (no longer in its slot, free not
yet issued), RCU_WAIT (kfree_rcu or the tasks-trace free issued), or FREED. A behaviour halts at the
first use-after-free (undefined behaviour), as in ``spec/delayed_work.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec.kernel import hrtimer, irq_work, kconfig, llist, prog, rcu, workqueue
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

OPS = ["init", "set_callback", "start", "cancel", "delete"]
CALLBACKS = ["none", "rearm", "cancel_other", "delete_other", "cancel_self", "delete_self"]

# name -> (type, default, min, max) for ints; (str, default, choices); (bool, default)
PARAMS: dict[str, tuple] = {
    "kind": (str, "timer", ["timer", "wq"]),
    "design": (str, "locked", ["locked", "refcnt"]),
    "cpus": (int, 2, 1, 4),  # BFS explores 2; the induction proofs run at 4
    "slots": (int, 1, 1, 3),
    "objs": (int, 1, 1, 2),
    "callback": (str, "none", CALLBACKS),
    "user_closes": (bool, True),
    "user_updates": (bool, False),  # user space may also update (overwrite) an element once
    # the helpers a prog run may call: all of them, or all but map_delete_elem (fewer states)
    "prog_ops": (str, "all", ["all", "no_delete"]),
    "sleepable": (bool, False),  # the prog's free path: call_rcu, or call_rcu_tasks_trace if sleepable
    # --- safeguards of the locked design (V24 / W), each default = merged
    # __bpf_async_init's usercnt check: after publishing async->cb and smp_mb (fd381ce60a2d, 2023),
    # before publishing (V21), or none.
    "init_usercnt_check": (str, "after_publish", ["after_publish", "before_publish", "none"]),
    "set_callback_usercnt_check": (bool, True),  # -EPERM without user refs (dropped by the rework)
    "self_cancel_check": (bool, True),  # bpf_timer_cancel: hrtimer_running == t -> -EDEADLK
    "cancelling_counter": (bool, True),  # d4523831f07a: callback<->callback cancel -> -EDEADLK
    # cancel_and_free inside a timer callback: punt to a kworker (a6fcd19d7eac, V24), skip the
    # hrtimer_cancel only for the own timer (V21), or always hrtimer_cancel inline.
    "free_in_callback": (str, "defer", ["defer", "skip_own", "wait"]),
    "free_rcu": (bool, True),  # kfree_rcu (0281b919e175) or kfree
    "uref_sweep": (bool, True),  # map_release_uref cancels and frees every async object
    "wq_delete": (str, "deferred", ["deferred", "inline"]),  # W: delete_work, or cancel_work_sync inline
    # --- safeguards of the refcnt design (R)
    "start_refcnt_check": (bool, True),  # refcount_inc_not_zero before start (-ENOENT at 0)
    # the tasks-trace free's re-check before freeing: R1 (!cancel_work && work_busy), R0 (!cancel_work),
    # "running" (retry while an instance runs: not in the kernel, a candidate fix), or none
    "tt_retry": (str, "busy", ["busy", "not_cancelled", "running", "none"]),
    "early_prog_put": (bool, True),  # R1 (5000a097): cancel_and_free puts the prog at once
    # R's "any context": progs also run in hard-irq, where start and cancel_and_free are deferred
    # through the object's irq_work and its llist of commands (a cmd holds a reference)
    "irq_callers": (bool, False),
    **kconfig.PARAMS,  # preemption, irq_work delivery, tasks-trace semantics, stalls (spec/kernel/kconfig.py)
}


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The kernel-configuration values that give this cell different behaviours. Preemption: a wq
    callback's kworker between its dequeue and rcu_read_lock_trace, and a sleepable prog's task-level
    run, are implicit classic readers only on a non-preemptible kernel; with hard-irq callers the
    rework's irq_work (not IRQ_WORK_HARD_IRQ) runs in a thread on PREEMPT_RT. The tasks-trace
    semantics matter for a sleepable prog's free and for the rework's object free; irq_work delivery
    for the rework's irq_work. No step waits on a slow activity inside a hard-irq handler: stalls play
    no part."""
    cfg = {k: v[1] for k, v in PARAMS.items()} | dict(constants)
    out: dict[str, tuple[str, ...]] = {}
    pre: tuple[str, ...] = ()
    if cfg["kind"] == "wq" or cfg["sleepable"]:
        pre = ("none", "preempt_rcu")
    if cfg["irq_callers"]:
        pre = kconfig.PREEMPTION if pre else ("preempt_rcu", "preempt_rt")
        out["irq_work"] = kconfig.IRQ_WORK
    if pre:
        out["preemption"] = pre
    if cfg["sleepable"] or cfg["design"] == "refcnt":
        out["tasks_trace"] = kconfig.TASKS_TRACE
    return out


def lane(action: str, args: dict[str, str]) -> str | None:
    """The execution context of a step, for the report's sequence diagrams (None: the generic rule).
    A helper call runs in its prog run's level; timer callbacks in softirq on their CPU; wq callbacks
    and the deferred free in kworkers."""
    if action == "ProgCall":
        return f"{args['c']} {'IRQ' if args['call'].startswith('hardirq_') else 'TASK'}"
    if action.startswith("Timer"):
        return f"{args['c']} SOFTIRQ"
    if action.startswith("Work"):
        return f"kworker ({args['o']})"
    if action.startswith("DeleteWork"):
        return "kworker (free)"
    return None


ABSTRACTIONS = [
    "Every section under the map value's bpf_spin_lock (irqs off) is one step: nothing else touches "
    "the locked fields meanwhile, and its only read of unlocked shared state (usercnt) is one read. "
    "Re-entry into a held lock (a tracing prog in the hrtimer path, docs/second-reading/bpf_timer.md "
    "W-18) is therefore not modelled.",
    "A prog run makes one helper call; a run that calls no helper is only an RCU reader, which only "
    "delays grace periods. Runs are RCU readers of the classic flavour (a non-sleepable prog); with "
    "sleepable = true the prog's own free waits a tasks-trace grace period, and its runs count for it.",
    "A grace period waits exactly for the readers of its flavour in flight when it starts. A tasks-trace "
    "grace period also waits for classic readers with tasks_trace = implies_rcu (every shipped kernel: "
    "rcu_trace_implies_rcu_gp(), docs/second-reading/round4.md Q3), not with tasks_trace = contract; a "
    "classic one never waits for rcu_read_lock_trace sections (the wq callback). A sleepable prog's run "
    "and a wq callback's kworker before rcu_read_lock_trace are classic readers only with preemption = "
    "none (no schedule point: round4.md Q5(c)); inside its section a wq callback may sleep, so it is "
    "never one.",
    "preemption = preempt_rt: the rework's irq_work (IRQ_WORK_INIT, not HARD) runs in the preemptible "
    "irq_work/%u kthread: a hard-irq prog run may interrupt it, task and softirq levels interleave with "
    "it, its puts are made with irqs on, and it is no RCU reader (run_irq_workd took no rcu_read_lock "
    "before 91840be8f710, 2026). Timer callbacks stay in softirq (bpf_timer is refused on RT since "
    "e25ddfb388c8).",
    "hrtimer expiry happens on any CPU (a non-pinned timer may be migrated); a timer's next expiry never "
    "overlaps its running callback (a running timer stays on its base).",
    "bpf_timer_cancel inside a callback is three steps, as the kernel orders it: atomic_inc of the "
    "target's cancelling counter (the value's lock held, CANCEL_INC), then the read of the caller's own "
    "counter (which sees the caller's increment when it cancels its own timer) with drop_prog_refcnt and "
    "the unlock, then hrtimer_cancel with the atomic_dec (or, on -EDEADLK, the atomic_dec alone after the "
    "unlock, CANCEL_DEC). So both of two callbacks cancelling each other can fail with -EDEADLK. The wait's "
    "end and the atomic_dec are one step: another context's read of the counter in between sees what it "
    "saw during the wait, and its outcome does not depend on the timer state the cancel changes.",
    "The map value's bpf_spin_lock is held across steps only where another CPU can observe a section "
    "half-done (V21's init between its usercnt read and the publish; bpf_timer_cancel between its "
    "atomic_inc and its read): other lockers of that value wait meanwhile, and the holder's CPU takes no "
    "softirq. Every other locked section is one step. Softirq (timer callbacks) never steps on a CPU while "
    "its hard-irq level is busy.",
    "cancel_work_sync is two steps: it removes a pending instance, then waits for the running one and "
    "removes any instance queued meanwhile (the kernel refuses such a queue while it cancels; the end "
    "state is the same).",
    "Objects are not reused after their free (a new init takes the next object of the value): reuse "
    "would only turn a use-after-free into a use of the wrong object.",
    "Memory is freed the moment its free runs; a later free only shrinks the windows.",
    "The rework's hard-irq callers (irq_callers) run on cpu0 only, with task-context callers on every "
    "CPU: the deferral races with a caller on another CPU stay, at a size the matrix can explore (two "
    "CPUs with hard-irq callers each give 36M states). Hard-irq runs make the deferred calls (start, a "
    "map delete); init and set_callback there are the same atomic operations as in task context.",
    "The rework's schedule_op merges llist_add with irq_work_queue: a worker that takes the command "
    "between them leaves only a spurious, empty run of the irq_work. A failed command allocation "
    "(-ENOMEM) is modelled as a full two-command queue. The async_cb_running -EDEADLK guard is never "
    "exercised: no tracing prog runs inside the irq_work here.",
    "User space's cancel_and_free in the rework (xchg, prog put, cancel, put of the map's reference) is "
    "one step: a start that read the pointer earlier can still take its reference before or after it, "
    "and both orders are explored; a prog's cancel_and_free is two steps.",
    "The map is an array: user space overwrites an element (bpf_obj_free_fields -> cancel_and_free) "
    "rather than deleting it. Hash element reuse, inner maps, LRU eviction, RT timers, NMI callers, and "
    "hard-irq callers of the locked design (the verifier refused timers in kprobe/tracepoint progs; "
    "fentry in hard-irq was allowed: bpf_timer.md W-16/W-19) are not modelled.",
    "bpf_timer_cancel in the rework is V24's (the -EDEADLK checks, the drop, hrtimer_cancel) without the "
    "lock, so its prog put is not made with irqs off [our reading: the rework's cancel was not read].",
]

TASK, SOFTIRQ, IRQ = 0, 1, 2
CMD_NONE, CMD_START, CMD_CANCEL = 0, 1, 2
QUEUE = 2  # at most two commands wait on an object; a third allocation fails (-ENOMEM)


@dataclass
class Model:
    spec: Spec
    kind: str
    design: str
    cpus: int
    slots: int
    objs: int
    callback: str
    cfg: dict
    CPU: Enum
    Slot: Enum
    Obj: Enum
    Mem: Enum
    PC: Enum
    CbPhase: Enum
    WPhase: Enum
    DelWork: Enum
    Phase: Enum
    NO_OBJ: int
    NO_CPU: int
    kc: kconfig.KernelConfig | None = None  # the kernel configuration (spec/kernel/kconfig.py)

    @property
    def nobj(self) -> int:
        return self.slots * self.objs

    def slot_of(self, o: int) -> int:
        return o // self.objs

    def user_gone(self, s: Any) -> Any:
        return and_(s.map_usercnt == 0, not_(s.prog_fd), not_(s.prog_attached))

    def broken(self, s: Any) -> Any:
        return or_(s.uaf_prog, s.uaf_map, s.uaf_async)

    def freed(self, s: Any, o: int) -> Any:
        return s.mem[o] == self.Mem.FREED

    def armed(self, s: Any, o: int) -> Any:
        """The object's timer is enqueued or its work is pending."""
        if self.kind == "timer":
            return s.exec_state[o] == hrtimer.ENQUEUED
        return workqueue.is_pending(s.exec_state[o])

    @property
    def touching_pcs(self) -> list[int]:
        """The pcs at which a helper call in progress will touch its object (``arg``) again."""
        PC = self.PC
        return [
            PC.CANCEL_WAIT,
            PC.CAF_WAIT,
            PC.INIT_CHECK,
            PC.START_SCHED,
            PC.START_PUT,
            PC.SETCB,
            PC.CAF_CANCEL,
            PC.CANCEL_INC,
            PC.CANCEL_DEC,
        ]

    def callback_running(self, s: Any, o: int) -> Any:
        """The object's callback (or the hrtimer/workqueue core around it) is executing."""
        if self.kind == "timer":
            return s.running[o] != self.NO_CPU
        return workqueue.is_running(s.exec_state[o])


def make_spec(**constants: Any) -> Spec:
    from invariants.bpf_async import properties as props
    from invariants.bpf_async import witnesses

    cfg = {k: v[1] for k, v in PARAMS.items()}
    unknown = sorted(set(constants) - set(cfg))
    if unknown:
        raise SpecError(f"bpf_async: unknown constant(s) {', '.join(unknown)}")
    cfg.update(constants)
    for k, v in cfg.items():
        choices = PARAMS[k][2] if PARAMS[k][0] is str else None
        if choices and v not in choices:
            raise SpecError(f"bpf_async: {k} = {v!r} is not one of {', '.join(choices)}")
    ops = [o for o in OPS if cfg["prog_ops"] == "all" or o != "delete"]
    kind, design = cfg["kind"], cfg["design"]
    timer, locked = kind == "timer", design == "locked"
    if not timer:
        ops = [o for o in ops if o != "cancel"]  # bpf_wq exposes no cancel to progs
    cb_kind = cfg["callback"]
    if cb_kind in ("cancel_other", "cancel_self") and not timer:
        raise SpecError("bpf_async: a wq callback has no cancel helper (bpf_wq exposes none)")
    if cfg["init_usercnt_check"] == "before_publish" and not timer:
        raise SpecError(
            "bpf_async: init_usercnt_check = before_publish is bpf_timer's 2021 code "
            "(bpf_wq was merged after fd381ce60a2d)"
        )
    if cfg["irq_callers"] and locked:
        raise SpecError("bpf_async: irq_callers needs design = refcnt (the locked design has no deferral)")
    if cb_kind.endswith("_other") and cfg["slots"] < 2:
        raise SpecError(f"bpf_async: callback = {cb_kind} needs slots = 2")

    spec = Spec(f"bpf_async[{kind},{design}]")
    spec.constants = dict(cfg)
    spec.lemmas = "invariants.bpf_async.lemmas"
    ncpu, nslot, nper = cfg["cpus"], cfg["slots"], cfg["objs"]
    nobj = nslot * nper
    CPU = Enum("CPU", [f"cpu{i}" for i in range(ncpu)])
    Slot = Enum("Slot", [f"v{i}" for i in range(nslot)])
    Obj = Enum("Obj", [f"t{e}.{k}" for e in range(nslot) for k in range(nper)])
    ObjOrNone = Enum("ObjOrNone", [*Obj.names, "none"])
    CpuOrNone = Enum("CpuOrNone", [*CPU.names, "none"])
    Level = Enum("Level", ["TASK", "SOFTIRQ", "IRQ"])
    Mem = Enum("Mem", ["UNUSED", "LIVE", "DETACHED", "RCU_WAIT", "FREED", "TT_DEFER"])
    Cmd = Enum("Cmd", ["none", "START", "CANCEL"])
    Q = Enum("Q", QUEUE)
    irqc = cfg["irq_callers"]
    pcs = [
        "IDLE",
        "RUN",
        "CANCEL_WAIT",
        "CAF_WAIT",
        "INIT_CHECK",
        "START_SCHED",
        "START_PUT",
        "SETCB",
        "CAF_CANCEL",
        "CANCEL_INC",
        "CANCEL_DEC",
    ]
    PC = Enum("PC", pcs)
    CbPhase = Enum("CbPhase", ["IDLE", "DEQUEUED", "BODY", "IN_OP"])
    WPhase = Enum("WPhase", ["IDLE", "DEQUEUED", "FN_READ", "IN_OP"])
    DelWork = Enum("DelWork", ["NONE", "QUEUED", "CANCELLED"])
    Phase = Enum("Phase", prog.PHASES)
    UPc = Enum("UPc", ["IDLE", "CAF_WAIT", "SWEEP", "SWEEP_WAIT"])
    NO_OBJ, NO_CPU = nobj, ncpu
    m = Model(
        spec,
        kind,
        design,
        ncpu,
        nslot,
        nper,
        cb_kind,
        cfg,
        CPU,
        Slot,
        Obj,
        Mem,
        PC,
        CbPhase,
        WPhase,
        DelWork,
        Phase,
        NO_OBJ,
        NO_CPU,
    )
    kc = m.kc = kconfig.KernelConfig(cfg)
    levels = ([TASK, SOFTIRQ] if timer else [TASK]) + ([IRQ] if irqc else [])
    no_readers = rcu.nobody(ncpu, len(Level))
    max_ref = 3 + nobj

    # ------------------------------------------------------------------ variables
    spec.var("slot", Fn(Slot, ObjOrNone), const_fn(Slot, NO_OBJ), "async->cb of each map value")
    spec.var("inits", Fn(Slot, Int(0, nper)), const_fn(Slot, 0), "objects allocated for each value so far")
    spec.var("mem", Fn(Obj, Mem), const_fn(Obj, Mem.UNUSED), "each async object's memory")
    spec.var(
        "has_prog", Fn(Obj, Bool), const_fn(Obj, False), "cb->prog set (one prog reference) and callback_fn"
    )
    exec_states = hrtimer.STATES if timer else workqueue.STATES
    spec.var("exec_state", Fn(Obj, Enum("Exec", exec_states)), const_fn(Obj, 0), "hrtimer or work state")
    if timer:
        spec.var("running", Fn(Obj, CpuOrNone), const_fn(Obj, NO_CPU), "base->running: CPU in its callback")
        spec.var("cancelling", Fn(Obj, Int(0, ncpu)), const_fn(Obj, 0), "t->cancelling")
        spec.var("cb_obj", Fn(CPU, ObjOrNone), const_fn(CPU, NO_OBJ), "hrtimer_running: the callback on c")
        spec.var("cb_phase", Fn(CPU, CbPhase), const_fn(CPU, CbPhase.IDLE))
    else:
        spec.var("wphase", Fn(Obj, WPhase), const_fn(Obj, WPhase.IDLE), "the kworker running the work")
    spec.var("delwork", Fn(Obj, DelWork), const_fn(Obj, DelWork.NONE), "a deferred free's kworker")
    if not locked:
        # the map's reference, one per context inside a start, one per queued command
        max_cb_ref = 1 + len(levels) * ncpu + QUEUE
        spec.var("refcnt", Fn(Obj, Int(0, max_cb_ref)), const_fn(Obj, 0), "cb->refcnt (1: the map's)")
    if irqc:
        no_cmds = const_fn(Q, CMD_NONE)
        spec.var("iw_flags", Fn(Obj, Int(0, 3)), const_fn(Obj, 0), "cb->worker's irq_work flags")
        spec.var("iw_cpu", Fn(Obj, CpuOrNone), const_fn(Obj, NO_CPU), "the raised list it is on")
        spec.var("iw_rcu", Fn(Obj, Bool), const_fn(Obj, False), "func = worker_for_call_rcu (re-initialised)")
        spec.var("cmds", Fn(Obj, Fn(Q, Cmd)), const_fn(Obj, no_cmds), "cb->async_cmds (llist, newest first)")
        spec.var("wk_obj", Fn(CPU, ObjOrNone), const_fn(CPU, NO_OBJ), "async_cb_running: the worker on c")
        spec.var("wk_chain", Fn(CPU, Fn(Q, Cmd)), const_fn(CPU, no_cmds), "its commands, oldest first")
        spec.var("seen", Fn(CPU, Int(0, 3)), const_fn(CPU, 0), "irq_work_single's snapshot of the flags")
    spec.var(
        "obj_readers",
        Fn(Obj, Fn(CPU, Set(Level))),
        const_fn(Obj, no_readers),
        "the readers the object's pending RCU free waits for",
    )
    if not timer:
        spec.var(
            "kw_readers",
            Fn(Obj, Fn(Obj, Bool)),
            const_fn(Obj, const_fn(Obj, False)),
            "wq callbacks (kworkers) the object's pending free waits for",
        )
    # per context (CPU x level): the helper call in progress
    spec.var("pc", Fn(CPU, Fn(Level, PC)), const_fn(CPU, const_fn(Level, PC.IDLE)))
    spec.var("arg", Fn(CPU, Fn(Level, ObjOrNone)), const_fn(CPU, const_fn(Level, NO_OBJ)), "its object")
    spec.var("inc", Fn(CPU, Fn(Level, Bool)), const_fn(CPU, const_fn(Level, False)), "cancelling incremented")
    # wq callbacks' own helper calls (kworker context per object)
    if not timer:
        spec.var("wpc", Fn(Obj, PC), const_fn(Obj, PC.IDLE))
        spec.var("warg", Fn(Obj, ObjOrNone), const_fn(Obj, NO_OBJ))
    # the prog and the map
    spec.var("prog_refcnt", Int(-1, max_ref), 2, "fd + attach link + one per object holding it")
    spec.var("prog_fd", Bool, True)
    spec.var("prog_attached", Bool, True)
    spec.var("prog_phase", Phase, Phase.LIVE)
    spec.var(
        "prog_readers",
        Fn(Enum("Prog", ["prog"]), Fn(CPU, Set(Level))),
        (no_readers,),
        "the readers the prog's grace period waits for",
    )
    if not timer:
        spec.var("prog_kw_readers", Fn(Obj, Bool), const_fn(Obj, False), "wq callbacks it waits for")
    spec.var("map_usercnt", Int(0, 1), 1)
    spec.var("map_refcnt", Int(-1, 2), 2, "the map fd + the prog's used_maps")
    # user space
    spec.var("upc", UPc, UPc.IDLE)
    spec.var("uarg", ObjOrNone, NO_OBJ)
    spec.var("usweep", Int(0, nslot), 0, "next value the map_release_uref sweep visits")
    spec.var("updated", Bool, not cfg["user_updates"], "user space made its one element update")
    # ghosts
    spec.var("uaf_prog", Bool, False, "a callback ran the prog's code after the prog was freed")
    spec.var("uaf_map", Bool, False, "a callback touched a map value after the map was freed")
    spec.var("uaf_async", Bool, False, "a freed async object was read or written")
    spec.var("ran", Fn(Obj, Bool), const_fn(Obj, False), "the callback ran since it was last armed")

    # ------------------------------------------------------------------ vocabulary
    def softirq_idle(s, c):
        return s.cb_phase[c] == CbPhase.IDLE if timer else True

    def worker_in_hardirq(s, c):
        """The rework's irq_work runs on c in hard-irq (IRQ_WORK_INIT: a thread on PREEMPT_RT)."""
        if not irqc or kc.rt:
            return False
        return s.wk_obj[c] != NO_OBJ

    def raised_on(s, c):
        """With self-IPI delivery an irq_work raised on c is taken as soon as c has irqs on: c's lower
        levels do not step and c reports no quiescent state until it runs."""
        if not irqc or kc.rt or not kc.self_ipi:
            return False
        return any_(s.iw_cpu[o] == c for o in Obj)

    def irq_busy(s, c):
        """Hard-irq on c is inside a prog run or the irq_work, or an irq_work is about to be taken
        (neither nests in the other here)."""
        if not irqc:
            return False
        return or_(s.pc[c][IRQ] != PC.IDLE, worker_in_hardirq(s, c), raised_on(s, c))

    # The map value's bpf_spin_lock (locked design, taken with irqs off). A locked section is one step,
    # except where another CPU can observe it half-done: V21's init between its usercnt read and the
    # publish (INIT_CHECK: bpf_timer_cancel_and_free's lockless READ_ONCE(timer->timer) sees NULL), and
    # bpf_timer_cancel between its atomic_inc(&t->cancelling) and its read of cur_t->cancelling
    # (CANCEL_INC). A context at one of these pcs holds its value's lock: other lockers of that value
    # wait, and its CPU takes no softirq or hard-irq meanwhile.
    lock_pcs = (
        [PC.CANCEL_INC] + ([PC.INIT_CHECK] if cfg["init_usercnt_check"] == "before_publish" else [])
        if locked
        else []
    )

    def holds_value_lock(s, c, lv, e):
        """Context (c, lv) is inside a multi-step section under value e's lock."""
        arg = s.arg[c][lv]
        return and_(any_(s.pc[c][lv] == p for p in lock_pcs), any_(arg == e * nper + k for k in range(nper)))

    def lock_free(s, e):
        """Value e's lock can be taken: no context holds it across steps."""
        if not lock_pcs:
            return True
        return not_(any_(holds_value_lock(s, c, lv, e) for c in CPU for lv in levels))

    def irqs_off_at_task(s, c):
        """Task level on c holds a value's lock (irqs off): c's softirq and hard-irq wait."""
        if not lock_pcs:
            return False
        return any_(s.pc[c][TASK] == p for p in lock_pcs)

    def can_step(s, c, lv):
        """A level steps only while no higher level on its CPU is active (hard-irq interrupts softirq,
        softirq interrupts task), and a higher level only while the lower ones have irqs on."""
        checks = []
        if timer and lv == TASK:
            checks.append(softirq_idle(s, c))
        if lv < IRQ:
            checks.append(not_(irq_busy(s, c)))
        if lv > TASK:
            checks.append(not_(irqs_off_at_task(s, c)))
        return all_(checks)

    def hrtimer_running(s, c, lv):
        """this_cpu_read(hrtimer_running) as seen by context (c, lv): the callback on c, seen only by
        the callback itself (a task-level context runs only when c's softirq is idle)."""
        if not timer or lv != SOFTIRQ:
            return NO_OBJ
        return s.cb_obj[c]

    def level_active(s, c, lv):
        """Context (c, lv) is inside one activity: a prog run and its helper call (task, hard-irq), a
        timer callback (softirq), the irq_work in hard-irq or about to be taken there."""
        if lv == SOFTIRQ:
            return s.cb_phase[c] != CbPhase.IDLE if timer else False
        if lv == IRQ:
            return irq_busy(s, c)
        return s.pc[c][lv] != PC.IDLE

    def classic_reader(s, c, lv):
        """Inside a classic RCU read-side section (since v5.0 any region with preemption, softirqs or
        irqs disabled is one): a timer callback (bpf_timer_cb runs in softirq with BH disabled; it
        takes no rcu_read_lock of its own), hard-irq activity, a non-sleepable prog's run
        (rcu_read_lock). A sleepable prog's run (rcu_read_lock_trace, migrate_disable) is one only on
        a non-preemptible kernel."""
        if lv == TASK and cfg["sleepable"] and not kc.non_preemptible:
            return False
        return level_active(s, c, lv)

    def ctx_reader(s, c, lv, flavour):
        """Context (c, lv) is a reader a grace period of this flavour ("classic", "tasks_trace")
        waits for: a tasks-trace one waits for sleepable prog runs, and with implies_rcu (every
        shipped kernel) for the classic readers too."""
        classic = classic_reader(s, c, lv)
        if flavour == "classic":
            return classic
        trace = s.pc[c][lv] != PC.IDLE if (lv == TASK and cfg["sleepable"]) else False
        return or_(trace, classic) if kc.tt_implies_rcu else trace

    def readers_now(s, flavour):
        return rcu.snapshot(
            lambda c, lv: ctx_reader(s, c, lv, flavour) if lv in levels else False, ncpu, len(Level)
        )

    def kworker_readers(s, flavour):
        """The wq callbacks a grace period of this flavour started now waits for: inside their
        rcu_read_lock_trace section for a tasks-trace one; and on a non-preemptible kernel a kworker
        between its dequeue and rcu_read_lock_trace (no schedule point: an implicit classic reader,
        for a classic grace period or one a tasks-trace one implies). Inside the section a callback may
        sleep, so it is never counted as a classic reader."""
        return tuple(_kworker_reads(s.wphase[k], flavour, kc) for k in Obj)

    def touch_obj(upd, s, o, cond=True):
        upd["uaf_async"] = or_(upd.get("uaf_async", s.uaf_async), and_(cond, m.freed(s, o)))
        return upd

    def run_prog_code(upd, s):
        """The callback runs the prog's code and reads its map value."""
        upd["uaf_prog"] = or_(upd.get("uaf_prog", s.uaf_prog), s.prog_phase == Phase.FREED)
        upd["uaf_map"] = or_(upd.get("uaf_map", s.uaf_map), s.map_refcnt == 0)
        return upd

    def prog_put(s, upd, irqs_off):
        refs, phases, now = prog.put_ref(
            (upd.get("prog_refcnt", s.prog_refcnt),),
            (upd.get("prog_phase", s.prog_phase),),
            0,
            Phase,
            irqs_off,
        )
        upd["prog_refcnt"], upd["prog_phase"] = refs[0], phases[0]
        if not irqs_off:
            prog_call_rcu(s, upd, now)
        return upd

    prog_flavour = "tasks_trace" if cfg["sleepable"] else "classic"
    obj_flavour = "classic" if locked else "tasks_trace"  # kfree_rcu, or R's call_rcu_tasks_trace

    def prog_call_rcu(s, upd, cond):
        """bpf_prog_put_deferred's call_rcu (call_rcu_tasks_trace for a sleepable prog)."""
        now = readers_now(s, prog_flavour)
        upd["prog_readers"] = rcu.start_gp(upd.get("prog_readers", s.prog_readers), 0, now, cond)
        if not timer:
            upd["prog_kw_readers"] = ite(cond, kworker_readers(s, prog_flavour), s.prog_kw_readers)
        return upd

    def obj_call_rcu(s, o, upd, cond=True):
        """The object's grace period starts (kfree_rcu, or R's call_rcu_tasks_trace): its readers are
        fixed now."""
        readers = upd.get("obj_readers", s.obj_readers)
        upd["obj_readers"] = put(readers, o, ite(cond, readers_now(s, obj_flavour), readers[o]))
        if not timer:
            kws = upd.get("kw_readers", s.kw_readers)
            upd["kw_readers"] = put(kws, o, ite(cond, kworker_readers(s, obj_flavour), kws[o]))
        return upd

    def drop_prog(s, o, upd, irqs_off):
        """drop_prog_refcnt: if cb->prog: bpf_prog_put; prog = callback_fn = NULL."""
        held = s.has_prog[o]
        upd["has_prog"] = put(upd.get("has_prog", s.has_prog), o, False)
        put_upd = prog_put(s, dict(upd), irqs_off)
        for k in ("prog_refcnt", "prog_phase", "prog_readers", "prog_kw_readers"):
            if k in put_upd:
                upd[k] = ite(held, put_upd[k], upd.get(k, getattr(s, k)))
        return upd

    def set_ctx(s, c, lv, pc, o=NO_OBJ, inc=False):
        return dict(
            pc=put(s.pc, c, put(s.pc[c], lv, pc)),
            arg=put(s.arg, c, put(s.arg[c], lv, o)),
            inc=put(s.inc, c, put(s.inc[c], lv, inc)),
        )

    def kfree(s, o, upd):
        """Free the object: kfree_rcu (a classic grace period) or kfree at once."""
        mem = upd.get("mem", s.mem)
        if cfg["free_rcu"]:
            upd["mem"] = put(mem, o, Mem.RCU_WAIT)
            obj_call_rcu(s, o, upd)
        else:
            upd["mem"] = put(mem, o, Mem.FREED)
        return upd

    def new_obj(s, e):
        """The object the next init of value e allocates (``None`` past the bound)."""
        return [(s.inits[e] == k, e * nper + k) for k in range(nper)]

    # ------------------------------------------------------------------ helpers called by progs
    # Each returns the steps of one helper call made by context ``who`` on value ``e``. ``who`` is
    # ("ctx", c, lv) for a prog run or timer callback, or ("kw", o) for a wq callback's kworker.
    def arg_of(s, who):
        return s.arg[who[1]][who[2]] if who[0] == "ctx" else s.warg[who[1]]

    def ctx_pc(s, who):
        return s.pc[who[1]][who[2]] if who[0] == "ctx" else s.wpc[who[1]]

    def set_who(s, who, pc, o=NO_OBJ, inc=False):
        if who[0] == "ctx":
            return set_ctx(s, who[1], who[2], pc, o, inc)
        return dict(wpc=put(s.wpc, who[1], pc), warg=put(s.warg, who[1], o))

    def done(s, who, after):
        """The helper returned: the caller's next state (a timer callback returns after its call)."""
        upd = set_who(s, who, PC.IDLE)
        if after is not None:
            upd.update(after)
        return upd

    def init_steps(s, g, who, e, after):
        """bpf_timer_init / bpf_wq_init (__bpf_async_init). Locked design: under the value's lock,
        timer->timer read (-EBUSY if set), the object allocated and published, usercnt read (where the
        switch puts it). R: cmpxchg(&async->cb, NULL, cb) with refcnt 1, then smp_mb and the usercnt
        read as a second step (INIT_CHECK)."""
        cur = s.slot[e]
        g = and_(g, lock_free(s, e))
        steps = []
        for can, o in new_obj(s, e):
            ok = and_(g, cur == NO_OBJ, can)
            published = dict(
                slot=put(s.slot, e, o), mem=put(s.mem, o, Mem.LIVE), inits=put(s.inits, e, s.inits[e] + 1)
            )
            if locked:
                check = cfg["init_usercnt_check"]
                alive = s.map_usercnt > 0
                if check == "none":
                    steps.append(when(ok, **done(s, who, after), **published))
                elif check == "after_publish":
                    # fd381ce60a2d: publish, smp_mb, read usercnt, all under the lock; on 0 the timer is
                    # unpublished and kfree'd (-EPERM). A sweep's lockless read that sees the object in
                    # between then waits for the lock and finds the slot empty again: the section is
                    # one step for every observer.
                    steps.append(when(and_(ok, alive), **done(s, who, after), **published))
                    steps.append(when(and_(ok, not_(alive)), **done(s, who, after)))  # -EPERM, kfree
                else:
                    # V21: usercnt is read under the lock before the publish; the lock is held across
                    # both (INIT_CHECK holds it), but the sweep's lockless READ_ONCE(timer->timer) can
                    # pass in between and see NULL.
                    steps.append(when(and_(ok, alive), **set_who(s, who, PC.INIT_CHECK, o)))
                    steps.append(when(and_(ok, not_(alive)), **done(s, who, after)))  # -EPERM
            else:
                upd = set_who(s, who, PC.INIT_CHECK, o)
                upd.update(published, refcnt=put(s.refcnt, o, 1))
                steps.append(when(ok, **upd))
        steps.append(when(and_(g, cur != NO_OBJ), **done(s, who, after)))  # -EBUSY
        return steps

    def install_prog(s, g, who, o, after, perm=True):
        """set_callback on object o: bpf_prog_inc_not_zero unless o already holds the prog, then
        cb->prog and callback_fn set; -EPERM without ``perm``, -ENOENT if the count was 0."""
        ok = and_(perm, or_(s.has_prog[o], s.prog_refcnt > 0))
        upd = done(s, who, after)
        upd.update(has_prog=put(s.has_prog, o, True))
        upd["prog_refcnt"] = ite(s.has_prog[o], s.prog_refcnt, s.prog_refcnt + 1)
        touch_obj(upd, s, o)
        return [when(and_(g, ok), **upd), when(and_(g, not_(ok)), **done(s, who, after))]

    def set_callback_steps(s, g, who, e, after):
        cur = s.slot[e]
        g = and_(g, lock_free(s, e)) if locked else g
        steps = [when(and_(g, cur == NO_OBJ), **done(s, who, after))]  # -EINVAL
        perm = s.map_usercnt > 0 if (locked and cfg["set_callback_usercnt_check"]) else True
        for o in over(cur, Obj):
            gi = and_(g, cur == o)
            if locked:
                steps += install_prog(s, gi, who, o, after, perm)  # under the lock: one step
            else:
                steps.append(when(gi, **set_who(s, who, PC.SETCB, o)))  # READ_ONCE(async->cb)
        return steps

    def setcb_finish_steps(s, g, who, after):
        """R: bpf_async_update_prog_callback on the object read before (maybe detached by now)."""
        o_ = arg_of(s, who)
        steps = []
        for o in over(o_, Obj):
            steps += install_prog(s, and_(g, o_ == o), who, o, after)
        return steps

    def arm(st):
        return hrtimer.ENQUEUED if timer else workqueue.schedule(st)

    def start_steps(s, g, who, e, after):
        cur = s.slot[e]
        g = and_(g, lock_free(s, e)) if locked and timer else g  # bpf_wq_start takes no lock
        steps = [when(and_(g, cur == NO_OBJ), **done(s, who, after))]
        for o in over(cur, Obj):
            gi = and_(g, cur == o)
            steps.append(when(and_(gi, not_(s.has_prog[o])), **done(s, who, after)))  # -EINVAL
            ok = and_(gi, s.has_prog[o])
            if locked and timer:
                upd = done(s, who, after)
                upd.update(exec_state=put(s.exec_state, o, hrtimer.ENQUEUED), ran=put(s.ran, o, False))
                steps.append(when(ok, **upd))
            else:
                # W: lockless READ_ONCE, then schedule_work; R: READ_ONCE, then inc_not_zero + start
                steps.append(when(ok, **set_who(s, who, PC.START_SCHED, o)))
        return steps

    def start_sched_steps(s, g, who, after):
        o_ = arg_of(s, who)
        steps = []
        for o in over(o_, Obj):
            gi = and_(g, o_ == o)
            if locked:
                upd = done(s, who, after)
                upd.update(exec_state=put(s.exec_state, o, arm(s.exec_state[o])), ran=put(s.ran, o, False))
                touch_obj(upd, s, o)
                steps.append(when(gi, **upd))
            elif who[0] == "ctx" and who[2] == IRQ:
                # in hard-irq: inc_not_zero, then bpf_async_schedule_op(START): the ref goes with the cmd
                live = s.refcnt[o] > 0 if cfg["start_refcnt_check"] else True
                inc = dict(refcnt=put(s.refcnt, o, s.refcnt[o] + 1))
                for ok, upd in schedule_op(s, o, CMD_START, who[1], inc):
                    upd.update(done(s, who, after))
                    touch_obj(upd, s, o)
                    steps.append(when(and_(gi, live, ok), **upd))
                if cfg["start_refcnt_check"]:
                    steps.append(when(and_(gi, not_(live)), **done(s, who, after)))  # -ENOENT
            else:
                live = s.refcnt[o] > 0 if cfg["start_refcnt_check"] else True
                upd = set_who(s, who, PC.START_PUT, o)
                upd.update(
                    exec_state=put(s.exec_state, o, arm(s.exec_state[o])),
                    ran=put(s.ran, o, False),
                    refcnt=put(s.refcnt, o, s.refcnt[o] + 1),
                )
                touch_obj(upd, s, o)
                steps.append(when(and_(gi, live), **upd))
                if cfg["start_refcnt_check"]:
                    steps.append(when(and_(gi, not_(live)), **done(s, who, after)))  # -ENOENT
        return steps

    def refcount_put(s, o, upd, irqs_off=False, c=None):
        """bpf_async_refcount_put: at zero the object's free starts: call_rcu_tasks_trace, or with irqs
        disabled an irq_work (re-initialised to worker_for_call_rcu and queued on this CPU) that issues
        it."""
        cur = upd.get("refcnt", s.refcnt)[o]
        new = ite(cur > 0, cur - 1, 0)
        upd["refcnt"] = put(upd.get("refcnt", s.refcnt), o, new)
        zero = cur == 1
        if irqs_off:
            upd["mem"] = put(upd.get("mem", s.mem), o, ite(zero, Mem.TT_DEFER, upd.get("mem", s.mem)[o]))
            flags = upd.get("iw_flags", s.iw_flags)
            upd["iw_flags"] = put(flags, o, ite(zero, 3, flags[o]))  # IRQ_WORK_INIT, then the claim
            cpus = upd.get("iw_cpu", s.iw_cpu)
            upd["iw_cpu"] = put(cpus, o, ite(zero, c, cpus[o]))
            upd["iw_rcu"] = put(upd.get("iw_rcu", s.iw_rcu), o, ite(zero, True, s.iw_rcu[o]))
            return upd
        upd["mem"] = put(upd.get("mem", s.mem), o, ite(zero, Mem.RCU_WAIT, upd.get("mem", s.mem)[o]))
        return obj_call_rcu(s, o, upd, zero)

    def schedule_op(s, o, op, c, upd):
        """bpf_async_schedule_op from hard-irq on c: a cmd is allocated and llist_add'ed to the
        object's async_cmds; only the add that finds the list empty queues the irq_work (on c). Two
        cases: (allocated, updates) and (-ENOMEM: the reference is put, nothing queued)."""
        q = s.cmds[o]
        was_empty = q[0] == CMD_NONE
        flags, _ = irq_work.claim(s.iw_flags[o])
        added = dict(upd)
        added["cmds"] = put(s.cmds, o, llist.push_front(q, op))
        added["iw_flags"] = put(s.iw_flags, o, ite(was_empty, flags, s.iw_flags[o]))
        queued_on = irq_work.queue_cpu(s.iw_flags[o], s.iw_cpu[o], c)
        added["iw_cpu"] = put(s.iw_cpu, o, ite(was_empty, queued_on, s.iw_cpu[o]))
        # -ENOMEM (kmalloc_nolock fails; here: the queue is full): the caller's reference is dropped
        if "refcnt" in upd:  # a start: its inc and the put on failure cancel out
            nomem = {}
        else:  # a cancel: the map's reference is put (bpf_async_cb_rcu_tasks_trace_free re-cancels)
            nomem = refcount_put(s, o, dict(upd), irqs_off=True, c=c)
        full = q[QUEUE - 1] != CMD_NONE
        return [(not_(full), added), (full, nomem)]

    def start_put_steps(s, g, who, after):
        o_ = arg_of(s, who)
        steps = []
        for o in over(o_, Obj):
            upd = refcount_put(s, o, done(s, who, after))
            steps.append(when(and_(g, o_ == o), **upd))
        return steps

    def cancel_steps(s, g, who, e, after):
        """bpf_timer_cancel (v6.12), to its first write another CPU can see: rcu_read_lock, the value's
        lock, t = timer->timer (-EINVAL if NULL), cur_t = this_cpu_read(hrtimer_running); cur_t == t:
        -EDEADLK; outside a callback (cur_t NULL) drop_prog_refcnt, unlock, on to hrtimer_cancel;
        inside one atomic_inc(&t->cancelling), the lock still held (CANCEL_INC). The rework's cancel is
        the same without the lock."""
        c, lv = who[1], who[2]
        if lv == IRQ:
            return [when(g, **done(s, who, after))]  # R: -EOPNOTSUPP where it would have to defer
        cur = s.slot[e]
        g = and_(g, lock_free(s, e))
        steps = [when(and_(g, cur == NO_OBJ), **done(s, who, after))]
        here = hrtimer_running(s, c, lv)
        for o in over(cur, Obj):
            gi = and_(g, cur == o)
            self_dl = here == o if cfg["self_cancel_check"] else False
            steps.append(when(and_(gi, self_dl), **done(s, who, after)))  # -EDEADLK, ref kept
            gi = and_(gi, not_(self_dl))
            if cfg["cancelling_counter"] and lv == SOFTIRQ:
                upd = set_ctx(s, c, lv, PC.CANCEL_INC, o, inc=True)
                upd["cancelling"] = put(s.cancelling, o, s.cancelling[o] + 1)
            else:
                upd = set_ctx(s, c, lv, PC.CANCEL_WAIT, o)
                drop_prog(s, o, upd, irqs_off=locked)  # under bpf_spin_lock_irqsave in the locked design
            steps.append(when(gi, **upd))
        return steps

    def cancel_inc_steps(s, g, who, after):
        """smp_mb__after_atomic, then atomic_read(&cur_t->cancelling), which counts the caller's own
        increment when t == cur_t: a callback cancelling ours (or ours itself) -> -EDEADLK, unlock, and
        the decrement follows (CANCEL_DEC); else drop_prog_refcnt, unlock, on to hrtimer_cancel."""
        c, lv = who[1], who[2]
        o_ = s.arg[c][lv]
        here = s.cb_obj[c]  # cur_t: only a callback increments
        mutual = any_(and_(here == x, s.cancelling[x] > 0) for x in Obj)
        steps = []
        for o in over(o_, Obj):
            gi = and_(g, o_ == o)
            steps.append(when(and_(gi, mutual), **set_ctx(s, c, lv, PC.CANCEL_DEC, o, inc=True)))
            upd = set_ctx(s, c, lv, PC.CANCEL_WAIT, o, inc=True)
            drop_prog(s, o, upd, irqs_off=locked)
            touch_obj(upd, s, o)
            steps.append(when(and_(gi, not_(mutual)), **upd))
        return steps

    def cancel_dec_steps(s, g, who, after):
        """The -EDEADLK path after the unlock: atomic_dec(&t->cancelling), rcu_read_unlock, return."""
        c, lv = who[1], who[2]
        o_ = s.arg[c][lv]
        steps = []
        for o in over(o_, Obj):
            upd = done(s, who, after)
            upd["cancelling"] = put(s.cancelling, o, s.cancelling[o] - 1)
            touch_obj(upd, s, o)
            steps.append(when(and_(g, o_ == o), **upd))
        return steps

    def cancel_wait_steps(s, g, who, after):
        """hrtimer_cancel: waits while the callback runs; then the cancelling counter is decremented."""
        c, lv = who[1], who[2]
        o_ = s.arg[c][lv]
        steps = []
        for o in over(o_, Obj):
            upd = done(s, who, after)
            upd["exec_state"] = put(s.exec_state, o, hrtimer.INACTIVE)
            if cfg["cancelling_counter"]:
                upd["cancelling"] = put(
                    s.cancelling, o, ite(s.inc[c][lv], s.cancelling[o] - 1, s.cancelling[o])
                )
            # with kfree_rcu the caller holds rcu_read_lock across the wait (0281b919e175), which
            # the model has by counting the whole helper call as a read-side section
            touch_obj(upd, s, o)
            steps.append(when(and_(g, o_ == o, hrtimer.cancel_passes(s.running[o], NO_CPU)), **upd))
        return steps

    def caf_steps(s, g, who, e, after):
        """cancel_and_free(value e): the lockless READ_ONCE(async->cb) (NULL: return), then the detach
        (under the lock, or R's xchg) and what follows."""
        cur = s.slot[e]
        steps = [when(and_(g, cur == NO_OBJ), **done(s, who, after))]
        in_cb = hrtimer_running(s, who[1], who[2]) if who[0] == "ctx" else NO_OBJ
        for o in over(cur, Obj):
            gi = and_(g, cur == o, lock_free(s, e))
            base = dict(slot=put(s.slot, e, NO_OBJ), mem=put(s.mem, o, Mem.DETACHED))
            if locked:
                drop_prog(s, o, base, irqs_off=True)
                if timer:
                    mode = cfg["free_in_callback"]
                    if mode == "skip_own":
                        # V21: its own timer is freed at once, without hrtimer_cancel ("bpf_timer_cb()
                        # read everything it needed from 't'")
                        own = in_cb == o
                        upd = done(s, who, after)
                        upd.update(base)
                        kfree(s, o, upd)
                        steps.append(when(and_(gi, own), **upd))
                        gi = and_(gi, not_(own))
                    if mode == "defer":
                        # a6fcd19d7eac: inside any timer callback on this CPU, punt to a kworker
                        deferred = in_cb != NO_OBJ
                        upd = done(s, who, after)
                        upd.update(base)
                        upd["delwork"] = put(s.delwork, o, DelWork.QUEUED)
                        steps.append(when(and_(gi, deferred), **upd))
                        gi = and_(gi, not_(deferred))
                    upd = set_who(s, who, PC.CAF_WAIT, o)
                    upd.update(base)
                    steps.append(when(gi, **upd))
                else:
                    if cfg["wq_delete"] == "deferred":
                        upd = done(s, who, after)
                        upd.update(base)
                        upd["delwork"] = put(s.delwork, o, DelWork.QUEUED)
                    else:
                        upd = set_who(s, who, PC.CAF_WAIT, o)
                        upd.update(base)
                        upd["exec_state"] = put(s.exec_state, o, workqueue.cancel(s.exec_state[o]))
                    steps.append(when(gi, **upd))
            else:
                upd = set_who(s, who, PC.CAF_CANCEL, o)
                upd.update(base)
                if cfg["early_prog_put"]:
                    # __bpf_prog_put defers a last put made in hard-irq
                    drop_prog(s, o, upd, irqs_off=who[0] == "ctx" and who[2] == IRQ)
                steps.append(when(gi, **upd))
        return steps

    def caf_wait_steps(s, g, who, after):
        """The synchronous part: hrtimer_cancel / cancel_work_sync, then the free."""
        o_ = arg_of(s, who)
        steps = []
        for o in over(o_, Obj):
            upd = done(s, who, after)
            if timer:
                upd["exec_state"] = put(s.exec_state, o, hrtimer.INACTIVE)
                passes = hrtimer.cancel_passes(s.running[o], NO_CPU)
            else:
                upd["exec_state"] = put(s.exec_state, o, workqueue.IDLE)
                passes = not_(workqueue.is_running(s.exec_state[o]))
            touch_obj(upd, s, o)
            kfree(s, o, upd)
            steps.append(when(and_(g, o_ == o, passes), **upd))
        return steps

    def caf_cancel_steps(s, g, who, after):
        """R: bpf_async_process_op(CANCEL) inline: hrtimer_try_to_cancel / cancel_work (neither
        waits), then the map's reference is put."""
        o_ = arg_of(s, who)
        steps = []
        if who[0] == "ctx" and who[2] == IRQ:
            for o in over(o_, Obj):
                for ok, upd in schedule_op(s, o, CMD_CANCEL, who[1], {}):  # the map's ref goes with it
                    upd.update(done(s, who, after))
                    touch_obj(upd, s, o)
                    steps.append(when(and_(g, o_ == o, ok), **upd))
            return steps
        for o in over(o_, Obj):
            upd = done(s, who, after)
            if timer:
                # try_to_cancel removes an enqueued timer unless its callback runs
                upd["exec_state"] = put(
                    s.exec_state, o, ite(s.running[o] == NO_CPU, hrtimer.INACTIVE, s.exec_state[o])
                )
            else:
                upd["exec_state"] = put(s.exec_state, o, workqueue.cancel(s.exec_state[o]))
            touch_obj(upd, s, o)
            refcount_put(s, o, upd)
            steps.append(when(and_(g, o_ == o), **upd))
        return steps

    def helper_first_steps(s, g, who, op, e, after):
        if op == "init":
            return init_steps(s, g, who, e, after)
        if op == "set_callback":
            return set_callback_steps(s, g, who, e, after)
        if op == "start":
            return start_steps(s, g, who, e, after)
        if op == "cancel":
            return cancel_steps(s, g, who, e, after)
        return caf_steps(s, g, who, e, after)

    def continue_steps(s, g, who, after):
        """Every later step of a helper call in progress, by its pc."""
        pc = ctx_pc(s, who)
        steps = []
        if timer and who[0] == "ctx":
            steps += cancel_inc_steps(s, and_(g, pc == PC.CANCEL_INC), who, after)
            steps += cancel_dec_steps(s, and_(g, pc == PC.CANCEL_DEC), who, after)
            steps += cancel_wait_steps(s, and_(g, pc == PC.CANCEL_WAIT), who, after)
        steps += caf_wait_steps(s, and_(g, pc == PC.CAF_WAIT), who, after)
        steps += start_sched_steps(s, and_(g, pc == PC.START_SCHED), who, after)
        if not locked:
            steps += start_put_steps(s, and_(g, pc == PC.START_PUT), who, after)
            steps += setcb_finish_steps(s, and_(g, pc == PC.SETCB), who, after)
            steps += caf_cancel_steps(s, and_(g, pc == PC.CAF_CANCEL), who, after)
            steps += init_check_steps(s, and_(g, pc == PC.INIT_CHECK), who, after)
        elif cfg["init_usercnt_check"] == "before_publish":
            steps += init_publish_steps(s, and_(g, pc == PC.INIT_CHECK), who, after)
        return [st for st in steps if not disabled(st.guard)]

    def init_check_steps(s, g, who, after):
        """R: smp_mb, then if usercnt is 0: bpf_async_cancel_and_free(async) and -EPERM."""
        o_ = arg_of(s, who)
        steps = []
        for o in over(o_, Obj):
            gi = and_(g, o_ == o)
            steps.append(when(and_(gi, s.map_usercnt > 0), **done(s, who, after)))
            e = m.slot_of(o)
            # the cancel_and_free of the same value: whatever is in the slot now
            for st in caf_steps(s, and_(gi, s.map_usercnt == 0), who, e, after):
                steps.append(st)
        return steps

    def init_publish_steps(s, g, who, after):
        """V21: timer->timer = t, then the unlock (the lock was held since the usercnt read, so the slot
        is still empty and the object is still the value's next one)."""
        o_ = arg_of(s, who)
        steps = []
        for o in over(o_, Obj):
            e = m.slot_of(o)
            upd = done(s, who, after)
            upd.update(
                slot=put(s.slot, e, o), mem=put(s.mem, o, Mem.LIVE), inits=put(s.inits, e, s.inits[e] + 1)
            )
            steps.append(when(and_(g, o_ == o), **upd))
        return steps

    # ------------------------------------------------------------------ prog runs
    prog_levels = [TASK] + ([IRQ] if irqc else [])

    # hard-irq prog runs on cpu0 only: the deferral path with a task-context caller on every CPU, at
    # a size the matrix can explore (two CPUs with hard-irq callers each: 36M states)
    def runs_on(c, lv):
        return lv != IRQ or c == 0

    @spec.action(c=CPU, lv=(Level, prog_levels))
    def ProgRunStart(s, c, lv):
        """A prog run starts on CPU c (in task context, or in hard-irq): an RCU reader until it ends.
        It may call its helper after the prog was detached and its refcount reached 0 (the free
        waits for the grace period)."""
        if not runs_on(c, lv):
            return []
        g = and_(s.prog_attached, s.pc[c][lv] == PC.IDLE, can_step(s, c, lv))
        if lv == IRQ and not kc.rt:
            g = and_(g, s.wk_obj[c] == NO_OBJ)  # the irq_work runs in hard-irq: no nesting
        return when(g, **set_ctx(s, c, lv, PC.RUN))

    @spec.action(c=CPU, lv=(Level, prog_levels))
    def ProgRunEnd(s, c, lv):
        """The run ends without a helper call."""
        return when(and_(s.pc[c][lv] == PC.RUN, can_step(s, c, lv)), **set_ctx(s, c, lv, PC.IDLE))

    # In hard-irq a prog makes the calls the rework defers (start, cancel_and_free through a map
    # delete); init and set_callback behave there as in task context and are left to task runs.
    calls = ops + (["hardirq_start", "hardirq_delete"] if irqc else [])

    @spec.action(call=calls, c=CPU, e=Slot)
    def ProgCall(s, call, c, e):
        """The run calls a helper on value e (``hardirq_*``: from a hard-irq run); the run ends when
        the helper returns."""
        lv, op = (IRQ, call.removeprefix("hardirq_")) if call.startswith("hardirq_") else (TASK, call)
        g = and_(s.pc[c][lv] == PC.RUN, can_step(s, c, lv))
        if disabled(g):
            return []
        return helper_first_steps(s, g, ("ctx", c, lv), op, e, None)

    @spec.action(c=CPU, lv=(Level, prog_levels))
    def ProgHelperStep(s, c, lv):
        """The prog run's helper call goes on (a wait passes, a second atomic operation)."""
        g = and_(s.pc[c][lv] != PC.IDLE, s.pc[c][lv] != PC.RUN, can_step(s, c, lv))
        if disabled(g):
            return []
        return continue_steps(s, g, ("ctx", c, lv), None)

    if irqc:

        @spec.action(c=CPU, o=Obj)
        def AsyncIrqWorkRun(s, c, o):
            """The object's irq_work runs in hard-irq on c (PENDING cleared). bpf_async_irq_worker:
            llist_del_all + llist_reverse_order of the commands, async_cb_running = cb. Re-initialised
            as worker_for_call_rcu (the last put was made with irqs off) it issues call_rcu_tasks_trace
            and returns."""
            g = and_(s.iw_cpu[o] == c, s.wk_obj[c] == NO_OBJ, s.pc[c][IRQ] == PC.IDLE)
            cleared = irq_work.run_start(s.iw_flags[o])
            base = touch_obj(dict(iw_cpu=put(s.iw_cpu, o, NO_CPU)), s, o)
            rcu_free = dict(
                base,
                iw_flags=put(s.iw_flags, o, irq_work.run_end(cleared, cleared)),
                mem=put(s.mem, o, Mem.RCU_WAIT),
            )
            obj_call_rcu(s, o, rcu_free)
            steps = [when(and_(g, s.iw_rcu[o]), **rcu_free)]
            for case, chain in llist.reversed_prefixes(s.cmds[o], CMD_NONE):
                upd = dict(
                    base,
                    iw_flags=put(s.iw_flags, o, cleared),
                    seen=put(s.seen, c, cleared),
                    wk_obj=put(s.wk_obj, c, o),
                    wk_chain=put(s.wk_chain, c, chain),
                    cmds=put(s.cmds, o, llist.empty(s.cmds[o], CMD_NONE)),
                )
                steps.append(when(and_(g, not_(s.iw_rcu[o]), case), **upd))
            return steps

        @spec.action(c=CPU)
        def AsyncIrqWorkCommand(s, c):
            """bpf_async_process_op for the oldest command: START arms the timer / queues the work,
            CANCEL is hrtimer_try_to_cancel / cancel_work; then the command's reference is put (irqs
            off: a last put defers the free through the irq_work)."""
            o_ = s.wk_obj[c]
            op = s.wk_chain[c][0]
            g = and_(o_ != NO_OBJ, op != CMD_NONE, s.pc[c][IRQ] == PC.IDLE)
            if disabled(g):
                return []
            steps = []
            for o in over(o_, Obj):
                if timer:
                    stop = ite(s.running[o] == NO_CPU, hrtimer.INACTIVE, s.exec_state[o])
                else:
                    stop = workqueue.cancel(s.exec_state[o])
                for code, new in ((CMD_START, arm(s.exec_state[o])), (CMD_CANCEL, stop)):
                    upd = dict(
                        exec_state=put(s.exec_state, o, new),
                        wk_chain=put(s.wk_chain, c, llist.pop_front(s.wk_chain[c], CMD_NONE)),
                    )
                    if code == CMD_START:
                        upd["ran"] = put(s.ran, o, False)
                    touch_obj(upd, s, o)
                    refcount_put(s, o, upd, irqs_off=not kc.rt, c=c)  # RT: a thread, irqs on
                    steps.append(when(and_(g, o_ == o, op == code), **upd))
            return steps

        @spec.action(c=CPU)
        def AsyncIrqWorkDone(s, c):
            """The worker returns: async_cb_running = NULL; irq_work_single's final cmpxchg on BUSY."""
            o_ = s.wk_obj[c]
            g = and_(o_ != NO_OBJ, s.wk_chain[c][0] == CMD_NONE, s.pc[c][IRQ] == PC.IDLE)
            if disabled(g):
                return []
            steps = []
            for o in over(o_, Obj):
                upd = dict(
                    iw_flags=put(s.iw_flags, o, irq_work.run_end(s.iw_flags[o], s.seen[c])),
                    wk_obj=put(s.wk_obj, c, NO_OBJ),
                    seen=put(s.seen, c, 0),
                )
                touch_obj(upd, s, o)
                steps.append(when(and_(g, o_ == o), **upd))
            return steps

    # ------------------------------------------------------------------ callbacks
    other = {e: (e + 1) % nslot for e in range(nslot)}

    def callback_op(e):
        """The workload's helper call made by a callback of value e: (op, value) or None."""
        if cb_kind == "none":
            return None
        if cb_kind == "rearm":
            return ("start", e)
        op, who = cb_kind.split("_")
        return ("cancel" if op == "cancel" else "delete", e if who == "self" else other[e])

    if timer:

        @spec.action(c=CPU, o=Obj)
        def TimerExpire(s, c, o):
            """__run_hrtimer on c: base->running = timer, the timer leaves the queue (INACTIVE)."""
            g = and_(
                hrtimer.can_expire(s.exec_state[o], s.running[o], NO_CPU),
                s.cb_phase[c] == CbPhase.IDLE,
                can_step(s, c, SOFTIRQ),
            )
            return when(
                g,
                exec_state=put(s.exec_state, o, hrtimer.INACTIVE),
                running=put(s.running, o, c),
                cb_obj=put(s.cb_obj, c, o),
                cb_phase=put(s.cb_phase, c, CbPhase.DEQUEUED),
                ran=put(s.ran, o, True),
            )

        @spec.action(c=CPU)
        def TimerCallbackStart(s, c):
            """bpf_timer_cb reads t->cb.map, value and callback_fn (a NULL one returns
            HRTIMER_NORESTART at once), then sets hrtimer_running = t and calls callback_fn."""
            o_ = s.cb_obj[c]
            g = and_(s.cb_phase[c] == CbPhase.DEQUEUED, can_step(s, c, SOFTIRQ))
            if disabled(g):
                return []
            steps = []
            for o in over(o_, Obj):
                gi = and_(g, o_ == o)
                body = touch_obj(dict(cb_phase=put(s.cb_phase, c, CbPhase.BODY)), s, o)
                steps.append(when(and_(gi, s.has_prog[o]), **body))
                steps.append(when(and_(gi, not_(s.has_prog[o])), **touch_obj(ret_updates(s, c, o, {}), s, o)))
            return steps

        @spec.action(c=CPU)
        def TimerCallbackBody(s, c):
            """callback_fn(map, key, value): the prog's code runs, then its one helper call (if any)."""
            o_ = s.cb_obj[c]
            g = and_(s.cb_phase[c] == CbPhase.BODY, can_step(s, c, SOFTIRQ))
            if disabled(g):
                return []
            steps = []
            for o in over(o_, Obj):
                gi = and_(g, o_ == o)
                upd = run_prog_code(dict(cb_phase=put(s.cb_phase, c, CbPhase.IN_OP)), s)
                call = callback_op(m.slot_of(o))
                if call is None:
                    steps.append(when(gi, **ret_updates(s, c, o, upd)))
                    continue
                op, e = call
                for st in helper_first_steps(s, gi, ("ctx", c, SOFTIRQ), op, e, ret_updates(s, c, o, {})):
                    # a helper that returns at once carries the return's updates (cb_phase IDLE)
                    steps.append(st._replace(updates={**upd, **st.updates}))
            return steps

        def ret_updates(s, c, o, upd):
            """The callback returns: hrtimer_running and base->running cleared."""
            upd = dict(upd)
            upd["cb_phase"] = put(s.cb_phase, c, CbPhase.IDLE)
            upd["cb_obj"] = put(s.cb_obj, c, NO_OBJ)
            upd["running"] = put(s.running, o, NO_CPU)
            return upd

        @spec.action(c=CPU)
        def TimerCallbackHelperStep(s, c):
            """The callback's helper call goes on; when it returns, the callback returns."""
            o_ = s.cb_obj[c]
            g = and_(s.cb_phase[c] == CbPhase.IN_OP, s.pc[c][SOFTIRQ] != PC.IDLE, can_step(s, c, SOFTIRQ))
            if disabled(g):
                return []
            steps = []
            for o in over(o_, Obj):
                steps += continue_steps(s, and_(g, o_ == o), ("ctx", c, SOFTIRQ), ret_updates(s, c, o, {}))
            return steps

    else:

        @spec.action(o=Obj)
        def WorkStart(s, o):
            """A kworker takes the work off the pool's list (process_one_work: PENDING cleared)."""
            g = and_(s.exec_state[o] == workqueue.PENDING, s.wphase[o] == WPhase.IDLE)
            return when(
                g,
                exec_state=put(s.exec_state, o, workqueue.RUNNING),
                wphase=put(s.wphase, o, WPhase.DEQUEUED),
                ran=put(s.ran, o, True),
            )

        @spec.action(o=Obj)
        def WorkReadCallback(s, o):
            """bpf_wq_work reads cb->map, value and callback_fn (a NULL one: returns)."""
            g = s.wphase[o] == WPhase.DEQUEUED
            fin = dict(
                wphase=put(s.wphase, o, WPhase.IDLE),
                exec_state=put(s.exec_state, o, workqueue.finish(s.exec_state[o])),
            )
            touch_obj(fin, s, o)
            read = touch_obj(dict(wphase=put(s.wphase, o, WPhase.FN_READ)), s, o)
            return [when(and_(g, s.has_prog[o]), **read), when(and_(g, not_(s.has_prog[o])), **fin)]

        @spec.action(o=Obj)
        def WorkCallback(s, o):
            """rcu_read_lock_trace(); migrate_disable(); callback_fn(map, key, value): the prog's code
            runs and makes its one helper call (if any)."""
            g = s.wphase[o] == WPhase.FN_READ
            upd = run_prog_code(dict(wphase=put(s.wphase, o, WPhase.IN_OP)), s)
            call = callback_op(m.slot_of(o))
            if call is None:
                return when(g, **upd)
            op, e = call
            return [
                st._replace(updates={**upd, **st.updates})
                for st in helper_first_steps(s, g, ("kw", o), op, e, None)
            ]

        @spec.action(o=Obj)
        def WorkHelperStep(s, o):
            g = and_(s.wphase[o] == WPhase.IN_OP, s.wpc[o] != PC.IDLE)
            if disabled(g):
                return []
            return continue_steps(s, g, ("kw", o), None)

        @spec.action(o=Obj)
        def WorkReturn(s, o):
            """The callback returns; rcu_read_unlock_trace; the worker marks the work done."""
            g = and_(s.wphase[o] == WPhase.IN_OP, s.wpc[o] == PC.IDLE)
            # the worker does not touch the work after its function returns (a work may free itself)
            upd = dict(
                wphase=put(s.wphase, o, WPhase.IDLE),
                exec_state=put(s.exec_state, o, workqueue.finish(s.exec_state[o])),
            )
            return when(g, **upd)

    # ------------------------------------------------------------------ deferred frees and RCU
    @spec.action(o=Obj)
    def DeleteWorkRun(s, o):
        """The deferred free's kworker: hrtimer_cancel (waits for the callback) or cancel_work_sync's
        first part (a pending instance removed), then (timer) kfree_rcu."""
        g = s.delwork[o] == DelWork.QUEUED
        if timer:
            upd = dict(
                delwork=put(s.delwork, o, DelWork.NONE), exec_state=put(s.exec_state, o, hrtimer.INACTIVE)
            )
            touch_obj(upd, s, o)
            kfree(s, o, upd)
            return when(and_(g, hrtimer.cancel_passes(s.running[o], NO_CPU)), **upd)
        upd = dict(
            delwork=put(s.delwork, o, DelWork.CANCELLED),
            exec_state=put(s.exec_state, o, workqueue.cancel(s.exec_state[o])),
        )
        touch_obj(upd, s, o)
        return when(g, **upd)

    if not timer:

        @spec.action(o=Obj)
        def DeleteWorkFree(s, o):
            """bpf_wq_delete_work: cancel_work_sync returns (no instance runs), then kfree_rcu."""
            g = and_(s.delwork[o] == DelWork.CANCELLED, not_(workqueue.is_running(s.exec_state[o])))
            upd = dict(
                delwork=put(s.delwork, o, DelWork.NONE), exec_state=put(s.exec_state, o, workqueue.IDLE)
            )
            touch_obj(upd, s, o)
            kfree(s, o, upd)
            return when(g, **upd)

    @spec.action(o=Obj)
    def ObjectFreed(s, o):
        """The object's RCU callback: kfree_rcu's grace period is over (locked design); R: the
        tasks-trace grace period is over, then bpf_async_cb_rcu_tasks_trace_free re-cancels and either
        retries (another grace period) or puts the prog and frees."""
        waited = rcu.gp_over(s.obj_readers[o])
        if not timer:
            waited = and_(waited, not_(any_(s.kw_readers[o])))
        g = and_(s.mem[o] == Mem.RCU_WAIT, waited)
        if locked:
            upd = dict(mem=put(s.mem, o, Mem.FREED))
            return when(g, **upd)
        # R: cancel again, then the retry decision (second reading of bpf_wq, R-tt)
        mode = cfg["tt_retry"]
        if timer:
            # hrtimer_try_to_cancel() < 0: the callback runs (an enqueued timer is then left alone)
            cancelled = ite(s.running[o] == NO_CPU, hrtimer.INACTIVE, s.exec_state[o])
            retry = s.running[o] != NO_CPU if mode != "none" else False
        else:
            st = s.exec_state[o]
            cancelled = workqueue.cancel(st)
            pending, running = workqueue.is_pending(st), workqueue.is_running(st)
            retry = {
                "busy": and_(not_(pending), running),  # R1: !cancel_work() && work_busy()
                "not_cancelled": not_(pending),  # R0: !cancel_work()
                "running": running,  # not in the kernel: retry while any instance runs
                "none": False,
            }[mode]
        again = obj_call_rcu(s, o, dict(exec_state=put(s.exec_state, o, cancelled)))
        free = dict(exec_state=put(s.exec_state, o, cancelled), mem=put(s.mem, o, Mem.FREED))
        drop_prog(s, o, free, irqs_off=False)
        return [when(and_(g, retry), **again), when(and_(g, not_(retry)), **free)]

    @spec.action()
    def ProgPutDeferred(s):
        """The workqueue runs bpf_prog_put_deferred (the last put was made with irqs off)."""
        upd = dict(prog_phase=Phase.RCU_WAIT)
        prog_call_rcu(s, upd, True)
        return when(s.prog_phase == Phase.PUT_DEFERRED, **upd)

    @spec.action()
    def ProgFree(s):
        """The prog's grace period is over: bpf_prog_free_deferred puts used_maps and frees it."""
        waited = rcu.gp_over(s.prog_readers[0])
        if not timer:
            waited = and_(waited, not_(any_(s.prog_kw_readers)))
        return when(
            and_(s.prog_phase == Phase.RCU_WAIT, waited), prog_phase=Phase.FREED, map_refcnt=s.map_refcnt - 1
        )

    # ------------------------------------------------------------------ user space
    def user_set(pc, o=NO_OBJ):
        return dict(upc=pc, uarg=o)

    def user_caf_steps(s, g, e, then):
        """cancel_and_free from a syscall (map update, or the sweep): the lockless READ_ONCE (NULL:
        return), then detach, then wait and free."""
        cur = s.slot[e]
        steps = [when(and_(g, cur == NO_OBJ), **then)]
        for o in over(cur, Obj):
            gi = and_(g, cur == o, lock_free(s, e))
            base = dict(then, slot=put(s.slot, e, NO_OBJ), mem=put(s.mem, o, Mem.DETACHED))
            if locked:
                drop_prog(s, o, base, irqs_off=True)
                if timer or cfg["wq_delete"] == "inline":
                    wait = UPc.SWEEP_WAIT if then.get("upc") == UPc.SWEEP else UPc.CAF_WAIT
                    base.update(upc=wait, uarg=o)
                    if not timer:
                        base["exec_state"] = put(s.exec_state, o, workqueue.cancel(s.exec_state[o]))
                else:
                    base["delwork"] = put(s.delwork, o, DelWork.QUEUED)
            else:
                if cfg["early_prog_put"]:
                    drop_prog(s, o, base, irqs_off=False)
                if timer:
                    base["exec_state"] = put(
                        s.exec_state, o, ite(s.running[o] == NO_CPU, hrtimer.INACTIVE, s.exec_state[o])
                    )
                else:
                    base["exec_state"] = put(s.exec_state, o, workqueue.cancel(s.exec_state[o]))
                refcount_put(s, o, base)
            steps.append(when(gi, **base))
        return steps

    if cfg["user_updates"]:

        @spec.action(e=Slot)
        def UserUpdateElem(s, e):
            """bpf_map_update_elem from user space overwrites value e: bpf_obj_free_fields ->
            cancel_and_free."""
            g = and_(s.upc == UPc.IDLE, not_(s.updated), s.map_usercnt > 0)
            return user_caf_steps(s, g, e, dict(updated=True))

    @spec.action()
    def UserWaitDone(s):
        """The syscall's hrtimer_cancel / cancel_work_sync returns; the object is freed."""
        o_ = s.uarg
        g = or_(s.upc == UPc.CAF_WAIT, s.upc == UPc.SWEEP_WAIT)
        if disabled(g):
            return []
        steps = []
        for o in over(o_, Obj):
            if timer:
                passes = hrtimer.cancel_passes(s.running[o], NO_CPU)
                st = hrtimer.INACTIVE
            else:
                passes = not_(workqueue.is_running(s.exec_state[o]))
                st = workqueue.IDLE
            nxt = ite(s.upc == UPc.SWEEP_WAIT, UPc.SWEEP, UPc.IDLE)
            upd = dict(upc=nxt, uarg=NO_OBJ, exec_state=put(s.exec_state, o, st))
            touch_obj(upd, s, o)
            kfree(s, o, upd)
            steps.append(when(and_(g, o_ == o, passes), **upd))
        return steps

    if cfg["user_closes"]:

        @spec.action()
        def MapFdClose(s):
            """bpf_map_put_with_uref: usercnt to 0, then map_release_uref's sweep, then the put."""
            g = and_(s.upc == UPc.IDLE, s.map_usercnt == 1)
            if cfg["uref_sweep"]:
                return when(g, map_usercnt=0, upc=UPc.SWEEP, usweep=0)
            return when(g, map_usercnt=0, map_refcnt=s.map_refcnt - 1)

        if cfg["uref_sweep"]:

            @spec.action()
            def UrefSweep(s):
                """map_release_uref visits the next value: cancel_and_free; after the last, the put."""
                g = s.upc == UPc.SWEEP
                if disabled(g):
                    return []
                steps = []
                for e in Slot:
                    then = dict(usweep=e + 1, upc=UPc.SWEEP)
                    steps += user_caf_steps(s, and_(g, s.usweep == e), e, then)
                steps.append(when(and_(g, s.usweep == nslot), upc=UPc.IDLE, map_refcnt=s.map_refcnt - 1))
                return steps

        @spec.action()
        def ProgDetach(s):
            upd = prog_put(s, dict(prog_attached=False), irqs_off=False)
            return when(s.prog_attached, **upd)

        @spec.action()
        def ProgFdClose(s):
            upd = prog_put(s, dict(prog_fd=False), irqs_off=False)
            return when(s.prog_fd, **upd)

    @spec.action()
    def Quiescent(s):
        """Nothing runs or is pending: a stuttering step, not a deadlock."""
        idle = [s.upc == UPc.IDLE, or_(s.prog_phase == Phase.LIVE, s.prog_phase == Phase.FREED)]
        for c in CPU:
            idle += [s.pc[c][lv] == PC.IDLE for lv in levels]
        for o in Obj:
            idle += [
                not_(m.armed(s, o)),
                not_(m.callback_running(s, o)),
                s.delwork[o] == DelWork.NONE,
                s.mem[o] != Mem.RCU_WAIT,
                s.mem[o] != Mem.DETACHED,
            ]
            if not timer:
                idle.append(s.wphase[o] == WPhase.IDLE)
            if irqc:
                idle += [s.iw_cpu[o] == NO_CPU, s.mem[o] != Mem.TT_DEFER]
        if irqc:
            idle += [s.wk_obj[c] == NO_OBJ for c in CPU]
        return when(or_(all_(idle), m.broken(s)))

    # halt at the first use-after-free; drop finished readers from every pending grace period
    readers = [(c, lv) for c in CPU for lv in levels]

    def idle_after(t, c, lv):
        """A reader leaves a snapshot when its activity ends (membership was decided by the grace
        period's flavour when it started)."""
        return not_(level_active(t, c, lv))

    activity = ("pc", "cb_phase", "wk_obj", "iw_cpu") if timer else ("pc", "wk_obj", "iw_cpu")
    for a in spec.actions:
        if a.name != "Quiescent":
            a.fn = halt_when(a.fn, m.broken)
        a.fn = rcu.end_finished_readers(a.fn, activity, readers, idle_after, ["obj_readers", "prog_readers"])
        if not timer:
            a.fn = _end_kworker_readers(a.fn, nobj, obj_flavour, prog_flavour, kc)

    props.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec


DEQUEUED, FN_READ, IN_OP = 1, 2, 3  # WPhase: the kworker took the work, read callback_fn, is inside


def _kworker_reads(phase: Any, flavour: str, kc: kconfig.KernelConfig) -> Any:
    """A wq callback in this phase is a reader a grace period of this flavour waits for: inside its
    rcu_read_lock_trace section (IN_OP) for a tasks-trace one; between its dequeue and
    rcu_read_lock_trace on a non-preemptible kernel (an implicit classic reader) for a classic one or
    one a tasks-trace grace period implies."""
    pre = or_(phase == DEQUEUED, phase == FN_READ) if kc.non_preemptible else False
    if flavour == "classic":
        return pre
    inside = phase == IN_OP
    return or_(inside, pre) if kc.tt_implies_rcu else inside


def _end_kworker_readers(
    fn: Any, nobj: int, obj_flavour: str, prog_flavour: str, kc: kconfig.KernelConfig
) -> Any:
    """A wq callback leaves a pending grace period's readers when it stops being a reader of that
    grace period's flavour (a step that moves its kworker on)."""

    def wrapped(s: Any, **args: Any) -> Any:
        r = fn(s, **args)
        one = isinstance(r, Step)
        out = []
        for st in [r] if one else r:
            upd = st.updates
            if "wphase" not in upd:
                out.append(st)
                continue
            ph = upd["wphase"]
            obj_still = [_kworker_reads(ph[k], obj_flavour, kc) for k in range(nobj)]
            prog_still = [_kworker_reads(ph[k], prog_flavour, kc) for k in range(nobj)]
            new = dict(upd)
            kw = upd.get("kw_readers", s.kw_readers)
            new["kw_readers"] = tuple(
                tuple(and_(kw[a][k], obj_still[k]) for k in range(nobj)) for a in range(nobj)
            )
            pk = upd.get("prog_kw_readers", s.prog_kw_readers)
            new["prog_kw_readers"] = tuple(and_(pk[k], prog_still[k]) for k in range(nobj))
            out.append(st._replace(updates=new))
        return out[0] if one else out

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped
