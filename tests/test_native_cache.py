"""The compiled engine's library cache (explorer/engines/compiled/engine.py): the same spec prints the
same C in every process, whatever was built before it, so a second process compiles nothing; the cache
lives under the command's ``--out`` or ``$BPF_CHECKER_CACHE``, stays within its bound (least recently
used libraries go first), and a cache that cannot be written costs a notice, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.engines.compiled import engine as native

ROOT = Path(__file__).resolve().parent.parent

# prints the SHA-256 of the C generated for each named spec, in order, in one process
GENERATE = """
import hashlib, sys
from explorer.engines.compiled import engine
from explorer.engines.compiled.codegen import generate
from spec.config import import_model
SPECS = {
    "A": ("spec.delayed_work", {"variant": "rfc_fixed", "cpus": 1}),
    "B": ("spec.bpf_async", {}),
    "C": ("spec.delayed_work", {"variant": "no_claim_lock", "cpus": 1}),
}
for key in sys.argv[1:]:
    model, constants = SPECS[key]
    spec = import_model(model).make_spec(**constants)
    state_preds, step_preds = engine._extra_predicates(spec)
    source = generate(spec, state_preds, step_preds).source
    print(key, hashlib.sha256(source.encode()).hexdigest())
"""


def _hashes(*keys: str) -> list[str]:
    r = subprocess.run(
        [sys.executable, "-c", GENERATE, *keys], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_the_same_spec_prints_the_same_c_whatever_was_built_before():
    """z3.simplify orders arguments by term ids, which depend on every term built before in the
    process: A alone, A after B, A after C and A twice must print byte-identical C."""
    alone = _hashes("A")
    after = _hashes("B", "A", "C", "A")
    assert after[3] == after[7] == alone[1]


def _cli(*args: str, env: dict[str, str | None], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    return subprocess.run(
        [sys.executable, "-m", "explorer", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full,
        timeout=300,
    )


# loads the compiled library of each named matrix cell, in order, in one process (as a matrix worker
# does), and says whether it had to compile it
LOAD = """
import sys
from explorer.engines.compiled import engine
from explorer.runs.results import DEFAULT_EXPECTATIONS, load_expectations
from spec.config import import_model
cells = {c.name: c for c in load_expectations(DEFAULT_EXPECTATIONS)[1]}
for name in sys.argv[1:]:
    spec = import_model(cells[name].model).make_spec(**cells[name].constants)
    print(name, "compiled" if engine.load(spec).compile_seconds else "cached")
"""


def _load(cache: Path, *cells: str) -> list[str]:
    env = {**os.environ, "BPF_CHECKER_CACHE": str(cache)}
    r = subprocess.run(
        [sys.executable, "-c", LOAD, *cells], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_a_second_process_compiles_nothing_for_the_same_cell(tmp_path):
    """A cell compiled by one process is found by the next, even after that one built another cell
    first (before the C was printed in a canonical order, it compiled again)."""
    assert _load(tmp_path, "rfc_posted_user_keeps_fds") == ["rfc_posted_user_keeps_fds compiled"]
    assert _load(tmp_path, "task_work_merged", "rfc_posted_user_keeps_fds") == [
        "task_work_merged compiled",
        "rfc_posted_user_keeps_fds cached",
    ]


def test_check_and_liveness_say_cached_the_second_time(tmp_path):
    env: dict[str, str | None] = {"BPF_CHECKER_CACHE": str(tmp_path / "cache")}
    cell = ["check", "spec/configs/rfc_fixed.toml", "--set", "cpus=1", "--continue"]
    first = _cli(*cell, "--out", str(tmp_path / "o1"), env=env)
    assert "Engine: native (C, compiled in" in first.stdout, first.stdout + first.stderr
    second = _cli(*cell, "--out", str(tmp_path / "o2"), env=env)
    assert "Engine: native (C, cached" in second.stdout, second.stdout + second.stderr
    live = ["liveness", "spec/configs/rfc_fixed.toml", "--set", "cpus=1", "--property", "ProgEventuallyFreed"]
    _cli(*live, "--out", str(tmp_path / "o3"), env=env)
    libraries = sorted(p.name for p in (tmp_path / "cache").glob("*.so"))
    _cli(*live, "--out", str(tmp_path / "o4"), env=env)
    assert sorted(p.name for p in (tmp_path / "cache").glob("*.so")) == libraries


def test_the_cache_lives_under_out(tmp_path):
    """Without $BPF_CHECKER_CACHE, the libraries go to OUT/native/ (they went to the checkout's
    out/native/ whatever --out said)."""
    r = _cli(
        "check", "tests/classic/diehard.toml", "--out", str(tmp_path / "o"), env={"BPF_CHECKER_CACHE": None}
    )
    assert r.returncode == 0, r.stderr
    assert list((tmp_path / "o" / "native").glob("DieHard-*.so"))
    assert list((tmp_path / "o" / "native").glob("DieHard-*.c"))


@pytest.mark.parametrize("where", ["env", "out"])
def test_an_unwritable_cache_is_a_notice_not_a_traceback(tmp_path, where):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    if where == "env":  # the cache folder cannot be created: its parent is a file
        env: dict[str, str | None] = {"BPF_CHECKER_CACHE": str(blocker / "cache")}
        out = tmp_path / "o"
    else:  # OUT/native is a file
        env = {"BPF_CHECKER_CACHE": None}
        out = tmp_path / "o"
        out.mkdir()
        (out / "native").write_text("not a folder\n")
    r = _cli("check", "tests/classic/diehard.toml", "--out", str(out), env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    notices = [line for line in r.stderr.splitlines() if line.startswith("notice:")]
    assert len(notices) == 1 and "temporary folder" in notices[0], r.stderr
    assert "Engine: native (C, compiled in" in r.stdout


def _library(source_id: int) -> Path:
    cc = native.compiler()
    so, _seconds = native._cached_library(cc, "t", f"int f(void) {{ return {source_id}; }}\n", False)
    return so


@pytest.mark.skipif(native.compiler() is None, reason="no C compiler")
def test_the_cache_is_bounded_and_evicts_the_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setenv("BPF_CHECKER_CACHE", str(tmp_path))
    a = _library(1)
    size = sum(p.stat().st_size for p in tmp_path.glob("t-*"))  # one library and its source
    monkeypatch.setenv("BPF_CHECKER_CACHE_MB", str(2.5 * size / 2**20))  # room for two
    b = _library(2)
    old = time.time() - 100
    os.utime(a, (old, old))
    os.utime(b, (old + 1, old + 1))
    assert _library(1) == a  # a hit: a is now the most recently used
    c = _library(3)
    assert a.exists() and c.exists() and not b.exists()
    assert not b.with_suffix(".c").exists()
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 2.5 * size
