"""bpf_timer's value lock against progs that run inside it on the same CPU (issue 21: re-entrancy and
NMI; the second reading's C2).

From v5.15 to the 2026 rework (1bfbc267ec91), the timer helpers serialise on the map value's ``bpf_spin_lock``
(``__bpf_spin_lock_irqsave(&timer->lock)``, irqs off). Two of them hold it across calls into other
kernel code that progs can trace: ``bpf_timer_start`` across ``hrtimer_start`` (its tracepoint, and
fentry on ``hrtimer_start_range_ns``), and ``bpf_timer_cancel_and_free`` (a map update or delete
freeing the value's special fields) across ``drop_prog_refcnt`` -> ``bpf_prog_put`` (Kumar Kartikeya
Dwivedi's 2022 report). A prog that runs there, or an NMI prog, and calls one of the two on the same
value spins on a lock its own CPU holds: an AA deadlock with irqs off.

On each CPU a task-level prog run (any context a timer prog runs in with irqs on: tc, syscall, a
softirq) and a nested prog (``nested``: a tracing prog, fentry/fexit/tp_btf, running inside the
section; or a prog reached in NMI) call ``bpf_timer_start`` or free the value's fields (``op``), on the
one map value. A call is: the entry (``Call``: ``bpf_timer_start``'s ``in_nmi()`` refusal,
cancel_and_free's lockless read of ``async->cb``), the lock (``Lock``: a test-and-set; no step while
another context holds it), and the section with the unlock (``Unlock``; cancel_and_free detaches the
timer there). What the kernel does against it: ``in_nmi()`` in ``bpf_timer_start`` (and init,
set_callback, cancel) since v5.15, none in cancel_and_free; the verifier refuses timer maps to kprobe,
tracepoint, perf_event and raw_tp progs but not to ``BPF_PROG_TYPE_TRACING`` (``verifier``); the 2026
rework removed the lock (``spec/bpf_async`` ``design = refcnt``), so it has no cell here.
"""

from __future__ import annotations

from typing import Any

from spec.config import model_constants
from spec.kernel import sources
from spec.kernel.nesting import NESTED, TwoLevels
from spec.kernel.nesting import TASK as TASK  # the invariants import the levels from the model
from spec.lang import (
    Bool,
    Enum,
    Fn,
    Spec,
    SpecError,
    Step,
    and_,
    bind,
    cites,
    const_fn,
    disabled,
    not_,
    put,
    when,
)

OPS = ["START", "FREE"]  # bpf_timer_start; bpf_obj_free_fields -> bpf_timer_cancel_and_free
NESTED_KINDS = ["tracing", "nmi"]
VERIFIERS = ["merged", "tracing_refused"]

PARAMS: dict[str, tuple] = {
    "cpus": (int, 2, 1, 2),
    # the prog that runs inside the section: a tracing prog (fentry, fexit, tp_btf: in the context it
    # traces, so in_nmi() is false) or a prog reached in NMI (an fentry prog on a function NMI handlers
    # call: in_nmi() is true)
    "nested": (str, "tracing", NESTED_KINDS),
    # what the nested prog calls: "any" (bpf_timer_start, or a map update or delete that frees the
    # value's fields), or "start" only
    "nested_ops": (str, "any", ["any", "start"]),
    # bpf_timer_start's ``if (in_nmi()) return -EOPNOTSUPP;`` (b00628b1c7d5, v5.15, to the rework)
    "nmi_check": (bool, True),
    # which prog types may use a map with a bpf_timer: "merged" (is_tracing_prog_type: kprobe,
    # tracepoint, perf_event, raw_tp refused; BPF_PROG_TYPE_TRACING allowed), "tracing_refused" (Kumar
    # Kartikeya Dwivedi's RFC "bpf: Fix deadlock for bpf_timer's spinlock", November 2022, never
    # merged: TRACING refused too, iterators aside)
    "verifier": (str, "merged", VERIFIERS),
}

