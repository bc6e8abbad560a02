"""The compact store (explorer/engines/compiled/compact_store.c, `check --store compact`) against the
plain one: the same counts, levels, coverage, stopping point and the same traces (state by state), on
one thread and two, with symmetry, at a state limit; a link file that cannot be written ends the search
with one line and exit 4; and the flags it cannot be combined with are refused."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from explorer.engines.bfs import Options
from explorer.engines.compiled import engine as native
from spec.config import import_model
from tests.classic import twophase
from tests.test_native import summary

# Each spec here is compiled again with the compact store (-DCOMPACT_STORE): the fast tier uses two,
# prog_swap's wq and TwoPhase with 6 RMs; the full tier the others
CELLS = [
    pytest.param("spec.delayed_work", {"variant": "rfc_fixed"}, marks=pytest.mark.slow),
    ("spec.prog_swap", {"kind": "wq"}),
    pytest.param(
        "spec.bpf_async", {"kind": "wq", "design": "refcnt", "irq_callers": True}, marks=pytest.mark.slow
    ),
]


def _both(factory, opts: Options, tmp_path: Path, **kw) -> tuple[dict, dict]:
    plain = summary(native.explore(factory(), opts, lambda _l: None, **kw))
    compact = native.explore(factory(), opts, lambda _l: None, compact_dir=tmp_path, **kw)
    assert compact.store.compact
    return plain, summary(compact)


@pytest.mark.parametrize("model, constants", CELLS, ids=["rfc_fixed", "prog_swap_wq", "rework_wq"])
def test_the_compact_store_finds_what_the_plain_one_finds(model, constants, tmp_path):
    plain, compact = _both(
        lambda: import_model(model).make_spec(**constants), Options(stop_on_first=False), tmp_path
    )
    assert plain == compact and plain["violations"]


@pytest.mark.slow
def test_the_compact_store_under_symmetry_gives_the_same_orbits_and_concrete_traces(tmp_path):
    factory = lambda: import_model("spec.delayed_work").make_spec(variant="rfc_fixed")  # noqa: E731
    plain, compact = _both(factory, Options(stop_on_first=False), tmp_path, symmetry=True)
    assert plain == compact and plain["violations"]


@pytest.mark.parametrize("limit", [1, 7, 500])
def test_a_state_limit_stops_the_compact_store_where_it_stops_the_plain_one(limit, tmp_path):
    factory = lambda: twophase.make_spec(rms=6)  # noqa: E731
    plain, compact = _both(factory, Options(max_states=limit, stop_on_first=False), tmp_path)
    assert plain == compact and plain["distinct"] == limit


def test_the_tables_rebuilt_as_they_grow_lose_nothing(tmp_path):
    """TwoPhase with 6 RMs (50K states): the tables start at 256 slots and ids of 8 bits, so the pairs'
    table is rebuilt several times on the way, with wider ids and more slots."""
    plain, compact = _both(lambda: twophase.make_spec(rms=6), Options(stop_on_first=False), tmp_path)
    assert plain == compact and plain["distinct"] == 50816


@pytest.mark.slow
def test_the_store_holds_fewer_bytes_a_state_at_a_million_states(tmp_path):
    """TwoPhase with 8 RMs (1.7M states; the plain store's record is only 4 + 6 bytes there): the
    store's own count of its bytes, fixed tables included."""
    opts = Options(stop_on_first=False)
    plain = native.explore(twophase.make_spec(rms=8), opts, lambda _l: None)
    compact = native.explore(twophase.make_spec(rms=8), opts, lambda _l: None, compact_dir=tmp_path)
    assert summary(plain) == summary(compact)
    assert compact.store_bytes < 0.6 * plain.store_bytes


@pytest.mark.slow
def test_two_threads_and_a_million_states_give_what_the_plain_store_gives(tmp_path):
    """rfc_fixed at 3 CPUs: levels wide enough for the parallel expansion, and enough distinct halves
    to widen the ids past 16 bits while workers read the queue."""
    factory = lambda: import_model("spec.delayed_work").make_spec(variant="rfc_fixed", cpus=3)  # noqa: E731
    plain, compact = _both(factory, Options(stop_on_first=False), tmp_path, threads=2)
    assert plain == compact and plain["distinct"] > 500_000
    assert max(plain["layers"]) >= 2 * native.PARALLEL_BLOCK


def test_a_file_that_cannot_be_written_ends_the_search_with_one_line(tmp_path):
    """RLIMIT_FSIZE (64 KiB) makes the spilled run's writes fail as a full disk would (EFBIG; Python
    ignores SIGXFSZ): TwoPhase with 6 RMs and a 64 KiB table spills runs of 20K states, 8 bytes each."""
    native.explore(twophase.make_spec(rms=6), Options(max_states=10), lambda _l: None)  # compiled here
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))
        from explorer.engines.bfs import Options
        from explorer.engines.compiled import engine
        from tests.classic import twophase
        try:
            engine.explore(twophase.make_spec(rms=6), Options(stop_on_first=False), lambda _l: None,
                           compact_dir={str(tmp_path)!r}, store_memory=64 << 10)
        except engine.SearchOutOfMemory as e:
            print(e)
            sys.exit(4)
        """
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 4, p.stderr
    assert "could not write its files" in p.stdout and "incomplete" in p.stdout
    assert list(tmp_path.iterdir()) == []  # the files were unlinked at creation


def _check(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "explorer",
        "check",
        "spec/configs/no_claim_lock.toml",
        "--out",
        str(tmp_path),
    ]
    return subprocess.run([*cmd, *extra], capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # it compiles no_claim_lock with the compact store
def test_check_says_it_used_the_compact_store(tmp_path):
    ok = _check(tmp_path, "--store", "compact")
    assert ok.returncode == 1 and "compact store" in ok.stdout and "store B/state" in ok.stdout


def test_check_refuses_what_the_compact_store_cannot_do(tmp_path):
    for flags in (["--store", "compact", "--partitions", "2"], ["--store", "compact", "--engine", "python"],
                  ["--store-memory", "64"]):  # fmt: skip
        bad = _check(tmp_path, *flags)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--store compact" in bad.stderr


@pytest.mark.slow
def test_the_largest_matrix_cell_finishes_on_disk_in_an_address_space_the_plain_store_dies_in(tmp_path):
    """tests/test_cli.py's out-of-memory case: no_claim_lock's 14M states in a 250 MB address space,
    where the plain store ends with exit 4. The compact store, its table held to 16 MiB (the rest
    spilled to sorted runs on disk), explores every state and counts them as the plain store does
    without a limit."""
    from tests.test_cli import _address_space_limit

    config = tmp_path / "no_claim_lock.toml"
    config.write_text(
        'model = "spec.delayed_work"\n[constants]\nvariant = "no_claim_lock"\nirq_progs = true\n'
    )
    cmd = [sys.executable, "-m", "explorer", "check", str(config), "--no-deadlock",
           "--invariant", "NoStrandedItem", "--out", str(tmp_path)]  # fmt: skip
    free = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    limited = subprocess.run(
        [*cmd, "--store", "compact", "--store-memory", "16"], capture_output=True, text=True, timeout=900,
        preexec_fn=_address_space_limit(250),
    )  # fmt: skip
    assert limited.returncode == free.returncode == 0, limited.stderr[-2000:]

    def counts(out: str) -> list[str]:
        return [
            ln for ln in out.splitlines() if ln.startswith(("distinct states", "states generated", "depth"))
        ]

    assert counts(limited.stdout) == counts(free.stdout) and len(counts(free.stdout)) == 3
    assert "sorted runs" in limited.stdout
