"""The C allocator under PyTorch's CPU tensors: keep freed memory instead of returning it.

With glibc's default malloc, a loop of forward and backward passes frees and re-allocates the
same activation buffers every step, and glibc hands the top of its heap back to the kernel
each time (trimming), and blocks over 32 MiB are always mapped and unmapped, so the next step
page-faults the memory in again. Over a long loop the faults grow and each step slows down at
a constant resident size; with fixed thresholds they stay flat (measured in
docs/benchmarks.md, "Measurements behind design choices"). PyTorch's CPU tuning guide
recommends jemalloc or TCMalloc for the same reason; those
must be preloaded before Python starts, while this works from inside a running kernel.

The cost: up to ``trim_threshold`` of freed memory stays with the process instead of going
back to the system. Nothing happens on other C libraries (macOS, Windows, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# mallopt parameter numbers from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 64 << 20  # blocks below this come from the heap (glibc's cap is 32 MiB)
TRIM_THRESHOLD = 512 << 20  # free memory kept at the heap top before it is given back

_applied: bool | None = None


def keep_freed_memory(
    mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD
) -> bool:
    """Set glibc's mmap and trim thresholds for this process; True when they were set.

    Setting either threshold also turns off glibc's own adjustment of them, which is what
    makes the faults grow. Process-wide and lasting; called once when cnnwidgets is imported
    unless the environment variable ``CNNW_MALLOC=default`` is set.
    """
    global _applied
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        _applied = False
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
        )
    except (OSError, AttributeError):
        ok = False
    _applied = ok
    return ok


def applied() -> bool | None:
    """Whether :func:`keep_freed_memory` set the thresholds (None: it was not called)."""
    return _applied


def apply_default() -> None:
    if os.environ.get("CNNW_MALLOC", "").lower() != "default":
        keep_freed_memory()
