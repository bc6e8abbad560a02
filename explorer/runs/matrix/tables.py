"""The matrix as the console shows it: a table per design family, a verdict per property.

The verdict marks (``ok``, ``vac``, ``VIOL(n)``) and the properties' abbreviations are the ones every
table of the matrix uses, the report's included.
"""

from __future__ import annotations

from tabulate import tabulate

from explorer.runs.matrix.cells import INTERRUPTED
from explorer.runs.results import DEFAULT_FAMILY, Cell, CellResult, by_family


def _mark(verdict: str, depth: object) -> str:
    return {"holds": "ok", "vacuous": "vac", "violated": f"VIOL({depth})"}.get(verdict, verdict)


def _abbrev(name: str) -> str:
    return "".join(ch for ch in name if ch.isupper()) or name[:6]


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
