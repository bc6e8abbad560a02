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
first use-after-free (undefined behaviour), as in ``spec/delayed_work``.

The parts, one file each:
- ``model.py``: the vocabulary (``Model``): contexts and the value lock, RCU readers, the prog's
  reference, the object's free, the caller of a helper call;
- ``helpers.py``: the helper calls as a prog run or a callback makes them (init, set_callback, start,
  cancel_and_free; the code bpf_timer and bpf_wq share), step by step, and the prog runs;
- ``timer.py``: bpf_timer's own code: ``bpf_timer_cancel``, the timer's cancel_and_free after the
  detach, the hrtimer expiry and ``bpf_timer_cb``;
- ``wq.py``: bpf_wq's own code: the wq's cancel_and_free after the detach, its delete_work, the
  kworker running ``bpf_wq_work``;
- ``rework.py``: the 2026 refcnt design: the refcount, its steps of each helper call, the irq_work
  deferral of hard-irq callers, the tasks-trace free;
- ``free.py``: deferred frees and RCU callbacks (the object's and the prog's);
- ``user.py``: user space (an element update, the fd close and its sweep, the prog's detach and close).
``make_spec`` below checks the switches, declares the state and registers each part's actions.
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async import free, helpers, rework, timer, user, wq
from spec.bpf_async.model import CMD_NONE, QUEUE, Model, lane
from spec.config import model_constants
from spec.kernel import hrtimer, kconfig, prog, rcu, sources, workqueue
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
    not_,
    or_,
    when,
)

OPS = ["init", "set_callback", "start", "cancel", "delete"]
# "mixed" (timer, 2 values): value 0's callback cancels value 1's timer; value 1's callback re-arms its
# own timer and then deletes its own element (two helper calls in one callback)
CALLBACKS = [
    "none",
    "rearm",
    "cancel_other",
    "delete_other",
    "cancel_self",
    "delete_self",
    "mixed",
    "reinit_self",
]

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
    # the CPUs hard-irq prog runs start on: cpu0 only (the default, a tenth of the states), or all
    "irq_cpus": (str, "cpu0", ["cpu0", "all"]),
    # --- what round 3's independent reader could not express
    # the reference cb->prog holds (bpf_prog_inc_not_zero in set_callback, put by drop_prog_refcnt);
    # False: set_callback only sets callback_fn, and nothing keeps the prog for the armed timer
    "prog_ref": (bool, True),
    # the prog is pinned in bpffs: the pin holds a reference that outlives every fd, until user space
    # unlinks the file (ProgUnpin)
    "prog_pinned": (bool, False),
    # an allocation may fail (-ENOMEM) at every call, as GFP_ATOMIC / kmalloc_nolock may: the object of
    # bpf_timer_init / bpf_wq_init, and the rework's per-call command of a hard-irq caller (which
    # otherwise fails only when two commands already wait). False: only the full command queue fails
    "alloc_fails": (bool, True),
    # the map holding the values: an array, or a preallocated hash map with every value in one bucket
    # (a hash collision), whose bucket lock map_delete_elem takes, and user space's update holds while
    # it frees the replaced element's timer (bpf_obj_free_fields under the lock, K-htab-update)
    # hash_malloc: a hash map with BPF_F_NO_PREALLOC up to v6.14: a deleted element's memory is freed
    # after a grace period (bpf_mem_cache_free) with no destructor, and map_release_uref visits only
    # the elements still in the buckets (htab_free_malloced_timers_and_wq)
    # lru: an LRU hash map with raw_spinlock_t LRU locks (until their rqspinlock conversion, in no
    # release read): user space's update of a new key evicts an element (the LRU's choice: any value)
    # and frees its timer under the LRU list lock; a map_delete_elem frees the deleted element's timer,
    # then takes that lock to push the element on the free list (docs/second-reading/round5-issue21.md
    # B3, round8-b3.md)
    "map": (str, "array", ["array", "hash", "hash_malloc", "lru"]),
    "user_deletes": (bool, False),  # user space may delete an element once (map = hash_malloc)
    # the hash map's bucket lock: raw_spinlock_t (map_locked refuses a same-CPU re-entry only:
    # 20b6cc34ea74, v5.10-v6.14), or rqspinlock_t (v6.15+: a waiter gives up with -ETIMEDOUT/-EDEADLK)
    "bucket_lock": (str, "raw", ["raw", "rqspinlock"]),
    **kconfig.PARAMS,  # the kernel configuration (spec/kernel/kconfig.py)
}


