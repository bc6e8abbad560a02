"""The compiled engine: the spec printed as C (``codegen.py``), compiled once, searched in C.

``explore(spec, opts)`` returns the same ``bfs.Result`` as the Python engine (same distinct, generated,
layers, coverage, deadlocks, violations and shortest traces, since the C search is bfs.py's step for step
over the same action order), with a store that decodes states from C memory on demand.

Why ctypes: it is in the standard library, and the interface is a dozen functions over flat arrays, so
cffi would add a dependency and a build step for nothing.

The library cache. Compiled libraries are kept in ``$BPF_CHECKER_CACHE`` if it is set, else in
``OUT/native/`` for the command's ``--out`` (``use_cache_under``; ``out/native/`` by default), keyed by
the SHA-256 of the generated source, the search runtime and the compiler command; the generated C is
kept beside its library, to be read. ``codegen`` prints the same C for the same spec in every process,
so a second process finds the first one's library and compiles nothing. The cache is bounded: after
each compile, the least recently used libraries (a hit refreshes a library's time) are removed until
the folder holds at most ``$BPF_CHECKER_CACHE_MB`` megabytes (``CACHE_MB`` by default). A cache that
cannot be written is never fatal: the library is compiled into a temporary folder for this process
instead, with one ``notice:`` line on stderr. With no C compiler (``$CC`` or ``cc``), or a spec with no
C reading, ``explore`` runs the Python engine and says so in one line on stderr.
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import hashlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.engines import bfs
from explorer.engines.bfs import DEADLOCK, Graph, Options, Result, Trace, Violation
from explorer.engines.compiled.codegen import Leaf, Program, flatten, generate, spec_leaves, unflatten
from spec.lang import Enum, Instance, Spec, SpecError, successors

RUNTIME = Path(__file__).with_name("search.c")
# search.c #includes the others
RUNTIME_PARTS = [RUNTIME, *(Path(__file__).with_name(f) for f in ("compact_store.c", "disk_runs.c"))]
PARALLEL_BLOCK = 1024  # states per work unit of the parallel search; a level needs two to go parallel
# with -O{Options.optimize} in front. Building and searching the library of a 560 KB spec (the timer):
# -O0 1.0 s, -O1 2.9 s, -O2 4.9 s to build; rfc_fixed_two_progs (8.3M states) searched in 10.3 s at
# -O1 and 9.3 s at -O2, and about twice as long at -O0 (a 190 KB spec: 0.4 s to build, -O2 1.55 s)
CFLAGS = ["-shared", "-fPIC", "-pthread", "-w"]
STOPPED = {0: None, 1: "violation", 2: "max-states", 3: "max-seconds", 4: "max-depth", 5: "interrupted"}
TYPE_ERROR, NO_MEMORY, TOO_MANY, DISK = 6, 7, 8, 9
STORES = ("plain", "compact")  # check --store: explorer/engines/compiled/compact_store.c
PROGRESS = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)
I64, I32, U8 = ctypes.c_int64, ctypes.c_int32, ctypes.c_uint8


class SearchOutOfMemory(MemoryError):
    """The search could not allocate: it is incomplete. Carries what it had explored."""

    def __init__(self, why: str, distinct: int, generated: int, depth: int, hint: str = "") -> None:
        super().__init__(
            f"{why} after {distinct:,} distinct states ({generated:,} generated, depth {depth}): the search"
            f" is incomplete and no property is reported as holding{hint}"
        )
        self.distinct, self.generated, self.depth = distinct, generated, depth


class NativeUnavailable(Exception):
    """The compiled engine cannot run this spec here; the message says why (one line)."""


CACHE_ENV, CACHE_MB_ENV = "BPF_CHECKER_CACHE", "BPF_CHECKER_CACHE_MB"
CACHE_MB = 256  # the full matrix and the test suite compile about 100 MB; a few runs' worth fit
STALE_SCRATCH_SECONDS = 3600  # a compile's scratch folder left by a killed process, removed after this
_CACHE_UNDER: list[Path] = []  # the out directory a command chose (use_cache_under); [] for out/
_FALLBACK: list[Path] = []  # the temporary cache of this process, once the chosen one failed


def use_cache_under(out: str | os.PathLike[str] | None) -> None:
    """Keep compiled libraries under ``out/native/`` (the CLI calls it with a command's ``--out``;
    None goes back to the default, ``out/native/``). ``$BPF_CHECKER_CACHE`` still wins."""
    _CACHE_UNDER[:] = [] if out is None else [Path(out)]


def cache_dir() -> Path:
    """Where compiled libraries are kept: ``$BPF_CHECKER_CACHE``, else ``OUT/native`` for the chosen
    out directory (``out`` unless ``use_cache_under`` said otherwise)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return (_CACHE_UNDER[0] if _CACHE_UNDER else Path("out")) / "native"


