"""The address-space bound that turns running out of memory into exit 4 instead of the OOM killer."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from explorer.memory_bound import _meminfo, address_space_budget

MEMINFO = """\
MemTotal:       24683784 kB
MemFree:         1000000 kB
MemAvailable:   20000000 kB
SwapTotal:       2000000 kB
SwapFree:        1000000 kB
HugePages_Total:       0
"""


def test_the_budget_is_what_is_mapped_plus_what_the_machine_can_still_back():
    info = _meminfo(MEMINFO)
    assert info["MemAvailable"] == 20000000 * 1024 and info["HugePages_Total"] == 0
    assert address_space_budget(info, vm_size=3 << 30) == (3 << 30) + (20000000 + 1000000) * 1024
    assert address_space_budget({"MemTotal": 1}, vm_size=0) is None  # no MemAvailable: no bound


def _limit_after(preset: str) -> str:
    code = textwrap.dedent(
        f"""
        import resource
        {preset}
        from explorer.memory_bound import bound_address_space
        bound_address_space()
        print(resource.getrlimit(resource.RLIMIT_AS)[0])
        """
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_the_command_bounds_its_address_space_and_never_raises_a_lower_limit():
    import resource

    bounded = int(_limit_after(""))
    assert bounded != resource.RLIM_INFINITY and bounded > 1 << 28
    low = 1 << 30
    preset = f"resource.setrlimit(resource.RLIMIT_AS, ({low}, resource.RLIM_INFINITY))"
    assert int(_limit_after(preset)) == low
