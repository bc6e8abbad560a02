"""The command line: ``python -m explorer <subcommand> ...``.

Exit status, for every subcommand:
* 0: every checked property holds (or the search stopped at a limit without finding a violation; the
  output says the search was incomplete);
* 1: a property is violated;
* 2: bad input (config, spec, unknown invariant, missing file, bad flag): one line ``error: ...`` on
  stderr, and no traceback unless ``--debug``;
* 130: interrupted by Ctrl-C; the partial statistics, and any violation found so far, are printed.

Adding a subcommand: in your own module define ``add_arguments(parser)`` and ``run(args) -> int``, call
``register("name", "one-line help", add_arguments, run)`` at import time, and list the module in
``PLUGIN_MODULES`` (a listed module that does not exist yet is skipped). ``run`` may raise ConfigError,
SpecError, TraceError or UsageError for bad input; ``main`` turns them into exit status 2. The helpers
``load``, ``print_statistics``, ``print_coverage`` and ``dump_violation`` are meant to be shared.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tabulate import tabulate

from explorer.cli_common import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VIOLATION,
    UsageError,
    add_engine_option,
    add_invariants_option,
    add_set_option,
    check_invariant_names,
    load,
    positive_float,
    positive_int,
)
from explorer.engines.bfs import DEADLOCK, ModelError, Options, Result, Violation
from explorer.engines.compiled.engine import explore_any
from explorer.outputs.traces import TraceError, format_text, write_trace
from spec.config import Config, ConfigError
from spec.lang import SpecError

PLUGIN_MODULES = (
    "explorer.runs.matrix.cells",
    "explorer.engines.liveness.check",
    "explorer.runs.crosscheck",
    "explorer.commands.smt",
    "explorer.runs.queries.catalogue",
    "explorer.commands.replay",
    "explorer.outputs.export.promela",
    "explorer.commands.report",
    "explorer.outputs.export.tla",
)


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def register(
    name: str,
    help: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
) -> None:
    """Make ``python -m explorer <name>`` call ``run(args)`` with the arguments ``add_arguments`` declares."""
    COMMANDS[name] = Command(help, add_arguments, run)


# --------------------------------------------------------------------------- shared helpers


def violation_title(v: Violation) -> str:
    """The first line of a counterexample, in TLC's words, followed by the property's rationale."""
    head = "Deadlock reached." if v.name == DEADLOCK else f"Invariant {v.name} is violated."
    return f"{head}\n{v.doc}" if v.doc else head


def dump_violation(v: Violation, out_dir: Path) -> list[Path]:
    """Write ``out_dir/<violation>.{txt,itf.json,dot}``."""
    return write_trace(v.trace, out_dir / v.name, violation_title(v))


_STOPPED = {
    None: "every reachable state explored",
    "violation": "stopped at the first violation",
    "max-states": "stopped at the state limit (search incomplete)",
    "max-seconds": "stopped at the time limit (search incomplete)",
    "interrupted": "interrupted (search incomplete)",
}


def print_statistics(res: Result, file: IO[str] | None = None) -> None:
    rate = res.distinct / res.seconds if res.seconds > 0 else 0.0
    rows = [
        ("distinct states", res.distinct),
        ("states generated", res.generated),
        ("depth", res.depth),
        ("left on queue", res.queue_left),
        ("seconds", f"{res.seconds:.2f}"),
        ("distinct/s", f"{rate:.0f}"),
    ]
    print(f"Search: {_STOPPED.get(res.stopped, res.stopped)}.", file=file)
    print(tabulate(rows, tablefmt="plain", disable_numparse=True), file=file)


def print_coverage(res: Result, file: IO[str] | None = None) -> None:
    """TLC's per-action coverage; an action that never fired often means a wrong guard."""
    rows = [(name, gen, dist) for name, (gen, dist) in res.coverage.items()]
    print(tabulate(rows, headers=["action", "generated", "distinct"], tablefmt="simple"), file=file)
    never = [name for name, (gen, _) in res.coverage.items() if gen == 0]
    if never and res.exhausted:
        print(f"Never enabled: {', '.join(never)}", file=file)
    elif never:
        print(f"Not enabled in the part explored: {', '.join(never)}", file=file)


# --------------------------------------------------------------------------- check


def describe_engine(res: Result) -> str:
    """One line: which engine produced res (and what compiling it cost)."""
    lib = getattr(res, "native", None)
    if lib is None:
        return "Engine: python (explorer.bfs)"
    how = f"compiled in {lib.compile_seconds:.1f}s" if lib.compile_seconds else "cached"
    return f"Engine: native (C, {how}: {lib.path.with_suffix('.c')})"


