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
from dataclasses import dataclass, field
from pathlib import Path

from explorer.engines.bfs import DEADLOCK, Options, Result, Trace
from explorer.engines.compiled.engine import explore_any
from explorer.engines.liveness.check import check_liveness
from explorer.engines.refinement import check_refinements
from explorer.engines.witnesses import find_witnesses
from explorer.outputs.traces import write_trace
from explorer.runs.configurations import Needs, analyse
from explorer.runs.results import Cell, CellResult
from explorer.runs.workers import run_all
from spec.config import import_model
from spec.lang import Spec


def property_group(name: str) -> str:
    """Per-item/per-CPU instances (``EverySubmittedWorkRuns[w0]``) report under their family name."""
    return name.split("[", 1)[0]


@dataclass
class Judged:
    """Every property's verdict on one explored configuration, with the traces behind them."""

    verdicts: dict[str, str] = field(default_factory=dict)
    depths: dict[str, int] = field(default_factory=dict)
    traces: dict[str, Trace] = field(default_factory=dict)  # each violation's shortest trace or lasso
    storms: dict[str, Trace] = field(default_factory=dict)  # lassos that only an endless environment gives
    fairness: list[str] = field(default_factory=list)


def judge(spec: Spec, r: Result, props: set[str] | None = None, listed: set[str] | None = None) -> Judged:
    """The verdicts of an exhausted search (``props``: only these, by property group). A refinement is
    checked only when named in ``props`` or ``listed`` (the cell's family's properties): it costs a pass
    over every edge."""
    out = Judged()

    def wanted(name: str) -> bool:
        return props is None or name in props

    found = {v.name: v for v in r.violations}
    for name in [p.name for p in spec.invariants] + [DEADLOCK]:
        if not wanted(name):
            continue
        v = found.get(name)
        out.verdicts[name] = "violated" if v else "holds"
        if v:
            out.depths[name] = v.depth
            out.traces[name] = v.trace
    named = (props or set()) | (listed or set())
    refinements = {x.name for x in spec.refinements if x.name in named}
    if refinements:
        found_ref = {v.name: v for v in check_refinements(r, refinements)}
        for name in sorted(refinements):
            v = found_ref.get(name)
            out.verdicts[name] = "violated" if v else "holds"
            if v:
                out.depths[name] = len(v.trace.states)
                out.traces[name] = v.trace
    temporal = [t.name for t in spec.properties if wanted(property_group(t.name))]
    for lv in check_liveness(r, temporal) if temporal else []:
        group = property_group(lv.name)
        out.fairness = lv.fairness
        if not lv.holds:
            if out.verdicts.get(group) != "violated":
                out.depths[group] = len(lv.trace.states)
                out.traces[group] = lv.trace
            out.verdicts[group] = "violated"
        else:
            out.verdicts.setdefault(group, "holds")
            if lv.storm is not None and group not in out.storms:
                out.storms[group] = lv.storm
    return out


def run_cell(cell: Cell, out_dir: Path | None, engine: str = "native", configs: bool = True) -> CellResult:
    """Explore one cell exhaustively and compute every property's verdict; with ``configs``, the kernel
    configurations each violated property needs (``explorer.runs.configurations``)."""
    res = CellResult(cell.name)
    t0 = time.monotonic()
    model = import_model(cell.model)
    spec = model.make_spec(**cell.constants)
    opts = Options(stop_on_first=False, keep_graph=True, optimize=1)  # most cells are small: see Options
    r = explore_any(spec, opts, lambda _line: None, engine)
    if r.stopped == "interrupted":
        raise KeyboardInterrupt
    res.distinct, res.generated, res.depth = r.distinct, r.generated, r.depth
    if not r.exhausted:
        res.error = f"search stopped early ({r.stopped})"
        return res
    judged = judge(spec, r, listed=set(cell.props))
    res.verdicts, res.depths, res.fairness = judged.verdicts, judged.depths, judged.fairness
    res.environment = list(spec.environment)
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
    traces = list(judged.traces.items())
    for name, trace in traces:
        res.steps[name] = [st.label if st is not None else "(stutter)" for st in trace.steps[1:]]
        if trace.loop is not None:
            res.loops[name] = trace.loop
    storms = list(judged.storms.items())
    for name, trace in storms:
        res.storms[name] = storm_summary(trace, spec.environment)
    for name, trace in traces:
        res.confirm[name] = to_confirm(spec, trace)
    del r, judged  # the graph: the configuration runs below need the memory
    # the configurations of the family's own properties (the spec may define more)
    violated = [p for p, v in res.verdicts.items() if v == "violated" and p in cell.props]
    relevant = getattr(model, "kconfig_relevant", None)
    dimensions = relevant(cell.constants) if relevant is not None else None
    if configs and violated and dimensions == {}:
        # the model says no dimension changes this cell: every counterexample exists in every
        # configuration, and the report says so rather than nothing
        res.configurations = {p: Needs(p).to_json() for p in violated}
    elif configs and violated and dimensions:
        known = {p: (res.verdicts[p], res.depths.get(p)) for p in violated}
        needs = analyse(
            cell.constants,
            dimensions,
            violated,
            lambda consts: _verdicts_under(
                cell.model, consts, set(violated), engine, quick=res.distinct < QUICK_COMPILE_BELOW
            ),
            known=known,
        )
        res.configurations = {p: n.to_json() for p, n in needs.items()}
    if out_dir is not None:
        for name, trace in traces:
            title = f"{name} in {cell.name} ({', '.join(f'{k}={v}' for k, v in cell.constants.items())})"
            paths = write_trace(trace, out_dir / cell.name / name, title)
            res.dumps.append(str(paths[0]))
        for name, trace in storms:
            title = (
                f"{name} in {cell.name}: NOT a violation. The only fair lasso repeats the environment "
                f"({', '.join(res.storms[name]['environment'])}) in its cycle: an endless storm, not a hang"
            )
            write_trace(trace, out_dir / cell.name / f"{name}.storm", title)
        for w in reached:
            if w.trace is not None:
                title = f"Witness {w.witness.name} in {cell.name}: {w.witness.doc}"
                write_trace(w.trace, out_dir.parent / "witnesses" / cell.name / w.witness.name, title)
    res.seconds = time.monotonic() - t0
    return res


