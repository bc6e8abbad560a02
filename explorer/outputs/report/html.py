"""The design-review report as one self-contained HTML file (inline CSS and SVG, no script, no network).

``python -m explorer report`` (and ``matrix --html``) writes it from the saved results
(``explorer.outputs.report.data``): the RFC in a paragraph and each of its claims and points answered with
links to the evidence (an exhaustive run, a proof, a counterexample), the comparison of the designs,
every family's verdict matrix with the fairness behind its liveness verdicts, the proofs with their
lemmas in plain words, what each variant changes in the code (``docs/variants.md``), the behaviour
witnesses, every counterexample as a per-CPU sequence diagram with its state table folded under it,
the modelling choices, and the kernel facts the models rest on (``docs/kernel-facts.md``). Everything
it cites is in the repository or in the file itself.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from explorer.outputs.report.data import ReportData
from explorer.outputs.report.diagrams import sequence_svg, state_table
from explorer.outputs.report.findings import (
    configuration_rows,
    confirm_note,
    lasso_note,
    needs,
    shown_answer,
    storm_note,
)
from explorer.outputs.report.markdown import comparison_markdown, situations_markdown
from explorer.outputs.traces import load_itf_trace, write_atomic
from explorer.runs.matrix.tables import _abbrev, _mark
from explorer.runs.results import Cell, CellResult, by_family, meets_expectation
from spec.config import import_model

DOCS = Path(__file__).resolve().parents[3] / "docs"

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
.claim { border-left: 4px solid #7a9cc6; padding: 0.2em 1em; margin: 1em 0; background: #fafcff; }
pre { background: #f7f7f7; padding: 6px 10px; overflow-x: auto; font-size: 12px; }
.add { color: #064; background: #e8f7ec; display: inline-block; width: 100%; }
.del { color: #900; background: #fbeaea; display: inline-block; width: 100%; }
nav ol { columns: 2; } svg text { font: 11px system-ui, sans-serif; }
"""

SECTIONS = [
    ("rfc", "The RFC"),
    ("claims", "The RFC's claims and points, answered"),
    ("comparison", "Comparison of the designs"),
    ("verdicts", "Verdicts"),
    ("proofs", "Why does it hold? The proofs"),
    ("queries", "Other questions asked of Z3"),
    ("variants", "What each variant changes"),
    ("witnesses", "Behaviour witnesses"),
    ("counterexamples", "Counterexamples"),
    ("choices", "Modelling choices"),
    ("facts", "Kernel facts the models rest on"),
]

_MD = MarkdownIt("commonmark").enable("table")


def markdown(text: str) -> str:
    """Markdown (CommonMark with GitHub tables) as HTML; ``diff`` code blocks coloured by line."""
    return re.sub(r'(<code class="language-diff">)(.*?)(</code>)', _colour_diff, _MD.render(text), flags=re.S)


def _colour_diff(m: re.Match[str]) -> str:
    lines = []
    for line in m.group(2).split("\n"):
        cls = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        lines.append(f'<span class="{cls}">{line}</span>' if cls else line)
    return m.group(1) + "\n".join(lines) + m.group(3)


