"""What every command shares: exit statuses, argument types and options, ``UsageError``, ``load``.

It sits below the command modules and the library code that raises ``UsageError`` (the TLA+ and Spin
exports), and reads only ``spec/``: importing it never loads an engine.

Exit status, for every command:
* 0: every checked property holds (or, with expectations, every verdict is the expected one);
* 1: a property is violated (or a verdict differs from its expectation);
* 2: bad input (config, spec, unknown invariant, missing file, bad flag): one line ``error: ...`` on
  stderr, and no traceback unless ``--debug``;
* 3: an incomplete search (``check`` stopped at a limit with no violation among the states explored, or
  a partition of its ``--cluster`` search died);
* 4: out of memory (or more states than the compiled store numbers): one line with what was explored;
* 130: interrupted by Ctrl-C; the partial statistics, and any violation found so far, are printed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from spec.config import Config, build_spec, load_config, parse_overrides
from spec.lang import Spec

EXIT_OK, EXIT_VIOLATION, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_NO_MEMORY, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


class UsageError(Exception):
    """Bad input that is not a config or spec error (unknown invariant, bad flag value, ...)."""


def load(config_path: str | Path, overrides: Sequence[str] = ()) -> tuple[Config, Spec]:
    """Read a config, apply ``--set`` values (checked against the model's PARAMS, ranges included) and
    build its spec (ConfigError / SpecError on bad input)."""
    config = load_config(config_path)
    config.constants.update(parse_overrides(config, list(overrides)))
    return config, build_spec(config)


def check_invariant_names(spec: Spec, names: Sequence[str]) -> None:
    """UsageError naming the first of ``names`` that is no invariant of ``spec``."""
    known = [p.name for p in spec.invariants]
    for n in names:
        if n not in known:
            raise UsageError(f"spec {spec.name} has no invariant {n} (known: {', '.join(known) or 'none'})")


# --------------------------------------------------------------------------- argument types


def _int_at_least(lo: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer >= lo, else "expected <what>, got '<s>'"."""

    def parse(s: str) -> int:
        try:
            n = int(s)
        except ValueError:
            n = lo - 1
        if n < lo:
            raise argparse.ArgumentTypeError(f"expected {what}, got {s!r}")
        return n

    return parse


positive_int = _int_at_least(1, "a positive integer")
natural = _int_at_least(0, "a whole number >= 0")


def positive_float(s: str) -> float:
    """An argparse type: a number > 0."""
    try:
        x = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s!r}") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {s!r}")
    return x


# --------------------------------------------------------------------------- options


def add_set_option(p: argparse.ArgumentParser) -> None:
    """``--set NAME=VALUE`` (repeatable) into ``args.overrides``."""
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
        help="override a constant of the config (checked as the config's own values are)",
    )  # fmt: skip


def add_invariants_option(p: argparse.ArgumentParser) -> None:
    """``--invariant NAME ...`` into ``args.invariants`` (None: the config's list, else all)."""
    p.add_argument(
        "--invariant",
        dest="invariants",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="check only these invariants (default: the config's list, else all of the spec's)",
    )


ENGINES = ("native", "python")


def add_engine_option(p: argparse.ArgumentParser) -> None:
    """``--engine native|python`` into ``args.engine``."""
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="native",
        help="native: the spec compiled to C (default; falls back to python, with a notice, where no C"
        " compiler exists); python: the reference engine",
    )


def expectations_outcome(wrong: int, unexpected: Sequence[str]) -> int:
    """The end of a comparison with a config's [expect] (check, liveness): each violation with no
    expectation, one summary line, and the exit status."""
    for name in unexpected:
        print(f"  {name}: violated (UNEXPECTED: no expectation)")
    if wrong or unexpected:
        print("Verdicts differ from the config's [expect].")
        return EXIT_VIOLATION
    print("Every verdict is as expected.")
    return EXIT_OK
