"""spec/htab_lock: the hash map's bucket lock against a prog that runs inside it on the same CPU.

The matrix checks the four cells' verdicts; these tests pin what makes them: which keys share a
bucket and a map_locked counter under each form of the lock, and the shortest deadlock of each form
that has one (an NMI prog's update of the same bucket on the CPU whose update holds it).
"""

from __future__ import annotations

import pytest

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from spec.htab_lock import HASHES, make_spec
from spec.kernel import htab
from spec.lang import SpecError


def test_the_two_keys_share_a_bucket_and_only_the_fixed_index_shares_their_counter():
    assert {htab.bucket_of(h, 2) for h in HASHES} == {0}
    assert len({htab.counter_of(h, 2, "map_locked_mask") for h in HASHES}) == 2
    assert len({htab.counter_of(h, 2, "map_locked") for h in HASHES}) == 1
    # with 8 buckets or more the two indexes agree, and the keys are in different buckets
    assert all(
        htab.counter_of(h, 8, "map_locked") == htab.counter_of(h, 8, "map_locked_mask") for h in HASHES
    )
    assert len({htab.bucket_of(h, 8) for h in HASHES}) == 2


def _deadlock(lock: str, n_buckets: int = 2):
    spec = make_spec(lock=lock, n_buckets=n_buckets)
    r = explore_any(spec, Options(stop_on_first=False), lambda _l: None, "native")
    bad = [v for v in r.violations if v.name == "NoSelfDeadlock"]
    return [st.label for st in bad[0].trace.steps[1:]] if bad else None


@pytest.mark.parametrize(
    "lock, nmi_key",
    [("none", "k0"), ("map_locked_mask", "k2")],
)
def test_an_nmi_update_of_the_held_bucket_spins_for_ever(lock, nmi_key):
    assert _deadlock(lock) == [
        "UpdateStart(c=cpu0, lv=TASK, k=k0)",
        "LockBucket(c=cpu0, lv=TASK)",
        f"UpdateStart(c=cpu0, lv=NMI, k={nmi_key})",
    ]


@pytest.mark.parametrize("lock", ["map_locked", "rqspinlock"])
def test_the_fixed_forms_refuse_the_reentry(lock):
    assert _deadlock(lock) is None


def test_the_mask_bug_needs_fewer_than_eight_buckets():
    assert _deadlock("map_locked_mask", n_buckets=8) is None


def test_bad_constants_are_refused_in_one_line():
    with pytest.raises(SpecError, match="n_buckets is a power of two"):
        make_spec(n_buckets=3)
    with pytest.raises(SpecError, match="unknown constant"):
        make_spec(colour=1)