def _id(*parts: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", "-".join(str(p) for p in parts))


def trace_anchor(cell: str, prop: str) -> str:
    return "t-" + _id(cell, prop)


def cell_anchor(cell: str) -> str:
    return "c-" + _id(cell)


def variant_anchor(model: str, name: str, value: Any) -> str:
    return "v-" + _id(model, name, value)


def query_anchor(name: str) -> str:
    return "q-" + _id(name)


# --------------------------------------------------------------------------- the docs it embeds


def variant_sections(path: Path = DOCS / "variants.md") -> dict[tuple[str, str, str], str]:
    """docs/variants.md as {(model, switch, value): its Markdown}: ``## model`` then ``### name = value``."""
    if not path.exists():
        return {}
    out: dict[tuple[str, str, str], str] = {}
    model, key, body = "", None, []
    for line in [*path.read_text(encoding="utf-8").splitlines(), "## end"]:
        m2, m3 = re.match(r"^## (\S+)", line), re.match(r"^### (\w+) = (\S+)\s*$", line)
        if (m2 or m3) and key is not None:
            out[key] = "\n".join(body).strip()
            key, body = None, []
        if m2:
            model = m2.group(1).strip("`")
        elif m3:
            key = (model, m3.group(1), m3.group(2))
        elif key is not None:
            body.append(line)
    return out


def variant_keys(cell: Cell) -> list[tuple[str, str, str]]:
    """The (model, switch, value) of every constant a cell sets."""
    return [(cell.model, k, str(v)) for k, v in cell.constants.items()]


# --------------------------------------------------------------------------- pieces


def _evidence_cell(ev: str, data: ReportData) -> str:
    cell, _, prop = ev.partition(":")
    res = dict(zip([c.name for c in data.cells], data.results, strict=True)).get(cell)
    if res is None:
        return f"<li><code>{html.escape(cell)}</code> {html.escape(prop)}: not run</li>"
    got = res.verdicts.get(prop, "?")
    mark = html.escape(_mark(got, res.depths.get(prop, "?")))
    if got == "violated":
        n = res.depths.get(prop)
        what = f'<a href="#{trace_anchor(cell, prop)}">{mark}: the {n}-state counterexample</a>'
        need = needs(res, prop)
        if need:
            what += f"; {html.escape(need)}"
    else:
        count = f"exhaustive, {res.distinct:,} states, {res.seconds:.1f} s"
        what = f'<a href="#{cell_anchor(cell)}">{mark}</a>: {count}'
    return f"<li><code>{html.escape(cell)}</code> {html.escape(prop)}: {what}</li>"


def _evidence_query(name: str, data: ReportData) -> str:
    a = data.answer(name)
    if a is None:
        return f"<li>query <code>{html.escape(name)}</code>: not run (<code>make check</code> runs it)</li>"
    size = ", ".join(f"{k}={v}" for k, v in a["constants"].items())
    extra = f", {len(a['lemmas'])} lemmas" if a["verdict"] == "PROVED" else ""
    return (
        f'<li>query <a href="#{query_anchor(name)}"><code>{html.escape(name)}</code></a>: '
        f"<b>{html.escape(a['verdict'])}</b> ({html.escape(size)}; {html.escape(a['detail'])}{extra}; "
        f"{a['seconds']:.0f} s)</li>"
    )


def claims_html(data: ReportData) -> list[str]:
    out = [
        "<p>Each answer rests on the verdicts listed under it, computed in this run: an exhaustive "
        "search (its states and seconds), a counterexample (its diagram), or a proof by induction (its "
        "size, lemmas and seconds). <code>call_rcu</code>: a non-sleepable prog; <code>tasks_trace</code>: "
        "a sleepable prog under the documented call_rcu_tasks_trace contract.</p>"
    ]
    by_name = {c.name: c for c in data.cells}
    by_cell = {c.name: r for c, r in zip(data.cells, data.results, strict=True) if r is not None}
    for cl in data.claims:
        out.append(
            f'<div class="claim" id="claim-{_id(cl.id)}"><h3>{html.escape(cl.id)}: '
            f"{html.escape(cl.text)}</h3>"
        )
        for flavour, ans in cl.answers.items():
            text = shown_answer(ans, by_name, by_cell, data.answer)
            out.append(f"<p><b>{html.escape(flavour)}</b>. {_inline(text)}</p><ul>")
            out += [_evidence_cell(ev, data) for ev in ans["evidence"]]
            out += [_evidence_query(q, data) for q in ans.get("queries", [])]
            out.append("</ul>")
        out.append("</div>")
    return out


def _verdict_cell(cell: Cell, res: CellResult, prop: str, liveness: set[str]) -> str:
    got = res.verdicts.get(prop, "?")
    want = cell.expect[prop][0]
    cls = {"holds": "ok", "vacuous": "vac", "violated": "viol"}.get(got, "")
    if got != want:
        cls += " bad"
    reason = cell.expect[prop][1]
    if prop in liveness:
        reason += f" [under the {len(res.fairness)} fairness conditions listed below the table]"
    body = html.escape(_mark(got, res.depths.get(prop, "?")))
    if got == "violated":
        body = f'<a href="#{trace_anchor(cell.name, prop)}">{body}</a>'
        need = needs(res, prop)
        if need:
            reason += f" [{need}]"
    storm = storm_note(res, prop)
    if storm:
        body += "*"
        reason += f" [{storm}]"
    return f'<td class="{cls}" title="{html.escape(reason)}">{body}</td>'


def _fairness_groups(fcells: list[Cell], fresults: list[CellResult]) -> list[str]:
    """The fairness of each cell, grouped: cells with the same fair actions share a line."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for c, r in zip(fcells, fresults, strict=True):
        kinds: dict[str, set[str]] = {}
        for f in r.fairness:
            kind, _, rest = f.partition("_vars(")
            kinds.setdefault(rest.split("(")[0].rstrip(")"), set()).add(kind)
        key = tuple(f"{'/'.join(sorted(k))} {a}" for a, k in sorted(kinds.items()))
        groups.setdefault(key, []).append(c.name)
    out = []
    for key, names in groups.items():
        fair = ", ".join(f"<code>{html.escape(x)}</code>" for x in key) or "none (no liveness property)"
        out.append(f"<li>{', '.join(html.escape(n) for n in names)}: {fair}</li>")
    return out


def _temporal(model: str, cell: Cell) -> set[str]:
    spec = import_model(model).make_spec(**cell.constants)
    return {t.name.split("[")[0] for t in spec.properties}


def verdicts_html(data: ReportData) -> list[str]:
    cells, results = data.ran()
    out = [
        "<p>Every verdict was computed in this run and compared with "
        "<code>spec/configs/expected.toml</code>; a cell outlined in red differs from it. Hover a "
        "verdict for its expected reason; a violated one links to its counterexample, a cell's "
        "switches to what they change. ok = holds; vac = holds only vacuously (a precondition is "
        "unreachable); VIOL(n) = shortest counterexample of n states. A 1-CPU cell cannot show a "
        "cross-CPU race: its ok says nothing about one.</p>"
    ]
    for family, fcells, fresults in by_family(cells, results):
        props = fcells[0].props
        live = _temporal(fcells[0].model, fcells[0])
        out.append(f"<h3>{html.escape(family)} (<code>{html.escape(fcells[0].model)}</code>)</h3>")
        head = "".join(f'<th title="{html.escape(p)}">{html.escape(_abbrev(p))}</th>' for p in props)
        rows = []
        for cell, res in zip(fcells, fresults, strict=True):
            links = " ".join(
                f'<a href="#{variant_anchor(*k)}">{html.escape(k[1])}={html.escape(k[2])}</a>'
                for k in variant_keys(cell)
            )
            row = (
                f'<tr id="{cell_anchor(cell.name)}"><th>{html.escape(cell.name)}</th>'
                f"<td>{links or 'defaults'}</td><td>{res.distinct:,}</td><td>{res.seconds:.1f}</td>"
            )
            row += "".join(_verdict_cell(cell, res, p, live) for p in props)
            rows.append(row + "</tr>")
        out.append(
            f"<table><tr><th>cell</th><th>switches</th><th>states</th><th>s</th>{head}</tr>"
            f"{''.join(rows)}</table>"
        )
        out.append(
            '<p class="muted">' + " · ".join(html.escape(f"{_abbrev(p)} = {p}") for p in props) + "</p>"
        )
        lp = [p for p in props if p.split("[")[0] in live]
        if lp:
            out.append(
                f"<p>The liveness verdicts ({', '.join(html.escape(_abbrev(p)) for p in lp)}) hold or fail "
                "under weak (WF) or strong (SF) fairness of exactly these actions, each instance separately; "
                "an action not listed may never be taken. The environment (user space, a new prog run or "
                "its helper call) is never fair, and a violation needs a fair cycle that takes none of its "
                "steps: a lasso that exists only with the environment repeating for ever is starvation, "
                "marked * and listed under the table, not a hang:</p><ul>"
            )
            out += _fairness_groups(fcells, fresults) + ["</ul>"]
            storms = [
                f"<li><code>{html.escape(c.name)}</code> {html.escape(p)}: {html.escape(note)}</li>"
                for c, r in zip(fcells, fresults, strict=True)
                for p in props
                if (note := storm_note(r, p))
            ]
            if storms:
                out.append("<p>Starvation by the environment (not a violation):</p><ul>")
                out += [*storms, "</ul>"]
    return out


def proofs_html(data: ReportData) -> list[str]:
    proved = [a for a in data.answers if a["kind"] == "prove"]
    if not proved:
        return [
            "<p>No proof results saved: <code>make check</code> (or <code>python -m explorer queries</code>) "
            "runs them.</p>"
        ]
    out = [
        "<p>A proof by induction shows a property for every depth at a size BFS cannot reach: every "
        "invariant below holds initially, and every step of the model from any state satisfying all of "
        "them (reachable or not) keeps them. The lemmas are what makes the safety invariants inductive; "
        "each says, in plain words, why the property holds.</p>"
    ]
    for a in proved:
        size = ", ".join(f"{k}={v}" for k, v in a["constants"].items())
        out.append(
            f'<div class="claim" id="{query_anchor(a["name"])}"><h3>{html.escape(a["name"])}: '
            f"{html.escape(a['verdict'])}</h3>"
        )
        out.append(
            f"<p>{html.escape(a['doc'])}</p><p>Model <code>{html.escape(a['model'])}</code> at "
            f"{html.escape(size)}; {html.escape(a['detail'])}; {a['seconds']:.0f} s.</p>"
        )
        if a["proved"]:
            out.append(
                "<p>Proved: " + ", ".join(f"<code>{html.escape(p)}</code>" for p in a["proved"]) + ".</p>"
            )
        if a["lemmas"]:
            out.append("<p>Because (the lemmas):</p><ul>")
            out += [
                f"<li><code>{html.escape(n)}</code>: {html.escape(' '.join(d.split()))}</li>"
                for n, d in a["lemmas"]
            ]
            out.append("</ul>")
        out.append("</div>")
    return out


def queries_html(data: ReportData) -> list[str]:
    rest = [a for a in data.answers if a["kind"] != "prove"]
    if not rest:
        return ["<p>No query results saved.</p>"]
    out = ["<table><tr><th>query</th><th>question</th><th>answer</th><th>expected</th><th>s</th></tr>"]
    for a in rest:
        ok = "ok" if meets_expectation(a["verdict"], a["expect"]) else "viol bad"
        out.append(
            f'<tr id="{query_anchor(a["name"])}"><th>{html.escape(a["name"])}</th>'
            f'<td>{html.escape(a["doc"])}</td><td class="{ok}">{html.escape(a["verdict"])} '
            f"{html.escape(a['detail'])}</td><td>{html.escape(a['expect'])}</td>"
            f"<td>{a['seconds']:.1f}</td></tr>"
        )
    out.append("</table>")
    return out


def variants_html(data: ReportData) -> list[str]:
    sections = variant_sections()
    used = list(dict.fromkeys(k for c in data.cells for k in variant_keys(c)))
    out = [
        "<p>What each switch a cell sets changes in the code, as a short diff against the reference "
        "(the RFC as posted for the RFC's model; the merged code for the others), from "
        "<code>docs/variants.md</code>.</p>"
    ]
    model = None
    for key in sorted(used):
        if key[0] != model:
            model = key[0]
            out.append(f"<h3><code>{html.escape(model)}</code></h3>")
        out.append(
            f'<h4 id="{variant_anchor(*key)}"><code>{html.escape(key[1])} = {html.escape(key[2])}</code></h4>'
        )
        body = sections.get(key)
        out.append(markdown(body) if body else '<p class="muted">not described in docs/variants.md</p>')
    return out


def witnesses_html(data: ReportData) -> list[str]:
    cells, results = data.ran()
    out = [
        "<p>A model can be wrong by forbidding what the kernel allows; then a property can hold only "
        "because the model cannot reach the situation it is about. Each kernel behaviour below must be "
        "reachable in every cell it is registered in (the number is the length of its shortest trace); a "
        "cell too small to show it says why in <code>expected.toml</code>. Preconditions make a "
        "<i>holds</i> non-vacuous.</p>"
    ]
    for family, fcells, fresults in by_family(cells, results):
        spec = import_model(fcells[0].model).make_spec(**fcells[0].constants)
        out.append(
            f"<h3>{html.escape(family)}</h3><table><tr><th>witness</th><th>kind</th><th>what and why "
            "(source)</th><th>reached in</th><th>shortest</th><th>not shown in</th></tr>"
        )
        for w in spec.witnesses:
            depths = [(c, r.witnesses.get(w.name)) for c, r in zip(fcells, fresults, strict=True)]
            reached = [d[1] for _, d in depths if d is not None and d[1] is not None]
            registered = [(c, d) for c, d in depths if d is not None]
            missing = [
                c.name + (" (too small)" if w.name in c.unreachable else "")
                for c, d in registered
                if d[1] is None
            ]
            cls = "viol" if any("too small" not in m for m in missing) and w.kernel else "ok"
            out.append(
                f"<tr><th>{html.escape(w.name)}</th><td>{'kernel' if w.kernel else 'precondition'}</td>"
                f'<td>{html.escape(" ".join(w.doc.split()))}</td><td class="{cls}">{len(reached)} of '
                f"{len(registered)}</td><td>{min(reached) if reached else '-'}</td>"
                f"<td>{html.escape(', '.join(missing)) or '-'}</td></tr>"
            )
        out.append("</table>")
    return out


def counterexamples_html(data: ReportData) -> list[str]:
    out: list[str] = []
    cells, results = data.ran()
    for cell, res in zip(cells, results, strict=True):
        bad = [p for p in cell.props if res.verdicts.get(p) == "violated"]
        if not bad:
            continue
        spec = import_model(cell.model).make_spec(**cell.constants)
        out.append(f"<h3>{html.escape(cell.name)}</h3>")
        for prop in bad:
            path = data.counterexamples / cell.name / f"{prop}.itf.json"
            out.append(f'<div class="trace" id="{trace_anchor(cell.name, prop)}">')
            out.append(
                f"<p><b>{html.escape(prop)}</b> ({res.depths.get(prop)} states): "
                f"{html.escape(cell.expect[prop][1])}</p>"
            )
            if not path.exists():
                out.append(f'<p class="muted">no dump at {html.escape(str(path))}</p></div>')
                continue
            for note in (needs(res, prop), lasso_note(res, prop), confirm_note(res, prop)):
                if note:
                    out.append(f"<p>{html.escape(note[0].upper() + note[1:])}.</p>")
            rows = configuration_rows(res, prop)
            if rows:
                cells_html = "".join(
                    f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>" for a, b in rows
                )
                out.append(
                    "<details><summary>the kernel configurations checked</summary>"
                    f"<table>{cells_html}</table></details>"
                )
            trace = load_itf_trace(path, spec)
            out.append(sequence_svg(trace))
            out.append(
                f"<details><summary>every state ({len(trace.states)})</summary>{state_table(trace)}</details>"
            )
            out.append("</div>")
    return out


def choices_html(data: ReportData) -> list[str]:
    out = []
    for model, items in data.abstractions.items():
        out.append(
            f"<h3><code>{html.escape(model)}</code></h3><p>Each simplification and why it loses no "
            "kernel behaviour, or what is not modelled:</p><ul>"
        )
        out += [f"<li>{_inline(a)}</li>" for a in items]
        out.append("</ul>")
    return out


def _doc(name: str) -> str:
    path = DOCS / name
    if not path.exists():
        return f'<p class="muted">docs/{html.escape(name)} is missing.</p>'
    return markdown(path.read_text(encoding="utf-8"))


def render_html(data: ReportData) -> str:
    cells, results = data.ran()
    total = sum(r.distinct for r in results)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>BPF deferred callbacks: design review</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>BPF deferred callbacks (the bpf_delayed_work RFC and what landed since): design review</h1>",
        f"<p>Generated by <code>python -m explorer report</code> from {len(cells)} exhaustive runs "
        f"({total:,} distinct states, {data.wall:.0f} s) and {len(data.answers)} Z3 queries; every number "
        "was computed by those runs.</p>",
        "<nav><ol>"
        + "".join(f'<li><a href="#{k}">{html.escape(t)}</a></li>' for k, t in SECTIONS)
        + "</ol></nav>",
    ]
    comp = comparison_markdown(cells, results)
    situations = situations_markdown(cells, results)
    bodies: dict[str, Iterable[str]] = {
        "rfc": [_doc("rfc.md")],
        "claims": claims_html(data),
        "comparison": (
            [markdown("\n".join(comp[2:]))] if comp else ["<p>No design baseline cell was run.</p>"]
        )
        + (
            [f"<h3>{html.escape(situations[0][3:])}</h3>", markdown("\n".join(situations[2:]))]
            if situations
            else []
        ),
        "verdicts": verdicts_html(data),
        "proofs": proofs_html(data),
        "queries": queries_html(data),
        "variants": variants_html(data),
        "witnesses": witnesses_html(data),
        "counterexamples": counterexamples_html(data),
        "choices": choices_html(data),
        "facts": [_doc("kernel-facts.md")],
    }
    for key, title in SECTIONS:
        out.append(f'<section id="{key}"><h2>{html.escape(title)}</h2>')
        out += list(bodies[key])
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _inline(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def write_html(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