ABSTRACTIONS = [
    "The nested level stands for every prog that can run inside a timer helper's critical section on the "
    "same CPU with irqs off: a tracing prog attached to a function the section calls, or a prog reached "
    "in NMI; it may start between any two steps of the task level, and does not nest again. Hard-irq "
    "and softirq progs are left out: irqs are off in the section.",
    "One map value, whose timer is allocated and its callback set at the start; cancel_and_free detaches "
    "it (after which bpf_timer_start still takes the lock and returns -EINVAL, and cancel_and_free "
    "returns before the lock). bpf_timer_init, set_callback and cancel are not modelled: they take the "
    "same lock and refuse NMI like bpf_timer_start, so they add no other way into the lock.",
    "The section's work (hrtimer_start; cancel_and_free's detach, drop_prog_refcnt and the hrtimer "
    "cancel or its deferral) is one step with the unlock: only that the lock is held across a step in "
    "which the nested prog may run.",
    "A prog the verifier refuses (verifier = tracing_refused) does not run at all on this map.",
    "Left out (docs/second-reading/round6-timer-lock.md): a nested bpf_timer_init, set_callback or "
    "cancel deadlocks the same way (same lock, same in_nmi() test); the hrtimer base lock, which "
    "bpf_timer_start also holds across the tracepoint, is a second lock a nested start on another value "
    "can spin on; a cancel_and_free in NMI is unsafe even with the value lock free (hrtimer_cancel, "
    "kfree, queue_work); a nested call on another value overwrites the per-CPU saved irq flags.",
]


class Model(TwoLevels):
    """The constants and the helpers the actions and properties read."""

    def __init__(self, cfg: dict[str, Any], CPU: Enum, Level: Enum, Op: Enum, PC: Enum, Owner: Enum):
        self.cfg, self.CPU, self.Level, self.Op, self.PC, self.Owner = cfg, CPU, Level, Op, PC, Owner
        self.NONE = len(Owner) - 1
        self.nested_in_nmi = cfg["nested"] == "nmi"
        # the verifier loads the nested prog with this map only if it is not refused
        self.nested_runs = cfg["verifier"] == "merged"

    def ops(self, lv: int) -> list[int]:
        if lv == NESTED and self.cfg["nested_ops"] == "start":
            return [OPS.index("START")]
        return list(range(len(OPS)))


@cites(
    "V24",
    "bpf_timer_start: its entry; bpf_obj_free_fields -> bpf_timer_cancel_and_free",
    "if (in_nmi()) return -EOPNOTSUPP; if (flags & ~(BPF_F_TIMER_ABS | BPF_F_TIMER_CPU_PIN)) return "
    "-EINVAL; (bpf_timer_start); __bpf_async_cancel_and_free: no in_nmi() check; /* Performance "
    "optimization: read async->cb without lock first. */ if (!READ_ONCE(async->cb)) return NULL;",
    "the environment's prog run calls the helper (or a map update or delete of the value, whose "
    "bpf_obj_free_fields calls cancel_and_free); the in_nmi() test reads only the context and the "
    "lockless read one word, so the call and its outcome are one step (the next pc: LOCKING, or REFUSED "
    "for a call that returns before the lock)",
)
@cites(
    "K-verifier-timer",
    "check_map_prog_compatibility: a map value with a bpf_timer",
    "if (btf_record_has_field(map->record, BPF_TIMER)) { if (is_tracing_prog_type(prog_type)) { "
    'verbose(env, "tracing progs cannot use bpf_timer yet\\n"); return -EINVAL; } } (KPROBE, '
    "TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT, RAW_TRACEPOINT_WRITABLE: not TRACING)",
    "a load-time rule: a refused nested prog has no Call step on this map (verifier = tracing_refused)",
)
def Call(m: Model, s: Any, c: int, lv: int, op: int) -> list[Step]:
    """A prog run at level lv on c calls bpf_timer_start (op START) or frees the value's fields (FREE)."""
    if lv == NESTED and not m.nested_runs:
        return []
    if op not in m.ops(lv):
        return []
    g = and_(s.pc[c][lv] == m.PC.IDLE, m.can_step(s, c, lv))
    if disabled(g):
        return []
    record = put(s.op, c, put(s.op[c], lv, op))
    if OPS[op] == "START":
        refused = lv == NESTED and m.nested_in_nmi and m.cfg["nmi_check"]
        return [when(g, op=record, pc=m.set_pc(s, c, lv, m.PC.REFUSED if refused else m.PC.LOCKING))]
    # cancel_and_free: if (!READ_ONCE(async->cb)) return NULL; before the lock
    return [
        when(and_(g, s.timer), op=record, pc=m.set_pc(s, c, lv, m.PC.LOCKING)),
        when(and_(g, not_(s.timer)), op=record, pc=m.set_pc(s, c, lv, m.PC.REFUSED)),
    ]


@cites(
    "V24",
    "bpf_timer_start: the in_nmi() refusal; cancel_and_free: the lockless read found no timer",
    "return -EOPNOTSUPP; | return NULL; (bpf_timer_cancel_and_free then has nothing to cancel)",
    "the helper returns to the prog, which ends",
)
def Return(m: Model, s: Any, c: int, lv: int) -> Step:
    """A call that returns before the lock (-EOPNOTSUPP in NMI; no timer to free); the prog run ends."""
    return when(and_(s.pc[c][lv] == m.PC.REFUSED, m.can_step(s, c, lv)), pc=m.set_pc(s, c, lv, m.PC.IDLE))


