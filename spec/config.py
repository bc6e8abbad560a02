"""Named model configurations: plain TOML files that pick a model, its constants and check options.

```toml
model = "spec.delayed_work"          # a module exposing make_spec(**constants) and PARAMS
description = "two CPUs, one prog"   # optional

[constants]                          # every key must be in the module's PARAMS; the rest take defaults
cpus = 2

[check]                              # optional; command-line flags override these
deadlock = true
invariants = ["NoCallbackAfterProgFree"]   # default: all of the spec's invariants
max_states = 1000000
max_seconds = 600

[expect]                             # optional: the verdict each property should get
NoCallbackAfterProgFree = "holds"    # or "violated"; keys: invariants, "Deadlock", temporal properties
```

A module's ``PARAMS`` maps each constant to its type and domain, so that a config is checked here, with
the file, line and key in the message, and not deep inside ``make_spec``:

* ``(int, default, min, max)``: an integer in [min, max] (either bound may be None);
* ``(float, default, min, max)``: a number in [min, max];
* ``(str, default, [allowed, ...])``: one of the listed choices;
* ``(bool, default)``: true or false.

A module without ``PARAMS`` takes no constants. Models are imported by dotted name from ``sys.path``
(under ``python -m`` it includes the working directory: run from the repository root for ``spec.*``),
and else from the config file's directory: ``model = "paxos"`` finds ``paxos.py`` next to the config.
"""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spec.lang import Spec, SpecError

VERDICTS = ("holds", "violated")
DEADLOCK = "Deadlock"  # the name explorer.bfs gives a deadlock violation; the engine is not imported here
TOP_KEYS = ("model", "description", "constants", "check", "expect")
CHECK_KEYS = ("deadlock", "invariants", "max_states", "max_seconds")


class ConfigError(Exception):
    """A bad configuration; the message is one line naming the file, line (when known) and key."""


@dataclass(frozen=True)
class CheckOptions:
    deadlock: bool = True
    invariants: list[str] | None = None  # None: every invariant of the spec
    max_states: int | None = None
    max_seconds: float | None = None


@dataclass
class Config:
    path: Path
    name: str  # the file stem: names the output directory
    module: str
    constants: dict[str, Any]  # every PARAMS key, defaults filled in
    check: CheckOptions = field(default_factory=CheckOptions)
    description: str = ""
    expect: dict[str, str] = field(default_factory=dict)  # property name -> "holds" | "violated"


