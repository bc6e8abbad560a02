"""The shipped configs load and build; each kind of mistake in a delayed_work config is a one-line error."""

from pathlib import Path

import pytest

from explorer.cli import main
from spec.config import ConfigError, build_spec, load_config

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "spec" / "configs").glob("*.toml"))
CONFIGS = [c for c in CONFIGS if c.name != "expected.toml"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_builds(path):
    config = load_config(path)
    spec = build_spec(config)
    assert spec.actions and spec.invariants
    for name, value in config.constants.items():  # the config's constants reach the model
        assert spec.constants[name] == value


@pytest.mark.parametrize(
    "line, message",
    [
        ("colour = 1", "constants.colour"),  # unknown key
        ('cpus = "two"', "expected an integer"),  # wrong type
        ("cpus = 7", "out of range"),  # out of range
        ('variant = "rfc_v2"', "is not one of"),  # not a known variant
        ("nmi = 1", "expected true or false"),  # wrong type for a switch
    ],
)
def test_bad_delayed_work_config(tmp_path, line, message):
    p = tmp_path / "bad.toml"
    p.write_text(f'model = "spec.delayed_work"\n\n[constants]\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert message in str(e.value) and f"{p}:4:" in str(e.value) and "\n" not in str(e.value)


def test_cli_exit_codes_on_the_model(tmp_path, capsys):
    root = Path(__file__).resolve().parent.parent / "spec" / "configs"
    assert main(["check", str(root / "rfc_posted.toml"), "--out", str(tmp_path)]) == 1
    assert (tmp_path / "rfc_posted" / "NoStrandedItem.itf.json").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "spec.delayed_work"\n[constants]\ncpus = 0\n', encoding="utf-8")
    assert main(["check", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "cpus" in err[0]
