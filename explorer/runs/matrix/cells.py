"""Running the matrix: every cell explored exhaustively and judged against its expected verdicts.

Each cell is explored exhaustively (safety invariants, deadlock, then the liveness properties on the
explored graph), each property gets its verdict, and ``compare`` lists every computed verdict that
differs from the expected one (``explorer.runs.results`` reads the expectations). Every violation's
shortest trace is dumped under ``out/counterexamples/<cell>/<property>.{txt,itf.json,dot}``.

Two checks guard against a model that forbids what the kernel allows (``invariants/witnesses.py``):
every kernel witness the spec registers must be reachable in the cell (a shortest trace to each is
dumped under ``out/witnesses/<cell>/``), and a property that holds is reported ``vacuous`` unless every
precondition named for it is reachable: ``holds`` in the expectations then fails the run.
"""

from __future__ import annotations

import time
from pathlib import Path

from explorer.engines.bfs import DEADLOCK, Options
from explorer.engines.compiled.engine import explore_any
from explorer.engines.liveness.check import check_liveness
from explorer.engines.witnesses import find_witnesses
from explorer.outputs.traces import write_trace
from explorer.runs.results import Cell, CellResult
from explorer.runs.workers import run_all
from spec.config import import_model


def property_group(name: str) -> str:
    """Per-item/per-CPU instances (``EverySubmittedWorkRuns[w0]``) report under their family name."""
    return name.split("[", 1)[0]


def run_cell(cell: Cell, out_dir: Path | None, engine: str = "native") -> CellResult:
    """Explore one cell exhaustively and compute every property's verdict."""
    res = CellResult(cell.name)
    t0 = time.monotonic()
    spec = import_model(cell.model).make_spec(**cell.constants)
    r = explore_any(spec, Options(stop_on_first=False, keep_graph=True), lambda _line: None, engine)
    if r.stopped == "interrupted":
        raise KeyboardInterrupt
    res.distinct, res.generated, res.depth = r.distinct, r.generated, r.depth
    if not r.exhausted:
        res.error = f"search stopped early ({r.stopped})"
        return res
    found = {v.name: v for v in r.violations}
    traces = []
    for p in spec.invariants:
        v = found.get(p.name)
        res.verdicts[p.name] = "violated" if v else "holds"
        if v:
            res.depths[p.name] = v.depth
            traces.append((p.name, v.trace))
    dl = found.get(DEADLOCK)
    res.verdicts[DEADLOCK] = "violated" if dl else "holds"
    if dl:
        res.depths[DEADLOCK] = dl.depth
        traces.append((DEADLOCK, dl.trace))
    for lv in check_liveness(r):
        group = property_group(lv.name)
        res.fairness = lv.fairness
        if not lv.holds:
            if res.verdicts.get(group) != "violated":
                res.depths[group] = len(lv.trace.states)
                traces.append((group, lv.trace))
            res.verdicts[group] = "violated"
        else:
            res.verdicts.setdefault(group, "holds")
    reached = find_witnesses(r)
    for w in reached:
        res.witnesses[w.witness.name] = (w.witness.kernel, len(w.trace.states) if w.trace else None)
    unreachable = {w.witness.name for w in reached if not w.reached}
    res.preconditions = {p: list(ws) for p, ws in spec.preconditions.items()}
    for prop, verdict in list(res.verdicts.items()):
        unmet = [n for n in spec.preconditions.get(prop, []) if n in unreachable]
        if verdict == "holds" and unmet:
            res.verdicts[prop] = "vacuous"
            res.unmet[prop] = unmet
    for name, trace in traces:
        res.steps[name] = [st.label if st is not None else "(stutter)" for st in trace.steps[1:]]
        if trace.loop is not None:
            res.loops[name] = trace.loop
    if out_dir is not None:
        for name, trace in traces:
            title = f"{name} in {cell.name} ({', '.join(f'{k}={v}' for k, v in cell.constants.items())})"
            paths = write_trace(trace, out_dir / cell.name / name, title)
            res.dumps.append(str(paths[0]))
        for w in reached:
            if w.trace is not None:
                title = f"Witness {w.witness.name} in {cell.name}: {w.witness.doc}"
                write_trace(w.trace, out_dir.parent / "witnesses" / cell.name / w.witness.name, title)
    res.seconds = time.monotonic() - t0
    return res


def _run_cell_safely(cell: Cell, out_dir: Path | None, engine: str = "native") -> CellResult:
    try:
        return run_cell(cell, out_dir, engine)
    except Exception as e:  # reported per cell; the matrix still prints the others
        return CellResult(cell.name, error=f"{type(e).__name__}: {e}")


def run_matrix(
    cells: list[Cell], out_dir: Path | None, jobs: int, engine: str = "native"
) -> list[CellResult]:
    """Every cell's result, in order; on Ctrl-C (or SIGTERM) the workers are stopped, the cells not
    finished come back with error "interrupted", and KeyboardInterrupt is raised only after that
    (``run`` prints what finished)."""
    done, interrupted = run_all(_run_cell_safely, [(c, out_dir, engine) for c in cells], jobs)
    results = [
        r if r is not None else CellResult(c.name, error=INTERRUPTED)
        for c, r in zip(cells, done, strict=True)
    ]
    if interrupted:
        raise MatrixInterrupted(results)
    return results


INTERRUPTED = "interrupted"


class MatrixInterrupted(KeyboardInterrupt):
    """Ctrl-C during the matrix, carrying every cell's result so far."""

    def __init__(self, results: list[CellResult]) -> None:
        super().__init__("interrupted")
        self.results = results


def compare(props: list[str], cells: list[Cell], results: list[CellResult]) -> list[str]:
    """Every disagreement between expected and computed verdicts, one line each."""
    problems = []
    for cell, res in zip(cells, results, strict=True):
        if res.error:
            problems.append(f"{cell.name}: {res.error}")
            continue
        for p in cell.props or props:
            want, reason = cell.expect[p]
            got = res.verdicts.get(p)
            if got != want:
                why = f" (unreachable: {', '.join(res.unmet[p])})" if p in res.unmet else ""
                problems.append(f"{cell.name}: {p} expected {want} ({reason}) but computed {got}{why}")
        for name, (kernel, depth) in res.witnesses.items():
            if not kernel:
                continue
            if depth is None and name not in cell.unreachable:
                problems.append(
                    f"{cell.name}: kernel witness {name} is unreachable: the model forbids a behaviour "
                    "the kernel allows (invariants/witnesses.py)"
                )
            if depth is not None and name in cell.unreachable:
                problems.append(
                    f"{cell.name}: kernel witness {name} is reachable ({depth} states), but the cell says "
                    f"it cannot be: {cell.unreachable[name]}"
                )
        for name in cell.unreachable:
            if name not in res.witnesses:
                problems.append(f"{cell.name}: unreachable.{name}: no such witness in this cell")
    return problems
