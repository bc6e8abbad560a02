"""A prog in an NMI drops another prog's last reference (issue 21: NMI; the second reading's C2''',
docs/second-reading/round9-c2-nmi-put.md).

A timer (or wq) holds one reference on ``cb->prog``; once user space has detached prog A and closed its
fds, that reference is A's last. A prog B reached in an NMI that calls ``set_callback`` on the object
(putting the previous ``cb->prog``) or updates/deletes its map element (``cancel_and_free`` puts it too)
then makes the last ``bpf_prog_put(A)`` in NMI. ``__bpf_prog_put`` defers the free with
``schedule_work()`` when ``in_hardirq() || irqs_disabled()``, both true in NMI (``nmi_enter`` adds
``HARDIRQ_OFFSET``); ``schedule_work`` takes the CPU's worker pool lock (``raw_spin_lock(&pool->lock)``
in ``__queue_work``), which is not NMI-safe: if the NMI interrupted a task of the same CPU inside that
lock (any ``queue_work_on``, irqs off), the NMI spins for ever on a lock only the task it interrupted
can release.

On each CPU the task level queues some work item (``TaskQueue``: takes the CPU's pool lock with irqs
off, then releases it), and the NMI level runs prog B (``NmiEnter``, where the verifier lets it use the
map) and its helper call (``NmiHelper``: the ``in_nmi()`` test, then the put, which may go on to
``schedule_work``: ``NmiLock``). ``design`` picks
v6.12 (``locked``) or the 2026 rework; ``nmi_put = irq_work`` is a candidate fix that defers a put made
in NMI through an irq_work (NMI-safe) instead.
"""

from __future__ import annotations

from typing import Any

from spec.config import model_constants
from spec.kernel import sources
from spec.kernel.nesting import NESTED, TASK, TwoLevels
from spec.lang import (
    Bool,
    Enum,
    Fn,
    Int,
    Spec,
    SpecError,
    Step,
    and_,
    bind,
    cites,
    const_fn,
    disabled,
    ite,
    not_,
    put,
    when,
)

NMI = NESTED
DESIGNS = ["locked", "rework"]
KINDS = ["timer", "wq"]
NMI_PROGS = ["tracing", "perf_event"]
NMI_OPS = ["set_callback", "delete"]
PUTS = ["schedule_work", "irq_work"]

PARAMS: dict[str, tuple] = {
    "cpus": (int, 2, 1, 2),
    "design": (str, "rework", DESIGNS),
    "kind": (str, "timer", KINDS),
    # the prog in the NMI: a BPF_PROG_TYPE_TRACING prog (fentry/fexit/tp_btf on an NMI path), or a
    # perf_event or kprobe prog (is_tracing_prog_type: refused timer and wq maps before the rework)
    "nmi_prog": (str, "perf_event", NMI_PROGS),
    # what it does to the object: bpf_timer_set_callback / bpf_wq_set_callback with its own callback,
    # or map_update_elem / map_delete_elem on the element (bpf_obj_free_fields -> cancel_and_free)
    "nmi_op": (str, "set_callback", NMI_OPS),
    # v6.12's __bpf_async_set_callback: if (in_nmi()) return -EOPNOTSUPP; (cancel_and_free has none)
    "nmi_check": (bool, True),
    # user space detaches prog A and closes its fds, leaving the object's reference its last
    "user_releases": (bool, True),
    # __bpf_prog_put at zero in NMI: schedule_work (merged), or an irq_work (a candidate fix)
    "nmi_put": (str, "schedule_work", PUTS),
}

ABSTRACTIONS = [
    "The task level stands for any task-context code that queues a work item on its CPU's pool "
    "(queue_work_on: local_irq_save, then __queue_work's raw_spin_lock(&pool->lock)); taking the lock "
    "and releasing it are a step each, and a hard-irq cannot come in between (irqs are off).",
    "The NMI level stands for every prog that runs in an NMI on the CPU, prog B; it makes one helper "
    "call per NMI and does not nest again.",
    "The helper call is one step up to the put (the NMI runs to its end before the task level steps "
    "again, and nothing else on the CPU can interleave); its schedule_work is the next step, which waits "
    "while the pool lock is held.",
    "Prog A's grace period and free are left out: the question is the context of the last put, not "
    "what it frees.",
    "A pool lock is taken only on its own CPU (system_wq is per-CPU and the work item is fresh), so no "
    "wait crosses CPUs.",
]


class Model(TwoLevels):
    def __init__(self, cfg: dict[str, Any], CPU: Enum, Level: Enum, PC: Enum, Owner: Enum, Cb: Enum) -> None:
        self.cfg, self.CPU, self.Level, self.PC, self.Owner, self.Cb = cfg, CPU, Level, PC, Owner, Cb
        self.NONE = len(Owner) - 1
        self.locked = cfg["design"] == "locked"
        # the verifier: before the rework is_tracing_prog_type progs cannot use timer or wq maps
        self.nmi_runs = not (self.locked and cfg["nmi_prog"] == "perf_event")
        # v6.12 refuses set_callback in NMI; its cancel_and_free (update, delete) has no test
        self.refused = self.locked and cfg["nmi_op"] == "set_callback" and cfg["nmi_check"]


