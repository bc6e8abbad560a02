"""Two progs share one bpf_timer or bpf_wq: prog B sets the callback (and the prog reference) while
prog A's callback is armed or running (issue 21: two progs; docs/second-reading/round8-two-progs.md).

The verifier lets any prog that can reach the map value call ``bpf_timer_set_callback`` or
``bpf_wq_set_callback_impl`` on it; nothing records which prog ran the init (round8-two-progs.md Q3).
The object holds one prog reference, on ``cb->prog``; the callback code is ``cb->callback_fn``. A swap
puts the previous prog's reference, which is that prog's last once user space has detached it and
closed its fds, so the prog's free path starts while its callback may still be queued or running. The
callback itself takes no prog reference: a timer callback (softirq, BH off: a classic RCU reader)
relies on the prog's call_rcu; a wq callback reads ``callback_fn`` in a kworker and runs it under
``rcu_read_lock_trace`` only, which a non-sleepable prog's call_rcu does not wait for.

``design`` picks set_callback's code: ``locked`` (V24, v6.12: one section under the value's
bpf_spin_lock with irqs off; a previous prog's put is deferred to a workqueue) or ``loop`` (R1, the 2026
rework: lock-free, ``xchg`` of cb->prog and a release store of callback_fn in a loop that retries until
it reads back both of its own values). With ``memory = tso`` the loop runs on a CPU with a store buffer:
its store of callback_fn may wait in the buffer, its own later load reads it from there, and the
fully ordered read-modify-writes (xchg, the refcount's inc and dec) drain the buffer first.

Actors: prog A's runs on cpu0, prog B's on cpu1 (task level; each run calls set_callback with its own
callback, or start); the callback (a timer's softirq on a third CPU, or a wq's kworker); user space,
which detaches each prog and closes its fds once (each prog starts with that one reference); the
prog's deferred put (a workqueue) and its free after a grace period.
"""

from __future__ import annotations

from typing import Any

from spec.bpf_async.model import kworker_reads
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
    and_,
    any_,
    bind,
    cites,
    const_fn,
    disabled,
    halt_when,
    ite,
    not_,
    or_,
    put,
    when,
)

KINDS = ["timer", "wq"]
OPS = ["set_callback", "start"]  # the helper a prog run calls
DESIGNS = ["locked", "loop"]

PARAMS: dict[str, tuple] = {
    "kind": (str, "timer", KINDS),
    "design": (str, "locked", DESIGNS),
    # both progs are sleepable: a prog's free waits for a tasks-trace grace period
    # (call_rcu_tasks_trace), and its runs are rcu_read_lock_trace sections (a mix adds nothing: the
    # non-sleepable prog's callback would meet what it meets in a cell where both are)
    "sleepable": (bool, False),
    # the loop's exit test, READ_ONCE(cb->prog) != prog || READ_ONCE(cb->callback_fn) != callback_fn
    # (the rework's answer to two writers); False: one pass, as set_callback would be without it
    "retry_check": (bool, True),
    **kconfig.PARAMS,  # preemption, tasks-trace semantics, memory model (spec/kernel/kconfig.py)
}

# the prog runs' program counters: a run starts (BEGUN: in the prog, not yet in the helper), then
# set_callback (one step under the lock, or the loop's steps) or start
PCS = ["IDLE", "SETCB", "START", "GUARD", "XCHG", "STORE", "PUT_PREV", "READ_PROG", "READ_FN", "PUT_GUARD"]
LOOP_PCS = ["GUARD", "XCHG", "STORE", "PUT_PREV", "READ_PROG", "READ_FN", "PUT_GUARD"]
# the callback: a timer's body runs from its expiry to its return (one softirq section); a wq's
# kworker dequeues the work, reads callback_fn, enters rcu_read_lock_trace and calls it
CB_PHASES = ["IDLE", "DEQUEUED", "FN_READ", "IN_OP"]
PHASES = ["LIVE", "PUT_DEFERRED", "RCU_WAIT", "FREED"]  # prog.PHASES' stages this model uses
READERS = ["run_cpu0", "run_cpu1", "callback"]
A, B = 0, 1

