"""The search on a Ray cluster (explorer/engines/cluster.py) against the single-machine compiled engine:
the same distinct and generated counts, level sizes, deadlocks and per-action generated counts, the same
properties violated at the same shortest lengths, and counterexamples that the Python spec replays; a
partition that dies ends the run with an error naming it. A local cluster of 4 CPUs serves every test."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

from explorer.engines.bfs import DEADLOCK, Options
from explorer.engines.cluster import ClusterError, Recipe, explore_cluster
from explorer.engines.compiled.engine import explore_any

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

CELLS = [
    ("spec.prog_swap", {"kind": "wq"}),  # a use-after-free at 12 states
    ("spec.prog_swap", {"design": "loop", "memory": "tso"}),  # two violations
    ("spec.spin_lock", {}),  # deadlocks: the states with no step
    ("spec.delayed_work", {"variant": "rfc_fixed"}),  # 31,986 states, 59 levels
    ("spec.bpf_async", {"kind": "timer", "callback": "rearm"}),
]


def _ray():
    """Ray, which `make test-all` installs (pip install '.[cluster]'); without it these tests skip."""
    return pytest.importorskip("ray", reason="Ray is not installed (pip install 'ray>=2.9', make test-all)")


@pytest.fixture(scope="module")
def cluster():
    ray = _ray()
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _summary(res):
    return (
        res.distinct,
        res.generated,
        res.layers,
        res.deadlocks,
        {a: c[0] for a, c in res.coverage.items()},
        sorted((v.name, len(v.trace.states)) for v in res.violations),
    )


@pytest.mark.parametrize("workers", [2, 4])
@pytest.mark.parametrize(
    "model, constants", CELLS, ids=[f"{m.split('.')[1]}-{i}" for i, (m, _) in enumerate(CELLS)]
)
def test_a_cluster_finds_what_one_machine_finds(cluster, model, constants, workers):
    recipe = Recipe(model, constants)
    opts = Options(stop_on_first=False)
    one = explore_any(recipe.build(), opts, lambda _l: None, "native")
    many = explore_cluster(recipe, opts, workers=workers)
    assert _summary(many) == _summary(one)
    assert many.exhausted
    for v in many.violations:  # each trace was replayed step by step; its last state is the violation
        last = v.trace.states[-1]
        if v.name == DEADLOCK:
            assert not any(st.guard is True for i in v.trace.spec.instances() for st in i.steps(last))
        else:
            assert not v.trace.spec.invariant_named(v.name).fn(last)


# every cell of the families whose cells CI can afford on a cluster (each under 100,000 states)
SMALL_FAMILIES = ("spin_lock", "htab_lock", "timer_lock", "prog_swap", "nmi_put")


def _small_cells() -> list[tuple[str, str, dict]]:
    data = tomllib.loads((ROOT / "spec" / "configs" / "expected.toml").read_text(encoding="utf-8"))
    models = {name: fam["model"] for name, fam in data.get("family", {}).items()}
    return [
        (c["name"], models[c["family"]], c.get("constants", {}))
        for c in data["cell"]
        if c.get("family") in SMALL_FAMILIES
    ]


SMALL = _small_cells()


def test_every_cell_of_the_small_families_matches_on_two_partitions(cluster):
    assert len(SMALL) >= 36  # spin_lock 9, htab_lock 4, timer_lock 5, prog_swap 9, nmi_put 9
    opts = Options(stop_on_first=False)
    for name, model, constants in SMALL:
        recipe = Recipe(model, constants)
        one = explore_any(recipe.build(), opts, lambda _l: None, "native")
        assert one.distinct < 100_000, name
        assert _summary(explore_cluster(recipe, opts, workers=2)) == _summary(one), name


def test_a_partition_that_dies_ends_the_search_with_its_name(cluster):
    recipe = Recipe("spec.bpf_async", {"kind": "timer", "slots": 2, "callback": "cancel_other", "cpus": 3})

    def kill_one(parts):
        threading.Timer(1.0, cluster.kill, args=(parts[1],)).start()

    with pytest.raises(ClusterError, match=r"partition 1 died.*incomplete"):
        explore_cluster(recipe, Options(stop_on_first=False), workers=2, on_started=kill_one)


def test_the_cli_runs_a_local_cluster_with_symmetry_and_a_state_limit():
    _ray()

    def run(config, *argv):
        return subprocess.run(
            [sys.executable, "-m", "explorer", "check", config, *argv], capture_output=True, text=True
        )

    def distinct(r):
        return re.search(r"distinct states\s+(\d+)", r.stdout).group(1)

    r = run("spec/configs/prog_swap.toml", "--set", "kind=wq", "--cluster", "2")
    assert r.returncode == 1, r.stderr
    assert "Engine: Ray cluster, 2 partitions" in r.stdout
    assert "Invariant NoCallbackAfterProgFree is violated." in r.stdout
    # the RFC's model declares its CPUs, items and progs interchangeable: orbits, as on one thread
    # (its config's irq_work = "tick" lets the irq_work be freed while queued: a violation)
    one = run("spec/configs/rfc_fixed.toml", "--symmetry", "--continue")
    many = run("spec/configs/rfc_fixed.toml", "--symmetry", "--continue", "--cluster", "2")
    assert one.returncode == many.returncode == 1, one.stdout + many.stderr
    assert "with symmetry reduction" in many.stdout and distinct(many) == distinct(one) == "8226"
    assert "Invariant NoIrqWorkUseAfterFree is violated" in many.stdout
    cut = run("spec/configs/rfc_fixed.toml", "--cluster", "2", "--max-states", "100", "--no-deadlock")
    assert cut.returncode == 3 and "incomplete: stopped at 100 states" in cut.stdout, cut.stdout + cut.stderr
    r = run("spec/configs/rfc_fixed.toml", "--cluster", "2", "--workers", "2")
    assert r.returncode == 2 and r.stderr.strip().startswith("error: --cluster runs the compiled engine")


# ---------------------------------------------------------------- the matrix, a cell per Ray task

MATRIX_CELLS = ["rfc_posted_user_keeps_fds", "timer_no_uref_sweep", "prog_swap_wq"]


def test_the_matrix_on_a_cluster_gives_the_local_verdicts(cluster, tmp_path):
    """matrix --cluster: each cell a Ray task (explorer/runs/matrix/on_cluster.py), with liveness,
    witnesses and the kernel-configuration runs: everything the report reads equals a local run's."""
    from explorer.runs.matrix.cells import run_matrix
    from explorer.runs.matrix.on_cluster import run_matrix_on_cluster
    from explorer.runs.results import DEFAULT_EXPECTATIONS, load_expectations

    _props, cells = load_expectations(DEFAULT_EXPECTATIONS)
    cells = [c for c in cells if c.name in MATRIX_CELLS]
    assert len(cells) == len(MATRIX_CELLS)
    local = run_matrix(cells, tmp_path / "local", 1)
    remote = run_matrix_on_cluster(cells, tmp_path / "remote", 2)

    def seen(r):
        return (r.name, r.error, r.distinct, r.generated, r.depth, r.verdicts, r.depths, r.witnesses,
                r.steps, r.configurations)  # fmt: skip

    assert [seen(r) for r in remote] == [seen(r) for r in local]
    assert all(r.error is None for r in remote) and any(r.steps for r in remote)
    dumped = sorted(p.name for p in (tmp_path / "remote").rglob("*.txt"))
    assert dumped and dumped == sorted(p.name for p in (tmp_path / "local").rglob("*.txt"))


def test_matrix_cluster_flags_are_checked():
    r = subprocess.run(
        [sys.executable, "-m", "explorer", "matrix", "--address", "auto", "--only", "prog_swap_wq"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 2 and r.stderr.strip() == "error: --address needs --cluster N"
