"""TCommit, from tlaplus/Examples specifications/transaction_commit/TCommit.tla (Gray & Lamport).

The abstract Transaction Commit protocol: each resource manager (RM) prepares, then all commit or all
abort. TCommit.cfg checks it with ``RM = {r1, r2, r3}``, ``INVARIANTS TCTypeOK TCConsistent`` and
``CHECK_DEADLOCK FALSE`` (every behaviour ends in a state where each RM has decided); run it with
``Options(check_deadlock=False)``.
"""

from spec.lang import Enum, Fn, Spec, all_, and_, const_fn, not_, or_, put, when

PARAMS = {"rms": (int, 3, 1, 5)}

RMSTATES = ["working", "prepared", "committed", "aborted"]


def make_spec(rms: int = 3) -> Spec:
    spec = Spec("TCommit", constants={"rms": rms})
    RM = Enum("RM", [f"r{i}" for i in range(1, rms + 1)])  # CONSTANT RM
    RMState = Enum("RMState", RMSTATES)
    working, prepared, committed, aborted = RMState.values()

    # TCInit == rmState = [rm \in RM |-> "working"]
    spec.var("rmState", Fn(RM, RMState), init=const_fn(RM, working), doc="rmState[rm] is the state of rm")

    def canCommit(s):
        '\\A rm \\in RM : rmState[rm] \\in {"prepared", "committed"}'
        return all_(or_(s.rmState[r] == prepared, s.rmState[r] == committed) for r in RM)

    def notCommitted(s):
        '\\A rm \\in RM : rmState[rm] /= "committed"'
        return all_(s.rmState[r] != committed for r in RM)

    @spec.action(rm=RM)
    def Prepare(s, rm):
        "Resource manager rm prepares."
        return when(s.rmState[rm] == working, rmState=put(s.rmState, rm, prepared))

    @spec.action(rm=RM)
    def Decide(s, rm):
        "Resource manager rm commits (if every RM can commit) or aborts (if none has committed)."
        return [
            when(and_(s.rmState[rm] == prepared, canCommit(s)), rmState=put(s.rmState, rm, committed)),
            when(
                and_(or_(s.rmState[rm] == working, s.rmState[rm] == prepared), notCommitted(s)),
                rmState=put(s.rmState, rm, aborted),
            ),
        ]

    @spec.invariant
    def TCTypeOK(s):
        'rmState \\in [RM -> {"working", "prepared", "committed", "aborted"}].'
        return all_(or_(*(s.rmState[r] == v for v in RMState)) for r in RM)

    @spec.invariant
    def TCConsistent(s):
        "No two RMs have arrived at conflicting decisions: one aborted while another committed."
        return all_(
            not_(and_(s.rmState[r1] == aborted, s.rmState[r2] == committed)) for r1 in RM for r2 in RM
        )

    return spec
