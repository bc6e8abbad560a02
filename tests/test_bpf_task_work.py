"""Focused checks of the bpf_task_work model (spec/bpf_task_work) against the second reading."""

from __future__ import annotations

import pytest

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from explorer.engines.witnesses import find_witnesses
from spec.bpf_task_work import PARAMS, make_spec
from spec.lang import SpecError, successors


def _explore(engine: str = "native", **constants):
    spec = make_spec(**constants)
    r = explore_any(spec, Options(stop_on_first=False, keep_graph=True), lambda _l: None, engine)
    assert r.exhausted
    return spec, r


def _violations(r) -> dict[str, int]:
    return {v.name: v.depth for v in r.violations}


@pytest.fixture(scope="module")
def merged():
    return _explore()


def test_unknown_constant_is_refused():
    with pytest.raises(SpecError):
        make_spec(no_such_switch=True)
    with pytest.raises(SpecError):
        make_spec(usercnt_check="sometimes")


def test_defaults_are_the_merged_code():
    d = {k: v[1] for k, v in PARAMS.items()}
    assert d["usercnt_check"] == "after" and d["free_after_gp"] is False
    assert all(d[k] for k in ("round_ref", "cb_freed_check", "irq_freed_check", "irq_post_add_cancel",
                              "cancel_scheduled", "round_prog_ref", "slot_xchg"))  # fmt: skip


def test_merged_design_verdicts(merged):
    """Reading §5: (a), (b) hold; (c) is violated in V8 (window A, W10); W9 (NULL ctx->task)."""
    _spec, r = merged
    v = _violations(r)
    assert r.distinct < 2_000_000
    assert set(v) == {"NoAsyncUseAfterFree", "NoNullTaskDeref"}
    assert v["NoAsyncUseAfterFree"] == 9
    assert v["NoNullTaskDeref"] == 17


def test_merged_kernel_witnesses_reachable(merged):
    _spec, r = merged
    missing = [w.witness.name for w in find_witnesses(r) if w.trace is None]
    assert missing == []


@pytest.mark.parametrize(
    ("constants", "prop", "length"),
    [
        ({"free_after_gp": True, "round_ref": False}, "NoAsyncUseAfterFree", 12),
        ({"cb_freed_check": False}, "NoCallbackOnFreedCtx", 14),
        ({"round_prog_ref": False}, "NoCallbackAfterProgFree", 14),
        ({"slot_xchg": False, "free_after_gp": True}, "FreedMarkedOnce", 14),
        ({"usercnt_check": "none"}, "NoLateRoundRuns", 11),
        ({"usercnt_check": "before"}, "NoLateRoundRuns", 12),
    ],
)
def test_each_safeguard_off_breaks_its_property(constants, prop, length):
    _spec, r = _explore(**constants)
    assert _violations(r).get(prop) == length


def test_sweep_return_is_not_a_barrier_with_a_refilled_slot():
    """T1u's cancel_and_free takes another ctx from the refilled slot; the sweep finds NULL and
    returns before that ctx is FREED, so its callback can still start (model finding)."""
    _spec, r = _explore(pool=2, runs=1)
    v = _violations(r)
    assert v.get("NoCallbackAfterUrefSweep") == 24
    assert "NoLateRoundRuns" not in v


def test_grace_period_makes_the_ctx_memory_safe_but_not_w9():
    """Reading §5 (c): the later kfree_rcu (+ rcu guards) closes windows A and B; W9 remains."""
    _spec, r = _explore(free_after_gp=True)
    assert set(_violations(r)) == {"NoNullTaskDeref"}


def test_cancel_with_null_task_is_recorded():
    """W9's last step: the irq's T4 saw FREED after the callback's ctx_reset NULLed ctx->task."""
    spec = make_spec()
    m = spec.model
    s = spec.init_states()[0]._replace(
        slot=(m.NO_OBJ,), mem=(m.Mem.LIVE,), st=(m.St.FREED,), ref=(1,), iw_flags=(2,),
        runner=(m.RPhase.CANCEL, m.RPhase.IDLE), robj=(0, m.NO_OBJ), seen=(2, 0),
    )  # fmt: skip
    (t,) = [t for inst, t in successors(spec, s) if inst.label == "IrqCancel(c=cpu0)"]
    assert t.null_task and spec.invariant_named("NoNullTaskDeref").fn(t) is False


def test_python_engine_agrees_on_a_small_cell():
    consts = {"cpus": 1, "user_updates": False}
    _s, native = _explore(**consts)
    _s, py = _explore("python", **consts)
    assert native.distinct == py.distinct
    assert _violations(native) == _violations(py)
