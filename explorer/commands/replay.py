"""``python -m explorer replay CONFIG TRACE.itf.json``: does a trace belong to the spec?

The trace is an ITF file (ours, edited by hand, or written by another tool such as Apalache or Quint):
its states are decoded against the config's spec, and each step is re-executed. A step that names its
action (``mbt::actionTaken`` with ``mbt::nondetPicks``, as our dumps do) must be that action instance;
a step that names none may be any enabled step leading to the next state (the command says which).
Output: every step with the action taken, then either the first step that leaves the spec (exit 1) or
"the trace is a behaviour of the spec" with the invariants its last state violates (exit 0). A bad
file or config, or a value outside its variable's type, is one line on stderr naming the state (exit 2).
"""

from __future__ import annotations

import argparse

from explorer.cli_common import EXIT_OK, EXIT_VIOLATION, add_set_option, load
from explorer.engines.bfs import Trace
from explorer.outputs.replay import ReplayError, infer_steps, replay
from explorer.outputs.traces import ACTION_TAKEN, load_itf_states, load_itf_trace, read_itf


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="the config (TOML) whose spec the trace should belong to")
    p.add_argument("trace", help="an ITF trace (JSON)")
    add_set_option(p)


def run(args: argparse.Namespace) -> int:
    config, spec = load(args.config, args.overrides)
    data = read_itf(args.trace)
    named = any(ACTION_TAKEN in js for js in data["states"][1:] if isinstance(js, dict))
    if named:
        trace = load_itf_trace(args.trace, spec)
    else:
        states = load_itf_states(args.trace, spec)
        loop = data.get("loop") if isinstance(data.get("loop"), int) else None
        trace = Trace(spec, states, infer_steps(spec, states), loop)
    how = "" if named else "; no action names in the file: each step is the first one that fits"
    print(f"Trace {args.trace}: {len(trace.states)} states of {spec.name} ({config.path}){how}")
    for i, step in enumerate(trace.steps):
        label = "Init" if i == 0 else (step.label if step is not None else "(stutter or no step)")
        print(f"  {i + 1:3d}  {label}")
    try:
        replay(spec, trace)
    except ReplayError as e:
        print(f"The trace leaves the spec at {e}")
        return EXIT_VIOLATION
    last = trace.states[-1]
    broken = [p.name for p in spec.invariants if p.fn(last) is False]
    tail = (
        f"; its last state violates {', '.join(broken)}"
        if broken
        else "; its last state violates no invariant"
    )
    loop = "" if trace.loop is None else f" (a lasso back to state {trace.loop + 1})"
    print(f"The trace is a behaviour of the spec{loop}{tail}.")
    return EXIT_OK
