"""A hash map's bucket lock against progs that run inside it on the same CPU (issue 21: re-entrancy
and NMI), built on ``spec/kernel/htab.py``.

On each CPU a task-level prog run and an NMI prog (standing also for a tracing prog attached to a
function the critical section calls: either runs between any two steps of the interrupted context,
irqs off or not) update one of two keys. The keys' hashes, 0 and 2, fall in one bucket of a map with
2 buckets (``max_entries = 2``: Tonghao Zhang's example) and, masked with ``HASHTAB_MAP_LOCK_MASK``
alone, in two different ``map_locked`` counters. An update is three steps: ``htab_lock_bucket``'s
counter (``UpdateStart``), its spin lock (``LockBucket``), and the unlock with the counter's decrement
(``Unlock``); the critical section between the last two is where the NMI prog may fire. The four
forms of the lock (``lock``) are those of ``spec/kernel/htab.py``; the cells that remove a fix find
the deadlock it fixed.
"""

from __future__ import annotations

from typing import Any

from spec.config import model_constants
from spec.kernel import htab, sources
from spec.kernel.nesting import NESTED, TwoLevels
from spec.kernel.nesting import TASK as TASK  # the invariants import the levels from the model
from spec.lang import (
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
    put,
    when,
)

HASHES = [0, 2]  # the two keys' hashes (jhash of the key: any two keys with these low bits)
NMI = NESTED  # the nested level: an NMI (or tracing) prog

PARAMS: dict[str, tuple] = {
    "cpus": (int, 2, 1, 2),
    "lock": (str, "map_locked", htab.LOCKS),
    # the map's buckets (max_entries rounded up to a power of two): 1, 2, 4 or 8
    "n_buckets": (int, 2, 1, 8),
}

ABSTRACTIONS = [
    "The NMI level stands for every prog that can run inside another's critical section on the same "
    "CPU with irqs off: an NMI prog (perf_event) and a tracing prog (kprobe, fentry) attached to a "
    "function the section calls; neither nests again. Hard-irq progs are left out (the section runs with "
    "irqs off).",
    "The unlock and the counter's decrement are one step: an NMI between them would only see the "
    "counter taken and return -EBUSY, which touches no lock.",
    "The critical section's work (lookup, insert or replace, the old element's free) is not modelled: "
    "only that the lock is held across a step in which the NMI prog may run.",
    "The rqspinlock's timeout is not timed: a waiter for a lock held on another CPU may give up "
    "(-ETIMEDOUT) at any step; on a lock held on its own CPU it gives up at once (-EDEADLK, AA).",
]


class Model(TwoLevels):
    """The constants and the helpers the actions and properties read."""

    def __init__(self, cfg: dict[str, Any], CPU: Enum, Level: Enum, Key: Enum, PC: Enum, Owner: Enum):
        self.cfg, self.CPU, self.Level, self.Key, self.PC, self.Owner = cfg, CPU, Level, Key, PC, Owner
        self.lock = cfg["lock"]
        nb = cfg["n_buckets"]
        self.bucket = [htab.bucket_of(h, nb) for h in HASHES]
        self.buckets = sorted(set(self.bucket))
        counters = [htab.counter_of(h, nb, self.lock) for h in HASHES]
        self.counter = counters
        self.counters = sorted({k for k in counters if k is not None})
        self.NONE = len(Owner) - 1

    def b(self, k: int) -> int:
        """Key k's bucket, as an index of the ``owner`` function."""
        return self.buckets.index(self.bucket[k])

    def cnt(self, k: int) -> int | None:
        """Key k's map_locked counter, as an index of the ``locked`` function (None: no counter)."""
        c = self.counter[k]
        return None if c is None else self.counters.index(c)

    def counter_moved(self, s: Any, c: int, k: int, by: int) -> Any:
        """``locked`` with c's map_locked counter of key k moved by ``by`` (None: no counter)."""
        i = self.cnt(k)
        return None if i is None else put(s.locked, c, put(s.locked[c], i, s.locked[c][i] + by))


