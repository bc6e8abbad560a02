"""Counterexamples drawn for a reader: a per-CPU sequence diagram (SVG) and the full state table.

A sequence diagram has one lane per execution context the trace's steps name (a CPU and, where the
action has one, its level; a task_work actor; user space), one row per step with the action's kernel
function (its docstring's first words) and the values it changed (``cancelling[t0] 0→1``); the state
that breaks an invariant is drawn in red, naming what it breaks, and a lasso's cycle is bracketed. The
diagram fits the report's page: the lanes share its width and a box's text wraps instead of being cut.
"""

from __future__ import annotations

import html
import re
import sys
from typing import Any

from explorer.engines.bfs import Trace
from spec.lang import Fn, SetType, successors

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


# The diagram fits the report's page (its body is at most 1400 px wide): lanes share DIAGRAM_WIDTH,
# and a box's text is wrapped to its lane, never cut, the row growing instead.
DIAGRAM_WIDTH = 1320
LANE_MAX, LEFT, RIGHT, TOP = 300, 60, 10, 40
LINE_PX, PAD_PX, GAP_PX = 13, 5, 6
BOLD = 1.15  # how much wider a line in bold is, at most
MAX_CHANGE_LINES = 8  # more than that ends in "…": the state table under the diagram has every value
# The advance of each character, in px, in the page's SVG font (11 px system-ui) as Chromium lays it out
# with DejaVu Sans, the widest of the usual system-ui fonts (measured once with Playwright); a wrapped
# line measured with it fits its box in a narrower font too. Others count as the widest here.
_ADVANCE = dict(
    zip(
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
        [3.5, 4.41, 5.06, 9.22, 7.0, 10.45, 8.58, 3.02, 4.29, 4.29, 5.5, 9.22, 3.5, 3.97, 3.5, 3.71,
         *[7.0] * 10, 3.71, 3.71, 9.22, 9.22, 9.22, 5.84, 11.0,
         7.82, 7.55, 7.68, 8.47, 6.95, 6.33, 8.52, 8.27, 3.24, 3.24, 7.21, 6.13, 9.49, 8.23, 8.66, 6.63,
         8.66, 7.64, 6.98, 6.54, 8.05, 7.53, 10.88, 7.54, 6.72, 7.54,
         4.29, 3.71, 4.29, 9.22, 5.5, 5.5,
         6.74, 6.98, 6.05, 6.98, 6.77, 3.79, 6.98, 6.97, 3.06, 3.06, 6.37, 3.06, 10.72, 6.97, 6.73, 6.98,
         6.98, 4.34, 5.73, 4.31, 6.97, 6.51, 9.0, 6.51, 6.51, 5.77,
         7.0, 3.71, 7.0, 9.22],
        strict=True,
    )
)  # fmt: skip


def text_px(text: str) -> float:
    """The width of text in the diagram's font, in px (see _ADVANCE)."""
    return sum(_ADVANCE.get(c, 11.0) for c in text)


