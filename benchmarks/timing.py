"""Timing and peak-memory measurement that stays honest on a noisy, shared machine.

Every function of one comparison runs in the same round, in an order shuffled afresh each round
(seeded), so a burst of load from another process hits ours and the peer alike, and no function
always follows the same other one (a rotated fixed order keeps each function's predecessor, and
with it whatever state that predecessor leaves in caches and the allocator). Medians, not means,
because a shared machine produces outliers in one direction only (slower).
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch


def sync(device: torch.device | str) -> None:
    """Wait for queued GPU work; CUDA calls return before the kernels finish."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")


@dataclass
class Timings:
    by_name: dict[str, Timing]
    rounds: int

    def __getitem__(self, name: str) -> Timing:
        return self.by_name[name]

    def median(self, name: str) -> float:
        return self.by_name[name].median

    def ratio(self, a: str, b: str) -> float:
        """Median over rounds of a/b measured in the same round.

        Pairing by round cancels slow drifts of the machine's load that a ratio of two medians
        taken at different moments would keep.
        """
        pairs = [x / y for x, y in zip(self[a].samples, self[b].samples) if y > 0]
        return statistics.median(pairs) if pairs else float("nan")


def time_interleaved(
    fns: Mapping[str, Callable[[], object]],
    *,
    device="cpu",
    warmup: int = 1,
    min_rounds: int = 3,
    max_rounds: int = 15,
    budget_s: float = 30.0,
) -> Timings:
    """Time each function ``rounds`` times, interleaved; returns the samples of each.

    The number of rounds adapts to the cost: as many as fit in ``budget_s`` after the warm-up,
    clamped to [min_rounds, max_rounds], so that cheap batch-1 cases get many samples and
    minute-long Score-CAM runs get the minimum.
    """
    names = list(fns)
    first = {}
    for _ in range(max(warmup, 1)):
        for n in names:
            sync(device)
            t0 = time.perf_counter()
            fns[n]()
            sync(device)
            first[n] = time.perf_counter() - t0
    per_round = sum(first.values())
    rounds = int(max(min_rounds, min(max_rounds, budget_s // max(per_round, 1e-9))))
    out = {n: Timing() for n in names}
    shuffle = random.Random(0).shuffle
    for _ in range(rounds):
        order = list(names)
        shuffle(order)
        for n in order:
            gc.collect()
            sync(device)
            t0 = time.perf_counter()
            fns[n]()
            sync(device)
            out[n].samples.append(time.perf_counter() - t0)
    return Timings(out, rounds)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Peak memory above the level at entry, while the block runs.

    CUDA: the allocator's own peak counter. CPU: resident set size sampled every 2 ms from a
    background thread (torch's CPU allocations bypass tracemalloc); a short spike between two
    samples can be missed, which is why it is read over long scans, not single calls.
    """

    def __init__(self, device="cpu", interval_s: float = 0.002):
        self.device = torch.device(device)
        self.interval_s = interval_s
        self.peak_bytes = 0

    def __enter__(self):
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            return self
        self._base = _rss_bytes()
        self._max = self._base
        self._stop = threading.Event()

        def sample():
            while not self._stop.is_set():
                self._max = max(self._max, _rss_bytes())
                self._stop.wait(self.interval_s)

        self._thread = threading.Thread(target=sample, daemon=True, name="PeakMemory")
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._base
        else:
            self._stop.set()
            self._thread.join()
            self._max = max(self._max, _rss_bytes())
            self.peak_bytes = self._max - self._base
        return False
