"""The BFS and Z3 backends must agree on the same Spec (``python -m explorer crosscheck``).

For every cell of the expected-verdict matrix:
* the compiled and the Python BFS engines (to the same depth) store the same layers, generate the same
  number of states and find the same violations with the same traces;
* the number of distinct states at each BFS depth d = 0..K equals what Z3 counts by blocking-clause
  enumeration (``explorer.engines.smt.layers.count_layers``);
* every invariant that BFS finds violated within ``--bmc-depth`` steps is found by BMC at exactly the
  same minimal number of steps, and BMC finds nothing earlier.
A disagreement is a bug in one backend (or in how the model uses the language), never something to
paper over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from explorer.engines.bfs import Options, explore
from explorer.engines.compiled.engine import explore_any
from explorer.engines.smt.bmc import bmc
from explorer.engines.smt.layers import count_layers
from explorer.runs.results import Cell
from spec.config import import_model


@dataclass
class Agreement:
    cell: str
    bfs_layers: list[int] = field(default_factory=list)
    z3_layers: list[int] = field(default_factory=list)
    python_layers: list[int] | None = None  # the reference engine's, when BFS ran compiled
    depths: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # inv -> (BFS steps, BMC steps)
    seconds: float = 0.0
    error: str | None = None

    @property
    def problems(self) -> list[str]:
        out = [self.error] if self.error else []
        if self.python_layers is not None and self.python_layers != self.bfs_layers:
            out.append(f"layer sizes differ: compiled {self.bfs_layers}, Python {self.python_layers}")
        if self.bfs_layers != self.z3_layers:
            out.append(f"layer sizes differ: BFS {self.bfs_layers}, Z3 {self.z3_layers}")
        for inv, (b, z) in self.depths.items():
            if b != z:
                out.append(f"{inv}: BFS needs {b} steps, BMC {z}")
        return out


def check_cell(cell: Cell, layers: int, bmc_depth: int, engine: str = "native") -> Agreement:
    t0 = time.monotonic()
    ag = Agreement(cell.name)
    try:
        spec = import_model(cell.model).make_spec(**cell.constants)
        depth = max(layers, bmc_depth) + 1
        opts = Options(stop_on_first=False, max_depth=depth)
        res = explore_any(spec, opts, lambda _l: None, engine)
        if res.stopped == "interrupted":
            raise KeyboardInterrupt
        ag.bfs_layers = (res.layers + [0] * (layers + 1))[: layers + 1]
        if engine != "python":  # the compiled engine against the reference one, to the same depth
            ref = explore(spec, opts, progress=lambda _l: None)
            ag.python_layers = (ref.layers + [0] * (layers + 1))[: layers + 1]
            ours = [(v.name, v.trace.states) for v in res.violations]
            if ours != [(v.name, v.trace.states) for v in ref.violations] or ref.generated != res.generated:
                ag.error = "the compiled and Python engines found different violations or generated counts"
        ag.z3_layers = count_layers(spec, layers)
        for v in res.violations:
            if v.name == "Deadlock" or v.depth - 1 > bmc_depth:
                continue
            steps = v.depth - 1
            got = bmc(spec, steps, invariants=[v.name])
            ag.depths[v.name] = (steps, got.depth if got.violation == v.name else None)
    except Exception as e:  # reported as a disagreement, with the cell's name
        ag.error = f"{type(e).__name__}: {e}"
    ag.seconds = time.monotonic() - t0
    return ag