# e25ddfb388c8 (Sept 2025, stable 6.12+), before the 2026 rework: kernel/bpf/verifier.c
# process_timer_func: if (IS_ENABLED(CONFIG_PREEMPT_RT)) { verbose(env, "bpf_timer cannot be used for
# PREEMPT_RT.\n"); return -EOPNOTSUPP; } (docs/second-reading/round4-traces.md §12)
RT_REFUSES_TIMER = (
    "bpf_async: kind = timer with design = refcnt cannot run on PREEMPT_RT: the verifier refuses every "
    "prog that uses a bpf_timer there (e25ddfb388c8, before the 2026 rework); use kind = wq"
)


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The kernel-configuration values that give this cell different behaviours. Preemption: a wq
    callback's kworker between its dequeue and rcu_read_lock_trace, and a sleepable prog's task-level
    run, are implicit classic readers only on a non-preemptible kernel; with hard-irq callers the
    rework's irq_work (not IRQ_WORK_HARD_IRQ) runs in a thread on PREEMPT_RT, where the rework's timer
    does not exist (RT_REFUSES_TIMER). The tasks-trace semantics matter
    for a sleepable prog's free and for the rework's object free; irq_work delivery for the rework's
    irq_work. No step waits on a slow activity inside a hard-irq handler: stalls play
    no part."""
    cfg = {k: v[1] for k, v in PARAMS.items()} | dict(constants)
    out: dict[str, tuple[str, ...]] = {}
    pre: tuple[str, ...] = ()
    if cfg["kind"] == "wq" or cfg["sleepable"]:
        pre = ("none", "preempt_rcu")
    if cfg["irq_callers"]:
        pre = kconfig.PREEMPTION if pre else ("preempt_rcu", "preempt_rt")
        out["irq_work"] = kconfig.IRQ_WORK
    if cfg["kind"] == "timer" and cfg["design"] == "refcnt":
        pre = tuple(v for v in pre if v != "preempt_rt")  # RT_REFUSES_TIMER
    if len(pre) > 1:
        out["preemption"] = pre
    if cfg["sleepable"] or cfg["design"] == "refcnt":
        out["tasks_trace"] = kconfig.TASKS_TRACE
    return out


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
    "The rework's hard-irq callers (irq_callers) run on cpu0 only by default, with task-context callers "
    "on every CPU: the deferral races with a caller on another CPU stay, at a tenth of the states; "
    "irq_cpus = all puts them on both CPUs (rework_timer_irq_all: 5.06M states against rework_timer's "
    "456K). Hard-irq runs make the deferred calls (start, a "
    "map delete); init and set_callback there are the same atomic operations as in task context.",
    "The rework's schedule_op merges llist_add with irq_work_queue: a worker that takes the command "
    "between them leaves only a spurious, empty run of the irq_work. A command allocation may fail "
    "(-ENOMEM) at every call (alloc_fails), and always does once two commands wait (the queue's bound); "
    "so may the object's allocation in bpf_timer_init / bpf_wq_init (ProgInitNoMem), before anything is "
    "published. The async_cb_running -EDEADLK guard is never "
    "exercised: no tracing prog runs inside the irq_work here.",
    "User space's cancel_and_free in the rework (xchg, prog put, cancel, put of the map's reference) is "
    "one step: a start that read the pointer earlier can still take its reference before or after it, "
    "and both orders are explored; a prog's cancel_and_free is two steps.",
    "The map is an array by default: user space overwrites an element (bpf_obj_free_fields -> "
    "cancel_and_free) rather than deleting it. map = hash (timer, locked design) is a preallocated hash "
    "map with every value in one bucket: map_delete_elem's locked section is one step, and user space's "
    "update holds the bucket lock across its cancel_and_free's wait; nothing else takes the bucket lock "
    "(the uref sweep walks the elements unlocked). map = hash_malloc (BPF_F_NO_PREALLOC, v6.14 and "
    "before): user space's delete unlinks the element, frees its timer, then frees the element after a "
    "grace period of classic readers (non-sleepable progs only); prog runs cannot reach a deleted "
    "element (a run whose lookup preceded the delete is not modelled), a callback can, through its value "
    "pointer. map = lru (raw spinlock LRU locks): user space's update of a new key evicts a value the LRU "
    "picks (any, in a full map) and frees its timer holding the LRU list lock across the wait; a "
    "map_delete_elem's push of the freed element takes that lock after its cancel_and_free (LRU_PUSH); "
    "which node the LRU picks, the local free lists, and a callback's own update (which pops a node "
    "first) are not modelled. Hash element reuse through the freelist, inner maps, RT timers, NMI "
    "callers, and "
    "hard-irq callers of the locked design (the verifier refused timers in kprobe/tracepoint progs; "
    "fentry in hard-irq was allowed: bpf_timer.md W-16/W-19) are not modelled.",
    "bpf_timer_cancel in the rework is V24's (the -EDEADLK checks, the drop, hrtimer_cancel) without the "
    "lock, so its prog put is not made with irqs off [our reading: the rework's cancel was not read].",
]

__all__ = [
    "ABSTRACTIONS",
    "CALLBACKS",
    "OPS",
    "PARAMS",
    "Model",
    "kconfig_relevant",
    "lane",
    "make_spec",
]


@cites(
    "",
    "(model)",
    "none: a stuttering step of the model",
    "model-only: enabled when nothing runs or is pending, so that an idle system is not reported as a "
    "deadlock; it changes no variable",
)
def Quiescent(m: Model, s: Any) -> Step:
    """Nothing runs or is pending: a stuttering step, not a deadlock."""
    PC, Mem, Phase = m.PC, m.Mem, m.Phase
    idle = [s.upc == m.UPc.IDLE, or_(s.prog_phase == Phase.LIVE, s.prog_phase == Phase.FREED)]
    for c in m.CPU:
        idle += [s.pc[c][lv] == PC.IDLE for lv in m.levels]
    for o in m.Obj:
        idle += [
            not_(m.armed(s, o)),
            not_(m.callback_running(s, o)),
            s.delwork[o] == m.DelWork.NONE,
            s.mem[o] != Mem.RCU_WAIT,
            s.mem[o] != Mem.DETACHED,
        ]
        if not m.timer:
            idle.append(s.wphase[o] == m.WPhase.IDLE)
        if m.irqc:
            idle += [s.iw_cpu[o] == m.NO_CPU, s.mem[o] != Mem.TT_DEFER]
    if m.irqc:
        idle += [s.wk_obj[c] == m.NO_OBJ for c in m.CPU]
    return when(or_(all_(idle), m.broken(s)))


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS for names, defaults and ranges)."""
    from invariants.bpf_async import properties, witnesses

    cfg = model_constants("bpf_async", PARAMS, constants)
    for k, v in cfg.items():
        choices = PARAMS[k][2] if PARAMS[k][0] is str else None
        if choices and v not in choices:
            raise SpecError(f"bpf_async: {k} = {v!r} is not one of {', '.join(choices)}")
    ops = [o for o in OPS if cfg["prog_ops"] == "all" or o != "delete"]
    kind, design = cfg["kind"], cfg["design"]
    is_timer, locked = kind == "timer", design == "locked"
    if not is_timer:
        ops = [o for o in ops if o != "cancel"]  # bpf_wq exposes no cancel to progs
    cb_kind = cfg["callback"]
    if cb_kind in ("cancel_other", "cancel_self") and not is_timer:
        raise SpecError("bpf_async: a wq callback has no cancel helper (bpf_wq exposes none)")
    if cfg["init_usercnt_check"] == "before_publish" and not is_timer:
        raise SpecError(
            "bpf_async: init_usercnt_check = before_publish is bpf_timer's 2021 code "
            "(bpf_wq was merged after fd381ce60a2d)"
        )
    if cfg["map"] != "array" and not (is_timer and locked):
        raise SpecError(
            f"bpf_async: map = {cfg['map']} is modelled for kind = timer, design = locked (the only design "
            "whose cancel_and_free waits, under the bucket lock, for a running callback)"
        )
    if cfg["map"] == "hash_malloc" and cfg["sleepable"]:
        raise SpecError("bpf_async: map = hash_malloc is modelled for non-sleepable progs (classic readers)")
    if cfg["map"] == "hash_malloc" and cfg["user_updates"]:
        raise SpecError(
            "bpf_async: map = hash_malloc models user space's delete only (an update replaces the element: "
            "not modelled)"
        )
    if cfg["map"] == "lru" and cfg["bucket_lock"] != "raw":
        raise SpecError(
            "bpf_async: map = lru is the LRU map with raw_spinlock_t LRU locks; the rqspinlock LRU locks "
            "are not modelled"
        )
    if cfg["user_deletes"] and cfg["map"] != "hash_malloc":
        raise SpecError("bpf_async: user_deletes needs map = hash_malloc (an array has no delete)")
    if cb_kind == "reinit_self" and cfg["objs"] < 2:
        raise SpecError("bpf_async: callback = reinit_self needs objs = 2 (the value's second timer)")
    if cfg["irq_callers"] and locked:
        raise SpecError("bpf_async: irq_callers needs design = refcnt (the locked design has no deferral)")
    if (cb_kind.endswith("_other") or cb_kind == "mixed") and cfg["slots"] < 2:
        raise SpecError(f"bpf_async: callback = {cb_kind} needs slots = 2")
    if cb_kind == "mixed" and not is_timer:
        raise SpecError("bpf_async: callback = mixed cancels a timer: kind = timer only")
    if is_timer and not locked and cfg["preemption"] == "preempt_rt":
        raise SpecError(RT_REFUSES_TIMER)

    spec = Spec(f"bpf_async[{kind},{design}]")
    spec.constants = dict(cfg)
    spec.lemmas = "invariants.bpf_async.lemmas"
    spec.sources = sources.pick(
        "V24",
        "V21",
        "R1",
        "K-irqwork",
        "K-hrtimer",
        "K-wq",
        "K-rcu-doc",
        "K-syscall",
        "K-core",
        "K-arraymap",
        "K-htab-update",
        "K-lru",
    )
    # V21's code where a switch restores it (2021-2023); the rework's (R1) for the refcnt design; V24
    # otherwise, and for what the rework kept of it
    v21 = cfg["init_usercnt_check"] == "before_publish" or cfg["free_in_callback"] == "skip_own"
    spec.sources_in_use = (
        set(spec.sources)
        - ({"R1"} if locked else set())
        - (set() if v21 else {"V21"})
        - (set() if cfg["map"] == "lru" else {"K-lru"})
    )
    ncpu, nslot, nper = cfg["cpus"], cfg["slots"], cfg["objs"]
    nobj = nslot * nper
    CPU = Enum("CPU", [f"cpu{i}" for i in range(ncpu)])
    Slot = Enum("Slot", [f"v{i}" for i in range(nslot)])
    Obj = Enum("Obj", [f"t{e}.{k}" for e in range(nslot) for k in range(nper)])
    ObjOrNone = Enum("ObjOrNone", [*Obj.names, "none"])
    CpuOrNone = Enum("CpuOrNone", [*CPU.names, "none"])
    Level = Enum("Level", ["TASK", "SOFTIRQ", "IRQ"])
    Mem = Enum("Mem", ["UNUSED", "LIVE", "DETACHED", "RCU_WAIT", "FREED", "TT_DEFER"])
    pcs = [
        "IDLE",
        *(["LRU_PUSH"] if cfg["map"] == "lru" else []),
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
    UPc = Enum("UPc", ["IDLE", "CAF_WAIT", "SWEEP", "SWEEP_WAIT", "DEL_FREE"])
    Elem = Enum("Elem", ["LIVE", "UNLINKED", "RCU_WAIT", "FREED"])
    NO_OBJ, NO_CPU = nobj, ncpu
    kc = kconfig.KernelConfig(cfg)
    m = Model(
        spec, kind, design, ncpu, nslot, nper, cb_kind, cfg, CPU, Slot, Obj, Mem, PC, CbPhase, WPhase,
        DelWork, Phase, NO_OBJ, NO_CPU, kc=kc, Level=Level, UPc=UPc, ObjOrNone=ObjOrNone,
        CpuOrNone=CpuOrNone, Elem=Elem,
    )  # fmt: skip
    levels = m.levels
    declare_state(spec, m)
    register_actions(spec, m, ops)

    # halt at the first use-after-free; drop finished readers from every pending grace period
    readers = [(c, lv) for c in CPU for lv in levels]

    def idle_after(t: Any, c: int, lv: int) -> Any:
        """A reader leaves a snapshot when its activity ends (membership was decided by the grace
        period's flavour when it started)."""
        return not_(m.level_active(t, c, lv))

    activity = ("pc", "cb_phase", "wk_obj", "iw_cpu") if is_timer else ("pc", "wk_obj", "iw_cpu")
    for a in spec.actions:
        if a.name != "Quiescent":
            a.fn = halt_when(a.fn, m.broken)
        snapshots = ["obj_readers", "prog_readers"] + (
            ["elem_readers"] if cfg["map"] == "hash_malloc" else []
        )
        a.fn = rcu.end_finished_readers(a.fn, activity, readers, idle_after, snapshots)
        if not is_timer:
            a.fn = wq.end_kworker_readers(a.fn, nobj, m.obj_flavour, m.prog_flavour, kc)

    properties.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec


def declare_state(spec: Spec, m: Model) -> None:
    """The model's variables, in their order in a state (every engine and export relies on it)."""
    cfg, ncpu, nslot, nper, nobj = m.cfg, m.cpus, m.slots, m.objs, m.nobj
    is_timer, locked, irqc, levels = m.timer, m.locked, m.irqc, m.levels
    CPU, Slot, Obj, Level, Mem, PC = m.CPU, m.Slot, m.Obj, m.Level, m.Mem, m.PC
    CbPhase, WPhase, DelWork, Phase, UPc = m.CbPhase, m.WPhase, m.DelWork, m.Phase, m.UPc
    ObjOrNone, CpuOrNone, NO_OBJ, NO_CPU = m.ObjOrNone, m.CpuOrNone, m.NO_OBJ, m.NO_CPU
    Cmd = Enum("Cmd", ["none", "START", "CANCEL"])
    Q = Enum("Q", QUEUE)
    no_readers = rcu.nobody(ncpu, len(Level))
    max_ref = 3 + nobj
    spec.var("slot", Fn(Slot, ObjOrNone), const_fn(Slot, NO_OBJ), "async->cb of each map value")
    spec.var("inits", Fn(Slot, Int(0, nper)), const_fn(Slot, 0), "objects allocated for each value so far")
    spec.var("mem", Fn(Obj, Mem), const_fn(Obj, Mem.UNUSED), "each async object's memory")
    spec.var(
        "has_prog", Fn(Obj, Bool), const_fn(Obj, False), "cb->prog set (one prog reference) and callback_fn"
    )
    exec_states = hrtimer.STATES if is_timer else workqueue.STATES
    spec.var("exec_state", Fn(Obj, Enum("Exec", exec_states)), const_fn(Obj, 0), "hrtimer or work state")
    if is_timer:
        spec.var("running", Fn(Obj, CpuOrNone), const_fn(Obj, NO_CPU), "base->running: CPU in its callback")
        spec.var("cancelling", Fn(Obj, Int(0, ncpu)), const_fn(Obj, 0), "t->cancelling")
        spec.var("cb_obj", Fn(CPU, ObjOrNone), const_fn(CPU, NO_OBJ), "hrtimer_running: the callback on c")
        spec.var("cb_phase", Fn(CPU, CbPhase), const_fn(CPU, CbPhase.IDLE))
        if m.max_callback_calls > 1:
            calls = Int(0, m.max_callback_calls - 1)
            spec.var("cb_next", Fn(CPU, calls), const_fn(CPU, 0), "the callback's next helper call")
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
    if cfg["map"] == "hash_malloc":
        spec.var("elem", Fn(Slot, m.Elem), const_fn(Slot, m.Elem.LIVE), "each key's element's memory")
        spec.var(
            "elem_readers",
            Fn(Slot, Fn(CPU, Set(Level))),
            const_fn(Slot, no_readers),
            "the readers a deleted element's free waits for",
        )
    spec.var(
        "obj_readers",
        Fn(Obj, Fn(CPU, Set(Level))),
        const_fn(Obj, no_readers),
        "the readers the object's pending RCU free waits for",
    )
    if not is_timer:
        spec.var(
            "kw_readers",
            Fn(Obj, Set(Obj)),
            const_fn(Obj, const_fn(Obj, False)),
            "wq callbacks (kworkers) the object's pending free waits for",
        )
    # per context (CPU x level): the helper call in progress
    spec.var("pc", Fn(CPU, Fn(Level, PC)), const_fn(CPU, const_fn(Level, PC.IDLE)))
    spec.var("arg", Fn(CPU, Fn(Level, ObjOrNone)), const_fn(CPU, const_fn(Level, NO_OBJ)), "its object")
    spec.var("inc", Fn(CPU, Fn(Level, Bool)), const_fn(CPU, const_fn(Level, False)), "cancelling incremented")
    # wq callbacks' own helper calls (kworker context per object)
    if not is_timer:
        spec.var("wpc", Fn(Obj, PC), const_fn(Obj, PC.IDLE))
        spec.var("warg", Fn(Obj, ObjOrNone), const_fn(Obj, NO_OBJ))
    # the prog and the map
    pinned = cfg["prog_pinned"]
    spec.var(
        "prog_refcnt", Int(-1, max_ref), 3 if pinned else 2, "fd + attach link (+ bpffs pin) + one per object"
    )
    spec.var("prog_fd", Bool, True)
    if pinned:
        spec.var("prog_pin", Bool, True, "the prog's bpffs file exists (it holds a reference)")
    spec.var("prog_attached", Bool, True)
    spec.var("prog_phase", Phase, Phase.LIVE)
    spec.var(
        "prog_readers",
        Fn(Enum("Prog", ["prog"]), Fn(CPU, Set(Level))),
        (no_readers,),
        "the readers the prog's grace period waits for",
    )
    if not is_timer:
        spec.var("prog_kw_readers", Set(Obj), const_fn(Obj, False), "wq callbacks it waits for")
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


def register_actions(spec: Spec, m: Model, ops: list[str]) -> None:
    """Each part's actions, in the order of the search's successors (traces depend on it: keep it).
    ``ops``: the helpers a task-level prog run may call."""
    cfg, is_timer, irqc = m.cfg, m.timer, m.irqc
    CPU, Slot, Obj, Level = m.CPU, m.Slot, m.Obj, m.Level

    def act(fn: Any, **params: Any) -> None:
        spec.action(**params)(bind(fn, m))

    # prog runs and their helper calls (helpers.py). In hard-irq a prog makes the calls the rework
    # defers (start, cancel_and_free through a map delete); init and set_callback behave there as in
    # task context and are left to task runs.
    calls = ops + (["hardirq_start", "hardirq_delete"] if irqc else [])
    act(helpers.ProgRunStart, c=CPU, lv=(Level, m.prog_levels))
    act(helpers.ProgRunEnd, c=CPU, lv=(Level, m.prog_levels))
    act(helpers.ProgCall, call=calls, c=CPU, e=Slot)
    if cfg["alloc_fails"]:
        act(helpers.ProgInitNoMem, c=CPU, e=Slot)
    act(helpers.ProgHelperStep, c=CPU, lv=(Level, m.prog_levels))
    # the rework's irq_work (rework.py)
    if irqc:
        act(rework.AsyncIrqWorkRun, c=CPU, o=Obj)
        act(rework.AsyncIrqWorkCommand, c=CPU)
        act(rework.AsyncIrqWorkDone, c=CPU)
    # the callbacks (timer.py, wq.py)
    if is_timer:
        act(timer.TimerExpire, c=CPU, o=Obj)
        act(timer.TimerCallbackStart, c=CPU)
        act(timer.TimerCallbackBody, c=CPU)
        act(timer.TimerCallbackHelperStep, c=CPU)
    else:
        act(wq.WorkStart, o=Obj)
        act(wq.WorkReadCallback, o=Obj)
        act(wq.WorkCallback, o=Obj)
        act(wq.WorkHelperStep, o=Obj)
        act(wq.WorkReturn, o=Obj)
    # deferred frees and RCU (free.py, wq.py)
    act(free.DeleteWorkRun, o=Obj)
    if not is_timer:
        act(wq.DeleteWorkFree, o=Obj)
    act(free.ObjectFreed, o=Obj)
    act(free.ProgPutDeferred)
    act(free.ProgFree)
    # user space (user.py)
    if cfg["user_updates"]:
        act(user.UserUpdateElem, e=Slot)
    if cfg["user_deletes"]:
        act(user.UserDeleteElem, e=Slot)
        act(user.UserElemFree, e=Slot)
        act(free.ElemFreed, e=Slot)
    act(user.UserWaitDone)
    if cfg["user_closes"]:
        act(user.MapFdClose)
        if cfg["uref_sweep"]:
            act(user.UrefSweep)
        act(user.ProgDetach)
        act(user.ProgFdClose)
        if cfg["prog_pinned"]:
            act(user.ProgUnpin)
    act(Quiescent)
