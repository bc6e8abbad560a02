"""Reading Z3 terms through Z3's C functions (``spec.terms.raw``), for the loops that only read them.

The Python API wraps every sub-term it hands out in a reference-counted object and checks Z3's error
code after every call; in the printer of the compiled engine and in the proofs' bookkeeping that was
most of the time. What is read through these functions stays valid while the terms' roots live.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from spec.terms import raw


def constants_in(terms: Sequence[z3.ExprRef]) -> list[frozenset[int]]:
    """For each term, the Z3 ids of the uninterpreted constants (state leaves) it mentions."""
    if not terms:
        return []
    ctx = terms[0].ctx.ref()
    ast_id, kind, to_app = raw("Z3_get_ast_id"), raw("Z3_get_ast_kind"), raw("Z3_to_app")
    nargs, arg = raw("Z3_get_app_num_args"), raw("Z3_get_app_arg")
    memo: dict[int, frozenset[int]] = {}
    empty: frozenset[int] = frozenset()

    def visit(root: Any) -> frozenset[int]:
        # iterative post-order over the DAG: a node's set is the union of its arguments'
        stack = [(root, ast_id(ctx, root), False)]
        while stack:
            a, k, done = stack.pop()
            if k in memo:
                continue
            if kind(ctx, a) != z3.Z3_APP_AST:
                memo[k] = empty  # a numeral
                continue
            app = to_app(ctx, a)
            n = nargs(ctx, app)
            if n == 0:
                memo[k] = frozenset((k,))  # a constant (True and False too: never a leaf, so harmless)
                continue
            args = [arg(ctx, app, i) for i in range(n)]
            ids = [ast_id(ctx, x) for x in args]
            if done:
                memo[k] = frozenset().union(*(memo[i] for i in ids))
                continue
            stack.append((a, k, True))
            stack.extend((x, i, False) for x, i in zip(args, ids, strict=True) if i not in memo)
        return memo[ast_id(ctx, root)]

    return [visit(t.as_ast()) for t in terms]
