"""``python -m explorer actions CONFIG``: every action of a config's spec with the kernel lines it models.

For each action (in the spec's order): the kernel source it cites (its tag, the upstream version the
code is from, and whether the copy that was read is an upstream commit), the function and the lines of
it the step covers, and why those lines are one step (``spec.lang.cites``). Then the sources the spec
lists. Exit 1 if an action cites nothing or names a source the spec does not list (``--strict`` makes
an unverified line a failure too), so a reader can run it on any configuration.
"""

from __future__ import annotations

import argparse
import textwrap

from explorer.cli_common import EXIT_OK, EXIT_VIOLATION, add_set_option, load
from spec.lang import Spec


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="a model configuration (TOML)")
    p.add_argument("--strict", action="store_true", help="also fail on a citation marked unverified")
    add_set_option(p)


def problems(spec: Spec, strict: bool = False) -> list[str]:
    """Every action without a citation, with an empty reason, or naming an unknown source."""
    out = []
    for a in spec.actions:
        if not a.cites:
            out.append(f"{a.name}: cites no kernel lines")
        for c in a.cites:
            if not c.atomic.strip():
                out.append(f"{a.name}: says nothing of why {c.function} is one step")
            if c.source and c.source not in spec.sources:
                out.append(f"{a.name}: cites source {c.source!r}, which the spec does not list")
            if strict and "unverified" in c.lines:
                out.append(f"{a.name}: {c.function}: {c.lines}")
    return out


def run(args: argparse.Namespace) -> int:
    _config, spec = load(args.config, args.overrides)
    wrap = textwrap.TextWrapper(width=110, initial_indent="    ", subsequent_indent="    ")
    for a in spec.actions:
        print(a.name)
        for c in a.cites:
            src = spec.sources.get(c.source)
            where = f"{c.source} ({src.path} @ {src.version})" if src else (c.source or "no kernel code")
            print(wrap.fill(f"{where}: {c.function}: {c.lines}"))
            print(wrap.fill(f"one step: {c.atomic}"))
    if spec.sources:
        print("\nSources:")
        for tag, src in spec.sources.items():
            confirm = "" if src.upstream else f"; not an upstream copy: confirm against {src.version}"
            print(wrap.fill(f"{tag}: {src.path} @ {src.version}, read from {src.read_from}{confirm}"))
    bad = problems(spec, args.strict)
    for line in bad:
        print(f"MISSING {line}")
    return EXIT_VIOLATION if bad else EXIT_OK
