"""`python -m explorer matrix`: every design variant x workload against its expected verdicts.

The expectations are data (``spec/configs/expected.toml``): for each cell, the model constants and, for
every property, ``holds``, ``vacuous`` or ``violated`` with a one-line reason. Each cell is explored
exhaustively (safety invariants, deadlock, then the liveness properties on the explored graph); a
computed verdict that differs from the expected one fails the run. Every violation's shortest trace is
dumped under ``out/counterexamples/<cell>/<property>.{txt,itf.json,dot}``.

Two checks guard against a model that forbids what the kernel allows (``invariants/witnesses.py``):
every kernel witness the spec registers must be reachable in the cell (a shortest trace to each is
dumped under ``out/witnesses/<cell>/``), and a property that holds is reported ``vacuous`` unless every
precondition named for it is reachable: ``holds`` in the expectations then fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from explorer.cli_common import EXIT_INTERRUPTED, add_engine_option, positive_int
from explorer.engines.bfs import DEADLOCK, Options
from explorer.engines.compiled.engine import explore_any
from explorer.engines.liveness.check import check_liveness
from explorer.engines.witnesses import find_witnesses
from explorer.outputs.traces import write_trace
from explorer.runs.workers import run_all
from spec.config import ConfigError, check_param, import_model

DEFAULT_EXPECTATIONS = Path(__file__).resolve().parents[3] / "spec" / "configs" / "expected.toml"
VERDICTS = ("holds", "vacuous", "violated")
ONE_CPU = "(1 CPU)"  # the note a "holds" of a 1-CPU cell must carry: it cannot show a cross-CPU race
DEFAULT_FAMILY = "delayed_work"  # the top-level model and properties of the expectation file


@dataclass
class Family:
    """A design family of the matrix: one model module and the properties its cells are judged by."""

    name: str
    model: str
    props: list[str]
    title: str = ""


@dataclass
class Cell:
    name: str
    model: str
    constants: dict[str, Any]
    expect: dict[str, tuple[str, str]]  # property -> (verdict, reason)
    # kernel witnesses this cell is too small to show, each with the reason (checked both ways)
    unreachable: dict[str, str] = field(default_factory=dict)
    family: str = DEFAULT_FAMILY  # the design family (its model and property list)
    props: list[str] = field(default_factory=list)  # the family's properties, in column order
    design: str | None = None  # a design's baseline cell: its label in the comparison table
    safeguard: str | None = None  # "<design label>: <safeguard removed>" for a cell that removes one


@dataclass
class CellResult:
    name: str
    distinct: int = 0
    generated: int = 0
    depth: int = 0
    seconds: float = 0.0
    verdicts: dict[str, str] = field(default_factory=dict)
    depths: dict[str, int] = field(default_factory=dict)  # trace length of each violation (states)
    fairness: list[str] = field(default_factory=list)
    dumps: list[str] = field(default_factory=list)
    steps: dict[str, list[str]] = field(default_factory=dict)  # each violation's action sequence
    loops: dict[str, int] = field(default_factory=dict)  # lassos: index of the state the cycle returns to
    # witness name -> (is a kernel witness, length of its shortest trace or None if unreachable)
    witnesses: dict[str, tuple[bool, int | None]] = field(default_factory=dict)
    unmet: dict[str, list[str]] = field(default_factory=dict)  # property -> unreachable preconditions
    preconditions: dict[str, list[str]] = field(default_factory=dict)  # property -> what makes it non-vacuous
    error: str | None = None


def property_group(name: str) -> str:
    """Per-item/per-CPU instances (``EverySubmittedWorkRuns[w0]``) report under their family name."""
    return name.split("[", 1)[0]


def load_expectations(path: Path) -> tuple[list[str], list[Cell]]:
    """Read and validate the expectation file; ConfigError (one line, naming file and cell) otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such expectation file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    unknown = sorted(set(data) - {"model", "properties", "cell", "claim", "family"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(unknown)}")
    model = data.get("model")
    props = data.get("properties")
    if (
        not isinstance(model, str)
        or not isinstance(props, list)
        or not all(isinstance(p, str) for p in props)
    ):
        raise ConfigError(f'{path}: needs model = "module" and properties = [names]')
    families = {DEFAULT_FAMILY: Family(DEFAULT_FAMILY, model, list(props), data.get("title", ""))}
    for fname, fam in data.get("family", {}).items():
        if (
            not isinstance(fam, dict)
            or not isinstance(fam.get("model"), str)
            or not isinstance(fam.get("properties"), list)
            or not all(isinstance(p, str) for p in fam["properties"])
            or sorted(set(fam) - {"model", "properties", "title"})
        ):
            raise ConfigError(f'{path}: family.{fname}: needs model = "module", properties = [names], title')
        families[fname] = Family(fname, fam["model"], list(fam["properties"]), str(fam.get("title", fname)))
    cells = []
    seen = set()
    for i, raw in enumerate(data.get("cell", [])):
        where = f"{path}: cell {i + 1}"
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: missing name")
        line = next(
            (
                n
                for n, ln in enumerate(text.splitlines(), 1)
                if ln.strip() == f"name = {name!r}".replace("'", '"')
            ),
            None,
        )
        where = f"{path}:{line}: cell {name}" if line else f"{path}: cell {name}"
        if name in seen:
            raise ConfigError(f"{where}: duplicate cell name")
        seen.add(name)
        bad = sorted(
            set(raw) - {"name", "constants", "expect", "unreachable", "family", "design", "safeguard"}
        )
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(bad)}")
        fam = families.get(raw.get("family", DEFAULT_FAMILY))
        if fam is None:
            raise ConfigError(f"{where}: family {raw.get('family')!r} is not declared ([family.NAME])")
        for key in ("design", "safeguard"):
            if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
                raise ConfigError(f"{where}: {key}: expected a non-empty string")
        params = getattr(import_model(fam.model), "PARAMS", {})
        cpu_default = params["cpus"][1] if "cpus" in params else None
        consts = raw.get("constants", {})
        for k, v in consts.items():
            if k not in params:
                raise ConfigError(f"{where}: constants.{k}: unknown constant (known: {', '.join(params)})")
            err = check_param(params[k], v)
            if err:
                raise ConfigError(f"{where}: constants.{k}: {err}")
        expect: dict[str, tuple[str, str]] = {}
        for prop, value in raw.get("expect", {}).items():
            if prop not in fam.props:
                raise ConfigError(f"{where}: expect.{prop}: not a property of family {fam.name}")
            if not isinstance(value, str):
                raise ConfigError(f"{where}: expect.{prop}: expected a string")
            head, _, reason = value.partition(":")
            verdict, _, note = head.strip().partition(" ")  # an optional note: "holds (1 CPU)"
            if verdict not in VERDICTS or (note and not (note.startswith("(") and note.endswith(")"))):
                raise ConfigError(
                    f"{where}: expect.{prop}: {value!r} does not start with holds, vacuous or violated"
                )
            one_cpu = consts.get("cpus", cpu_default) == 1
            if verdict == "holds" and one_cpu and note != ONE_CPU:
                raise ConfigError(
                    f"{where}: expect.{prop}: a 1-CPU cell cannot show a cross-CPU race: "
                    f"write {verdict} {ONE_CPU}"
                )
            if note == ONE_CPU and not one_cpu:
                raise ConfigError(f"{where}: expect.{prop}: {ONE_CPU} in a cell with more than one CPU")
            expect[prop] = (verdict, (f"{note} " if note else "") + reason.strip())
        missing = [p for p in fam.props if p not in expect]
        if missing:
            raise ConfigError(f"{where}: no expectation for {', '.join(missing)}")
        unreachable = raw.get("unreachable", {})
        for w, why in unreachable.items():
            if not isinstance(why, str) or not why.strip():
                raise ConfigError(f"{where}: unreachable.{w}: give the reason the cell cannot show it")
        cells.append(
            Cell(name, fam.model, dict(consts), expect, dict(unreachable), fam.name, fam.props,
                 raw.get("design"), raw.get("safeguard"))
        )  # fmt: skip
    if not cells:
        raise ConfigError(f"{path}: no [[cell]] entries")
    return props, cells


