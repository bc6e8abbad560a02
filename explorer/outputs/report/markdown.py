"""The design-review report in Markdown (``out/report.md``), and the pieces the other reports share.

Every verdict shown was computed by the matrix run whose results it is given, with its reason from the
expectation file and the shortest counterexample's action sequence: the verdict tables per family, the
comparison of the designs (``comparison_markdown``, also shown by the HTML page), the RFC's claims
answered per RCU flavour (an answer only where this run's evidence supports it: ``findings``), the
kernel witnesses, the modelling choices, and every violation with the kernel configurations it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tabulate import tabulate

from explorer.outputs.report.findings import confirm_note, lasso_note, needs, shown_answer, storm_note
from explorer.runs.matrix.tables import _abbrev, _mark
from explorer.runs.results import DEFAULT_FAMILY, SITUATIONS, Cell, CellResult, Claim, by_family


def _evidence(ev: str, by_cell: dict[str, CellResult]) -> str:
    cell, _, prop = ev.partition(":")
    res = by_cell.get(cell)
    if res is None:
        return f"`{cell}` {prop}: not run"
    got = res.verdicts.get(prop, "?")
    shown = _mark(got, res.depths.get(prop, "?"))
    link = f" ([trace](counterexamples/{cell}/{prop}.txt))" if got == "violated" else ""
    need = needs(res, prop) if got == "violated" else None
    return f"`{cell}` {prop}: {shown}{link}" + (f"; {need}" if need else "")


def claims_markdown(
    claims: list[Claim],
    cells: list[Cell],
    results: list[CellResult],
    answer_of: Callable[[str], dict[str, Any] | None] = lambda _q: None,
) -> list[str]:
    by_cell = {c.name: r for c, r in zip(cells, results, strict=True)}
    by_name = {c.name: c for c in cells}
    out = ["## The RFC's claims, per RCU flavour", ""]
    out.append(
        "Each answer rests on the verdicts listed under it, computed in this run (ok = holds, "
        "VIOL(n) = shortest counterexample of n states, linked). `call_rcu`: a non-sleepable prog; "
        "`tasks_trace`: a sleepable prog under the documented call_rcu_tasks_trace contract."
    )
    out.append("")
    for cl in claims:
        out += [f"### {cl.id}: {cl.text}", ""]
        for flavour, ans in cl.answers.items():
            out.append(f"- **{flavour}**: {shown_answer(ans, by_name, by_cell, answer_of)}")
            out += [f"  - {_evidence(ev, by_cell)}" for ev in ans["evidence"]]
        out.append("")
    return out


def witnesses_markdown(cells: list[Cell], results: list[CellResult]) -> list[str]:
    names = sorted({n for r in results for n, (kernel, _) in r.witnesses.items() if kernel})
    out = ["## Kernel behaviour witnesses", ""]
    out.append(
        "Behaviours the kernel allows (invariants/witnesses.py gives each one's source). The number is "
        "the length of the shortest trace reaching it (under `witnesses/<cell>/`); `too small` is a cell "
        "declared unable to show it, with its reason in expected.toml; `-` is not registered there."
    )
    out.append("")
    rows = []
    for cell, res in zip(cells, results, strict=True):
        row: list[Any] = [cell.name]
        for n in names:
            kernel_depth = res.witnesses.get(n)
            if kernel_depth is None:
                row.append("-")
            elif kernel_depth[1] is None:
                row.append("too small" if n in cell.unreachable else "**UNREACHABLE**")
            else:
                row.append(kernel_depth[1])
        rows.append(row)
    out.append(tabulate(rows, headers=["cell", *names], tablefmt="github"))
    out.append("")
    needs: dict[str, set[str]] = {}
    for r in results:
        for p, ws in r.preconditions.items():
            needs.setdefault(p, set()).update(ws)
    if needs:
        out += [
            "A `holds` is non-vacuous: in that cell every precondition named for the property is reachable "
            "(invariants/witnesses.py; some apply only where the configuration can show them):",
            "",
        ]
        out += [f"- {p}: {', '.join(sorted(ws)) or '(none)'}" for p, ws in needs.items()] + [""]
    vac = [(c.name, p, r.unmet[p]) for c, r in zip(cells, results, strict=True) for p in r.unmet]
    if vac:
        out += [
            "Vacuous verdicts (a property holds, but a situation it is about cannot happen in the cell):",
            "",
        ]
        out += [f"- `{c}` {p}: unreachable {', '.join(u)}" for c, p, u in vac]
        out.append("")
    return out


def comparison_markdown(cells: list[Cell], results: list[CellResult]) -> list[str]:
    """Which design gives which guarantee, and which safeguard each guarantee rests on.

    A row per design (the cells with ``design = "label"``), a column per property the designs share.
    A verdict that holds names the safeguards whose removal breaks it: the cells with ``safeguard =
    "label: what is removed"`` where the property is violated (with the trace length)."""
    from invariants.common import ALIASES, SHARED

    base = [(c, r) for c, r in zip(cells, results, strict=True) if c.design and not r.error]
    if not base:
        return []

    def own_name(cell: Cell, shared_name: str) -> str | None:
        """The cell's property that means ``shared_name`` (invariants/common.py), if it has one."""
        return next((p for p in cell.props if ALIASES.get(p, p) == shared_name), None)

    shared = [n for n in SHARED if sum(own_name(c, n) is not None for c, _ in base) >= 2]
    out = ["## Comparison of the designs", ""]
    out.append(
        "Each row is a design's baseline cell (as merged, or as posted). ok = holds there (with, in "
        "brackets, every safeguard whose removal breaks it: a cell of the matrix that turns that one "
        "safeguard off and finds a counterexample of n states); VIOL(n) = the design itself violates "
        "it. A safeguard switch that breaks nothing is listed under the table as shown unnecessary "
        "(in that cell's exhaustive run)."
    )
    out.append("")
    rows = []
    unneeded = []
    for cell, res in base:
        label = cell.design or cell.name
        removals = [
            (c, r)
            for c, r in zip(cells, results, strict=True)
            if c.safeguard and c.safeguard.split(":", 1)[0].strip() == label and not r.error
        ]
        row = [f"{label} (`{cell.name}`, {res.distinct} states)"]
        for shared_name in shared:
            p = own_name(cell, shared_name)
            if p is None:
                row.append("-")
                continue
            got = res.verdicts.get(p, "?")
            mark = _mark(got, res.depths.get(p, "?"))
            if got in ("holds", "vacuous"):
                rests = [
                    f"{c.safeguard.split(':', 1)[1].strip()} ({r.depths.get(p)})"
                    for c, r in removals
                    if r.verdicts.get(p) == "violated"
                ]
                if rests:
                    mark += " [rests on: " + "; ".join(rests) + "]"
            row.append(mark)
        rows.append(row)
        for c, r in removals:
            if not any(
                r.verdicts.get(p) == "violated" and res.verdicts.get(p) != "violated" for p in c.props
            ):
                unneeded.append(
                    f"- {c.safeguard} (`{c.name}`: {r.distinct} states; breaks no property the design keeps)"
                )
    out.append(tabulate(rows, headers=["design", *shared], tablefmt="github"))
    out.append("")
    if unneeded:
        out += ["Safeguards shown unnecessary in these configurations:", "", *unneeded, ""]
    return out


