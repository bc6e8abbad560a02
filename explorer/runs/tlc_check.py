"""TLC against our compiled engine, on the TLA+ module of the same spec (``tlc-check``).

Each spec is exported (``explorer/outputs/export/tla.py``) with a configuration of its own for the state
space alone: ``INIT Init``, ``NEXT Next``, the spec's state constraint, deadlock not checked, no
invariant (TLC would stop at the first violation). TLC explores it; our compiled engine explores the
spec with TLC's counting of "states generated" (``explorer/engines/tlc_count.py``). Distinct states,
states generated and the depth must be equal. Our engine reads the guards as the spec built them and TLC
reads them as the export printed them (simplified by Z3), so a generated count that differs names a
guard whose disjunctions the simplification changed, or a bug in one of the two readings. Each of the
spec's refinements (``Spec.refines``) is then checked by TLC alone, as the export's PROPERTY: it must
hold where ours holds, and fail where ours fails, with a behaviour of the same length (both are
shortest: TLC's safety checking is breadth-first too).

TLC is not on any package registry this project can use: ``TLA2TOOLS_JAR`` (or ``--jar``) names a
tla2tools.jar, and ``java`` must be on the PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from explorer.engines.bfs import Options
from explorer.engines.compiled.engine import explore_any
from explorer.engines.refinement import check_refinements
from explorer.outputs.export.tla import export
from explorer.runs.spin_check import Job
from explorer.runs.workers import run_all
from spec.config import import_model
from spec.lang import Spec, SpecError

_COUNTS = re.compile(r"^([\d,]+) states generated, ([\d,]+) distinct states found", re.M)
_DEPTH = re.compile(r"depth of the complete state graph search is (\d+)")
MODULE = "Model"  # every spec is exported under this name, in a folder of its own


class TlcUnavailable(Exception):
    """No tla2tools.jar, or no java: one line."""


def tlc_jar(jar: str | None = None) -> str:
    """The tla2tools.jar to run (``jar``, else ``$TLA2TOOLS_JAR``); raises TlcUnavailable."""
    path = jar or os.environ.get("TLA2TOOLS_JAR", "")
    if not path:
        raise TlcUnavailable("TLC needs a tla2tools.jar: give --jar JAR or set TLA2TOOLS_JAR")
    if not Path(path).is_file():
        raise TlcUnavailable(f"no tla2tools.jar at {path}")
    if shutil.which("java") is None:
        raise TlcUnavailable("TLC needs java on the PATH")
    return path


@dataclass
class TlcCheck:
    """TLC against our compiled engine on one spec: (distinct, generated, depth) of each."""

    name: str
    ours: tuple[int, int, int] = (0, 0, 0)
    tlc: tuple[int, int, int] = (0, 0, 0)
    # each refinement (Spec.refines): the length of our shortest counterexample and of TLC's (0: holds)
    refinements: dict[str, tuple[int, int]] = field(default_factory=dict)
    skipped: str | None = None  # why TLC was not run (too many states for the limit given)
    problems: list[str] = field(default_factory=list)  # empty when the two agree
    seconds: dict[str, float] = field(default_factory=dict)  # ours, tlc: wall-clock

    @property
    def agree(self) -> bool:
        return not self.problems


def tlc_check(
    spec: Spec,
    name: str,
    jar: str,
    workdir: Path | None = None,
    max_states: int | None = None,
    workers: int = 1,
    tla_spec: Spec | None = None,
) -> TlcCheck:
    """Explore spec with our compiled engine (in TLC's counting) and with TLC, and say where they
    disagree. ``tla_spec``: give TLC this spec's module instead (a test's way to see the check fail)."""
    res = TlcCheck(name)
    spec.counting = "tlc"
    t0 = time.perf_counter()
    keep = bool(spec.refinements)
    r = explore_any(
        spec,
        Options(stop_on_first=False, check_deadlock=False, max_states=max_states, keep_graph=keep),
        lambda _l: None,
    )
    res.seconds["ours"] = time.perf_counter() - t0
    if r.stopped == "max-states":
        res.skipped = f"more than {max_states} states"
        return res
    if not r.exhausted:
        raise SpecError(f"{name}: our search stopped early ({r.stopped})")
    res.ours = (r.distinct, r.generated, r.depth)
    ours_broken = {v.name: len(v.trace.states) for v in check_refinements(r)} if keep else {}
    mod = export(tla_spec or spec, MODULE, deadlock=False)
    constraint = re.search(r"^CONSTRAINT (\S+)", mod.cfg, re.M)
    with tempfile.TemporaryDirectory(prefix="tlc-") as tmp:
        where = workdir or Path(tmp)
        mod.write(where)
        cfg = "INIT Init\nNEXT Next\nCHECK_DEADLOCK FALSE\n"
        cfg += f"CONSTRAINT {constraint.group(1)}\n" if constraint else ""
        t0 = time.perf_counter()
        run = _tlc(jar, where, cfg, workers)
        # each refinement alone, TLC's PROPERTY (the safety part of Spec => A!Spec), on one worker: so
        # its counterexample is a shortest one, as ours is
        for ref in spec.refinements:
            tlc_run = _tlc(
                jar,
                where,
                cfg.replace("INIT Init\nNEXT Next", "SPECIFICATION Spec") + f"PROPERTY {ref.name}\n",
                1,
            )
            steps = len(re.findall(r"^State \d+: ", tlc_run.stdout, re.M))
            if "is violated" not in tlc_run.stdout and "No error has been found" not in tlc_run.stdout:
                res.problems.append(f"{ref.name}: TLC did not finish: {_tail(tlc_run)}")
            res.refinements[ref.name] = (
                ours_broken.get(ref.name, 0),
                steps if "is violated" in tlc_run.stdout else 0,
            )
        res.seconds["tlc"] = time.perf_counter() - t0
    for ref_name, (ours_len, tlc_len) in res.refinements.items():
        if ours_len != tlc_len:
            res.problems.append(
                f"{ref_name}: ours {'holds' if not ours_len else f'fails in {ours_len} states'}, "
                f"TLC {'holds' if not tlc_len else f'fails in {tlc_len} states'}"
            )
    counts, depth = _COUNTS.findall(run.stdout), _DEPTH.findall(run.stdout)
    if not counts or not depth or "Model checking completed" not in run.stdout:
        res.problems.append(f"TLC did not finish: {_tail(run)}")
        return res
    generated, distinct = (int(x.replace(",", "")) for x in counts[-1])
    res.tlc = (distinct, generated, int(depth[-1]))
    for what, ours, theirs in zip(("distinct", "generated", "depth"), res.ours, res.tlc, strict=True):
        if ours != theirs:
            res.problems.append(f"{what}: ours {ours}, TLC {theirs}")
    return res


def _tlc(jar: str, where: Path, cfg: str, workers: int) -> subprocess.CompletedProcess:
    """TLC on the module in ``where`` under configuration ``cfg``."""
    (where / f"{MODULE}.cfg").write_text(cfg, encoding="utf-8")
    return subprocess.run(
        ["java", f"-Djava.io.tmpdir={where}", "-XX:+UseParallelGC", "-cp", jar, "tlc2.TLC",
         "-workers", str(workers), "-metadir", str(where / "states"), MODULE],
        cwd=where, capture_output=True, text=True, check=False,
    )  # fmt: skip


def _tail(run: subprocess.CompletedProcess) -> str:
    return " ".join(run.stdout.strip().splitlines()[-3:]) or run.stderr.strip()[-300:]


def _check_job(job: Job, jar: str, max_states: int | None, workers: int) -> TlcCheck:
    spec = import_model(job.module).make_spec(**job.constants)
    return tlc_check(spec, job.name, jar, max_states=max_states, workers=workers)


def tlc_check_all(
    jobs: Sequence[Job],
    jar: str,
    jobs_at_once: int = 1,
    max_states: int | None = None,
    tlc_workers: int = 1,
    on_done: Callable[[TlcCheck], None] | None = None,
) -> list[TlcCheck]:
    """``tlc_check`` on every job, ``jobs_at_once`` at a time, each in a worker process. Raises
    KeyboardInterrupt if interrupted."""
    args = [(job, jar, max_states, tlc_workers) for job in jobs]
    done, interrupted = run_all(
        _check_job, args, jobs_at_once, on_done=None if on_done is None else lambda _i, r: on_done(r)
    )
    if interrupted:
        raise KeyboardInterrupt
    return [r for r in done if r is not None]