def cache_limit_bytes() -> int:
    """The cache's bound: ``$BPF_CHECKER_CACHE_MB`` megabytes (``CACHE_MB`` if unset or not a number)."""
    try:
        mb = float(os.environ.get(CACHE_MB_ENV, CACHE_MB))
    except ValueError:
        mb = CACHE_MB
    return int(max(mb, 0) * 1024 * 1024)


def compiler() -> str | None:
    cc = os.environ.get("CC", "cc")
    return shutil.which(cc)


# --------------------------------------------------------------------------- building


@dataclass
class Library:
    """A loaded compiled spec: the ctypes handle and what the Python side needs to decode it."""

    lib: Any
    program: Program
    path: Path
    compile_seconds: float  # 0.0 when it came from the cache
    state_pred_index: dict[int, int]  # id(fn) -> index of its compiled state predicate
    step_pred_index: dict[int, int]
    shape: tuple = ()  # _compiled_shape of the spec it was compiled from


_LOADED: dict[tuple[int, bool], Library] = {}


def _extra_predicates(spec: Spec) -> tuple[list, list]:
    """The witnesses and liveness predicates, compiled beside the invariants so that they are evaluated
    over the stored states in C."""
    state_preds: list[tuple[str, Callable[[Any], Any]]] = []
    step_preds: list[tuple[str, Callable[[Any, Any], Any], list[int]]] = []
    for w in spec.witnesses:
        if w.action is None:
            state_preds.append((f"witness {w.name}", w.fn))
        else:
            ix = [i.index for i in spec.instances() if i.action.name == w.action]
            step_preds.append((f"witness {w.name}", w.fn, ix))
    for t in spec.properties:
        state_preds += t.predicates()
    every = [i.index for i in spec.instances()]
    for r in spec.refinements:
        state_preds.append((f"refinement {r.name}: initial state", r.init_check))
        step_preds.append((f"refinement {r.name}: step", r.step_check, every))
    return state_preds, step_preds


def _permutations(spec: Spec, leaves: list[Leaf]) -> list[tuple[list[int], list[list[int] | None]]]:
    """Every element of the product of the declared symmetry groups, as C tables (see codegen)."""
    groups = [(base, extended) for base, extended in spec.symmetries if len(base) >= 2]
    if not groups:
        return []
    where = {(lf.var, lf.path): i for i, lf in enumerate(leaves)}
    group_of: dict[int, int] = {}
    for g, (base, extended) in enumerate(groups):
        for e in (base, *extended):
            group_of[id(e)] = g
    out = []
    for sigmas in itertools.product(*(list(itertools.permutations(range(len(b)))) for b, _ in groups)):
        inverse = [[0] * len(s) for s in sigmas]
        for g, s in enumerate(sigmas):
            for i, j in enumerate(s):
                inverse[g][j] = i
        src, maps = [], []
        for lf in leaves:
            path = tuple(
                inverse[group_of[id(d)]][k] if id(d) in group_of and k < len(inverse[group_of[id(d)]]) else k
                for k, d in zip(lf.path, lf.domains, strict=True)
            )
            src.append(where[(lf.var, path)])
            g = group_of.get(id(lf.type)) if isinstance(lf.type, Enum) else None
            if g is None:
                maps.append(None)
            else:
                s = sigmas[g]
                maps.append([s[v] if v < len(s) else v for v in range(len(lf.type))])
        out.append((src, maps))
    return out


