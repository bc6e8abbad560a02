"""The bpf_delayed_work RFC (July 2022) as a state machine, with its design variants as switches.

Sources are the sections of ``shared/domain/brief.md``: §1.3 (the posted code), §2 (irq_work), §3 (llist),
§6 (prog refcount and free path), §7 (map refcounts). Granularity: one step per atomic operation of the
posted code that another CPU or an NMI can observe in between.

Execution contexts. Each CPU has three levels: TASK < IRQ (hard-irq) < NMI. A higher level interrupts a
lower one, so a level steps only while every higher level on its CPU is idle. The irq_work runner is a
hard-irq activity (task context in the ``task_context`` variant, where it is the return-to-user drain).
A prog run is an RCU reader from its start until the helper returns and the run ends.

The parts, one file each:
- ``model.py``: the vocabulary (``Model``): contexts, RCU readers and grace periods, the prog's and
  the map's references, the llist on item ids, the use-after-free ghosts;
- ``submit.py``: ``bpf_delayed_work_submit``, from the claim to ``irq_work_queue``;
- ``drain.py``: the runner (``irq_work_single`` + ``bpf_delayed_work_irq_work_cb``, or the task's
  drain in ``task_context``), one item at a time;
- ``free.py``: the prog's free path (``bpf_prog_put_deferred``, the grace period,
  ``bpf_prog_free_deferred`` with ``irq_work_sync``) and a hash element's RCU free;
- ``user.py``: user space (detach, fd closes, element delete).
``make_spec`` below declares the state and registers the actions of each part.

Abstractions, each with why it loses no kernel behaviour (``ABSTRACTIONS`` below; the report lists them).
"""

from __future__ import annotations

from typing import Any

from spec.config import model_constants
from spec.delayed_work import drain, free, refinement, submit, user
from spec.delayed_work.model import IRQ, WITHOUT_PROG_REF, Model, lane
from spec.kernel import irq_work, kconfig, prog, rcu, sources
from spec.kernel.irq_work import BUSY, PENDING
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

VARIANTS = [
    "rfc_posted",
    "rfc_fixed",
    "rfc_repaired",
    "rfc_repaired_no_prog_ref",
    "no_sync_on_free",
    "no_work_prog_ref",
    "no_used_maps",
    "no_claim_lock",
    "locked_list",
    "usercnt",
    "task_context",
]

