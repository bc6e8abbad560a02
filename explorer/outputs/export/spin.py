"""Running Spin on a Promela model: ``spin -o2 -a``, ``cc`` on pan.c, an exhaustive ``pan -c0``, and
pan's report read back (``SpinRun``: its counts, the properties it found violated, the time taken).

pan's error lines name an invariant by the number its assert is tagged with (``PromelaModel.tags``)
and a deadlock as an "invalid end state". ``SpinUnavailable`` without spin or a C compiler.
"""

from __future__ import annotations

import collections
import os
import re
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from explorer.cli_common import UsageError
from explorer.engines.bfs import DEADLOCK
from explorer.outputs.export.promela import PromelaModel, promela_type
from spec.lang import SpecError


class SpinUnavailable(Exception):
    """spin or a C compiler is not installed (one line saying which)."""


CC_FLAGS = ("-w", "-DSAFETY", "-DNOREDUCE")
# -DSAFETY: safety properties only (no cycle detection, so a smaller and faster pan); -DNOREDUCE: no
# partial order reduction (one process: nothing to reduce, and the count stays the plain reachable set).
BIG = 1_000_000  # from this many states on, pan.c is compiled with -O1 (else -O0), see CC_OPT
CC_OPT = ("-O0", "-O1")  # measured: -O0 compiles pan.c in 0.8 s, -O1 in 1.8 s and searches 25% faster
_ERROR = re.compile(r"^pan:\d+: (.*) \(at depth (\d+)\)$")
_TAGGED = re.compile(r"^assertion violated \(?(\d+)&&")


def spin_tools() -> tuple[str, str]:
    """The spin and C compiler executables; SpinUnavailable if either is missing."""
    spin = shutil.which("spin")
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if spin is None:
        raise SpinUnavailable("spin is not installed (Debian: apt-get install spin)")
    if cc is None:
        raise SpinUnavailable("no C compiler (cc or $CC) to compile Spin's pan.c")
    return spin, cc


class Clock:
    """Wall-clock and CPU seconds (this process and its finished children) per named phase."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @staticmethod
    def _cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        w0, c0 = time.perf_counter(), self._cpu()
        try:
            yield
        finally:
            self.wall[phase] = self.wall.get(phase, 0.0) + time.perf_counter() - w0
            self.cpu[phase] = self.cpu.get(phase, 0.0) + self._cpu() - c0


@dataclass
class SpinRun:
    """What Spin said about a model: counts, the properties it found violated, and the time taken."""

    stored: int = 0  # "states, stored" (with -DBFS: the nominal states, those outside atomic sequences)
    stored_raw: int = 0  # "states, stored" as printed
    nominal: str = ""  # -DBFS: the "nominal states" figure as printed (pan's %8g: 6 significant digits)
    transitions: int = 0
    depth_reached: int = 0
    errors: int = 0
    vector_bytes: int = 0
    # property (an invariant, "Deadlock", or "TypeError: <leaf>") -> the depth of its first report
    violations: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # error messages that are none of the above
    incomplete: str | None = None  # why the search is not exhaustive (depth limit, memory)
    seconds: dict[str, float] = field(default_factory=dict)  # spin, cc, pan: wall-clock seconds
    cpu: dict[str, float] = field(default_factory=dict)  # the same phases' CPU seconds
    command: str = ""  # the pan command line
    output: str = ""  # pan's output without its progress and error lines


def _int(pattern: str, text: str) -> int:
    m = re.search(pattern, text, re.M)
    return int(m.group(1)) if m else 0


class _PanReader:
    """Reads pan's output line by line: a -c0 search of a model without report-once flags can print
    an error line per violating state (tens of millions), so no line is kept but the first of each."""

    def __init__(self, model: PromelaModel, bfs: bool):
        self.model = model
        self.bfs = bool(bfs)
        self.run = SpinRun()
        self.head: list[str] = []  # the first lines and the last ones (the statistics come last)
        self.tail: collections.deque[str] = collections.deque(maxlen=200)

    def line(self, line: str) -> None:
        line = line.rstrip("\n")
        m = _ERROR.match(line)
        if m is None:
            if not line.startswith("Depth="):
                (self.head if len(self.head) < 50 else self.tail).append(line)
            return
        msg, depth = m.group(1), int(m.group(2))
        tag = _TAGGED.match(msg)
        if msg == "invalid end state":
            name = DEADLOCK
        elif tag and int(tag.group(1)) in self.model.tags:
            name = self.model.tags[int(tag.group(1))]
        else:
            if msg not in self.run.unknown and len(self.run.unknown) < 20:
                self.run.unknown.append(msg[:300])
            return
        run = self.run
        run.violations[name] = min(depth, run.violations.get(name, depth))

    def finish(self) -> SpinRun:
        run = self.run
        out = run.output = "\n".join([*self.head, *self.tail])
        run.stored_raw = _int(r"^\s*(\d+) states, stored", out)
        m = re.search(r"^\s*(\S+) nominal states", out, re.M)
        run.nominal = m.group(1) if m else ""
        if self.bfs and m:
            # printed with %8g: exact below 10^6 states only (1055790 comes out as 1.05579e+06)
            run.stored = round(float(run.nominal))
        else:
            run.stored = run.stored_raw
        run.transitions = _int(r"^\s*(\d+) transitions", out)
        run.depth_reached = _int(r"depth reached (\d+)", out)
        run.errors = _int(r"errors: (\d+)", out)
        run.vector_bytes = _int(r"State-vector (\d+) byte", out)
        if "max search depth too small" in out:
            run.incomplete = "max search depth too small"
        elif (
            re.search(r"out of memory|MEMLIM|memory limit|aborting", out, re.I)
            and "Full statespace" not in out
        ):
            run.incomplete = "out of memory"
        elif "Full statespace search" not in out:
            run.incomplete = "no statistics in pan's output: " + " ".join(out.split())[-200:]
        return run


def parse_pan(output: str, model: PromelaModel, bfs: bool = False) -> SpinRun:
    """Read pan's report: the counts and, from the error lines, the violated properties."""
    reader = _PanReader(model, bfs)
    for line in output.splitlines():
        reader.line(line)
    return reader.finish()