def load(spec: Spec, symmetry: bool = False, optimize: int = 2, compact: bool = False) -> Library:
    """The compiled library of spec (generated, compiled and cached on first use in this process),
    built at ``cc -O{optimize}``; ``compact``: with the compact store (compact_store.c), which the
    other libraries leave out."""
    key = (id(spec), symmetry, optimize, compact)
    shape = _compiled_shape(spec)
    if key in _LOADED and _LOADED[key].program.instances is spec.instances() and _LOADED[key].shape == shape:
        return _LOADED[key]
    cc = compiler()
    if cc is None:
        raise NativeUnavailable("no C compiler (cc, or $CC) on this machine")
    state_preds, step_preds = _extra_predicates(spec)
    perms = _permutations(spec, spec_leaves(spec)) if symmetry else []
    try:
        program = generate(spec, state_preds, step_preds, perms)
    except SpecError as e:  # CodegenError, or a function with no symbolic reading: Python can run it
        raise NativeUnavailable(" ".join(str(e).split())) from e
    flags = [f"-O{optimize}", *CFLAGS, *(["-DCOMPACT_STORE"] if compact else [])]
    so, seconds, lib = _load_library(cc, spec.name, program.source, with_runtime=True, flags=flags)
    _declare(lib)
    library = Library(
        lib,
        program,
        so,
        seconds,
        {id(fn): k for k, (_, fn) in enumerate(state_preds) if k not in program.skipped_state},
        {id(fn): k for k, (_, fn, _) in enumerate(step_preds) if k not in program.skipped_step},
    )
    library.shape = shape
    _LOADED[key] = library
    return library


def _compiled_shape(spec: Spec) -> tuple:
    """What a library compiles besides the actions: an invariant added to a spec already explored (as
    ``add_aux_invariants`` does) must not be served by the library compiled without it."""
    constraint = spec.constraint.fn if spec.constraint else None
    return (
        tuple((p.name, id(p.fn)) for p in spec.invariants),
        id(constraint),
        tuple((w.name, id(w.fn)) for w in spec.witnesses),
        tuple((t.name, *(id(fn) for _, fn in t.predicates())) for t in spec.properties),
    )


GRAPH_CORE = Path(__file__).with_name("graph_core.c")
_GRAPH_LIB: list[Any] = []  # the loaded graph core, once per process ([None]: unavailable)


def graph_core() -> Any | None:
    """The liveness pass's graph algorithms compiled (``graph_core.c``), or None without a compiler."""
    if not _GRAPH_LIB:
        cc = compiler()
        lib = None
        if cc is not None:
            try:
                _so, _, lib = _load_library(cc, "graph_core", GRAPH_CORE.read_text(), with_runtime=False)
                for name in ("gc_fair", "gc_reach_not_q", "gc_select"):
                    getattr(lib, name).restype = ctypes.c_int64
            except (NativeUnavailable, OSError) as e:
                print(f"notice: the liveness pass runs in Python ({e})", file=sys.stderr)
                lib = None
        _GRAPH_LIB.append(lib)
    return _GRAPH_LIB[0]


def _load_library(
    cc: str, name: str, source: str, with_runtime: bool, flags: Sequence[str] = ("-O2", *CFLAGS)
) -> tuple[Path, float, Any]:
    """The library of source, loaded: (its path, the seconds compiling took, the ctypes handle). A
    library that another process's eviction removed between our lookup and the load is compiled again."""
    so, seconds = _cached_library(cc, name, source, with_runtime, flags)
    try:
        return so, seconds, ctypes.CDLL(str(so))
    except OSError:
        if _exists(so):
            raise
    so, seconds = _cached_library(cc, name, source, with_runtime, flags)
    return so, seconds, ctypes.CDLL(str(so))


def _exists(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a folder we may not search: as good as absent
        return False


def _cached_library(
    cc: str, name: str, source: str, with_runtime: bool, flags: Sequence[str] = ("-O2", *CFLAGS)
) -> tuple[Path, float]:
    """The cached shared library of source (compiled now if absent) and the seconds compiling took (0.0
    from the cache). The key covers the source, the search runtime when it is included, and the command.
    A cache that cannot be written gives way to a temporary one for this process (one notice line)."""
    cmd = [cc, *flags]
    parts = [source, "".join(p.read_text() for p in RUNTIME_PARTS) if with_runtime else "", " ".join(cmd)]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]
    file_name = f"{name}-{digest}.so"
    folder = _FALLBACK[0] if _FALLBACK else cache_dir()
    so = folder / file_name
    if _exists(so):
        _touch(so)
        return so, 0.0
    try:
        seconds = _compile(cmd, source, so, with_runtime)
    except _CacheUnwritable as e:
        if _FALLBACK:
            raise NativeUnavailable(f"cannot write the temporary library folder {folder} ({e})") from None
        print(
            f"notice: cannot write the compiled-engine cache {folder} ({e}); this run compiles into a"
            " temporary folder",
            file=sys.stderr,
        )
        _FALLBACK.append(_temporary_cache())
        return _cached_library(cc, name, source, with_runtime, flags)
    _evict(so.parent, keep=so)
    return so, seconds


