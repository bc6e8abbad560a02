"""Lock-free lists (brief §3; lib/llist.c, include/linux/llist.h).

A list is a tuple of slots holding node ids, newest first, padded with ``none`` (the list never holds
more nodes than exist). ``llist_add`` is a cmpxchg loop that pushes one node at the head and returns
whether the list was empty; ``llist_del_all`` is one xchg that takes the whole chain ("the order of
entries deleted is from the newest to the oldest added one"); ``llist_reverse_order`` returns the new
first entry. Adding a node that is already linked rewrites its ``next`` pointer: list corruption,
which a model records as a ghost and treats as undefined behaviour (the behaviour halts).
"""

from __future__ import annotations

from typing import Any

from spec.lang import and_, count, not_


def push_front(seq: tuple, node: Any) -> tuple:
    """llist_add of an unlinked node: it becomes the head."""
    return (node, *seq[:-1])


def pop_front(seq: tuple, none: int) -> tuple:
    """The iteration moves to the next node (llist_for_each_entry_safe read it before the body)."""
    return (*seq[1:], none)


def length(seq: tuple, none: int) -> Any:
    return count(x != none for x in seq)


def empty(seq: tuple, none: int) -> tuple:
    return tuple(none for _ in seq)


def add_cases(head: tuple, node: Any, linked: Any) -> list[tuple[Any, tuple, dict]]:
    """llist_add(node, head) as its two cases, each (condition, new head, ghost updates): the node is
    not linked yet (pushed at the head), or it is, which rewrites its next pointer (corruption: the
    ``double_enqueue`` ghost records it and the list keeps one copy so the model stays finite). Two
    steps rather than one ite: the Z3 proofs then never reason about a list that may or may not have
    moved."""
    return [(not_(linked), push_front(head, node), {}), (linked, head, {"double_enqueue": True})]


def reversed_prefixes(seq: tuple, none: int) -> list[tuple[Any, tuple]]:
    """llist_reverse_order on a ``none``-terminated chain, one case per length k: (the chain ends after
    k nodes, the reversed chain). The length is told by where ``none`` starts, not by counting: on a
    packed list it is the same, and the Z3 proofs then settle each case by propagation."""
    size = len(seq)
    cases = []
    for k in range(size + 1):
        ends_here = and_(True if k == 0 else seq[k - 1] != none, True if k == size else seq[k] == none)
        cases.append((ends_here, (*reversed(seq[:k]), *(none,) * (size - k))))
    return cases
