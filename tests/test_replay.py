"""``python -m explorer replay CONFIG TRACE``: a trace of ours replays, an edited one is rejected at the
step it leaves the spec, one without action names (as another tool writes it) is matched step by step,
and bad input is one line with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = "spec/configs/bpf_wq.toml"


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *argv], capture_output=True, text=True)


@pytest.fixture(scope="module")
def dumped(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("replay")
    r = run("check", CONFIG, "--out", str(out))
    assert r.returncode == 1, r.stderr
    (trace,) = out.rglob("*.itf.json")
    return trace


def test_our_counterexample_is_a_behaviour_and_ends_in_its_violation(dumped):
    r = run("replay", CONFIG, str(dumped))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "The trace is a behaviour of the spec; its last state violates NoAsyncUseAfterFree." in r.stdout


def test_an_edited_state_is_reported_at_the_step_that_leaves_the_spec(dumped, tmp_path):
    data = json.loads(dumped.read_text())
    data["states"][8]["prog_refcnt"] = {"#bigint": "4"}
    edited = tmp_path / "edited.itf.json"
    edited.write_text(json.dumps(data))
    r = run("replay", CONFIG, str(edited))
    assert r.returncode == 1
    assert "The trace leaves the spec at state 9 <" in r.stdout and "differs in prog_refcnt" in r.stdout


def test_a_trace_without_action_names_is_matched_step_by_step(dumped, tmp_path):
    data = json.loads(dumped.read_text())
    for state in data["states"]:
        for key in [k for k in state if k.startswith("mbt::")]:
            del state[key]
    foreign = tmp_path / "foreign.itf.json"
    foreign.write_text(json.dumps(data))
    r = run("replay", CONFIG, str(foreign))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no action names in the file" in r.stdout and "ObjectFreed(o=t0.0)" in r.stdout


@pytest.mark.parametrize("which", ["missing", "other_spec", "not_json"])
def test_bad_input_is_one_line_and_exit_2(dumped, tmp_path, which):
    path, config = str(dumped), CONFIG
    if which == "missing":
        path = str(tmp_path / "nope.itf.json")
    elif which == "other_spec":
        config = "spec/configs/bpf_timer.toml"
    else:
        bad = tmp_path / "bad.itf.json"
        bad.write_text("{ not json")
        path = str(bad)
    r = run("replay", config, path)
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