class _CacheUnwritable(Exception):
    """The cache folder (or a file in it) cannot be created or written; the message says why."""


def _temporary_cache() -> Path:
    try:
        folder = Path(tempfile.mkdtemp(prefix="bpf-checker-native-"))
    except OSError as e:
        raise NativeUnavailable(f"no temporary folder for the compiled libraries ({e.strerror})") from None
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # loaded libraries stay mapped
    return folder


def _touch(path: Path) -> None:
    """Mark a library used now (the eviction removes the least recently used); a read-only cache is
    still read."""
    try:
        os.utime(path)
    except OSError:
        pass


def _evict(folder: Path, keep: Path) -> None:
    """Remove the least recently used libraries (with their .c) until the folder fits the bound, and
    the scratch folders of compiles killed more than an hour ago. Never ``keep``; never an error (a
    file another process removed first, or one we may not remove, is skipped)."""
    limit = cache_limit_bytes()
    now = time.time()
    entries: list[tuple[float, int, Path]] = []
    total = 0
    try:
        listing = list(os.scandir(folder))
    except OSError:
        return
    for entry in listing:
        try:
            st = entry.stat(follow_symlinks=False)
            if entry.is_dir(follow_symlinks=False):
                if entry.name.startswith("tmp") and now - st.st_mtime > STALE_SCRATCH_SECONDS:
                    shutil.rmtree(entry.path, ignore_errors=True)
                continue
            total += st.st_size
            if entry.name.endswith(".so"):
                c_file = Path(entry.path).with_suffix(".c")
                entries.append((st.st_mtime, st.st_size + _size(c_file), Path(entry.path)))
        except OSError:
            continue
    if total <= limit:
        return
    for _mtime, size, so in sorted(entries):
        if total <= limit:
            break
        if so == keep:
            continue
        for f in (so, so.with_suffix(".c")):
            try:
                f.unlink()
            except OSError:
                pass
        total -= size


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _compile(cmd: list[str], source: str, so: Path, include_runtime: bool) -> float:
    """Compile source (with the search runtime) into so, atomically; _CacheUnwritable when so's folder
    cannot be written, NativeUnavailable when the compiler fails."""
    t0 = time.monotonic()
    folder = so.parent
    c_file = so.with_suffix(".c")
    body = source + (f'\n#include "{RUNTIME}"\n' if include_runtime else "")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(dir=folder)
    except OSError as e:
        raise _CacheUnwritable(e.strerror or str(e)) from None
    with scratch as tmp:
        tmp_c = Path(tmp) / c_file.name
        tmp_so = Path(tmp) / so.name
        try:
            tmp_c.write_text(body)
        except OSError as e:
            raise _CacheUnwritable(e.strerror or str(e)) from None
        # cc runs as a process group of its own (cc1, as, ld), so that an interrupted compile leaves
        # nothing behind: the whole group is killed and reaped before the interrupt goes on.
        _become_subreaper()
        proc = subprocess.Popen(
            [*cmd, "-o", str(tmp_so), str(tmp_c)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            process_group=0,
        )  # fmt: skip
        try:
            with _reap_on_sigterm(proc, tmp):
                _, err = proc.communicate()
        except BaseException:
            _kill_group(proc)
            raise
        if proc.returncode != 0:
            first = (err.strip().splitlines() or ["no message"])[0]
            if any(m in err for m in ("No space left", "Permission denied", "Read-only file system")):
                raise _CacheUnwritable(first)
            raise NativeUnavailable(f"the C compiler failed on {c_file.name}: {first}")
        try:
            os.replace(tmp_c, c_file)  # atomic: a concurrent process sees the old file or the whole new one
            os.replace(tmp_so, so)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EPERM, errno.EDQUOT):
                raise _CacheUnwritable(e.strerror or str(e)) from None
            raise
    return time.monotonic() - t0


_SUBREAPER: list[bool] = []


def _become_subreaper() -> None:
    """Adopt our orphaned descendants (Linux PR_SET_CHILD_SUBREAPER), so that a killed compiler's own
    children (cc1, as) can be reaped here: where PID 1 reaps nothing (some containers), they would
    otherwise stay as zombies."""
    if not _SUBREAPER:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            pass  # not Linux: the orphans go to init, as usual
        _SUBREAPER.append(True)


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the compiler's process group and reap every member (adopted ones included)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    while True:
        try:
            os.waitpid(-proc.pid, 0)
        except ChildProcessError:
            break


