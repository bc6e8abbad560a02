"""The command line: ``python -m explorer <command> ...``, every command in one table.

``COMMANDS`` maps each command's name to its one-line help and the two functions of its module under
``explorer/commands/``: ``add_arguments(parser)`` declares its flags and ``run(args) -> int`` runs it
and returns the exit status (``explorer.cli_common`` lists them; ``bmc`` and ``prove`` share one module,
``commands/smt.py``). Adding a command is a module with those two functions and
a row here. ``run`` may raise ConfigError, SpecError, TraceError or UsageError for bad input; ``main``
turns them into one ``error:`` line and exit status 2 (the traceback only with ``--debug``), and a
Ctrl-C or SIGTERM into exit status 130.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from explorer.cli_common import EXIT_INTERRUPTED, EXIT_NO_MEMORY, EXIT_USAGE, UsageError
from explorer.commands import (
    actions,
    check,
    crosscheck,
    export_promela,
    export_tla,
    liveness,
    matrix,
    queries,
    replay,
    report,
    smt,
    spin_check,
    tlc_check,
)
from explorer.engines.compiled.engine import SearchOutOfMemory, use_cache_under
from explorer.outputs.traces import TraceError
from spec.config import ConfigError
from spec.lang import SpecError


@dataclass(frozen=True)
class Command:
    """A row of the table: the command's one-line help, and its module's two functions."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# name -> what ``--help`` says of it, and its module's functions
COMMANDS: dict[str, Command] = {
    "actions": Command(
        "list every action of a config's spec with the kernel lines it models and why it is one step",
        actions.add_arguments,
        actions.run,
    ),
    "bmc": Command("bounded model checking with Z3 up to a depth", smt.add_bmc_arguments, smt.run_bmc),
    "check": Command(
        "explore every reachable state of a config (BFS), checking invariants", check.add_arguments, check.run
    ),
    "crosscheck": Command(
        "compare BFS and Z3 (layer sizes, violation depths) on every matrix cell",
        crosscheck.add_arguments,
        crosscheck.run,
    ),
    "export-promela": Command(
        "write a config's spec as a Promela model for Spin", export_promela.add_arguments, export_promela.run
    ),
    "export-tla": Command(
        "write a config's spec as a TLA+ module and TLC .cfg", export_tla.add_arguments, export_tla.run
    ),
    "liveness": Command(
        "check the temporal properties of a config under its fairness", liveness.add_arguments, liveness.run
    ),
    "matrix": Command(
        "check every variant x workload against its expected verdicts", matrix.add_arguments, matrix.run
    ),
    "prove": Command(
        "prove an invariant inductive with Z3 (prints PROVED or a CTI)",
        smt.add_prove_arguments,
        smt.run_prove,
    ),
    "queries": Command(
        "answer the RFC's questions with named Z3 queries (SAT trace or UNSAT)",
        queries.add_arguments,
        queries.run,
    ),
    "replay": Command(
        "replay an ITF trace against a config and say where it leaves the spec",
        replay.add_arguments,
        replay.run,
    ),
    "report": Command(
        "write the design-review report (HTML, mailing-list text) from the saved results",
        report.add_arguments,
        report.run,
    ),
    "spin-check": Command(
        "run Spin on configs or matrix cells and compare its counts and violations with ours",
        spin_check.add_arguments,
        spin_check.run,
    ),
    "tlc-check": Command(
        "run TLC on the TLA+ export of configs or matrix cells and compare distinct, generated, depth",
        tlc_check.add_arguments,
        tlc_check.run,
    ),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    # allow_abbrev=False: a misspelt flag (--max-state) is an error, not a guess at --max-states
    parser = _Parser(
        prog="python -m explorer",
        description="A TLA+/TLC-style model checker for Python specs.",
        allow_abbrev=False,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    # Also accepted after the subcommand; SUPPRESS keeps the subparser from overwriting the main flag.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for name in sorted(COMMANDS):
        cmd = COMMANDS[name]
        p = sub.add_parser(name, help=cmd.help, description=cmd.help, parents=[common], allow_abbrev=False)
        cmd.add_arguments(p)
    return parser


class _PipeSafe:
    """stdout that goes quiet once its reader has gone (``... | head``): the command still finishes
    its work (dumps included) and exits with its own status, with no BrokenPipeError traceback."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._go_quiet()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._go_quiet()

    def _go_quiet(self) -> None:
        """Nothing more can be said there; point the descriptor at /dev/null so that the
        interpreter's own final flush stays quiet too."""
        self._closed = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _writable_dir(d: Path, what: str) -> None:
    if d.exists() and not d.is_dir():
        raise UsageError(f"{what} {d}: not a directory")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{what} {d}: cannot create it ({e.strerror})") from None
    if not os.access(d, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {d}: not writable")


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an unusable --out or --report before any work starts (a search of minutes should not
    end in a traceback about its output directory)."""
    if getattr(args, "out", None):
        _writable_dir(Path(args.out), "--out")
    for flag in ("report", "html"):
        value = getattr(args, flag, None)
        if value:
            path = Path(value)
            if path.is_dir():
                raise UsageError(f"--{flag} {path}: is a directory, expected a file name")
            _writable_dir(path.parent, f"--{flag}")


def _interrupt_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM is handled as Ctrl-C: partial results, dumps intact, exit 130


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not isinstance(sys.stdout, _PipeSafe):
        sys.stdout = _PipeSafe(sys.stdout)  # type: ignore[assignment]
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        _check_outputs(args)
        # the compiled engine's libraries go to OUT/native/ ($BPF_CHECKER_CACHE wins); export-tla's
        # --out is the folder of the module it writes, not an output root
        use_cache_under(getattr(args, "out", None) if args.command != "export-tla" else None)
        return COMMANDS[args.command].run(args)
    except (ConfigError, SpecError, TraceError, UsageError, FileNotFoundError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError as e:
        # not bad input: the same command may finish on a larger machine; nothing was reported as
        # holding, and what was written before stays (outputs are replaced whole, never in part)
        if args.debug:
            traceback.print_exc()
        detail = " ".join(str(e).split())
        if not isinstance(e, SearchOutOfMemory):  # Python's own: no message, or not saying what ran out
            detail = f"out of memory{': ' + detail if detail else ''}"
        print(f"error: {detail}", file=sys.stderr)
        return EXIT_NO_MEMORY
    except KeyboardInterrupt:
        # explore() handles Ctrl-C itself; this is one that arrived while loading or printing.
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _one_line(e: BaseException) -> str:
    if isinstance(e, FileNotFoundError) and e.filename is not None:
        return f"{e.filename}: no such file"
    return " ".join(str(e).split()) or type(e).__name__
