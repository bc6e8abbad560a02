"""spec.config: good configs load with defaults; each mistake is a one-line error naming file, line, key."""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spec.config import CheckOptions, ConfigError, build_spec, load_config

ROOT = Path(__file__).resolve().parent.parent

# A throwaway model with one PARAMS entry of each kind, imported from tmp_path.
MODEL = """
from spec.lang import Int, Spec, when

PARAMS = {"n": (int, 2, 1, 4), "mode": (str, "fast", ["fast", "slow"]), "flag": (bool, False)}


def make_spec(n=2, mode="fast", flag=False):
    spec = Spec("Toy")
    spec.var("x", Int(0, n), init=0)

    @spec.action()
    def Inc(s):
        return when(s.x < n, x=s.x + 1)

    @spec.invariant
    def Small(s):
        "x stays below n."
        return s.x < n

    return spec
"""


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A model module named cfgtoy_model, importable for this test only."""
    (tmp_path / "cfgtoy_model.py").write_text(MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "cfgtoy_model"


def write(tmp_path: Path, text: str, name: str = "cfg.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text).lstrip())
    return p


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "\n" not in msg, "errors are one line"
    return msg


# --------------------------------------------------------------------------- good configs


def test_diehard_goal_config():
    c = load_config(ROOT / "tests/classic/diehard_goal.toml")
    assert c.name == "diehard_goal"
    assert c.module == "tests.classic.diehard"
    assert c.constants == {"goal_invariant": True}
    assert c.check == CheckOptions(deadlock=True, invariants=["NotSolved"], max_states=None, max_seconds=None)
    assert c.expect == {"NotSolved": "violated"}
    spec = build_spec(c)
    assert [p.name for p in spec.invariants] == ["TypeOK", "NotSolved"]
    assert spec.constants == {"goal_invariant": True}


def test_defaults_fill_missing_constants_and_check_options(tmp_path, toy):
    p = write(
        tmp_path,
        f"""
        model = "{toy}"
        [constants]
        n = 3
        [check]
        deadlock = false
        max_states = 10
        max_seconds = 2
        """,
    )
    c = load_config(p)
    assert c.constants == {"n": 3, "mode": "fast", "flag": False}
    assert c.check == CheckOptions(deadlock=False, invariants=None, max_states=10, max_seconds=2.0)
    assert build_spec(c).var_type("x").hi == 3


# --------------------------------------------------------------------------- one test per kind of mistake


def test_missing_file(tmp_path):
    assert error_of(tmp_path / "nope.toml") == f"{tmp_path / 'nope.toml'}: no such config file"


def test_toml_syntax_error_names_the_line(tmp_path):
    p = write(tmp_path, 'model = "tests.classic.diehard"\n[constants]\ngoal_invariant = = true\n')
    msg = error_of(p)
    assert msg.startswith(f"{p}:3: TOML syntax error: ")


@pytest.mark.parametrize(
    "text, where",
    [
        (
            'model = "tests.classic.diehard"\nmodle = 1\n',
            ":2: modle: unknown key (known: model, description,",
        ),
        (
            'model = "tests.classic.diehard"\n[constants]\ngoal = true\n',
            ":3: constants.goal: unknown constant of",
        ),
        ('model = "tests.classic.diehard"\n[check]\ndeadlocks = true\n', ":3: check.deadlocks: unknown key"),
    ],
)
def test_unknown_key(tmp_path, text, where):
    p = write(tmp_path, text)
    assert error_of(p).startswith(f"{p}{where}")


@pytest.mark.parametrize(
    "body, where, what",
    [
        (
            "[constants]\ngoal_invariant = 1\n",
            "3: constants.goal_invariant",
            "expected true or false, got an integer 1",
        ),
        ('[check]\ndeadlock = "yes"\n', "3: check.deadlock", 'expected true or false, got a string "yes"'),
        (
            '[check]\ninvariants = "NotSolved"\n',
            "3: check.invariants",
            'expected an array of names, got "NotSolved"',
        ),
        ("[check]\nmax_states = 1.5\n", "3: check.max_states", "expected an integer, got a number 1.5"),
        ('[check]\nmax_seconds = "1"\n', "3: check.max_seconds", "expected a number"),
        ("constants = 3\n", "2: constants", "expected a table [constants], got an integer 3"),
        ('[expect]\nNotSolved = "fails"\n', "3: expect.NotSolved", 'expected "holds" or "violated"'),
    ],
)
def test_wrong_type(tmp_path, body, where, what):
    p = write(tmp_path, 'model = "tests.classic.diehard"\n' + body)
    assert error_of(p).startswith(f"{p}:{where}: {what}")


def test_wrong_type_of_model(tmp_path):
    p = write(tmp_path, "model = 3\n")
    assert error_of(p) == f"{p}:1: model: expected a string, got an integer 3"


@pytest.mark.parametrize(
    "line, what",
    [
        ("n = 9", "constants.n: 9 is out of range [1, 4]"),
        ("n = 0", "constants.n: 0 is out of range [1, 4]"),
        ('mode = "medium"', 'constants.mode: "medium" is not one of "fast", "slow"'),
    ],
)
def test_out_of_range(tmp_path, toy, line, what):
    p = write(tmp_path, f'model = "{toy}"\n\n[constants]\n{line}\n')
    assert error_of(p) == f"{p}:4: {what}"


@pytest.mark.parametrize("body", ["[check]\nmax_states = 0\n", "[check]\nmax_seconds = -1\n"])
def test_out_of_range_check_options(tmp_path, body):
    p = write(tmp_path, 'model = "tests.classic.diehard"\n' + body)
    assert error_of(p).startswith(f"{p}:3: check.max_")


def test_unknown_model(tmp_path):
    p = write(tmp_path, 'description = "x"\nmodel = "spec.no_such_model"\n')
    assert error_of(p) == (
        f"{p}:2: model: unknown model module 'spec.no_such_model' (looked on sys.path and in {tmp_path})"
    )


def test_a_model_next_to_its_config_runs_from_any_directory(tmp_path):
    # a new user's model: not on sys.path, in the config's directory; run from somewhere else
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "counter_model.py").write_text(
        textwrap.dedent(
            """
            from spec.lang import Int, Spec, when

            PARAMS = {"top": (int, 3, 1, 10)}

            def make_spec(top=3):
                spec = Spec("Counter")
                spec.var("n", Int(0, top), init=0)

                @spec.action()
                def Up(s):
                    return when(s.n < top, n=s.n + 1)

                return spec
            """
        )
    )
    cfg = write(tmp_path / "specs", 'model = "counter_model"\n[check]\ndeadlock = false\n')
    run = subprocess.run(
        [sys.executable, "-m", "explorer", "check", str(cfg), "--engine", "python"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert re.search(r"distinct states +4\n", run.stdout), run.stdout


def test_missing_model_key(tmp_path):
    p = write(tmp_path, "[constants]\n")
    assert error_of(p) == f'{p}: model: missing (e.g. model = "spec.delayed_work")'


def test_model_without_make_spec(tmp_path, monkeypatch):
    (tmp_path / "cfgtoy_empty.py").write_text("PARAMS = {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    p = write(tmp_path, 'model = "cfgtoy_empty"\n')
    assert error_of(p) == f"{p}:1: model: model cfgtoy_empty has no make_spec function"


def test_unknown_invariant_is_reported_when_the_spec_is_built(tmp_path):
    p = write(tmp_path, 'model = "tests.classic.diehard"\n[check]\ninvariants = ["NotSolved"]\n')
    c = load_config(p)  # goal_invariant defaults to false, so NotSolved does not exist
    with pytest.raises(ConfigError) as e:
        build_spec(c)
    assert str(e.value) == f"{p}:3: check.invariants: spec DieHard has no invariant NotSolved (known: TypeOK)"