@dataclass
class Claim:
    """A claim of the design under review, answered per RCU flavour from cells of the matrix."""

    id: str
    text: str
    # flavour -> {"necessary": str, "sufficient": str, "evidence": ["cell:Property"...], "queries": [names]}
    answers: dict[str, dict[str, Any]]


CLAIM_FIELDS = ("necessary", "sufficient", "evidence")


def load_claims(path: Path, props: list[str], cells: list[Cell]) -> list[Claim]:
    """The expectation file's [[claim]] entries; each evidence item is "cell:Property" of the matrix."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    names = {c.name: c.props or props for c in cells}
    out = []
    for i, raw in enumerate(data.get("claim", [])):
        where = f"{path}: claim {raw.get('id', i + 1)}"
        if not isinstance(raw.get("id"), str) or not isinstance(raw.get("text"), str):
            raise ConfigError(f"{where}: needs id and text (strings)")
        answers = {k: v for k, v in raw.items() if k not in ("id", "text")}
        for flavour, ans in answers.items():
            keys = set(ans) - {"queries"} if isinstance(ans, dict) else set()
            if keys not in (set(CLAIM_FIELDS), {"answer", "evidence"}):
                raise ConfigError(
                    f"{where}: {flavour} needs {', '.join(CLAIM_FIELDS)} (or answer and evidence), and "
                    "optionally queries, nothing else"
                )
            from explorer.runs.queries.catalogue import QUERIES

            for q in ans.get("queries", []):
                if q not in QUERIES:
                    raise ConfigError(f"{where}: {flavour}.queries names no query {q!r}")
            for ev in ans["evidence"]:
                cell, _, prop = str(ev).partition(":")
                if cell not in names or prop not in names[cell]:
                    raise ConfigError(
                        f"{where}: {flavour}.evidence {ev!r} is not cell:Property of the matrix"
                    )
        out.append(Claim(raw["id"], raw["text"], answers))
    return out


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


def _mark(verdict: str, depth: object) -> str:
    return {"holds": "ok", "vacuous": "vac", "violated": f"VIOL({depth})"}.get(verdict, verdict)


def _abbrev(name: str) -> str:
    return "".join(ch for ch in name if ch.isupper()) or name[:6]


def by_family(cells: list[Cell], results: list[CellResult]) -> list[tuple[str, list[Cell], list[CellResult]]]:
    """The cells and results grouped by design family, in the order the families first appear."""
    groups: dict[str, tuple[list[Cell], list[CellResult]]] = {}
    for cell, res in zip(cells, results, strict=True):
        cs, rs = groups.setdefault(cell.family, ([], []))
        cs.append(cell)
        rs.append(res)
    return [(name, cs, rs) for name, (cs, rs) in groups.items()]


def render(props: list[str], cells: list[Cell], results: list[CellResult]) -> str:
    tables = []
    for family, fcells, fresults in by_family(cells, results):
        fprops = fcells[0].props or props
        tables.append(
            ("" if family == DEFAULT_FAMILY else f"{family}:\n") + _render_family(fprops, fcells, fresults)
        )
    return "\n\n".join(tables) + (
        "\nok = holds; vac = holds vacuously (a precondition is unreachable); "
        "VIOL(n) = violated, shortest counterexample n states (lassos: prefix + cycle); "
        "!! = differs from the expectation"
    )


def _render_family(props: list[str], cells: list[Cell], results: list[CellResult]) -> str:
    rows = []
    for cell, res in zip(cells, results, strict=True):
        if res.error:
            rows.append([cell.name, "-", "-", "-", res.error if res.error == INTERRUPTED else "ERROR"])
            continue
        row = [cell.name, res.distinct, res.depth, f"{res.seconds:.1f}"]
        for p in props:
            got = res.verdicts.get(p, "?")
            want = cell.expect[p][0]
            mark = _mark(got, res.depths.get(p, "?"))
            row.append(mark if got == want else f"{mark}!!")
        rows.append(row)
    headers = ["cell", "distinct", "depth", "s"] + [_abbrev(p) for p in props]
    legend = "  ".join(f"{_abbrev(p)}={p}" for p in props)
    return tabulate(rows, headers=headers) + "\n\n" + legend


def _evidence(ev: str, by_cell: dict[str, CellResult]) -> str:
    cell, _, prop = ev.partition(":")
    res = by_cell.get(cell)
    if res is None:
        return f"`{cell}` {prop}: not run"
    got = res.verdicts.get(prop, "?")
    shown = _mark(got, res.depths.get(prop, "?"))
    link = f" ([trace](counterexamples/{cell}/{prop}.txt))" if got == "violated" else ""
    return f"`{cell}` {prop}: {shown}{link}"


def claim_answer(ans: dict[str, Any]) -> str:
    """A claim's answer for one flavour, in words: necessary and sufficient, or a plain answer."""
    if "answer" in ans:
        return f"{ans['answer']}."
    return f"Necessary? {ans['necessary']}. Sufficient? {ans['sufficient']}."


def claims_markdown(claims: list[Claim], cells: list[Cell], results: list[CellResult]) -> list[str]:
    by_cell = {c.name: r for c, r in zip(cells, results, strict=True)}
    out = ["## The RFC's claims, per RCU flavour", ""]
    out.append(
        "Each answer rests on the verdicts listed under it, computed in this run (ok = holds, "
        "VIOL(n) = shortest counterexample of n states, linked). `call_rcu`: a non-sleepable prog; "
        "`tasks_trace`: a sleepable prog under the documented call_rcu_tasks_trace contract."
    )
    out.append("")
    for cl in claims:
        out += [f"### {cl.id}: {cl.text}", ""]
        for flavour, ans in cl.answers.items():
            out.append(f"- **{flavour}**: {claim_answer(ans)}")
            out += [f"  - {_evidence(ev, by_cell)}" for ev in ans["evidence"]]
        out.append("")
    return out


def witnesses_markdown(cells: list[Cell], results: list[CellResult]) -> list[str]:
    names = sorted({n for r in results for n, (kernel, _) in r.witnesses.items() if kernel})
    out = ["## Kernel behaviour witnesses", ""]
    out.append(
        "Behaviours the kernel allows (invariants/witnesses.py gives each one's source). The number is "
        "the length of the shortest trace reaching it (under `witnesses/<cell>/`); `too small` is a cell "
        "declared unable to show it, with its reason in expected.toml; `-` is not registered there."
    )
    out.append("")
    rows = []
    for cell, res in zip(cells, results, strict=True):
        row: list[Any] = [cell.name]
        for n in names:
            kernel_depth = res.witnesses.get(n)
            if kernel_depth is None:
                row.append("-")
            elif kernel_depth[1] is None:
                row.append("too small" if n in cell.unreachable else "**UNREACHABLE**")
            else:
                row.append(kernel_depth[1])
        rows.append(row)
    out.append(tabulate(rows, headers=["cell", *names], tablefmt="github"))
    out.append("")
    needs: dict[str, set[str]] = {}
    for r in results:
        for p, ws in r.preconditions.items():
            needs.setdefault(p, set()).update(ws)
    if needs:
        out += [
            "A `holds` is non-vacuous: in that cell every precondition named for the property is reachable "
            "(invariants/witnesses.py; some apply only where the configuration can show them):",
            "",
        ]
        out += [f"- {p}: {', '.join(sorted(ws)) or '(none)'}" for p, ws in needs.items()] + [""]
    vac = [(c.name, p, r.unmet[p]) for c, r in zip(cells, results, strict=True) for p in r.unmet]
    if vac:
        out += [
            "Vacuous verdicts (a property holds, but a situation it is about cannot happen in the cell):",
            "",
        ]
        out += [f"- `{c}` {p}: unreachable {', '.join(u)}" for c, p, u in vac]
        out.append("")
    return out


def comparison_markdown(cells: list[Cell], results: list[CellResult]) -> list[str]:
    """Which design gives which guarantee, and which safeguard each guarantee rests on.

    A row per design (the cells with ``design = "label"``), a column per property the designs share.
    A verdict that holds names the safeguards whose removal breaks it: the cells with ``safeguard =
    "label: what is removed"`` where the property is violated (with the trace length)."""
    from invariants.common import ALIASES, SHARED

    base = [(c, r) for c, r in zip(cells, results, strict=True) if c.design and not r.error]
    if not base:
        return []

    def own_name(cell: Cell, shared_name: str) -> str | None:
        """The cell's property that means ``shared_name`` (invariants/common.py), if it has one."""
        return next((p for p in cell.props if ALIASES.get(p, p) == shared_name), None)

    shared = [n for n in SHARED if sum(own_name(c, n) is not None for c, _ in base) >= 2]
    out = ["## Comparison of the designs", ""]
    out.append(
        "Each row is a design's baseline cell (as merged, or as posted). ok = holds there (with, in "
        "brackets, every safeguard whose removal breaks it: a cell of the matrix that turns that one "
        "safeguard off and finds a counterexample of n states); VIOL(n) = the design itself violates "
        "it. A safeguard switch that breaks nothing is listed under the table as shown unnecessary "
        "(in that cell's exhaustive run)."
    )
    out.append("")
    rows = []
    unneeded = []
    for cell, res in base:
        label = cell.design or cell.name
        removals = [
            (c, r)
            for c, r in zip(cells, results, strict=True)
            if c.safeguard and c.safeguard.split(":", 1)[0].strip() == label and not r.error
        ]
        row = [f"{label} (`{cell.name}`, {res.distinct} states)"]
        for shared_name in shared:
            p = own_name(cell, shared_name)
            if p is None:
                row.append("-")
                continue
            got = res.verdicts.get(p, "?")
            mark = _mark(got, res.depths.get(p, "?"))
            if got in ("holds", "vacuous"):
                rests = [
                    f"{c.safeguard.split(':', 1)[1].strip()} ({r.depths.get(p)})"
                    for c, r in removals
                    if r.verdicts.get(p) == "violated"
                ]
                if rests:
                    mark += " [rests on: " + "; ".join(rests) + "]"
            row.append(mark)
        rows.append(row)
        for c, r in removals:
            if not any(
                r.verdicts.get(p) == "violated" and res.verdicts.get(p) != "violated" for p in c.props
            ):
                unneeded.append(
                    f"- {c.safeguard} (`{c.name}`: {r.distinct} states; breaks no property the design keeps)"
                )
    out.append(tabulate(rows, headers=["design", *shared], tablefmt="github"))
    out.append("")
    if unneeded:
        out += ["Safeguards shown unnecessary in these configurations:", "", *unneeded, ""]
    return out


def report_markdown(
    props: list[str],
    cells: list[Cell],
    results: list[CellResult],
    wall: float,
    claims: list[Claim] | None = None,
    abstractions: dict[str, list[str]] | None = None,
) -> str:
    """The design-review report: every verdict computed in this run, with its reason and the shortest
    counterexample's action sequence."""
    out = ["# BPF deferred callbacks (the bpf_delayed_work RFC and what landed since): design review", ""]
    out.append(
        f"Generated by `python -m explorer matrix --report` from {len(cells)} exhaustive runs "
        f"({sum(r.distinct for r in results)} distinct states, {wall:.0f}s). Every verdict below was "
        "computed in this run and compared with `spec/configs/expected.toml`."
    )
    out += ["", "## Verdicts", ""]
    for family, fcells, fresults in by_family(cells, results):
        fprops = fcells[0].props or props
        if family != DEFAULT_FAMILY:
            out += [f"### {family} (`{fcells[0].model}`)", ""]
        rows = []
        for cell, res in zip(fcells, fresults, strict=True):
            one_cpu = " (1 CPU)" if cell.constants.get("cpus") == 1 else ""
            row = [cell.name + one_cpu, res.distinct]
            for p in fprops:
                got = res.verdicts.get(p, "?")
                mark = _mark(got, res.depths.get(p, "?"))
                row.append(f"**{mark}**" if got == "violated" else mark)
            rows.append(row)
        out.append(
            tabulate(rows, headers=["cell", "states"] + [_abbrev(p) for p in fprops], tablefmt="github")
        )
        out += ["", "  ".join(f"{_abbrev(p)} = {p}" for p in fprops), ""]
    out += comparison_markdown(cells, results)
    out += [
        "ok = holds; vac = holds vacuously (see the witnesses section); VIOL(n) = shortest counterexample "
        "of n states. A 1-CPU cell cannot show a cross-CPU race: its ok says nothing about one.",
        "",
    ]
    for family, _fcells, fresults in by_family(cells, results):
        fair = next((r.fairness for r in fresults if r.fairness), [])
        if fair:
            out += [
                f"Liveness verdicts of {family} rest on these fairness conditions (in its first cell with "
                "liveness properties; user space and prog runs are not fair):",
                "",
            ]
            out += [", ".join(f"`{f}`" for f in fair), ""]
    if claims:
        out += claims_markdown(claims, cells, results)
    out += witnesses_markdown(cells, results)
    for model, items in (abstractions or {}).items():
        out += [
            f"## Modelling choices of `{model}`",
            "",
            "Each simplification and why it loses no kernel behaviour:",
            "",
        ]
        out += [f"- {a}" for a in items] + [""]
    out += ["## Violations and their shortest counterexamples", ""]
    for cell, res in zip(cells, results, strict=True):
        bad = [p for p in cell.props or props if res.verdicts.get(p) == "violated"]
        if not bad:
            continue
        consts = ", ".join(f"{k}={v}" for k, v in cell.constants.items())
        out += [f"### {cell.name} ({consts})", ""]
        for p in bad:
            reason = cell.expect[p][1] if cell.expect[p][0] == "violated" else "(unexpected)"
            seq = res.steps.get(p, [])
            loop = res.loops.get(p)
            shown = " → ".join(seq)
            if loop is not None:
                shown += f" (then back to state {loop + 1}: a cycle)"
            out += [f"- **{p}** ({res.depths.get(p)} states): {reason}", f"  - {shown}"]
        out.append("")
    return "\n".join(out) + "\n"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--expect", default=str(DEFAULT_EXPECTATIONS), help="expectation file (TOML)")
    p.add_argument("--out", default="out", help="output directory (default: out/)")
    p.add_argument("--only", action="append", default=[], help="run only the named cell(s)")
    p.add_argument("--report", help="also write the design-review report (markdown) to this path")
    p.add_argument("--html", help="also write it as one self-contained HTML file, with sequence diagrams")
    p.add_argument("--jobs", type=positive_int, default=min(2, os.cpu_count() or 1), help="worker processes")
    add_engine_option(p)


