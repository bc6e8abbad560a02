"""AsyncTerminationDetection, from tlaplus/Examples specifications/ewd998/AsyncTerminationDetection.tla
(Stephan Merz): the high-level spec of termination detection that EWD998 implements (its ``TD ==
INSTANCE AsyncTerminationDetection``, ``THEOREM Spec => TDSpec``). Line for line; its Init relates two
variables (``terminationDetected \\in {FALSE, terminated}``), which is ``Spec.initially``.

The manifest's model (AsyncTerminationDetection.cfg: N = 4, StateConstraint ``pending[n] <= 3``): 4,097
distinct states, 53,271 generated, depth 14. A successor may hold 4 pending messages before the
constraint drops it, so pending's type goes to 4.

Counting: TLC's. ``terminationDetected' \\in {terminationDetected, terminated'}`` is a set of one or two
values: one step that keeps the flag, and one that sets it to ``terminated'`` where that differs.
"""

from __future__ import annotations

from typing import Any

from spec.lang import Bool, Enum, Fn, Int, Spec, and_, const_fn, implies, not_, put, when

PARAMS = {"n": (int, 4, 1, 5)}


def make_spec(n: int = 4) -> Spec:
    spec = Spec("AsyncTerminationDetection", constants={"n": n}, counting="tlc")
    Node = Enum("Node", [f"n{i}" for i in range(n)])  # Node == 0 .. N-1

    # Init == /\ active \in [Node -> BOOLEAN] /\ pending = [n \in Node |-> 0]
    #         /\ terminationDetected \in {FALSE, terminated}
    spec.var("active", Fn(Node, Bool), Fn(Node, Bool).values(), "activation status of nodes", any_of=True)
    spec.var("pending", Fn(Node, Int(0, 4)), const_fn(Node, 0), "number of messages pending at a node")
    spec.var("terminationDetected", Bool, [False, True], "has termination been detected?", any_of=True)

    def terminated(active: tuple, pending: tuple) -> Any:
        """terminated == \\A n \\in Node : ~ active[n] /\\ pending[n] = 0"""
        return and_(*(and_(not_(active[i]), pending[i] == 0) for i in Node))

    @spec.initially
    def InitDetected(s):
        """terminationDetected \\in {FALSE, terminated}"""
        return implies(s.terminationDetected, terminated(s.active, s.pending))

    @spec.action(i=Node)
    def Terminate(s, i):
        """/\\ active[i] /\\ active' = [active EXCEPT ![i] = FALSE] /\\ pending' = pending
        /\\ terminationDetected' \\in {terminationDetected, terminated'}"""
        active = put(s.active, i, False)
        now = terminated(active, s.pending)
        return [
            when(s.active[i], active=active),
            when(and_(s.active[i], now != s.terminationDetected), active=active, terminationDetected=now),
        ]

    @spec.action(i=Node, j=Node)
    def SendMsg(s, i, j):
        """/\\ active[i] /\\ pending' = [pending EXCEPT ![j] = @ + 1]"""
        return when(s.active[i], pending=put(s.pending, j, s.pending[j] + 1))

    @spec.action(i=Node)
    def RcvMsg(s, i):
        """/\\ pending[i] > 0 /\\ active' = [active EXCEPT ![i] = TRUE]
        /\\ pending' = [pending EXCEPT ![i] = @ - 1]"""
        return when(
            s.pending[i] > 0, active=put(s.active, i, True), pending=put(s.pending, i, s.pending[i] - 1)
        )

    @spec.action()
    def DetectTermination(s):
        """/\\ terminated /\\ terminationDetected' = TRUE"""
        return when(terminated(s.active, s.pending), terminationDetected=True)

    @spec.state_constraint
    def StateConstraint(s):
        """\\A n \\in Node : pending[n] <= 3"""
        return and_(*(s.pending[i] <= 3 for i in Node))

    @spec.invariant
    def Safe(s):
        """terminationDetected => terminated"""
        return implies(s.terminationDetected, terminated(s.active, s.pending))

    return spec
