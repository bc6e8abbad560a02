"""explorer.cli: exit codes 0/1/2/3/4/130, one-line errors, dumps under --out, flags override the config."""

import json
import re
import resource
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from explorer.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parent.parent
DIEHARD = str(ROOT / "tests/classic/diehard.toml")
DIEHARD_GOAL = str(ROOT / "tests/classic/diehard_goal.toml")

# A counter that deadlocks at 2; with interrupt_at = k, reaching x = k acts like Ctrl-C inside the search.
MODEL = """
from spec.lang import Int, Spec, when

PARAMS = {"interrupt_at": (int, -1, -1, 3)}


def make_spec(interrupt_at=-1):
    spec = Spec("Counter")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Inc(s):
        if s.x == interrupt_at:  # concrete states only: this model is never given to Z3
            raise KeyboardInterrupt
        return when(s.x < 2, x=s.x + 1)

    @spec.action()
    def Never(s):
        return when(False, x=0)

    @spec.invariant
    def Bounded(s):
        "x never reaches 3."
        return s.x < 3

    return spec
"""


@pytest.fixture
def counter(tmp_path, monkeypatch):
    (tmp_path / "clitoy_counter.py").write_text(MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))

    def config(body: str = "", name: str = "counter") -> str:
        p = tmp_path / f"{name}.toml"
        p.write_text('model = "clitoy_counter"\n' + body)
        return str(p)

    return config


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0]


# --------------------------------------------------------------------------- 0 and 1


def test_no_violation_exits_0(capsys, tmp_path):
    code, out, err = run(capsys, "check", DIEHARD, "--out", str(tmp_path))
    assert code == 0
    assert "Search: every reachable state explored." in out
    assert "distinct states   16" in out and "states generated  97" in out and "depth             8" in out
    assert "distinct/s" in out and "seconds" in out
    assert "FillSmallJug" in out  # the coverage table
    assert "No violation found." in out
    assert not any(tmp_path.iterdir()), "no dumps without a violation"


def _without_expect(tmp_path: Path) -> str:
    """diehard_goal.toml without its [expect] (which says NotSolved is violated)."""
    text = Path(DIEHARD_GOAL).read_text(encoding="utf-8").split("[expect]")[0]
    p = tmp_path / "diehard_goal.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_an_expected_violation_is_exit_0(capsys, tmp_path):
    code, out, _ = run(capsys, "check", DIEHARD_GOAL, "--out", str(tmp_path / "o"))
    assert code == 0 and "NotSolved: violated (as expected)" in out
    assert (tmp_path / "o" / "diehard_goal" / "NotSolved.itf.json").is_file()


def test_violation_exits_1_and_writes_dumps(capsys, tmp_path):
    code, out, err = run(capsys, "check", _without_expect(tmp_path), "--out", str(tmp_path / "o"))
    assert code == 1
    assert "Error: Invariant NotSolved is violated." in out
    assert "State 7: <BigToSmall>" in out
    base = tmp_path / "o" / "diehard_goal"
    assert sorted(p.name for p in base.iterdir()) == ["NotSolved.dot", "NotSolved.itf.json", "NotSolved.txt"]
    assert json.loads((base / "NotSolved.itf.json").read_text())["states"][-1]["big"] == 4
    assert (base / "NotSolved.txt").read_text().startswith("Invariant NotSolved is violated.\n")


def test_deadlock_is_a_violation_unless_disabled(capsys, tmp_path, counter):
    cfg = counter()
    code, out, _ = run(capsys, "check", cfg, "--out", str(tmp_path / "o"))
    assert code == 1 and "Error: Deadlock reached." in out
    assert (tmp_path / "o" / "counter" / "Deadlock.itf.json").is_file()
    code, out, _ = run(capsys, "check", cfg, "--no-deadlock", "--out", str(tmp_path / "o"))
    assert code == 0 and "Never enabled: Never" in out
    code, _, _ = run(
        capsys, "check", counter("[check]\ndeadlock = false\n", "quiet"), "--out", str(tmp_path / "o")
    )
    assert code == 0


