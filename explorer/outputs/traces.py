"""Counterexample dumps of a ``Trace``: TLC-like text, ITF JSON, Graphviz DOT; reading ITF back.

A ``Trace`` is states s0..sn with ``steps[i]`` the action instance that led to ``states[i]`` (None for the
initial state; None after index 0 is a stuttering step, which leaves the state unchanged).

Lassos (``loop`` is not None): the last step returns to ``states[loop]``. Two shapes are accepted:
* the last state repeats ``states[loop]`` (the step that closes the cycle is then recorded in ``steps``);
  this is how Apalache writes lassos and what ``to_itf`` keeps as is;
* the last state differs from ``states[loop]``: the closing step is implicit (some enabled step, or a
  stutter when ``loop`` is the last index), as in ITF's own reading of ``loop``.

Every output is a pure function of the trace and title (no clocks, no hash order), so the same check
writes byte-identical files.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from explorer.engines.bfs import Trace
from explorer.engines.smt.induction import ProveResult
from spec.lang import BoolType, Enum, Fn, Instance, Int, RecordType, SetType, Spec, Type
from spec.values import PowerSet, RecordSet, TupleSet

ITF_FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
ACTION_TAKEN = "mbt::actionTaken"
NONDET_PICKS = "mbt::nondetPicks"
INIT_ACTION = "init"  # Quint's name for the step into an initial state
ARBITRARY_ACTION = "arbitrary"  # a CTI's pre-state: any state satisfying the invariant, not an initial one
STUTTER_ACTION = "stutter"
# JSON numbers are doubles in most readers: integers beyond 2**53 lose precision, so ITF spells them out.
_MAX_SAFE_INT = 2**53


class TraceError(ValueError):
    """An ITF file that is not a trace of this spec (one line, names the file, state and variable)."""


# --------------------------------------------------------------------------- text


def _loop_closes_on_last(trace: Trace) -> bool:
    """True when the lasso's last state repeats the loop state (the closing step is recorded)."""
    loop = trace.loop
    return loop is not None and loop < len(trace.states) - 1 and trace.states[-1] == trace.states[loop]


def _step_name(step: Instance | None) -> str:
    return "Stuttering" if step is None else step.label


def _changed(spec: Spec, prev: Any, cur: Any) -> list[str]:
    return [n for n in spec.var_names if getattr(prev, n) != getattr(cur, n)]


def format_text(trace: Trace, title: str) -> str:
    """TLC-style numbered states; ``*`` marks the variables the step changed."""
    spec = trace.spec
    names = spec.var_names
    closes = _loop_closes_on_last(trace)
    shown = trace.states[:-1] if closes else trace.states
    lines = [title, "The behavior up to this point is (* marks a variable the step changed):"]
    for i, s in enumerate(shown):
        if i == 0:
            header = f"State 1: <{trace.start}>"
            changed: set[str] = set()
        else:
            header = f"State {i + 1}: <{_step_name(trace.steps[i])}>"
            changed = set(_changed(spec, shown[i - 1], s))
        if trace.loop == i:
            header += "  (the loop starts here)"
        lines.append(header)
        for n in names:
            mark = "*" if n in changed else " "
            lines.append(f"{mark} /\\ {n} = {spec.show_value(n, getattr(s, n))}")
        lines.append("")
    if trace.loop is not None:
        n = len(trace.states)
        if closes:
            lines.append(f"State {n}: Back to state {trace.loop + 1}: <{_step_name(trace.steps[-1])}>")
        else:
            lines.append(f"Back to state {trace.loop + 1}")
        lines.append("")
    return "\n".join(lines)


