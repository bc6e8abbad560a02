"""The vocabulary of the bpf_timer / bpf_wq model: its constants, and what every part shares.

``Model`` holds the configuration (``kind``, ``design``, the safeguard switches, the kernel
configuration), the Enums of the state, and the helpers the actions and the properties read:

- the execution contexts (TASK < SOFTIRQ < IRQ on each CPU; who interrupts whom; the map value's
  ``bpf_spin_lock`` held across steps with irqs off), and a helper call's caller ``who``: a context
  ("ctx", c, lv) or a wq callback's kworker ("kw", o);
- RCU: which context is a reader of which flavour (classic or tasks-trace), the snapshot a grace
  period starts with (the prog's ``call_rcu``, the object's ``kfree_rcu`` or tasks-trace free);
- the prog's reference (``bpf_prog_put``, ``drop_prog_refcnt``) and the object's free (``kfree``,
  ``kfree_rcu``);
- the use-after-free ghosts (a freed object touched, the prog's code or the map value used after
  their free).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spec.kernel import hrtimer, kconfig, prog, rcu, workqueue
from spec.lang import Enum, Spec, all_, and_, any_, ite, not_, or_, put

TASK, SOFTIRQ, IRQ = 0, 1, 2
CMD_NONE, CMD_START, CMD_CANCEL = 0, 1, 2
QUEUE = 2  # at most two commands wait on an object; a third allocation fails (-ENOMEM)
DEQUEUED, FN_READ, IN_OP = 1, 2, 3  # WPhase: the kworker took the work, read callback_fn, is inside


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


def kworker_reads(phase: Any, flavour: str, kc: kconfig.KernelConfig) -> Any:
    """A wq callback in this phase is a reader a grace period of this flavour waits for: inside its
    rcu_read_lock_trace section (IN_OP) for a tasks-trace one; between its dequeue and
    rcu_read_lock_trace on a non-preemptible kernel (an implicit classic reader) for a classic one or
    one a tasks-trace grace period implies."""
    pre = or_(phase == DEQUEUED, phase == FN_READ) if kc.non_preemptible else False
    if flavour == "classic":
        return pre
    inside = phase == IN_OP
    return or_(inside, pre) if kc.tt_implies_rcu else inside


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
    Level: Enum | None = None
    UPc: Enum | None = None  # user space's program counter
    ObjOrNone: Enum | None = None  # an object, or "none" (an empty slot, an idle caller)
    CpuOrNone: Enum | None = None
    Elem: Enum | None = None  # map = hash_malloc: a key's element's memory
    # what the switches select (set in __post_init__)
    timer: bool = field(init=False)  # kind = timer (else wq)
    locked: bool = field(init=False)  # design = locked (V24/W; else the rework R)
    irqc: bool = field(init=False)  # irq_callers: prog runs in hard-irq (the rework's deferral)
    hash: bool = field(init=False)  # map = hash: map_delete_elem takes the bucket lock (K-htab-update)
    lru: bool = field(init=False)  # map = lru: map_delete_elem takes the LRU lock after its free (K-lru)
    levels: list[int] = field(init=False)  # the context levels that exist
    prog_levels: list[int] = field(init=False)  # the levels prog runs start at
    lock_pcs: list[int] = field(init=False)  # pcs at which a context holds its value's lock
    prog_flavour: str = field(init=False)  # the prog's grace period: classic, or tasks_trace
    obj_flavour: str = field(init=False)  # the object's: kfree_rcu's classic, or R's tasks-trace

    def __post_init__(self) -> None:
        cfg, PC = self.cfg, self.PC
        self.timer = self.kind == "timer"
        self.locked = self.design == "locked"
        self.irqc = cfg["irq_callers"]
        self.hash = cfg["map"] == "hash"
        self.lru = cfg["map"] == "lru"
        self.malloc = cfg["map"] == "hash_malloc"
        self.levels = ([TASK, SOFTIRQ] if self.timer else [TASK]) + ([IRQ] if self.irqc else [])
        self.prog_levels = [TASK] + ([IRQ] if self.irqc else [])
        # The map value's bpf_spin_lock (locked design, taken with irqs off). A locked section is one
        # step, except where another CPU can observe it half-done: V21's init between its usercnt read
        # and the publish (INIT_CHECK: bpf_timer_cancel_and_free's lockless READ_ONCE(timer->timer)
        # sees NULL), and bpf_timer_cancel between its atomic_inc(&t->cancelling) and its read of
        # cur_t->cancelling (CANCEL_INC). A context at one of these pcs holds its value's lock: other
        # lockers of that value wait, and its CPU takes no softirq or hard-irq meanwhile.
        self.lock_pcs = (
            [PC.CANCEL_INC] + ([PC.INIT_CHECK] if cfg["init_usercnt_check"] == "before_publish" else [])
            if self.locked
            else []
        )
        self.prog_flavour = "tasks_trace" if cfg["sleepable"] else "classic"
        self.obj_flavour = "classic" if self.locked else "tasks_trace"  # kfree_rcu, or call_rcu_tasks_trace

    @property
    def nobj(self) -> int:
        return self.slots * self.objs

    def slot_of(self, o: int) -> int:
        return o // self.objs

    def user_gone(self, s: Any) -> Any:
        gone = and_(s.map_usercnt == 0, not_(s.prog_fd), not_(s.prog_attached))
        return and_(gone, not_(s.prog_pin)) if self.cfg["prog_pinned"] else gone

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

    # ---- execution contexts: TASK < SOFTIRQ < IRQ on each CPU
    def softirq_idle(self, s: Any, c: int) -> Any:
        return s.cb_phase[c] == self.CbPhase.IDLE if self.timer else True

    def worker_in_hardirq(self, s: Any, c: int) -> Any:
        """The rework's irq_work runs on c in hard-irq (IRQ_WORK_INIT: a thread on PREEMPT_RT)."""
        if not self.irqc or self.kc.rt:
            return False
        return s.wk_obj[c] != self.NO_OBJ

    def raised_on(self, s: Any, c: int) -> Any:
        """With self-IPI delivery an irq_work raised on c is taken as soon as c has irqs on: c's lower
        levels do not step and c reports no quiescent state until it runs."""
        if not self.irqc or self.kc.rt or not self.kc.self_ipi:
            return False
        return any_(s.iw_cpu[o] == c for o in self.Obj)

    def irq_busy(self, s: Any, c: int) -> Any:
        """Hard-irq on c is inside a prog run or the irq_work, or an irq_work is about to be taken
        (neither nests in the other here)."""
        if not self.irqc:
            return False
        return or_(s.pc[c][IRQ] != self.PC.IDLE, self.worker_in_hardirq(s, c), self.raised_on(s, c))

    def holds_value_lock(self, s: Any, c: int, lv: int, e: int) -> Any:
        """Context (c, lv) is inside a multi-step section under value e's lock."""
        arg = s.arg[c][lv]
        nper = self.objs
        return and_(
            any_(s.pc[c][lv] == p for p in self.lock_pcs), any_(arg == e * nper + k for k in range(nper))
        )

    # ---- the hash map's bucket lock (map = hash; every value in one bucket). Only user space's update
    # holds it across steps: htab_map_update_elem frees the replaced element's special fields under it
    # (its cancel_and_free's hrtimer_cancel: UPc.CAF_WAIT); map_delete_elem frees after the unlock, so
    # its locked section is one step; the sweep (map_release_uref) walks the elements unlocked.
    #
    # map = lru: user space's update holds the LRU list lock instead, across the evicted element's
    # cancel_and_free; map_delete_elem takes that lock after it freed the deleted element's timer, to
    # push the element on the free list (LRU_PUSH). The "bucket" helpers below name whichever lock
    # the map's update holds across its wait.
    def bucket_held(self, s: Any) -> Any:
        """Some context holds the bucket lock (map = lru: the LRU lock) across steps (user space's
        update, waiting)."""
        return s.upc == self.UPc.CAF_WAIT if self.hash or self.lru else False

    def bucket_holder_waits_for(self, s: Any, o: int) -> Any:
        """The bucket (LRU) lock's holder waits for object o's callback (hrtimer_cancel)."""
        return and_(s.upc == self.UPc.CAF_WAIT, s.uarg == o) if self.hash or self.lru else False

    def takes_bucket_next(self, s: Any, c: int) -> Any:
        """The timer callback on c is about to take the bucket lock (map_delete_elem), or (map = lru)
        the LRU lock (its map_delete_elem's push of the freed element)."""
        if self.lru:
            return and_(s.cb_phase[c] == self.CbPhase.IN_OP, s.pc[c][SOFTIRQ] == self.PC.LRU_PUSH)
        if not self.hash:
            return False
        ways = []
        for o in self.Obj:
            for k, (op, _e) in enumerate(self.callback_calls(self.slot_of(o))):
                if op == "delete":
                    nxt = s.cb_next[c] == k if self.max_callback_calls > 1 else True
                    ways.append(and_(s.cb_obj[c] == o, nxt))
        return and_(s.cb_phase[c] == self.CbPhase.BODY, or_(*ways)) if ways else False

    def lock_free(self, s: Any, e: int) -> Any:
        """Value e's lock can be taken: no context holds it across steps."""
        if not self.lock_pcs:
            return True
        return not_(any_(self.holds_value_lock(s, c, lv, e) for c in self.CPU for lv in self.levels))

    def irqs_off_at_task(self, s: Any, c: int) -> Any:
        """Task level on c holds a value's lock (irqs off), or (map = lru) spins in
        raw_spin_lock_irqsave for the LRU lock: c's softirq and hard-irq wait. A task at LRU_PUSH
        under a softirq that started before the lock was taken is not spinning: it was interrupted
        before its raw_spin_lock_irqsave, and the softirq runs on."""
        spins = False
        if self.lru:
            spins = and_(s.pc[c][TASK] == self.PC.LRU_PUSH, self.bucket_held(s), self.softirq_idle(s, c))
        if not self.lock_pcs:
            return spins
        return or_(spins, *[s.pc[c][TASK] == p for p in self.lock_pcs])

    def can_step(self, s: Any, c: int, lv: int) -> Any:
        """A level steps only while no higher level on its CPU is active (hard-irq interrupts softirq,
        softirq interrupts task), and a higher level only while the lower ones have irqs on."""
        checks = []
        if self.timer and lv == TASK:
            checks.append(self.softirq_idle(s, c))
        if lv < IRQ:
            checks.append(not_(self.irq_busy(s, c)))
        if lv > TASK:
            checks.append(not_(self.irqs_off_at_task(s, c)))
        return all_(checks)

    def hrtimer_running(self, s: Any, c: int, lv: int) -> Any:
        """this_cpu_read(hrtimer_running) as seen by context (c, lv): the callback on c, seen only by
        the callback itself (a task-level context runs only when c's softirq is idle)."""
        if not self.timer or lv != SOFTIRQ:
            return self.NO_OBJ
        return s.cb_obj[c]

    def level_active(self, s: Any, c: int, lv: int) -> Any:
        """Context (c, lv) is inside one activity: a prog run and its helper call (task, hard-irq), a
        timer callback (softirq), the irq_work in hard-irq or about to be taken there."""
        if lv == SOFTIRQ:
            return s.cb_phase[c] != self.CbPhase.IDLE if self.timer else False
        if lv == IRQ:
            return self.irq_busy(s, c)
        return s.pc[c][lv] != self.PC.IDLE

    # ---- RCU readers and grace periods
    def classic_reader(self, s: Any, c: int, lv: int) -> Any:
        """Inside a classic RCU read-side section (since v5.0 any region with preemption, softirqs or
        irqs disabled is one): a timer callback (bpf_timer_cb runs in softirq with BH disabled; it
        takes no rcu_read_lock of its own), hard-irq activity, a non-sleepable prog's run
        (rcu_read_lock). A sleepable prog's run (rcu_read_lock_trace, migrate_disable) is one only on
        a non-preemptible kernel, or inside a helper section that makes it one: bpf_timer_cancel holds
        rcu_read_lock() from its start to its end (0281b919e175), and a context holding its value's lock
        across steps has irqs off."""
        if lv == TASK and self.cfg["sleepable"] and not self.kc.non_preemptible:
            PC = self.PC
            sections = (
                {PC.CANCEL_INC, PC.CANCEL_WAIT, PC.CANCEL_DEC, *self.lock_pcs}
                if self.kind == "timer"
                else set()
            )
            return any_(s.pc[c][lv] == p for p in sorted(sections))
        return self.level_active(s, c, lv)

    def ctx_reader(self, s: Any, c: int, lv: int, flavour: str) -> Any:
        """Context (c, lv) is a reader a grace period of this flavour ("classic", "tasks_trace")
        waits for: a tasks-trace one waits for sleepable prog runs, and with implies_rcu (every
        shipped kernel) for the classic readers too."""
        classic = self.classic_reader(s, c, lv)
        if flavour == "classic":
            return classic
        trace = s.pc[c][lv] != self.PC.IDLE if (lv == TASK and self.cfg["sleepable"]) else False
        return or_(trace, classic) if self.kc.tt_implies_rcu else trace

    def readers_now(self, s: Any, flavour: str) -> tuple:
        levels = self.levels
        return rcu.snapshot(
            lambda c, lv: self.ctx_reader(s, c, lv, flavour) if lv in levels else False,
            self.cpus,
            len(self.Level),
        )

    def kworker_readers(self, s: Any, flavour: str) -> tuple:
        """The wq callbacks a grace period of this flavour started now waits for: inside their
        rcu_read_lock_trace section for a tasks-trace one; and on a non-preemptible kernel a kworker
        between its dequeue and rcu_read_lock_trace (no schedule point: an implicit classic reader,
        for a classic grace period or one a tasks-trace one implies). Inside the section a callback may
        sleep, so it is never counted as a classic reader."""
        return tuple(kworker_reads(s.wphase[k], flavour, self.kc) for k in self.Obj)

    def prog_call_rcu(self, s: Any, upd: dict, cond: Any) -> dict:
        """bpf_prog_put_deferred's call_rcu (call_rcu_tasks_trace for a sleepable prog)."""
        now = self.readers_now(s, self.prog_flavour)
        upd["prog_readers"] = rcu.start_gp(upd.get("prog_readers", s.prog_readers), 0, now, cond)
        if not self.timer:
            upd["prog_kw_readers"] = ite(cond, self.kworker_readers(s, self.prog_flavour), s.prog_kw_readers)
        return upd

    def obj_call_rcu(self, s: Any, o: int, upd: dict, cond: Any = True) -> dict:
        """The object's grace period starts (kfree_rcu, or R's call_rcu_tasks_trace): its readers are
        fixed now."""
        readers = upd.get("obj_readers", s.obj_readers)
        upd["obj_readers"] = put(readers, o, ite(cond, self.readers_now(s, self.obj_flavour), readers[o]))
        if not self.timer:
            kws = upd.get("kw_readers", s.kw_readers)
            upd["kw_readers"] = put(kws, o, ite(cond, self.kworker_readers(s, self.obj_flavour), kws[o]))
        return upd

    # ---- the prog and the object's memory
    def touch_obj(self, upd: dict, s: Any, o: int, cond: Any = True) -> dict:
        """The object's memory is read or written (if ``cond``): a use-after-free once it is freed."""
        upd["uaf_async"] = or_(upd.get("uaf_async", s.uaf_async), and_(cond, self.freed(s, o)))
        return upd

    def run_prog_code(self, upd: dict, s: Any, e: int | None = None) -> dict:
        """The callback runs the prog's code and reads its map value (of key e: with map =
        hash_malloc, an element that may have been deleted and freed)."""
        upd["uaf_prog"] = or_(upd.get("uaf_prog", s.uaf_prog), s.prog_phase == self.Phase.FREED)
        gone = s.map_refcnt == 0
        if self.malloc and e is not None:
            gone = or_(gone, s.elem[e] == self.Elem.FREED)
        upd["uaf_map"] = or_(upd.get("uaf_map", s.uaf_map), gone)
        return upd

    def prog_put(self, s: Any, upd: dict, irqs_off: bool) -> dict:
        """bpf_prog_put: at zero the free path starts (deferred to a workqueue with irqs off)."""
        refs, phases, now = prog.put_ref(
            (upd.get("prog_refcnt", s.prog_refcnt),),
            (upd.get("prog_phase", s.prog_phase),),
            0,
            self.Phase,
            irqs_off,
        )
        upd["prog_refcnt"], upd["prog_phase"] = refs[0], phases[0]
        if not irqs_off:
            self.prog_call_rcu(s, upd, now)
        return upd

    def drop_prog(self, s: Any, o: int, upd: dict, irqs_off: bool) -> dict:
        """drop_prog_refcnt: if cb->prog: bpf_prog_put; prog = callback_fn = NULL (with prog_ref off
        there is no reference to put)."""
        held = s.has_prog[o]
        upd["has_prog"] = put(upd.get("has_prog", s.has_prog), o, False)
        if not self.cfg["prog_ref"]:
            return upd
        put_upd = self.prog_put(s, dict(upd), irqs_off)
        for k in ("prog_refcnt", "prog_phase", "prog_readers", "prog_kw_readers"):
            if k in put_upd:
                upd[k] = ite(held, put_upd[k], upd.get(k, getattr(s, k)))
        return upd

    def kfree(self, s: Any, o: int, upd: dict) -> dict:
        """Free the object: kfree_rcu (a classic grace period) or kfree at once."""
        mem = upd.get("mem", s.mem)
        if self.cfg["free_rcu"]:
            upd["mem"] = put(mem, o, self.Mem.RCU_WAIT)
            self.obj_call_rcu(s, o, upd)
        else:
            upd["mem"] = put(mem, o, self.Mem.FREED)
        return upd

    def callback_calls(self, e: int) -> list[tuple[str, int]]:
        """The workload's helper calls made by a callback of value e, in order: [(op, value)]."""
        cb_kind = self.callback
        other = (e + 1) % self.slots
        if cb_kind == "none":
            return []
        if cb_kind == "rearm":
            return [("start", e)]
        if cb_kind == "mixed":
            return [("cancel", other)] if e == 0 else [("start", e), ("delete", e)]
        if cb_kind == "reinit_self":  # through the value pointer the callback was given
            return [("init", e), ("set_callback", e), ("start", e)]
        op, who = cb_kind.split("_")
        return [("cancel" if op == "cancel" else "delete", e if who == "self" else other)]

    @property
    def max_callback_calls(self) -> int:
        return max(len(self.callback_calls(e)) for e in range(self.slots))

    def new_obj(self, s: Any, e: int) -> list[tuple[Any, int]]:
        """The object the next init of value e allocates (``None`` past the bound)."""
        nper = self.objs
        return [(s.inits[e] == k, e * nper + k) for k in range(nper)]

    def arm(self, st: Any) -> Any:
        """The timer or work state after a start (hrtimer_start, schedule_work)."""
        return hrtimer.ENQUEUED if self.timer else workqueue.schedule(st)

    # ---- a helper call's caller: ("ctx", c, lv) for a prog run or timer callback, ("kw", o) for a
    # wq callback's kworker
    def set_ctx(self, s: Any, c: int, lv: int, pc: int, o: Any = None, inc: Any = False) -> dict:
        o = self.NO_OBJ if o is None else o
        return dict(
            pc=put(s.pc, c, put(s.pc[c], lv, pc)),
            arg=put(s.arg, c, put(s.arg[c], lv, o)),
            inc=put(s.inc, c, put(s.inc[c], lv, inc)),
        )

    def arg_of(self, s: Any, who: tuple) -> Any:
        return s.arg[who[1]][who[2]] if who[0] == "ctx" else s.warg[who[1]]

    def ctx_pc(self, s: Any, who: tuple) -> Any:
        return s.pc[who[1]][who[2]] if who[0] == "ctx" else s.wpc[who[1]]

    def set_who(self, s: Any, who: tuple, pc: int, o: Any = None, inc: Any = False) -> dict:
        if who[0] == "ctx":
            return self.set_ctx(s, who[1], who[2], pc, o, inc)
        o = self.NO_OBJ if o is None else o
        return dict(wpc=put(s.wpc, who[1], pc), warg=put(s.warg, who[1], o))

    def done(self, s: Any, who: tuple, after: dict | None) -> dict:
        """The helper returned: the caller's next state (a timer callback returns after its call)."""
        upd = self.set_who(s, who, self.PC.IDLE)
        if after is not None:
            upd.update(after)
        return upd
