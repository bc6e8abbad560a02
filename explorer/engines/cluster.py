"""The breadth-first search across processes or machines, on Ray (issue 22: a search that outgrows one
machine): ``explorer/engines/partitioned.py``'s search with each partition a Ray actor.

Each actor builds the spec from a ``Recipe`` and compiles it where it runs, owns one hash partition of
the states, expands its part of each level and sends each successor to its owner in one batch per owner;
batches travel between actors through Ray's object store (the driver passes references, not the
states). What equals the one-machine engine's result, and what is refused, is said in
``partitioned.py``. A worker that dies ends the run with ``ClusterError`` naming it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.engines.bfs import Options, Result
from explorer.engines.partitioned import Partition, PartitionError, check_options, search_levels
from spec.lang import Spec


class ClusterError(PartitionError):
    """The cluster could not finish the search (a worker died, Ray could not start): one line."""


@dataclass(frozen=True)
class Recipe:
    """How a worker builds the spec: the model module, its constants and the config's directory (a spec
    object is not sent over the network; each worker builds and compiles its own)."""

    model: str
    constants: dict[str, Any]
    near: str | None = None

    def build(self) -> Spec:
        from spec.config import import_model

        return import_model(self.model, Path(self.near) if self.near else None).make_spec(**self.constants)


class RayActors:
    """The partitions as Ray actors (``partitioned.Backend``)."""

    def __init__(self, ray: Any, recipe: Recipe, parts: int, symmetry: bool = False) -> None:
        self.ray, self.parts = ray, parts
        actor = ray.remote(num_cpus=1, max_restarts=0)(Partition)
        self.actors = [actor.remote(recipe, k, parts, symmetry) for k in range(parts)]
        self._get([a.ping.remote() for a in self.actors], "starting the partitions")

    def _get(self, refs: Any, what: str) -> Any:
        ray = self.ray
        try:
            return ray.get(refs)
        except ray.exceptions.RayActorError as e:
            dead = self._dead()
            raise ClusterError(
                f"{what}: partition {dead} died ({type(e).__name__}); the search is incomplete"
            ) from None
        except ray.exceptions.RayTaskError as e:
            raise ClusterError(
                f"{what}: a partition failed: {str(e.cause) or type(e.cause).__name__}"
            ) from None

    def _dead(self) -> str:
        for k, a in enumerate(self.actors):
            try:
                self.ray.get(a.ping.remote(), timeout=5)
            except Exception:  # noqa: BLE001 - any failure names this partition
                return str(k)
        return "?"

    def insert(self, blobs: list[list[bytes]], what: str) -> list:
        return self._get([a.insert.remote(*blobs[k]) for k, a in enumerate(self.actors)], what)

    def expand(self, what: str) -> tuple[list, Any]:
        outs = [a.expand.options(num_returns=self.parts + 1).remote() for a in self.actors]
        return self._get([o[0] for o in outs], what), [o[1:] for o in outs]

    def insert_routed(self, routed: Any, what: str) -> list:
        refs = [a.insert.remote(*[r[k] for r in routed]) for k, a in enumerate(self.actors)]
        return self._get(refs, what)

    def insert_expand(self, routed: Any, what: str) -> tuple[list, list, Any]:
        """Insert what was routed and expand the new level, one round trip: the insert reports, the
        level reports, and the new routed batches (references, left in the object store)."""
        outs = [
            a.insert_expand.options(num_returns=self.parts + 2).remote(*[r[k] for r in routed])
            for k, a in enumerate(self.actors)
        ]
        got = self._get([ref for o in outs for ref in o[:2]], what)
        return got[0::2], got[1::2], [o[2:] for o in outs]

    def find(self, k: int, packed: bytes) -> int:
        return self._get(self.actors[k].find.remote(packed), "reading a counterexample")

    def peak_bytes(self) -> list[int]:
        """Each partition's peak resident memory, in its own process."""
        return self._get([a.peak_bytes.remote() for a in self.actors], "reading the partitions' memory")

    def get(self, k: int, sid: int) -> tuple[bytes, int, int]:
        return self._get(self.actors[k].get.remote(sid), "reading a counterexample")


class _Unfused(RayActors):
    """The partitions without ``insert_expand``: ``search_levels`` then inserts and expands a level in two
    round trips (what the bench compares the fused call with)."""

    insert_expand = None  # type: ignore[assignment]


def explore_cluster(
    recipe: Recipe,
    opts: Options | None = None,
    workers: int = 2,
    address: str | None = None,
    progress: Callable[[str], None] | None = None,
    on_started: Callable[[list], None] | None = None,
    symmetry: bool = False,
    fused: bool = True,
) -> Result:
    """Explore the spec of ``recipe`` on a Ray cluster of ``workers`` partitions: a local one started
    here (``ray.init`` with that many CPUs) or the running cluster at ``address`` (or the one this
    process already joined). ``on_started`` gets the partitions' actor handles once they are up (the
    fault test kills one); ``symmetry``: one state per orbit of the spec's declared symmetry;
    ``fused=False``: two round trips a level (insert, then expand), which the bench measures against one."""
    opts = opts or Options()
    check_options(opts, "on a cluster")
    import ray  # a dependency of this engine only

    spec = recipe.build()
    started_here = not ray.is_initialized()
    on_sigterm = signal.getsignal(signal.SIGTERM)
    try:
        if started_here:
            quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
            if address:
                ray.init(address=address, **quiet)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, **quiet)
            # ray.init puts its own SIGTERM handler in place (it exits with status 15 and a crash
            # report): the CLI's, which turns SIGTERM into Ctrl-C (statistics, exit 130), is put back
            if callable(on_sigterm) and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, on_sigterm)
        backend = (
            RayActors(ray, recipe, workers, symmetry) if fused else _Unfused(ray, recipe, workers, symmetry)
        )
        if on_started is not None:
            on_started(backend.actors)
        res = search_levels(spec, backend, opts, progress, symmetry)
        res.partition_peaks = backend.peak_bytes()  # type: ignore[attr-defined] - for print_statistics
    finally:
        if started_here:
            ray.shutdown()
    res.cluster_workers = workers  # type: ignore[attr-defined] - for describe_engine
    return res