def test_continue_explores_everything_after_a_violation(capsys, tmp_path):
    code, out, _ = run(capsys, "check", _without_expect(tmp_path), "--continue", "--out", str(tmp_path))
    assert code == 1
    assert "Search: every reachable state explored." in out and "distinct states   16" in out


def test_max_states_stops_early_exactly_and_says_incomplete(capsys, tmp_path):
    code, out, _ = run(capsys, "check", DIEHARD, "--max-states", "10", "--out", str(tmp_path))
    assert code == 3
    assert "stopped at the state limit (search incomplete)" in out and "distinct states   10" in out
    assert "incomplete: stopped at 10 states" in out and "No violation found" not in out
    assert "Never enabled" not in out


def test_a_limit_the_search_never_reaches_is_exhaustive(capsys, tmp_path):
    code, out, _ = run(capsys, "check", DIEHARD, "--max-states", "16", "--out", str(tmp_path))
    assert code == 0 and "every reachable state explored" in out and "distinct states   16" in out


def test_invariant_flag_overrides_the_config(capsys, tmp_path):
    code, out, _ = run(capsys, "check", DIEHARD_GOAL, "--invariant", "TypeOK", "--out", str(tmp_path))
    assert code == 0 and "Invariants: TypeOK;" in out


def test_interrupt_prints_partial_statistics_and_exits_130(capsys, tmp_path, counter):
    code, out, _ = run(capsys, "check", counter("[constants]\ninterrupt_at = 1\n"), "--out", str(tmp_path))
    assert code == 130
    assert "interrupted (search incomplete)" in out and "distinct states   2" in out


# --------------------------------------------------------------------------- 2: bad input


def test_missing_config_exits_2(capsys, tmp_path):
    code, out, err = run(capsys, "check", str(tmp_path / "nope.toml"))
    assert code == 2
    assert_one_line_error(err, "nope.toml: no such config file")


def test_bad_config_exits_2(capsys, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('model = "tests.classic.diehard"\n[constants]\ngoal_invariant = "yes"\n')
    code, _, err = run(capsys, "check", str(p))
    assert code == 2
    assert_one_line_error(err, f"{p}:3: constants.goal_invariant: expected true or false")


def test_unknown_invariant_exits_2(capsys):
    code, _, err = run(capsys, "check", DIEHARD, "--invariant", "Nope")
    assert code == 2
    assert_one_line_error(err, "spec DieHard has no invariant Nope (known: TypeOK)")


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["check", DIEHARD, "--max-states", "0"], "expected a positive integer, got '0'"),
        (["check", DIEHARD, "--max-seconds", "soon"], "expected a positive number"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["check"], "the following arguments are required: config"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, fragment):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert_one_line_error(capsys.readouterr().err, fragment)


def test_debug_shows_the_traceback(capsys, tmp_path):
    code, _, err = run(capsys, "check", str(tmp_path / "nope.toml"), "--debug")
    assert code == 2
    assert "Traceback" in err and err.splitlines()[-1].startswith("error: ")


# --------------------------------------------------------------------------- the real command line