ABSTRACTIONS = [
    "Prog A runs only on cpu0 and prog B only on cpu1, one run at a time each, at task level: what a "
    "swap needs is two runs at once on two CPUs; two runs of one prog add only more of the same swaps.",
    "The callback runs on a third CPU: it reads callback_fn from memory, never from a writer's store "
    "buffer (a callback on the writer's CPU would see the buffered store earlier, the same value).",
    "One callback instance at a time: the timer does not expire (the work is not dequeued) again before "
    "the running callback returns.",
    "v6.12's set_callback is one step: the whole section runs under the value's bpf_spin_lock with irqs "
    "off, and the only lockless reader of its fields (the callback) reads one field once. Its map "
    "usercnt check is left out (user space keeps the map).",
    "The loop's bpf_prog_inc_not_zero and its xchg are one step: the run holds its guard reference, so "
    "the count cannot reach zero between them, and both are fully ordered.",
    "bpf_prog_free_deferred's work after the grace period is merged into the free: the prog's code is "
    "freed when its grace period ends (a later free only narrows the window).",
    "The map, cancel and map_delete_elem are left out (spec/bpf_async has them): the object lives for "
    "ever, and set_callback never meets cancel_and_free.",
]


class Model:
    """The constants and the helpers the actions and properties read."""

    def __init__(self, cfg: dict[str, Any], kc: kconfig.KernelConfig, **enums: Enum) -> None:
        self.cfg, self.kc = cfg, kc
        self.CPU, self.Prog, self.ProgOrNone = enums["CPU"], enums["Prog"], enums["ProgOrNone"]
        self.PC, self.CbPhase, self.Phase, self.Reader = (
            enums["PC"],
            enums["CbPhase"],
            enums["Phase"],
            enums["Reader"],
        )
        self.NONE = len(self.Prog)  # ProgOrNone's "none": no prog, a NULL callback, an empty buffer
        self.timer = cfg["kind"] == "timer"
        self.locked = cfg["design"] == "locked"
        self.tso = cfg["memory"] == "tso"

    def prog_of(self, c: int) -> int:
        """The prog whose runs cpu c runs (A on cpu0, B on cpu1)."""
        return c

    def sleepable(self, p: int) -> bool:
        return self.cfg["sleepable"]

    def flavour(self, p: int) -> str:
        """The grace period prog p's free waits for (bpf_prog_put_deferred: call_rcu, or
        call_rcu_tasks_trace for a sleepable prog)."""
        return "tasks_trace" if self.sleepable(p) else "classic"

    def in_loop(self, s: Any, c: int) -> Any:
        return any_(s.pc[c] == getattr(self.PC, p) for p in LOOP_PCS)

    def settled(self, s: Any) -> Any:
        """No set_callback is half done and no store waits in a buffer."""
        return and_(*[not_(self.in_loop(s, c)) for c in self.CPU], *[s.buf[c] == self.NONE for c in self.CPU])

    # ---- RCU readers
    def reader(self, s: Any, r: int, flavour: str) -> Any:
        """Reader r is inside a read-side section a grace period of this flavour waits for. A
        non-sleepable prog's run (rcu_read_lock) and a timer callback (softirq, BH off) are classic
        readers; a sleepable prog's run is a tasks-trace one (rcu_read_lock_trace), and a classic one
        only on a non-preemptible kernel; a wq callback as spec/bpf_async's kworker_reads says. A
        tasks-trace grace period also waits for classic readers where it implies an RCU one."""
        if r < len(self.CPU):
            running = s.pc[r] != self.PC.IDLE
            if self.sleepable(self.prog_of(r)):
                classic = running if self.kc.non_preemptible else False
                trace = running
            else:
                classic, trace = running, False
        elif self.timer:
            classic, trace = s.cbk == self.CbPhase.IN_OP, False
        else:
            return kworker_reads(s.cbk, flavour, self.kc)
        if flavour == "classic":
            return classic
        return or_(trace, classic) if self.kc.tt_implies_rcu else trace

    def readers_now(self, s: Any, p: int) -> tuple:
        return rcu.snapshot(lambda r, _k: self.reader(s, r, self.flavour(p)), len(self.Reader), 1)

    # ---- the prog's reference
    def prog_put(self, s: Any, upd: dict, p: Any, irqs_off: bool, cond: Any = True) -> dict:
        """bpf_prog_put(p) if ``cond`` (p may be a term: one branch per prog). At zero: with irqs off
        the rest is deferred to a workqueue (ProgPutDeferred), else call_rcu now."""
        for q in self.Prog:
            refs, phases, now = prog.put_ref(
                upd.get("refcnt", s.refcnt), upd.get("phase", s.phase), q, self.Phase, irqs_off
            )
            hit = and_(cond, p == q)
            upd["refcnt"] = ite(hit, refs, upd.get("refcnt", s.refcnt))
            upd["phase"] = ite(hit, phases, upd.get("phase", s.phase))
            gp = upd.get("gp", s.gp)
            upd["gp"] = rcu.start_gp(gp, q, self.readers_now(s, q), and_(hit, now))
        return upd

    def broken(self, s: Any) -> Any:
        """A prog's code runs after its free: undefined behaviour, where a behaviour halts (halt_when)."""
        from invariants.prog_swap.properties import runs_freed_code

        return runs_freed_code(s, self)

    def set_pc(self, s: Any, c: int, pc: Any) -> tuple:
        return put(s.pc, c, pc)


