"""Spin against our compiled engine, on the Promela model of the same spec (``spin-check``).

What Spin must say, checked by ``spin_check`` (and ``tests/test_spin.py`` on every matrix cell, the
classic specs and random specs): with ``spin -o2`` (do not hide variables that are only written: Spin
would drop them from the state and merge states) and full state storage, pan's "states, stored" is our
distinct count plus ``extra_states`` (1: the state before Init has run); ``pan -c0`` goes on after
errors, as our BFS does, and reports each violated invariant, and the deadlock, at least once. With
``-DBFS``, pan also stores the states inside ``atomic`` sequences (two per state here), so its
"nominal states" line is the one to compare (pan prints it with 6 significant digits), and the depth
of each first report is ``PromelaModel.bfs_depth`` of our shortest trace (3 of Spin's transitions per
step). Arithmetic is Spin's 32-bit ``int`` (the compiled engine's is 64-bit), which no shipped model
comes near.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from explorer.outputs.export.promela import TYPE_ERROR, export
from explorer.outputs.export.spin import Clock, SpinRun, run_spin
from explorer.runs.workers import run_all
from spec.config import import_model
from spec.lang import Spec, SpecError


@dataclass
class SpinCheck:
    """Spin against our compiled engine on one spec."""

    name: str
    distinct: int = 0  # our count (0 if our engine stopped at an error)
    stored: int = 0  # Spin's (nominal with -DBFS)
    extra: int = 1  # what Spin stores beyond the spec's states
    ours: dict[str, int] = field(default_factory=dict)  # violated property -> our shortest trace length
    spin: dict[str, int] = field(default_factory=dict)  # violated property -> Spin's first-report depth
    our_error: str | None = None  # our engine's type error (it stops there)
    skipped: str | None = None  # why Spin was not run (too many states for the limit given)
    problems: list[str] = field(default_factory=list)  # empty when the two agree
    seconds: dict[str, float] = field(default_factory=dict)  # ours, export, spin, cc, pan: wall-clock
    cpu: dict[str, float] = field(default_factory=dict)  # the same phases' CPU seconds
    run: SpinRun | None = None

    @property
    def agree(self) -> bool:
        return not self.problems


def spin_check(
    spec: Spec,
    name: str,
    workdir: Path | None = None,
    bfs: bool = False,
    check_deadlock: bool = True,
    invariants: Sequence[str] | None = None,
    max_states: int | None = None,
    promela_spec: Spec | None = None,
) -> SpinCheck:
    """Explore spec with our compiled engine and with Spin, and say where they disagree: Spin's stored
    count must be our distinct count plus the model's ``extra_states``, and the two must find the same
    violated invariants and deadlock (a type error: Spin must report one on the same variable). With
    ``-DBFS`` (``bfs``), Spin's depth of each first report must be ``PromelaModel.bfs_depth`` of ours.
    A spec with more than ``max_states`` states is not given to Spin (``skipped`` says so).
    ``promela_spec``: give Spin this spec's model instead (a test's way to see the check fail)."""
    res = SpinCheck(name)
    clock = Clock()
    with clock("export"):  # first: a spec with no Promela reading fails before any search
        model = export(promela_spec or spec, invariants, check_deadlock, report_once=not bfs)
    res.extra = model.extra_states
    try:
        with clock("ours"):
            r = explore_any(
                spec,
                Options(
                    stop_on_first=False,
                    check_deadlock=check_deadlock,
                    invariants=invariants,
                    max_states=max_states,
                ),
                lambda _line: None,
            )
    except SpecError as e:
        m = re.search(r" sets (\w+) to .*, outside ", str(e))
        if m is None:
            raise
        res.our_error = f"{TYPE_ERROR}: {m.group(1)}"
        r = None
    if r is not None:
        if r.stopped == "max-states":
            res.skipped = f"more than {max_states} states"
            res.seconds, res.cpu = clock.wall, clock.cpu
            return res
        if not r.exhausted:
            raise SpecError(f"{name}: our search stopped early ({r.stopped})")
        res.distinct = r.distinct
        res.ours = {v.name: v.depth for v in r.violations}
    with tempfile.TemporaryDirectory(prefix="spin-") as tmp:
        run = run_spin(model, workdir or Path(tmp), bfs=bfs, expected_states=res.distinct or None)
    res.run = run
    res.seconds = {**clock.wall, **run.seconds}
    res.cpu = {**clock.cpu, **run.cpu}
    res.stored = run.stored
    res.spin = dict(run.violations)
    if run.incomplete:
        res.problems.append(f"Spin's search is incomplete: {run.incomplete}")
    if run.unknown:
        res.problems.append(f"Spin reported errors this module cannot name: {run.unknown[0]}")
    if res.our_error is not None:
        spin_types = {k.split("[", 1)[0] for k in res.spin if k.startswith(TYPE_ERROR)}
        if res.our_error not in spin_types:
            res.problems.append(
                f"our engine stops at {res.our_error}; Spin reports {sorted(res.spin) or 'none'}"
            )
        return res
    want = res.distinct + res.extra
    if bfs and run.nominal and "e" in run.nominal:  # too many states for pan's %8g to print exactly
        if run.nominal != f"{want:g}":
            res.problems.append(
                f"Spin's nominal states {run.nominal}, expected {want:g} (ours + {res.extra})"
            )
    elif res.stored != want:
        res.problems.append(
            f"Spin stored {res.stored} states, expected {res.distinct} + {res.extra} (ours + {res.extra})"
        )
    if set(res.spin) != set(res.ours):
        only_spin = sorted(set(res.spin) - set(res.ours))
        only_ours = sorted(set(res.ours) - set(res.spin))
        res.problems.append(f"violations differ: only Spin {only_spin}, only ours {only_ours}")
    if bfs:
        for prop, d in sorted(res.ours.items()):
            want = model.bfs_depth(prop, d)
            if prop in res.spin and res.spin[prop] != want:
                res.problems.append(
                    f"{prop}: Spin's BFS first reports it at depth {res.spin[prop]}, expected {want}"
                    f" (our shortest trace: {d} states)"
                )
    return res


@dataclass(frozen=True)
class Job:
    """A spec to check, named by its model module and constants (so a worker process can build it)."""

    name: str
    module: str
    constants: dict[str, Any]
    check_deadlock: bool = True
    invariants: tuple[str, ...] | None = None


def _check_job(job: Job, bfs: bool, max_states: int | None) -> SpinCheck:
    spec = import_model(job.module).make_spec(**job.constants)
    return spin_check(
        spec,
        job.name,
        bfs=bfs,
        check_deadlock=job.check_deadlock,
        invariants=job.invariants,
        max_states=max_states,
    )


def spin_check_all(
    jobs: Sequence[Job],
    workers: int = 2,
    bfs: bool = False,
    max_states: int | None = None,
    on_done: Callable[[SpinCheck], None] | None = None,
) -> list[SpinCheck]:
    """``spin_check`` on every job, ``workers`` at a time (each job in a worker process: our engine,
    export, spin, cc and pan). Raises KeyboardInterrupt if interrupted."""
    args = [(job, bfs, max_states) for job in jobs]
    done, interrupted = run_all(
        _check_job, args, workers, on_done=None if on_done is None else lambda _i, r: on_done(r)
    )
    if interrupted:
        raise KeyboardInterrupt
    return [r for r in done if r is not None]