@cites(
    "V24",
    "bpf_timer_start; __bpf_async_cancel_and_free: the value's lock",
    "__bpf_spin_lock_irqsave(&timer->lock) (bpf_timer_start); __bpf_spin_lock_irqsave(&async->lock) "
    "(__bpf_async_cancel_and_free): local_irq_save, then the arch spin lock",
    "one test-and-set: the lock is taken when free; while another context holds it there is no step (a "
    "spin, irqs off)",
)
def Lock(m: Model, s: Any, c: int, lv: int) -> Step:
    """The helper takes the value's lock (spins while another context holds it)."""
    g = and_(s.pc[c][lv] == m.PC.LOCKING, m.can_step(s, c, lv), s.owner == m.NONE)
    return when(g, owner=m.owner_id(c, lv), pc=m.set_pc(s, c, lv, m.PC.HELD))


@cites(
    "V24",
    "bpf_timer_start's section; __bpf_async_cancel_and_free's section",
    "t = timer->timer; if (!t || !t->cb.prog) { ret = -EINVAL; goto out; } ... hrtimer_start(&t->timer, "
    "ns_to_ktime(nsecs), mode); out: __bpf_spin_unlock_irqrestore(&timer->lock); (start) | cb = "
    "async->cb; if (!cb) goto out; drop_prog_refcnt(cb); WRITE_ONCE(async->cb, NULL); out: "
    "__bpf_spin_unlock_irqrestore(&async->lock); (cancel_and_free; drop_prog_refcnt calls bpf_prog_put, "
    "and the hrtimer cancel or its deferral follows outside the lock)",
    "the section's work with the unlock is one step (ABSTRACTIONS): the nested prog may run before it",
)
def Unlock(m: Model, s: Any, c: int, lv: int) -> Step:
    """The section ends: the lock is released and the call returns (cancel_and_free detached the timer)."""
    g = and_(s.pc[c][lv] == m.PC.HELD, m.can_step(s, c, lv))
    freed = and_(s.timer, s.op[c][lv] != OPS.index("FREE"))
    return when(g, owner=m.NONE, pc=m.set_pc(s, c, lv, m.PC.IDLE), timer=freed)


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple]:
    """No kernel-configuration dimension changes this model: the value lock is an arch spin lock with
    irqs off on every preemption model (the timer is refused on PREEMPT_RT since e25ddfb388c8, and
    before that the deadlock is the same), and tracing progs and NMIs exist on all of them."""
    return {}


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS)."""
    from invariants.timer_lock import properties, witnesses

    cfg = model_constants("timer_lock", PARAMS, constants)
    for name, allowed in (("nested", NESTED_KINDS), ("verifier", VERIFIERS)):
        if cfg[name] not in allowed:
            raise SpecError(f"timer_lock: {name} = {cfg[name]!r} is not one of {', '.join(allowed)}")
    if cfg["nested_ops"] not in ("any", "start"):
        raise SpecError(f"timer_lock: nested_ops = {cfg['nested_ops']!r} is not one of any, start")
    spec = Spec("TimerLock")
    spec.constants = dict(cfg)
    spec.sources = sources.pick("V24", "K-verifier-timer")
    CPU = Enum("CPU", [f"cpu{i}" for i in range(cfg["cpus"])])
    Level = Enum("Level", ["TASK", "NESTED"])
    Op = Enum("Op", OPS)
    PC = Enum("PC", ["IDLE", "LOCKING", "HELD", "REFUSED"])
    Owner = Enum("Owner", [f"{c}.{lv}" for c in CPU.names for lv in Level.names] + ["none"])
    m = Model(cfg, CPU, Level, Op, PC, Owner)
    spec.var("pc", Fn(CPU, Fn(Level, PC)), const_fn(CPU, const_fn(Level, PC.IDLE)), "each context's call")
    spec.var("op", Fn(CPU, Fn(Level, Op)), const_fn(CPU, const_fn(Level, 0)), "the helper it called")
    spec.var("owner", Owner, m.NONE, "the context holding the value's lock")
    spec.var("timer", Bool, True, "async->cb: the value's timer is attached (cancel_and_free detaches it)")
    spec.action(c=CPU, lv=Level, op=Op)(bind(Call, m))
    spec.action(c=CPU, lv=Level)(bind(Return, m))
    spec.action(c=CPU, lv=Level)(bind(Lock, m))
    spec.action(c=CPU, lv=Level)(bind(Unlock, m))
    spec.environment_actions("Call")
    for action in ("Return", "Lock", "Unlock"):
        spec.wf(action)
    properties.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec
