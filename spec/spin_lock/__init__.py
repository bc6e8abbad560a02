"""A prog's own bpf_spin_lock against a prog that runs in an NMI on the same CPU (issue 21: re-entrancy
and NMI; the second readings' C3, docs/second-reading/round5-issue21.md and round8-c3.md).

A map value may hold a ``struct bpf_spin_lock`` that progs take with ``bpf_spin_lock(&v->lock)``: irqs
off, preemption off, a bare ``arch_spin_lock`` with no ``in_nmi()`` test, no trylock and no owner
check. Between the lock and the unlock the verifier allows no helper call, so neither an irq nor a
prog the section calls can enter it; an NMI can. The verifier refuses maps with a bpf_spin_lock to
kprobe, tracepoint, perf_event and raw_tp progs (``is_tracing_prog_type``) but not to
``BPF_PROG_TYPE_TRACING``: a tp_btf prog on the ``nmi_handler`` tracepoint, or an fentry prog on a
function NMI handlers call, runs in NMI and may lock the value the interrupted prog holds: an AA
deadlock with irqs off. The trampoline's recursion guard (``prog->active``, per prog) skips a prog
that re-enters itself, so it takes a second prog.

On each CPU a task-level prog run (``task_prog``: a tc prog, or an fentry prog X) and a prog reached in
NMI (``nmi_prog``: a different TRACING prog, X itself, or a kprobe/perf_event prog) each lock one of
the map's values and unlock it. A run is: the entry and the call (``Run``), the lock (``Lock``: a
test-and-set; no step while another context holds the lock) and the section with the unlock
(``Unlock``). What the kernel does against it: the verifier's refusal of the other tracing types
(``verifier``), the per-prog recursion guard (``recursion_check``); ``lock = res`` is the resilient
``bpf_res_spin_lock`` (v6.15) that the July 2026 series (kernel-patches/bpf PR #12864) would allow in
tracing progs before refusing ``bpf_spin_lock`` to them.
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
    Spec,
    SpecError,
    Step,
    and_,
    bind,
    cites,
    const_fn,
    disabled,
    not_,
    or_,
    put,
    when,
)

NMI = NESTED  # the nested level: a prog in an NMI
TASK_PROGS = ["tc", "fentry"]
NMI_PROGS = ["other_tracing", "same_prog", "kprobe"]
VERIFIERS = ["merged", "tracing_refused", "none"]
LOCKS = ["spin", "res"]

PARAMS: dict[str, tuple] = {
    "cpus": (int, 2, 1, 2),
    # map values with a bpf_spin_lock; each run locks one of them
    "values": (int, 1, 1, 2),
    # the task-level prog: a tc prog (no recursion counter), or an fentry prog X (the trampoline's
    # per-prog counter counts its run)
    "task_prog": (str, "tc", TASK_PROGS),
    # the prog reached in NMI: a different BPF_PROG_TYPE_TRACING prog (tp_btf on nmi_handler, or fentry
    # on a function NMI handlers call), the task level's fentry prog X itself, or a kprobe or
    # perf_event prog
    "nmi_prog": (str, "other_tracing", NMI_PROGS),
    # __bpf_prog_enter_recur: if (unlikely(!bpf_prog_get_recursion_context(prog))) { misses++; return
    # 0; } (ca06f55b9002, v5.12; tp_btf's __bpf_trace_run from v6.2)
    "recursion_check": (bool, True),
    # which prog types may use a map with a bpf_spin_lock: "merged" (is_tracing_prog_type: kprobe,
    # tracepoint, perf_event, raw_tp refused; TRACING allowed), "tracing_refused" (the direction of
    # the July 2026 series: fentry, fexit, fmod_ret, tp_btf refused too), "none" (no refusal: the
    # check removed)
    "verifier": (str, "merged", VERIFIERS),
    # which value the NMI prog locks: "any", or "other": never the one the prog it interrupted locks
    # (a different key), which leaves no AA on the CPU but a wait across CPUs (with two values)
    "nmi_value": (str, "any", ["any", "other"]),
    # "spin": bpf_spin_lock (an arch spin lock); "res": bpf_res_spin_lock (v6.15), which returns
    # -EDEADLK on a lock its own CPU holds and -ETIMEDOUT after waiting too long for another CPU
    "lock": (str, "spin", LOCKS),
}

ABSTRACTIONS = [
    "The NMI level stands for every prog that runs in an NMI on the CPU: it may start between any two "
    "steps of the task level and does not nest again. Hard-irq and softirq progs are left out: irqs are "
    "off in the section, and outside it a nested run completes before the interrupted one resumes.",
    "A run's entry (the trampoline's recursion counter, for an fentry prog) and its call of "
    "bpf_spin_lock are one step, and the section with the unlock and the prog's exit (the counter's "
    "decrement) another: the NMI prog that finds the counter set between the unlock and the exit is "
    "skipped in the kernel and runs in the model, on a lock nobody holds (no AA either way).",
    "A prog the verifier refuses does not run at all on this map.",
    "The res lock's timeout is not timed: a waiter for a lock held on another CPU may give up "
    "(-ETIMEDOUT) at any step; on a lock held on its own CPU it gives up at once (-EDEADLK, AA).",
    "Left out (round8-c3.md): the per-CPU irqsave_flags slot that a nested lock of another value "
    "overwrites (the interrupted prog's unlock then leaves irqs off: a corruption, not a hang); "
    "same-CPU re-entry without an NMI through an fentry prog on a kfunc or static subprog the section "
    "may call (the attach deny lists were not read).",
]


class Model(TwoLevels):
    """The constants and the helpers the actions and properties read."""

    def __init__(self, cfg: dict[str, Any], CPU: Enum, Level: Enum, Value: Enum, PC: Enum, Owner: Enum):
        self.cfg, self.CPU, self.Level, self.Value, self.PC, self.Owner = cfg, CPU, Level, Value, PC, Owner
        self.NONE = len(Owner) - 1
        tracing = cfg["nmi_prog"] in ("other_tracing", "same_prog")
        refused = {"merged": not tracing, "tracing_refused": True, "none": False}[cfg["verifier"]]
        self.nmi_runs = not refused  # the verifier loads the NMI prog with this map
        # the trampoline counts prog X's runs on each CPU; the NMI run of X is checked against it
        self.counts_runs = cfg["nmi_prog"] == "same_prog"
        self.res = cfg["lock"] == "res"


@cites(
    "K-trampoline",
    "__bpf_prog_enter_recur (fentry), __bpf_trace_run (tp_btf): the per-prog recursion guard",
    "if (unlikely(!bpf_prog_get_recursion_context(prog))) { bpf_prog_inc_misses_counter(prog); ... "
    "return 0; } (bpf_prog_get_recursion_context: this_cpu_inc_return(*(int __percpu *)(prog->active)) "
    "== 1); __bpf_prog_enter (no counter) for progs bpf_prog_check_recur exempts",
    "the environment's prog run (or an NMI whose handler runs the prog) enters and calls "
    "bpf_spin_lock; the counter is per CPU and read only by a run on the same CPU, so entry and call "
    "are one step (the next pc: LOCKING, or SKIPPED for a run the guard skips)",
)
@cites(
    "K-verifier-spinlock",
    "check_map_prog_compatibility: a map value with a bpf_spin_lock",
    "if (btf_record_has_field(map->record, BPF_SPIN_LOCK | BPF_RES_SPIN_LOCK)) { ... if "
    '(is_tracing_prog_type(prog_type)) { verbose(env, "tracing progs cannot use bpf_spin_lock yet\\n"); '
    "return -EINVAL; } } (KPROBE, TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT, RAW_TRACEPOINT_WRITABLE: not "
    "TRACING)",
    "a load-time rule: a refused NMI prog has no Run step on this map",
)
def Run(m: Model, s: Any, c: int, lv: int, v: int) -> list[Step]:
    """A prog run at level lv on c calls bpf_spin_lock on value v."""
    if lv == NMI and not m.nmi_runs:
        return []
    g = and_(s.pc[c][lv] == m.PC.IDLE, m.can_step(s, c, lv))
    if disabled(g):
        return []
    if lv == NMI and m.cfg["nmi_value"] == "other":
        g = and_(g, or_(s.pc[c][TASK] == m.PC.IDLE, s.val[c][TASK] != v))
    val = put(s.val, c, put(s.val[c], lv, v))
    if lv == TASK:
        counted = s.active if not m.counts_runs else put(s.active, c, True)
        return [when(g, val=val, pc=m.set_pc(s, c, lv, m.PC.LOCKING), active=counted)]
    if m.counts_runs and m.cfg["recursion_check"]:
        return [
            when(and_(g, s.active[c]), val=val, pc=m.set_pc(s, c, lv, m.PC.SKIPPED)),
            when(and_(g, not_(s.active[c])), val=val, pc=m.set_pc(s, c, lv, m.PC.LOCKING)),
        ]
    return [when(g, val=val, pc=m.set_pc(s, c, lv, m.PC.LOCKING))]


@cites(
    "K-trampoline",
    "__bpf_prog_enter_recur: the skipped run",
    "bpf_prog_inc_misses_counter(prog); return 0; (the trampoline skips the prog body and goes to "
    "__bpf_prog_exit_recur, which decrements the counter)",
    "the skipped run's exit is one step: it touches only this CPU's counter and returns from the NMI",
)
def Return(m: Model, s: Any, c: int, lv: int) -> Step:
    """A run the recursion guard skipped returns (the NMI ends)."""
    return when(and_(s.pc[c][lv] == m.PC.SKIPPED, m.can_step(s, c, lv)), pc=m.set_pc(s, c, lv, m.PC.IDLE))


@cites(
    "V24",
    "__bpf_spin_lock_irqsave (bpf_spin_lock); bpf_res_spin_lock (v6.15)",
    "local_irq_save(flags); __bpf_spin_lock(lock): preempt_disable(); arch_spin_lock(l); | "
    "raw_res_spin_lock_irqsave: AA on a lock this CPU holds -> -EDEADLK; a wait past the timeout -> "
    "-ETIMEDOUT",
    "one test-and-set: the lock is taken when free; while another context holds it there is no step (a "
    "spin, irqs off), or with the res lock a give-up (the prog sees the error and ends)",
)
def Lock(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """The prog takes the value's lock (spins while another context holds it)."""
    g = and_(s.pc[c][lv] == m.PC.LOCKING, m.can_step(s, c, lv))
    if disabled(g):
        return []
    steps = []
    me = m.owner_id(c, lv)
    for v in range(len(m.Value)):
        gv = and_(g, s.val[c][lv] == v)
        owner = s.owner[v]
        steps.append(
            when(and_(gv, owner == m.NONE), owner=put(s.owner, v, me), pc=m.set_pc(s, c, lv, m.PC.HELD))
        )
        if m.res:  # -EDEADLK, -ETIMEDOUT
            steps += m.give_up_steps(
                gv, owner, c, dict(pc=m.set_pc(s, c, lv, m.PC.IDLE), active=_ends(m, s, c, lv))
            )
    return steps