def _run_guard(m: Model, s: Any, c: int, pc: str) -> Any:
    return s.pc[c] == getattr(m.PC, pc)


@cites(
    "V24",
    "the environment: prog A (cpu0) or B (cpu1) runs and calls bpf_timer_set_callback / "
    "bpf_wq_set_callback_impl with its own callback, or bpf_timer_start / bpf_wq_start",
    "__bpf_prog_run under rcu_read_lock (rcu_read_lock_trace for a sleepable prog); BPF_CALL_3("
    "bpf_timer_set_callback, ..., struct bpf_prog_aux *, aux) { return __bpf_async_set_callback(timer, "
    "callback_fn, aux->prog, ...); }",
    "a run starts while its prog is attached (user space has not detached it): the read-side section "
    "begins; its helper call is the next step",
)
def ProgRun(m: Model, s: Any, p: int, op: int) -> Step:
    """Prog p starts a run that calls set_callback (its own callback) or start."""
    c = p
    first = {"set_callback": "SETCB" if m.locked else "GUARD", "start": "START"}[OPS[op]]
    return when(and_(s.pc[c] == m.PC.IDLE, s.attached[p]), pc=m.set_pc(s, c, getattr(m.PC, first)))


@cites(
    "V24",
    "__bpf_async_set_callback",
    "__bpf_spin_lock_irqsave(&async->lock); ... prev = cb->prog; if (prev != prog) { prog = "
    "bpf_prog_inc_not_zero(prog); if (IS_ERR(prog)) { ret = PTR_ERR(prog); goto out; } if (prev) "
    "bpf_prog_put(prev); cb->prog = prog; } rcu_assign_pointer(cb->callback_fn, callback_fn); out: "
    "__bpf_spin_unlock_irqrestore(&async->lock);",
    "one section under the value's lock with irqs off (ABSTRACTIONS); the put of prev with irqs off "
    "defers its free path to a workqueue (__bpf_prog_put: irqs_disabled()); the run returns",
)
def SetCallbackLocked(m: Model, s: Any, c: int) -> list[Step]:
    g = _run_guard(m, s, c, "SETCB")
    if disabled(g):
        return []
    p = m.prog_of(c)
    prev = s.cb_prog
    idle = m.set_pc(s, c, m.PC.IDLE)
    same = when(and_(g, prev == p), cb_fn=p, pc=idle)
    fails = when(and_(g, prev != p, s.refcnt[p] == 0), pc=idle)  # -ENOENT: nothing changes
    upd: dict = dict(refcnt=put(s.refcnt, p, s.refcnt[p] + 1), cb_prog=p, cb_fn=p, pc=idle)
    m.prog_put(s, upd, prev, irqs_off=True, cond=prev != m.NONE)
    return [same, fails, when(and_(g, prev != p, s.refcnt[p] > 0), **upd)]