@cites(
    "K-htab-map-locked",
    "htab_map_update_elem -> htab_lock_bucket: the map_locked counter",
    "hash = hash & HASHTAB_MAP_LOCK_MASK (20b6cc34ea74; min_t(u32, HASHTAB_MAP_LOCK_MASK, "
    "htab->n_buckets - 1) since January 2023); preempt_disable(); if "
    "(unlikely(__this_cpu_inc_return(*(htab->map_locked[hash])) != 1)) {",
    "the environment's prog run calls bpf_map_update_elem; __this_cpu_inc_return is one instruction on "
    "this CPU's counter (an NMI comes before or after it); the test's outcome is the next pc (COUNTED, "
    "or REFUSED)",
)
@cites(
    "K-htab-rqspinlock",
    "htab_lock_bucket (v6.15+), and before 20b6cc34ea74",
    "ret = raw_res_spin_lock_irqsave(&b->raw_lock, flags) (no counter); v5.9: raw_spin_lock_irqsave alone",
    "no counter: the update goes straight to the lock (LockBucket)",
)
def UpdateStart(m: Model, s: Any, c: int, lv: int, k: int) -> list[Step]:
    """A prog run at level lv on c calls bpf_map_update_elem(key k): htab_lock_bucket's counter."""
    g = and_(s.pc[c][lv] == m.PC.IDLE, m.can_step(s, c, lv))
    if disabled(g):
        return []
    key = put(s.key, c, put(s.key[c], lv, k))
    i = m.cnt(k)
    if i is None:
        return [when(g, key=key, pc=put(s.pc, c, put(s.pc[c], lv, m.PC.COUNTED)))]
    taken = s.locked[c][i] > 0
    nxt = ite(taken, m.PC.REFUSED, m.PC.COUNTED)
    return [when(g, key=key, locked=m.counter_moved(s, c, k, 1), pc=put(s.pc, c, put(s.pc[c], lv, nxt)))]


@cites(
    "K-htab-map-locked",
    "htab_lock_bucket: the counter was taken",
    "__this_cpu_dec(*(htab->map_locked[hash])); preempt_enable(); return -EBUSY; }",
    "one decrement of this CPU's counter; the update returns -EBUSY",
)
def Refuse(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """The update found the counter taken: it decrements it and returns -EBUSY."""
    g = and_(s.pc[c][lv] == m.PC.REFUSED, m.can_step(s, c, lv))
    if disabled(g):
        return []
    steps = []
    for k in range(len(m.Key)):
        dec = m.counter_moved(s, c, k, -1)
        if dec is not None:
            steps.append(
                when(and_(g, s.key[c][lv] == k), locked=dec, pc=put(s.pc, c, put(s.pc[c], lv, m.PC.IDLE)))
            )
    return steps


@cites(
    "K-htab-map-locked",
    "htab_lock_bucket: the spin lock",
    "raw_spin_lock_irqsave(&b->raw_lock, flags) (v5.10-v6.6; local_irq_save before the counter and "
    "raw_spin_lock since 2023)",
    "one test-and-set: the lock is taken when free; while another context holds it there is no step (a spin)",
)
@cites(
    "K-htab-rqspinlock",
    "htab_lock_bucket (v6.15+): raw_res_spin_lock_irqsave",
    "ret = raw_res_spin_lock_irqsave(&b->raw_lock, flags); if (ret) return ret; (AA: -EDEADLK; a "
    "timeout: -ETIMEDOUT)",
    "the acquisition, or the give-up, is one step: AA at once, a wait for another CPU at any step "
    "(ABSTRACTIONS)",
)
def LockBucket(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """The update takes its bucket's lock (spins while another context holds it)."""
    g = and_(s.pc[c][lv] == m.PC.COUNTED, m.can_step(s, c, lv))
    if disabled(g):
        return []
    steps = []
    me = m.owner_id(c, lv)
    for k in range(len(m.Key)):
        gk = and_(g, s.key[c][lv] == k)
        b = m.b(k)
        owner = s.owner[b]
        steps.append(
            when(
                and_(gk, owner == m.NONE),
                owner=put(s.owner, b, me),
                pc=put(s.pc, c, put(s.pc[c], lv, m.PC.HELD)),
            )
        )
        if m.lock == "rqspinlock":  # -EDEADLK, -ETIMEDOUT
            steps += m.give_up_steps(gk, owner, c, dict(pc=put(s.pc, c, put(s.pc[c], lv, m.PC.IDLE))))
    return steps


@cites(
    "K-htab-map-locked",
    "htab_unlock_bucket",
    "raw_spin_unlock_irqrestore(&b->raw_lock, flags); __this_cpu_dec(*(htab->map_locked[hash])); "
    "preempt_enable(); (v6.15+: raw_res_spin_unlock_irqrestore)",
    "the critical section ends; the unlock and the counter's decrement are one step (ABSTRACTIONS)",
)
def Unlock(m: Model, s: Any, c: int, lv: int) -> list[Step]:
    """The critical section ends: the lock is released and the counter decremented."""
    g = and_(s.pc[c][lv] == m.PC.HELD, m.can_step(s, c, lv))
    if disabled(g):
        return []
    steps = []
    for k in range(len(m.Key)):
        upd = dict(owner=put(s.owner, m.b(k), m.NONE), pc=put(s.pc, c, put(s.pc[c], lv, m.PC.IDLE)))
        dec = m.counter_moved(s, c, k, -1)
        if dec is not None:
            upd["locked"] = dec
        steps.append(when(and_(g, s.key[c][lv] == k), **upd))
    return steps


def kconfig_relevant(constants: dict[str, Any]) -> dict[str, tuple]:
    """No kernel-configuration dimension changes this model: the bucket lock is a raw spinlock (or an
    rqspinlock) on every preemption model, and NMIs exist on all of them."""
    return {}


def make_spec(**constants: Any) -> Spec:
    """Build the model for the given constants (see PARAMS)."""
    from invariants.htab_lock import properties, witnesses

    cfg = model_constants("htab_lock", PARAMS, constants)
    if cfg["lock"] not in htab.LOCKS:
        raise SpecError(f"htab_lock: lock = {cfg['lock']!r} is not one of {', '.join(htab.LOCKS)}")
    if cfg["n_buckets"] not in (1, 2, 4, 8):
        raise SpecError("htab_lock: n_buckets is a power of two, at most 8")
    spec = Spec("HtabLock")
    spec.sources = sources.pick("K-htab-map-locked", "K-htab-rqspinlock")
    ncpu = cfg["cpus"]
    CPU = Enum("CPU", [f"cpu{i}" for i in range(ncpu)])
    Level = Enum("Level", ["TASK", "NMI"])
    Key = Enum("Key", [f"k{h}" for h in HASHES])
    PC = Enum("PC", ["IDLE", "COUNTED", "HELD", "REFUSED"])
    Owner = Enum("Owner", [f"{c}.{lv}" for c in CPU.names for lv in Level.names] + ["none"])
    m = Model(cfg, CPU, Level, Key, PC, Owner)
    Bucket = Enum("Bucket", [f"b{b}" for b in m.buckets])
    spec.var("pc", Fn(CPU, Fn(Level, PC)), const_fn(CPU, const_fn(Level, PC.IDLE)), "each context's update")
    spec.var("key", Fn(CPU, Fn(Level, Key)), const_fn(CPU, const_fn(Level, 0)), "the key it updates")
    spec.var("owner", Fn(Bucket, Owner), const_fn(Bucket, m.NONE), "the context holding each bucket lock")
    if m.counters:
        Counter = Enum("Counter", [f"m{k}" for k in m.counters])
        spec.var("locked", Fn(CPU, Fn(Counter, Int(0, 2))), const_fn(CPU, const_fn(Counter, 0)), "map_locked")
        spec.action(c=CPU, lv=Level)(bind(Refuse, m))
    spec.action(c=CPU, lv=Level, k=Key)(bind(UpdateStart, m))
    spec.action(c=CPU, lv=Level)(bind(LockBucket, m))
    spec.action(c=CPU, lv=Level)(bind(Unlock, m))
    spec.environment_actions("UpdateStart")
    spec.wf("LockBucket")
    if m.counters:
        spec.wf("Refuse")
    spec.wf("Unlock")
    properties.register(spec, m)
    witnesses.register(spec, m)
    spec.model = m
    return spec
