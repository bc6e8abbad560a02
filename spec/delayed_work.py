"""The bpf_delayed_work RFC (July 2022) as a state machine, with its design variants as switches.

Sources are the sections of ``shared/domain/brief.md``: §1.3 (the posted code), §2 (irq_work), §3 (llist),
§6 (prog refcount and free path), §7 (map refcounts). Granularity: one step per atomic operation of the
posted code that another CPU or an NMI can observe in between.

Execution contexts. Each CPU has three levels: TASK < IRQ (hard-irq) < NMI. A higher level interrupts a
lower one, so a level steps only while every higher level on its CPU is idle. The irq_work runner is a
hard-irq activity (task context in the ``task_context`` variant, where it is the return-to-user drain).

A prog run is an RCU reader from its start until the helper returns and the run ends. It calls
``bpf_delayed_work_submit(w)`` once; the helper is these steps of the context's program counter ``pc``:
    IDLE --ProgRunSubmit (the claim)--> CLAIMED --SubmitReady--> ENQUEUE --SubmitEnqueue--> QUEUE
    QUEUE --SubmitIrqWorkQueue--> IDLE
(``locked_list`` adds LOCKED between ENQUEUE and QUEUE: the list spinlock is held). A failed claim
returns -EINVAL and the run ends in the same step. A callback that submits another item runs the same
steps at the runner's level.

The runner (irq_work_single + bpf_delayed_work_irq_work_cb), per CPU:
    IDLE --IrqWorkRun: del from raised list, clear PENDING, seen := flags--> FUNC
    FUNC --DrainTake: llist_del_all + order handling--> DRAIN
    DRAIN --CallbackRun(head)--> IN_CB (a submitting callback) or CB_DONE
    IN_CB --CallbackReturn--> CB_DONE --DrainPut: cb=data=NULL, bpf_prog_put--> PUT_DONE
    PUT_DONE --DrainRelease: xchg(flags, FREE), next item--> DRAIN
    DRAIN (chain empty) --IrqWorkDone: atomic_cmpxchg(flags, seen, seen & ~BUSY)--> IDLE

The prog's free path (``prog_phase``), as kernel/bpf/syscall.c and core.c have it:
    LIVE --last bpf_prog_put from a syscall: bpf_prog_put_deferred runs, call_rcu--> RCU_WAIT
    LIVE --last put in hard-irq (the drain): schedule_work--> PUT_DEFERRED
    PUT_DEFERRED --ProgPutDeferred: the workqueue runs bpf_prog_put_deferred, call_rcu--> RCU_WAIT
    RCU_WAIT --RcuGracePeriod: every reader in flight at call_rcu has finished--> SYNC
    SYNC --ProgFreeDeferred: irq_work_sync passes (!BUSY), bpf_free_used_maps, free--> FREED
    (rfc_repaired: SYNC --irq_work_sync, synchronize_rcu starts--> SYNC_RCU --it ends, release--> FREED)
A grace period's readers are copied when it starts (``gp_readers``) and each leaves the set when its
read-side section ends; readers that start later are not waited for (the call_rcu() kernel-doc in
kernel/rcu/tree.c: the callback "might well execute concurrently with RCU read-side critical
sections that started after call_rcu()").

Abstractions, each with why it loses no kernel behaviour (``ABSTRACTIONS`` below; the report lists them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spec.kernel import irq_work, kconfig, llist, prog, rcu
from spec.kernel.irq_work import BUSY, PENDING
from spec.lang import (
    Bool,
    Enum,
    Fn,
    Int,
    Set,
    Spec,
    SpecError,
    all_,
    and_,
    any_,
    const_fn,
    count,
    disabled,
    halt_when,
    ite,
    not_,
    or_,
    over,
    put,
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

# Variants without claim (d): a submitted item holds no reference to its prog.
WITHOUT_PROG_REF = ("no_work_prog_ref", "rfc_repaired_no_prog_ref")

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
    **kconfig.PARAMS,  # preemption, irq_work delivery, tasks-trace semantics, stalls (spec/kernel/kconfig.py)
}


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The kernel-configuration values that give this cell different behaviours. irq_work delivery
    matters wherever there is an irq_work (not task_context); with sleepable progs (rcu = tasks_trace)
    the tasks-trace semantics matter, and so does whether a sleepable prog's task-level run is an
    implicit classic reader (non-preemptible) or not (PREEMPT_RCU; the RFC's irq_work is
    IRQ_WORK_HARD, so PREEMPT_RT behaves as PREEMPT_RCU here). Stalls play no part: no step of the
    model waits on a slow activity of another CPU inside a hard-irq handler."""
    cfg = {k: v[1] for k, v in PARAMS.items()} | dict(constants)
    out: dict[str, tuple[str, ...]] = {}
    if cfg["variant"] != "task_context":
        out["irq_work"] = kconfig.IRQ_WORK
    if cfg["rcu"] == "tasks_trace":
        out["tasks_trace"] = kconfig.TASKS_TRACE
        out["preemption"] = ("none", "preempt_rcu")
    return out


# Every simplification of the kernel in this model, with why it loses no behaviour that matters to the
# properties (or, where it can, which way it errs). The design-review report prints this list.
def lane(action: str, args: dict[str, str]) -> str | None:
    """The execution context of a step, for the report's sequence diagrams (None: the generic rule,
    a CPU and level parameter, else user space or kernel). The irq_work handler and its drain run in
    hard-irq on their CPU, the lane that hard-irq prog runs share."""
    if action in ("IrqWorkRun", "DrainTake", "CallbackRun", "DrainPut", "DrainRelease", "IrqWorkDone"):
        return f"{args['c']} IRQ"
    return None


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
__all__ = ["BUSY", "CLAIMED_BITS", "PENDING", "PARAMS", "VARIANTS", "lane", "make_spec"]