@cites(
    "R1",
    "bpf_async_update_prog_callback: the guard reference",
    "/* Acquire a guard reference on prog to prevent it from being freed during the loop */ if (prog) { "
    "prog = bpf_prog_inc_not_zero(prog); if (IS_ERR(prog)) return PTR_ERR(prog); }",
    "one atomic64_fetch_add_unless (fully ordered when it succeeds: the store buffer is empty); at zero "
    "the helper returns -ENOENT and the run ends",
)
def LoopGuard(m: Model, s: Any, c: int) -> list[Step]:
    g = and_(_run_guard(m, s, c, "GUARD"), s.buf[c] == m.NONE)
    if disabled(g):
        return []
    p = m.prog_of(c)
    return [
        when(
            and_(g, s.refcnt[p] > 0), refcnt=put(s.refcnt, p, s.refcnt[p] + 1), pc=m.set_pc(s, c, m.PC.XCHG)
        ),
        when(and_(g, s.refcnt[p] == 0), pc=m.set_pc(s, c, m.PC.IDLE)),
    ]


@cites(
    "R1",
    "bpf_async_update_prog_callback: the loop's inc and xchg",
    "do { if (prog) prog = bpf_prog_inc_not_zero(prog); prev = xchg(&cb->prog, prog);",
    "one step (ABSTRACTIONS): the inc cannot fail under the guard; both are fully ordered read-modify-"
    "writes, so on a CPU with a store buffer they wait until it is drained",
)
def LoopXchg(m: Model, s: Any, c: int) -> Step:
    p = m.prog_of(c)
    g = and_(_run_guard(m, s, c, "XCHG"), s.buf[c] == m.NONE)
    return when(
        g,
        refcnt=put(s.refcnt, p, s.refcnt[p] + 1),
        prev=put(s.prev, c, s.cb_prog),
        cb_prog=p,
        pc=m.set_pc(s, c, m.PC.STORE),
    )


@cites(
    "R1",
    "bpf_async_update_prog_callback: the callback's store",
    "rcu_assign_pointer(cb->callback_fn, callback_fn);",
    "one release store: to memory, or (memory = tso) into the CPU's store buffer, which the loop's last "
    "fully ordered operation drained (it holds at most this one store)",
)
def LoopStore(m: Model, s: Any, c: int) -> Step:
    p = m.prog_of(c)
    g = _run_guard(m, s, c, "STORE")
    store = dict(buf=put(s.buf, c, p)) if m.tso else dict(cb_fn=p)
    return when(g, pc=m.set_pc(s, c, ite(s.prev[c] == m.NONE, _after_put(m), m.PC.PUT_PREV)), **store)


def _after_put(m: Model) -> int:
    """Where the loop goes after the put of prev: the exit test, or (retry_check off) the end."""
    return m.PC.READ_PROG if m.cfg["retry_check"] else m.PC.PUT_GUARD


@cites(
    "R1",
    "bpf_async_update_prog_callback: the put of the previous prog",
    "if (prev) bpf_prog_put(prev);",
    "one atomic64_dec_and_test (fully ordered: the store buffer drains first); irqs are on at task "
    "level, so at zero bpf_prog_put_deferred runs now and issues call_rcu (call_rcu_tasks_trace)",
)
def LoopPutPrev(m: Model, s: Any, c: int) -> Step:
    g = and_(_run_guard(m, s, c, "PUT_PREV"), s.buf[c] == m.NONE)
    upd: dict = dict(prev=put(s.prev, c, m.NONE), pc=m.set_pc(s, c, _after_put(m)))
    m.prog_put(s, upd, s.prev[c], irqs_off=False)
    return when(g, **upd)