def _wrap(text: str, width: float, seps: tuple[str, ...] = (", ", " ")) -> list[str]:
    """text in lines at most width px wide: broken after the first of seps that makes it fit (a list
    item stays whole where it can), then the next, and within a word only as the last resort."""
    if text_px(text) <= width:
        return [text]
    if not seps:
        lines, line = [], ""
        for c in text:
            if line and text_px(line + c) > width:
                lines.append(line)
                line = ""
            line += c
        return [*lines, line] if line else lines
    sep, rest = seps[0], seps[1:]
    parts = text.split(sep)
    if len(parts) == 1:
        return _wrap(text, width, rest)
    tokens = [p + sep.rstrip() for p in parts[:-1]] + [parts[-1]]
    joiner = " " if sep.endswith(" ") else ""
    lines, line = [], ""
    for token in tokens:
        candidate = line + joiner + token if line else token
        if text_px(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        pieces = _wrap(token, width, rest)
        lines += pieces[:-1]
        line = pieces[-1] if pieces else ""
    if line:
        lines.append(line)
    return lines


def _leaf_changes(name: str, t: Any, old: Any, new: Any) -> list[str]:
    """``name old→new`` for each changed value of a variable; a function is followed down to the
    arguments whose value changed (``cancelling[t0] 0→1``), a set is shown whole."""
    if old == new:
        return []
    if isinstance(t, Fn) and not isinstance(t, SetType):
        out: list[str] = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += _leaf_changes(t.element_name(name, i), t.at(i), a, b)
        return out
    return [f"{name} {t.show(old)}\u2192{t.show(new)}"]


def changes(spec: Any, prev: Any, cur: Any) -> list[str]:
    """What a step changed, with the values: ``["cancelling[t0] 0→1", "running[cpu0] NONE→t0"]``."""
    out: list[str] = []
    for var in spec.variables:
        out += _leaf_changes(var.name, var.type, getattr(prev, var.name), getattr(cur, var.name))
    return out


def _broken_in(trace: Trace) -> list[str]:
    """What the trace's last state breaks, for a trace that ends in it (no lasso): the invariants false
    there, or a deadlock when no step is enabled."""
    if trace.loop is not None or len(trace.states) < 2:
        return []
    spec, last = trace.spec, trace.states[-1]
    broken = []
    for p in spec.invariants:
        try:
            if p.fn(last) is False:
                broken.append(p.name)
        except Exception:  # noqa: BLE001 - a predicate that cannot judge this state breaks nothing here
            continue
    if not broken and not any(True for _ in successors(spec, last)):
        broken.append("deadlock: no step is enabled")
    return broken


def sequence_svg(trace: Trace) -> str:
    """The trace as an SVG sequence diagram: a lane per context, a row per step showing the action,
    the kernel function it stands for and the values it changed (``old→new``); the last state, when it
    is the one that breaks an invariant, is drawn in red with the invariants it breaks, and a lasso's
    cycle is bracketed. The whole diagram is at most DIAGRAM_WIDTH pixels wide."""
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
    n_lanes = max(1, len(lanes))
    lane_w = min(LANE_MAX, (DIAGRAM_WIDTH - LEFT - RIGHT) // n_lanes)
    box_w = lane_w - 10
    text_w = box_w - 2 * PAD_PX  # the width a line of text may take, in px
    bold_w = text_w / BOLD  # the same for a line in bold
    broken = _broken_in(trace)
    rows = []
    for row, (i, st) in enumerate(steps):
        label = st.label if st is not None else "(stutter)"
        function = _function(st) if st is not None else ""
        changed = changes(spec, trace.states[i - 1], trace.states[i])
        lines = [(text, "label") for text in _wrap(label, bold_w)[:3]]
        lines += [(text, "function") for text in _wrap(function, text_w, (" ",))[:2] if text]
        change_lines = _wrap(", ".join(changed), text_w) if changed else ["(no variable changed)"]
        if len(change_lines) > MAX_CHANGE_LINES:
            change_lines = [*change_lines[: MAX_CHANGE_LINES - 1], "\u2026 (every value: the table below)"]
        lines += [(text, "change") for text in change_lines]
        last_bad = bool(broken) and row == len(steps) - 1
        if last_bad:
            lines += [(text, "broken") for text in _wrap("\u2717 breaks " + ", ".join(broken), bold_w)]
        rows.append((i, st, label, function, changed, lines, last_bad))
    heights = [2 * PAD_PX + LINE_PX * len(r[5]) for r in rows]
    ys = [TOP]
    for h in heights:
        ys.append(ys[-1] + h + GAP_PX)
    width = LEFT + lane_w * n_lanes + RIGHT
    height = ys[-1] + 14
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="seq" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="max-width: 100%; height: auto" role="img">'
    ]
    for k, lane in enumerate(lanes):
        x = LEFT + k * lane_w + lane_w // 2
        out.append(f'<line x1="{x}" y1="{TOP - 6}" x2="{x}" y2="{height - 8}" stroke="#bbb"/>')
        for j, text in enumerate(_wrap(lane, (lane_w - 8) / BOLD, (" ",))[:2]):
            out.append(
                f'<text x="{x}" y="{14 + 12 * j}" text-anchor="middle" style="font-weight: bold">'
                f"{html.escape(text)}</text>"
            )
    styles = {"label": "", "function": ' fill="#555"', "change": ' fill="#933"', "broken": ' fill="#b00"'}
    for (i, st, label, function, changed, lines, last_bad), y, h in zip(rows, ys, heights, strict=False):
        lane = _lane(st, spec) if st is not None else "kernel"
        x = LEFT + lanes.index(lane) * lane_w + 5
        fill, stroke, border = ("#fde8e8", "#c33", 2) if last_bad else ("#eef3fb", "#7a9cc6", 1)
        tip = "; ".join(t for t in (label, function, ", ".join(changed)) if t)
        out.append(f'<text x="8" y="{y + PAD_PX + 10}" class="muted">{i + 1}</text>')
        out.append(
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{h}" rx="4" fill="{fill}" stroke="{stroke}"'
            f' stroke-width="{border}"><title>{html.escape(tip)}</title></rect>'
        )
        for j, (text, kind) in enumerate(lines):
            weight = ' style="font-weight: bold"' if kind in ("label", "broken") else ""
            out.append(
                f'<text x="{x + PAD_PX}" y="{y + PAD_PX + 10 + LINE_PX * j}"{styles[kind]}{weight}>'
                f"{html.escape(text)}</text>"
            )
    if trace.loop is not None:
        y0 = ys[max(0, trace.loop - 1)] if trace.loop - 1 < len(rows) else ys[-1]
        y1 = ys[-1] - GAP_PX
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
