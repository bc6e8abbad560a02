"""The kernel configuration a model runs under: one place that every model reads.

Whether a race is reachable often depends on how the kernel was built or on the architecture, not on
the design alone (docs/second-reading/round4.md Q6). These are dimensions of every model, each a
constant with the same name, values and default in every model's PARAMS (``PARAMS`` below is merged
into them):

``preemption``
    ``none``: a non-preemptible build (PREEMPT_NONE/VOLUNTARY, !PREEMPT_RCU, no PREEMPT_COUNT). Kernel
    code in task context runs until it schedules, so code with no schedule point is an implicit
    classic RCU reader: a grace period cannot end while a CPU is in it (round4.md Q6(b)).
    ``preempt_rcu`` (default): CONFIG_PREEMPT or PREEMPT_DYNAMIC, which selects PREEMPT_RCU (most
    distribution kernels). Only rcu_read_lock sections and regions with preemption, softirqs or irqs
    disabled are classic readers; a task may be preempted anywhere else.
    ``preempt_rt``: PREEMPT_RCU, and an irq_work without IRQ_WORK_HARD_IRQ runs in the preemptible
    per-CPU ``irq_work/%u`` kthread, not in hard-irq (round4.md Q6(a), kernel/irq_work.c). Soft hrtimer
    callbacks also run in a thread on RT, still under local_bh_disable (a classic reader there); the
    models keep them in softirq (bpf_timer is refused on RT since e25ddfb388c8).
``irq_work``
    ``tick`` (default): arches without an irq_work interrupt run a raised irq_work from the next tick;
    a raised irq_work may wait while its CPU passes quiescent states (round4.md Q8(c)).
    ``self_ipi``: x86 (APIC) and others raise a self-IPI that is taken as soon as the raising CPU
    enables interrupts: the raising CPU's task level does not step, and the CPU cannot report a
    quiescent state, until the work has run. (A stall inside an idle or nohz_full user entry is the
    only way around it; the models leave that out.)
``tasks_trace``
    ``implies_rcu`` (default): the implementation of every kernel since at least v5.10 (the
    synchronize_rcu() in rcu_tasks_trace_postscan, named rcu_trace_implies_rcu_gp() in v6.1, a
    documented guarantee since the 2026 SRCU-fast rewrite): a tasks-trace grace period also waits for
    every classic reader in flight when it starts (round4.md Q3(b)).
    ``contract``: call_rcu_tasks_trace waits only for rcu_read_lock_trace sections, as its kernel-doc
    says (kernel/rcu/tasks.h); no shipped kernel behaves so, but a design that relies on more relies
    on an implementation property (the BPF code that does checks rcu_trace_implies_rcu_gp()).
``stalls``
    ``allowed`` (default): any interleaving, however unlikely its timing.
    ``none``: a hard-irq handler on a non-RT kernel is a few instructions with irqs off; while one is
    between two of its steps, no other CPU starts a slow activity (a task's return to user space that
    runs its task_work, a system call, a task exit, a workqueue item such as bpf_prog_free_deferred:
    a kworker woken and scheduled). A grace period's end is not one: it is an instant that may fall
    anywhere once its readers are done. A finding that needs a stall needs an NMI storm,
    an SMI or a preempted vCPU to stretch that window (round4.md Q7(b)).
``memory``
    ``sc`` (default): sequentially consistent memory (see ASSUMPTIONS). ``tso``: a CPU's plain or
    release store may wait in its store buffer while its own later loads read it from there and other
    CPUs still see the old value; fully ordered read-modify-writes (xchg, value-returning atomics)
    drain the buffer first. That is x86-TSO; arm64 and the LKMM allow at least this much reordering
    of a release store and a later load. Only a model that says it reads it (``spec/prog_swap``'s
    lock-free loop) may be given ``tso``: every other model is sequentially consistent, and
    ``KernelConfig`` refuses ``tso`` for it. This is the one dimension whose default is the
    restrictive value, because the other models do not model the permissive one.

The defaults are a shipped configuration that allows the most: a distribution kernel's PREEMPT_RCU,
irq_work from the tick (no promptness), the tasks-trace implementation of every shipped kernel, and
any timing. A cell may set other values (the matrix has cells for PREEMPT_RT and for the tasks-trace
contract where they matter). ``explorer`` computes, for every counterexample, the configurations it
exists in by running the cell under every combination of the dimensions the model reads there
(``kconfig_relevant`` of each model); the features below are monotone (a configuration with more
features has more behaviours), which the same runs check.

The timing and delivery assumptions the models make without a switch are ``ASSUMPTIONS`` below (the
report lists them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import product
from typing import Any

from spec.lang import SpecError

# What every model assumes without a switch; the report prints this list beside each model's ABSTRACTIONS.
ASSUMPTIONS = [
    "A grace period may end at any time once the readers it waits for have left (no minimum length).",
    "A queued work item, an irq_work raised with tick delivery and an expired timer run at any later "
    "time, and under their fairness they do run; workqueue concurrency is unbounded (a kworker per work "
    "item).",
    "An hrtimer may expire on any CPU (a non-pinned timer migrates).",
    "Memory is sequentially consistent (except where a cell sets memory = tso: spec/prog_swap's "
    "lock-free set_callback loop): the kernel's barriers (smp_mb, release/acquire, fully ordered "
    "read-modify-writes) are taken to give the order the code is written in; weaker LKMM orders are not "
    "explored. Where a race would need one, as the store-buffering pair of bpf_timer_cancel's counters, "
    "the barriers forbid it (docs/second-reading/round4.md Q1(d)).",
    "A task returns to user space eventually (bpf_task_work's target switch can say otherwise).",
    "Allocations succeed, except where a model says so (the rework's command queue).",
    "With irq_work = self_ipi, the raising CPU takes the interrupt before its interrupted context steps "
    "again; the IPI's own latency, and a stall inside an idle or nohz_full user entry, are left out.",
    "Prog runs are the environment: they start (and make their helper call) whenever they may, are never "
    "fair, and a liveness violation never rests on them repeating for ever.",
]

PREEMPTION = ("none", "preempt_rcu", "preempt_rt")
IRQ_WORK = ("self_ipi", "tick")
TASKS_TRACE = ("implies_rcu", "contract")
STALLS = ("none", "allowed")
MEMORY = ("sc", "tso")

# the value lists, most restrictive first; a model's PARAMS gets these entries
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "preemption": PREEMPTION,
    "irq_work": IRQ_WORK,
    "tasks_trace": TASKS_TRACE,
    "stalls": STALLS,
    "memory": MEMORY,
}
DEFAULTS = {
    "preemption": "preempt_rcu",
    "irq_work": "tick",
    "tasks_trace": "implies_rcu",
    "stalls": "allowed",
    "memory": "sc",
}
PARAMS: dict[str, tuple] = {name: (str, DEFAULTS[name], list(values)) for name, values in DIMENSIONS.items()}

# How a reader names a value.
LABELS = {
    ("preemption", "none"): "non-preemptible",
    ("preemption", "preempt_rcu"): "PREEMPT_RCU",
    ("preemption", "preempt_rt"): "PREEMPT_RT",
    ("irq_work", "self_ipi"): "irq_work by self-IPI",
    ("irq_work", "tick"): "irq_work from the tick",
    ("tasks_trace", "implies_rcu"): "tasks-trace GP implies an RCU GP",
    ("tasks_trace", "contract"): "tasks-trace GP as documented",
    ("stalls", "none"): "no stall",
    ("stalls", "allowed"): "a hard-irq stall",
    ("memory", "sc"): "sequentially consistent memory",
    ("memory", "tso"): "a store buffer (x86-TSO)",
}


class KernelConfig:
    """The dimensions of one model instance, read by its actions (plain Python constants).
    ``store_buffer``: the model reads ``memory`` (models a store buffer where ``tso``); any other
    model refuses ``memory = tso`` rather than check it as sequentially consistent."""

    def __init__(self, cfg: Mapping[str, Any], store_buffer: bool = False) -> None:
        self.preemption: str = cfg["preemption"]
        self.irq_work: str = cfg["irq_work"]
        self.tasks_trace: str = cfg["tasks_trace"]
        self.stalls: str = cfg["stalls"]
        self.memory: str = cfg["memory"]
        if self.memory != "sc" and not store_buffer:
            raise SpecError(
                f"memory = {self.memory!r}: this model is sequentially consistent (only spec/prog_swap's "
                "lock-free loop models a store buffer)"
            )

    @property
    def non_preemptible(self) -> bool:
        """Task-context kernel code with no schedule point is an implicit classic RCU reader."""
        return self.preemption == "none"

    @property
    def rt(self) -> bool:
        """irq_works without IRQ_WORK_HARD_IRQ run in a preemptible per-CPU kthread."""
        return self.preemption == "preempt_rt"

    @property
    def self_ipi(self) -> bool:
        """A raised irq_work runs before its CPU's task level steps again."""
        return self.irq_work == "self_ipi"

    @property
    def tt_implies_rcu(self) -> bool:
        """A tasks-trace grace period also waits for the classic readers in flight when it starts."""
        return self.tasks_trace == "implies_rcu"

    @property
    def no_stalls(self) -> bool:
        return self.stalls == "none"