@contextmanager
def _reap_on_sigterm(proc: subprocess.Popen, scratch: str) -> Iterator[None]:
    """While waiting for cc in a process where SIGTERM kills outright (matrix workers leave it at the
    default, so that a long Z3 call cannot delay their end), SIGTERM first kills and reaps the
    compiler's process group, then ends this process as SIGTERM would: nothing is left orphaned."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def die(_signum: int, _frame: Any) -> None:
        _kill_group(proc)
        shutil.rmtree(scratch, ignore_errors=True)  # os._exit skips the TemporaryDirectory's clean-up
        os._exit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, die)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _declare(lib: Any) -> None:
    P = ctypes.c_void_p  # noqa: N806
    sigs = {
        "nc_new": ([], P),
        "nc_free": ([P], None),
        "nc_set": ([P, I64, ctypes.c_double, I32, I32, I32, I32, I32, I32, ctypes.c_double, PROGRESS, I32,
                    ctypes.POINTER(I32)], None),
        "nc_run": ([P, I64, ctypes.POINTER(I32)], I32),
        "nc_counts": ([P, ctypes.POINTER(I64)], None),
        "nc_layers": ([P, ctypes.POINTER(I64)], None),
        "nc_coverage": ([P, ctypes.POINTER(I64)], None),
        "nc_events": ([P, ctypes.POINTER(I64)], None),
        "nc_links": ([P, ctypes.POINTER(I32), ctypes.POINTER(I32)], None),
        "nc_graph_rows": ([P, ctypes.POINTER(ctypes.c_void_p)], I32),
        "nc_state": ([P, I64, ctypes.POINTER(I32)], I32),
        "nc_compact": ([P, ctypes.c_char_p, I64], I32),
        "nc_compact_spills": ([P, ctypes.POINTER(I64)], None),
        "nc_matches": ([P, ctypes.POINTER(I32), I64], I32),
        "nc_path": ([P, I64, ctypes.POINTER(I32), ctypes.POINTER(I32), I64], I64),
        "nc_lookup": ([P, ctypes.POINTER(I32)], I64),
        "nc_eval_state_pred": ([P, I32, ctypes.POINTER(U8)], None),
        "nc_first_step": ([P, I32, ctypes.POINTER(U8)], I64),
        # the distributed search's steps (explorer/engines/cluster.py); states travel as bytes
        "nc_state_bytes": ([], I32),
        "nc_pack": ([P, I64, ctypes.POINTER(I32), ctypes.POINTER(U8), ctypes.POINTER(ctypes.c_int8)], None),
        "nc_unpack": ([ctypes.c_char_p, ctypes.POINTER(I32)], None),
        "nc_part_record_bytes": ([], I32),
        "nc_part_owner": ([ctypes.c_char_p, I32], I32),
        "nc_part_insert": ([P, I64, ctypes.c_void_p, ctypes.POINTER(I64)], I64),
        "nc_part_check": ([P, I64, I64, ctypes.POINTER(I64)], None),
        "nc_part_expand": ([P, I64, I64, I32, I32, ctypes.POINTER(I64), ctypes.POINTER(I64)], I32),
        "nc_part_routed_len": ([P, I32], I64),
        "nc_part_routed": ([P, I32], ctypes.c_void_p),
        "nc_part_get": ([P, I64, ctypes.POINTER(U8), ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(I32)],
                        None),
        "nc_part_find": ([P, ctypes.c_char_p], I64),
        "nc_part_count": ([P], I64),
    }  # fmt: skip
    for name, (args, ret) in sigs.items():
        f = getattr(lib, name)
        f.argtypes = args
        f.restype = ret


# --------------------------------------------------------------------------- the store


class _Handle:
    """Owns one C search; frees it when the last Python reference goes."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self.ptr = lib.lib.nc_new()
        if not self.ptr:
            raise MemoryError("the compiled engine could not allocate its search")

    def __del__(self) -> None:
        ptr, self.ptr = getattr(self, "ptr", None), None
        if ptr:
            self.lib.lib.nc_free(ptr)


