"""The design-review report as one self-contained HTML file (inline CSS and SVG, no script, no network).

``python -m explorer matrix --html out/report/index.html`` writes it from the run's results and the
counterexamples it dumped: the comparison of the designs, every family's verdict matrix (each violated
verdict links to its trace), every counterexample as a per-CPU sequence diagram with its full state
table folded under it, and each model's modelling choices. The Markdown report (``--report``) says the
same in text.

A sequence diagram has one lane per execution context the trace's steps name (a CPU and, where the
action has one, its level; a task_work actor; user space), one row per step with the action's kernel
function (its docstring's first words) and the variables it changed; a lasso's cycle is bracketed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from explorer.bfs import Trace
from explorer.traces import _changed, load_itf_trace, write_atomic

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
td.ok { background: #eef8ee; } td.vac { background: #f6f6e8; } td.viol { background: #fbe9e9; }
td.bad { outline: 3px solid #d00; }
details { margin: 0.3em 0 1.2em; } summary { cursor: pointer; color: #245; }
.trace { margin: 1em 0 2em; } .muted { color: #666; } code { font-size: 12px; }
svg text { font: 11px system-ui, sans-serif; }
"""

USER_ACTIONS = re.compile(r"^(User|MapFdClose|ProgDetach|ProgFdClose|MapDelete|UrefSweep|MapRelease)")


def _anchor(cell: str, prop: str) -> str:
    return "t-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{cell}-{prop}")


def _lane(step: Any) -> str:
    """The execution context a step runs in: its CPU (and level) or actor, else user space or kernel."""
    args = step.args
    for key in ("c", "cpu", "a", "actor"):
        if key in args:
            t = step.action.param_types.get(key)
            name = t.show(args[key]) if t is not None else str(args[key])
            lv = args.get("lv")
            if lv is not None:
                lt = step.action.param_types.get("lv")
                name += f" {lt.show(lv) if lt is not None else lv}"
            return name
    return "user space" if USER_ACTIONS.match(step.action.name) else "kernel"


def _function(step: Any) -> str:
    """The kernel function the step stands for: the first clause of its action's docstring."""
    doc = " ".join((step.action.doc or "").split())
    first = re.split(r"(?<=[.:;])\s", doc, maxsplit=1)[0] if doc else ""
    return first[:90] + ("…" if len(first) > 90 else "")


def sequence_svg(trace: Trace) -> str:
    """The trace as an SVG sequence diagram: a lane per context, a row per step."""
    spec = trace.spec
    steps = [(i, st) for i, st in enumerate(trace.steps) if i > 0]
    lanes: list[str] = []
    for _, st in steps:
        lane = _lane(st) if st is not None else "kernel"
        if lane not in lanes:
            lanes.append(lane)
    if "user space" in lanes:  # user space last, as in a kernel diagram's right-hand column
        lanes.remove("user space")
        lanes.append("user space")
    lane_w, row_h, left, top = 300, 46, 60, 34
    width = left + lane_w * max(1, len(lanes)) + 20
    height = top + row_h * max(1, len(steps)) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for k, lane in enumerate(lanes):
        x = left + k * lane_w + lane_w // 2
        out.append(f'<line x1="{x}" y1="{top - 6}" x2="{x}" y2="{height - 10}" stroke="#bbb"/>')
        out.append(f'<text x="{x}" y="16" text-anchor="middle" font-weight="bold">{html.escape(lane)}</text>')
    for row, (i, st) in enumerate(steps):
        y = top + row * row_h
        lane = _lane(st) if st is not None else "kernel"
        x = left + lanes.index(lane) * lane_w + 6
        label = st.label if st is not None else "(stutter)"
        changed = ", ".join(_changed(spec, trace.states[i - 1], trace.states[i]))
        out.append(f'<text x="8" y="{y + 14}" class="muted">{i + 1}</text>')
        function = _function(st) if st is not None else ""
        out.append(
            f'<rect x="{x}" y="{y}" width="{lane_w - 12}" height="{row_h - 6}" rx="4" '
            f'fill="#eef3fb" stroke="#7a9cc6"><title>{html.escape(function)}</title></rect>'
        )
        out.append(f'<text x="{x + 5}" y="{y + 13}">{html.escape(label[:48])}</text>')
        out.append(f'<text x="{x + 5}" y="{y + 26}" fill="#555">{html.escape(function[:48])}</text>')
        out.append(f'<text x="{x + 5}" y="{y + 37}" fill="#933">{html.escape(changed[:48])}</text>')
    if trace.loop is not None:
        y0 = top + max(0, trace.loop - 1) * row_h
        y1 = top + len(steps) * row_h - 6
        out.append(f'<path d="M 40 {y0} h -8 V {y1} h 8" fill="none" stroke="#c33" stroke-width="2"/>')
        mid = (y0 + y1) // 2
        out.append(f'<text x="26" y="{mid}" fill="#c33" transform="rotate(-90 26 {mid})">cycle</text>')
    out.append("</svg>")
    return "\n".join(out)


def state_table(trace: Trace) -> str:
    """Every state of the trace, a column per state, changed values marked."""
    spec = trace.spec
    head = "".join(f"<th>{i + 1}</th>" for i in range(len(trace.states)))
    rows = []
    for name in spec.var_names:
        cells = []
        prev = None
        for s in trace.states:
            v = getattr(s, name)
            shown = html.escape(spec.show_value(name, v))
            cls = ' class="viol"' if prev is not None and v != prev else ""
            cells.append(f"<td{cls}>{shown}</td>")
            prev = v
        rows.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>variable</th>{head}</tr>{''.join(rows)}</table>"


