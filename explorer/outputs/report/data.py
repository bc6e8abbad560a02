"""What a report shows, gathered in one object: the matrix's cells with their saved results, the
claims, the queries' answers and the models' modelling choices (``ReportData``).

``load_report_data`` reads it from the files the runs saved (``explorer.runs.results``); ``matrix
--report`` builds it from the results it has just computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import spec.kernel.kconfig as kconfig
from explorer.runs.results import (
    MATRIX_FILE,
    QUERIES_FILE,
    Cell,
    CellResult,
    Claim,
    load_answers,
    load_claims,
    load_expectations,
    load_matrix,
)
from spec.config import import_model


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
    """Each model's modelling choices, and first the kernel-configuration assumptions every model makes
    (``spec/kernel/kconfig.py``)."""
    models = list(dict.fromkeys(c.model for c in cells))
    out = {"spec.kernel.kconfig (every model)": list(kconfig.ASSUMPTIONS)}
    out.update({m: list(getattr(import_model(m), "ABSTRACTIONS", [])) for m in models})
    return out


def load_report_data(out_dir: Path, expect: Path) -> ReportData:
    """Read the saved results under out_dir against the expectation file (ConfigError if none saved)."""
    props, cells = load_expectations(expect)
    claims = load_claims(expect, props, cells)
    by_name, wall = load_matrix(out_dir / MATRIX_FILE)
    results = [by_name.get(c.name) for c in cells]
    answers = load_answers(out_dir / QUERIES_FILE)
    return ReportData(props, cells, results, wall, claims, answers, abstractions_of(cells), out_dir)