class NativeStates(Sequence):
    """The stored states, decoded from C memory on demand (``store.states[i]``)."""

    def __init__(self, handle: _Handle, spec: Spec, n: int) -> None:
        self.h = handle
        self.spec = spec
        self.n = n
        self.leaves = handle.lib.program.leaves
        self.buf = (I32 * max(1, len(self.leaves)))()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.n))]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        if self.h.lib.lib.nc_state(self.h.ptr, i, self.buf):
            raise OSError(f"the compact store's link file could not be read (state {i})")
        return unflatten(self.spec, self.leaves, list(self.buf))

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(self.n))

    def evaluate(self, fn: Callable[[Any], Any]) -> bytearray | None:
        """fn on every state as a 0/1 bytearray, in C when fn was compiled; None otherwise."""
        k = self.h.lib.state_pred_index.get(id(fn))
        if k is None:
            return None
        out = bytearray(self.n)
        if self.n:
            self.h.lib.lib.nc_eval_state_pred(self.h.ptr, k, (U8 * self.n).from_buffer(out))
        return out

    def first_step(self, fn: Callable[[Any, Any], Any], instances: Sequence[int]) -> int | None:
        """The first graph edge (in search order) of one of instances whose step satisfies fn; None when
        there is none; raises LookupError when fn was not compiled."""
        k = self.h.lib.step_pred_index.get(id(fn))
        if k is None:
            raise LookupError(fn)
        on = bytearray(len(self.h.lib.program.instances))
        for i in instances:
            on[i] = 1
        e = self.h.lib.lib.nc_first_step(self.h.ptr, k, (U8 * len(on)).from_buffer(on))
        if e == -2:
            raise MemoryError("out of memory closing the graph's rows")
        return None if e < 0 else e


class NativeStore:
    """``bfs.StateStore``'s reading interface over the C store."""

    def __init__(self, handle: _Handle, spec: Spec, n: int, symmetry: bool, compact: bool = False) -> None:
        self.h = handle
        self.states = NativeStates(handle, spec, n)
        self.symmetry = symmetry
        self.compact = compact  # the compact store: no id of a state, links on disk
        self._links: tuple[array, array] | None = None

    # The parent and action links are copied out of the C store when first read (a trace, the liveness
    # pass), not after every search: 8 bytes a state that a run without a violation never needs, and
    # the copy that ran out of memory at the edge of it, after the search itself had finished.
    @property
    def parent(self) -> array:
        return self._copy_links()[0]

    @property
    def via(self) -> array:
        return self._copy_links()[1]

    def _copy_links(self) -> tuple[array, array]:
        if self._links is None:
            n = len(self.states)
            parent, via = array("i", bytes(4 * n)), array("i", bytes(4 * n))
            if n:
                self.h.lib.lib.nc_links(self.h.ptr, (I32 * n).from_buffer(parent), (I32 * n).from_buffer(via))
            self._links = parent, via
        return self._links

    def __len__(self) -> int:
        return len(self.states)

    def id_of(self, state: Any) -> int | None:
        """The id of state (of its canonical representative under symmetry), or None."""
        if self.compact:
            raise NotImplementedError("the compact store keeps no map from states to ids (matches() instead)")
        vals = flatten(self.states.spec, state)
        sid = self.h.lib.lib.nc_lookup(self.h.ptr, (I32 * max(1, len(vals)))(*vals))
        return None if sid < 0 else int(sid)

    def matches(self, state: Any, sid: int) -> bool:
        """Whether state (its canonical representative under symmetry) is stored state sid."""
        vals = flatten(self.states.spec, state)
        r = self.h.lib.lib.nc_matches(self.h.ptr, (I32 * max(1, len(vals)))(*vals), sid)
        if r < 0:
            raise OSError(f"the compact store's link file could not be read (state {sid})")
        return bool(r)

    def path_to(self, sid: int) -> list[int]:
        return self.path_and_steps(sid)[0]

    def path_and_steps(self, sid: int) -> tuple[list[int], list[int]]:
        """The ids from an initial state to sid along first-discovery links (read in C: no copy of every
        state's links) and the instance of each step (-1 at the initial state)."""
        cap = 1024
        while True:
            ids, insts = (I32 * cap)(), (I32 * cap)()
            n = self.h.lib.lib.nc_path(self.h.ptr, sid, ids, insts, cap)
            if n >= 0:
                return list(ids[cap - n :]), list(insts[cap - n :])
            if cap >= len(self.states) + 1:
                raise OSError(f"the compact store's link file could not be read (the path to state {sid})")
            cap *= 8


