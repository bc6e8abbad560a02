"""Random bad input to every subcommand: always exit 2 with one line, never a traceback, never 0 or 1.

Values are drawn at random for the model's constants, as TOML in a config file, as ``--set`` strings,
and as a cell of an expectation file; only values the model's PARAMS rejects are kept (a valid one
would start a real search), so every case is bad input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from explorer.cli import main
from spec.config import check_param
from spec.delayed_work import PARAMS

CONFIG_COMMANDS = [
    ["check"],
    ["liveness"],
    ["bmc", "--depth", "1"],
    ["prove", "--invariant", "NoDoubleEnqueue"],
]
NAMES = sorted(PARAMS)

toml_values = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
)
set_strings = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.sampled_from(["yes", "no", "1.5", "-1", "0", "99", "tree", "TRUE", "", " ", "=", "none"]),
)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _toml(v: object) -> str:
    return json.dumps(v) if not isinstance(v, bool) else ("true" if v else "false")


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int) -> None:
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err


@FUZZ
@given(name=st.sampled_from(NAMES), value=toml_values, command=st.sampled_from(CONFIG_COMMANDS))
def test_bad_toml_constants(tmp_path: Path, capsys, name, value, command):
    assume(check_param(PARAMS[name], value) is not None)
    cfg = tmp_path / "fuzz.toml"
    cfg.write_text(f'model = "spec.delayed_work"\n[constants]\n{name} = {_toml(value)}\n', encoding="utf-8")
    argv = [command[0], str(cfg), *command[1:], "--out", str(tmp_path / "out")]
    _one_line_error(capsys, main(argv))


@FUZZ
@given(
    name=st.sampled_from([*NAMES, "colour", ""]), raw=set_strings, command=st.sampled_from(CONFIG_COMMANDS)
)
def test_bad_set_strings(tmp_path: Path, capsys, name, raw, command):
    from spec.config import ConfigError, load_config, parse_overrides

    config = load_config("spec/configs/rfc_fixed.toml")
    unbounded = command[0] in ("bmc", "prove")
    try:
        parse_overrides(config, [f"{name}={raw}"], unbounded=unbounded)
        valid = True
    except ConfigError:
        valid = False
    assume(not valid)
    argv = [command[0], "spec/configs/rfc_fixed.toml", *command[1:], "--set", f"{name}={raw}"]
    _one_line_error(capsys, main([*argv, "--out", str(tmp_path / "out")]))


@FUZZ
@given(name=st.sampled_from(NAMES), value=toml_values, command=st.sampled_from(["matrix", "crosscheck"]))
def test_bad_expectation_cells(tmp_path: Path, capsys, name, value, command):
    assume(check_param(PARAMS[name], value) is not None)
    exp = tmp_path / "expected.toml"
    exp.write_text(
        'model = "spec.delayed_work"\nproperties = ["NoDoubleEnqueue"]\n[[cell]]\nname = "c"\n'
        f"constants = {{ {name} = {_toml(value)} }}\n[cell.expect]\n"
        'NoDoubleEnqueue = "holds: claim lock"\n',
        encoding="utf-8",
    )
    argv = [command, "--expect", str(exp)] + (["--out", str(tmp_path / "out")] if command == "matrix" else [])
    _one_line_error(capsys, main(argv))