@cites(
    "R1",
    "bpf_async_update_prog_callback: the exit test, first half",
    "} while (READ_ONCE(cb->prog) != prog ||",
    "one load of cb->prog (written only by xchg, never buffered); a mismatch retries at once",
)
def LoopReadProg(m: Model, s: Any, c: int) -> Step:
    p = m.prog_of(c)
    g = _run_guard(m, s, c, "READ_PROG")
    return when(g, pc=m.set_pc(s, c, ite(s.cb_prog == p, m.PC.READ_FN, m.PC.XCHG)))


@cites(
    "R1",
    "bpf_async_update_prog_callback: the exit test, second half",
    "(void __force *)READ_ONCE(cb->callback_fn) != callback_fn);",
    "one load of callback_fn: from the CPU's own store buffer if its store still waits there (x86-TSO "
    "store forwarding), else from memory; a mismatch retries",
)
def LoopReadFn(m: Model, s: Any, c: int) -> Step:
    p = m.prog_of(c)
    g = _run_guard(m, s, c, "READ_FN")
    seen = ite(s.buf[c] != m.NONE, s.buf[c], s.cb_fn) if m.tso else s.cb_fn
    return when(g, pc=m.set_pc(s, c, ite(seen == p, m.PC.PUT_GUARD, m.PC.XCHG)))


@cites(
    "R1",
    "bpf_async_update_prog_callback: the guard's release",
    "if (prog) bpf_prog_put(prog); return 0;",
    "one atomic64_dec_and_test (fully ordered: the buffer drains first); the run returns",
)
def LoopPutGuard(m: Model, s: Any, c: int) -> Step:
    g = and_(_run_guard(m, s, c, "PUT_GUARD"), s.buf[c] == m.NONE)
    upd: dict = dict(pc=m.set_pc(s, c, m.PC.IDLE))
    m.prog_put(s, upd, m.prog_of(c), irqs_off=False)
    return when(g, **upd)


@cites(
    "R1",
    "the store buffer (memory = tso)",
    "x86-TSO: a store leaves the buffer for memory in order, at any time, and before a locked "
    "instruction completes; the LKMM allows at least this reordering of a release store and a later load",
    "one buffered store reaches memory",
)
def Drain(m: Model, s: Any, c: int) -> Step:
    return when(s.buf[c] != m.NONE, cb_fn=s.buf[c], buf=put(s.buf, c, m.NONE))


@cites(
    "V24",
    "bpf_timer_start / bpf_wq_start (R1's alike)",
    "t = READ_ONCE(async->timer); if (!t || !READ_ONCE(t->cb.prog)) return -EINVAL; ... "
    "hrtimer_start(&t->timer, ns_to_ktime(nsecs), mode); | if (!w || !READ_ONCE(w->cb.prog)) return "
    "-EINVAL; schedule_work(&w->work);",
    "one step: one read of cb->prog, then the arm (already armed: stays armed); the run returns",
)
def Start(m: Model, s: Any, c: int) -> Step:
    g = _run_guard(m, s, c, "START")
    return when(g, armed=or_(s.armed, s.cb_prog != m.NONE), pc=m.set_pc(s, c, m.PC.IDLE))


@cites(
    "V24",
    "bpf_timer_cb (R1: the same)",
    "callback_fn = rcu_dereference_check(t->cb.callback_fn, rcu_read_lock_bh_held()); if (!callback_fn) "
    "goto out; this_cpu_write(hrtimer_running, t); ... callback_fn((u64)(long)map, ...);",
    "the expiry in HRTIMER_SOFTIRQ (BH off: a classic reader until the return), its read of "
    "callback_fn and the call are one step: nothing the read-side section protects can change between "
    "them; the callback takes no prog reference",
)
def TimerExpire(m: Model, s: Any) -> Step:
    g = and_(s.armed, s.cbk == m.CbPhase.IDLE)
    return when(g, armed=False, cbk=ite(s.cb_fn == m.NONE, m.CbPhase.IDLE, m.CbPhase.IN_OP), cbk_fn=s.cb_fn)


