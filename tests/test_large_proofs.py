"""The RFC's induction proofs at the size make check ran them at before it had to fit in five minutes:
8 CPUs x 16 items x 2 progs (45-70 s each on this 2-core machine). make check proves the same
invariants with the same lemmas at ``catalogue.RFC_PROOF_SIZE``; this tier proves the larger size."""

from __future__ import annotations

import dataclasses

import pytest

from explorer.runs.queries.answers import run_query
from explorer.runs.queries.catalogue import QUERIES, RFC_PROOF_SIZE

LARGE = {"cpus": 8, "items": 16, "progs": 2}


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["SafetyInductive[rfc_repaired]", "SafetyInductive[rfc_repaired,tasks_trace]"]
)
def test_the_repaired_rfc_is_inductive_at_8_cpus_16_items_2_progs(name: str) -> None:
    q = QUERIES[name]
    assert all(q.constants[k] == v for k, v in RFC_PROOF_SIZE.items())  # the query this scales up
    a = run_query(dataclasses.replace(q, constants={**q.constants, **LARGE}))
    assert a.verdict == "PROVED", a.detail
    assert a.proved == run_query(q).proved  # every safety invariant make check proves, not the target alone