# name -> (type, default, min, max) for ints; (str, default, choices); (bool, default)
PARAMS: dict[str, tuple] = {
    "cpus": (int, 2, 1, 3),
    "items": (int, 2, 1, 3),
    "progs": (int, 1, 1, 2),
    "variant": (str, "rfc_fixed", VARIANTS),
    "map_kind": (str, "array", ["array", "hash"]),
    "callback": (str, "none", ["none", "submits"]),
    "nmi": (bool, False),
    "irq_progs": (bool, False),
    # The grace period of the prog free path: call_rcu for a non-sleepable prog (every RCU read-side
    # section counts, a hard-irq handler such as the drain included), call_rcu_tasks_trace for a
    # sleepable one (only rcu_read_lock_trace sections, i.e. the sleepable prog's own runs).
    "rcu": (str, "call_rcu", ["call_rcu", "tasks_trace"]),
    # The posted patch kmallocs aux->irq_work and never frees it (a leak); a corrected patch frees it
    # with the prog in bpf_prog_free_deferred. With "never", a runner that outlives the prog touches
    # leaked memory (harmless); with "with_prog" the same runner is a use-after-free.
    "irq_work_free": (str, "with_prog", ["with_prog", "never"]),
    # TEST ONLY. "linux": a grace period waits for the readers in flight when call_rcu is issued.
    # "too_strong": the defect of an earlier model (it waited for every reader in flight when it
    # ended, later ones included); kept so a test can show that the behaviour witnesses catch it.
    "grace_period": (str, "linux", ["linux", "too_strong"]),
    "task_exit_drain": (bool, False),
    "user_closes": (bool, True),
    **kconfig.PARAMS,  # the kernel configuration (spec/kernel/kconfig.py)
}


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The kernel-configuration values that give this cell different behaviours. irq_work delivery
    matters wherever there is an irq_work (not task_context); with sleepable progs (rcu = tasks_trace)
    the tasks-trace semantics matter, and so does whether a sleepable prog's task-level run is an
    implicit classic reader (non-preemptible) or not (PREEMPT_RCU; the RFC's irq_work is
    IRQ_WORK_HARD, so PREEMPT_RT behaves as PREEMPT_RCU here). Stalls matter wherever the drain runs in
    hard-irq (not task_context): with stalls = none no system call or workqueue item (the prog's
    deferred free) starts while a drain is between two of its steps (Model.handlers_quiet)."""
    cfg = {k: v[1] for k, v in PARAMS.items()} | dict(constants)
    out: dict[str, tuple[str, ...]] = {}
    if cfg["variant"] != "task_context":
        out["irq_work"] = kconfig.IRQ_WORK
        out["stalls"] = kconfig.STALLS
    if cfg["rcu"] == "tasks_trace":
        out["tasks_trace"] = kconfig.TASKS_TRACE
        out["preemption"] = ("none", "preempt_rcu")
    return out


# Every simplification of the kernel in this model, with why it loses no behaviour that matters to the
# properties (or, where it can, which way it errs). The design-review report prints this list.
ABSTRACTIONS = [
    "Grace periods wait exactly for the RCU readers in flight when call_rcu (synchronize_rcu, the "
    "element's call_rcu) is issued, and may end at any time after. A real grace period may wait longer, "
    "never less, so every real interleaving is a behaviour of the model.",
    "RCU readers are the prog runs (task, hard-irq, NMI) and the drains. Other kernel code in read-side "
    "sections only delays grace periods; leaving it out allows more interleavings, not fewer.",
    "rcu = tasks_trace (a sleepable prog) with tasks_trace = contract: only rcu_read_lock_trace sections "
    "(the sleepable prog's runs) are readers of its grace period. With tasks_trace = implies_rcu (every "
    "kernel since 2022: the synchronize_rcu() in rcu_tasks_trace_postscan, rcu_trace_implies_rcu_gp()) "
    "the grace period also waits for the classic readers in flight when call_rcu_tasks_trace is issued; "
    "the real synchronize_rcu starts later and may wait for more, never less. A sleepable prog's task-"
    "level run is a classic reader only on a non-preemptible kernel (it runs under rcu_read_lock_trace "
    "and migrate_disable, which PREEMPT_RCU may preempt).",
    "irq_work = tick: a raised irq_work runs at any later time (no promptness), though under fairness it "
    "does run: arches without an irq_work interrupt run it from the tick, and the contract promises no "
    "bound. irq_work = self_ipi (x86): the raising CPU takes the interrupt as soon as it enables irqs, "
    "so its task level does not step and it reports no quiescent state until the work has run: a "
    "raised irq_work counts as that CPU's hard-irq level being busy (a classic reader).",
    "Maps and hash elements are freed the moment their refcount reaches 0 or their grace period ends "
    "(2022's __bpf_map_put deferred map_free to a workqueue). An earlier free only adds chances for a "
    "use-after-free, so no real one is missed; each reported one has a trace to judge.",
    "Hash elements are freed one call_rcu grace period after delete (BPF_F_NO_PREALLOC, htab_elem_free_rcu). "
    "A preallocated htab reuses the element at once: weaker, so every violation here exists there too.",
    "The helper's plain writes (cb, data) are merged with the cmpxchg that precedes them: only the "
    "claimer writes them and nobody reads them before READY. Each remaining step is one atomic operation "
    "another CPU or an NMI can observe in between.",
    "A prog run submits once and ends; a callback submits at most one item. Runs that do not submit "
    "only act as RCU readers, which (above) only delays grace periods.",
    "irq_work_sync is one step enabled when BUSY is clear: it returns the first time it reads flags "
    "without BUSY, which is what the spin loop does.",
    "Lists hold at most `items` nodes; a second llist_add of a linked node is recorded as corruption, and "
    "after the first corruption (or use-after-free) a behaviour halts. A violation that could only follow "
    "another is shown by a cell that removes the first (rfc_fixed_leak, rfc_fixed_tasks_trace_leak).",
    "irq_work_run_list runs the works on a CPU's raised list one per step; strong fairness of IrqWorkRun "
    "says none is passed over for ever, which is what the loop guarantees.",
    "Not modelled: inner maps (map-in-map), LRU eviction, map_freeze/mmap, the stale prog pointer of "
    "brief 1.6-5, the verifier, and the lifetime of the task in task_context beyond exit.",
]

# irq_work flag bits, re-exported for the tests (the block spec/kernel/irq_work.py defines them)
CLAIMED_BITS = irq_work.CLAIMED
__all__ = [
    "ABSTRACTIONS",
    "BUSY",
    "CLAIMED_BITS",
    "PENDING",
    "PARAMS",
    "VARIANTS",
    "WITHOUT_PROG_REF",
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
    """Nothing is running or pending on any CPU: the system may idle (a stuttering step, not a
    deadlock). A state with no enabled action that is not quiescent is a real deadlock."""
    idle = [m.level_idle(s, c, lv) for c in m.CPU for lv in m.ctx_levels] + [
        s.runner[c] == m.RPhase.IDLE for c in m.CPU
    ]
    if not m.task_ctx:
        idle += [s.iw_cpu[p] == m.NO_CPU for p in m.Prog]
    idle += [or_(s.prog_phase[p] == m.Phase.LIVE, s.prog_phase[p] == m.Phase.FREED) for p in m.Prog]
    return when(or_(all_(idle), m.broken(s)))


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS for names, defaults and ranges)."""
    from invariants.delayed_work import properties, witnesses  # kept apart from the mechanism

    cfg = model_constants("delayed_work", PARAMS, constants)
    if cfg["variant"] not in VARIANTS:
        raise SpecError(f"delayed_work: unknown variant {cfg['variant']!r} (known: {', '.join(VARIANTS)})")

    v = cfg["variant"]
    spec = Spec(f"delayed_work[{v}]")
    spec.constants = dict(cfg)
    spec.lemmas = "invariants.delayed_work.lemmas"
    spec.sources = sources.pick(
        "S-p2", "S-p1", "K-irqwork", "K-llist", "K-rcu-doc", "K-syscall", "K-core", "K-htab", "K-tw"
    )
    ncpu, nitem, nprog = cfg["cpus"], cfg["items"], cfg["progs"]
    CPU = Enum("CPU", [f"cpu{i}" for i in range(ncpu)])
    Item = Enum("Item", [f"w{i}" for i in range(nitem)])
    Prog = Enum("Prog", [f"prog{i}" for i in range(nprog)])
    Level = Enum("Level", ["TASK", "IRQ", "NMI"])
    Slot = Enum("Slot", nitem)
    ItemOrNone = Enum("ItemOrNone", [*Item.names, "none"])
    CpuOrNone = Enum("CpuOrNone", [*CPU.names, "none"])
    ProgOrNone = Enum("ProgOrNone", [*Prog.names, "none"])
    locked = v == "locked_list"
    # RETURN: with irq_work = self_ipi, a task-level run after irq_work_queue: the self-IPI interrupts
    # it before its helper returns, so its read-side section outlasts the irq_work it raised
    pcs = ["IDLE", "CLAIMED", "ENQUEUE", "QUEUE"] + (["LOCKED"] if locked else []) + ["RETURN"]
    PC = Enum("PC", pcs)
    Phase = Enum("Phase", prog.PHASES)
    RPhase = Enum("RPhase", ["IDLE", "FUNC", "DRAIN", "IN_CB", "CB_DONE", "PUT_DONE"])
    WFlags = Enum("WFlags", ["FREE", "CLAIMED", "READY"])
    Elem = Enum("Elem", ["LIVE", "DELETED", "FREED"])
    NONE, NO_CPU, NO_PROG = nitem, ncpu, nprog
    m = Model(
        spec=spec, cpus=ncpu, items=nitem, progs=nprog, variant=v, map_kind=cfg["map_kind"],
        callback=cfg["callback"], nmi=cfg["nmi"], irq_progs=cfg["irq_progs"], rcu=cfg["rcu"],
        irq_work_free=cfg["irq_work_free"], task_exit_drain=cfg["task_exit_drain"],
        user_closes=cfg["user_closes"], CPU=CPU, Item=Item, Prog=Prog, Level=Level, PC=PC, Phase=Phase,
        RPhase=RPhase, WFlags=WFlags, Elem=Elem, NONE=NONE, NO_CPU=NO_CPU, NO_PROG=NO_PROG,
        kc=kconfig.KernelConfig(cfg), cfg=cfg, Slot=Slot, ItemOrNone=ItemOrNone,
        CpuOrNone=CpuOrNone, ProgOrNone=ProgOrNone,
    )  # fmt: skip
    levels = m.ctx_levels
    declare_state(spec, m)
    register_actions(spec, m)

    # Memory corruption is undefined behaviour: the model does not guess what the kernel does after
    # it, so a behaviour halts (stutters) in the first corrupted state. This keeps every counter
    # bounded and makes later verdicts rest only on uncorrupted states.
    snapshots = ["gp_readers"] + (["elem_readers"] if m.hash_map else [])
    readers = [(c, lv) for c in CPU for lv in levels]
    for a in spec.actions:
        if a.name != "Quiescent":
            a.fn = halt_when(a.fn, m.broken)
        # A level is one read-side section from the start of a prog run or drain to its end; only the
        # context's pc and the runner's phase change whether it is busy.
        activity = ("pc", "runner") + (("iw_cpu",) if m.raised_irq_work_is_prompt else ())
        a.fn = rcu.end_finished_readers(a.fn, activity, readers, m.level_idle, snapshots)

    if not m.cb_submits and not locked:
        # A submitting callback picks the next item ((w + 1) mod n: only rotations are symmetries) and
        # lock_owner encodes the CPU as a number; every other variant treats all values alike.
        spec.symmetric(CPU, CpuOrNone)
        spec.symmetric(Item, ItemOrNone)
        spec.symmetric(Prog, ProgOrNone)
    properties.register(spec, m)
    witnesses.register(spec, m)
    refinement.register(spec, m)
    spec.model = m
    return spec


