"""Compare two saved matrix results (``out/matrix.json``, as ``python -m explorer matrix --out DIR`` writes).

    python bench/compare_matrix.py BEFORE/matrix.json AFTER/matrix.json

For every cell: the distinct and generated state counts, the depth, every property's verdict and every
violation's depth (the length of its shortest trace) must be the same; a cell saved in one file only
is a difference too. Seconds are not compared. Prints one line per difference and a summary; exit
status 0 when there is none, 1 otherwise, 2 when a file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FIELDS = ("distinct", "generated", "depth")


def load_cells(path: Path) -> dict[str, dict[str, Any]]:
    """The cells of a matrix results file, by name."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {c["name"]: c for c in data["cells"]}


def compare_cells(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[str]:
    """One line per difference between the two files' cells."""
    out = []
    for name in sorted(before.keys() - after.keys()):
        out.append(f"{name}: only in the first file")
    for name in sorted(after.keys() - before.keys()):
        out.append(f"{name}: only in the second file")
    for name in sorted(before.keys() & after.keys()):
        a, b = before[name], after[name]
        for f in FIELDS:
            if a.get(f) != b.get(f):
                out.append(f"{name}: {f} {a.get(f)} -> {b.get(f)}")
        for what, key in (("verdict", "verdicts"), ("violation depth", "depths")):
            va, vb = a.get(key) or {}, b.get(key) or {}
            for prop in sorted(va.keys() | vb.keys()):
                if va.get(prop) != vb.get(prop):
                    out.append(f"{name}: {prop} {what} {va.get(prop, '-')} -> {vb.get(prop, '-')}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="compare two matrix.json files cell by cell")
    p.add_argument("before", type=Path, help="the first matrix.json")
    p.add_argument("after", type=Path, help="the second matrix.json")
    args = p.parse_args(argv)
    try:
        before, after = load_cells(args.before), load_cells(args.after)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    diffs = compare_cells(before, after)
    for line in diffs:
        print(line)
    both = len(before.keys() & after.keys())
    fields = "distinct, generated, depth, verdicts, violation depths"
    plural = "" if len(diffs) == 1 else "s"
    print(f"{both} cells compared ({fields}): {len(diffs) or 'no'} difference{plural}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
