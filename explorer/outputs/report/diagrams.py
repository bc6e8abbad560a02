"""Counterexamples drawn for a reader: a per-CPU sequence diagram (SVG) and the full state table.

A sequence diagram has one lane per execution context the trace's steps name (a CPU and, where the
action has one, its level; a task_work actor; user space), one row per step with the action's kernel
function (its docstring's first words) and the variables it changed; a lasso's cycle is bracketed.
"""

from __future__ import annotations

import html
import re
import sys
from typing import Any

from explorer.engines.bfs import Trace
from explorer.outputs.traces import _changed

USER_ACTIONS = re.compile(r"^(User|MapFdClose|ProgDetach|ProgFdClose|MapDelete|UrefSweep|MapRelease)")


def _shown_args(step: Any) -> dict[str, str]:
    types = step.action.param_types
    return {k: types[k].show(v) if types.get(k) is not None else str(v) for k, v in step.args.items()}


def _lane(step: Any, spec: Any = None) -> str:
    """The execution context a step runs in: the model's own ``lane(action, args)`` where it has one,
    else its CPU (and level) or actor, else user space or kernel."""
    args = _shown_args(step)
    model_lane = getattr(sys.modules.get(type(getattr(spec, "model", None)).__module__), "lane", None)
    if model_lane is not None:
        named = model_lane(step.action.name, args)
        if named is not None:
            return named
    for key in ("c", "cpu", "a", "actor"):
        if key in args:
            return f"{args[key]} {args['lv']}" if "lv" in args else args[key]
    return "user space" if USER_ACTIONS.match(step.action.name) else "kernel"


def _function(step: Any) -> str:
    """The kernel function the step stands for: the first clause of its action's docstring."""
    doc = " ".join((step.action.doc or "").replace("``", "").split())
    first = re.split(r"(?<=[.:;])\s", doc, maxsplit=1)[0] if doc else ""
    return first[:90] + ("…" if len(first) > 90 else "")


def sequence_svg(trace: Trace) -> str:
    """The trace as an SVG sequence diagram: a lane per context, a row per step."""
    spec = trace.spec
    steps = [(i, st) for i, st in enumerate(trace.steps) if i > 0]
    lanes: list[str] = []
    for _, st in steps:
        lane = _lane(st, spec) if st is not None else "kernel"
        if lane not in lanes:
            lanes.append(lane)
    # a CPU's contexts side by side, in the order they first appear; other actors after them, and
    # user space last, as in a kernel diagram's right-hand column
    first = {lane: k for k, lane in enumerate(lanes)}
    cpu_of = {lane: lane.split()[0] for lane in lanes if re.match(r"cpu\d", lane)}
    cpu_first = {}
    for lane in lanes:
        if lane in cpu_of:
            cpu_first.setdefault(cpu_of[lane], first[lane])
    lanes.sort(
        key=lambda ln: (ln == "user space", ln not in cpu_of, cpu_first.get(cpu_of.get(ln), 0), first[ln])
    )
    lane_w, row_h, left, top = 300, 46, 60, 34
    width = left + lane_w * max(1, len(lanes)) + 20
    height = top + row_h * max(1, len(steps)) + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="seq" width="{width}" height="{height}" role="img">'
    ]
    for k, lane in enumerate(lanes):
        x = left + k * lane_w + lane_w // 2
        out.append(f'<line x1="{x}" y1="{top - 6}" x2="{x}" y2="{height - 10}" stroke="#bbb"/>')
        out.append(f'<text x="{x}" y="16" text-anchor="middle" font-weight="bold">{html.escape(lane)}</text>')
    for row, (i, st) in enumerate(steps):
        y = top + row * row_h
        lane = _lane(st, spec) if st is not None else "kernel"
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
