"""Classic TLA+ examples from tlaplus/Examples, checked against the counts TLC recorded for them.

TLC's counts: "distinct states" = distinct states found, "states generated" (manifest.json
``totalStates``) = initial states plus every successor computed, "depth" (``stateDepth``) = the number of
states on the longest shortest path from an initial state.
"""

import pytest

from explorer.engines.bfs import Options, explore
from spec.lang import successors
from tests.classic import (
    asynctermination,
    diehard,
    ewd998,
    paxos,
    readerswriters,
    simpleallocator,
    tcommit,
    twophase,
)
from tests.reference import naive_distances


def assert_consistent(res) -> None:
    assert sum(res.layers) == res.distinct == len(res.store)
    assert all(n > 0 for n in res.layers)


# ---------------------------------------------------------------- DieHard


def test_diehard_type_invariant_only():
    # TLC on specifications/DieHard/DieHard.tla with only TypeOK as invariant: 16 distinct states
    # (the expected count we were given; tlaplus/Examples specifications/DieHard/manifest.json records no
    # counts, since its DieHard.cfg run ends in the NotSolved violation). A naive search confirms it below.
    res = explore(diehard.make_spec(), Options())
    assert res.exhausted
    assert res.violations == []
    assert res.distinct == 16
    assert res.distinct == len(naive_distances(diehard.make_spec()))
    assert_consistent(res)


def test_diehard_not_solved_shortest_trace():
    # specifications/DieHard/DieHard.tla: "Because TLC uses a breadth-first search, it will find the
    # shortest solution": big = 4 after 6 steps, a 7-state trace including the initial state.
    spec = diehard.make_spec(goal_invariant=True)
    res = explore(spec, Options())
    assert res.stopped == "violation"
    (v,) = res.violations
    assert v.name == "NotSolved"
    assert v.depth == 7 and len(v.trace.states) == 7
    assert v.trace.states[0] == spec.make_state({"big": 0, "small": 0})
    assert v.trace.states[-1].big == 4
    assert all(s.big != 4 for s in v.trace.states[:-1])
    # The trace is a real path: each step is a successor of the previous state under the recorded action.
    for prev, inst, nxt in zip(v.trace.states, v.trace.steps[1:], v.trace.states[1:], strict=False):
        assert (inst.index, nxt) in {(i.index, t) for i, t in successors(spec, prev)}
    # Independently: the true minimum over all reachable states with big = 4.
    dist = naive_distances(spec)
    true_min = min(d for s, d in dist.items() if s.big == 4)
    assert true_min == 7
    assert v.depth == true_min == res.depth
    assert_consistent(res)


# ---------------------------------------------------------------- TCommit


def test_tcommit_matches_tlc():
    # tlaplus/Examples specifications/transaction_commit/manifest.json, model TCommit.cfg
    # (RM = {r1, r2, r3}, INVARIANTS TCTypeOK TCConsistent, CHECK_DEADLOCK FALSE):
    # "distinctStates": 34, "totalStates": 94, "stateDepth": 7.
    res = explore(tcommit.make_spec(rms=3), Options(check_deadlock=False))
    assert res.exhausted
    assert res.violations == []
    assert (res.distinct, res.generated, res.depth) == (34, 94, 7)
    assert_consistent(res)
    assert res.distinct == len(naive_distances(tcommit.make_spec()))


def test_tcommit_final_states_deadlock():
    # Why TCommit.cfg turns deadlock checking off: once every RM has decided, nothing is enabled.
    res = explore(tcommit.make_spec(), Options())
    assert res.stopped == "violation"
    assert [v.name for v in res.violations] == ["Deadlock"]


# ---------------------------------------------------------------- TwoPhase


def test_twophase_matches_tlc():
    # tlaplus/Examples specifications/transaction_commit/manifest.json, model TwoPhase.cfg
    # (RM = {r1, r2, r3}, INVARIANT TPTypeOK, deadlock checking on):
    # "distinctStates": 288, "totalStates": 1146, "stateDepth": 11.
    res = explore(twophase.make_spec(rms=3), Options())
    assert res.exhausted
    assert res.violations == []
    assert (res.distinct, res.generated, res.depth) == (288, 1146, 11)
    assert_consistent(res)
    dist = naive_distances(twophase.make_spec())
    assert len(dist) == 288
    # Layer sizes agree with the naive search's distances.
    assert res.layers == [sum(1 for d in dist.values() if d == k) for k in range(1, 12)]


@pytest.mark.slow  # the fast tier counts the same 50816 on the compiled engine (tests/test_compact_store.py)
def test_twophase_six_rms_matches_module_comment():
    # TwoPhase.tla, closing comment: "The two theorems in this module have been checked with TLC for six
    # RMs, a configuration with 50816 reachable states". (About 4 s here.)
    res = explore(twophase.make_spec(rms=6), Options(), progress=lambda line: None)
    assert res.exhausted and res.violations == []
    assert res.distinct == 50816
    assert_consistent(res)