def situations_markdown(cells: list[Cell], results: list[CellResult]) -> list[str]:
    """Which merged design survives which situation (issue 21): a row per design, a column per
    situation (``SITUATIONS``), each entry computed from the cells tagged ``row``/``situation`` in this
    run: the properties violated there (shortest trace, cell, the configuration it needs), or ok."""
    tagged = [(c, r) for c, r in zip(cells, results, strict=True) if c.situation and not r.error]
    if not tagged:
        return []
    rows: dict[str, dict[str, list[tuple[Cell, CellResult]]]] = {}
    for c, r in tagged:
        rows.setdefault(c.row or "", {}).setdefault(c.situation or "", []).append((c, r))
    table = []
    for row, by_situation in rows.items():
        line = [row]
        for situation in SITUATIONS:
            runs = by_situation.get(situation)
            line.append(_situation_entry(runs) if runs else "-")
        table.append(line)
    out = ["## Which design survives which situation", ""]
    out.append(
        "A row per design as merged (or posted), a column per situation this family of kernel code has "
        "had its bugs in; each entry sums up the cells of this run that put the design there (expected."
        "toml's `row` and `situation`): ok = every property holds in all of them; otherwise each "
        "property violated, its shortest counterexample's length and cell, and the kernel configuration "
        "it needs where that is not every one (the counterexamples section says it in full); - = not "
        "modelled."
    )
    out += ["", tabulate(table, headers=["design", *SITUATIONS], tablefmt="github"), ""]
    failing = sorted(
        {w for _c, r in tagged for w, (_k, depth) in r.witnesses.items() if "AllocFails" in w and depth}
    )
    if failing:
        n = sum(
            any("AllocFails" in w and depth for w, (_k, depth) in r.witnesses.items()) for _c, r in tagged
        )
        out += [
            f"Allocation failure (-ENOMEM) is part of every column: in {n} of these cells an allocation "
            f"fails on some path ({', '.join(failing)}), and the verdicts above include those paths.",
            "",
        ]
    return out


# a feature of spec/kernel/kconfig.py in a few words, for the situations table
_SHORT_FEATURE = {
    "preemptible": "preemptible",
    "rt": "RT",
    "tick": "irq_work from the tick",
    "contract": "tasks-trace contract",
    "stall": "a stall",
    "store_buffer": "a store buffer",
}


def _short_needs(res: CellResult, prop: str) -> str | None:
    """What a counterexample needs, in a few words (None: every configuration, or none computed)."""
    minimal = (res.configurations.get(prop) or {}).get("minimal") or []
    if not minimal or any(not f for f in minimal):
        return None
    return " or ".join(
        " + ".join(_SHORT_FEATURE.get(x, x) for x in f if not (x == "preemptible" and "rt" in f))
        for f in minimal
    )