class NativeResult(Result):
    """A Result whose traces are concrete even under symmetry reduction (re-walked from Init)."""

    def trace_to(self, sid: int) -> Trace:
        store = self.store
        path, insts = store.path_and_steps(sid)
        if store.symmetry:
            return concrete_trace(self.spec, len(path), lambda state, k: store.matches(state, path[k]))
        every = self.spec.instances()
        steps: list[Instance | None] = [None if i < 0 else every[i] for i in insts]
        return Trace(self.spec, [store.states[i] for i in path], steps)


def concrete_trace(spec: Spec, n: int, in_orbit: Callable[[Any, int], bool]) -> Trace:
    """A concrete behaviour through n orbits (``in_orbit(state, k)``: state is in the k-th): from an
    initial state in the first orbit, each step takes a successor in the next one (one exists: the spec
    is symmetric). The one-thread engine's orbits are stored states, the partitioned search's packed
    representatives."""
    state = next((s for s in spec.init_states() if in_orbit(s, 0)), None)
    if state is None:
        raise RuntimeError("symmetry: no initial state in the first orbit of the trace (engine bug)")
    states, steps = [state], [None]
    for k in range(1, n):
        found = next(((i, t) for i, t in successors(spec, state) if in_orbit(t, k)), None)
        if found is None:
            raise RuntimeError("symmetry: the spec has no step into the next orbit (is it symmetric?)")
        steps.append(found[0])
        state = found[1]
        states.append(state)
    return Trace(spec, states, steps)


# --------------------------------------------------------------------------- the search