def run_spin(
    model: PromelaModel,
    workdir: Path,
    bfs: bool = False,
    expected_states: int | None = None,
    memlim_mb: int = 8192,
    collapse: bool = False,
    cc_opt: str | None = None,
) -> SpinRun:
    """Write the model to workdir, generate pan.c (``spin -o2 -a``), compile it and search exhaustively
    with ``pan -c0`` (every error reported, the search goes on). ``expected_states`` sizes the hash
    table and the depth limit of a DFS, and picks -O0 or -O1; a DFS that reaches its depth limit is run
    again with four times the limit. SpinUnavailable without spin or cc; SpecError if spin or cc fail."""
    if bfs and model.report_once:
        raise UsageError("a -DBFS search needs a model exported with report_once=False (no hidden variables)")
    spin, cc = spin_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    pml = model.write(workdir / "model.pml")
    clock = Clock()
    with clock("spin"):
        _run([spin, "-o2", "-a", pml.name], workdir, "spin -a")
    n = expected_states or 1 << 20
    opt = cc_opt or CC_OPT[(expected_states or 0) >= BIG]
    flags = [opt, *CC_FLAGS, f"-DMEMLIM={memlim_mb}"]
    vector = sum({"bit": 1, "byte": 1, "short": 2, "int": 4}[promela_type(lf)] for lf in model.leaves)
    vector += 4 * model.temps + 64
    if vector > 1000:  # pan's default VECTORSZ is 1024 bytes
        flags.append(f"-DVECTORSZ={2 * vector}")
    flags += ["-DBFS"] if bfs else []
    flags += ["-DCOLLAPSE"] if collapse else []
    with clock("cc"):
        _run([cc, *flags, "-o", "pan", "pan.c"], workdir, "cc pan.c")
    hash_bits = max(18, min(30, (2 * n).bit_length()))
    # measured: a DFS goes at most n/10 deep (atomic steps included). A BFS is bounded by the same -m
    # (pan's default, 10,000, is too small where Spin goes on past a type error that ours stops at:
    # a short that wraps around walks through 65,536 values)
    depth = max(100_000, n // 4)
    while True:
        args = ["./pan", "-c0", "-n", f"-w{hash_bits}", f"-m{depth}"]
        args += [] if model.check_deadlock else ["-E"]
        reader = _PanReader(model, bfs)
        with (
            clock("pan"),
            subprocess.Popen(
                args,
                cwd=workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            ) as proc,
        ):
            assert proc.stdout is not None
            for line in proc.stdout:
                reader.line(line)
        run = reader.finish()
        run.command = " ".join(args)
        if run.incomplete == "max search depth too small" and depth < 1 << 30:
            depth *= 4
            continue
        break
    run.seconds, run.cpu = clock.wall, clock.cpu
    return run


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        tail = " ".join((r.stderr + r.stdout).split())[-300:]
        raise SpecError(f"{what} failed (exit {r.returncode}): {tail}")
    return r.stdout + r.stderr
