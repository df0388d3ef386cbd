"""cnnwidgets keeps freed memory in the process (glibc thresholds), so that loops of large
tensors stop page-faulting the same memory in again on every step."""

import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the thresholds exist only in glibc's malloc",
)

# 20 rounds of a 48 MiB tensor, allocated, written and freed: minor page faults per round.
_FAULTS = """
import resource, torch
import cnnwidgets
torch.ones(12_000_000)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    torch.ones(12_000_000)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(cnnwidgets.allocator.applied(), faults // 20)
"""


def _faults(env_value: str | None) -> tuple[str, int]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "CNNW_MALLOC"}
    if env_value is not None:
        env["CNNW_MALLOC"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", _FAULTS], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1])


@glibc
def test_freed_memory_is_reused_without_page_faults():
    applied, kept = _faults(None)
    default, faulting = _faults("default")
    assert applied == "True" and default == "None"
    # 48 MiB is 12,288 pages: glibc maps and unmaps a block that size on every round.
    assert faulting > 10_000
    assert kept < faulting / 10


def test_keep_freed_memory_says_whether_it_applied(monkeypatch):
    from cnnwidgets import allocator

    monkeypatch.setattr(allocator, "_applied", allocator.applied())  # restored after the test
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert allocator.keep_freed_memory() is False
    assert allocator.applied() is False
