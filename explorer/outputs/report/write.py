"""Writing the reports: each one asked for is rendered first, then every file is written atomically."""

from __future__ import annotations

from pathlib import Path

from explorer.outputs.report.data import ReportData
from explorer.outputs.report.html import render_html
from explorer.outputs.report.mail import render_mail
from explorer.outputs.report.markdown import report_markdown
from explorer.outputs.traces import write_atomic


def write_reports(
    data: ReportData, html: str | None = None, markdown: str | None = None, mail: str | None = None
) -> list[str]:
    """Write the reports asked for; returns one line per file written, to print."""
    cells, results = data.ran()
    texts = []
    if markdown:
        text = report_markdown(
            data.props, cells, results, data.wall, data.claims, data.abstractions, data.answer
        )
        texts.append((markdown, text))
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