def run(args: argparse.Namespace) -> int:
    props, cells = load_expectations(Path(args.expect))
    claims = load_claims(Path(args.expect), props, cells)
    if args.only:
        unknown = [n for n in args.only if n not in {c.name for c in cells}]
        if unknown:
            raise ConfigError(f"{args.expect}: no cell named {', '.join(unknown)}")
        cells = [c for c in cells if c.name in args.only]
    out_dir = Path(args.out) / "counterexamples"
    t0 = time.monotonic()
    try:
        results = run_matrix(cells, out_dir, args.jobs, args.engine)
    except MatrixInterrupted as stop:
        print(render(props, cells, stop.results))
        unfinished = sum(r.error == INTERRUPTED for r in stop.results)
        print(f"\ninterrupted: {unfinished} of {len(cells)} cells not finished; the report was not rewritten")
        return EXIT_INTERRUPTED
    print(render(props, cells, results))
    fair = next((r.fairness for r in results if r.fairness), [])
    if fair:
        strong = sorted({f[len("SF_vars(") :].split("(")[0] for f in fair if f.startswith("SF_")})
        print(
            f"\nLiveness verdicts rest on {len(fair)} fairness conditions: weak fairness of each kernel step "
            f"instance (e.g. {fair[0]}), strong fairness of {', '.join(strong) or 'none'}; user space and "
            "prog runs are not fair. The full list is in the report."
        )
    total = sum(r.distinct for r in results)
    print(
        f"\n{len(cells)} cells, {total} distinct states in all, {time.monotonic() - t0:.1f}s wall; "
        f"counterexamples under {out_dir}/"
    )
    from explorer.commands.report import write_reports
    from explorer.runs.results import MATRIX_FILE, QUERIES_FILE, ReportData, abstractions_of, save_matrix

    wall = time.monotonic() - t0
    save_matrix(Path(args.out) / MATRIX_FILE, results, wall)
    if args.report or args.html:
        answers = []
        qpath = Path(args.out) / QUERIES_FILE
        if qpath.exists():
            answers = json.loads(qpath.read_text(encoding="utf-8")).get("answers", [])
        data = ReportData(
            props, cells, list(results), wall, claims, answers, abstractions_of(cells), Path(args.out)
        )
        for line in write_reports(data, html=args.html, markdown=args.report):
            print(line)
    problems = compare(props, cells, results)
    for line in problems:
        print(f"MISMATCH {line}", file=sys.stderr)
    return 1 if problems else 0