@cites(
    "V24",
    "bpf_timer_cb's return",
    "this_cpu_write(hrtimer_running, NULL); out: return HRTIMER_NORESTART;",
    "the callback returns to bpf_timer_cb and the softirq section ends",
)
def CallbackReturn(m: Model, s: Any) -> Step:
    return when(s.cbk == m.CbPhase.IN_OP, cbk=m.CbPhase.IDLE, cbk_fn=m.NONE)


@cites(
    "K-wq",
    "process_one_work",
    "list_del_init(&work->entry); ... set_work_pool_and_clear_pending(work, pool->id, 0); ... "
    "worker->current_func(work);",
    "a kworker takes the pending work (the pending bit clears: a start may queue it again) and calls "
    "bpf_wq_work",
)
def WorkDequeue(m: Model, s: Any) -> Step:
    return when(and_(s.armed, s.cbk == m.CbPhase.IDLE), armed=False, cbk=m.CbPhase.DEQUEUED)


@cites(
    "V24",
    "bpf_wq_work (R1: the same)",
    "callback_fn = READ_ONCE(cb->callback_fn); if (!callback_fn) return;",
    "one load, outside any RCU read-side section; no prog reference is taken",
)
def WorkReadFn(m: Model, s: Any) -> Step:
    g = s.cbk == m.CbPhase.DEQUEUED
    return when(g, cbk=ite(s.cb_fn == m.NONE, m.CbPhase.IDLE, m.CbPhase.FN_READ), cbk_fn=s.cb_fn)


@cites(
    "V24",
    "bpf_wq_work",
    "rcu_read_lock_trace(); migrate_disable(); callback_fn((u64)(long)map, (u64)(long)key, "
    "(u64)(long)value, 0, 0);",
    "the section begins and the call jumps into the prog's code (the callback may sleep inside: it is "
    "never a classic reader there)",
)
def WorkEnter(m: Model, s: Any) -> Step:
    return when(s.cbk == m.CbPhase.FN_READ, cbk=m.CbPhase.IN_OP)


@cites(
    "K-syscall",
    "the user's release of prog p: bpf_link / fd close, then __bpf_prog_put",
    "if (atomic64_dec_and_test(&prog->aux->refcnt)) { ... if (in_irq() || irqs_disabled()) { INIT_WORK("
    "&aux->work, bpf_prog_put_deferred); schedule_work(&aux->work); } else { "
    "bpf_prog_put_deferred(&aux->work); } }",
    "user space detaches the prog and closes its last fd (one reference, put with irqs on); no new run "
    "of the prog starts after it",
)
def UserRelease(m: Model, s: Any, p: int) -> Step:
    upd: dict = dict(attached=put(s.attached, p, False))
    m.prog_put(s, upd, p, irqs_off=False)
    return when(s.attached[p], **upd)


@cites(
    "K-syscall",
    "bpf_prog_put_deferred -> __bpf_prog_put_noref",
    "if (prog->sleepable) call_rcu_tasks_trace(&prog->aux->rcu, __bpf_prog_put_rcu); else "
    "call_rcu(&prog->aux->rcu, __bpf_prog_put_rcu);",
    "the workqueue item a put with irqs off queued runs: its grace period's readers are fixed now",
)
def ProgPutDeferred(m: Model, s: Any, p: int) -> Step:
    return when(
        s.phase[p] == m.Phase.PUT_DEFERRED,
        phase=put(s.phase, p, m.Phase.RCU_WAIT),
        gp=rcu.start_gp(s.gp, p, m.readers_now(s, p)),
    )


@cites(
    "K-rcu-doc",
    "the grace period's end: __bpf_prog_put_rcu -> bpf_prog_free -> bpf_prog_free_deferred",
    "call_rcu(): the callback runs after every read-side section in flight at the call has ended; "
    "bpf_prog_free_deferred: bpf_free_used_maps(aux); ... bpf_jit_free(aux->prog);",
    "the grace period ends once its readers are gone, and the prog's image is freed (ABSTRACTIONS)",
)
def ProgFree(m: Model, s: Any, p: int) -> Step:
    return when(
        and_(s.phase[p] == m.Phase.RCU_WAIT, rcu.gp_over(s.gp[p])),
        phase=put(s.phase, p, m.Phase.FREED),
    )


