"""The report's per-CPU sequence diagrams (explorer/outputs/report/diagrams.py), without a browser: the
diagram stays within the page's width however many lanes the trace has, each box shows the values its
step changed (``old→new``) and wraps its text rather than cutting it, and the state that breaks the
invariant stands out. ``tests/test_report_browser.py`` checks the same on the rendered page."""

from __future__ import annotations

import html
import re

from explorer.engines.bfs import Options, explore
from explorer.outputs.report.diagrams import DIAGRAM_WIDTH, _wrap, changes, sequence_svg, text_px
from spec.lang import Enum, Fn, Int, Spec, and_, not_, put, when

CPU = Enum("cpu", 8)


def _all_cpus_spec() -> Spec:
    """Each of eight CPUs sets its own flag once; the invariant says not all of them do: its shortest
    counterexample has one step on each CPU, so eight lanes."""
    spec = Spec("EightLanes")
    spec.var("flag", Fn(CPU, Int(0, 1)), init=(0,) * 8)

    @spec.action(c=CPU)
    def SetFlagWithAVeryLongActionNameThatMustWrap(s, c):  # noqa: N802
        return when(s.flag[c] == 0, flag=put(s.flag, c, 1))

    @spec.invariant
    def NotEveryCpuHasSetItsFlag(s):  # noqa: N802
        "At least one flag is still 0."
        return not_(and_(*(s.flag[c] == 1 for c in CPU)))

    return spec


def _trace():
    res = explore(_all_cpus_spec(), Options(), lambda _line: None)
    (v,) = res.violations
    return v.trace


def _boxes(svg: str) -> list[tuple[str, list[str]]]:
    """(the box's rect tag, its lines of text) for each box of a diagram."""
    out: list[tuple[str, list[str]]] = []
    for tag in re.findall(r"<rect [^>]*>|<text [^>]*>[^<]*</text>", svg):
        if tag.startswith("<rect"):
            out.append((tag, []))
        elif out and 'class="muted"' not in tag:
            out[-1][1].append(html.unescape(re.sub(r"<[^>]*>", "", tag)))
    return out


def test_eight_lanes_fit_the_page_and_show_values():
    svg = sequence_svg(_trace())
    width = int(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))
    assert width <= DIAGRAM_WIDTH
    assert all(f">cpu{k}<" in svg for k in range(8))  # every lane is drawn
    boxes = _boxes(svg)
    assert len(boxes) == 8
    for _rect, lines in boxes:
        # the action's long name is wrapped over lines, whole, not cut
        assert "".join(lines).startswith("SetFlagWithAVeryLongActionNameThatMustWrap(c=cpu")
        assert max(text_px(line) for line in lines) < width / 8
    assert any("flag[cpu3] 0\u21921" in lines for _, lines in boxes)  # values, not only names


def test_the_breaking_state_stands_out():
    boxes = _boxes(sequence_svg(_trace()))
    assert 'fill="#fde8e8"' in boxes[-1][0] and all('fill="#fde8e8"' not in r for r, _ in boxes[:-1])
    text = "".join(boxes[-1][1])  # the name may be wrapped within the word in a lane this narrow
    assert "\u2717 breaks" in text and "NotEveryCpuHasSetItsFlag" in text


def test_changes_follow_functions_to_their_arguments():
    spec = _all_cpus_spec()
    a = spec.State(flag=(0,) * 8)
    b = spec.State(flag=(0, 1, 0, 0, 0, 0, 0, 1))
    assert changes(spec, a, b) == ["flag[cpu1] 0\u21921", "flag[cpu7] 0\u21921"]


def test_wrap_keeps_items_whole_and_lines_within_width():
    text = ", ".join(f"exec_state[t{k}.0] ENQUEUED\u2192INACTIVE" for k in range(4))
    lines = _wrap(text, 200)
    assert all(text_px(line) <= 200 for line in lines)
    assert "".join(lines).replace(",", ", ").replace(",  ", ", ").count("ENQUEUED\u2192INACTIVE") == 4
    assert _wrap("x" * 100, 50) and all(text_px(line) <= 50 for line in _wrap("x" * 100, 50))