def declare_state(spec: Spec, m: Model) -> None:
    """The model's variables, in their order in a state (every engine and export relies on it)."""
    CPU, Item, Prog, Level, PC, Slot = m.CPU, m.Item, m.Prog, m.Level, m.PC, m.Slot
    ItemOrNone, CpuOrNone, ProgOrNone = m.ItemOrNone, m.CpuOrNone, m.ProgOrNone
    Phase, RPhase, WFlags, Elem = m.Phase, m.RPhase, m.WFlags, m.Elem
    NONE, NO_CPU, NO_PROG = m.NONE, m.NO_CPU, m.NO_PROG
    ncpu, nitem, nprog, empty_seq = m.cpus, m.items, m.progs, m.empty_seq
    # fd + link + one per item, plus claims racing on one item without the claim lock (one per context)
    max_ref = 2 + nitem + ncpu * len(m.ctx_levels)
    per_ctx = Fn(CPU, Fn(Level, PC))
    spec.var("pc", per_ctx, const_fn(CPU, const_fn(Level, PC.IDLE)), "helper program counter per context")
    # An idle context or runner holds "none" (not item 0 or prog 0): every item, CPU and prog is then
    # treated alike, which the symmetry reduction of the Z3 proofs relies on (spec.symmetric, make_spec).
    idle_ctx = const_fn(CPU, const_fn(Level, NONE))
    spec.var("sub_item", Fn(CPU, Fn(Level, ItemOrNone)), idle_ctx, "item being submitted")
    spec.var(
        "sub_prog", Fn(CPU, Fn(Level, ProgOrNone)), const_fn(CPU, const_fn(Level, NO_PROG)), "prog of the run"
    )
    spec.var("flags", Fn(Item, WFlags), const_fn(Item, WFlags.FREE), "bpf_delayed_work_kern.flags")
    spec.var("prog_refcnt", Fn(Prog, Int(-1, max_ref)), const_fn(Prog, 2), "fd + attach link at start")
    spec.var("prog_fd", Fn(Prog, Bool), const_fn(Prog, True))
    spec.var("prog_attached", Fn(Prog, Bool), const_fn(Prog, True))
    spec.var("prog_phase", Fn(Prog, Phase), const_fn(Prog, Phase.LIVE), "where the prog is on its free path")
    # Each pending grace period's readers: the contexts that were inside an RCU read-side section of
    # its flavour when it was started (call_rcu), each dropped when its section ends. Readers that
    # start later are not in it: Linux's grace period does not wait for them (call_rcu() kernel-doc).
    no_readers = const_fn(CPU, const_fn(Level, False))
    spec.var("gp_readers", Fn(Prog, Fn(CPU, Set(Level))), const_fn(Prog, no_readers),
             "readers the prog's pending grace period waits for")  # fmt: skip
    if m.task_ctx:
        spec.var("task_list", Fn(CPU, Fn(Slot, ItemOrNone)), const_fn(CPU, empty_seq), "per-task list")
        spec.var("task_alive", Fn(CPU, Bool), const_fn(CPU, True), "the task running on each CPU")
    else:
        spec.var("plist", Fn(Prog, Fn(Slot, ItemOrNone)), const_fn(Prog, empty_seq), "aux->irq_work->items")
        spec.var("iw_flags", Fn(Prog, Int(0, 3)), const_fn(Prog, 0), "irq_work node.a_flags")
        spec.var("iw_cpu", Fn(Prog, CpuOrNone), const_fn(Prog, NO_CPU), "raised_list the irq_work is on")
        spec.var("seen", Fn(CPU, Int(0, 3)), const_fn(CPU, 0), "irq_work_single's local flags")
    if m.locked:
        spec.var(
            "lock_owner", Fn(Prog, Int(0, 3 * ncpu)), const_fn(Prog, 0), "0 free, else 1 + 3*cpu + level"
        )
    spec.var("runner", Fn(CPU, RPhase), const_fn(CPU, RPhase.IDLE))
    spec.var("runner_prog", Fn(CPU, ProgOrNone), const_fn(CPU, NO_PROG))
    spec.var("chain", Fn(CPU, Fn(Slot, ItemOrNone)), const_fn(CPU, empty_seq), "detached llist being drained")
    # no_used_maps (claim (b) removed): the verifier does not keep the map in the prog's used_maps
    map_holders = 1 + (nprog if m.used_maps_hold_map else 0)
    spec.var("map_refcnt", Int(-1, 1 + nprog), map_holders, "the map fd + each prog's used_maps")
    spec.var("map_usercnt", Int(0, 1), 1, "the map fd")
    if m.hash_map:
        spec.var("elem", Fn(Item, Elem), const_fn(Item, Elem.LIVE), "hash element holding each item")
        spec.var("elem_readers", Fn(Item, Fn(CPU, Set(Level))), const_fn(Item, no_readers),
                 "readers the deleted element's grace period waits for")  # fmt: skip
    # ghosts: what the properties observe
    spec.var("runs", Fn(Item, Int(0, 2)), const_fn(Item, 0), "callback runs since the item's last claim")
    spec.var(
        "enqueued",
        Fn(Item, Int(0, 2)),
        const_fn(Item, 0),
        "ghost: the item's llist_adds whose callback has not run yet (a second one is list corruption)",
    )
    spec.var("ref_of", Fn(Item, ProgOrNone), const_fn(Item, NO_PROG), "the prog ref the item holds")
    spec.var("uaf_prog", Bool, False, "a callback ran while its prog was freed")
    spec.var("uaf_map", Bool, False, "freed map memory was read or written")
    spec.var("uaf_irq_work", Bool, False, "the freed irq_work or item list was touched")
    spec.var("double_enqueue", Bool, False, "llist_add of a node already linked")


