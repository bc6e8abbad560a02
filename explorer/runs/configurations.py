"""The kernel configurations a counterexample needs, computed by running its cell under each one.

A model reads the kernel configuration from ``spec/kernel/kconfig.py`` (preemption model, irq_work
delivery, tasks-trace semantics, stalls) and says which of those dimensions change its behaviours for
a cell's constants (``kconfig_relevant``). For every property a cell violates, this module runs the
cell again under every combination of the relevant dimensions' values and reports where the property
is violated (with its shortest trace) and where it holds, then names the least the finding needs:
for example "needs a preemptible kernel (PREEMPT_RCU or PREEMPT_RT)" or "needs PREEMPT_RT, or a
stalled hard-irq handler".

Each configuration is a set of features (``kconfig.FEATURES``: the permissive side of each dimension),
and a configuration with more features allows more behaviours. So a violation in a configuration is
a violation in every configuration with more features, and a property that holds holds in every one
with fewer: runs are ordered by their number of features and a run is skipped when every property's
verdict there follows from earlier runs (the table says "implied"); the next run is the one whose
outcome settles the most configurations either way, as a binary search does (after the most
restrictive configuration). A pair of runs that contradicts
this order (violated with fewer features, holds with more) is reported as a model error: some switch
forbids a behaviour it should allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import spec.kernel.kconfig as kconfig

# run(constants) -> {property: (verdict, shortest trace length or None)} for the cell with those constants
RunCell = Callable[[dict[str, Any]], dict[str, tuple[str, int | None]]]


@dataclass
class Row:
    """One configuration's verdict on one property."""

    config: dict[str, str]
    verdict: str  # "violated", "holds" or "vacuous"
    depth: int | None = None
    implied: bool = False  # not run: follows from a run with fewer (violated) or more (holds) features

    @property
    def label(self) -> str:
        return kconfig.label(self.config)


@dataclass
class Needs:
    """Where one of a cell's findings exists."""

    prop: str
    rows: list[Row] = field(default_factory=list)
    minimal: list[list[str]] = field(default_factory=list)  # minimal feature sets with a violation
    contradictions: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return needs_summary(self.minimal, bool(self.rows))

    def to_json(self) -> dict[str, Any]:
        return {
            "prop": self.prop,
            "rows": [asdict(r) for r in self.rows],
            "minimal": self.minimal,
            "contradictions": self.contradictions,
            "summary": self.summary,
        }


def needs_summary(minimal: list[list[str]], ran: bool = True) -> str:
    """The least a finding needs, in words."""
    if not ran:
        return "no kernel-configuration dimension changes this cell"
    if not minimal:
        return "holds in every configuration checked"
    if any(not f for f in minimal):
        return "exists in every kernel configuration checked"
    # PREEMPT_RT is a preemptible kernel: name it alone
    shown = [[x for x in f if not (x == "preemptible" and "rt" in f)] for f in minimal]
    alternatives = [" and ".join(kconfig.FEATURE_LABELS[x] for x in sorted(f)) for f in shown]
    text = "needs " + ", or ".join(alternatives)
    if all("contract" in f for f in minimal):
        text += "; on no shipped kernel"
    return text


def analyse(
    constants: Mapping[str, Any],
    relevant: Mapping[str, tuple[str, ...]],
    props: list[str],
    run: RunCell,
    known: Mapping[str, tuple[str, int | None]] | None = None,
    verify: bool = False,
) -> dict[str, Needs]:
    """Each of ``props`` under every combination of the ``relevant`` dimensions (the cell's other
    constants kept). ``known``: the verdicts of the cell's own configuration (its constants, or the
    defaults), already computed. Runs whose outcome the feature order implies are skipped unless
    ``verify``, which runs every configuration and so can find a model that breaks the order."""
    configs = sorted(kconfig.configurations(relevant), key=lambda c: (len(kconfig.features(c)), _key(c)))
    results: dict[str, dict[frozenset[str], Row]] = {p: {} for p in props}
    own = {d: constants.get(d, kconfig.DEFAULTS[d]) for d in relevant}
    if known is not None:
        for p in props:
            verdict, depth = known.get(p, ("holds", None))
            results[p][kconfig.features(own)] = Row(dict(own), verdict, depth)
    by_feats = {kconfig.features(c): c for c in configs}
    pending = [f for f in by_feats if not (props and f in results[props[0]])]  # own config known
    while pending:
        feats = pending[0] if verify else _most_informative(pending, results, props)
        pending.remove(feats)
        config = by_feats[feats]
        got = run({**constants, **config})
        for p in props:
            verdict, depth = got.get(p, ("holds", None))
            results[p][feats] = Row(dict(config), verdict, depth)
        if verify:
            continue
        for f in list(pending):  # every configuration whose verdicts now follow from the order
            implied = {p: _implied(results[p], f) for p in props}
            if all(v is not None for v in implied.values()):
                pending.remove(f)
                for p, verdict in implied.items():
                    results[p][f] = Row(dict(by_feats[f]), verdict, None, implied=True)
    out = {}
    for p in props:
        rows = results[p]
        needs = Needs(p, [rows[kconfig.features(c)] for c in configs])
        violated = [f for f, r in rows.items() if r.verdict == "violated"]
        # a feature every checked configuration has (PREEMPT_RCU where non-preemptible behaves alike)
        # is not something the finding needs
        given = frozenset.intersection(*rows) if rows else frozenset()
        needs.minimal = sorted(
            (sorted(f - given) for f in violated if not any(g < f for g in violated)),
            key=lambda f: (len(f), f),
        )
        for f, r in rows.items():
            if r.verdict == "violated" or r.implied:
                continue
            for g in violated:
                if g < f and not rows[g].implied:
                    needs.contradictions.append(
                        f"{p}: violated under {rows[g].label} but holds under {r.label}, which allows more"
                    )
        out[p] = needs
    return out


def _most_informative(
    pending: list[frozenset[str]], results: dict[str, dict[frozenset[str], Row]], props: list[str]
) -> frozenset[str]:
    """The configuration to run next: the one whose outcome, either way, settles the most others (a
    violation settles every configuration with more features, a hold every one with fewer), as a
    binary search does; ties go to fewer features, then the dimensions' order. The configuration with
    the fewest features goes first: a finding that exists everywhere (the most common) is then settled
    in one run."""
    if not pending[0]:
        return pending[0]

    def settles(feats: frozenset[str]) -> int:
        score = 0
        for p in props:
            open_ = [f for f in pending if _implied(results[p], f) is None]
            if feats not in open_:
                continue
            up = sum(1 for f in open_ if feats <= f)
            down = sum(1 for f in open_ if f <= feats)
            score += min(up, down)
        return score

    # pending keeps the configurations' order (fewer features first): the first of the best
    return max(pending, key=lambda f: (settles(f), -pending.index(f)))


def _implied(rows: dict[frozenset[str], Row], feats: frozenset[str]) -> str | None:
    """The verdict the feature order gives at ``feats`` from the runs so far, if any."""
    for f, r in rows.items():
        if r.implied:
            continue
        if r.verdict == "violated" and f <= feats:
            return "violated"
        if r.verdict != "violated" and feats <= f:
            return "holds"
    return None


def _key(config: Mapping[str, str]) -> tuple[int, ...]:
    return tuple(kconfig.DIMENSIONS[d].index(v) for d, v in sorted(config.items()))