def format_cti(res: ProveResult, title: str) -> str:
    """The CTI as text: the pre-state (all variables), the action, the post-state's changed variables."""
    spec = res.spec
    tr = res.trace
    assert tr is not None
    lines = [title]
    if res.stage == "init":
        lines.append("An initial state violates it:")
        lines += [f"  {n} = {spec.show_value(n, getattr(tr.states[0], n))}" for n in spec.var_names]
        return "\n".join(lines)
    pre = tr.states[0]
    lines.append("Pre-state (satisfies the invariant and the strengthening; need not be reachable):")
    lines += [f"  {n} = {spec.show_value(n, getattr(pre, n))}" for n in spec.var_names]
    if len(tr.states) < 2:
        lines.append("An enabled step leaves a variable's type.")
        return "\n".join(lines)
    post = tr.states[1]
    lines.append(f"Action: {tr.steps[1].label}")
    lines.append(f"Post-state (violates {res.failed}); changed variables:")
    for n in spec.var_names:
        if getattr(pre, n) != getattr(post, n):
            lines.append(f"  {n} = {spec.show_value(n, getattr(post, n))}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- ITF values


def encode_value(t: Type, v: Any) -> Any:
    """A state value as ITF JSON, by its type: the inverse of ``decode_value``."""
    if isinstance(t, BoolType):
        return bool(v)
    if isinstance(t, Int):
        return _encode_int(v)
    if isinstance(t, Enum):
        return _encode_enum(t, v)
    if isinstance(t, SetType):  # before Fn: a SetType is an Fn to Bool
        return {"#set": [_encode_enum(t.domain, i) for i, member in enumerate(v) if member]}
    if isinstance(t, RecordType):  # before Fn: ITF's record is a JSON object of its fields
        return {f: encode_value(ft, x) for (f, ft), x in zip(t.fields, v, strict=True)}
    if isinstance(t, Fn):
        return {"#map": [[_encode_enum(t.domain, i), encode_value(t.codomain, x)] for i, x in enumerate(v)]}
    # A type this module does not know yet: ITF's escape hatch keeps the dump readable and loadable.
    return {"#unserializable": t.show(v)}


def _encode_enum(t: Enum, v: int) -> Any:
    """An Enum value: its name; a RecordSet's, TupleSet's or PowerSet's as the record (a JSON object),
    tuple (``#tup``) or set (``#set``) it stands for, as Apalache and Quint write them."""
    if not t.contains(v):
        return t.show(v)
    if isinstance(t, RecordSet):
        return {f: _encode_element(t.enums.get(f), x) for f, x in t.fields(v).items()}
    if isinstance(t, TupleSet) and v != t.filler:
        return {"#tup": [_encode_element(t.enums.get(k), x) for k, x in enumerate(t.item(v))]}
    if isinstance(t, PowerSet):
        return {"#set": [_encode_enum(t.domain, i) for i, x in enumerate(t.as_set(v)) if x]}
    return t.names[v]


def _encode_element(e: Enum | None, x: Any) -> Any:
    return _encode_enum(e, x) if e is not None else x if isinstance(x, str) else _encode_int(x)


_DECODE_TABLES: dict[int, tuple[Enum, dict[str, int]]] = {}  # id -> (the Enum, its values by encoding)


def _decode_enum(t: Enum, j: Any, where: str) -> int:
    """The Enum value ITF value j encodes (the inverse of ``_encode_enum``)."""
    if not isinstance(t, (RecordSet, TupleSet, PowerSet)):
        if not isinstance(j, str) or j not in t.names:
            raise TraceError(f"{where}: expected one of {', '.join(t.names)}, got {json.dumps(j)}")
        return t.names.index(j)
    key = json.dumps(j, sort_keys=True)
    entry = _DECODE_TABLES.get(id(t))
    if entry is None or entry[0] is not t:
        entry = _DECODE_TABLES[id(t)] = (t, {json.dumps(_encode_enum(t, i), sort_keys=True): i for i in t})
    by_encoding = entry[1]
    if key not in by_encoding:
        raise TraceError(f"{where}: {json.dumps(j)} is no value of {t.name}")
    return by_encoding[key]


def _encode_int(v: int) -> Any:
    return v if -_MAX_SAFE_INT < v < _MAX_SAFE_INT else {"#bigint": str(v)}


def _encode_param(t: Type | None, v: Any) -> Any:
    """A parameter drawn from a plain iterable has no Type: encode it by its Python type."""
    if t is not None:
        return encode_value(t, v)
    if type(v) is bool or type(v) is str:
        return v
    if type(v) is int:
        return _encode_int(v)
    return {"#unserializable": repr(v)}


def decode_value(t: Type, j: Any, where: str) -> Any:
    """An ITF JSON value back to the concrete state value of type ``t``; TraceError names ``where``."""
    if isinstance(t, BoolType):
        if type(j) is not bool:
            raise TraceError(f"{where}: expected a Boolean, got {json.dumps(j)}")
        return j
    if isinstance(t, Int):
        if isinstance(j, dict) and set(j) == {"#bigint"} and isinstance(j["#bigint"], str):
            try:
                v = int(j["#bigint"])
            except ValueError:
                raise TraceError(f"{where}: bad #bigint {j['#bigint']!r}") from None
        elif type(j) is int:
            v = j
        else:
            raise TraceError(f"{where}: expected an integer, got {json.dumps(j)}")
        if not t.contains(v):
            raise TraceError(f"{where}: {v} is outside {t!r}")
        return v
    if isinstance(t, Enum):
        return _decode_enum(t, j, where)
    if isinstance(t, SetType):
        if not isinstance(j, dict) or set(j) != {"#set"} or not isinstance(j["#set"], list):
            raise TraceError(f'{where}: expected {{"#set": [...]}}, got {json.dumps(j)}')
        members = {decode_value(t.domain, m, f"{where} member") for m in j["#set"]}
        return tuple(i in members for i in range(len(t.domain)))
    if isinstance(t, RecordType):
        if not isinstance(j, dict) or sorted(j) != sorted(t.field_names):
            fields = ", ".join(t.field_names)
            raise TraceError(f"{where}: expected a record with the fields {fields}, got {json.dumps(j)}")
        return t.build(decode_value(ft, j[f], f"{where}.{f}") for f, ft in t.fields)
    if isinstance(t, Fn):
        if not isinstance(j, dict) or set(j) != {"#map"} or not isinstance(j["#map"], list):
            raise TraceError(f'{where}: expected {{"#map": [[key, value], ...]}}, got {json.dumps(j)}')
        got: dict[int, Any] = {}
        for pair in j["#map"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise TraceError(f"{where}: a #map entry must be [key, value], got {json.dumps(pair)}")
            k = decode_value(t.domain, pair[0], f"{where} key")
            got[k] = decode_value(t.codomain, pair[1], f"{where}[{pair[0]}]")
        missing = [t.domain.show(i) for i in range(len(t.domain)) if i not in got]
        if missing:
            raise TraceError(f"{where}: the function lacks key(s) {', '.join(missing)}")
        return tuple(got[i] for i in range(len(t.domain)))
    raise TraceError(f"{where}: cannot read a value of type {t!r} from ITF")


# --------------------------------------------------------------------------- ITF traces


def _picks(inst: Instance) -> dict[str, Any]:
    return {k: _encode_param(inst.action.param_types.get(k), v) for k, v in inst.args.items()}


def to_itf(trace: Trace, title: str) -> dict[str, Any]:
    """The trace as an ITF JSON object (Apalache ADR-015, with Quint's ``mbt::`` action annotations)."""
    spec = trace.spec
    meta: dict[str, Any] = {
        "format": "ITF",
        "format-description": ITF_FORMAT_DESCRIPTION,
        "source": spec.name,
        "description": title,
    }
    if spec.constants:
        meta["constants"] = {
            k: v if type(v) in (bool, int, str) else repr(v) for k, v in spec.constants.items()
        }
    types = [(v.name, v.type) for v in spec.variables]
    states = []
    for i, (s, step) in enumerate(zip(trace.states, trace.steps, strict=True)):
        js: dict[str, Any] = {"#meta": {"index": i}}
        for n, t in types:
            js[n] = encode_value(t, getattr(s, n))
        if i == 0:
            first = INIT_ACTION if trace.start == Trace.start else ARBITRARY_ACTION
            js[ACTION_TAKEN], js[NONDET_PICKS] = first, {}
        elif step is None:
            js[ACTION_TAKEN], js[NONDET_PICKS] = STUTTER_ACTION, {}
        else:
            js[ACTION_TAKEN], js[NONDET_PICKS] = step.action.name, _picks(step)
        states.append(js)
    out: dict[str, Any] = {"#meta": meta, "vars": spec.var_names, "states": states}
    if trace.loop is not None:
        out["loop"] = trace.loop
    return out


def itf_text(itf: dict[str, Any]) -> str:
    """An ITF object as JSON text, one state per line: readable and diffable, and written by the json
    module's C encoder (``indent`` makes it use the pure-Python one, which was a tenth of the matrix's
    time when it wrote every witness's trace)."""
    head = json.dumps({k: v for k, v in itf.items() if k != "states"}, indent=2)
    states = ",\n".join("    " + json.dumps(s) for s in itf["states"])
    return head[: -len("\n}")] + ',\n  "states": [\n' + states + "\n  ]\n}\n"


def read_itf(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except json.JSONDecodeError as e:
        raise TraceError(f"{path}:{e.lineno}: not JSON: {e.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("states"), list):
        raise TraceError(f'{path}: not an ITF trace (no "states" list)')
    return data


def state_at(i: int) -> str:
    """How messages name the state at index i of an ITF file: numbered from 1, as the text traces and
    ``replay`` number states (TLC's way), with the file's own 0-based index beside it."""
    return f"state {i + 1} (index {i} in the file)"


def _decode_states(path: Any, data: dict[str, Any], spec: Spec) -> list[Any]:
    want = spec.var_names
    if "vars" in data and data["vars"] != want:
        raise TraceError(f"{path}: vars {data['vars']} differ from the spec's {want}")
    out = []
    for i, js in enumerate(data["states"]):
        if not isinstance(js, dict):
            raise TraceError(f"{path}: {state_at(i)} is not an object")
        values = {}
        for v in spec.variables:
            if v.name not in js:
                raise TraceError(f"{path}: {state_at(i)} lacks variable {v.name}")
            values[v.name] = decode_value(v.type, js[v.name], f"{path}: {state_at(i)}: {v.name}")
        extra = sorted(k for k in js if k not in values and k != "#meta" and not k.startswith("mbt::"))
        if extra:
            raise TraceError(f"{path}: {state_at(i)} has unknown variable(s) {', '.join(extra)}")
        out.append(spec.make_state(values))
    return out


def load_itf_states(path: str | os.PathLike[str], spec: Spec) -> list[Any]:
    """The states of an ITF file written by ``to_itf``, as concrete states of ``spec``."""
    return _decode_states(path, read_itf(path), spec)


def load_itf_trace(path: str | os.PathLike[str], spec: Spec) -> Trace:
    """An ITF file written by ``to_itf`` as a Trace of ``spec``: states, the instances taken, and loop."""
    data = read_itf(path)
    states = _decode_states(path, data, spec)
    by_call = {
        (inst.action.name, json.dumps(_picks(inst), sort_keys=True)): inst for inst in spec.instances()
    }
    steps: list[Instance | None] = []
    for i, js in enumerate(data["states"]):
        name = js.get(ACTION_TAKEN)
        if i == 0 or name == STUTTER_ACTION:
            steps.append(None)
            continue
        picks = js.get(NONDET_PICKS, {})
        inst = by_call.get((name, json.dumps(picks, sort_keys=True)))
        if inst is None:
            raise TraceError(
                f"{path}: {state_at(i)}: no action {name} with parameters {json.dumps(picks)} in the spec"
            )
        steps.append(inst)
    loop = data.get("loop")
    if loop is not None and (type(loop) is not int or not 0 <= loop < len(states)):
        raise TraceError(
            f"{path}: loop {json.dumps(loop)} is not the index of a state (0 to {len(states) - 1})"
        )
    return Trace(spec, states, steps, loop)


# --------------------------------------------------------------------------- DOT


def _dot_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(lines: Sequence[str]) -> str:
    """A left-justified multi-line label: each line escaped, then ended by DOT's ``\\l``."""
    return '"' + "".join(ln.replace("\\", "\\\\").replace('"', '\\"') + "\\l" for ln in lines) + '"'


def to_dot(trace: Trace, title: str) -> str:
    """A Graphviz digraph: one node per state labelled with what changed, edges labelled with the action."""
    spec = trace.spec
    closes = _loop_closes_on_last(trace)
    shown = trace.states[:-1] if closes else trace.states
    first_line = title.splitlines()[0] if title else ""
    out = [
        f"digraph {_dot_str(spec.name)} {{",
        f"  label={_dot_str(first_line)};",
        "  labelloc=t;",
        '  node [shape=box, fontname="monospace"];',
        '  edge [fontname="monospace"];',
    ]
    for i, s in enumerate(shown):
        names = spec.var_names if i == 0 else _changed(spec, shown[i - 1], s)
        body = [f"{n} = {spec.show_value(n, getattr(s, n))}" for n in names] or ["(unchanged)"]
        extra = ", peripheries=2" if trace.loop == i else ""
        head = f"State {i + 1}" if i or trace.start == Trace.start else f"State 1: {trace.start}"
        out.append(f"  s{i} [label={_dot_label([head, *body])}{extra}];")
    for i in range(1, len(shown)):
        out.append(f"  s{i - 1} -> s{i} [label={_dot_str(_step_name(trace.steps[i]))}];")
    if trace.loop is not None:
        last = len(shown) - 1
        label = _step_name(trace.steps[-1]) if closes else "back"
        out.append(f"  s{last} -> s{trace.loop} [label={_dot_str(label)}, style=dashed];")
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- files


def write_trace(trace: Trace, base_path: str | os.PathLike[str], title: str) -> list[Path]:
    """Write base.txt, base.itf.json and base.dot; each file is replaced atomically.

    All three texts are rendered before anything is written, so an error in rendering leaves the
    previous dumps intact, and a reader never sees a half-written file.
    """
    base = Path(base_path)
    texts = {
        base.with_name(base.name + ".txt"): format_text(trace, title),
        base.with_name(base.name + ".itf.json"): itf_text(to_itf(trace, title)),
        base.with_name(base.name + ".dot"): to_dot(trace, title),
    }
    base.parent.mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        write_atomic(path, text)
    return list(texts)


def write_atomic(path: Path, text: str) -> None:
    """Write path through a uniquely named temporary file beside it, with the mode a plain open()
    would give (mkstemp's is 0600), then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