@cites(
    "K-wq",
    "queue_work_on -> __queue_work",
    "local_irq_save(irq_flags); ... __queue_work(cpu, wq, work); ... pwq = per_cpu_ptr(wq->cpu_pwq, cpu); "
    "pool = pwq->pool; ... raw_spin_lock(&pool->lock);",
    "the task level takes its CPU's pool lock with irqs off: one step (nothing on the CPU but an NMI can "
    "interleave)",
)
def TaskQueue(m: Model, s: Any, c: int) -> Step:
    """A task on c queues a work item: it holds c's pool lock (irqs off)."""
    g = and_(s.pc[c][TASK] == m.PC.IDLE, m.can_step(s, c, TASK), s.pool[c] == m.NONE)
    return when(g, pc=m.set_pc(s, c, TASK, m.PC.HOLDS), pool=put(s.pool, c, m.owner_id(c, TASK)))


@cites(
    "K-wq",
    "__queue_work's end, queue_work_on's local_irq_restore",
    "raw_spin_unlock(&pool->lock); ... local_irq_restore(irq_flags);",
    "the lock is released and irqs come back on: one step",
)
def TaskUnlock(m: Model, s: Any, c: int) -> Step:
    g = and_(s.pc[c][TASK] == m.PC.HOLDS, m.can_step(s, c, TASK))
    return when(g, pc=m.set_pc(s, c, TASK, m.PC.IDLE), pool=put(s.pool, c, m.NONE))


@cites(
    "R1",
    "bpf_async_update_prog_callback (set_callback), bpf_async_cancel_and_free (update, delete); v6.12 "
    "(V24): __bpf_async_set_callback, drop_prog_refcnt; __bpf_prog_put (K-syscall)",
    "R1: prev = xchg(&cb->prog, prog); ... if (prev) bpf_prog_put(prev); | cb = xchg(&async->cb, NULL); "
    "bpf_async_update_prog_callback(cb, NULL, NULL); ... V24: if (in_nmi()) return -EOPNOTSUPP; "
    "(set_callback only) ... drop_prog_refcnt: bpf_prog_put(prog); bpf_wq_cancel_and_free: "
    "schedule_work(&work->delete_work); "
    "| __bpf_prog_put: if (atomic64_dec_and_test(&aux->refcnt)) { if (in_irq() || irqs_disabled()) { "
    "INIT_WORK(&aux->work, bpf_prog_put_deferred); schedule_work(&aux->work); } ...",
    "prog B's helper call is one step up to its schedule_work (the next step, NmiLock): nothing else on "
    "c runs meanwhile, and the call touches only the object and the refcount",
)
def NmiHelper(m: Model, s: Any, c: int) -> list[Step]:
    """Prog B in an NMI on c calls set_callback, or updates or deletes the element."""
    g = s.pc[c][NMI] == m.PC.CALL
    if disabled(g):
        return []
    if m.refused:  # -EOPNOTSUPP
        return [when(g, pc=m.set_pc(s, c, NMI, m.PC.REFUSED))]
    cfg, Cb = m.cfg, m.Cb
    holds_a = s.cb == Cb.A
    last = and_(holds_a, s.a_ref == 1)
    after = Cb.B if cfg["nmi_op"] == "set_callback" else Cb.NONE
    ref = ite(holds_a, s.a_ref - 1, s.a_ref)
    # schedule_work in NMI: the last put's, or v6.12 bpf_wq's delete_work (whatever the count)
    wq_delete = m.locked and cfg["kind"] == "wq" and cfg["nmi_op"] == "delete"
    needs_work = True if wq_delete else and_(last, cfg["nmi_put"] == "schedule_work")
    steps = []
    if cfg["nmi_op"] == "delete":
        # the element is gone (an earlier delete): -ENOENT, nothing to free
        steps.append(when(and_(g, s.cb == Cb.NONE), pc=m.set_pc(s, c, NMI, m.PC.IDLE)))
        g = and_(g, s.cb != Cb.NONE)
    return steps + [
        when(and_(g, needs_work), cb=after, a_ref=ref, pc=m.set_pc(s, c, NMI, m.PC.LOCKING)),
        when(and_(g, not_(needs_work)), cb=after, a_ref=ref, pc=m.set_pc(s, c, NMI, m.PC.IDLE)),
    ]


@cites(
    "K-verifier-timer",
    "check_map_prog_compatibility: a map value with a bpf_timer (or bpf_wq), until 1bfbc267ec91",
    'if (is_tracing_prog_type(prog_type)) { verbose(env, "tracing progs cannot use bpf_timer yet\\n"); '
    "return -EINVAL; } (KPROBE, TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT: not TRACING)",
    "a load-time rule: a refused NMI prog has no NmiEnter step on this map",
)
def NmiEnter(m: Model, s: Any, c: int) -> list[Step]:
    """An NMI on c runs prog B (the environment: a perf_event overflow, an fentry or tp_btf hook on an
    NMI path)."""
    if not m.nmi_runs:
        return []
    return [when(s.pc[c][NMI] == m.PC.IDLE, pc=m.set_pc(s, c, NMI, m.PC.CALL))]