def to_confirm(spec: Spec, trace: Trace) -> list[str]:
    """The kernel sources a trace's steps rest on that were read from a copy that is not an upstream
    commit: the finding is to be confirmed against the upstream version each names."""
    tags = {c.source for st in trace.steps if st is not None for c in st.action.cites if c.source}
    if spec.sources_in_use is not None:
        tags &= spec.sources_in_use
    out = []
    for tag in sorted(tags):
        src = spec.sources.get(tag)
        if src is not None and not src.upstream:
            out.append(f"{src.path} at {src.version} ({tag}: the copy read is not an upstream commit)")
    return out


def storm_summary(trace: Trace, environment: list[str]) -> dict:
    """A lasso whose cycle repeats the environment: its length and the environment steps it repeats."""
    assert trace.loop is not None
    cycle = [st.label for st in trace.steps[trace.loop + 1 :] if st is not None]
    return {
        "states": len(trace.states),
        "cycle": cycle,
        "environment": sorted({lab.split("(")[0] for lab in cycle} & set(environment)),
    }


# A configuration run of a cell whose own run explored fewer states than this is compiled at -O0: most
# configuration runs are small, and building their C is most of their time
QUICK_COMPILE_BELOW = 1_000_000


def _verdicts_under(
    model: str, constants: dict, props: set[str], engine: str, quick: bool = False
) -> dict[str, tuple[str, int | None]]:
    """The verdicts of ``props`` for the cell run with other constants (no witnesses: "holds" here means
    no counterexample); ``quick``: compiled at -O0, else -O1 (Options.optimize)."""
    spec = import_model(model).make_spec(**constants)
    invariants = [p.name for p in spec.invariants if p.name in props]
    temporal = any(property_group(t.name) in props for t in spec.properties)
    refines = any(x.name in props for x in spec.refinements)
    # without a temporal property the run may stop once each target has its shortest counterexample
    opts = Options(
        stop_on_first=False,
        stop_when_all_found=not (temporal or refines),
        keep_graph=temporal or refines,
        invariants=invariants,
        check_deadlock=DEADLOCK in props,
        optimize=0 if quick else 1,
    )
    r = explore_any(spec, opts, lambda _line: None, engine)
    if r.stopped == "interrupted":
        raise KeyboardInterrupt
    if not r.exhausted and r.stopped != "violation":
        raise RuntimeError(f"configuration run stopped early ({r.stopped})")
    judged = judge(spec, r, props)
    return {p: (judged.verdicts.get(p, "holds"), judged.depths.get(p)) for p in props}


def _run_cell_safely(
    cell: Cell, out_dir: Path | None, engine: str = "native", configs: bool = True
) -> CellResult:
    try:
        return run_cell(cell, out_dir, engine, configs)
    except Exception as e:  # reported per cell; the matrix still prints the others
        return CellResult(cell.name, error=f"{type(e).__name__}: {e}")


def run_matrix(
    cells: list[Cell], out_dir: Path | None, jobs: int, engine: str = "native", configs: bool = True
) -> list[CellResult]:
    """Every cell's result, in order; on Ctrl-C (or SIGTERM) the workers are stopped, the cells not
    finished come back with error "interrupted", and KeyboardInterrupt is raised only after that
    (``run`` prints what finished). ``configs=False`` skips the kernel-configuration runs (the
    verdicts and dumps are the same; CellResult.configurations stays empty)."""
    done, interrupted = run_all(_run_cell_safely, [(c, out_dir, engine, configs) for c in cells], jobs)
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
