"""Replaying a trace on a spec: does it belong to the spec, and where does it leave it?

``replay`` re-executes a ``Trace`` (ours, or one read from an ITF file another tool wrote) step by step
and raises ``ReplayError`` naming the first state the spec does not allow: a value outside its type, a
first state that is not initial, a step that is not enabled or does not lead to the next state, a
stutter that changes a variable, or a lasso that cannot close. ``infer_steps`` names the steps of a
trace that does not (the first action instance that leads from each state to the next).
"""

from __future__ import annotations

from typing import Any

from explorer.engines.bfs import Trace
from explorer.outputs.traces import _changed, _loop_closes_on_last, _step_name
from spec.lang import Spec, successors


def infer_steps(spec: Spec, states: list) -> list:
    """For a trace without action names: the first action instance leading from each state to the next
    (None for a stutter, or where no step does: replay then names that step)."""
    steps = [None]
    for prev, cur in zip(states, states[1:], strict=False):
        taken = next((inst for inst, t in successors(spec, prev) if t == cur), None)
        steps.append(taken)
    return steps


class ReplayError(Exception):
    """A trace step that the spec does not allow (one line, names the state and the action)."""


def replay(spec: Spec, trace: Trace) -> None:
    """Re-execute ``trace`` on ``spec``; raise ReplayError naming the first step the spec does not allow."""
    states, steps = trace.states, trace.steps
    if not states:
        raise ReplayError("the trace has no states")
    if len(steps) != len(states):
        raise ReplayError(f"the trace has {len(states)} states but {len(steps)} steps")
    for i, s in enumerate(states):
        _check_state(spec, i, s)
    if states[0] not in set(spec.init_states()):
        raise ReplayError("state 1 is not an initial state")
    if steps[0] is not None:
        raise ReplayError(f"state 1 is initial but records the step {steps[0].label}")
    for i in range(1, len(states)):
        prev, cur, step = states[i - 1], states[i], steps[i]
        where = f"state {i + 1} <{_step_name(step)}>"
        if step is None:
            if cur != prev:
                raise ReplayError(
                    f"{where}: a stuttering step changes {', '.join(_changed(spec, prev, cur))}"
                )
            continue
        nexts = [t for inst, t in successors(spec, prev) if inst.label == step.label]
        if not nexts:
            raise ReplayError(f"{where}: {step.label} is not enabled in state {i}")
        if cur not in nexts:
            diff = ", ".join(_changed(spec, nexts[0], cur))
            raise ReplayError(f"{where}: {step.label} does not lead to this state (it differs in {diff})")
    loop = trace.loop
    if loop is None:
        return
    if not 0 <= loop < len(states):
        raise ReplayError(f"loop index {loop} is outside the trace's {len(states)} states")
    if _loop_closes_on_last(trace):
        return
    # The closing step is implicit: some enabled step, or a stutter, must lead back to the loop state.
    last, target = states[-1], states[loop]
    if last != target and all(t != target for _, t in successors(spec, last)):
        raise ReplayError(f"no step leads from state {len(states)} back to state {loop + 1}")


def _check_state(spec: Spec, i: int, s: Any) -> None:
    # Compare fields, not classes: a trace may come from another build of the same spec.
    if getattr(s, "_fields", None) != tuple(spec.var_names):
        raise ReplayError(f"state {i + 1} is a {type(s).__name__}, not a state of spec {spec.name}")
    for v in spec.variables:
        x = getattr(s, v.name)
        if not v.type.contains(x):
            raise ReplayError(f"state {i + 1}: {v.name} = {x!r} is outside {v.type!r}")
