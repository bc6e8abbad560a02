"""What the report may say about a finding or a claim, computed from the saved results of this run.

A claim's written answer (``spec/configs/expected.toml``) is printed only when every cell and query it
rests on ran in this run and came out as expected; otherwise the report says which evidence was not
run or disagrees, and prints no answer ("proved for any depth at 4 CPUs" must not appear above a proof
that did not run). A counterexample carries the kernel configurations it needs, computed by the matrix
(``explorer.runs.configurations``); a liveness verdict that holds only because an endless environment
is excluded carries that lasso as starvation, not as a hang.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import spec.kernel.kconfig as kconfig
from explorer.runs.results import SIZE_OF, Cell, CellResult, meets_expectation

AnswerOf = Callable[[str], "dict[str, Any] | None"]


def claim_status(
    ans: Mapping[str, Any],
    cells: Mapping[str, Cell],
    results: Mapping[str, CellResult],
    answer_of: AnswerOf,
) -> str | None:
    """None when this run answers the claim (every piece of evidence ran and matched its expectation);
    otherwise why the written answer is not shown, in one sentence."""
    missing, differ = [], []
    for ev in ans["evidence"]:
        cell, _, prop = str(ev).partition(":")
        res = results.get(cell)
        if res is None or res.error:
            missing.append(f"{cell} {prop}")
        elif res.verdicts.get(prop) != cells[cell].expect[prop][0]:
            differ.append(f"{cell} {prop} ({res.verdicts.get(prop)})")
    for q in ans.get("queries", []):
        a = answer_of(q)
        if a is None:
            missing.append(f"query {q}")
        elif not meets_expectation(a["verdict"], a["expect"]):
            differ.append(f"query {q} ({a['verdict']})")
    if not missing and not differ:
        return None
    parts = []
    if missing:
        parts.append(f"not run here: {', '.join(missing)}")
    if differ:
        parts.append(f"computed otherwise than expected: {', '.join(differ)}")
    return "Not answered by this run (" + "; ".join(parts) + "); make check runs every piece of evidence."


def claim_text(ans: Mapping[str, Any], answer_of: AnswerOf | None = None) -> str:
    """A claim's written answer for one flavour: necessary and sufficient, or a plain answer. A
    ``{size of QUERY}`` in it is the size QUERY ran at in this run (``4 CPUs x 8 items x 2 progs``),
    so that the text cannot claim a proof at a size that did not run."""
    if "answer" in ans:
        text = f"{ans['answer']}."
    else:
        text = f"Necessary? {ans['necessary']}. Sufficient? {ans['sufficient']}."
    return SIZE_OF.sub(lambda m: _size(m.group(1), answer_of), text)


_UNITS = {"cpus": "CPUs", "items": "items", "progs": "progs", "slots": "map values", "objs": "objects"}


def _size(query: str, answer_of: AnswerOf | None) -> str:
    a = answer_of(query) if answer_of is not None else None
    if a is None:  # claim_status shows no text whose queries did not run: a wrong name in the text
        raise KeyError(f"the claim text names {query!r}, which is not among its queries")
    consts = a["constants"]
    return " x ".join(f"{consts[k]} {unit}" for k, unit in _UNITS.items() if k in consts)


def shown_answer(
    ans: Mapping[str, Any], cells: Mapping[str, Cell], results: Mapping[str, CellResult], answer_of: AnswerOf
) -> str:
    """The written answer if this run supports it, else why not."""
    status = claim_status(ans, cells, results, answer_of)
    return claim_text(ans, answer_of) if status is None else status


def needs(res: CellResult, prop: str) -> str | None:
    """The kernel configurations a counterexample needs, in words (None where nothing was computed)."""
    n = res.configurations.get(prop)
    return n["summary"] if n else None


def configuration_rows(res: CellResult, prop: str) -> list[tuple[str, str]]:
    """Each configuration checked for a counterexample and its outcome there."""
    n = res.configurations.get(prop)
    if not n:
        return []
    out = []
    for r in n["rows"]:
        if r["verdict"] == "violated":
            shown = f"violated ({r['depth']} states)" if r["depth"] else "violated"
        else:
            shown = "no counterexample"
        if r["implied"]:
            shown += " (implied by the runs with fewer or more features)"
        out.append((kconfig.label(r["config"]), shown))
    return out


def storm_note(res: CellResult, prop: str) -> str | None:
    """A property that holds, but fails if the environment may repeat for ever: the lasso, in words."""
    s = res.storms.get(prop)
    if not s:
        return None
    env = ", ".join(s["environment"]) or "the environment"
    return (
        f"holds: its only fair counterexample ({s['states']} states) needs {env} to repeat for ever "
        "in its cycle (an endless storm starving a kernel step), which is not a hang of the design"
    )


def lasso_note(res: CellResult, prop: str) -> str | None:
    """What a liveness counterexample's cycle assumes: the fairness it uses and that it takes no
    environment step."""
    if prop not in res.loops:
        return None
    env = ", ".join(res.environment) or "none declared"
    return (
        f"a lasso: its cycle is fair under the {len(res.fairness)} fairness conditions of the family "
        f"and takes no step of the environment ({env}): the design itself never gets there"
    )


def confirm_note(res: CellResult, prop: str) -> str | None:
    """The upstream versions a counterexample is to be confirmed against (its steps cite sources that
    were read from copies of unknown or non-upstream commit)."""
    items = res.confirm.get(prop)
    if not items:
        return None
    return "to confirm against " + "; ".join(items)