class _Where:
    """Formats errors for one file: ``path:line: key: message``, finding the key's line in the text."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table: str | None, key: str | None) -> int | None:
        # tomllib keeps no positions; a plain scan finds ``key =`` under its ``[table]`` header, which is
        # right for the flat files configs are. Dotted keys or inline tables just lose the line number.
        current = None
        header = re.compile(r"\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
        for n, ln in enumerate(self.lines, 1):
            m = header.match(ln)
            if m:
                current = m.group(1)
                if key is None and current == table:
                    return n
                continue
            if key is not None and current == table and re.match(rf"\s*{re.escape(key)}\s*=", ln):
                return n
        return None

    def error(self, table: str | None, key: str | None, msg: str) -> ConfigError:
        line = self.line_of(table, key)
        loc = f"{self.path}:{line}" if line else str(self.path)
        name = ".".join(x for x in (table, key) if x)
        return ConfigError(f"{loc}: {name}: {msg}" if name else f"{loc}: {msg}")


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return repr(v)


def _type_name(v: Any) -> str:
    return {bool: "a Boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}.get(
        type(v), "a table" if isinstance(v, dict) else type(v).__name__
    )


def check_param(spec: tuple, v: Any) -> str | None:
    """None if v is a valid value for the PARAMS entry ``spec``; else what is wrong with it."""
    kind = spec[0]
    if kind is bool:
        return None if type(v) is bool else f"expected true or false, got {_type_name(v)} {_show(v)}"
    if kind is int or kind is float:
        ok = type(v) is int or (kind is float and type(v) is float)
        if not ok:
            want = "an integer" if kind is int else "a number"
            return f"expected {want}, got {_type_name(v)} {_show(v)}"
        lo, hi = spec[2], spec[3]
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return f"{v} is out of range [{'' if lo is None else lo}, {'' if hi is None else hi}]"
        return None
    if kind is str:
        allowed = spec[2]
        if type(v) is not str:
            return f"expected a string, got {_type_name(v)} {_show(v)}"
        if v not in allowed:
            return f"{_show(v)} is not one of {', '.join(_show(a) for a in allowed)}"
        return None
    raise AssertionError(kind)


def model_constants(model: str, params: dict[str, tuple], constants: dict[str, Any]) -> dict[str, Any]:
    """A model's configuration: its PARAMS defaults with ``constants`` applied; SpecError (one line,
    naming the model) for a name PARAMS does not have. Each model checks its values itself."""
    unknown = sorted(set(constants) - set(params))
    if unknown:
        raise SpecError(f"{model}: unknown constant(s) {', '.join(unknown)}")
    return {**{k: v[1] for k, v in params.items()}, **constants}


def _params(module_name: str, mod: Any) -> dict[str, tuple]:
    params = getattr(mod, "PARAMS", {})
    if not isinstance(params, dict):
        raise ConfigError(f"model {module_name}: PARAMS is {type(params).__name__}, expected a dict")
    shapes = {bool: 2, int: 4, float: 4, str: 3}
    for name, p in params.items():
        if not isinstance(p, tuple) or not p or p[0] not in shapes or len(p) != shapes[p[0]]:
            raise ConfigError(
                f"model {module_name}: PARAMS[{name!r}] = {p!r} is not (bool, default),"
                " (int, default, min, max), (float, default, min, max) or (str, default, [choices])"
            )
        bad = check_param(p, p[1])
        if bad:
            raise ConfigError(f"model {module_name}: PARAMS[{name!r}] default: {bad}")
    return params


def import_model(module_name: str, near: Path | None = None) -> Any:
    """Import a model module by dotted name; ConfigError (without the file) if it cannot be used.
    ``near``: the config file's directory, where a model that is not on ``sys.path`` is looked for
    (``model = "paxos"`` next to ``paxos.py``)."""
    try:
        mod = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        top = module_name.split(".")[0]
        if e.name == top and near is not None and _holds_module(near, top) and str(near) not in sys.path:
            sys.path.append(str(near))
            return import_model(module_name)
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            where = f" (looked on sys.path and in {near})" if near is not None else ""
            raise ConfigError(f"unknown model module {module_name!r}{where}") from e
        raise ConfigError(f"model {module_name} does not import: {e}") from e
    except Exception as e:  # a model with a bug: still one line; --debug shows the chained traceback
        raise ConfigError(f"model {module_name} does not import: {type(e).__name__}: {e}") from e
    if not callable(getattr(mod, "make_spec", None)):
        raise ConfigError(f"model {module_name} has no make_spec function")
    return mod


def _holds_module(directory: Path, name: str) -> bool:
    return (directory / f"{name}.py").is_file() or (directory / name / "__init__.py").is_file()


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; every mistake is a one-line ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # Python 3.11's TOMLDecodeError has no lineno attribute; the position is only in the message.
        msg = str(e)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if m:
            raise ConfigError(f"{path}:{m.group(1)}: TOML syntax error: {msg[: m.start()]}") from None
        raise ConfigError(f"{path}: TOML syntax error: {msg}") from None
    w = _Where(path, text)

    for k in data:
        if k not in TOP_KEYS:
            raise w.error(None, k, f"unknown key (known: {', '.join(TOP_KEYS)})")
    if "model" not in data:
        raise ConfigError(f'{path}: model: missing (e.g. model = "spec.delayed_work")')
    module = data["model"]
    if type(module) is not str:
        raise w.error(None, "model", f"expected a string, got {_type_name(module)} {_show(module)}")
    description = data.get("description", "")
    if type(description) is not str:
        raise w.error(None, "description", f"expected a string, got {_type_name(description)}")
    tables = {}
    for t in ("constants", "check", "expect"):
        tables[t] = data.get(t, {})
        if not isinstance(tables[t], dict):
            raise w.error(None, t, f"expected a table [{t}], got {_type_name(tables[t])} {_show(tables[t])}")

    try:
        params = _params(module, import_model(module, near=path.resolve().parent))
    except ConfigError as e:
        raise w.error(None, "model", str(e)) from e.__cause__
    constants = {name: p[1] for name, p in params.items()}
    for k, v in tables["constants"].items():
        if k not in params:
            known = ", ".join(params) or "none"
            raise w.error("constants", k, f"unknown constant of {module} (known: {known})")
        bad = check_param(params[k], v)
        if bad:
            raise w.error("constants", k, bad)
        constants[k] = v

    check = _check_options(w, tables["check"])
    expect = {}
    for k, v in tables["expect"].items():
        if v not in VERDICTS:
            raise w.error("expect", k, f'expected "holds" or "violated", got {_show(v)}')
        expect[k] = v
    return Config(path, path.stem, module, constants, check, description, expect)


def _check_options(w: _Where, t: dict[str, Any]) -> CheckOptions:
    for k in t:
        if k not in CHECK_KEYS:
            raise w.error("check", k, f"unknown key (known: {', '.join(CHECK_KEYS)})")
    deadlock = t.get("deadlock", True)
    if type(deadlock) is not bool:
        raise w.error(
            "check", "deadlock", f"expected true or false, got {_type_name(deadlock)} {_show(deadlock)}"
        )
    invariants = t.get("invariants")
    if invariants is not None and (
        type(invariants) is not list or not all(type(x) is str for x in invariants)
    ):
        raise w.error("check", "invariants", f"expected an array of names, got {_show(invariants)}")
    max_states = t.get("max_states")
    if max_states is not None:
        if type(max_states) is not int:
            raise w.error(
                "check",
                "max_states",
                f"expected an integer, got {_type_name(max_states)} {_show(max_states)}",
            )
        if max_states < 1:
            raise w.error("check", "max_states", f"{max_states} is out of range [1, ]")
    max_seconds = t.get("max_seconds")
    if max_seconds is not None:
        if type(max_seconds) not in (int, float):
            raise w.error(
                "check",
                "max_seconds",
                f"expected a number, got {_type_name(max_seconds)} {_show(max_seconds)}",
            )
        if not max_seconds > 0:
            raise w.error("check", "max_seconds", f"{max_seconds} must be positive")
        max_seconds = float(max_seconds)
    return CheckOptions(deadlock, invariants, max_states, max_seconds)


def build_spec(config: Config) -> Spec:
    """The configured Spec; ConfigError if the config names invariants or properties the spec lacks."""
    try:
        spec = import_model(config.module).make_spec(**config.constants)
    except (ConfigError, SpecError):
        raise
    except Exception as e:  # a bug in the model's make_spec: one line, --debug shows the traceback
        raise ConfigError(
            f"{config.path}: model {config.module}: make_spec raised {type(e).__name__}: {e}"
        ) from e
    if not isinstance(spec, Spec):
        raise ConfigError(
            f"{config.path}: model {config.module}: make_spec returned {type(spec).__name__}, not a Spec"
        )
    if not spec.constants:
        spec.constants = dict(config.constants)
    w = _Where(config.path, config.path.read_text(encoding="utf-8") if config.path.exists() else "")
    invariants = [p.name for p in spec.invariants]
    for name in config.check.invariants or []:
        if name not in invariants:
            raise w.error(
                "check",
                "invariants",
                f"spec {spec.name} has no invariant {name} (known: {', '.join(invariants) or 'none'})",
            )
    known = [*invariants, DEADLOCK, *(p.name for p in spec.properties), *(r.name for r in spec.refinements)]
    for name in config.expect:
        if name not in known:
            raise w.error(
                "expect", name, f"spec {spec.name} has no property {name} (known: {', '.join(known)})"
            )
    return spec


def parse_overrides(config: Config, items: list[str], unbounded: bool = False) -> dict[str, Any]:
    """``--set name=value`` strings, read by the type PARAMS declares for each name and checked as a
    TOML value would be (a one-line ConfigError otherwise). ``unbounded`` lifts an integer's upper
    bound (induction and BMC are not limited to the sizes BFS can enumerate); the lower bound stays."""
    params = _params(config.module, import_model(config.module))
    out: dict[str, Any] = {}
    for item in items:
        name, eq, raw = item.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ConfigError(f"--set {item!r}: expected name=value")
        if name not in params:
            known = ", ".join(params)
            raise ConfigError(f"--set {name}: unknown constant of {config.module} (known: {known})")
        p = params[name]
        value: Any = raw.strip()
        if p[0] is bool:
            value = {"true": True, "false": False}.get(value, value)
        elif p[0] in (int, float):
            try:
                value = int(value) if p[0] is int else float(value)
            except ValueError:
                pass
        if unbounded and p[0] is int and type(value) is int:
            p = (p[0], p[1], p[2], None)
        bad = check_param(p, value)
        if bad:
            raise ConfigError(f"--set {name}: {bad}")
        out[name] = value
    return out
