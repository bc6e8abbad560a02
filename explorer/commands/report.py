"""``python -m explorer report``: the design-review report, from the results saved by the last runs.

Reads ``out/matrix.json`` (written by ``matrix``) and ``out/queries.json`` (written by ``queries``, if
present) against ``spec/configs/expected.toml`` and writes, each atomically:

* ``out/report/index.html``: one self-contained page (``explorer.report_html``);
* ``out/report/mailing-list.md``: the answer to the RFC as plain text for a reply on the list
  (``explorer.report_mail``);
* ``out/report.md``: the full report in Markdown.

It searches nothing, so it takes seconds; ``make check`` runs it last. A missing or unreadable results
file is one line on stderr (exit 2) and leaves earlier reports as they were.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from explorer.cli_common import EXIT_OK
from explorer.outputs.traces import write_atomic
from explorer.runs.matrix.cells import DEFAULT_EXPECTATIONS, report_markdown
from explorer.runs.results import ReportData, load_report_data


def write_reports(
    data: ReportData, html: str | None = None, markdown: str | None = None, mail: str | None = None
) -> list[str]:
    """Write the reports asked for; returns one line per file written, to print."""
    from explorer.outputs.report.html import render_html
    from explorer.outputs.report.mail import render_mail

    cells, results = data.ran()
    texts = []
    if markdown:
        texts.append(
            (markdown, report_markdown(data.props, cells, results, data.wall, data.claims, data.abstractions))
        )
    if html:
        texts.append((html, render_html(data)))
    if mail:
        texts.append((mail, render_mail(data)))
    done = []
    for path, text in texts:  # every text is rendered before the first is written
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(p, text)
        done.append(f"report written to {p}")
    return done


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out", help="where matrix.json and queries.json are (default: out/)")
    p.add_argument("--expect", default=str(DEFAULT_EXPECTATIONS), help="expectation file (TOML)")
    p.add_argument("--html", default=None, help="HTML report path (default: OUT/report/index.html)")
    p.add_argument(
        "--mail", default=None, help="mailing-list text path (default: OUT/report/mailing-list.md)"
    )
    p.add_argument("--markdown", default=None, help="Markdown report path (default: OUT/report.md)")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    data = load_report_data(out, Path(args.expect))
    missing = [c.name for c, r in zip(data.cells, data.results, strict=True) if r is None]
    lines = write_reports(
        data,
        html=args.html or str(out / "report" / "index.html"),
        markdown=args.markdown or str(out / "report.md"),
        mail=args.mail or str(out / "report" / "mailing-list.md"),
    )
    for line in lines:
        print(line)
    if missing:
        print(f"{len(missing)} cells have no saved result and are left out: {', '.join(missing[:5])}...")
    if not data.answers:
        print("no query answers saved: the proofs section is empty (python -m explorer queries fills it)")
    return EXIT_OK
