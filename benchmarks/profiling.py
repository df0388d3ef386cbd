"""torch.profiler summaries of our side, for the rows that miss a target."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile


def top_ops(fn: Callable[[], object], device: str = "cpu", rows: int = 12) -> str:
    """Run ``fn`` once under the profiler; the ops that took the most time, self time first."""
    acts = [ProfilerActivity.CPU]
    if torch.device(device).type == "cuda":
        acts.append(ProfilerActivity.CUDA)
    fn()  # warm caches so the profile shows steady-state work
    with profile(activities=acts, record_shapes=False) as prof:
        fn()
    key = "self_cuda_time_total" if torch.device(device).type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows)
