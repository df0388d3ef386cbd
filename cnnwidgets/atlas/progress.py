"""Progress of a build: a tqdm bar (text in a terminal, a widget bar in a notebook, through
``tqdm.auto``) with images/s and an ETA, or a user's callable, or nothing.

A callable gets one dict per step: ``{"stage", "done", "total", "unit", "rank"}``; stages
are "ranges" and "examples" (unit "img"), "connections" and "renders" (unit "channel").
Under torchrun only rank 0 draws a bar, for its own share of the work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

STAGES = {
    "ranges": "scan 1/2: channel ranges",
    "examples": "scan 2/2: dataset examples",
    "connections": "connections",
    "renders": "feature visualizations",
}


class Progress:
    def __init__(self, progress: bool | str | Callable | None, rank: int = 0, world: int = 1):
        self.callback = progress if callable(progress) else None
        self.bars = progress in (True, "auto") and rank == 0
        self.rank, self.world = rank, world

    def stage(self, name: str, total: int | None, unit: str) -> Stage:
        return Stage(self, name, total, unit)


class Stage:
    def __init__(self, owner: Progress, name: str, total: int | None, unit: str):
        self.owner, self.name, self.total, self.unit = owner, name, total, unit
        self.done = 0
        self.bar = None
        if owner.bars:
            from tqdm.auto import tqdm

            desc = STAGES.get(name, name)
            if owner.world > 1:
                desc += f" (rank 0 of {owner.world})"
            self.bar = tqdm(
                total=total,
                unit=unit,
                desc=desc,
                dynamic_ncols=True,
                mininterval=0.5,
                smoothing=0.1,
            )

    def update(self, n: int = 1, **extra: Any) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        if self.owner.callback is not None:
            self.owner.callback(
                {
                    "stage": self.name,
                    "done": self.done,
                    "total": self.total,
                    "unit": self.unit,
                    "rank": self.owner.rank,
                    **extra,
                }
            )

    def set_total(self, total: int | None) -> None:
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