def test_twophase_implements_tcommit_consistency():
    # TwoPhase.tla: THEOREM TPSpec => TC!TCSpec; in particular every reachable state satisfies
    # TC!TCConsistent (no RM aborted while another committed).
    spec = twophase.make_spec()
    tc = tcommit.make_spec()
    consistent = next(p for p in tc.invariants if p.name == "TCConsistent").fn
    res = explore(spec, Options())
    for s in res.store.states:
        assert consistent(tc.make_state({"rmState": s.rmState})) is True


def test_params_shape():
    for mod in (tcommit, twophase):
        for name, (typ, default, lo, hi) in mod.PARAMS.items():
            assert typ is int and lo <= default <= hi
            mod.make_spec(**{name: lo})


# ---------------------------------------------------------------- ReadersWriters (sets, a bounded sequence)


def test_readerswriters_matches_tlc():
    # tlaplus/Examples specifications/ReadersWriters/manifest.json, model MC.cfg:
    # "distinctStates": 21527, "totalStates": 59674, "stateDepth": 13 (NumActors = 3: the only size
    # that gives these counts; 2 gives 390 and 4 gives 2,192,020)
    res = explore(readerswriters.make_spec(actors=3), Options())
    assert res.exhausted
    assert res.violations == []
    assert (res.distinct, res.generated, res.depth) == (21527, 59674, 13)
    assert_consistent(res)


# ---------------------------------------------------------------- SimpleAllocator (SUBSET, group fairness)


def _allocator_verdicts(fairness: str | list) -> dict[str, bool]:
    """Each property family's verdict (all of its members hold) under the spec's fairness or the given
    list of conditions (the Python engine: 400 states, no library to compile in the fast tier)."""
    from explorer.engines.liveness.check import check_liveness

    spec = simpleallocator.make_spec(fairness=fairness if isinstance(fairness, str) else "SimpleAllocator")
    res = explore(spec, Options(stop_on_first=False, keep_graph=True), lambda _l: None)
    verdicts = check_liveness(res, fairness=None if isinstance(fairness, str) else fairness(spec))
    out: dict[str, bool] = {}
    for v in verdicts:
        out[v.name.split("(")[0]] = out.get(v.name.split("(")[0], True) and v.holds
    return out


def test_simpleallocator_matches_tlc():
    # tlaplus/Examples specifications/allocator/manifest.json, model SimpleAllocator.cfg (Clients =
    # {c1,c2,c3}, Resources = {r1,r2}): "distinctStates": 400, "totalStates": 1633, "stateDepth": 6
    res = explore(simpleallocator.make_spec(), Options())
    assert res.exhausted and res.violations == []
    assert (res.distinct, res.generated, res.depth) == (400, 1633, 6)
    assert_consistent(res)


def test_simpleallocator_liveness_is_what_the_module_proves():
    """SimpleAllocator.tla: THEOREM SimpleAllocator => ClientsWillReturn, ClientsWillObtain,
    InfOftenSatisfied; SimpleAllocator2 => ClientsWillReturn; and "the following do not hold":
    SimpleAllocator2 => ClientsWillObtain, SimpleAllocator2 => InfOftenSatisfied."""
    every = {"ClientsWillReturn": True, "ClientsWillObtain": True, "InfOftenSatisfied": True}
    assert _allocator_verdicts("SimpleAllocator") == every
    assert _allocator_verdicts("SimpleAllocator2") == {
        **every,
        "ClientsWillObtain": False,
        "InfOftenSatisfied": False,
    }


def test_simpleallocator_needs_strong_fairness_of_the_whole_allocate_disjunction():
    """WF instead of SF on \\E S : Allocate(c, S) loses ClientsWillObtain (a client's request can be
    enabled only now and then, as others return); no fairness on Return loses all three."""
    from spec.lang import Fairness

    def weak_allocate(spec):
        return [spec.fairness[0], Fairness("WF", "Allocate", over=("S",))]

    def no_return(spec):
        return [spec.fairness[1]]

    assert _allocator_verdicts(weak_allocate) == {
        "ClientsWillReturn": True, "ClientsWillObtain": False, "InfOftenSatisfied": False
    }  # fmt: skip
    assert set(_allocator_verdicts(no_return).values()) == {False}


def test_simpleallocator_fairness_reads_like_the_module():
    from explorer.engines.liveness.check import fairness_conditions

    spec = simpleallocator.make_spec(clients=1)
    assert fairness_conditions(spec) == [
        "WF_vars(\\E S : Return(c=c1, S) /\\ returns_all)",
        "SF_vars(\\E S : Allocate(c=c1, S))",
    ]
    assert [p.name for p in spec.properties] == [
        "ClientsWillReturn(c=c1)", "ClientsWillObtain(c=c1, r=r1)", "ClientsWillObtain(c=c1, r=r2)",
        "InfOftenSatisfied(c=c1)",
    ]  # fmt: skip


# ---------------------------------------------------------------- Paxos (message records, refinement)