def add_check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a config file (TOML), e.g. spec/configs/<name>.toml")
    add_engine_option(p)
    p.add_argument(
        "--workers", type=positive_int, default=1, metavar="N",
        help="threads of the native search (same counts and traces as one; default 1)",
    )  # fmt: skip
    p.add_argument(
        "--symmetry", action="store_true",
        help="store one state per orbit under the spec's declared symmetry (native engine; counts orbits,"
        " traces stay concrete)",
    )  # fmt: skip
    p.add_argument("--no-deadlock", action="store_true", help="do not report deadlocks")
    p.add_argument(
        "--continue",
        dest="keep_going",
        action="store_true",
        help="keep exploring after a violation (reports the first of each kind)",
    )
    p.add_argument("--max-states", type=positive_int, metavar="N", help="stop after N distinct states")
    p.add_argument("--max-seconds", type=positive_float, metavar="S", help="stop after S seconds")
    add_invariants_option(p)
    add_set_option(p)
    p.add_argument("--out", default="out", metavar="DIR", help="where dumps go: DIR/<config>/ (default: out)")


def run_check(args: argparse.Namespace) -> int:
    config, spec = load(args.config, args.overrides)
    invariants = args.invariants if args.invariants is not None else config.check.invariants
    if invariants is not None:
        check_invariant_names(spec, invariants)
    # A config's [expect] needs every property's verdict, not only the first violation's.
    opts = Options(
        check_deadlock=config.check.deadlock and not args.no_deadlock,
        stop_on_first=not args.keep_going and not config.expect,
        max_states=args.max_states if args.max_states is not None else config.check.max_states,
        max_seconds=args.max_seconds if args.max_seconds is not None else config.check.max_seconds,
        invariants=invariants,
    )
    checked = invariants if invariants is not None else [p.name for p in spec.invariants]
    shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in config.constants.items())  # TOML-like: true, "x"
    print(f"Checking {config.name} ({config.module}{f': {shown}' if shown else ''})")
    deadlock = "checked" if opts.check_deadlock else "ignored"
    print(f"Invariants: {', '.join(checked) or 'none'}; deadlock: {deadlock}")
    out_dir = Path(args.out) / config.name
    try:
        res = explore_any(spec, opts, engine=args.engine, symmetry=args.symmetry, threads=args.workers)
    except ModelError as e:
        paths = write_trace(e.trace, out_dir / "ModelError", f"Error: {e}")
        raise SpecError(f"{e}; the trace to it: {paths[0]}") from e
    print(describe_engine(res) + (" with symmetry reduction" if args.symmetry else ""))
    for v in res.violations:
        print()
        print(format_text(v.trace, "Error: " + violation_title(v)))
        paths = dump_violation(v, out_dir)
        print(f"Wrote {', '.join(str(p) for p in paths)}")
    print()
    print_statistics(res)
    print()
    print_coverage(res)
    if res.stopped == "interrupted":
        return EXIT_INTERRUPTED
    if config.expect and res.exhausted:
        return _against_expectations(config, res, {*checked, *([DEADLOCK] if opts.check_deadlock else [])})
    if res.violations:
        return EXIT_VIOLATION
    if res.stopped in ("max-states", "max-seconds"):
        limit = f"{opts.max_states} states" if res.stopped == "max-states" else f"{opts.max_seconds} s"
        print(f"incomplete: stopped at {limit}; no violation among the {res.distinct} states explored.")
        return EXIT_INCOMPLETE
    print("No violation found.")
    return EXIT_OK


def _against_expectations(config: Config, res: Result, checked: set[str]) -> int:
    """Compare an exhaustive search with the config's [expect]: exit 0 when every verdict of the
    properties ``checked`` is the expected one (a violation that is expected is not an error), 1
    otherwise."""
    found = {v.name for v in res.violations}
    print()
    if not found:
        print("No violation found.")
    wrong = 0
    for name, want in config.expect.items():
        if name not in checked:
            print(f"  {name}: expected {want}; not checked by this run (a temporal property, or left out)")
            continue
        got = "violated" if name in found else "holds"
        wrong += got != want
        print(f"  {name}: {got}" + (" (as expected)" if got == want else f" (UNEXPECTED: expected {want})"))
    unexpected = sorted(found - set(config.expect))
    for name in unexpected:
        print(f"  {name}: violated (UNEXPECTED: no expectation)")
    if wrong or unexpected:
        print("Verdicts differ from the config's [expect].")
        return EXIT_VIOLATION
    print("Every verdict is as expected.")
    return EXIT_OK


register(
    "check",
    "explore every reachable state of a config (BFS), checking invariants",
    add_check_arguments,
    run_check,
)


# --------------------------------------------------------------------------- main


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)


def _load_plugins() -> None:
    for name in PLUGIN_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:  # the module exists but imports something missing: a real error
                raise


def build_parser() -> argparse.ArgumentParser:
    _load_plugins()
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
        return COMMANDS[args.command].run(args)
    except (ConfigError, SpecError, TraceError, UsageError, FileNotFoundError, MemoryError) as e:
        if args.debug:
            traceback.print_exc()
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # explore() handles Ctrl-C itself; this is one that arrived while loading or printing.
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _one_line(e: BaseException) -> str:
    if isinstance(e, FileNotFoundError) and e.filename is not None:
        return f"{e.filename}: no such file"
    return " ".join(str(e).split()) or type(e).__name__