def register_actions(spec: Spec, m: Model) -> None:
    """Each part's actions, in the order of the search's successors (traces depend on it: keep it)."""
    CPU, Item, Prog, Level = m.CPU, m.Item, m.Prog, m.Level
    levels, locked = m.ctx_levels, m.locked

    def act(fn: Any, name: str | None = None, **params: Any) -> None:
        spec.action(**params)(bind(fn, m, name))

    ctx = dict(c=CPU, lv=(Level, levels))
    # the submit path (submit.py)
    act(submit.ProgRunSubmit, c=CPU, lv=(Level, m.prog_levels), p=Prog, w=Item)
    act(submit.SubmitReady, **ctx)
    if m.task_ctx:
        act(submit.SubmitEnqueueTask, "SubmitEnqueue", **ctx)
    else:
        if locked:
            act(submit.SubmitLock, **ctx)
            act(submit.SubmitEnqueueLocked, "SubmitEnqueue", **ctx)
        else:
            act(submit.SubmitEnqueue, **ctx)
        act(submit.SubmitIrqWorkQueue, **ctx)
        if m.raised_irq_work_is_prompt:
            act(submit.SubmitReturn, c=CPU)
    # the runner (drain.py)
    if m.task_ctx:
        act(drain.TaskReturnToUser, c=CPU)
        act(drain.TaskExit, c=CPU)
    else:
        act(drain.IrqWorkRun, c=CPU, p=Prog)
        if locked:
            act(drain.DrainLock, c=CPU)
            act(drain.DrainTakeLocked, "DrainTake", c=CPU)
        else:
            act(drain.DrainTake, c=CPU)
        act(drain.IrqWorkDone, c=CPU)
    if m.task_ctx:
        act(drain.TaskDrainDone, c=CPU)
    act(drain.CallbackRun, c=CPU)
    if m.cb_submits and m.items > 1:
        act(drain.CallbackReturn, c=CPU)
    act(drain.DrainPut, c=CPU)
    act(drain.DrainRelease, c=CPU)
    # user space (user.py); user_closes = False: it keeps every fd and the attachment (no free path)
    user_progs = list(Prog) if m.user_closes else []
    act(user.ProgDetach, p=(Prog, user_progs))
    act(user.ProgFdClose, p=(Prog, user_progs))
    if m.user_closes:
        act(user.MapFdClose)
    if m.hash_map:
        act(user.MapDeleteElem, w=Item)
        act(free.ElemFreeRcu, w=Item)
    # the prog's free path (free.py)
    if m.drain_level == IRQ:
        act(free.ProgPutDeferred, p=Prog)
    act(free.RcuGracePeriod, p=Prog)
    act(free.ProgFreeDeferred, p=Prog)
    if m.repaired:
        act(free.ProgFreeAfterSyncRcu, p=Prog)
    act(Quiescent)
