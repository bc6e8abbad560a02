"""ReadersWriters, from tlaplus/Examples specifications/ReadersWriters/ReadersWriters.tla (Isaac
DeFrain): readers and writers served in the order of a queue. Written with spec/values.py's sets and
bounded sequences, line for line where the spec language has the idiom (the TLA+ is quoted above each
definition).

The queue holds pairs <<"read"|"write", actor>>, the tuples of the ``TupleSet`` ``Req`` (with a filler,
"none", for the queue's unused slots, which the TLA+ export leaves out: it prints ``waiting`` as a TLA+
sequence, ``Append(waiting, <<"read", "1">>)`` and ``Tail(waiting)``). Each actor waits at most once to
read and once to write, so the queue is never longer than 2 * NumActors, the bound of its sequence. The
manifest's MC model (TLC): 21,527 distinct states, 59,674 generated, depth 13.
"""

from __future__ import annotations

from typing import Any

from spec.lang import Enum, Set, Spec, and_, any_, const_fn, ite, not_, when
from spec.values import (
    TupleSet,
    cardinality,
    member,
    seq_append,
    seq_head,
    seq_tail,
    seq_vars,
    set_add,
    set_remove,
    union,
)

PARAMS = {"actors": (int, 3, 1, 4)}


def make_spec(actors: int = 3) -> Spec:
    spec = Spec("ReadersWriters", constants={"actors": actors})
    Actor = Enum("Actor", [str(a) for a in range(1, actors + 1)])  # Actors == 1..NumActors
    # <<"read", a>> and <<"write", a>> for each actor, and "none" for an unused slot of the queue
    Req = TupleSet("Req", [(k, a) for k in ("read", "write") for a in Actor], enums={1: Actor}, filler="none")
    none = Req.filler

    def req(kind: int, a: int) -> int:  # kind 0: "read", 1: "write"
        return kind * actors + a

    # VARIABLES readers, writers, waiting    Init: readers = {} /\ writers = {} /\ waiting = <<>>
    spec.var("readers", Set(Actor), const_fn(Actor, False), "set of processes currently reading")
    spec.var("writers", Set(Actor), const_fn(Actor, False), "set of processes currently writing")
    seq_vars(spec, "waiting", Req, 2 * actors, none, "queue of processes waiting to access the resource")

    def waiting_to(s: Any, kind: int, a: int) -> Any:
        """actor \\in WaitingToRead (kind 0) or WaitingToWrite (1): { p[2] : p \\in ToSet(SelectSeq(
        waiting, IsRead)) }"""
        return any_(and_(i < s.waiting_len, x == req(kind, a)) for i, x in enumerate(s.waiting))

    def try_(s: Any, kind: int, a: int) -> Any:
        # /\ actor \notin WaitingToRead /\ waiting' = Append(waiting, <<"read", actor>>)
        room, upd = seq_append(s, "waiting", req(kind, a))
        return when(and_(not_(waiting_to(s, kind, a)), room), **upd)

    @spec.action(actor=Actor)
    def TryRead(s, actor):
        return try_(s, 0, actor)

    @spec.action(actor=Actor)
    def TryWrite(s, actor):
        return try_(s, 1, actor)

    @spec.action(head=Req)
    def ReadOrWrite(s, head):
        """waiting /= <<>> /\\ writers = {} /\\ LET pair == Head(waiting) ... CASE pair[1] = "read" ->
        Read(actor) [] pair[1] = "write" -> Write(actor): one step for the value Head(waiting) has."""
        if head == none:
            return []
        kind, a = divmod(head, actors)
        nonempty, tail = seq_tail(s, "waiting", none)
        g = and_(nonempty, seq_head(s.waiting) == head, cardinality(s.writers) == 0)
        if kind == 0:  # Read(actor): readers' = readers \union {actor} /\ waiting' = Tail(waiting)
            return when(g, readers=set_add(s.readers, a), **tail)
        # Write(actor): readers = {} /\ writers' = writers \union {actor} /\ waiting' = Tail(waiting)
        return when(and_(g, cardinality(s.readers) == 0), writers=set_add(s.writers, a), **tail)

    @spec.action(actor=Actor)
    def Stop(s, actor):
        """\\E actor \\in readers \\cup writers : StopActivity(actor): IF actor \\in readers THEN
        readers' = readers \\ {actor} ELSE writers' = writers \\ {actor}"""
        reading = member(s.readers, actor)
        return when(
            member(union(s.readers, s.writers), actor),
            readers=ite(reading, set_remove(s.readers, actor), s.readers),
            writers=ite(reading, s.writers, set_remove(s.writers, actor)),
        )

    @spec.invariant
    def Safety(s):
        """~(readers /= {} /\\ writers /= {}) /\\ Cardinality(writers) <= 1"""
        return and_(
            not_(and_(cardinality(s.readers) > 0, cardinality(s.writers) > 0)), cardinality(s.writers) <= 1
        )

    return spec
