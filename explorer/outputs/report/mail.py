"""The answer to the RFC as a plain-text reply for the BPF mailing list (Markdown that reads as text).

Wrapped at 72 columns, no HTML, no links a mail client cannot follow: each answer gives its numbers
(states searched, seconds, the length of a counterexample, the size of a proof) and each counterexample
it cites is spelled out as its numbered steps, so the reply stands on its own. The numbers come from
the saved results, as in the HTML report.
"""

from __future__ import annotations

import textwrap
from typing import Any

from explorer.outputs.report.data import ReportData
from explorer.outputs.report.findings import configuration_rows, confirm_note, lasso_note, needs, shown_answer
from explorer.runs.results import CellResult

WIDTH = 72


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        " ".join(text.split()),
        WIDTH,
        initial_indent=first if first is not None else indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _cell_evidence(ev: str, by_cell: dict[str, CellResult]) -> tuple[str, tuple[str, str] | None]:
    """One line of evidence, and (cell, property) when it is a counterexample to spell out."""
    cell, _, prop = ev.partition(":")
    res = by_cell.get(cell)
    if res is None:
        return f"{cell}: {prop} not run", None
    got = res.verdicts.get(prop, "?")
    if got == "violated":
        return f"{cell}: {prop} violated, shortest trace {res.depths.get(prop)} states (below)", (cell, prop)
    shown = {"vacuous": "holds only vacuously (a precondition is unreachable)"}.get(got, got)
    return f"{cell}: {prop} {shown}, exhaustive over {res.distinct:,} states ({res.seconds:.1f} s)", None


def _query_evidence(a: dict[str, Any] | None, name: str) -> str:
    if a is None:
        return f"{name}: not run"
    size = ", ".join(f"{k}={v}" for k, v in a["constants"].items())
    lemmas = f", {len(a['lemmas'])} lemmas" if a["lemmas"] else ""
    return f"{name}: {a['verdict']} ({size}; {a['detail']}{lemmas}; {a['seconds']:.0f} s)"


def render_mail(data: ReportData) -> str:
    cells, results = data.ran()
    by_cell = {c.name: r for c, r in zip(cells, results, strict=True)}
    total = sum(r.distinct for r in results)
    out = [
        "Subject: Re: [RFC PATCH bpf-next 0/3] bpf: Add bpf_delayed_work_submit",
        "",
        *_wrap(
            "Hi Delyan, all. We model-checked the design of this RFC (the posted patches, the cover "
            "letter's intent with the two bugs below fixed, and variants) and what landed since "
            "(bpf_timer, bpf_wq, bpf_task_work, the 2026 bpf_async_cb rework). Every statement below "
            f"is a model result: {len(cells)} exhaustive searches ({total:,} states in all, small "
            "configurations of 1-3 CPUs) and proofs by induction at larger sizes. None was reproduced "
            "on a kernel. The model, the traces and an HTML report are in the repository (make check)."
        ),
        "",
    ]
    spelled: list[tuple[str, str]] = []
    by_name = {c.name: c for c in cells}
    for cl in data.claims:
        out += _wrap(f'{cl.id}: "{cl.text}"', indent="> ")
        out.append("")
        for flavour, ans in cl.answers.items():
            text = shown_answer(ans, by_name, by_cell, data.answer)
            out += _wrap(f"{flavour}: {text}", indent="  ", first="- ")
            for ev in ans["evidence"]:
                line, ce = _cell_evidence(ev, by_cell)
                out += _wrap(line, indent="      ", first="    * ")
                if ce and ce not in spelled:
                    spelled.append(ce)
            for q in ans.get("queries", []):
                out += _wrap(_query_evidence(data.answer(q), q), indent="      ", first="    * ")
        out.append("")
    if spelled:
        out += ["The counterexamples cited above, step by step:", ""]
        for cell, prop in spelled:
            res = by_cell[cell]
            out.append(f"{cell}, {prop} ({res.depths.get(prop)} states):")
            for i, step in enumerate(res.steps.get(prop, []), start=1):
                out += _wrap(step, indent="      ", first=f"  {i:2}. ")
            loop = res.loops.get(prop)
            if loop is not None:
                out.append(f"      (then back to state {loop + 1}: a cycle that can repeat for ever)")
            for note in (lasso_note(res, prop), needs(res, prop), confirm_note(res, prop)):
                if note:
                    out += _wrap(note[0].upper() + note[1:] + ".", indent="  ")
            for label, shown in configuration_rows(res, prop):
                out += _wrap(f"{label}: {shown}", indent="      ", first="    * ")
            out.append("")
    proofs = [a for a in data.answers if a["kind"] == "prove" and a["verdict"] == "PROVED"]
    if proofs:
        out += ["Proved by induction (every depth) with Z3:", ""]
        for a in proofs:
            out += _wrap(_query_evidence(a, a["name"]), indent="  ", first="- ")
        out.append("")
    out += _wrap(
        "Caveats: lock sections and helper bodies are single steps, NMI and tracing-prog re-entry into a "
        "held lock is modelled only for the RFC's locked list and the hash map's bucket lock (not for a "
        "map value's bpf_spin_lock or the hrtimer base lock), and each result is as good as our reading "
        "of the sources; the report lists "
        "every simplification and the kernel facts each rests on, with sources."
    )
    return "\n".join(out) + "\n"