@cites(
    "V24",
    "(none: the idle system)",
    "model-only: enabled when nothing runs or is pending, so that an idle system is not reported as a "
    "deadlock; it changes no variable",
    "a stuttering step",
)
def Quiescent(m: Model, s: Any) -> Step:
    """Both progs are released, nothing runs or is pending (or a behaviour has halted at a
    use-after-free): a stuttering step, not a deadlock."""
    idle = [not_(s.attached[p]) for p in m.Prog] + [s.pc[c] == m.PC.IDLE for c in m.CPU]
    idle += [s.buf[c] == m.NONE for c in m.CPU]
    idle += [not_(s.armed), s.cbk == m.CbPhase.IDLE]
    idle += [or_(s.phase[p] == m.Phase.LIVE, s.phase[p] == m.Phase.FREED) for p in m.Prog]
    return when(or_(and_(*idle), m.broken(s)))


def end_finished_readers(m: Model, fn: Any) -> Any:
    """Wrap an action: a reader leaves every pending grace period's snapshot when the step leaves it
    outside any section of that grace period's flavour (a wq callback's step from FN_READ into
    rcu_read_lock_trace leaves a classic one: it may sleep there)."""

    def wrapped(s: Any, **args: Any) -> Any:
        r = fn(s, **args)
        steps = [r] if isinstance(r, Step) else r
        out = []
        for st in steps:
            upd = st.updates
            if not any(v in upd for v in ("pc", "cbk")):
                out.append(st)
                continue
            t = s._replace(**{k: v for k, v in upd.items() if k in ("pc", "cbk")})
            gp = upd.get("gp", s.gp)
            new = tuple(
                tuple((and_(gp[p][r][0], m.reader(t, r, m.flavour(p))),) for r in range(len(m.Reader)))
                for p in m.Prog
            )
            out.append(st._replace(updates={**upd, "gp": new}))
        return out[0] if isinstance(r, Step) else out

    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Preemption: a wq callback's kworker before rcu_read_lock_trace, and a sleepable prog's run, are
    implicit classic readers only on a non-preemptible kernel (PREEMPT_RT behaves as PREEMPT_RCU here:
    no irq_work; the verifier refuses bpf_timer there, e25ddfb388c8). The tasks-trace semantics matter
    for a sleepable prog's free; the memory model for the lock-free loop (the locked section's lock
    orders every writer)."""
    cfg = {k: v[1] for k, v in PARAMS.items()} | dict(constants)
    out: dict[str, tuple[str, ...]] = {}
    if cfg["kind"] == "wq" or cfg["sleepable"]:
        out["preemption"] = ("none", "preempt_rcu")
    if cfg["sleepable"]:
        out["tasks_trace"] = kconfig.TASKS_TRACE
    if cfg["design"] == "loop":
        out["memory"] = kconfig.MEMORY
    return out


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS)."""
    from invariants.prog_swap import properties, witnesses

    cfg = model_constants("prog_swap", PARAMS, constants)
    for name, allowed in (("kind", KINDS), ("design", DESIGNS)):
        if cfg[name] not in allowed:
            raise SpecError(f"prog_swap: {name} = {cfg[name]!r} is not one of {', '.join(allowed)}")
    if cfg["preemption"] == "preempt_rt" and cfg["kind"] == "timer":
        raise SpecError(
            "prog_swap: the verifier refuses bpf_timer on PREEMPT_RT (e25ddfb388c8); use kind = wq"
        )
    if cfg["design"] == "locked" and not cfg["retry_check"]:
        raise SpecError("prog_swap: retry_check is the loop's; design = 'locked' has no loop")
    kc = kconfig.KernelConfig(cfg, store_buffer=cfg["design"] == "loop")
    spec = Spec("ProgSwap")
    spec.constants = dict(cfg)
    spec.sources = sources.pick("V24", "R1", "K-syscall", "K-rcu-doc", "K-wq")
    spec.sources_in_use = (
        set(spec.sources)
        - ({"R1"} if cfg["design"] == "locked" else set())
        - ({"K-wq"} if cfg["kind"] == "timer" else set())
    )
    CPU = Enum("CPU", ["cpu0", "cpu1"])
    Prog = Enum("Prog", ["A", "B"])
    ProgOrNone = Enum("ProgOrNone", ["A", "B", "none"])
    PC = Enum("PC", PCS)
    CbPhase = Enum("CbPhase", CB_PHASES)
    Phase = Enum("Phase", PHASES)
    Reader = Enum("Reader", READERS)
    One = Enum("Section", ["s"])
    m = Model(
        cfg, kc, CPU=CPU, Prog=Prog, ProgOrNone=ProgOrNone, PC=PC, CbPhase=CbPhase, Phase=Phase, Reader=Reader
    )
    none = m.NONE
    spec.var("pc", Fn(CPU, PC), const_fn(CPU, PC.IDLE), "each CPU's prog run (A on cpu0, B on cpu1)")
    spec.var("prev", Fn(CPU, ProgOrNone), const_fn(CPU, none), "the loop's prev (its put is pending)")
    spec.var("buf", Fn(CPU, ProgOrNone), const_fn(CPU, none), "a store of callback_fn in the CPU's buffer")
    spec.var("cb_prog", ProgOrNone, none, "cb->prog: the prog the object holds a reference on")
    spec.var("cb_fn", ProgOrNone, none, "cb->callback_fn in memory: whose callback it is")
    spec.var("armed", Bool, False, "the timer is enqueued (the work is pending)")
    spec.var("cbk", CbPhase, CbPhase.IDLE, "the callback (timer softirq, or wq kworker)")
    spec.var("cbk_fn", ProgOrNone, none, "whose code the callback runs")
    # each prog: its refcnt (at most 5: the user's reference, cb->prog's, its own run's guard, and a
    # prev each loop has taken out of cb->prog and not yet put), attached, phase
    spec.var("refcnt", Fn(Prog, Int(0, 5)), const_fn(Prog, 1), "bpf_prog's aux->refcnt")
    spec.var("attached", Fn(Prog, Bool), const_fn(Prog, True), "user space still holds the prog")
    spec.var("phase", Fn(Prog, Phase), const_fn(Prog, Phase.LIVE), "the prog's free path")
    spec.var(
        "gp",
        Fn(Prog, Fn(Reader, Set(One))),
        const_fn(Prog, rcu.nobody(len(Reader), 1)),
        "the readers each prog's pending grace period waits for",
    )
    runs = spec.action(p=Prog, op=Enum("Op", OPS))
    runs(bind(ProgRun, m))
    kernel = ["Start"]
    spec.action(c=CPU)(bind(Start, m))
    if m.locked:
        spec.action(c=CPU)(bind(SetCallbackLocked, m))
        kernel.append("SetCallbackLocked")
    else:
        for fn in (LoopGuard, LoopXchg, LoopStore, LoopPutPrev, LoopReadProg, LoopReadFn, LoopPutGuard):
            spec.action(c=CPU)(bind(fn, m))
            kernel.append(fn.__name__)
        if m.tso:
            spec.action(c=CPU)(bind(Drain, m))
            kernel.append("Drain")
    callback = (
        [TimerExpire, CallbackReturn] if m.timer else [WorkDequeue, WorkReadFn, WorkEnter, CallbackReturn]
    )
    for fn in callback:
        spec.action()(bind(fn, m))
        kernel.append(fn.__name__)
    spec.action(p=Prog)(bind(UserRelease, m))
    spec.action(p=Prog)(bind(ProgPutDeferred, m))
    spec.action(p=Prog)(bind(ProgFree, m))
    kernel += ["ProgPutDeferred", "ProgFree"]
    spec.action()(bind(Quiescent, m))
    spec.environment_actions("ProgRun", "UserRelease")
    for a in spec.actions:
        if a.name != "Quiescent":
            a.fn = halt_when(a.fn, m.broken)
        a.fn = end_finished_readers(m, a.fn)
    for name in kernel:
        spec.wf(name)
    properties.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec
