"""The hash map's bucket lock (kernel/bpf/hashtab.c ``htab_lock_bucket``), in the four forms it has had.

A map update or delete takes its key's bucket lock for its critical section. What stops a second
context on the same CPU (an NMI prog, or a tracing prog attached to a function the section calls)
from spinning on a lock that the context it interrupted holds, which can never release it:

- ``none``: ``raw_spin_lock_irqsave(&b->raw_lock, flags)`` alone (v5.9 and before): irqs are off, so
  no irq prog re-enters, but an NMI or tracing prog does;
- ``map_locked_mask``: 20b6cc34ea74 (v5.10, "bpf: Avoid hashtab deadlock with map_locked"): a
  per-CPU counter ``map_locked[hash & HASHTAB_MAP_LOCK_MASK]``, incremented before the lock; a
  context that finds it already taken returns -EBUSY. With fewer than 8 buckets two keys of one
  bucket can have different counters;
- ``map_locked``: the counter indexed by ``hash & min_t(u32, HASHTAB_MAP_LOCK_MASK, n_buckets - 1)``
  ("bpf: hash map, avoid deadlock with suitable hash mask", Tonghao Zhang, January 2023), through
  v6.14;
- ``rqspinlock``: "bpf: Convert hashtab.c to rqspinlock" (v6.15): ``raw_res_spin_lock_irqsave``
  returns -EDEADLK on a lock its own CPU holds (AA) and -ETIMEDOUT after its timeout.
"""

from __future__ import annotations

LOCKS = ["none", "map_locked_mask", "map_locked", "rqspinlock"]
HASHTAB_MAP_LOCK_MASK = 7  # HASHTAB_MAP_LOCK_COUNT - 1


def bucket_of(hash_: int, n_buckets: int) -> int:
    """select_bucket: ``&htab->buckets[hash & (htab->n_buckets - 1)]`` (n_buckets a power of two)."""
    return hash_ & (n_buckets - 1)


def counter_of(hash_: int, n_buckets: int, lock: str) -> int | None:
    """The map_locked counter a key's update increments (None: the form has no counter)."""
    if lock == "map_locked_mask":
        return hash_ & HASHTAB_MAP_LOCK_MASK
    if lock == "map_locked":
        return hash_ & min(HASHTAB_MAP_LOCK_MASK, n_buckets - 1)
    return None