TASK, IRQ, NMI = 0, 1, 2


@dataclass
class Model:
    """The constants and the model's vocabulary, shared with the invariants."""

    spec: Spec
    cpus: int
    items: int
    progs: int
    variant: str
    map_kind: str
    callback: str
    nmi: bool
    irq_progs: bool
    rcu: str
    irq_work_free: str
    task_exit_drain: bool
    user_closes: bool
    CPU: Enum
    Item: Enum
    Prog: Enum
    Level: Enum
    PC: Enum
    Phase: Enum
    RPhase: Enum
    WFlags: Enum
    Elem: Enum
    NONE: int  # "no item" in a list slot
    NO_CPU: int
    NO_PROG: int
    kc: kconfig.KernelConfig | None = None  # the kernel configuration (spec/kernel/kconfig.py)

    @property
    def items_hold_prog_ref(self) -> bool:
        """Claim (d): a submitted item holds a reference to its prog until the drain puts it."""
        return self.variant not in WITHOUT_PROG_REF

    @property
    def used_maps_hold_map(self) -> bool:
        """Claim (b): the map is in the prog's used_maps, i.e. each live prog holds a map reference."""
        return self.variant != "no_used_maps"

    @property
    def irq_work_freed_with_prog(self) -> bool:
        """aux->irq_work is freed with the prog (irq_work_free = with_prog), so touching it after the
        prog is freed is a use-after-free; the posted patch leaks it, and task_context has none."""
        return self.irq_work_free == "with_prog" and self.variant != "task_context"

    @property
    def drain_level(self) -> int:
        return TASK if self.variant == "task_context" else IRQ

    def level_busy(self, s: Any, c: int, lv: int, raised: bool = True) -> Any:
        """CPU c's level lv is inside one activity (a prog run or a callback's submit, or at the drain
        level the drain): one read-side section, from its start to its end. With irq_work delivered by
        self-IPI, an irq_work raised on c keeps c's hard-irq level busy until it runs (``raised``): c's
        task level does not step and c reports no quiescent state meanwhile."""
        run = s.pc[c][lv] != self.PC.IDLE
        if lv != self.drain_level:
            return run
        busy = or_(run, s.runner[c] != self.RPhase.IDLE)
        if raised and self.raised_irq_work_is_prompt:
            busy = or_(busy, any_(s.iw_cpu[p] == c for p in self.Prog))
        return busy

    @property
    def raised_irq_work_is_prompt(self) -> bool:
        """irq_work = self_ipi, and there is an irq_work (not task_context)."""
        return self.kc is not None and self.kc.self_ipi and self.variant != "task_context"

    def user_gone(self, s: Any) -> Any:
        """User space closed the map fd and every prog fd, and detached every prog."""
        return and_(
            s.map_usercnt == 0, *[and_(not_(s.prog_fd[p]), not_(s.prog_attached[p])) for p in self.Prog]
        )

    def levels(self) -> list[int]:
        return [lv for lv in (TASK, IRQ, NMI) if lv != NMI or self.nmi]

    # ---- where an item is
    def lists(self, s: Any) -> list[tuple]:
        """The list heads items can be on (the prog's llist, or each live task's list)."""
        if self.variant == "task_context":
            return [s.task_list[c] for c in self.CPU]
        return [s.plist[p] for p in self.Prog]

    def occurrences(self, s: Any, w: int) -> Any:
        """How many times w is linked on a list or a detached chain: more than one is list corruption."""
        slots = [x for lst in self.lists(s) for x in lst] + [x for c in self.CPU for x in s.chain[c]]
        return count(x == w for x in slots)

    def on_live_list(self, s: Any, w: int) -> Any:
        if self.variant == "task_context":
            return any_(and_(s.task_alive[c], any_(x == w for x in s.task_list[c])) for c in self.CPU)
        return any_(any_(x == w for x in s.plist[p]) for p in self.Prog)

    def in_drain(self, s: Any, w: int) -> Any:
        return any_(any_(x == w for x in s.chain[c]) for c in self.CPU)

    def in_submit(self, s: Any, w: int) -> Any:
        """A submit of w is in progress (between its claim and its return)."""
        return any_(
            and_(s.pc[c][lv] != self.PC.IDLE, s.sub_item[c][lv] == w)
            for c in self.CPU
            for lv in self.levels()
        )

    def runner_on(self, s: Any, p: int) -> Any:
        return any_(and_(s.runner[c] != self.RPhase.IDLE, s.runner_prog[c] == p) for c in self.CPU)

    def broken(self, s: Any) -> Any:
        """Memory was corrupted (a use-after-free or a double llist_add) earlier in the behaviour."""
        return or_(s.uaf_prog, s.uaf_map, s.uaf_irq_work, s.double_enqueue)

    def item_memory_freed(self, s: Any, w: int) -> Any:
        """The map value holding w (its llist node, flags, cb and data) has been freed."""
        freed = s.map_refcnt == 0
        if self.map_kind == "hash":
            freed = or_(freed, s.elem[w] == self.Elem.FREED)
        return freed


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS for names, defaults and ranges)."""
    from invariants.delayed_work import properties as props  # kept apart from the mechanism
    from invariants.delayed_work import witnesses

    cfg = {k: v[1] for k, v in PARAMS.items()}
    unknown = sorted(set(constants) - set(cfg))
    if unknown:
        raise SpecError(f"delayed_work: unknown constant(s) {', '.join(unknown)}")
    cfg.update(constants)
    if cfg["variant"] not in VARIANTS:
        raise SpecError(f"delayed_work: unknown variant {cfg['variant']!r} (known: {', '.join(VARIANTS)})")

    v = cfg["variant"]
    posted = v == "rfc_posted"
    sync_on_free = v != "no_sync_on_free"
    work_prog_ref = v not in WITHOUT_PROG_REF
    claim_lock = v != "no_claim_lock"
    locked = v == "locked_list"
    usercnt_policy = v == "usercnt"
    task_ctx = v == "task_context"
    hash_map = cfg["map_kind"] == "hash"
    cb_submits = cfg["callback"] == "submits"
    repaired = v in ("rfc_repaired", "rfc_repaired_no_prog_ref")
    strong_gp = cfg["grace_period"] == "too_strong"

    spec = Spec(f"delayed_work[{v}]")
    spec.constants = dict(cfg)
    spec.lemmas = "invariants.delayed_work.lemmas"
    ncpu, nitem, nprog = cfg["cpus"], cfg["items"], cfg["progs"]
    CPU = Enum("CPU", [f"cpu{i}" for i in range(ncpu)])
    Item = Enum("Item", [f"w{i}" for i in range(nitem)])
    Prog = Enum("Prog", [f"prog{i}" for i in range(nprog)])
    Level = Enum("Level", ["TASK", "IRQ", "NMI"])
    Slot = Enum("Slot", nitem)
    ItemOrNone = Enum("ItemOrNone", [*Item.names, "none"])
    CpuOrNone = Enum("CpuOrNone", [*CPU.names, "none"])
    ProgOrNone = Enum("ProgOrNone", [*Prog.names, "none"])
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
        spec, ncpu, nitem, nprog, v, cfg["map_kind"], cfg["callback"], cfg["nmi"], cfg["irq_progs"],
        cfg["rcu"], cfg["irq_work_free"], cfg["task_exit_drain"], cfg["user_closes"],
        CPU, Item, Prog, Level, PC, Phase, RPhase, WFlags, Elem, NONE, NO_CPU, NO_PROG,
    )  # fmt: skip
    kc = m.kc = kconfig.KernelConfig(cfg)
    levels = m.levels()
    dl = m.drain_level
    empty_seq = const_fn(Slot, NONE)
    # fd + link + one per item, plus claims racing on one item without the claim lock (one per context)
    max_ref = 2 + nitem + ncpu * len(levels)

    # ------------------------------------------------------------------ variables
    per_ctx = Fn(CPU, Fn(Level, PC))
    spec.var("pc", per_ctx, const_fn(CPU, const_fn(Level, PC.IDLE)), "helper program counter per context")
    # An idle context or runner holds "none" (not item 0 or prog 0): every item, CPU and prog is then
    # treated alike, which the symmetry reduction of the Z3 proofs relies on (spec.symmetric below).
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
    if task_ctx:
        spec.var("task_list", Fn(CPU, Fn(Slot, ItemOrNone)), const_fn(CPU, empty_seq), "per-task list")
        spec.var("task_alive", Fn(CPU, Bool), const_fn(CPU, True), "the task running on each CPU")
    else:
        spec.var("plist", Fn(Prog, Fn(Slot, ItemOrNone)), const_fn(Prog, empty_seq), "aux->irq_work->items")
        spec.var("iw_flags", Fn(Prog, Int(0, 3)), const_fn(Prog, 0), "irq_work node.a_flags")
        spec.var("iw_cpu", Fn(Prog, CpuOrNone), const_fn(Prog, NO_CPU), "raised_list the irq_work is on")
        spec.var("seen", Fn(CPU, Int(0, 3)), const_fn(CPU, 0), "irq_work_single's local flags")
    if locked:
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
    if hash_map:
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

    # ------------------------------------------------------------------ helpers (vocabulary)
    def quiet_above(s: Any, c: int, lv: int) -> Any:
        """No level above lv is active on CPU c (they would have interrupted it)."""
        checks = []
        for hi in levels:
            if hi > lv:
                checks.append(level_idle(s, c, hi))
        return all_(checks)

    def level_idle(s: Any, c: int, lv: int) -> Any:
        return not_(m.level_busy(s, c, lv))

    def irqs_off_by_lock(s: Any, c: int, lv: int) -> Any:
        """spin_lock_irqsave: while task level holds the list lock, no hard-irq runs on that CPU."""
        if not locked or lv != IRQ:
            return False
        return any_(s.lock_owner[p] == 1 + 3 * c + TASK for p in Prog)

    def can_step(s: Any, c: int, lv: int) -> Any:
        return and_(quiet_above(s, c, lv), not_(irqs_off_by_lock(s, c, lv)))

    def set_ctx(s: Any, c: int, lv: int, pc: int, item: int = NONE, prog: int = NO_PROG) -> dict:
        return {
            "pc": put(s.pc, c, put(s.pc[c], lv, pc)),
            "sub_item": put(s.sub_item, c, put(s.sub_item[c], lv, item)),
            "sub_prog": put(s.sub_prog, c, put(s.sub_prog[c], lv, prog)),
        }

    def llist_add(s: Any, head: tuple, w: int) -> list[tuple]:
        """llist_add(w, head): its two cases (spec/kernel/llist.py), w linked or not on any list."""
        return llist.add_cases(head, w, m.occurrences(s, w) > 0)

    def pop_front(seq: tuple) -> tuple:
        return llist.pop_front(seq, NONE)

    def seq_len(seq: tuple) -> Any:
        return llist.length(seq, NONE)

    def reversed_prefixes(seq: tuple) -> list[tuple]:
        return llist.reversed_prefixes(seq, NONE)

    def is_cb_context(s: Any, c: int, lv: int) -> Any:
        """The context's submit is made by a callback inside the drain, not by a prog run."""
        if lv != dl:
            return False
        return s.runner[c] != RPhase.IDLE

    def classic_reader(s: Any, c: int, lv: int) -> Any:
        """Context (c, lv) is inside a classic RCU read-side section: since the RCU flavour
        consolidation (v5.0) any region with preemption, softirqs or irqs disabled is one, so every
        non-sleepable prog run (rcu_read_lock), anything in hard-irq or NMI, the hard-irq drain (and,
        in task_context, the task's drain, run under rcu_read_lock) and, with self-IPI delivery, a
        raised irq_work's CPU. A sleepable prog's task-level run (rcu = tasks_trace) is one only on a
        non-preemptible kernel."""
        if cfg["rcu"] == "call_rcu" or lv != TASK or kc.non_preemptible:
            return m.level_busy(s, c, lv)
        drain = s.runner[c] != RPhase.IDLE if dl == TASK else False
        return or_(drain, and_(s.pc[c][lv] != PC.IDLE, is_cb_context(s, c, lv)))

    def rcu_reader(s: Any, c: int, lv: int, flavour: str) -> Any:
        """Context (c, lv) is a reader a grace period of this flavour waits for.

        call_rcu: a classic reader. tasks_trace: an rcu_read_lock_trace() section, i.e. the sleepable
        prog's own runs (a callback run by the drain is not one), and with tasks_trace = implies_rcu
        every classic reader too. RCU does not know which prog a reader runs: every prog's count."""
        if flavour == "tasks_trace":
            trace = and_(s.pc[c][lv] != PC.IDLE, not_(is_cb_context(s, c, lv)))
            return or_(trace, classic_reader(s, c, lv)) if kc.tt_implies_rcu else trace
        return classic_reader(s, c, lv)

    def readers_now(s: Any, flavour: str) -> tuple:
        """The set of readers in flight: what a grace period started now waits for."""
        return rcu.snapshot(
            lambda c, lv: rcu_reader(s, c, lv, flavour) if lv in levels else False, len(CPU), len(Level)
        )

    def gp_over(s: Any, waited: tuple, flavour: str) -> Any:
        """A grace period whose readers were ``waited`` may end: every one of them has finished.
        (grace_period = too_strong, test only: no reader of the flavour is running at all.)"""
        if strong_gp:
            waited = readers_now(s, flavour)
        return rcu.gp_over(waited)

    def call_rcu(s: Any, p: int, upd: dict, cond: Any = True, flavour: str | None = None) -> dict:
        """call_rcu(&aux->rcu, ...) for p (if ``cond``): the grace period's readers are fixed now."""
        flavour = flavour or cfg["rcu"]
        upd["gp_readers"] = rcu.start_gp(
            upd.get("gp_readers", s.gp_readers), p, readers_now(s, flavour), cond
        )
        return upd

    def prog_put(s: Any, p: int, upd: dict, from_hardirq: bool = False) -> dict:
        """bpf_prog_put: dec_and_test; at zero the free path starts. __bpf_prog_put in hard-irq (or
        with irqs off) defers bpf_prog_put_deferred to a workqueue, so call_rcu comes later
        (ProgPutDeferred); from a syscall bpf_prog_put_deferred runs at once and issues call_rcu."""
        refs, phases, issues_call_rcu = prog.put_ref(
            upd.get("prog_refcnt", s.prog_refcnt), upd.get("prog_phase", s.prog_phase), p, Phase, from_hardirq
        )
        upd["prog_refcnt"], upd["prog_phase"] = refs, phases
        if not from_hardirq:
            call_rcu(s, p, upd, issues_call_rcu)
        return upd

    def map_put(s: Any, upd: dict) -> dict:
        upd["map_refcnt"] = upd.get("map_refcnt", s.map_refcnt) - 1
        return upd

    def touch_item(s: Any, w: int, upd: dict, when_: Any = True) -> dict:
        """Reading or writing item w's map value (if ``when_``): a use-after-free if that memory is gone."""
        upd["uaf_map"] = or_(upd.get("uaf_map", s.uaf_map), and_(when_, m.item_memory_freed(s, w)))
        return upd

    def touch_irq_work(s: Any, p: int, upd: dict) -> dict:
        """Reading or writing p's bpf_delayed_irq_work (irq_work flags, item list): a use-after-free
        once it is freed with the prog (irq_work_free = with_prog); the posted patch leaks it."""
        if m.irq_work_freed_with_prog:
            freed = s.prog_phase[p] == Phase.FREED
            upd["uaf_irq_work"] = or_(upd.get("uaf_irq_work", s.uaf_irq_work), freed)
        return upd

    def claim(s: Any, c: int, lv: int, p: int, w: int, upd: dict, extra_guard: Any = True) -> tuple:
        """bpf_delayed_work_submit up to the claim: cmpxchg(flags, FREE, CLAIMED), then cb/data written.

        Returns the successful claim's step (pc CLAIMED, plus ``upd``) and the guard under which the
        claim is refused with -EINVAL (the caller decides what that returns to)."""
        alive = True
        if hash_map:
            alive = s.elem[w] == Elem.LIVE  # the prog found the element by lookup
        if usercnt_policy:
            alive = and_(alive, s.map_usercnt > 0)  # the bpf_timer policy: -EPERM without user refs
        free = s.flags[w] == WFlags.FREE if claim_lock else True
        ok = dict(upd)
        ok.update(set_ctx(s, c, lv, PC.CLAIMED, w, p))
        ok["flags"] = put(upd.get("flags", s.flags), w, WFlags.CLAIMED)
        ok["runs"] = put(upd.get("runs", s.runs), w, 0)
        touch_item(s, w, ok)
        return when(and_(extra_guard, alive, free), **ok), and_(extra_guard, alive, not_(free))

    # ------------------------------------------------------------------ prog runs and the helper
    prog_levels = [TASK] + ([IRQ] if cfg["irq_progs"] else []) + ([NMI] if cfg["nmi"] else [])

    @spec.action(c=CPU, lv=(Level, prog_levels), p=Prog, w=Item)
    def ProgRunSubmit(s, c, lv, p, w):
        """A prog run starts on CPU c (an RCU reader) and calls bpf_delayed_work_submit(w): the claim."""
        g = and_(s.prog_attached[p], level_idle(s, c, lv), can_step(s, c, lv))
        if task_ctx:
            g = and_(g, s.task_alive[c])
        if disabled(g):
            return []
        ok, _refused = claim(s, c, lv, p, w, {}, g)
        return ok  # a refused claim ends the run with no state change: a stuttering step

    @spec.action(c=CPU, lv=(Level, levels))
    def SubmitReady(s, c, lv):
        """cmpxchg(CLAIMED, READY), then bpf_prog_inc_not_zero(aux->prog)."""
        w, p = s.sub_item[c][lv], s.sub_prog[c][lv]
        g = and_(s.pc[c][lv] == PC.CLAIMED, can_step(s, c, lv))
        if disabled(g):
            return []
        steps = []
        for wi in over(w, Item):
            for pi in over(p, Prog):
                gi = and_(g, w == wi, p == pi)
                ready = dict(flags=put(s.flags, wi, WFlags.READY))
                touch_item(s, wi, ready)
                if not work_prog_ref:
                    steps.append(when(gi, **ready, **set_ctx(s, c, lv, PC.ENQUEUE, wi, pi)))
                    continue
                ref = s.prog_refcnt[pi]
                inc = dict(ready, prog_refcnt=put(s.prog_refcnt, pi, ref + 1), ref_of=put(s.ref_of, wi, pi))
                inc.update(set_ctx(s, c, lv, PC.ENQUEUE, wi, pi))
                steps.append(when(and_(gi, ref > 0), **inc))
                fail = dict(ready) if posted else dict(flags=put(s.flags, wi, WFlags.FREE))
                if not posted:
                    touch_item(s, wi, fail)
                fail.update(set_ctx(s, c, lv, PC.IDLE))  # returns -ENOENT; the item stays READY if posted
                steps.append(when(and_(gi, ref == 0), **fail))
        return steps

    if task_ctx:

        @spec.action(c=CPU, lv=(Level, levels))
        def SubmitEnqueue(s, c, lv):
            """llist_add onto the current task's list (task_work-style, drained on return to user)."""
            w = s.sub_item[c][lv]
            g = and_(s.pc[c][lv] == PC.ENQUEUE, can_step(s, c, lv))
            if disabled(g):
                return []
            steps = []
            for wi in over(w, Item):
                for case, new, corrupt in llist_add(s, s.task_list[c], wi):
                    upd = dict(task_list=put(s.task_list, c, new), **corrupt)
                    upd["enqueued"] = put(s.enqueued, wi, s.enqueued[wi] + 1)
                    upd.update(set_ctx(s, c, lv, PC.IDLE))
                    touch_item(s, wi, upd)
                    steps.append(when(and_(g, w == wi, case), **upd))
            return steps

    else:

        def enqueue_steps(s, c, lv, from_pc, to_pc):
            w, p = s.sub_item[c][lv], s.sub_prog[c][lv]
            g = and_(s.pc[c][lv] == from_pc, can_step(s, c, lv))
            if disabled(g):
                return []
            steps = []
            for wi in over(w, Item):
                for pi in over(p, Prog):
                    for case, new, corrupt in llist_add(s, s.plist[pi], wi):
                        upd = dict(plist=put(s.plist, pi, new), **corrupt)
                        upd["enqueued"] = put(s.enqueued, wi, s.enqueued[wi] + 1)
                        upd.update(set_ctx(s, c, lv, to_pc, wi, pi))
                        if locked:
                            upd["lock_owner"] = put(s.lock_owner, pi, 0)
                        touch_item(s, wi, upd)
                        touch_irq_work(s, pi, upd)
                        steps.append(when(and_(g, w == wi, p == pi, case), **upd))
            return steps

        if locked:

            @spec.action(c=CPU, lv=(Level, levels))
            def SubmitLock(s, c, lv):
                """spin_lock_irqsave(&list_lock): spins (stays disabled) while anyone holds it."""
                p = s.sub_prog[c][lv]
                g = and_(s.pc[c][lv] == PC.ENQUEUE, can_step(s, c, lv))
                if disabled(g):
                    return []
                return [
                    when(
                        and_(g, p == pi, s.lock_owner[pi] == 0),
                        lock_owner=put(s.lock_owner, pi, 1 + 3 * c + lv),
                        **set_ctx(s, c, lv, PC.LOCKED, s.sub_item[c][lv], pi),
                    )
                    for pi in over(p, Prog)
                ]

            @spec.action(c=CPU, lv=(Level, levels))
            def SubmitEnqueue(s, c, lv):
                """list_add under the lock, then spin_unlock_irqrestore."""
                return enqueue_steps(s, c, lv, PC.LOCKED, PC.QUEUE)

        else:

            @spec.action(c=CPU, lv=(Level, levels))
            def SubmitEnqueue(s, c, lv):
                """llist_add(&work->item, &aux->irq_work->items)."""
                return enqueue_steps(s, c, lv, PC.ENQUEUE, PC.QUEUE)

        @spec.action(c=CPU, lv=(Level, levels))
        def SubmitIrqWorkQueue(s, c, lv):
            """irq_work_queue: fetch_or(CLAIMED); only a claim that found PENDING clear queues on this CPU."""
            p = s.sub_prog[c][lv]
            g = and_(s.pc[c][lv] == PC.QUEUE, can_step(s, c, lv))
            if disabled(g):
                return []
            steps = []
            for pi in over(p, Prog):
                claimed, _queues_here = irq_work.claim(s.iw_flags[pi])
                upd = dict(
                    iw_flags=put(s.iw_flags, pi, claimed),
                    iw_cpu=put(s.iw_cpu, pi, irq_work.queue_cpu(s.iw_flags[pi], s.iw_cpu[pi], c)),
                )
                # tick delivery: the run returns in the same step (an irq_work that ran before its
                # rcu_read_unlock would only be waited for longer); self-IPI: it is interrupted first
                interrupted = m.raised_irq_work_is_prompt and lv == TASK
                upd.update(set_ctx(s, c, lv, PC.RETURN if interrupted else PC.IDLE))
                touch_irq_work(s, pi, upd)
                steps.append(when(and_(g, p == pi), **upd))
            return steps

        if m.raised_irq_work_is_prompt:

            @spec.action(c=CPU)
            def SubmitReturn(s, c):
                """irq_work = self_ipi: once the irq_work raised on c has run, the helper returns and
                the run ends (its read-side section included the irq_work)."""
                return when(
                    and_(s.pc[c][TASK] == PC.RETURN, can_step(s, c, TASK)), **set_ctx(s, c, TASK, PC.IDLE)
                )

    # ------------------------------------------------------------------ the runner
    def drain_guard(s, c):
        return and_(can_step(s, c, dl), s.pc[c][dl] == PC.IDLE)

    if task_ctx:

        @spec.action(c=CPU)
        def TaskReturnToUser(s, c):
            """The task returns to user space with work queued: llist_del_all + reverse, drain starts."""
            g = and_(
                s.task_alive[c], s.runner[c] == RPhase.IDLE, level_idle(s, c, TASK), quiet_above(s, c, TASK),
                seq_len(s.task_list[c]) > 0,
            )  # fmt: skip
            return [
                when(
                    and_(g, case),
                    task_list=put(s.task_list, c, empty_seq),
                    chain=put(s.chain, c, chain),
                    runner=put(s.runner, c, RPhase.DRAIN),
                )
                for case, chain in reversed_prefixes(s.task_list[c])
            ]

        @spec.action(c=CPU)
        def TaskExit(s, c):
            """The task exits; without a drain on exit its queued items are abandoned."""
            g = and_(
                s.task_alive[c], s.runner[c] == RPhase.IDLE, level_idle(s, c, TASK), quiet_above(s, c, TASK)
            )
            if cfg["task_exit_drain"]:
                g = and_(g, seq_len(s.task_list[c]) == 0)  # exit_task_work runs what is queued first
            return when(g, task_alive=put(s.task_alive, c, False))

    else:

        @spec.action(c=CPU, p=Prog)
        def IrqWorkRun(s, c, p):
            """The irq_work interrupt: take p's irq_work off this CPU's raised_list, clear PENDING."""
            idle = not_(m.level_busy(s, c, IRQ, raised=False))
            g = and_(s.iw_cpu[p] == c, s.runner[c] == RPhase.IDLE, idle, drain_guard(s, c))
            cleared = irq_work.run_start(s.iw_flags[p])
            upd = dict(
                iw_cpu=put(s.iw_cpu, p, NO_CPU),
                iw_flags=put(s.iw_flags, p, cleared),
                seen=put(s.seen, c, cleared),
                runner=put(s.runner, c, RPhase.FUNC),
                runner_prog=put(s.runner_prog, c, p),
            )
            touch_irq_work(s, p, upd)
            return when(g, **upd)

        def take_steps(s, c):
            """func = bpf_delayed_work_irq_work_cb: list = llist_del_all(items); reverse handling."""
            p = s.runner_prog[c]
            g = and_(s.runner[c] == RPhase.FUNC, drain_guard(s, c))
            if disabled(g):
                return []
            steps = []
            for pi in over(p, Prog):
                lst = s.plist[pi]
                if posted:
                    # llist_reverse_order(list) with its result discarded: iteration starts at the old
                    # head, now the tail (next == NULL), so only the newest item is visited.
                    chains = [(True, (lst[0],) + (NONE,) * (nitem - 1))]
                else:
                    chains = reversed_prefixes(lst)
                for case, chain in chains:
                    upd = dict(plist=put(s.plist, pi, empty_seq), chain=put(s.chain, c, chain))
                    upd["runner"] = put(s.runner, c, RPhase.DRAIN)
                    touch_irq_work(s, pi, upd)
                    for wi in Item:  # the reversal rewrites every node's next pointer
                        touch_item(s, wi, upd, any_(x == wi for x in lst))
                    steps.append(when(and_(g, p == pi, case), **upd))
            return steps

        if locked:

            @spec.action(c=CPU)
            def DrainLock(s, c):
                """spin_lock(&list_lock) in hard-irq before taking the list."""
                p = s.runner_prog[c]
                g = and_(s.runner[c] == RPhase.FUNC, drain_guard(s, c))
                if disabled(g):
                    return []
                return [
                    when(
                        and_(g, p == pi, s.lock_owner[pi] == 0),
                        lock_owner=put(s.lock_owner, pi, 1 + 3 * c + IRQ),
                    )
                    for pi in over(p, Prog)
                ]

            @spec.action(c=CPU)
            def DrainTake(s, c):
                """Take the whole list under the lock, then spin_unlock."""
                mine = 1 + 3 * c + IRQ
                held = any_(s.lock_owner[pi] == mine for pi in Prog)
                unlocked = tuple(ite(s.lock_owner[pi] == mine, 0, s.lock_owner[pi]) for pi in Prog)
                return [
                    st._replace(guard=and_(st.guard, held), updates={**st.updates, "lock_owner": unlocked})
                    for st in take_steps(s, c)
                ]

        else:

            @spec.action(c=CPU)
            def DrainTake(s, c):
                """list = llist_del_all(&items); then the order handling."""
                return take_steps(s, c)

        @spec.action(c=CPU)
        def IrqWorkDone(s, c):
            """func returned: atomic_cmpxchg(&flags, seen, seen & ~BUSY) (fails if someone re-claimed)."""
            p = s.runner_prog[c]
            g = and_(s.runner[c] == RPhase.DRAIN, s.chain[c][0] == NONE, drain_guard(s, c))
            if disabled(g):
                return []
            steps = []
            for pi in over(p, Prog):
                new = irq_work.run_end(s.iw_flags[pi], s.seen[c])
                upd = dict(
                    iw_flags=put(s.iw_flags, pi, new),
                    runner=put(s.runner, c, RPhase.IDLE),
                    runner_prog=put(s.runner_prog, c, NO_PROG),
                    seen=put(s.seen, c, 0),
                )
                touch_irq_work(s, pi, upd)
                steps.append(when(and_(g, p == pi), **upd))
            return steps

    def callback_prog(s, c, w):
        """The prog whose callback the drain runs for item w: its irq_work's prog, or in task_context
        (no per-prog irq_work) the prog the item holds its reference to."""
        return s.ref_of[w] if task_ctx else s.runner_prog[c]

    def task_done_guard(s, c):
        """In task_context the drain is the task's; it finishes when its chain is empty."""
        return and_(s.runner[c] == RPhase.DRAIN, s.chain[c][0] == NONE, drain_guard(s, c))

    if task_ctx:

        @spec.action(c=CPU)
        def TaskDrainDone(s, c):
            """All queued callbacks ran; the task goes on to user space."""
            return when(task_done_guard(s, c), runner=put(s.runner, c, RPhase.IDLE))

    @spec.action(c=CPU)
    def CallbackRun(s, c):
        """item->cb(item->data) for the chain's head: reads the map value, runs the prog's code."""
        w = s.chain[c][0]
        g = and_(s.runner[c] == RPhase.DRAIN, w != NONE, drain_guard(s, c))
        if disabled(g):
            return []
        steps = []
        for wi in over(w, Item):
            p = callback_prog(s, c, wi)
            for pi in over(p, Prog):
                gi = and_(g, w == wi, p == pi)
                base = dict(runs=put(s.runs, wi, ite(s.runs[wi] < 2, s.runs[wi] + 1, 2)))
                touch_item(s, wi, base)
                base["uaf_prog"] = or_(s.uaf_prog, s.prog_phase[pi] == Phase.FREED)
                if usercnt_policy:
                    # map_release_uref cancelled the work: the drain skips the callback.
                    cancelled = s.map_usercnt == 0
                    steps.append(when(and_(gi, cancelled), runner=put(s.runner, c, RPhase.CB_DONE)))
                    gi = and_(gi, not_(cancelled))
                base["enqueued"] = put(s.enqueued, wi, s.enqueued[wi] - 1)
                if cb_submits and nitem > 1:
                    nxt = (wi + 1) % nitem
                    upd = dict(base, runner=put(s.runner, c, RPhase.IN_CB))
                    ok, refused = claim(s, c, dl, pi, nxt, upd, gi)
                    steps.append(ok)
                    steps.append(when(refused, **base, runner=put(s.runner, c, RPhase.CB_DONE)))
                else:
                    steps.append(when(gi, **base, runner=put(s.runner, c, RPhase.CB_DONE)))
        return steps

    if cb_submits and nitem > 1:

        @spec.action(c=CPU)
        def CallbackReturn(s, c):
            """The callback's own bpf_delayed_work_submit returned; the callback returns."""
            g = and_(s.runner[c] == RPhase.IN_CB, s.pc[c][dl] == PC.IDLE, can_step(s, c, dl))
            return when(g, runner=put(s.runner, c, RPhase.CB_DONE))

    @spec.action(c=CPU)
    def DrainPut(s, c):
        """item->cb = item->data = NULL; bpf_prog_put(bpf_irq_work->prog)."""
        w = s.chain[c][0]
        g = and_(s.runner[c] == RPhase.CB_DONE, drain_guard(s, c))
        if disabled(g):
            return []
        steps = []
        for wi in over(w, Item):
            p = callback_prog(s, c, wi)
            for pi in over(p, Prog):
                upd = dict(runner=put(s.runner, c, RPhase.PUT_DONE))
                touch_item(s, wi, upd)
                if work_prog_ref:
                    prog_put(s, pi, upd, from_hardirq=dl == IRQ)
                    upd["ref_of"] = put(s.ref_of, wi, NO_PROG)
                steps.append(when(and_(g, w == wi, p == pi), **upd))
        return steps

    @spec.action(c=CPU)
    def DrainRelease(s, c):
        """xchg(&item->flags, FREE); the loop moves to the next (already read) node."""
        w = s.chain[c][0]
        g = and_(s.runner[c] == RPhase.PUT_DONE, drain_guard(s, c))
        if disabled(g):
            return []
        steps = []
        for wi in over(w, Item):
            upd = dict(
                flags=put(s.flags, wi, WFlags.FREE),
                chain=put(s.chain, c, pop_front(s.chain[c])),
                runner=put(s.runner, c, RPhase.DRAIN),
            )
            touch_item(s, wi, upd)
            steps.append(when(and_(g, w == wi), **upd))
        return steps

    # ------------------------------------------------------------------ user space and the free paths
    # user_closes = False: user space keeps every fd and the attachment (no free path at all)
    user_progs = list(Prog) if cfg["user_closes"] else []

    @spec.action(p=(Prog, user_progs))
    def ProgDetach(s, p):
        """User space detaches the prog: the link's reference is put."""
        return when(s.prog_attached[p], **prog_put(s, p, dict(prog_attached=put(s.prog_attached, p, False))))

    @spec.action(p=(Prog, user_progs))
    def ProgFdClose(s, p):
        """User space closes the prog fd."""
        return when(s.prog_fd[p], **prog_put(s, p, dict(prog_fd=put(s.prog_fd, p, False))))

    if cfg["user_closes"]:

        @spec.action()
        def MapFdClose(s):
            """bpf_map_put_with_uref: usercnt to 0 (map_release_uref: no hook in the RFC), then refcnt."""
            return when(s.map_usercnt == 1, map_usercnt=0, map_refcnt=s.map_refcnt - 1)

    if hash_map:

        @spec.action(w=Item)
        def MapDeleteElem(s, w):
            """User space deletes the hash element holding w (no cancel in patch 1/3). The element of a
            BPF_F_NO_PREALLOC htab is freed by call_rcu (htab_elem_free_rcu): its grace period waits
            for the readers in flight now, whatever the prog's flavour. (A preallocated htab puts it
            on a freelist for immediate reuse: weaker still, so every violation here holds there.)"""
            g = and_(s.map_usercnt == 1, s.elem[w] == Elem.LIVE)
            readers = put(s.elem_readers, w, readers_now(s, "call_rcu"))
            return when(g, elem=put(s.elem, w, Elem.DELETED), elem_readers=readers)

        @spec.action(w=Item)
        def ElemFreeRcu(s, w):
            """htab_elem_free_rcu: the grace period started at delete is over; readers that began
            after the delete (a drain raised later, another prog run) may still be running."""
            g = and_(s.elem[w] == Elem.DELETED, gp_over(s, s.elem_readers[w], "call_rcu"))
            return when(g, elem=put(s.elem, w, Elem.FREED))

    if dl == IRQ:

        @spec.action(p=Prog)
        def ProgPutDeferred(s, p):
            """The workqueue runs bpf_prog_put_deferred (the last put was made in hard-irq): it issues
            call_rcu (call_rcu_tasks_trace for a sleepable prog) only now."""
            upd = dict(prog_phase=put(s.prog_phase, p, Phase.RCU_WAIT))
            call_rcu(s, p, upd)
            return when(s.prog_phase[p] == Phase.PUT_DEFERRED, **upd)

    @spec.action(p=Prog)
    def RcuGracePeriod(s, p):
        """The grace period ends (__bpf_prog_put_rcu, then bpf_prog_free schedules
        bpf_prog_free_deferred): every reader in flight at call_rcu has finished."""
        g = and_(s.prog_phase[p] == Phase.RCU_WAIT, gp_over(s, s.gp_readers[p], cfg["rcu"]))
        return when(g, prog_phase=put(s.prog_phase, p, Phase.SYNC))

    def free_prog(s: Any, p: int, upd: dict) -> dict:
        """bpf_free_used_maps (a map put), then the prog (and, unless leaked, aux->irq_work) is freed."""
        upd["prog_phase"] = put(s.prog_phase, p, Phase.FREED)
        return map_put(s, upd) if m.used_maps_hold_map else upd

    @spec.action(p=Prog)
    def ProgFreeDeferred(s, p):
        """bpf_prog_free_deferred: irq_work_sync (spins while BUSY), then the release. rfc_repaired
        adds synchronize_rcu() between the two (ProgFreeAfterSyncRcu)."""
        g = s.prog_phase[p] == Phase.SYNC
        if sync_on_free and not task_ctx:
            g = and_(g, irq_work.sync_passes(s.iw_flags[p]))
        if repaired:
            upd = dict(prog_phase=put(s.prog_phase, p, Phase.SYNC_RCU))
            return when(g, **call_rcu(s, p, upd, flavour="call_rcu"))
        return when(g, **free_prog(s, p, {}))

    if repaired:

        @spec.action(p=Prog)
        def ProgFreeAfterSyncRcu(s, p):
            """synchronize_rcu() returns: every hard-irq section in flight after irq_work_sync, i.e.
            every runner that irq_work_sync could not see, has finished; now release."""
            g = and_(s.prog_phase[p] == Phase.SYNC_RCU, gp_over(s, s.gp_readers[p], "call_rcu"))
            return when(g, **free_prog(s, p, {}))

    @spec.action()
    def Quiescent(s):
        """Nothing is running or pending on any CPU: the system may idle (a stuttering step, not a
        deadlock). A state with no enabled action that is not quiescent is a real deadlock."""
        idle = [level_idle(s, c, lv) for c in CPU for lv in levels] + [
            s.runner[c] == RPhase.IDLE for c in CPU
        ]
        if not task_ctx:
            idle += [s.iw_cpu[p] == NO_CPU for p in Prog]
        idle += [or_(s.prog_phase[p] == Phase.LIVE, s.prog_phase[p] == Phase.FREED) for p in Prog]
        return when(or_(all_(idle), broken(s)))

    broken = m.broken

    # Memory corruption is undefined behaviour: the model does not guess what the kernel does after
    # it, so a behaviour halts (stutters) in the first corrupted state. This keeps every counter
    # bounded and makes later verdicts rest only on uncorrupted states.
    snapshots = ["gp_readers"] + (["elem_readers"] if hash_map else [])
    readers = [(c, lv) for c in CPU for lv in levels]
    for a in spec.actions:
        if a.name != "Quiescent":
            a.fn = halt_when(a.fn, broken)
        # A level is one read-side section from the start of a prog run or drain to its end; only the
        # context's pc and the runner's phase change whether it is busy.
        activity = ("pc", "runner") + (("iw_cpu",) if m.raised_irq_work_is_prompt else ())
        a.fn = rcu.end_finished_readers(a.fn, activity, readers, level_idle, snapshots)

    if not cb_submits and not locked:
        # A submitting callback picks the next item ((w + 1) mod n: only rotations are symmetries) and
        # lock_owner encodes the CPU as a number; every other variant treats all values alike.
        spec.symmetric(CPU, CpuOrNone)
        spec.symmetric(Item, ItemOrNone)
        spec.symmetric(Prog, ProgOrNone)
    props.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec
