"""The matrix's expectations and the results saved by the runs: the one module the matrix, the queries
and the report all read.

The expectations are data (``spec/configs/expected.toml``): the design families (a model and the
properties its cells are judged by), each cell's model constants and, for every property, ``holds``,
``vacuous`` or ``violated`` with a one-line reason, the kernel witnesses a cell is too small to show,
and the RFC's claims with the cells and queries that answer them (``load_expectations``,
``load_claims``; each error is one line naming the file, line and cell).

The saved results: ``matrix`` saves its per-cell results (``CellResult``) to ``out/matrix.json`` and
``queries`` its answers to ``out/queries.json``; each merges into the earlier file by name, so a run of
some cells or queries keeps the others'. ``python -m explorer report`` renders the report from those
files and the expectation file without searching again: a number in the report is one of these files'
numbers, never typed in by hand.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from explorer.outputs.traces import write_atomic
from explorer.runs.queries.catalogue import QUERIES
from spec.config import ConfigError, check_param, import_model

DEFAULT_EXPECTATIONS = Path(__file__).resolve().parents[2] / "spec" / "configs" / "expected.toml"
VERDICTS = ("holds", "vacuous", "violated")
ONE_CPU = "(1 CPU)"  # the note a "holds" of a 1-CPU cell must carry: it cannot show a cross-CPU race
DEFAULT_FAMILY = "delayed_work"  # the top-level model and properties of the expectation file


# The columns of the report's "which design survives which situation" table, in order (issue 21):
# where this family of kernel code has had its bugs.
SITUATIONS = [
    "one map value, one prog",
    "hash or LRU map: delete, update, reuse",
    "a tracing or NMI prog inside a helper",
    "two progs",
    "more CPUs or hard-irq callers on each",
]


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
    # the "which design survives which situation" table: the merged design (its row) and the
    # situation (a column: one of SITUATIONS) this cell puts it in
    row: str | None = None
    situation: str | None = None


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
    # the spec's environment actions, which a violating liveness cycle never takes
    environment: list[str] = field(default_factory=list)
    # property -> a lasso that exists only with the environment repeating for ever (the property holds):
    # {"states": n, "cycle": [step labels], "environment": [the environment actions it repeats]}
    storms: dict[str, dict] = field(default_factory=dict)
    # property -> the kernel configurations its counterexample needs (explorer.runs.configurations)
    configurations: dict[str, dict] = field(default_factory=dict)
    # property -> the kernel sources its counterexample rests on that were not read from an upstream copy
    confirm: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None


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
            set(raw)
            - {
                "name",
                "constants",
                "expect",
                "unreachable",
                "family",
                "design",
                "safeguard",
                "row",
                "situation",
            }
        )
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(bad)}")
        fam = families.get(raw.get("family", DEFAULT_FAMILY))
        if fam is None:
            raise ConfigError(f"{where}: family {raw.get('family')!r} is not declared ([family.NAME])")
        for key in ("design", "safeguard", "row", "situation"):
            if key in raw and not (isinstance(raw[key], str) and raw[key].strip()):
                raise ConfigError(f"{where}: {key}: expected a non-empty string")
        if ("row" in raw) != ("situation" in raw):
            raise ConfigError(f"{where}: row and situation go together (a cell of the situations table)")
        if "situation" in raw and raw["situation"] not in SITUATIONS:
            raise ConfigError(f"{where}: situation: {raw['situation']!r} is not one of {SITUATIONS}")
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
                 raw.get("design"), raw.get("safeguard"), raw.get("row"), raw.get("situation"))
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
# "{size of QUERY}" in a claim's answer: the size QUERY ran at in this run (explorer.outputs.report.findings)
SIZE_OF = re.compile(r"\{size of ([^{}]+)\}")


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
            for q in ans.get("queries", []):
                if q not in QUERIES:
                    raise ConfigError(f"{where}: {flavour}.queries names no query {q!r}")
            for field_ in ("necessary", "sufficient", "answer"):
                for q in SIZE_OF.findall(str(ans.get(field_, ""))):
                    if q not in ans.get("queries", []):
                        raise ConfigError(
                            f"{where}: {flavour}.{field_} prints the size of {q!r}, not in its queries"
                        )
            for ev in ans["evidence"]:
                cell, _, prop = str(ev).partition(":")
                if cell not in names or prop not in names[cell]:
                    raise ConfigError(
                        f"{where}: {flavour}.evidence {ev!r} is not cell:Property of the matrix"
                    )
        out.append(Claim(raw["id"], raw["text"], answers))
    return out


def by_family(cells: list[Cell], results: list[CellResult]) -> list[tuple[str, list[Cell], list[CellResult]]]:
    """The cells and results grouped by design family, in the order the families first appear."""
    groups: dict[str, tuple[list[Cell], list[CellResult]]] = {}
    for cell, res in zip(cells, results, strict=True):
        cs, rs = groups.setdefault(cell.family, ([], []))
        cs.append(cell)
        rs.append(res)
    return [(name, cs, rs) for name, (cs, rs) in groups.items()]


# --------------------------------------------------------------------------- saved results


MATRIX_FILE = "matrix.json"
QUERIES_FILE = "queries.json"


def merge_records(path: Path, key: str, records: list[dict[str, Any]], **extra: Any) -> None:
    """Merge records into the JSON file's list ``key`` by their "name" (a record of the same name is
    replaced, the others kept), with ``extra`` top-level fields, written atomically. An unreadable
    earlier file is replaced, not merged."""
    merged: dict[str, Any] = {}
    if path.exists():
        try:
            merged = {r["name"]: r for r in json.loads(path.read_text(encoding="utf-8"))[key]}
        except (ValueError, KeyError, TypeError):
            merged = {}
    for r in records:
        merged[r["name"]] = r
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({**extra, key: list(merged.values())}, indent=1) + "\n")


def save_matrix(path: Path, results: list[CellResult], wall: float) -> None:
    """Merge these cells' results into the matrix file (by cell name)."""
    merge_records(path, "cells", [asdict(r) for r in results], wall_seconds=round(wall, 1))