def _ends(m: Model, s: Any, c: int, lv: int) -> Any:
    """prog X's counter after its task-level run ends (the trampoline's exit decrements it)."""
    return put(s.active, c, False) if m.counts_runs and lv == TASK else s.active


@cites(
    "V24",
    "__bpf_spin_unlock_irqrestore (bpf_spin_unlock), then the prog's exit",
    "flags = __this_cpu_read(irqsave_flags); __bpf_spin_unlock(lock); local_irq_restore(flags); (the "
    "verifier allows no helper call in between, and the prog returns through the trampoline's exit)",
    "the section, the unlock and the prog's end are one step (ABSTRACTIONS): the NMI prog may run before it",
)
def Unlock(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """The section ends: the lock is released and the prog run ends."""
    g = and_(s.pc[c][lv] == m.PC.HELD, m.can_step(s, c, lv))
    if disabled(g):
        return []
    return [
        when(
            and_(g, s.val[c][lv] == v),
            owner=put(s.owner, v, m.NONE),
            pc=m.set_pc(s, c, lv, m.PC.IDLE),
            active=_ends(m, s, c, lv),
        )
        for v in range(len(m.Value))
    ]


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple]:
    """No kernel-configuration dimension changes this model: bpf_spin_lock is an arch spin lock with
    irqs and preemption off on every preemption model, and NMIs (x86's, arm64's pseudo-NMI) exist on
    all of them."""
    return {}


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS)."""
    from invariants.spin_lock import properties, witnesses

    cfg = model_constants("spin_lock", PARAMS, constants)
    for name, allowed in (
        ("task_prog", TASK_PROGS),
        ("nmi_prog", NMI_PROGS),
        ("verifier", VERIFIERS),
        ("lock", LOCKS),
        ("nmi_value", ["any", "other"]),
    ):
        if cfg[name] not in allowed:
            raise SpecError(f"spin_lock: {name} = {cfg[name]!r} is not one of {', '.join(allowed)}")
    if cfg["nmi_prog"] == "same_prog" and cfg["task_prog"] != "fentry":
        raise SpecError("spin_lock: nmi_prog = 'same_prog' needs task_prog = 'fentry' (the prog re-entered)")
    if cfg["task_prog"] == "fentry" and cfg["verifier"] == "tracing_refused":
        raise SpecError("spin_lock: verifier = 'tracing_refused' refuses an fentry task_prog too")
    spec = Spec("SpinLock")
    spec.constants = dict(cfg)
    spec.sources = sources.pick("V24", "K-verifier-spinlock", "K-trampoline")
    CPU = Enum("CPU", [f"cpu{i}" for i in range(cfg["cpus"])])
    Level = Enum("Level", ["TASK", "NMI"])
    Value = Enum("Value", [f"v{i}" for i in range(cfg["values"])])
    PC = Enum("PC", ["IDLE", "LOCKING", "HELD", "SKIPPED"])
    Owner = Enum("Owner", [f"{c}.{lv}" for c in CPU.names for lv in Level.names] + ["none"])
    m = Model(cfg, CPU, Level, Value, PC, Owner)
    spec.var("pc", Fn(CPU, Fn(Level, PC)), const_fn(CPU, const_fn(Level, PC.IDLE)), "each context's run")
    spec.var("val", Fn(CPU, Fn(Level, Value)), const_fn(CPU, const_fn(Level, 0)), "the value it locks")
    spec.var("owner", Fn(Value, Owner), const_fn(Value, m.NONE), "the context holding each value's lock")
    spec.var("active", Fn(CPU, Bool), const_fn(CPU, False), "prog X's recursion counter on each CPU")
    spec.action(c=CPU, lv=Level, v=Value)(bind(Run, m))
    spec.action(c=CPU, lv=Level)(bind(Return, m))
    spec.action(c=CPU, lv=Level)(bind(Lock, m))
    spec.action(c=CPU, lv=Level)(bind(Unlock, m))
    spec.environment_actions("Run")
    for action in ("Return", "Lock", "Unlock"):
        spec.wf(action)
    properties.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec
