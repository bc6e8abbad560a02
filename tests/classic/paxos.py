"""Paxos and Voting, from tlaplus/Examples specifications/Paxos (Leslie Lamport): Paxos.tla, the message
passing algorithm, and Voting.tla, the abstract algorithm it implements (``THEOREM Spec => V!Spec``,
checked by MCPaxos.cfg as ``PROPERTY VotingSpecBar``). Written with spec/values.py's sets, line for line
where the spec language has the idiom (the TLA+ is quoted above each definition).

Records: a message is one value of the ``RecordSet`` ``Message``, every record of the set ``Message`` of
Paxos.tla for the model's constants (``[type : {"1a"}, bal : Ballot] \\cup ...``); ``fields(m)`` reads
its fields, and ``msgs`` is a set of them (the TLA+ export prints them as records). A vote ``<<b, v>>``
is one value of the ``TupleSet`` ``Vote`` (printed ``<<0, "v1">>`` in TLA+).

Counting: an existential or a disjunction at the level of an action (``\\E Q \\in Quorum``, ``\\/ Q1bv =
{} \\/ \\E m \\in Q1bv : ...``) is one step per true disjunct and witness, as TLC counts "states
generated": such an action returns a list of steps.

The manifest's model MCPaxos.cfg (one acceptor, one value, ballots 0..1, TLC): 25 distinct states, 82
generated, depth 9, invariants Inv1-Inv4 and the refinement of Voting.
"""

from __future__ import annotations

import itertools
from typing import Any

from spec.lang import Enum, Fn, Int, Set, Spec, and_, any_, const_fn, implies, not_, or_, put, when
from spec.values import RecordSet, TupleSet, member, set_add

PARAMS = {
    "acceptors": (int, 1, 1, 3),
    "values": (int, 1, 1, 2),
    "max_ballot": (int, 1, 0, 2),
    # Phase2b's m.bal \geq maxBal[a]; False: a mutation (an acceptor votes in a ballot it promised to
    # skip), which the refinement of Voting catches (maxBal goes down: no Voting step does that)
    "ballot_check": (bool, True),
}


class Constants:
    """CONSTANT Value, Acceptor, Quorum; Ballot == 0..max_ballot (MCBallot); None."""

    def __init__(self, acceptors: int, values: int, max_ballot: int) -> None:
        self.Acceptor = Enum("Acceptor", [f"a{k}" for k in range(1, acceptors + 1)])
        self.Value = Enum("Value", [f"v{k}" for k in range(1, values + 1)])
        self.ValueOrNone = Enum("ValueOrNone", [*self.Value.names, "None"])  # Value \cup {None}
        self.none = len(self.Value)
        self.B = max_ballot
        self.Ballot = range(max_ballot + 1)
        self.BallotOrMinus = Int(-1, max_ballot)  # Ballot \cup {-1}
        # MCQuorum: {{a1}} for one acceptor, the majorities otherwise ({{a1, a2}, {a1, a3}, {a2, a3}})
        n = acceptors
        self.Quorum = [q for k in range(n // 2 + 1, n + 1) for q in itertools.combinations(range(n), k)]
        # Ballot \X Value
        self.Vote = TupleSet("Vote", [(b, v) for b in self.Ballot for v in self.Value], enums={1: self.Value})

    def vote(self, b: int, v: int) -> int:
        return b * len(self.Value) + v


class VotingOps:
    """Voting.tla's definitions over any state that says VotedFor(a, b, v) and maxBal[a] (the Voting spec
    itself, and Paxos through the refinement mapping)."""

    def __init__(self, k: Constants, voted_for: Any, max_bal: Any) -> None:
        self.k, self.voted_for, self.max_bal = k, voted_for, max_bal

    def did_not_vote_at(self, a: int, b: int) -> Any:
        """DidNotVoteAt(a, b) == \\A v \\in Value : ~ VotedFor(a, b, v)"""
        return and_(*(not_(self.voted_for(a, b, v)) for v in self.k.Value))

    def cannot_vote_at(self, a: int, b: int) -> Any:
        """CannotVoteAt(a, b) == maxBal[a] > b /\\ DidNotVoteAt(a, b)"""
        return and_(self.max_bal(a) > b, self.did_not_vote_at(a, b))

    def none_other_choosable_at(self, b: int, v: int) -> Any:
        """\\E Q \\in Quorum : \\A a \\in Q : VotedFor(a, b, v) \\/ CannotVoteAt(a, b)"""
        return any_(
            and_(*(or_(self.voted_for(a, b, v), self.cannot_vote_at(a, b)) for a in q)) for q in self.k.Quorum
        )

    def safe_at(self, b: int, v: int) -> Any:
        """SafeAt(b, v) == \\A c \\in 0..(b-1) : NoneOtherChoosableAt(c, v)"""
        return and_(*(self.none_other_choosable_at(c, v) for c in range(b)))

    def shows_safe_at(self, q: tuple[int, ...], b: int, v: int) -> Any:
        """ShowsSafeAt(Q, b, v) == /\\ \\A a \\in Q : maxBal[a] \\geq b
        /\\ \\E c \\in -1..(b-1) : /\\ (c # -1) => \\E a \\in Q : VotedFor(a, c, v)
                                 /\\ \\A d \\in (c+1)..(b-1), a \\in Q : DidNotVoteAt(a, d)"""
        return and_(
            *(self.max_bal(a) >= b for a in q),
            any_(
                and_(
                    True if c == -1 else any_(self.voted_for(a, c, v) for a in q),
                    *(self.did_not_vote_at(a, d) for d in range(c + 1, b) for a in q),
                )
                for c in range(-1, b)
            ),
        )

    def votes_safe(self) -> Any:
        """VotesSafe == \\A a, b, v : VotedFor(a, b, v) => SafeAt(b, v)"""
        k = self.k
        return and_(
            *(
                implies(self.voted_for(a, b, v), self.safe_at(b, v))
                for a in k.Acceptor
                for b in k.Ballot
                for v in k.Value
            )
        )

    def one_value_per_ballot(self) -> Any:
        """\\A a1, a2, b, v1, v2 : VotedFor(a1, b, v1) /\\ VotedFor(a2, b, v2) => (v1 = v2)"""
        k = self.k
        return and_(
            *(
                not_(and_(self.voted_for(a1, b, v1), self.voted_for(a2, b, v2)))
                for a1 in k.Acceptor for a2 in k.Acceptor for b in k.Ballot
                for v1 in k.Value for v2 in k.Value if v1 != v2
            )
        )  # fmt: skip


# --------------------------------------------------------------------------- Voting.tla


def make_voting(acceptors: int = 1, values: int = 1, max_ballot: int = 1) -> Spec:
    k = Constants(acceptors, values, max_ballot)
    spec = Spec("Voting", constants={"acceptors": acceptors, "values": values, "max_ballot": max_ballot})
    # VARIABLE votes, maxBal    Init == votes = [a \in Acceptor |-> {}] /\ maxBal = [a \in Acceptor |-> -1]
    spec.var("votes", Fn(k.Acceptor, Set(k.Vote)), const_fn(k.Acceptor, const_fn(k.Vote, False)))
    spec.var("maxBal", Fn(k.Acceptor, k.BallotOrMinus), const_fn(k.Acceptor, -1))

    def ops(s: Any) -> VotingOps:
        return VotingOps(k, lambda a, b, v: s.votes[a][k.vote(b, v)], lambda a: s.maxBal[a])

    # IncreaseMaxBal(a, b) == b > maxBal[a] /\ maxBal' = [maxBal EXCEPT ![a] = b] /\ UNCHANGED votes
    @spec.action(a=k.Acceptor, b=Int(0, max_ballot))
    def IncreaseMaxBal(s, a, b):
        return when(b > s.maxBal[a], maxBal=put(s.maxBal, a, b))

    # VoteFor(a, b, v) == /\ maxBal[a] \leq b /\ \A vt \in votes[a] : vt[1] # b
    #   /\ \A c \in Acceptor \ {a} : \A vt \in votes[c] : (vt[1] = b) => (vt[2] = v)
    #   /\ \E Q \in Quorum : ShowsSafeAt(Q, b, v)
    #   /\ votes' = [votes EXCEPT ![a] = @ \cup {<<b, v>>}] /\ maxBal' = [maxBal EXCEPT ![a] = b]
    @spec.action(a=k.Acceptor, b=Int(0, max_ballot), v=k.Value)
    def VoteFor(s, a, b, v):
        o = ops(s)
        guard = and_(
            s.maxBal[a] <= b,
            o.did_not_vote_at(a, b),
            *(not_(s.votes[c][k.vote(b, w)]) for c in k.Acceptor if c != a for w in k.Value if w != v),
        )
        update = {"votes": put(s.votes, a, set_add(s.votes[a], k.vote(b, v))), "maxBal": put(s.maxBal, a, b)}
        return [when(and_(guard, o.shows_safe_at(q, b, v)), **update) for q in k.Quorum]  # one per witness Q

    # Inv == TypeOK /\ VotesSafe /\ OneValuePerBallot
    @spec.invariant
    def Inv(s):
        o = ops(s)
        return and_(o.votes_safe(), o.one_value_per_ballot())

    return spec


# --------------------------------------------------------------------------- Paxos.tla


def make_spec(acceptors: int = 1, values: int = 1, max_ballot: int = 1, ballot_check: bool = True) -> Spec:
    k = Constants(acceptors, values, max_ballot)
    constants = {
        "acceptors": acceptors,
        "values": values,
        "max_ballot": max_ballot,
        "ballot_check": ballot_check,
    }
    spec = Spec("Paxos", constants=constants)
    A, V = k.Acceptor, k.Value
    # Message == [type : {"1a"}, bal : Ballot]
    #   \cup [type : {"1b"}, acc : Acceptor, bal : Ballot, mbal : Ballot \cup {-1}, mval : Value \cup {None}]
    #   \cup [type : {"2a"}, bal : Ballot, val : Value]
    #   \cup [type : {"2b"}, acc : Acceptor, bal : Ballot, val : Value]
    records: list[dict[str, Any]] = [{"type": "1a", "bal": b} for b in k.Ballot]
    records += [
        {"type": "1b", "acc": a, "bal": b, "mbal": mb, "mval": mv}
        for a in A for b in k.Ballot for mb in range(-1, max_ballot + 1) for mv in k.ValueOrNone
    ]  # fmt: skip
    records += [{"type": "2a", "bal": b, "val": v} for b in k.Ballot for v in V]
    records += [{"type": "2b", "acc": a, "bal": b, "val": v} for a in A for b in k.Ballot for v in V]
    # one value per record; the TLA+ export prints each as its record, [type |-> "1a", bal |-> 0]
    Message = RecordSet("Message", records, enums={"acc": A, "val": V, "mval": k.ValueOrNone})
    fields = Message.fields
    messages = Message.where  # {m \\in Message : m.type = ... /\\ ...}: the candidates a guard tests

    # VARIABLE maxBal, maxVBal, maxVal, msgs
    # Init == maxBal = [a \in Acceptor |-> -1] /\ maxVBal = [a \in Acceptor |-> -1]
    #         /\ maxVal = [a \in Acceptor |-> None] /\ msgs = {}
    spec.var("maxBal", Fn(A, k.BallotOrMinus), const_fn(A, -1))
    spec.var("maxVBal", Fn(A, k.BallotOrMinus), const_fn(A, -1))
    spec.var("maxVal", Fn(A, k.ValueOrNone), const_fn(A, k.none))
    spec.var("msgs", Set(Message), const_fn(Message, False))

    def voted_for(s: Any, a: int, b: int, v: int) -> Any:
        """votes == [a \\in Acceptor |-> {<<m.bal, m.val>> : m \\in {mm \\in msgs : mm.type = "2b" /\\
        mm.acc = a}}]: <<b, v>> \\in votes[a]"""
        return member(s.msgs, messages(type="2b", acc=a, bal=b, val=v)[0])

    def ops(s: Any) -> VotingOps:  # V == INSTANCE Voting
        return VotingOps(k, lambda a, b, v: voted_for(s, a, b, v), lambda a: s.maxBal[a])

    # Phase1a(b) == Send([type |-> "1a", bal |-> b]) /\ UNCHANGED <<maxBal, maxVBal, maxVal>>
    @spec.action(b=Int(0, max_ballot))
    def Phase1a(s, b):
        return when(True, msgs=set_add(s.msgs, messages(type="1a", bal=b)[0]))

    # Phase1b(a) == /\ \E m \in msgs : /\ m.type = "1a" /\ m.bal > maxBal[a]
    #   /\ maxBal' = [maxBal EXCEPT ![a] = m.bal]
    #   /\ Send([type |-> "1b", acc |-> a, bal |-> m.bal, mbal |-> maxVBal[a], mval |-> maxVal[a]])
    #   /\ UNCHANGED <<maxVBal, maxVal>>
    @spec.action(a=A, m=Message)
    def Phase1b(s, a, m):
        if fields(m)["type"] != "1a":
            return []
        b = fields(m)["bal"]
        # the 1b message's mbal and mval are state values: msgs' holds the one that matches them
        sent = tuple(
            or_(x, and_(s.maxVBal[a] == fields(n)["mbal"], s.maxVal[a] == fields(n)["mval"]))
            if n in messages(type="1b", acc=a, bal=b) else x
            for n, x in enumerate(s.msgs)
        )  # fmt: skip
        return when(and_(member(s.msgs, m), b > s.maxBal[a]), maxBal=put(s.maxBal, a, b), msgs=sent)

    # Phase2a(b, v) == /\ ~ \E m \in msgs : m.type = "2a" /\ m.bal = b
    #   /\ \E Q \in Quorum : LET Q1b == {m \in msgs : m.type = "1b" /\ m.acc \in Q /\ m.bal = b}
    #                            Q1bv == {m \in Q1b : m.mbal \geq 0}
    #                        IN /\ \A a \in Q : \E m \in Q1b : m.acc = a
    #                           /\ \/ Q1bv = {}
    #                              \/ \E m \in Q1bv : m.mval = v /\ \A mm \in Q1bv : m.mbal \geq mm.mbal
    #   /\ Send([type |-> "2a", bal |-> b, val |-> v]) /\ UNCHANGED <<maxBal, maxVBal, maxVal>>
    @spec.action(b=Int(0, max_ballot), v=V)
    def Phase2a(s, b, v):
        fresh = not_(any_(member(s.msgs, m) for m in messages(type="2a", bal=b)))
        send = {"msgs": set_add(s.msgs, messages(type="2a", bal=b, val=v)[0])}
        steps = []
        for q in k.Quorum:  # one step per true disjunct and witness, as TLC counts
            q1b = [m for m in messages(type="1b", bal=b) if fields(m)["acc"] in q]
            q1bv = [m for m in q1b if fields(m)["mbal"] >= 0]
            heard = and_(*(any_(member(s.msgs, m) for m in q1b if fields(m)["acc"] == a) for a in q))
            steps.append(when(and_(fresh, heard, not_(any_(member(s.msgs, m) for m in q1bv))), **send))
            for m in q1bv:
                if fields(m)["mval"] != v:
                    continue
                highest = and_(
                    *(not_(member(s.msgs, mm)) for mm in q1bv if fields(m)["mbal"] < fields(mm)["mbal"])
                )
                steps.append(when(and_(fresh, heard, member(s.msgs, m), highest), **send))
        return steps

    # Phase2b(a) == \E m \in msgs : /\ m.type = "2a" /\ m.bal \geq maxBal[a]
    #   /\ maxBal' = [maxBal EXCEPT ![a] = m.bal] /\ maxVBal' = [maxVBal EXCEPT ![a] = m.bal]
    #   /\ maxVal' = [maxVal EXCEPT ![a] = m.val]
    #   /\ Send([type |-> "2b", acc |-> a, bal |-> m.bal, val |-> m.val])
    @spec.action(a=A, m=Message)
    def Phase2b(s, a, m):
        r = fields(m)
        if r["type"] != "2a":
            return []
        return when(
            and_(member(s.msgs, m), r["bal"] >= s.maxBal[a] if ballot_check else True),
            maxBal=put(s.maxBal, a, r["bal"]),
            maxVBal=put(s.maxVBal, a, r["bal"]),
            maxVal=put(s.maxVal, a, r["val"]),
            msgs=set_add(s.msgs, messages(type="2b", acc=a, bal=r["bal"], val=r["val"])[0]),
        )

    # Inv2 == \A a \in Acceptor : IF maxVBal[a] = -1 THEN maxVal[a] = None
    #                                               ELSE <<maxVBal[a], maxVal[a]>> \in votes[a]
    @spec.invariant
    def Inv2(s):
        def voted(a: int) -> Any:
            return any_(
                and_(s.maxVBal[a] == b, s.maxVal[a] == v, voted_for(s, a, b, v)) for b in k.Ballot for v in V
            )

        return and_(*(or_(and_(s.maxVBal[a] == -1, s.maxVal[a] == k.none), voted(a)) for a in A))

    # Inv3 == \A m \in msgs :
    #   /\ (m.type = "1b") => /\ maxBal[m.acc] \geq m.bal
    #                         /\ (m.mbal \geq 0) => <<m.mbal, m.mval>> \in votes[m.acc]
    #   /\ (m.type = "2a") => /\ \E Q \in Quorum : V!ShowsSafeAt(Q, m.bal, m.val)
    #                         /\ \A mm \in msgs : mm.type = "2a" /\ mm.bal = m.bal => mm.val = m.val
    @spec.invariant
    def Inv3(s):
        o, conds = ops(s), []
        for m, r in enumerate(records):
            if r["type"] == "1b":
                if r["mbal"] < 0:
                    cast = True
                else:  # <<m.mbal, None>> is no vote
                    cast = False if r["mval"] == k.none else voted_for(s, r["acc"], r["mbal"], r["mval"])
                conds.append(implies(member(s.msgs, m), and_(s.maxBal[r["acc"]] >= r["bal"], cast)))
            elif r["type"] == "2a":
                safe = any_(o.shows_safe_at(q, r["bal"], r["val"]) for q in k.Quorum)
                other = [mm for mm in messages(type="2a", bal=r["bal"]) if fields(mm)["val"] != r["val"]]
                conds.append(
                    implies(member(s.msgs, m), and_(safe, *(not_(member(s.msgs, mm)) for mm in other)))
                )
        return and_(*conds)

    # Inv4 == V!Inv (TypeOK /\ VotesSafe /\ OneValuePerBallot, of the votes Paxos's messages record)
    @spec.invariant
    def Inv4(s):
        o = ops(s)
        return and_(o.votes_safe(), o.one_value_per_ballot())

    # THEOREM Spec => V!Spec (MCPaxos.cfg: PROPERTY VotingSpecBar)
    voting = make_voting(acceptors, values, max_ballot)
    spec.refines(
        "VotingSpecBar",
        voting,
        lambda s: {
            "votes": tuple(tuple(voted_for(s, a, b, v) for b in k.Ballot for v in V) for a in A),
            "maxBal": s.maxBal,
        },
        "Paxos implements Voting under votes == the 2b messages each acceptor sent",
    )
    return spec