def save_answers(path: Path, records: list[dict[str, Any]]) -> None:
    """Merge these query answers (as ``answer_record`` makes them) into the query results file: a run
    of some queries (--only) keeps the others'."""
    merge_records(path, "answers", records)


def _result(raw: dict[str, Any]) -> CellResult:
    r = CellResult(**raw)
    r.witnesses = {k: (bool(v[0]), v[1]) for k, v in r.witnesses.items()}
    return r


def load_matrix(path: Path) -> tuple[dict[str, CellResult], float]:
    """The saved cell results by cell name, and the wall-clock seconds of the run that saved them
    (ConfigError, one line, if the file is missing or is not a matrix results file)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        by_name = {c["name"]: _result(c) for c in raw["cells"]}
        wall = float(raw.get("wall_seconds", 0.0))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no matrix results (run `python -m explorer matrix` first)") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not a matrix results file ({e})") from None
    return by_name, wall


def load_answers(path: Path) -> list[dict[str, Any]]:
    """The saved query answers, none if the file does not exist (ConfigError if it is not a query
    results file)."""
    answers: list[dict[str, Any]] = []
    if path.exists():
        try:
            answers = list(json.loads(path.read_text(encoding="utf-8"))["answers"])
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}: not a query results file ({e})") from None
    return answers


def kind_of(verdict: str) -> str:
    """The verdict as an expectation names it: ``UNSAT<=N`` (none within N steps) is ``UNSAT``."""
    return verdict if verdict in ("SAT", "PROVED", "CTI", "HOLDS") else "UNSAT"


def meets_expectation(verdict: str, expect: str) -> bool:
    """A query's answer is as expected (no expectation: nothing to miss)."""
    return not expect or kind_of(verdict) == expect
