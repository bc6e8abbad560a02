"""The layout of ``explorer/``: arrows go down only, and there is no circle of imports.

Every module under ``explorer/`` is parsed with ``ast`` (nothing is imported) and every import it
makes is an edge, those inside functions included (a lazy import is still an arrow). The rooms, from
the bottom: ``spec/`` (read by all), ``explorer/cli_common.py`` (exit statuses, argument types,
``UsageError``, ``load``), ``explorer/engines/`` (the engines that read a Spec), ``explorer/runs/`` and
``explorer/outputs/`` (what runs many searches, what writes results), ``explorer/commands/`` (one module
per command) and ``explorer/cli.py`` (the table of every command) on top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "explorer"
# What explorer/ may import from spec/ at module level: the language (spec.values among it: the set,
# sequence, record-set and tuple-set idioms, whose Enums the TLA+ export prints as TLA+ values), the
# config reader and the symmetry machinery. Every other module of spec/ is a model or a part of one
# (spec.delayed_work, spec.bpf_async, spec.bpf_task_work, spec.kernel.*), loaded by name through
# spec.config.import_model; invariants/ holds a model's properties and lemmas, loaded the same way.
SPEC_MACHINERY = {
    "spec",
    "spec.lang",
    "spec.terms",
    "spec.values",
    "spec.temporal",
    "spec.config",
    "spec.symmetry",
    "spec.kernel.kconfig",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """(module imported, line, at module level) for every import in the file, lazy ones included. For
    ``from a.b import c`` the module is ``a.b.c`` when that is a module of ours, else ``a.b``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]

    def walk(node: ast.AST, top: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, top
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    yield (sub if sub in MODULES else base), child.lineno, top
            else:
                inner = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                yield from walk(child, top and not inner)

    yield from walk(tree, True)


def graph() -> dict[str, set[str]]:
    """Our modules -> the modules of ours each imports (the parent packages an import runs included)."""
    out: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _line, _top in imports(path):
            parts = target.split(".")
            for k in range(1, len(parts) + 1):
                prefix = ".".join(parts[:k])
                if prefix in MODULES and prefix != name:
                    out[name].add(prefix)
    return out


def room(name: str) -> str:
    """The room a module of ours is in: engines, runs, outputs, commands, cli_common, cli, ..."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_the_modules_and_their_imports_are_found():
    g = graph()
    assert len(MODULES) > 40
    assert "explorer.engines.bfs" in g["explorer.engines.compiled.engine"]
    assert "explorer.commands.check" in g["explorer.cli"]
    # a lazy import counts: comparison_markdown imports invariants.common inside the function
    lazy = [(t, top) for t, _, top in imports(MODULES["explorer.outputs.report.markdown"])]
    assert ("invariants.common", False) in lazy


def test_no_circle_of_imports():
    g = graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v: str) -> None:
        state[v] = 1
        path.append(v)
        for w in sorted(g[v]):
            if state.get(w) == 1:
                circles.append([*path[path.index(w) :], w])
            elif w not in state:
                visit(w)
        path.pop()
        state[v] = 2

    for v in sorted(g):
        if v not in state:
            visit(v)
    assert not circles, "circles of imports:\n" + "\n".join(" -> ".join(c) for c in circles)


def arrows_from(rooms: set[str]) -> Iterator[tuple[str, int, str]]:
    for name, path in MODULES.items():
        if room(name) in rooms:
            for target, line, _top in imports(path):
                yield name, line, target


@pytest.mark.parametrize(
    "rooms, allowed",
    [
        ({"engines"}, {"engines"}),  # engines read spec/, never what runs or shows them
        ({"cli_common"}, set()),  # below every user of it: reads spec/ only
        ({"runs", "outputs"}, {"engines", "runs", "outputs", "cli_common"}),
        ({"commands"}, {"engines", "runs", "outputs", "cli_common", "commands"}),
    ],
    ids=["engines", "cli_common", "runs-outputs", "commands"],
)
def test_arrows_go_down_only(rooms, allowed):
    bad = [
        f"{name}:{line} imports {target}"
        for name, line, target in arrows_from(rooms)
        if target.startswith("explorer.") and room(target) not in allowed
    ]
    assert not bad, "\n".join(bad)


def test_only_the_entry_point_imports_the_command_table():
    bad = [
        f"{name}:{line} imports explorer.cli"
        for name, path in MODULES.items()
        for target, line, _top in imports(path)
        if target == "explorer.cli" and name != "explorer.__main__"
    ]
    assert not bad, "\n".join(bad)


def test_no_model_module_is_imported_at_module_level():
    bad = [
        f"{name}:{line} imports {target}"
        for name, path in MODULES.items()
        for target, line, top in imports(path)
        if top
        and (
            target.split(".")[0] == "invariants"
            or (target.split(".")[0] == "spec" and target not in SPEC_MACHINERY)
        )
    ]
    assert not bad, "models are loaded by name (spec.config.import_model):\n" + "\n".join(bad)


def test_every_module_says_what_it_is_for():
    missing = [name for name, path in MODULES.items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert not missing, f"modules without a docstring: {', '.join(missing)}"
