"""Spin against our compiled engine, on the Promela model ``explorer.outputs.export.promela`` writes.

On every matrix cell and classic spec, Spin's exhaustive search (``pan -c0``: it goes on after errors,
as our BFS does) must store exactly our distinct count plus 1 (the state before Init ran, with the
process at its start; ``PromelaModel.extra_states``) and report exactly the invariants and the deadlock
our engine finds violated. Our counts are computed here, by the compiled engine, not written down.

Cost, measured on the 2-core machine (CPU seconds, so that other load does not count): the whole set
(70 cells and 6 classic specs, 40.5M states) is about 320 CPU s, 160 s on both cores: our engine 126
(mostly compiling each cell's C), the export 23, cc 46 (pan.c at -O0; -O1 from 1M states), pan 120
(about 3 us a state; 93 of them for the 14.2M and 8.3M cells). So the fast tier (``make test``) checks
the classic specs and one small cell (``FAST_JOBS``); the full tier (``make test-all``) checks every
cell under 250K states (``LARGE``: the others) and every classic spec whole; ``python -m explorer spin-check
--matrix`` checks every cell (``make check`` ran that before the tiers). Skipped as a whole when
``spin`` is not installed (CI installs it).

Also here: Spin's -DBFS depths against our shortest traces (``PromelaModel.bfs_depth``), random small
specs (constraints, several initial states, negative ranges, type errors), and changed specs that must
make the check fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.cli import main
from explorer.engines.bfs import DEADLOCK
from explorer.outputs.export.promela import TYPE_ERROR, PromelaError, export
from explorer.runs.results import DEFAULT_EXPECTATIONS, load_expectations
from explorer.runs.spin_check import Job, spin_check, spin_check_all
from spec.config import import_model
from spec.lang import Int, Spec, not_, when
from tests.classic import diehard
from tests.conftest import selected_params
from tests.test_native import build as random_spec
from tests.test_native import random_specs

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    shutil.which("spin") is None or shutil.which("cc") is None and shutil.which("gcc") is None,
    reason="spin (and a C compiler) not installed: apt-get install spin",
)

_PROPS, CELLS = load_expectations(DEFAULT_EXPECTATIONS)
CLASSIC = [
    Job("DieHard", "tests.classic.diehard", {}),
    Job("DieHard_goal", "tests.classic.diehard", {"goal_invariant": True}),
    Job("TCommit", "tests.classic.tcommit", {"rms": 3}),  # deadlocks once every RM has decided
    Job("TCommit_no_deadlock", "tests.classic.tcommit", {"rms": 3}, check_deadlock=False),  # TCommit.cfg
    Job("TwoPhase", "tests.classic.twophase", {"rms": 3}),
    Job("TwoPhase_6", "tests.classic.twophase", {"rms": 6}),
    Job("ReadersWriters", "tests.classic.readerswriters", {"actors": 3}),  # MC.cfg: 21,527 states
    Job("SimpleAllocator", "tests.classic.simpleallocator", {}),  # SimpleAllocator.cfg: 400 states
    Job("Paxos", "tests.classic.paxos", {}),  # MCPaxos.cfg: 25 states
    Job("EWD998", "tests.classic.ewd998", {"n": 2}, check_deadlock=False),  # a record variable (token)
    Job("AsyncTermination", "tests.classic.asynctermination", {}, check_deadlock=False),  # Spec.initially
    Job("Paxos_no_ballot_check", "tests.classic.paxos", {"ballot_check": False}),  # Inv3 violated
]
EXCLUDES_AN_INITIAL_CHOICE = {"AsyncTermination"}
# The cells above 250K states (the 28 below; 23 above 500K until round 11, when a fresh-clone make
# test-all took 20m56s on a slow afternoon of this host and the five between 250K and 500K moved here;
# before that, the cells above 500K: 43.8M of the matrix's 47.1M states; when they were 20,
# about 200 of the set's 320 CPU seconds, which kept CI over 20 minutes) are left to
# `python -m explorer spin-check --matrix`; they are not collected here, so neither run nor skipped.
LARGE = {
    "no_claim_lock", "rfc_fixed_two_progs", "task_work_reopen", "task_work_usercnt_before_blocking",
    "task_work_usercnt_before", "task_work_usercnt_none_blocking", "task_work_usercnt_none",
    "task_work_no_slot_xchg", "locked_list_nmi", "task_work_no_cb_freed_check", "rfc_fixed_3cpus",
    "task_work_later_gp", "task_work_no_irq_freed_check", "task_work_no_round_prog_ref",
    "task_work_merged", "task_work_blocking_target", "rfc_fixed_hash", "task_work_no_cancel_scheduled",
    "rework_timer_no_refcnt_check", "rfc_fixed_nmi", "timer_hash_update", "timer_hash_update_rqspinlock",
    "rework_timer_irq_all", "task_work_merged_refill", "rework_wq", "task_work_no_round_ref", "rework_timer",
    "task_work_no_post_add_cancel",
}  # fmt: skip
JOBS = [Job(c.name, c.model, dict(c.constants)) for c in CELLS if c.name not in LARGE] + CLASSIC
# the fast tier's share (ReadersWriters' 21,527 states go to the full tier)
FAST_JOBS = {"DieHard", "DieHard_goal", "TCommit", "TCommit_no_deadlock", "TwoPhase", "TwoPhase_6"} | {
    "rfc_posted_user_keeps_fds"
}
JOB_PARAMS = [pytest.param(j, id=j.name, marks=() if j.name in FAST_JOBS else pytest.mark.slow) for j in JOBS]


@pytest.fixture(scope="module")
def results(request):
    """The jobs of the selected tests, both cores: name -> SpinCheck (and the wall time, printed)."""
    t0 = time.monotonic()
    jobs = selected_params(request, "job")
    done = spin_check_all(jobs, workers=2, max_states=None)
    wall = time.monotonic() - t0
    phases: dict[str, float] = {}
    for r in done:
        for k, v in r.cpu.items():
            phases[k] = phases.get(k, 0.0) + v
    ran = [r for r in done if not r.skipped]
    states = sum(r.distinct for r in ran)
    detail = ", ".join(f"{k} {v:.0f}" for k, v in phases.items())
    print(f"\nSpin on {len(ran)} of {len(done)} specs, {states} states: {wall:.0f} s wall, CPU s: {detail}")
    return {r.name: r for r in done}


@pytest.mark.parametrize("job", JOB_PARAMS)
def test_spin_agrees_with_our_engine(results, job):
    r = results[job.name]
    assert not r.skipped, r.skipped
    assert r.run is not None and r.run.incomplete is None and r.run.unknown == []
    # Spin's state before Init, and the all-0 end state of an initial choice that a state constraint or
    # Spec.initially excludes (AsyncTerminationDetection's terminationDetected \in {FALSE, terminated})
    extra = 2 if job.name in EXCLUDES_AN_INITIAL_CHOICE else 1
    assert r.extra == extra
    assert r.stored == r.distinct + extra, r.problems
    assert set(r.spin) == set(r.ours), r.problems
    assert r.agree, r.problems


def test_every_cell_and_classic_spec_is_a_job():
    """Every cell but LARGE (which spin-check --matrix runs), named once."""
    assert LARGE <= {c.name for c in CELLS}
    assert len({j.name for j in JOBS}) == len(JOBS) == len(CELLS) - len(LARGE) + len(CLASSIC)


# --------------------------------------------------------------------------- -DBFS: the depths too

BFS_CELLS = ["rfc_posted", "timer_no_self_cancel_check_no_counter", "wq_inline_cancel"]


@pytest.mark.parametrize("name", BFS_CELLS)
def test_spin_bfs_finds_each_violation_at_our_shortest_depth(name):
    cell = next(c for c in CELLS if c.name == name)
    spec = import_model(cell.model).make_spec(**cell.constants)
    r = spin_check(spec, name, bfs=True)
    assert r.ours and r.agree, r.problems  # the depths included
    assert r.stored == r.distinct + 1 and r.run is not None and r.run.stored_raw > r.stored
    model = export(spec, report_once=False)
    assert all(r.spin[p] == model.bfs_depth(p, d) for p, d in r.ours.items())


def test_bfs_depth_of_diehard_is_the_puzzle_solution():
    r = spin_check(diehard.make_spec(goal_invariant=True), "DieHard_goal", bfs=True)
    # our shortest trace to big = 4 has 7 states; Spin: 3 transitions a step, none before Init's checks
    assert r.agree and r.ours == {"NotSolved": 7} and r.spin == {"NotSolved": 18}


# --------------------------------------------------------------------------- random small specs


def test_a_bfs_past_our_type_error_is_not_cut_by_pans_depth_limit():
    # found by test_random_specs_agree in CI: x := x + y leaves x's type, where our engine stops; Spin
    # goes on (-c0), the short wraps around, and -DBFS needs more than pan's default 10,000 levels
    desc = (
        [
            (("b",), {}, False),
            (("bconst", False), {}, False),
            (("bconst", False), {}, False),
            (
                ("bconst", True),
                {"x": ("+", ("x",), ("y",)), "b": ("bconst", False), "e": ("econst", 0)},
                False,
            ),
        ],
        ("b",),
        None,
    )
    r = spin_check(random_spec(desc), "Random", bfs=True)
    assert r.agree and not r.problems, (r.problems, r.spin, r.our_error)


def _three_counters_that_leave_their_type() -> Spec:
    spec = Spec("Wrap")
    for name in ("a", "b", "c"):
        spec.var(name, Int(0, 3), init=0)

    @spec.action()
    def Step(s):  # each counter steps past 3 at once: a type error in 2 steps
        return when(True, a=s.a + 1, b=s.b + 3, c=s.c + 5)

    return spec


@pytest.mark.parametrize("bfs", [False, True])
def test_spin_does_not_search_past_the_type_error_our_engine_stops_at(bfs):
    # found by test_random_specs_agree in test-all: Spin went on past a type error with the values
    # wrapped around in its bytes, 2.5 GB and minutes for a spec of a few hundred states. Here the
    # wrapped space would be 256 states (the three steps have a common cycle of 256); now the step
    # that leaves a type is not taken, so Spin stores the in-type states and the state before Init.
    r = spin_check(_three_counters_that_leave_their_type(), "Wrap", bfs=bfs)
    assert r.our_error is not None and r.agree, (r.problems, r.spin, r.our_error)
    assert r.run is not None and r.run.stored_raw <= 4, r.run.stored_raw


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs(), st.booleans())
def test_random_specs_agree(desc, bfs):
    # x in Int(-2, 5) (a short), y with two initial values, an Enum rotated by arithmetic, a function
    # read at a state-valued index, random updates (often out of type) and sometimes a state constraint
    r = spin_check(random_spec(desc), "Random", bfs=bfs)
    assert r.agree, (desc, r.problems, r.ours, r.spin, r.our_error)


# --------------------------------------------------------------------------- the check can fail


def _counter(limit: int, guard_limit: int | None = None, constraint: int | None = None) -> Spec:
    spec = Spec("Counter")
    spec.var("x", Int(0, limit), init=[0, 2], any_of=True)

    @spec.action()
    def Inc(s):
        return when(s.x < (limit if guard_limit is None else guard_limit), x=s.x + 1)

    @spec.invariant
    def Small(s):
        return s.x < 3

    if constraint is not None:
        spec.state_constraint(lambda s: s.x <= constraint)
    return spec


def test_a_different_model_makes_spin_disagree():
    # Spin is given a model whose Inc stops one step earlier than ours: one state fewer, and the
    # state where ours deadlocks is not reached
    r = spin_check(_counter(4), "Counter", promela_spec=_counter(4, guard_limit=3))
    assert not r.agree
    assert r.stored == r.distinct  # 5 + 1 expected
    assert any("Spin stored" in p for p in r.problems)


def test_a_broken_invariant_is_found_by_both():
    cell = next(c for c in CELLS if c.name == "task_context_exit_drain")
    spec = import_model(cell.model).make_spec(**cell.constants)
    base = spin_check(spec, cell.name)
    assert base.agree and base.ours == {}
    # "a prog is never freed": false once the free path has run (a real state, deep in the graph).
    # A fresh spec: the compiled engine caches its library per spec object and would not see an
    # invariant added to the one it has already run (explorer/engines/compiled/engine.py load()).
    spec = import_model(cell.model).make_spec(**cell.constants)
    live = spec.init_states()[0].prog_phase[0]
    spec.add_invariant("ProgStaysLive", lambda s: s.prog_phase[0] == live)
    r = spin_check(spec, cell.name)
    assert r.agree and set(r.ours) == set(r.spin) == {"ProgStaysLive"}
    assert r.distinct == base.distinct


def test_an_invariant_spin_misses_would_be_reported():
    r = spin_check(_counter(4), "Counter")
    assert r.agree and set(r.ours) == {"Small", DEADLOCK}
    r.spin.pop("Small")  # as if Spin had not found it: the comparison is on the sets
    assert set(r.spin) != set(r.ours)


def test_an_out_of_type_update_is_a_type_error_for_both():
    spec = Spec("Overflow")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Inc(s):
        return when(True, x=s.x + 1)

    r = spin_check(spec, "Overflow")
    assert r.our_error == f"{TYPE_ERROR}: x"
    assert f"{TYPE_ERROR}: x" in r.spin and r.agree


def test_state_constraint_as_tlc_reads_it():
    # x starts at 0 or 2 and counts to 4; the constraint x <= 1 drops the initial state 2 (Spin: one
    # more stored state, the end state such initial states go to) and the successor 2 of 1 (1 still
    # has an enabled step, so it is no deadlock)
    spec = _counter(4, constraint=1)
    r = spin_check(spec, "Counter")
    assert r.extra == 2 and r.distinct == 2 and r.stored == 4
    assert r.agree and r.ours == {} == r.spin


def test_no_promela_reading_is_one_line_naming_the_action():
    spec = Spec("Mod")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Halve(s):
        return when(True, x=s.x % 2)

    with pytest.raises(PromelaError, match=r"^action Halve: no Promela for the operator mod"):
        export(spec)


def test_a_range_beyond_32_bits_is_refused():
    spec = Spec("Big")
    spec.var("x", Int(0, 2**40), init=0)
    with pytest.raises(PromelaError, match="x: range"):
        export(spec)


# --------------------------------------------------------------------------- the model file


def test_model_is_commented_and_names_every_invariant_and_action():
    model = export(diehard.make_spec(goal_invariant=True))
    text = model.source
    assert "#define INV_NotSolved 2" in text and "/* SmallToBig */" in text
    assert "byte big = 0;" in text and "hidden byte INV_NotSolved_reported;" in text
    assert model.tags[2] == "NotSolved" and model.extra_states == 1
    bfs = export(diehard.make_spec(goal_invariant=True), report_once=False)
    assert "hidden" not in bfs.source


def test_leaf_names_avoid_keywords_and_macros():
    spec = Spec("Names")
    for name in ("timeout", "now", "uchar", "VECTORSZ", "x"):
        spec.var(name, Int(0, 1), init=0)
    model = export(spec)
    assert model.idents == ["timeout_v", "now_v", "uchar_v", "VECTORSZ_v", "x"]
    assert spin_check(spec, "Names").agree


# --------------------------------------------------------------------------- the commands


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "explorer", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def test_export_promela_command(tmp_path):
    out = tmp_path / "dh.pml"
    r = _cli("export-promela", "tests/classic/diehard_goal.toml", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert f"Wrote {out}" in r.stdout and out.read_text().startswith("/* Promela model of spec DieHard")


def test_export_promela_bad_input_is_one_line(tmp_path):
    r = _cli("export-promela", "no/such.toml")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error:")
    r = _cli("export-promela", "tests/classic/diehard.toml", "-o", str(tmp_path))
    assert r.returncode == 2 and "is a directory" in r.stderr and r.stderr.count("\n") == 1


BRANCHY = """
from spec.lang import Int, Spec, when