@cites(
    "K-wq",
    "schedule_work -> queue_work_on -> __queue_work (from the NMI)",
    "local_irq_save(irq_flags); ... raw_spin_lock(&pool->lock); ... insert_work(...); "
    "raw_spin_unlock(&pool->lock); local_irq_restore(irq_flags);",
    "the NMI's schedule_work takes its CPU's pool lock, queues and releases it: one step, enabled while "
    "nobody holds the lock (a spin while the task it interrupted holds it)",
)
def NmiLock(m: Model, s: Any, c: int) -> Step:
    g = and_(s.pc[c][NMI] == m.PC.LOCKING, s.pool[c] == m.NONE)
    return when(g, pc=m.set_pc(s, c, NMI, m.PC.IDLE))


@cites(
    "V24",
    "__bpf_async_set_callback's refusal in NMI",
    "if (in_nmi()) return -EOPNOTSUPP;",
    "the helper returns and the NMI ends",
)
def NmiReturn(m: Model, s: Any, c: int) -> Step:
    return when(s.pc[c][NMI] == m.PC.REFUSED, pc=m.set_pc(s, c, NMI, m.PC.IDLE))


@cites(
    "K-syscall",
    "user space detaches prog A and closes its last fd: bpf_prog_put from a system call",
    "bpf_prog_release -> bpf_prog_put(prog) -> __bpf_prog_put: atomic64_dec_and_test(&aux->refcnt)",
    "one atomic decrement in task context (at zero: bpf_prog_put_deferred at once, irqs on)",
)
def UserRelease(m: Model, s: Any) -> Step:
    return when(and_(s.attached, m.cfg["user_releases"]), attached=False, a_ref=s.a_ref - 1)


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple]:
    """No kernel-configuration dimension changes this model: NMIs interrupt irqs-off code on every
    preemption model, and the pool lock is a raw spinlock on PREEMPT_RT too."""
    return {}


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS)."""
    from invariants.nmi_put import properties, witnesses

    cfg = model_constants("nmi_put", PARAMS, constants)
    for name, allowed in (
        ("design", DESIGNS),
        ("kind", KINDS),
        ("nmi_prog", NMI_PROGS),
        ("nmi_op", NMI_OPS),
        ("nmi_put", PUTS),
    ):
        if cfg[name] not in allowed:
            raise SpecError(f"nmi_put: {name} = {cfg[name]!r} is not one of {', '.join(allowed)}")
    if cfg["design"] == "rework" and not cfg["nmi_check"]:
        raise SpecError("nmi_put: nmi_check is v6.12's (design = 'locked'); the rework has no such test")
    spec = Spec("NmiPut")
    spec.constants = dict(cfg)
    spec.sources = sources.pick("V24", "R1", "K-syscall", "K-wq", "K-verifier-timer")
    spec.sources_in_use = set(spec.sources) - ({"R1"} if cfg["design"] == "locked" else {"V24"})
    CPU = Enum("CPU", [f"cpu{i}" for i in range(cfg["cpus"])])
    Level = Enum("Level", ["TASK", "NMI"])
    PC = Enum("PC", ["IDLE", "HOLDS", "CALL", "LOCKING", "REFUSED"])
    Owner = Enum("Owner", [f"{c}.{lv}" for c in CPU.names for lv in Level.names] + ["none"])
    Cb = Enum("Cb", ["A", "B", "NONE"])  # cb->prog, or NONE once the element's object is freed
    m = Model(cfg, CPU, Level, PC, Owner, Cb)
    spec.var("pc", Fn(CPU, Fn(Level, PC)), const_fn(CPU, const_fn(Level, PC.IDLE)), "each context")
    spec.var("pool", Fn(CPU, Owner), const_fn(CPU, m.NONE), "who holds each CPU's worker pool lock")
    spec.var("cb", Cb, Cb.A, "the object's cb->prog (A set its callback)")
    spec.var("a_ref", Int(0, 2), 2, "prog A's refcnt: user space's reference and the object's")
    spec.var("attached", Bool, True, "user space still holds prog A")
    spec.action(c=CPU)(bind(TaskQueue, m))
    spec.action(c=CPU)(bind(TaskUnlock, m))
    spec.action(c=CPU)(bind(NmiEnter, m))
    spec.action(c=CPU)(bind(NmiHelper, m))
    spec.action(c=CPU)(bind(NmiLock, m))
    spec.action(c=CPU)(bind(NmiReturn, m))
    spec.action()(bind(UserRelease, m))
    spec.environment_actions("TaskQueue", "NmiEnter", "UserRelease")
    for action in ("TaskUnlock", "NmiHelper", "NmiLock", "NmiReturn"):
        spec.wf(action)
    properties.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec
