"""EWD998, from tlaplus/Examples specifications/ewd998/EWD998.tla (Markus Kuppe, Stephan Merz): Safra's
termination detection on a ring, with its token a record ``[pos : Node, q : Int, color : Color]``. Line
for line (the TLA+ is quoted above each definition); ``token`` is a ``Record`` value, read alike by every
engine.

Sizes: the module's StateConstraint (``counter[i] <= 3``, ``pending[i] <= 3``, ``token.q <= 9``) bounds
the search. Integers are bounded types here, wide enough for every value a successor of a state within
the constraint takes (a step outside them is a type error, reported, never cut silently): a counter
rises to 4 and falls to -(3 * (N - 1) + 1) (the sum of the counters is the number of messages pending,
at least 0), pending to 4, and ``token.q`` is a sum of counters.

Counting: TLC's (``counting="tlc"``): InitiateProbe's guard is one disjunction of three reasons, as in
the module, and each true reason counts a generated state, as TLC's evaluation branches there; SendMsg's
``\\E j`` binds an update, so each receiver is a step of its own.
"""

from __future__ import annotations

from typing import Any

from spec.lang import Bool, Enum, Fn, Int, Record, Spec, and_, const_fn, ite, not_, or_, put, when
from tests.classic import asynctermination

PARAMS = {"n": (int, 3, 1, 4), "passive_check": (bool, True)}


def make_spec(n: int = 3, passive_check: bool = True) -> Spec:
    """``passive_check=False`` is a mutation: terminationDetected without ``~ active[0]``, which breaks
    TerminationDetection and the refinement of AsyncTerminationDetection."""
    spec = Spec("EWD998", constants={"n": n, "passive_check": passive_check}, counting="tlc")
    Node = Enum("Node", [f"n{i}" for i in range(n)])  # Node == 0 .. N-1
    Color = Enum("Color", ["white", "black"])  # Color == {"white", "black"}
    low = -(3 * (n - 1) + 1)
    # Token == [pos : Node, q : Int, color : Color]
    Token = Record("Token", pos=Int(0, n - 1), q=Int(n * low, 12), color=Color)

    # Init == /\ active \in [Node -> BOOLEAN] /\ color \in [Node -> Color]
    #         /\ counter = [i \in Node |-> 0] /\ pending = [i \in Node |-> 0]
    #         /\ token \in [pos: Node, q: {0}, color: {"black"}]
    spec.var("active", Fn(Node, Bool), Fn(Node, Bool).values(), "activation status of nodes", any_of=True)
    spec.var("color", Fn(Node, Color), Fn(Node, Color).values(), "color of nodes", any_of=True)
    spec.var("counter", Fn(Node, Int(low, 4)), const_fn(Node, 0), "messages sent - messages received")
    spec.var("pending", Fn(Node, Int(0, 4)), const_fn(Node, 0), "messages in transit to node")
    spec.var("token", Token, [Token(pos=p, q=0, color=Color.black) for p in Node], any_of=True)

    @spec.action()
    def InitiateProbe(s):
        """/\\ token.pos = 0
        /\\ \\/ token.color = "black" \\/ color[0] = "black" \\/ counter[0] + token.q > 0
        /\\ token' = [pos |-> N-1, q |-> 0, color |-> "white"] /\\ color' = [color EXCEPT ![0] = "white"]"""
        t = s.token
        update = {"token": Token(pos=n - 1, q=0, color=Color.white), "color": put(s.color, 0, Color.white)}
        reasons = or_(t.color == Color.black, s.color[0] == Color.black, s.counter[0] + t.q > 0)
        return when(and_(t.pos == 0, reasons), **update)

    @spec.action(i=(Node, range(1, n)))
    def PassToken(s, i):
        """/\\ ~ active[i] /\\ token.pos = i
        /\\ token' = [pos |-> token.pos - 1, q |-> token.q + counter[i],
                     color |-> IF color[i] = "black" THEN "black" ELSE token.color]
        /\\ color' = [color EXCEPT ![i] = "white"]"""
        t = s.token
        color = ite(s.color[i] == Color.black, Color.black, t.color)
        new = Token(pos=i - 1, q=t.q + s.counter[i], color=color)
        return when(and_(not_(s.active[i]), t.pos == i), token=new, color=put(s.color, i, Color.white))

    @spec.action(i=Node)
    def SendMsg(s, i):
        """/\\ active[i] /\\ counter' = [counter EXCEPT ![i] = @ + 1]
        /\\ \\E j \\in Node \\ {i} : pending' = [pending EXCEPT ![j] = @ + 1]"""
        counter = put(s.counter, i, s.counter[i] + 1)
        return [
            when(s.active[i], counter=counter, pending=put(s.pending, j, s.pending[j] + 1))
            for j in Node
            if j != i
        ]

    @spec.action(i=Node)
    def RecvMsg(s, i):
        """/\\ pending[i] > 0 /\\ pending' = [pending EXCEPT ![i] = @ - 1]
        /\\ counter' = [counter EXCEPT ![i] = @ - 1] /\\ color' = [color EXCEPT ![i] = "black"]
        /\\ active' = [active EXCEPT ![i] = TRUE]"""
        return when(
            s.pending[i] > 0,
            pending=put(s.pending, i, s.pending[i] - 1),
            counter=put(s.counter, i, s.counter[i] - 1),
            color=put(s.color, i, Color.black),
            active=put(s.active, i, True),
        )

    @spec.action(i=Node)
    def Deactivate(s, i):
        """/\\ active[i] /\\ active' = [active EXCEPT ![i] = FALSE]"""
        return when(s.active[i], active=put(s.active, i, False))

    @spec.state_constraint
    def StateConstraint(s):
        """/\\ \\A i \\in Node : counter[i] <= 3 /\\ pending[i] <= 3 /\\ token.q <= 9"""
        return and_(*(and_(s.counter[i] <= 3, s.pending[i] <= 3) for i in Node), s.token.q <= 9)

    def total(f: tuple, lo: Any = 0, hi: Any = n - 1) -> Any:
        """Sum(f, Rng(lo, hi)): f summed over the nodes lo..hi."""
        return sum(ite(and_(lo <= i, i <= hi), f[i], 0) for i in Node)

    def termination_detected(s: Any) -> Any:
        """/\\ token.pos = 0 /\\ token.color = "white" /\\ token.q + counter[0] = 0
        /\\ color[0] = "white" /\\ ~ active[0]"""
        t = s.token
        return and_(
            t.pos == 0, t.color == Color.white, t.q + s.counter[0] == 0, s.color[0] == Color.white,
            not_(s.active[0]) if passive_check else True,
        )  # fmt: skip

    @spec.invariant
    def TerminationDetection(s):
        """terminationDetected => Termination (no node active, B = Sum(pending, Node) = 0)"""
        termination = and_(*(not_(s.active[i]) for i in Node), total(s.pending) == 0)
        return or_(not_(termination_detected(s)), termination)

    @spec.invariant
    def Inv(s):
        """Safra's inductive invariant: P0 /\\ (P1 \\/ P2 \\/ P3 \\/ P4)."""
        t = s.token
        p0 = total(s.pending) == total(s.counter)
        p1 = and_(
            *(or_(not_(and_(t.pos + 1 <= i)), not_(s.active[i])) for i in Node),
            ite(t.pos == n - 1, t.q == 0, t.q == total(s.counter, t.pos + 1, n - 1)),
        )
        p2 = total(s.counter, 0, t.pos) + t.q > 0
        p3 = or_(*(and_(i <= t.pos, s.color[i] == Color.black) for i in Node))
        p4 = t.color == Color.black
        return and_(p0, or_(p1, p2, p3, p4))

    # TD == INSTANCE AsyncTerminationDetection   THEOREM Spec => TDSpec  (the safety part)
    spec.refines(
        "TDSpec",
        asynctermination.make_spec(n),
        lambda s: {"active": s.active, "pending": s.pending, "terminationDetected": termination_detected(s)},
        "EWD998 implements AsyncTerminationDetection (TD!Spec; its fairness is not checked)",
    )
    return spec