def _verdict_cell(cell: Any, res: Any, prop: str) -> str:
    from explorer.matrix import _mark

    got = res.verdicts.get(prop, "?")
    want = cell.expect[prop][0]
    mark = _mark(got, res.depths.get(prop, "?"))
    cls = {"holds": "ok", "vacuous": "vac", "violated": "viol"}.get(got, "")
    if got != want:
        cls += " bad"
    reason = html.escape(cell.expect[prop][1])
    body = html.escape(mark)
    if got == "violated":
        body = f'<a href="#{_anchor(cell.name, prop)}">{body}</a>'
    return f'<td class="{cls}" title="{reason}">{body}</td>'


def render_html(
    cells: Sequence[Any],
    results: Sequence[Any],
    counterexamples: Path,
    wall: float,
    abstractions: dict[str, list[str]] | None = None,
) -> str:
    from explorer.matrix import _abbrev, by_family, comparison_markdown
    from spec.config import import_model

    total = sum(r.distinct for r in results)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>BPF deferred callbacks: design review</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>BPF deferred callbacks (the bpf_delayed_work RFC and what landed since): design review</h1>",
        f"<p>Generated by <code>python -m explorer matrix</code> from {len(cells)} exhaustive runs "
        f"({total:,} distinct states, {wall:.0f} s). Every verdict was computed in this run and compared "
        "with <code>spec/configs/expected.toml</code>; a cell outlined in red differs from it. Hover a "
        "verdict for its expected reason; a violated one links to its counterexample below.</p>",
    ]
    comp = comparison_markdown(list(cells), list(results))
    if comp:
        out.append("<h2>Comparison of the designs</h2>")
        out.append(_markdown_block(comp[2:]))
    out.append("<h2>Verdicts</h2>")
    for family, fcells, fresults in by_family(list(cells), list(results)):
        props = fcells[0].props
        out.append(f"<h3>{html.escape(family)} (<code>{html.escape(fcells[0].model)}</code>)</h3>")
        head = "".join(f'<th title="{html.escape(p)}">{html.escape(_abbrev(p))}</th>' for p in props)
        rows = []
        for cell, res in zip(fcells, fresults, strict=True):
            consts = html.escape(", ".join(f"{k}={v}" for k, v in cell.constants.items()) or "defaults")
            row = f'<tr><th title="{consts}">{html.escape(cell.name)}</th><td>{res.distinct:,}</td>'
            row += "".join(_verdict_cell(cell, res, p) for p in props)
            rows.append(row + "</tr>")
        out.append(f"<table><tr><th>cell</th><th>states</th>{head}</tr>{''.join(rows)}</table>")
        out.append(
            '<p class="muted">' + " · ".join(html.escape(f"{_abbrev(p)} = {p}") for p in props) + "</p>"
        )
    out.append("<h2>Counterexamples</h2>")
    specs: dict[str, Any] = {}
    for cell, res in zip(cells, results, strict=True):
        bad = [p for p in cell.props if res.verdicts.get(p) == "violated"]
        if not bad:
            continue
        spec = specs.get(cell.name)
        if spec is None:
            spec = specs[cell.name] = import_model(cell.model).make_spec(**cell.constants)
        out.append(f"<h3>{html.escape(cell.name)}</h3>")
        for prop in bad:
            path = counterexamples / cell.name / f"{prop}.itf.json"
            out.append(f'<div class="trace" id="{_anchor(cell.name, prop)}">')
            out.append(f"<p><b>{html.escape(prop)}</b> ({res.depths.get(prop)} states): "
                       f"{html.escape(cell.expect[prop][1])}</p>")  # fmt: skip
            if not path.exists():
                out.append(f'<p class="muted">no dump at {html.escape(str(path))}</p></div>')
                continue
            trace = load_itf_trace(path, spec)
            out.append(sequence_svg(trace))
            out.append(
                f"<details><summary>every state ({len(trace.states)})</summary>{state_table(trace)}</details>"
            )
            out.append("</div>")
    for model, items in (abstractions or {}).items():
        out.append(f"<h2>Modelling choices of <code>{html.escape(model)}</code></h2><ul>")
        out += [f"<li>{html.escape(a)}</li>" for a in items]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _markdown_block(lines: list[str]) -> str:
    """The comparison section's Markdown (paragraphs, one GitHub table, a list) as HTML."""
    out, table, items = [], [], []
    for line in lines:
        if line.startswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if table:
            head, *body = [r for r in table if not set("".join(r)) <= set("-: ")]
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>")
            for r in body:
                cls = lambda c: "viol" if c.startswith("VIOL") else ("ok" if c.startswith("ok") else "vac")  # noqa: E731
                out.append("<tr>" + "".join(f'<td class="{cls(c)}">{_inline(c)}</td>' for c in r) + "</tr>")
            out.append("</table>")
            table = []
        if line.startswith("- "):
            items.append(f"<li>{_inline(line[2:])}</li>")
            continue
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if line.strip():
            out.append(f"<p>{_inline(line)}</p>")
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    return "\n".join(out)


def _inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def write_html(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