def python_m(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "explorer", *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_help_lists_subcommands():
    r = python_m("--help")
    assert r.returncode == 0 and "check" in r.stdout
    r = python_m("check", "--help")
    assert r.returncode == 0
    for flag in (
        "--no-deadlock",
        "--continue",
        "--max-states",
        "--max-seconds",
        "--invariant",
        "--out",
        "--debug",
    ):
        assert flag in r.stdout


def test_python_m_exit_codes(tmp_path):
    assert python_m("check", "tests/classic/diehard.toml", "--out", str(tmp_path)).returncode == 0
    assert python_m("check", _without_expect(tmp_path), "--out", str(tmp_path)).returncode == 1
    assert (tmp_path / "diehard_goal" / "NotSolved.txt").is_file()
    r = python_m("check", "tests/classic/missing.toml")
    assert r.returncode == 2
    assert_one_line_error(r.stderr, "tests/classic/missing.toml: no such config file")


def test_check_is_registered():
    assert "check" in COMMANDS


# --------------------------------------------------------------------------- --set, on every command

BAD_SETS = [
    ("user_closes=no", "expected true or false"),
    ("map_kind=tree", '"tree" is not one of'),
    ("nmi=yes", "expected true or false"),
    ("cpus=abc", "expected an integer"),
    ("cpus=2.5", "expected an integer"),
    ("cpus=0", "out of range"),
    ("colour=1", "unknown constant"),
    ("novalue", "expected name=value"),
]
COMMANDS_WITH_SET = [
    ["check", "spec/configs/rfc_fixed.toml"],
    ["liveness", "spec/configs/rfc_fixed.toml"],
    ["bmc", "spec/configs/rfc_fixed.toml", "--depth", "1"],
    ["prove", "spec/configs/rfc_fixed.toml", "--invariant", "NoDoubleEnqueue"],
]


@pytest.mark.parametrize("value, fragment", BAD_SETS)
@pytest.mark.parametrize("command", COMMANDS_WITH_SET, ids=lambda c: c[0])
def test_bad_set_values_are_one_line_errors(capsys, tmp_path, command, value, fragment):
    assert main([*command, "--set", value, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and "Traceback" not in err[0]


def test_set_keeps_the_bfs_range_on_check_and_lifts_it_for_induction(capsys, tmp_path):
    assert main(["check", "spec/configs/rfc_fixed.toml", "--set", "cpus=4", "--out", str(tmp_path)]) == 2
    assert "out of range [1, 3]" in capsys.readouterr().err
    prove = ["prove", "spec/configs/rfc_repaired.toml", "--invariant", "NoDoubleEnqueue", "--aux"]
    assert main([*prove, "--set", "cpus=4", "--set", "user_closes=false", "--out", str(tmp_path)]) == 0


def test_set_applies_on_check(capsys, tmp_path):
    argv = ["check", "spec/configs/rfc_fixed.toml", "--set", "cpus=1", "--set", "items=1"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    assert "cpus=1" in capsys.readouterr().out


def test_check_honours_the_configs_expectations(capsys, tmp_path):
    cfg = tmp_path / "exp.toml"
    body = (
        'model = "spec.delayed_work"\n[constants]\nvariant = "rfc_posted"\ncpus = 1\n'
        '[expect]\nNoStrandedItem = "violated"\nRefinesWorkOnce = "violated"\nNoDoubleEnqueue = "{}"\n'
    )
    cfg.write_text(body.format("holds"), encoding="utf-8")
    code, out, _ = run(capsys, "check", str(cfg), "--out", str(tmp_path))
    assert (
        code == 0
        and "NoStrandedItem: violated (as expected)" in out
        and "Every verdict is as expected" in out
    )
    cfg.write_text(body.format("violated"), encoding="utf-8")
    code, out, _ = run(capsys, "check", str(cfg), "--out", str(tmp_path))
    assert code == 1 and "NoDoubleEnqueue: holds (UNEXPECTED: expected violated)" in out


# --------------------------------------------------------------------------- bugs in a model, outputs

BUGGY = """
from spec.lang import Int, Spec, when

PARAMS = {"where": (str, "action", ["action", "invariant", "make_spec"])}


def make_spec(where="action"):
    spec = Spec("Buggy")
    spec.var("x", Int(0, 3), init=0)

    @spec.action()
    def Step(s):
        if where == "action" and s.x == 2:
            return undefined_name  # noqa: F821
        return when(s.x < 3, x=s.x + 1)

    @spec.invariant
    def Fine(s):
        if where == "invariant" and s.x == 3:
            raise ValueError("boom")
        return s.x >= 0

    if where == "make_spec":
        raise RuntimeError("cannot build")
    return spec
"""


@pytest.fixture
def buggy(tmp_path, monkeypatch):
    (tmp_path / "buggymodel.py").write_text(BUGGY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))

    def config(where: str) -> str:
        p = tmp_path / f"buggy_{where}.toml"
        p.write_text(f'model = "buggymodel"\n[constants]\nwhere = "{where}"\n', encoding="utf-8")
        return str(p)

    yield config
    sys.modules.pop("buggymodel", None)


@pytest.mark.parametrize(
    "where, said",
    [
        ("action", "action Step raised NameError"),
        ("invariant", "invariant Fine raised ValueError: boom"),
        ("make_spec", "make_spec raised RuntimeError: cannot build"),
    ],
)
def test_an_exception_in_the_model_is_a_one_line_error_with_its_trace(capsys, tmp_path, buggy, where, said):
    code, _, err = run(capsys, "check", buggy(where), "--out", str(tmp_path / "out"), "--engine", "python")
    assert code == 2
    assert_one_line_error(err, said)
    if where != "make_spec":
        assert "on the state at depth" in err
        assert (tmp_path / "out" / f"buggy_{where}" / "ModelError.itf.json").exists()
    # The default engine cannot compile this model (a Python `if` on a state value): it says so in one
    # notice, then the Python engine reports the same error.
    code, _, err2 = run(capsys, "check", buggy(where), "--out", str(tmp_path / "out"))
    assert code == 2
    lines = err2.splitlines()
    if where == "make_spec":
        assert lines == err.splitlines()
    else:
        assert lines[0].startswith("notice: compiled engine unavailable (") and "cannot be read" in lines[0]
        assert lines[1:] == err.splitlines()


def test_unusable_outputs_are_refused_before_any_work(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    for argv, said in [
        (["check", DIEHARD, "--out", str(afile)], "not a directory"),
        (["check", DIEHARD, "--out", str(afile / "sub")], "cannot create it"),
        (["matrix", "--report", str(tmp_path)], "is a directory"),
    ]:
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == ""
        assert_one_line_error(err, said)


def test_z3_commands_refuse_huge_sizes_unless_forced(capsys, tmp_path):
    argv = [
        "bmc",
        "spec/configs/rfc_fixed.toml",
        "--depth",
        "1",
        "--set",
        "cpus=1000",
        "--out",
        str(tmp_path),
    ]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert_one_line_error(err, "action instances, more than 4000", "--force")


def test_bmc_reports_progress_per_depth(capsys, tmp_path):
    code, _, err = run(capsys, "bmc", "spec/configs/rfc_fixed.toml", "--depth", "2", "--out", str(tmp_path))
    assert code == 0
    assert [ln.split(" (")[0] for ln in err.splitlines()] == [
        f"BMC: no violation at depth {k}" for k in range(3)
    ]


@pytest.mark.parametrize(
    "argv, said",
    [
        (["crosscheck", "--layers", "-1"], "expected a whole number >= 0"),
        (["crosscheck", "--bmc-depth", "-5"], "expected a whole number >= 0"),
        (["crosscheck", "--jobs", "-3"], "expected a positive integer"),
        (["matrix", "--jobs", "0"], "expected a positive integer"),
        (["queries", "--jobs", "-1"], "expected a positive integer"),
        (["check", DIEHARD, "--max-state", "10"], "unrecognized arguments: --max-state"),
    ],
)
def test_counts_that_make_no_sense_and_abbreviations_are_refused(capsys, argv, said):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert_one_line_error(capsys.readouterr().err, said)


def test_queries_list_cites_only_what_the_repository_has(capsys):
    """``queries --list`` cited "brief §1.6", a document outside the repository: every source it names
    must be a file of the checkout."""
    assert main(["queries", "--list"]) == 0
    out = capsys.readouterr().out
    assert "brief" not in out.lower()
    for path in re.findall(r"[\w./-]+/[\w.-]+\.(?:md|py|toml)\b", out):
        assert (ROOT / path).exists(), path


def test_readme_example_of_a_large_search_explores_past_the_first_violation(tmp_path):
    """The README's "9.9M states" example stopped at its first violation, 607K states in, without
    --continue: run as written, it must go on past that point (here, to a state limit of 1M)."""
    line = next(ln for ln in (ROOT / "README.md").read_text().splitlines() if "9.9M states" in ln)
    argv = shlex.split(line.split("#")[0])
    assert argv[:3] == [".venv/bin/python", "-m", "explorer"]
    r = subprocess.run(
        [sys.executable, "-m", "explorer", *argv[3:], "--max-states", "1000000", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "Search: stopped at the state limit" in r.stdout, r.stdout[-2000:] + r.stderr


def test_matrix_only_takes_several_names():
    args = build_parser().parse_args(["matrix", "--only", "rfc_posted", "rfc_fixed", "--only", "timer"])
    assert args.only == ["rfc_posted", "rfc_fixed", "timer"]


def test_liveness_property_takes_several_names():
    args = build_parser().parse_args(["liveness", "c.toml", "--property", "A", "B", "--property", "C"])
    assert args.props == ["A", "B", "C"]


def test_symmetry_on_a_spec_that_declares_none_says_so_and_counts_every_state(counter, capsys):
    """--symmetry where the spec declares no symmetry: a notice on stderr, the full count, and the
    summary does not claim a reduction (it used to, silently)."""
    path = counter()
    code_plain, plain, _ = run(capsys, "check", path, "--no-deadlock")
    code, out, err = run(capsys, "check", path, "--no-deadlock", "--symmetry")
    assert code == code_plain == 0
    assert "declares no symmetry" in err and "reduces nothing" in err
    assert "with symmetry reduction" not in out
    count = re.compile(r"distinct states\s+(\d+)")
    assert count.findall(out) == count.findall(plain) == ["3"]


def test_twophase_accepts_the_eight_rms_the_bench_measures(tmp_path):
    """The bench runs TwoPhase with 8 RMs; a config may ask for them too (PARAMS capped it at 5)."""
    from explorer.cli_common import load

    p = tmp_path / "tp8.toml"
    p.write_text('model = "tests.classic.twophase"\n[constants]\nrms = 8\n')
    config, spec = load(p)
    assert config.constants["rms"] == 8 and spec.constants["rms"] == 8


def _address_space_limit(megabytes: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    return limit


@pytest.mark.slow  # 5.9M states before the limit (tests/test_compact_store.py runs the cell in it)
def test_out_of_memory_is_one_line_with_what_was_explored_and_its_own_exit_code(tmp_path):
    """A search that runs out of memory (here: a 250 MB address space, where no_claim_lock's 14M
    states need about 540 MB) ends with exit 4 and one line saying how far it got; it used to end
    in a bare 'error: MemoryError' with exit 2, the code for bad input, while copying the links."""
    config = tmp_path / "no_claim_lock.toml"
    config.write_text(
        'model = "spec.delayed_work"\n[constants]\nvariant = "no_claim_lock"\nirq_progs = true\n'
    )
    r = subprocess.run(
        [sys.executable, "-m", "explorer", "check", str(config), "--no-deadlock",
         "--invariant", "NoStrandedItem", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, preexec_fn=_address_space_limit(250),
    )  # fmt: skip
    assert r.returncode == 4, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert "Traceback" not in r.stderr
    assert re.fullmatch(
        r"error: out of memory in the compiled engine's search after [\d,]+ distinct states "
        r"\([\d,]+ generated, depth \d+\): the search is incomplete and no property is reported as holding"
        r"; check --store compact keeps a state in 3-6 bytes",
        last,
    ), last
    assert "No violation" not in r.stdout
