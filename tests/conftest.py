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
# several counterexamples (one a lasso), and a cell of each other family
REPORT_CELLS = [
    "rfc_posted_user_keeps_fds",
    "rfc_fixed",
    "timer",
    "timer_no_cancelling_counter",
    "wq",
    "task_work_merged",
]
REPORT_QUERIES = ["LostItems[rfc_posted]", "SafetyInductive[bpf_task_work]"]


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