def make_spec():
    spec = Spec("Branchy")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Step(s):
        if s.x == 1:  # a Python if on a state value: no symbolic reading
            return when(True, x=0)
        return when(s.x < 3, x=s.x + 1)

    return spec
"""


@pytest.mark.parametrize("command", ["export-promela", "spin-check"])
def test_a_spec_with_no_symbolic_reading_is_one_line(tmp_path, monkeypatch, capsys, command):
    (tmp_path / "spintoy_branchy.py").write_text(BRANCHY)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / "branchy.toml"
    cfg.write_text('model = "spintoy_branchy"\n')
    extra = ["-o", str(tmp_path / "b.pml")] if command == "export-promela" else []
    assert main([command, str(cfg), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: action Step cannot be read symbolically") and err.count("\n") == 1


def test_spin_check_usage_errors(capsys):
    assert main(["spin-check"]) == 2
    assert main(["spin-check", "--matrix", "--set", "cpus=3"]) == 2
    assert main(["spin-check", "tests/classic/diehard.toml", "--only", "rfc_posted"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)


def test_spin_check_command(tmp_path):
    r = _cli("spin-check", "tests/classic/diehard_goal.toml", "--matrix", "--only", "task_context")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 agree, 0 disagree, 0 skipped" in r.stdout
    r = _cli("spin-check", "--matrix", "--only", "no_such_cell")
    assert r.returncode == 2 and "no matrix cell named no_such_cell" in r.stderr


def test_spin_check_without_spin_is_one_line(tmp_path):
    r = _cli("spin-check", "tests/classic/diehard.toml", env={"PATH": str(tmp_path)})
    assert r.returncode == 2 and r.stderr == "error: spin is not installed (Debian: apt-get install spin)\n"


def test_not_is_printed_as_promela():
    # a negated state test and a conditional expression in one guard (Promela: ! and (c -> a : b))
    spec = Spec("Neg")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Step(s):
        return when(not_(s.x == 3), x=s.x + 1)

    assert spin_check(spec, "Neg").agree
