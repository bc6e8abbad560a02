"""Let running out of memory end a command with its own error rather than the kernel's OOM killer.

Linux overcommits: a search's ``malloc`` succeeds past the machine's memory and the kernel kills the
process later (SIGKILL, exit 137, no word: measured on ``liveness`` of a 3 CPU x 3 item x 2 prog RFC
cell, killed at 24 GB after 9 minutes). With the address space bounded by what the machine can back,
the allocation itself fails: the compiled search stops with ``ST_NO_MEMORY`` and Python raises
``MemoryError``, both reported as ``error: out of memory ...`` with exit 4 (``cli.main``).
"""

from __future__ import annotations

import resource
from pathlib import Path

MEMINFO = Path("/proc/meminfo")


def _meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo's fields in bytes."""
    out = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[name.strip()] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return out


def _vm_size() -> int:
    """This process's address space now (bytes), 0 where /proc does not say."""
    status = _meminfo(Path("/proc/self/status").read_text()) if Path("/proc/self/status").exists() else {}
    return status.get("VmSize", 0)


def address_space_budget(meminfo: dict[str, int], vm_size: int) -> int | None:
    """The bound: what the process has mapped now plus the memory the machine has available (free RAM
    the kernel can reclaim, and free swap), so that the OOM killer is not reached first. None where
    /proc/meminfo says nothing usable."""
    available = meminfo.get("MemAvailable")
    if available is None:
        return None
    return vm_size + available + meminfo.get("SwapFree", 0)


def bound_address_space() -> int | None:
    """Lower RLIMIT_AS to ``address_space_budget`` (never raise a limit already set lower); returns the
    limit set, or None where there is nothing to set (no /proc, or a lower limit in place)."""
    if not MEMINFO.exists():
        return None
    budget = address_space_budget(_meminfo(MEMINFO.read_text()), _vm_size())
    if budget is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft <= budget:
        return None
    if hard != resource.RLIM_INFINITY:
        budget = min(budget, hard)
    resource.setrlimit(resource.RLIMIT_AS, (budget, hard))
    return budget
