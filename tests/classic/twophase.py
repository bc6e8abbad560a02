"""TwoPhase, from tlaplus/Examples specifications/transaction_commit/TwoPhase.tla (Gray & Lamport).

The Two-Phase Commit protocol: a transaction manager (TM) collects "Prepared" messages from the
resource managers (RMs) and broadcasts "Commit" or "Abort". TwoPhase.cfg checks it with
``RM = {r1, r2, r3}`` and ``INVARIANT TPTypeOK`` (deadlock checking on).

``msgs``, the set of all messages ever sent, is a ``Set(Message)`` over an Enum of every possible
message: ``[type : {"Prepared"}, rm : RM] \\cup [type : {"Commit", "Abort"}]``.
"""

from spec.lang import Enum, Fn, Set, Spec, all_, and_, const_fn, or_, put, when

PARAMS = {"rms": (int, 3, 1, 8)}  # 8: the largest the bench measures (1.7M states)

RMSTATES = ["working", "prepared", "committed", "aborted"]
TMSTATES = ["init", "committed", "aborted"]


def make_spec(rms: int = 3) -> Spec:
    spec = Spec("TwoPhase", constants={"rms": rms})
    RM = Enum("RM", [f"r{i}" for i in range(1, rms + 1)])  # CONSTANT RM
    RMState = Enum("RMState", RMSTATES)
    TMState = Enum("TMState", TMSTATES)
    # Message: one "Prepared" message per RM, then the TM's broadcasts.
    Message = Enum("Message", [f"Prepared_{RM.show(r)}" for r in RM] + ["Commit", "Abort"])
    PREPARED_MSG = [Message.names.index(f"Prepared_{RM.show(r)}") for r in RM]
    COMMIT_MSG = Message.names.index("Commit")
    ABORT_MSG = Message.names.index("Abort")
    working, prepared, committed, aborted = RMState.values()
    tm_init, tm_committed, tm_aborted = TMState.values()

    # TPInit
    spec.var("rmState", Fn(RM, RMState), init=const_fn(RM, working), doc="rmState[rm] is the state of rm")
    spec.var("tmState", TMState, init=tm_init, doc="the state of the transaction manager")
    spec.var(
        "tmPrepared", Set(RM), init=const_fn(RM, False), doc='the RMs from which the TM received "Prepared"'
    )
    spec.var("msgs", Set(Message), init=const_fn(Message, False), doc="every message ever sent")

    @spec.action()
    def TMCommit(s):
        "The TM commits: it is in its initial state and every RM has sent a Prepared message."
        return when(
            and_(s.tmState == tm_init, all_(s.tmPrepared)),
            tmState=tm_committed,
            msgs=put(s.msgs, COMMIT_MSG, True),
        )

    @spec.action()
    def TMAbort(s):
        "The TM spontaneously aborts the transaction."
        return when(s.tmState == tm_init, tmState=tm_aborted, msgs=put(s.msgs, ABORT_MSG, True))

    @spec.action(rm=RM)
    def TMRcvPrepared(s, rm):
        'The TM receives a "Prepared" message from resource manager rm.'
        return when(
            and_(s.tmState == tm_init, s.msgs[PREPARED_MSG[rm]]),
            tmPrepared=put(s.tmPrepared, rm, True),
        )

    @spec.action(rm=RM)
    def RMPrepare(s, rm):
        "Resource manager rm prepares and sends its Prepared message."
        return when(
            s.rmState[rm] == working,
            rmState=put(s.rmState, rm, prepared),
            msgs=put(s.msgs, PREPARED_MSG[rm], True),
        )

    @spec.action(rm=RM)
    def RMChooseToAbort(s, rm):
        "Resource manager rm spontaneously decides to abort (it sends no message)."
        return when(s.rmState[rm] == working, rmState=put(s.rmState, rm, aborted))

    @spec.action(rm=RM)
    def RMRcvCommitMsg(s, rm):
        "Resource manager rm is told by the TM to commit."
        return when(s.msgs[COMMIT_MSG], rmState=put(s.rmState, rm, committed))

    @spec.action(rm=RM)
    def RMRcvAbortMsg(s, rm):
        "Resource manager rm is told by the TM to abort."
        return when(s.msgs[ABORT_MSG], rmState=put(s.rmState, rm, aborted))

    @spec.invariant
    def TPTypeOK(s):
        "rmState, tmState, tmPrepared and msgs are in their types (enforced by the variable types)."
        return and_(
            all_(or_(*(s.rmState[r] == v for v in RMState)) for r in RM),
            or_(*(s.tmState == v for v in TMState)),
        )

    return spec
