"""The matrix on a Ray cluster (``matrix --cluster N [--address ADDR]``, issue 22): each cell is one Ray
task of one CPU, run wherever the cluster has room, with the code a local worker process runs
(``cells._run_cell_safely``: the search with its graph, liveness, witnesses, the kernel-configuration
runs), so the verdicts are the local matrix's. A cell is the unit because it needs its whole graph in
one place for liveness; ``check --cluster`` is the one that splits a single search across machines.

Every machine needs this checkout at the same path with its ``.venv`` and a C compiler (each compiles
its cells' specs into ``OUT/native`` there), and a cell's counterexample dumps are written under
``OUT/counterexamples`` on the machine that ran it (on a local cluster: here). A worker that dies loses
its cell: the cell is reported with that error, never as holding, and the matrix exits non-zero.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from explorer.runs.matrix.cells import INTERRUPTED, MatrixInterrupted, _run_cell_safely
from explorer.runs.results import Cell, CellResult


def _run_cell_remote(cell: Cell, out_dir: Path | None, engine: str, cache_root: str) -> CellResult:
    """On a cluster worker: the compile cache under the driver's --out (a worker's own working directory
    is Ray's), then the cell as a local worker runs it."""
    from explorer.engines.compiled.engine import use_cache_under

    use_cache_under(cache_root)
    return _run_cell_safely(cell, out_dir, engine)


def run_matrix_on_cluster(
    cells: list[Cell], out_dir: Path, workers: int, address: str | None = None, engine: str = "native"
) -> list[CellResult]:
    """Every cell's result, in order, each computed by a Ray task: on a local cluster of ``workers``
    CPUs started here, or on the running cluster at ``address``."""
    import ray  # the cluster extra's dependency (pip install '.[cluster]')

    out_dir = out_dir.resolve()
    started_here = not ray.is_initialized()
    if started_here:
        quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, **quiet)
    task = ray.remote(num_cpus=1, max_retries=0)(_run_cell_remote)
    refs: list[Any] = []
    results: list[CellResult] = []
    try:
        refs = [task.remote(c, out_dir, engine, str(out_dir.parent)) for c in cells]
        for cell, ref in zip(cells, refs, strict=True):
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayError as e:  # the worker died, or Ray lost the task
                why = " ".join(str(e).split())[:200]
                results.append(
                    CellResult(cell.name, error=f"the cluster lost this cell ({type(e).__name__}: {why})")
                )
    except KeyboardInterrupt:
        for ref in refs:
            ray.cancel(ref, force=True)
        done = results + [CellResult(c.name, error=INTERRUPTED) for c in cells[len(results) :]]
        raise MatrixInterrupted(done) from None
    finally:
        if started_here:
            ray.shutdown()
    return results
