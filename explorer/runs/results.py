"""What the design-review report is made of, saved by the runs that compute it and read back by ``report``.

``matrix`` saves its per-cell results to ``out/matrix.json`` and ``queries`` its answers to
``out/queries.json`` (each merges into the earlier file by name, so a run of some cells or queries keeps
the others'). ``python -m explorer report`` then renders the report from those files, the expectation
file (cells, expected reasons, claims) and the repository's docs, without searching again. Nothing in
the report is typed in by hand: a number shown is one of these files' numbers.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from explorer.outputs.traces import write_atomic
from explorer.runs.matrix.cells import Cell, CellResult, Claim, load_claims, load_expectations
from spec.config import ConfigError, import_model

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


def _result(raw: dict[str, Any]) -> CellResult:
    r = CellResult(**raw)
    r.witnesses = {k: (bool(v[0]), v[1]) for k, v in r.witnesses.items()}
    return r


@dataclass
class ReportData:
    """Everything a report shows: the matrix's cells with their results (``None`` for a cell not run),
    the claims, the queries' answers, the models' modelling choices and where the traces are."""

    props: list[str]
    cells: list[Cell]
    results: list[CellResult | None]
    wall: float
    claims: list[Claim]
    answers: list[dict[str, Any]] = field(default_factory=list)
    abstractions: dict[str, list[str]] = field(default_factory=dict)
    out_dir: Path = Path("out")

    @property
    def counterexamples(self) -> Path:
        return self.out_dir / "counterexamples"

    def ran(self) -> tuple[list[Cell], list[CellResult]]:
        """The cells that have results, and their results."""
        pairs = [(c, r) for c, r in zip(self.cells, self.results, strict=True) if r is not None]
        return [c for c, _ in pairs], [r for _, r in pairs]

    def answer(self, name: str) -> dict[str, Any] | None:
        return next((a for a in self.answers if a["name"] == name), None)


def abstractions_of(cells: list[Cell]) -> dict[str, list[str]]:
    models = list(dict.fromkeys(c.model for c in cells))
    return {m: list(getattr(import_model(m), "ABSTRACTIONS", [])) for m in models}


def load_report_data(out_dir: Path, expect: Path) -> ReportData:
    """Read the saved results under out_dir against the expectation file (ConfigError if none saved)."""
    props, cells = load_expectations(expect)
    claims = load_claims(expect, props, cells)
    path = out_dir / MATRIX_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        by_name = {c["name"]: _result(c) for c in raw["cells"]}
        wall = float(raw.get("wall_seconds", 0.0))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no matrix results (run `python -m explorer matrix` first)") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not a matrix results file ({e})") from None
    results = [by_name.get(c.name) for c in cells]
    answers: list[dict[str, Any]] = []
    qpath = out_dir / QUERIES_FILE
    if qpath.exists():
        try:
            answers = list(json.loads(qpath.read_text(encoding="utf-8"))["answers"])
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{qpath}: not a query results file ({e})") from None
    return ReportData(props, cells, results, wall, claims, answers, abstractions_of(cells), out_dir)