def explore(
    spec: Spec,
    opts: Options | None = None,
    progress: Callable[[str], None] | None = None,
    symmetry: bool = False,
    threads: int = 1,
    compact_dir: Path | None = None,
    store_memory: int = 0,
) -> Result:
    """Explore spec in C; counts, order and results as ``explorer.engines.bfs.explore``. Raises
    NativeUnavailable when the spec cannot be compiled here (``explore_or_fallback`` then uses the
    Python engine). compact_dir: use the compact store (compact_store.c), its link file there;
    store_memory: the bytes its table of pairs may take before it spills to disk there (0: no limit)."""
    opts = opts or Options()
    if compact_dir is not None and opts.keep_graph:
        raise SpecError(
            "the compact store keeps no state graph: liveness and refinements need the plain store"
        )
    if progress is None:

        def progress(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    library = load(spec, symmetry, optimize=opts.optimize, compact=compact_dir is not None)
    lib = library.lib
    h = _Handle(library)
    invs = spec.invariants if opts.invariants is None else [spec.invariant_named(n) for n in opts.invariants]
    order = [spec.invariants.index(p) for p in invs]
    t0 = time.monotonic()

    def report(depth: int, generated: int, distinct: int, left: int) -> None:
        rate = distinct / max(time.monotonic() - t0, 1e-9)
        progress(
            f"Progress({depth}): {generated} states generated, {distinct} distinct, {left} left on queue,"
            f" {rate:.0f} distinct/s"
        )

    callback = PROGRESS(report)
    lib.nc_set(
        h.ptr,
        -1 if opts.max_states is None else opts.max_states,
        -1.0 if opts.max_seconds is None else float(opts.max_seconds),
        0 if opts.max_depth is None else opts.max_depth,
        1 if opts.stop_on_first else 2 if opts.stop_when_all_found else 0,
        int(opts.check_deadlock),
        int(opts.keep_graph),
        int(symmetry),
        max(1, threads),
        float(opts.progress_every),
        callback,
        len(order),
        (I32 * max(1, len(order)))(*order),
    )
    if compact_dir is not None:
        err = lib.nc_compact(h.ptr, str(compact_dir).encode(), store_memory)
        if err:
            raise OSError(
                err, f"the compact store cannot create its link file in {compact_dir}: {os.strerror(err)}"
            )
    init_states = spec.init_states()
    inits = [v for s in init_states for v in flatten(spec, s)]
    n_init = len(init_states)
    stopped = lib.nc_run(h.ptr, n_init, (I32 * max(1, len(inits)))(*inits))
    counts = (I64 * 11)()
    lib.nc_counts(h.ptr, counts)
    distinct, generated, deadlocks, _, head, err_state, err_inst, nlayers, gn, nevents, _bytes = counts
    if stopped in (NO_MEMORY, TOO_MANY, DISK):
        why = {
            NO_MEMORY: "out of memory",
            TOO_MANY: "more states than the store numbers (2^32 - 2)",
            DISK: f"the compact store could not write its files in {compact_dir} (disk full?)",
        }[stopped]
        plain = compact_dir is None and stopped == NO_MEMORY
        hint = "; check --store compact keeps a state in 3-6 bytes" if plain else ""
        raise SearchOutOfMemory(f"{why} in the compiled engine's search", distinct, generated, nlayers, hint)
    store = NativeStore(h, spec, distinct, symmetry, compact=compact_dir is not None)
    if stopped == TYPE_ERROR:
        _raise_type_error(spec, store, err_state, err_inst)
    res = NativeResult(spec, store)
    res.distinct, res.generated, res.deadlocks = distinct, generated, deadlocks
    res.stopped = STOPPED[stopped]
    res.seconds = time.monotonic() - t0
    res.queue_left = distinct - head
    layers = (I64 * max(1, nlayers))()
    lib.nc_layers(h.ptr, layers)
    res.layers = list(layers[:nlayers])
    cov = (I64 * (2 * max(1, len(spec.actions))))()
    lib.nc_coverage(h.ptr, cov)
    res.coverage = {a.name: [cov[2 * k], cov[2 * k + 1]] for k, a in enumerate(spec.actions)}
    if opts.keep_graph:
        res.graph = _graph(lib, h, distinct, gn)
    events = (I64 * max(1, 2 * nevents))()
    lib.nc_events(h.ptr, events)
    for k in range(nevents):
        which, sid = events[2 * k], events[2 * k + 1]
        if which == len(spec.invariants):
            res.violations.append(
                Violation(DEADLOCK, res.trace_to(sid), "a reachable state with no enabled action")
            )
        else:
            inv = spec.invariants[which]
            res.violations.append(Violation(inv.name, res.trace_to(sid), inv.doc))
    res.native = library  # type: ignore[attr-defined] - for callers that report compile time
    res.store_bytes = _bytes  # type: ignore[attr-defined]
    spills = (I64 * 2)()
    lib.nc_compact_spills(h.ptr, spills)
    res.spilled = (spills[0], spills[1])  # type: ignore[attr-defined] - (runs on disk, states in them)
    return res


def _graph(lib: Any, h: _Handle, n: int, gn: int) -> Graph:
    """The search's graph rows, read in place (memoryviews on the C arrays, which live as long as the
    search handle the graph keeps)."""
    ptrs = (ctypes.c_void_p * 3)()
    if lib.nc_graph_rows(h.ptr, ptrs):
        raise MemoryError("out of memory closing the graph's rows")

    def view(addr: int, ctype: Any, k: int, code: str) -> memoryview:
        if k == 0:
            return memoryview(array(code))
        return memoryview((ctype * k).from_address(addr)).cast("B").cast(code)

    return Graph(view(ptrs[0], I64, n + 1, "q"), view(ptrs[1], I32, gn, "i"), view(ptrs[2], I32, gn, "i"), h)


def _raise_type_error(spec: Spec, store: NativeStore, sid: int, inst_index: int) -> None:
    raise_type_error(spec, store.states[sid], inst_index)


def raise_type_error(spec: Spec, state: Any, inst_index: int) -> None:
    """Re-run the offending step in Python, which raises the Python engine's own message."""
    inst: Instance = spec.instances()[inst_index]
    for step in inst.steps(state):
        if step.guard is True:
            spec.check_step(inst, step)
    raise RuntimeError(
        f"compiled engine: {inst.label} left its type where the Python reading does not (engine bug)"
    )


def explore_any(
    spec: Spec,
    opts: Options | None = None,
    progress: Callable[[str], None] | None = None,
    engine: str = "native",
    symmetry: bool = False,
    threads: int = 1,
    compact_dir: Path | None = None,
    store_memory: int = 0,
) -> Result:
    """The search on the chosen engine; "native" falls back to Python with a one-line notice when the
    spec cannot be compiled here."""
    if engine == "python":
        if symmetry or compact_dir is not None:
            raise SpecError(
                "symmetry reduction and the compact store need the compiled engine (--engine native)"
            )
        return bfs.explore(spec, opts, progress)
    try:
        return explore(
            spec, opts, progress, symmetry=symmetry, threads=threads, compact_dir=compact_dir,
            store_memory=store_memory,
        )  # fmt: skip
    except NativeUnavailable as e:
        if symmetry or compact_dir is not None:
            raise SpecError(
                f"symmetry reduction and the compact store need the compiled engine, which cannot run: {e}"
            ) from e
        print(f"notice: compiled engine unavailable ({e}); using the Python engine", file=sys.stderr)
        return bfs.explore(spec, opts, progress)