def _situation_entry(runs: list[tuple[Cell, CellResult]]) -> str:
    worst: dict[str, tuple[int, str, str | None]] = {}
    for c, r in runs:
        for p in c.props:
            if r.verdicts.get(p) != "violated":
                continue
            depth = r.depths.get(p, 0)
            if p not in worst or depth < worst[p][0]:
                worst[p] = (depth, c.name, _short_needs(r, p))
    if not worst:
        states = sum(r.distinct for _c, r in runs)
        return f"ok ({len(runs)} cell{'s' if len(runs) > 1 else ''}, {states:,} states)"
    parts = []
    for p, (depth, cell, need) in worst.items():
        parts.append(f"**{p}** ({depth}, `{cell}`" + (f"; needs {need})" if need else ")"))
    return "; ".join(parts)


def report_markdown(
    props: list[str],
    cells: list[Cell],
    results: list[CellResult],
    wall: float,
    claims: list[Claim] | None = None,
    abstractions: dict[str, list[str]] | None = None,
    answer_of: Callable[[str], dict[str, Any] | None] = lambda _q: None,
) -> str:
    """The design-review report: every verdict computed in this run, with its reason and the shortest
    counterexample's action sequence."""
    out = ["# BPF deferred callbacks (the bpf_delayed_work RFC and what landed since): design review", ""]
    out.append(
        f"Generated by `python -m explorer matrix --report` from {len(cells)} exhaustive runs "
        f"({sum(r.distinct for r in results)} distinct states, {wall:.0f}s). Every verdict below was "
        "computed in this run and compared with `spec/configs/expected.toml`."
    )
    out += ["", "## Verdicts", ""]
    for family, fcells, fresults in by_family(cells, results):
        fprops = fcells[0].props or props
        if family != DEFAULT_FAMILY:
            out += [f"### {family} (`{fcells[0].model}`)", ""]
        rows = []
        for cell, res in zip(fcells, fresults, strict=True):
            one_cpu = " (1 CPU)" if cell.constants.get("cpus") == 1 else ""
            row = [cell.name + one_cpu, res.distinct]
            for p in fprops:
                got = res.verdicts.get(p, "?")
                mark = _mark(got, res.depths.get(p, "?"))
                row.append(f"**{mark}**" if got == "violated" else mark)
            rows.append(row)
        out.append(
            tabulate(rows, headers=["cell", "states"] + [_abbrev(p) for p in fprops], tablefmt="github")
        )
        out += ["", "  ".join(f"{_abbrev(p)} = {p}" for p in fprops), ""]
    out += comparison_markdown(cells, results)
    out += situations_markdown(cells, results)
    out += [
        "ok = holds; vac = holds vacuously (see the witnesses section); VIOL(n) = shortest counterexample "
        "of n states. A 1-CPU cell cannot show a cross-CPU race: its ok says nothing about one.",
        "",
    ]
    for family, _fcells, fresults in by_family(cells, results):
        first = next((r for r in fresults if r.fairness), None)
        if first is not None:
            env = ", ".join(f"`{a}`" for a in first.environment) or "none"
            out += [
                f"Liveness verdicts of {family} rest on these fairness conditions (in its first cell with "
                f"liveness properties). The environment ({env}) is never fair, and a violation needs a "
                "fair cycle that takes none of its steps:",
                "",
            ]
            out += [", ".join(f"`{f}`" for f in first.fairness), ""]
        storms = [
            f"- `{c.name}` {p}: {storm_note(r, p)}"
            for c, r in zip(_fcells, fresults, strict=True)
            for p in c.props
            if storm_note(r, p)
        ]
        if storms:
            out += [f"Starvation by the environment in {family} (not a violation):", "", *storms, ""]
    if claims:
        out += claims_markdown(claims, cells, results, answer_of)
    out += witnesses_markdown(cells, results)
    for model, items in (abstractions or {}).items():
        out += [
            f"## Modelling choices of `{model}`",
            "",
            "Each simplification and why it loses no kernel behaviour:",
            "",
        ]
        out += [f"- {a}" for a in items] + [""]
    out += ["## Violations and their shortest counterexamples", ""]
    for cell, res in zip(cells, results, strict=True):
        bad = [p for p in cell.props or props if res.verdicts.get(p) == "violated"]
        if not bad:
            continue
        consts = ", ".join(f"{k}={v}" for k, v in cell.constants.items())
        out += [f"### {cell.name} ({consts})", ""]
        for p in bad:
            reason = cell.expect[p][1] if cell.expect[p][0] == "violated" else "(unexpected)"
            seq = res.steps.get(p, [])
            loop = res.loops.get(p)
            shown = " → ".join(seq)
            if loop is not None:
                shown += f" (then back to state {loop + 1}: a cycle)"
            out += [f"- **{p}** ({res.depths.get(p)} states): {reason}", f"  - {shown}"]
            for note in (needs(res, p), lasso_note(res, p), confirm_note(res, p)):
                if note:
                    out.append(f"  - {note}")
        out.append("")
    return "\n".join(out) + "\n"
