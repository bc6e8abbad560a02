"""``python -m explorer report``: the design-review report, from the results saved by the last runs.

Reads ``out/matrix.json`` (written by ``matrix``) and ``out/queries.json`` (written by ``queries``, if
present) against ``spec/configs/expected.toml`` and writes, each atomically:

* ``out/report/index.html``: one self-contained page (``explorer.outputs.report.html``);
* ``out/report/mailing-list.md``: the answer to the RFC as plain text for a reply on the list
  (``explorer.outputs.report.mail``);
* ``out/report.md``: the full report in Markdown.

It searches nothing, so it takes seconds; ``make check`` runs it last. A missing or unreadable results
file, or an output path that cannot be written, is one line on stderr (exit 2) and leaves earlier
reports as they were: every path is checked before the first file is written.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from explorer.cli_common import EXIT_OK, UsageError
from explorer.outputs.report.data import load_report_data
from explorer.outputs.report.write import write_reports
from explorer.runs.results import DEFAULT_EXPECTATIONS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out", help="where matrix.json and queries.json are (default: out/)")
    p.add_argument("--expect", default=str(DEFAULT_EXPECTATIONS), help="expectation file (TOML)")
    p.add_argument("--html", default=None, help="HTML report path (default: OUT/report/index.html)")
    p.add_argument(
        "--mail", default=None, help="mailing-list text path (default: OUT/report/mailing-list.md)"
    )
    p.add_argument("--markdown", default=None, help="Markdown report path (default: OUT/report.md)")


def _writable_file(path: Path, flag: str) -> None:
    """UsageError (one line) unless path can be written: not a folder, in a folder that exists or can be
    made, and that we may write."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a directory, expected a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot create {path.parent} ({e.strerror or e})") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: {path.parent} is not writable")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    data = load_report_data(out, Path(args.expect))
    missing = [c.name for c, r in zip(data.cells, data.results, strict=True) if r is None]
    targets = {
        "--html": args.html or str(out / "report" / "index.html"),
        "--markdown": args.markdown or str(out / "report.md"),
        "--mail": args.mail or str(out / "report" / "mailing-list.md"),
    }
    for flag, path in targets.items():  # all of them before the first is written
        _writable_file(Path(path), flag)
    try:
        lines = write_reports(
            data, html=targets["--html"], markdown=targets["--markdown"], mail=targets["--mail"]
        )
    except OSError as e:  # a disk that filled up, a folder removed meanwhile: the written ones are whole
        raise UsageError(f"cannot write the report: {e.filename or ''} {e.strerror or e}".strip()) from None
    for line in lines:
        print(line)
    if missing:
        print(f"{len(missing)} cells have no saved result and are left out: {', '.join(missing[:5])}...")
    if not data.answers:
        print("no query answers saved: the proofs section is empty (python -m explorer queries fills it)")
    return EXIT_OK
