"""The vocabulary of the bpf_delayed_work model: its constants, and what every part shares.

``Model`` holds the configuration (the switches of ``PARAMS`` and what they select), the Enums of the
state, and the helpers the actions and the properties read: the execution contexts of a CPU (TASK <
IRQ < NMI, who interrupts whom, the list lock's irqs-off), RCU readers and grace periods (which
context a grace period of each flavour waits for), the prog's reference count and free path
(``bpf_prog_put``, ``call_rcu``), the map's reference, the llist operations on item ids, and the
use-after-free ghosts (touching an item's map value, the prog's ``bpf_delayed_irq_work``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spec.kernel import kconfig, llist, prog, rcu
from spec.lang import Enum, Spec, all_, and_, any_, count, not_, or_, put

# Variants without claim (d): a submitted item holds no reference to its prog.
WITHOUT_PROG_REF = ("no_work_prog_ref", "rfc_repaired_no_prog_ref")

TASK, IRQ, NMI = 0, 1, 2

# the actions of the irq_work handler and its drain
DRAIN_ACTIONS = ("IrqWorkRun", "DrainTake", "CallbackRun", "DrainPut", "DrainRelease", "IrqWorkDone")


def lane(action: str, args: dict[str, str]) -> str | None:
    """The execution context of a step, for the report's sequence diagrams (None: the generic rule,
    a CPU and level parameter, else user space or kernel). The irq_work handler and its drain run in
    hard-irq on their CPU, the lane that hard-irq prog runs share."""
    if action in DRAIN_ACTIONS:
        return f"{args['c']} IRQ"
    return None


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
    cfg: dict = field(default_factory=dict)  # every constant, PARAMS' defaults filled in
    Slot: Enum | None = None  # a list's slots
    ItemOrNone: Enum | None = None  # an item, or "none" (an empty slot, an idle context)
    CpuOrNone: Enum | None = None
    ProgOrNone: Enum | None = None
    # what the variant and the switches select (set from cfg in __post_init__)
    posted: bool = field(init=False)  # rfc_posted: the reversed list is dropped, a failed inc keeps READY
    sync_on_free: bool = field(init=False)  # bpf_prog_free_deferred calls irq_work_sync
    claim_lock: bool = field(init=False)  # the FREE -> CLAIMED cmpxchg gates a submit
    locked: bool = field(init=False)  # locked_list: a spinlock-protected list instead of the llist
    usercnt_policy: bool = field(init=False)  # usercnt: bpf_timer's policy (-EPERM, cancelled work)
    task_ctx: bool = field(init=False)  # task_context: a per-task list drained on return to user
    hash_map: bool = field(init=False)
    cb_submits: bool = field(init=False)  # a callback submits the next item
    repaired: bool = field(init=False)  # rfc_repaired*: synchronize_rcu after irq_work_sync
    strong_gp: bool = field(init=False)  # TEST ONLY: grace_period = too_strong
    ctx_levels: list[int] = field(init=False)  # the levels that exist (NMI only with nmi)
    prog_levels: list[int] = field(init=False)  # the levels prog runs start at
    empty_seq: tuple = field(init=False)  # an empty list

    def __post_init__(self) -> None:
        v = self.variant
        self.posted = v == "rfc_posted"
        self.sync_on_free = v != "no_sync_on_free"
        self.claim_lock = v != "no_claim_lock"
        self.locked = v == "locked_list"
        self.usercnt_policy = v == "usercnt"
        self.task_ctx = v == "task_context"
        self.hash_map = self.map_kind == "hash"
        self.cb_submits = self.callback == "submits"
        self.repaired = v in ("rfc_repaired", "rfc_repaired_no_prog_ref")
        self.strong_gp = self.cfg.get("grace_period") == "too_strong"
        self.ctx_levels = self.levels()
        self.prog_levels = [TASK] + ([IRQ] if self.irq_progs else []) + ([NMI] if self.nmi else [])
        self.empty_seq = tuple(self.NONE for _ in range(self.items))

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

    # ---- execution contexts: TASK < IRQ < NMI on each CPU
    def quiet_above(self, s: Any, c: int, lv: int) -> Any:
        """No level above lv is active on CPU c (they would have interrupted it)."""
        checks = []
        for hi in self.ctx_levels:
            if hi > lv:
                checks.append(self.level_idle(s, c, hi))
        return all_(checks)

    def level_idle(self, s: Any, c: int, lv: int) -> Any:
        return not_(self.level_busy(s, c, lv))

    def irqs_off_by_lock(self, s: Any, c: int, lv: int) -> Any:
        """spin_lock_irqsave: while task level holds the list lock, no hard-irq runs on that CPU."""
        if not self.locked or lv != IRQ:
            return False
        return any_(s.lock_owner[p] == 1 + 3 * c + TASK for p in self.Prog)

    def can_step(self, s: Any, c: int, lv: int) -> Any:
        return and_(self.quiet_above(s, c, lv), not_(self.irqs_off_by_lock(s, c, lv)))

    def set_ctx(
        self, s: Any, c: int, lv: int, pc: int, item: int | None = None, prog_: int | None = None
    ) -> dict:
        """Context (c, lv)'s program counter, and the item and prog of its submit (none when idle)."""
        item = self.NONE if item is None else item
        prog_ = self.NO_PROG if prog_ is None else prog_
        return {
            "pc": put(s.pc, c, put(s.pc[c], lv, pc)),
            "sub_item": put(s.sub_item, c, put(s.sub_item[c], lv, item)),
            "sub_prog": put(s.sub_prog, c, put(s.sub_prog[c], lv, prog_)),
        }

    def is_cb_context(self, s: Any, c: int, lv: int) -> Any:
        """The context's submit is made by a callback inside the drain, not by a prog run."""
        if lv != self.drain_level:
            return False
        return s.runner[c] != self.RPhase.IDLE

    def handlers_quiet(self, s: Any) -> Any:
        """stalls = none: no irq_work handler (the drain, hard-irq on every kernel: the RFC's irq_work
        is IRQ_WORK_HARD) is between two of its steps, so a slow activity (a system call, a workqueue
        item: a kworker woken and scheduled) may start elsewhere. A handler is a few instructions with
        irqs off; only a stall (NMI storm, SMI, preempted vCPU) stretches it past such an activity
        (kernel-facts.md#cfg-stalls, round4-traces.md §1)."""
        if self.kc is None or not self.kc.no_stalls or self.drain_level != IRQ:
            return True
        return all_(s.runner[c] == self.RPhase.IDLE for c in self.CPU)

    def drain_guard(self, s: Any, c: int) -> Any:
        """The drain on c may step: nothing above it runs, and its level is not inside a submit."""
        dl = self.drain_level
        return and_(self.can_step(s, c, dl), s.pc[c][dl] == self.PC.IDLE)

    # ---- llist on item ids (spec/kernel/llist.py)
    def llist_add(self, s: Any, head: tuple, w: int) -> list[tuple]:
        """llist_add(w, head): its two cases (spec/kernel/llist.py), w linked or not on any list."""
        return llist.add_cases(head, w, self.occurrences(s, w) > 0)

    def pop_front(self, seq: tuple) -> tuple:
        return llist.pop_front(seq, self.NONE)

    def seq_len(self, seq: tuple) -> Any:
        return llist.length(seq, self.NONE)

    def reversed_prefixes(self, seq: tuple) -> list[tuple]:
        return llist.reversed_prefixes(seq, self.NONE)

    # ---- RCU readers and grace periods
    def classic_reader(self, s: Any, c: int, lv: int) -> Any:
        """Context (c, lv) is inside a classic RCU read-side section: since the RCU flavour
        consolidation (v5.0) any region with preemption, softirqs or irqs disabled is one, so every
        non-sleepable prog run (rcu_read_lock), anything in hard-irq or NMI, the hard-irq drain (and,
        in task_context, the task's drain, run under rcu_read_lock) and, with self-IPI delivery, a
        raised irq_work's CPU. A sleepable prog's task-level run (rcu = tasks_trace) is one only on a
        non-preemptible kernel."""
        if self.rcu == "call_rcu" or lv != TASK or self.kc.non_preemptible:
            return self.level_busy(s, c, lv)
        drain = s.runner[c] != self.RPhase.IDLE if self.drain_level == TASK else False
        return or_(drain, and_(s.pc[c][lv] != self.PC.IDLE, self.is_cb_context(s, c, lv)))

    def rcu_reader(self, s: Any, c: int, lv: int, flavour: str) -> Any:
        """Context (c, lv) is a reader a grace period of this flavour waits for.

        call_rcu: a classic reader. tasks_trace: an rcu_read_lock_trace() section, i.e. the sleepable
        prog's own runs (a callback run by the drain is not one), and with tasks_trace = implies_rcu
        every classic reader too. RCU does not know which prog a reader runs: every prog's count."""
        if flavour == "tasks_trace":
            trace = and_(s.pc[c][lv] != self.PC.IDLE, not_(self.is_cb_context(s, c, lv)))
            return or_(trace, self.classic_reader(s, c, lv)) if self.kc.tt_implies_rcu else trace
        return self.classic_reader(s, c, lv)

    def readers_now(self, s: Any, flavour: str) -> tuple:
        """The set of readers in flight: what a grace period started now waits for."""
        levels = self.ctx_levels
        return rcu.snapshot(
            lambda c, lv: self.rcu_reader(s, c, lv, flavour) if lv in levels else False,
            len(self.CPU),
            len(self.Level),
        )

    def gp_over(self, s: Any, waited: tuple, flavour: str) -> Any:
        """A grace period whose readers were ``waited`` may end: every one of them has finished.
        (grace_period = too_strong, test only: no reader of the flavour is running at all.)"""
        if self.strong_gp:
            waited = self.readers_now(s, flavour)
        return rcu.gp_over(waited)

    def call_rcu(self, s: Any, p: int, upd: dict, cond: Any = True, flavour: str | None = None) -> dict:
        """call_rcu(&aux->rcu, ...) for p (if ``cond``): the grace period's readers are fixed now."""
        flavour = flavour or self.rcu
        upd["gp_readers"] = rcu.start_gp(
            upd.get("gp_readers", s.gp_readers), p, self.readers_now(s, flavour), cond
        )
        return upd

    # ---- the prog and the map
    def prog_put(self, s: Any, p: int, upd: dict, from_hardirq: bool = False) -> dict:
        """bpf_prog_put: dec_and_test; at zero the free path starts. __bpf_prog_put in hard-irq (or
        with irqs off) defers bpf_prog_put_deferred to a workqueue, so call_rcu comes later
        (ProgPutDeferred); from a syscall bpf_prog_put_deferred runs at once and issues call_rcu."""
        refs, phases, issues_call_rcu = prog.put_ref(
            upd.get("prog_refcnt", s.prog_refcnt),
            upd.get("prog_phase", s.prog_phase),
            p,
            self.Phase,
            from_hardirq,
        )
        upd["prog_refcnt"], upd["prog_phase"] = refs, phases
        if not from_hardirq:
            self.call_rcu(s, p, upd, issues_call_rcu)
        return upd

    def map_put(self, s: Any, upd: dict) -> dict:
        upd["map_refcnt"] = upd.get("map_refcnt", s.map_refcnt) - 1
        return upd

    def free_prog(self, s: Any, p: int, upd: dict) -> dict:
        """bpf_free_used_maps (a map put), then the prog (and, unless leaked, aux->irq_work) is freed."""
        upd["prog_phase"] = put(s.prog_phase, p, self.Phase.FREED)
        return self.map_put(s, upd) if self.used_maps_hold_map else upd

    # ---- use-after-free ghosts
    def touch_item(self, s: Any, w: int, upd: dict, when_: Any = True) -> dict:
        """Reading or writing item w's map value (if ``when_``): a use-after-free if that memory is gone."""
        upd["uaf_map"] = or_(upd.get("uaf_map", s.uaf_map), and_(when_, self.item_memory_freed(s, w)))
        return upd

    def touch_irq_work(self, s: Any, p: int, upd: dict) -> dict:
        """Reading or writing p's bpf_delayed_irq_work (irq_work flags, item list): a use-after-free
        once it is freed with the prog (irq_work_free = with_prog); the posted patch leaks it."""
        if self.irq_work_freed_with_prog:
            freed = s.prog_phase[p] == self.Phase.FREED
            upd["uaf_irq_work"] = or_(upd.get("uaf_irq_work", s.uaf_irq_work), freed)
        return upd