@pytest.mark.parametrize("engine", ["python", pytest.param("native", marks=pytest.mark.slow)])
def test_paxos_matches_tlc_and_implements_voting(engine):
    # tlaplus/Examples specifications/Paxos/manifest.json, model MCPaxos.cfg (one acceptor, one value,
    # ballots 0..1): "distinctStates": 25, "totalStates": 82, "stateDepth": 9; INVARIANT Inv1-Inv4 (Inv1,
    # TypeOK, is the variables' types here) and PROPERTY VotingSpecBar (V!Spec: the refinement)
    from explorer.engines.compiled import engine as native
    from explorer.engines.refinement import check_refinements

    for run in [explore if engine == "python" else native.explore]:
        res = run(paxos.make_spec(), Options(keep_graph=True), lambda _l: None)
        assert res.exhausted and res.violations == []
        assert (res.distinct, res.generated, res.depth) == (25, 82, 9)
        assert check_refinements(res) == []


def test_a_broken_paxos_breaks_the_refinement_with_a_shortest_trace():
    """Phase2b without m.bal >= maxBal[a]: the acceptor promised ballot 1 and then votes in ballot 0,
    so maxBal goes down, which no Voting step does (and Inv3 fails at the same state)."""
    from explorer.engines.refinement import check_refinements

    opts = Options(keep_graph=True, stop_on_first=False)
    res = explore(paxos.make_spec(ballot_check=False), opts, lambda _l: None)
    (broken,) = check_refinements(res)
    assert broken.name == "VotingSpecBar" and len(broken.trace.states) == 7
    assert [i.action.name for i in broken.trace.steps[1:]][-1] == "Phase2b"
    assert broken.trace.states[-2].maxBal[0] == 1 and broken.trace.states[-1].maxBal[0] == 0


# ---------------------------------------------------------------- EWD998 (a record variable, TLC's counting)


@pytest.mark.slow
def test_ewd998_matches_tlc_on_the_original_module():
    # TLC (tla2tools built from tlaplus/tlaplus cc6b616cf7e7, 2026-04-29) on tlaplus/Examples'
    # specifications/ewd998/EWD998.tla with its EWD998Small.cfg (N = 3, StateConstraint, invariants
    # TerminationDetection, Inv, TypeOK; Examples at 32a32c7b, 2026-05-14): "11238019 states generated,
    # 1520618 distinct states found", depth 59 (40 s on 2 workers). The manifest records no counts for
    # this model, and the module's own table (1.3m, diameter 60) is from 2021; at N = 2 TLC gives
    # 33664 / 6876 / 28 (tests/test_records.py). The compiled engine: about 2 s.
    from explorer.engines.compiled import engine as native

    res = native.explore(ewd998.make_spec(n=3), Options(check_deadlock=False), lambda _l: None)
    assert res.exhausted and res.violations == []
    assert (res.distinct, res.generated, res.depth) == (1520618, 11238019, 59)


# ------------------------------------------------------- AsyncTerminationDetection, EWD998 refines it


def test_asynctermination_matches_tlc():
    # tlaplus/Examples specifications/ewd998/manifest.json, model AsyncTerminationDetection.cfg (N = 4,
    # StateConstraint pending[n] <= 3): "distinctStates": 4097, "totalStates": 53271, "stateDepth": 14;
    # its Init relates two variables (Spec.initially), its Terminate a set of one or two next values
    res = explore(asynctermination.make_spec(), Options(check_deadlock=False))
    assert res.exhausted and res.violations == []
    assert (res.distinct, res.generated, res.depth) == (4097, 53271, 14)
    assert len(asynctermination.make_spec().init_states()) == 2**4 + 1  # one with terminationDetected


def test_ewd998_implements_asynctermination():
    """EWD998's THEOREM Spec => TDSpec (TD == INSTANCE AsyncTerminationDetection), the safety part, at
    N = 2 (TLC on the original module with PROPERTY TDSpec: no error, 6,876 states)."""
    from explorer.engines.compiled import engine as native
    from explorer.engines.refinement import check_refinements

    opts = Options(check_deadlock=False, stop_on_first=False, keep_graph=True)
    res = native.explore(ewd998.make_spec(n=2), opts, lambda _l: None)
    assert res.exhausted and res.violations == [] and check_refinements(res) == []


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["python", "native"])
def test_ewd998_without_the_passive_check_breaks_the_refinement_as_tlc_finds(engine):
    """terminationDetected without ~ active[0]: TLC on the original module so mutated (PROPERTY TDSpec,
    N = 2) reports the action property violated after Init, InitiateProbe, PassToken(1): the white
    token reaches an active node 0. The same shortest counterexample here."""
    from explorer.engines.compiled import engine as native
    from explorer.engines.refinement import check_refinements

    run = native.explore if engine == "native" else explore
    opts = Options(check_deadlock=False, stop_on_first=False, keep_graph=True)
    res = run(ewd998.make_spec(n=2, passive_check=False), opts, lambda _l: None)
    (broken,) = check_refinements(res)
    assert broken.name == "TDSpec"
    assert [i and i.label for i in broken.trace.steps] == [None, "InitiateProbe", "PassToken(i=n1)"]
    assert broken.trace.states[-1].active[0] and not broken.trace.states[-2].token.pos == 0
