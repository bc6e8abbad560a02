"""Permutations of a spec's interchangeable values (``Spec.symmetric``), on concrete and Z3 states.

A ``Perm`` maps each declared base Enum to a permutation of its values. Applied to a state it renames
those values everywhere: in function domains (``flags[w]`` moves to ``flags[perm(w)]``) and in values
(a list slot holding ``w`` then holds ``perm(w)``); the extra values of an extended Enum ("none")
stay put. The same code runs on concrete values (BFS-side tests) and on Z3 terms (the proofs).

Used by ``explorer.smt.prove_by_step(symmetry=True)``: with the invariant invariant under every
permutation and every step mapped to a step by the permutation that puts its parameters in canonical
order, a counterexample to induction for any step gives one for a canonical step, so only canonical
steps need a consecution query. Both conditions are checked there with Z3 before they are used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from spec.lang import Enum, Fn, Spec, Type, ite

Perm = dict[int, tuple[int, ...]]  # id(base Enum) -> the image of each of its values


def _group(spec: Spec, t: Any) -> Enum | None:
    """The base Enum whose permutation acts on values (or domain) of type t, if any."""
    for base, extended in spec.symmetries:
        if t is base or any(t is e for e in extended):
            return base
    return None


def identity(spec: Spec) -> Perm:
    return {id(base): tuple(range(len(base))) for base, _ in spec.symmetries}


def generators(spec: Spec) -> list[tuple[str, Perm]]:
    """A transposition and an n-cycle per declared base: together they generate every permutation."""
    out = []
    for base, _ in spec.symmetries:
        n = len(base)
        if n >= 2:
            swap = (1, 0, *range(2, n))
            out.append((f"swap {base.names[0]} {base.names[1]}", {**identity(spec), id(base): swap}))
        if n >= 3:
            cycle = (*range(1, n), 0)
            out.append((f"cycle of {base.name}", {**identity(spec), id(base): cycle}))
    return out


def is_identity(perm: Perm) -> bool:
    return all(m == tuple(range(len(m))) for m in perm.values())


def _map_value(sigma: Sequence[int], v: Any) -> Any:
    if type(v) is int:
        return sigma[v] if v < len(sigma) else v
    out = v
    for i, j in enumerate(sigma):
        if i != j:
            out = ite(v == i, j, out)
    return out


def permute_value(spec: Spec, perm: Perm, t: Type, v: Any, values: bool = True) -> Any:
    """v (of type t) with the permuted values renamed in function domains and (``values``) in values."""
    base = _group(spec, t)
    if isinstance(t, Fn):
        dom = _group(spec, t.domain)
        sigma = perm[id(dom)] if dom is not None else None
        out: list[Any] = [None] * len(v)
        for d, x in enumerate(v):
            target = sigma[d] if sigma is not None and d < len(sigma) else d
            out[target] = permute_value(spec, perm, t.at(d), x, values)
        return t.build(out)
    if base is not None and values:
        return _map_value(perm[id(base)], v)
    return v


def permute_state(spec: Spec, perm: Perm, s: Any, values: bool = True) -> Any:
    return spec.State(
        *(permute_value(spec, perm, var.type, x, values) for var, x in zip(spec.variables, s, strict=True))
    )


def canonical_perm(spec: Spec, params: Iterable[tuple[Any, Any]]) -> Perm:
    """The permutation that renames each group's values in order of first appearance in params to
    0, 1, 2, ... (the rest keep their order): every step of a symmetry class maps to the same one."""
    seen: dict[int, list[int]] = {id(base): [] for base, _ in spec.symmetries}
    sizes = {id(base): len(base) for base, _ in spec.symmetries}
    for t, v in params:
        base = _group(spec, t)
        if base is not None and type(v) is int and v < len(base) and v not in seen[id(base)]:
            seen[id(base)].append(v)
    perm: Perm = {}
    for key, firsts in seen.items():
        order = firsts + [v for v in range(sizes[key]) if v not in firsts]
        sigma = [0] * sizes[key]
        for new, old in enumerate(order):
            sigma[old] = new
        perm[key] = tuple(sigma)
    return perm


def permute_params(spec: Spec, perm: Perm, params: Iterable[tuple[Any, Any]]) -> tuple:
    out = []
    for t, v in params:
        base = _group(spec, t)
        out.append(_map_value(perm[id(base)], v) if base is not None and type(v) is int else v)
    return tuple(out)
