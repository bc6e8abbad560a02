"""The vocabulary of the bpf_task_work model: its constants, and what every actor shares.

``Model`` holds the configuration (the safeguard switches of ``PARAMS`` and the kernel
configuration), the Enums of the state, and the operations on a ``struct bpf_task_work_ctx`` that
several actors make (kernel/bpf/helpers.c as merged, V8 = 38aa7003e369): a use of its memory
(``touch``), its state word (``set_state``), ``bpf_task_work_ctx_put`` and ``_ctx_reset``,
``init_irq_work`` + ``irq_work_queue``, the prog's ``bpf_prog_put`` and the readers its grace period
waits for, and how an actor (a scheduler, user space) records the ctx and value it works on. The
properties and lemmas read the same object (who holds which reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spec.kernel import irq_work, kconfig, prog, rcu
from spec.lang import Enum, Spec, all_, and_, ite, not_, or_, put


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
    kc: kconfig.KernelConfig | None = None  # the kernel configuration (spec/kernel/kconfig.py)
    CpuOrNone: Enum | None = None  # a CPU, or "none" (a raised list an irq_work is not on)
    ValOrNone: Enum | None = None
    ObjOrNone: Enum | None = None
    # what the switches and the kernel configuration select (set in __post_init__)
    check: str = field(init=False)  # usercnt_check: "after" (V8), "before" or "none"
    round_ref: bool = field(init=False)  # a round holds its own ctx ref (bpf_task_work_ctx_tryget)
    gp: bool = field(init=False)  # free_after_gp: v4-v6's grace period before the free
    prompt: bool = field(init=False)  # a self-IPI runs bpf_task_work_irq before the helper returns
    no_stall: bool = field(init=False)  # no slow activity starts while a runner is mid-way
    runner_hardirq: bool = field(init=False)  # bpf_task_work_irq runs in hard-irq (not RT's kthread)

    def __post_init__(self) -> None:
        self.check = self.cfg["usercnt_check"]
        self.round_ref = self.cfg["round_ref"]
        self.gp = self.cfg["free_after_gp"]
        kc = self.kc if self.kc is not None else kconfig.KernelConfig(self.cfg)
        # the irq_work runs in hard-irq (not a thread): a self-IPI takes it at once, and only a stall
        # can stretch it while another CPU makes slow progress
        hardirq_runner = not kc.rt
        # bpf_task_work_irq's puts are made in hard-irq (a last prog put is deferred), or on PREEMPT_RT
        # in the irq_work kthread with irqs on (bpf_prog_put_deferred runs at once)
        self.runner_hardirq = hardirq_runner
        self.prompt = hardirq_runner and kc.self_ipi
        self.no_stall = hardirq_runner and kc.no_stalls

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

    # ---- updates built up step by step: a variable's value so far in this step
    @staticmethod
    def cur(s: Any, upd: dict, name: str) -> Any:
        return upd.get(name, getattr(s, name))

    def orv(self, s: Any, upd: dict, name: str, cond: Any) -> None:
        """Set the ghost ``name`` if ``cond`` (it stays set)."""
        upd[name] = or_(self.cur(s, upd, name), cond)

    # ---- the ctx
    def touch(self, s: Any, o: int, upd: dict, cond: Any = True) -> dict:
        """helpers.c code reads or writes ctx o: a use-after-free if its memory is freed."""
        self.orv(s, upd, "uaf_ctx", and_(cond, self.cur(s, upd, "mem")[o] == self.Mem.FREED))
        return upd

    def readers_now(self, s: Any, upd: dict) -> tuple:
        """The readers in flight after this step (the actor making it included, if it goes on)."""
        pcs, runners = self.cur(s, upd, "pc"), self.cur(s, upd, "runner")
        ncpu, PC, RPhase = self.ncpu, self.PC, self.RPhase

        def is_reader(r: int, _k: int) -> Any:
            return pcs[r] != PC.IDLE if r < ncpu else runners[r - ncpu] != RPhase.IDLE

        return rcu.snapshot(is_reader, 2 * ncpu, 1)

    def prog_put(self, s: Any, upd: dict, cond: Any = True, hardirq: bool = False) -> dict:
        """bpf_prog_put (if cond): at zero the free path starts (deferred from hard-irq)."""
        cur = self.cur
        refs, phases, issues = prog.put_ref(
            (cur(s, upd, "prog_refcnt"),), (cur(s, upd, "prog_phase"),), 0, self.Phase, hardirq
        )
        upd["prog_refcnt"] = ite(cond, refs[0], cur(s, upd, "prog_refcnt"))
        upd["prog_phase"] = ite(cond, phases[0], cur(s, upd, "prog_phase"))
        if not hardirq:
            now = rcu.snapshot(lambda c, _k: s.pc[c] != self.PC.IDLE, self.ncpu, 1)
            upd["prog_gp"] = rcu.start_gp(cur(s, upd, "prog_gp"), 0, now, and_(cond, issues))
        return upd

    def reset(self, s: Any, o: int, upd: dict, cond: Any = True, hardirq: bool = False) -> dict:
        """bpf_task_work_ctx_reset (if cond): put ctx->prog, release ctx->task, both NULL."""
        hp = self.cur(s, upd, "has_prog")
        self.prog_put(s, upd, and_(cond, hp[o]), hardirq)
        upd["has_prog"] = put(hp, o, and_(hp[o], not_(cond)))
        ht = self.cur(s, upd, "has_task")
        upd["has_task"] = put(ht, o, and_(ht[o], not_(cond)))
        return upd

    def ctx_put(self, s: Any, o: int, upd: dict, hardirq: bool = False) -> dict:
        """bpf_task_work_ctx_put: refcount_dec_and_test; at 0 ctx_reset, then bpf_mem_free (or, with
        free_after_gp, the grace period starts)."""
        cur, Mem = self.cur, self.Mem
        self.touch(s, o, upd)
        r = cur(s, upd, "ref")
        new = r[o] - 1
        last = new == 0
        upd["ref"] = put(r, o, new)
        self.orv(s, upd, "underflow", new < 0)
        self.reset(s, o, upd, last, hardirq)
        mem = cur(s, upd, "mem")
        upd["mem"] = put(mem, o, ite(last, Mem.GP_WAIT if self.gp else Mem.FREED, mem[o]))
        if self.gp:
            upd["ctx_gp"] = rcu.start_gp(cur(s, upd, "ctx_gp"), o, self.readers_now(s, upd), last)
        return upd

    def set_state(self, s: Any, o: int, upd: dict, new: Any) -> dict:
        """ctx->state = new (an xchg or a cmpxchg that succeeded); leaving FREED is recorded."""
        st = self.cur(s, upd, "st")
        self.orv(s, upd, "left_freed", and_(st[o] == self.St.FREED, new != self.St.FREED))
        upd["st"] = put(st, o, new)
        return upd

    def end_round(self, s: Any, o: int, upd: dict) -> dict:
        upd["armed"] = put(self.cur(s, upd, "armed"), o, False)
        return upd

    def queue_iw(self, s: Any, o: int, c: int, fn: int, upd: dict) -> dict:
        """init_irq_work(&ctx->irq_work, fn) then irq_work_queue on CPU c: after init the claim always
        succeeds and queues it here."""
        cur = self.cur
        self.orv(s, upd, "reinit_pending", irq_work.is_pending(cur(s, upd, "iw_flags")[o]))
        flags, _ = irq_work.claim(0)
        upd["iw_flags"] = put(cur(s, upd, "iw_flags"), o, flags)
        upd["iw_cpu"] = put(cur(s, upd, "iw_cpu"), o, c)
        upd["iw_fn"] = put(cur(s, upd, "iw_fn"), o, fn)
        return upd

    # ---- the actors: schedulers (one per CPU) and user space
    def set_actor(self, s: Any, a: int, upd: dict, pc: int, obj: Any = None, val: Any = None) -> dict:
        """Actor a's program counter, and the ctx and value it works on (none by default)."""
        obj = self.NO_OBJ if obj is None else obj
        val = self.NO_VAL if val is None else val
        upd["pc"] = put(self.cur(s, upd, "pc"), a, pc)
        upd["aobj"] = put(self.cur(s, upd, "aobj"), a, obj)
        upd["aval"] = put(self.cur(s, upd, "aval"), a, val)
        return upd

    def sched_fail(self, s: Any, c: int, upd: dict) -> dict:
        """bpf_task_work_schedule returns an error: release the task, put the prog ref; the run ends."""
        self.prog_put(s, upd)
        return self.set_actor(s, c, upd, self.PC.IDLE)

    def handlers_quiet(self, s: Any) -> Any:
        """stalls = none on a non-RT kernel: no hard-irq handler is between two of its steps, so a slow
        activity (a return to user space, a system call, a task exit, a workqueue item) may start
        elsewhere."""
        return all_(s.runner[c] == self.RPhase.IDLE for c in self.CPU) if self.no_stall else True

    def user_idle(self, s: Any) -> Any:
        return and_(s.pc[self.USER] == self.PC.IDLE, s.job == self.Job.NONE)
