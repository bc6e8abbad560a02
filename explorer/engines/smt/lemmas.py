"""The lemmas of the induction proofs: which auxiliary invariants strengthen a model's safety invariants.

Each model names the module of its lemmas (``Spec.lemmas``, e.g. ``invariants.bpf_async.lemmas``),
imported by name, so nothing here names a model module: ``add_aux_invariants`` registers them on the
spec, ``proved_safety`` says which safety invariants a proof of the model is about, and
``full_strengthening`` is everything else a proof of one of them rests on.
"""

from __future__ import annotations

import importlib
from typing import Any

from spec.lang import Spec


def aux_module(spec: Spec) -> Any:
    """The module with the auxiliary invariants of the spec's model (``spec.lemmas``), or None."""
    return importlib.import_module(spec.lemmas) if spec.lemmas is not None else None


def add_aux_invariants(spec: Spec) -> list[str]:
    """Register the auxiliary invariants of the spec's model (its ``spec.lemmas`` module) on the spec
    (idempotent); returns their names ([] for a model without any)."""
    module = aux_module(spec)
    if module is None:
        return []
    aux_invariants = module.aux_invariants

    have = {p.name for p in spec.invariants}
    names = []
    for name, fn in aux_invariants(spec).items():
        if name not in have:
            spec.add_invariant(name, fn)
        names.append(name)
    return names


def _aux_names(spec: Spec) -> set[str]:
    module = aux_module(spec)
    return set(module.aux_invariants(spec)) if module is not None else set()


def proved_safety(spec: Spec) -> list[str]:
    """The safety invariants an induction proof of this configuration is about: all of the spec's, or
    for a design that violates some (bpf_task_work), those its aux module's PROVED_SAFETY names."""
    module = aux_module(spec)
    if module is not None and hasattr(module, "PROVED_SAFETY"):
        return list(module.PROVED_SAFETY(spec))
    aux = _aux_names(spec)
    return [p.name for p in spec.invariants if p.name not in aux]


def full_strengthening(spec: Spec, target: str) -> list[str]:
    """Every other invariant the proof rests on (call add_aux_invariants first): the auxiliary ones and
    the safety invariants of ``proved_safety`` (a violated one is left out: it is not inductive)."""
    keep = set(proved_safety(spec)) | _aux_names(spec)
    return [p.name for p in spec.invariants if p.name != target and p.name in keep]