def label(config: Mapping[str, str]) -> str:
    """``PREEMPT_RCU, irq_work from the tick`` for the given dimension values (in DIMENSIONS order)."""
    return ", ".join(LABELS[d, config[d]] for d in DIMENSIONS if d in config)


# Features: the permissive side of each dimension. A configuration is the set of features it has,
# and a configuration with more features has more behaviours (the models are written so; the
# configuration analysis checks it on every cell it runs).
FEATURES = {
    "preemptible": ("preemption", ("preempt_rcu", "preempt_rt")),
    "rt": ("preemption", ("preempt_rt",)),
    "tick": ("irq_work", ("tick",)),
    "contract": ("tasks_trace", ("contract",)),
    "stall": ("stalls", ("allowed",)),
    "store_buffer": ("memory", ("tso",)),
}
FEATURE_LABELS = {
    "preemptible": "a preemptible kernel (PREEMPT_RCU or PREEMPT_RT)",
    "rt": "PREEMPT_RT",
    "tick": "irq_work run from the tick (no irq_work self-IPI)",
    "contract": "only the documented tasks-trace contract (no shipped kernel: they all imply an RCU GP)",
    "stall": "a stalled hard-irq handler (NMI, SMI or hypervisor)",
    "store_buffer": "a store buffer that forwards a CPU's own stores to its loads (x86-TSO, arm64: every SMP "
    "machine)",
}


def features(config: Mapping[str, str]) -> frozenset[str]:
    return frozenset(f for f, (dim, values) in FEATURES.items() if dim in config and config[dim] in values)


def configurations(relevant: Mapping[str, tuple[str, ...]]) -> Iterator[dict[str, str]]:
    """Every combination of the relevant dimensions' values (the others stay at their defaults)."""
    dims = list(relevant)
    for combo in product(*(relevant[d] for d in dims)):
        yield dict(zip(dims, combo, strict=True))
