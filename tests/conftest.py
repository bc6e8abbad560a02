"""Fixtures shared by test files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# One library cache for the whole run and for every process it starts (the CLI would otherwise keep one
# under each test's --out and compile every spec again there); kept between runs, so a second run
# compiles nothing. A test of the cache's own placement sets or removes the variable itself.
os.environ.setdefault("BPF_CHECKER_CACHE", str(ROOT / "out" / "native"))

# a few small cells: a posted-RFC violation, a holding design with liveness, a safeguard removal with
# several counterexamples (one a lasso), and a cell of each other family; a SAT query and a proof with
# lemmas (NmiSafe: 3 s; the bpf_task_work proof this used took 18 CPU s)
REPORT_CELLS = [
    "rfc_posted_user_keeps_fds",
    "rfc_fixed",
    "rfc_repaired",
    "timer_no_cancelling_counter",
    "wq",
    "task_work_merged",
    "prog_swap_timer",
    "prog_swap_wq",
]
REPORT_QUERIES = ["LostItems[rfc_posted]", "NmiSafe[rfc_repaired]"]


def selected_params(request: pytest.FixtureRequest, name: str) -> list:
    """The values of parameter ``name`` among the tests of the requesting module that this session runs
    (after ``-m``/``-k``), in collection order: a module fixture that computes every case at once (every
    cell on two workers) then computes only what the selected tier needs."""
    out: list = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is request.module and callspec is not None and name in callspec.params:
            if callspec.params[name] not in out:
                out.append(callspec.params[name])
    return out


def selected_tests(request: pytest.FixtureRequest) -> set[str]:
    """The names (without parameters) of the tests of the requesting module that this session runs."""
    return {
        getattr(item, "originalname", item.name)
        for item in request.session.items
        if item.module is request.module
    }


def _explorer(*argv: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([sys.executable, "-m", "explorer", *argv], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="session")
def small_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An out/ directory with the results of REPORT_CELLS and REPORT_QUERIES and the reports made
    from them by ``python -m explorer report`` (the path of the out/ directory)."""
    out = tmp_path_factory.mktemp("report") / "out"
    argv = ["matrix", "--out", str(out)]
    for c in REPORT_CELLS:
        argv += ["--only", c]
    _explorer(*argv)
    _explorer("queries", "--out", str(out), "--only", *REPORT_QUERIES)
    _explorer("report", "--out", str(out))
    return out


# The full tier's longest files, longest first (seconds of one worker, round 11): with `make test-all`'s
# --no-loadscope-reorder, pytest-xdist hands whole files to the two workers in this order, so the long
# ones start at once and the short ones fill in after them (its default order, by number of tests, left
# the 330 s crosscheck file to start last, alone: 20m56s).
LONGEST_FIRST = [
    "test_crosscheck.py",  # every cell, BFS against Z3: 330 s
    "test_native.py",  # every cell on both engines
    "test_spin.py",  # Spin on every cell under 250K states
    "test_matrix.py",  # the whole matrix
    "test_compact_store.py",
    "test_large_proofs.py",
    "test_cluster.py",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
