"""One process or many: the torch.distributed side of an atlas build.

The same code runs alone (``python -m cnnwidgets.atlas``, ``cw.build_atlas``) or as one of
``WORLD_SIZE`` ranks under ``torchrun``: :meth:`Dist.from_env` reads ``RANK`` / ``WORLD_SIZE``
/ ``LOCAL_RANK`` from the environment and joins the process group (gloo when the model is on
the CPU, NCCL on CUDA); without them it is a group of one and every collective is a no-op.

Work is split two ways, and neither changes a result:

- data chunks for the range pass go round-robin (:meth:`Dist.owns`): that pass only takes
  maxima and minima, which do not depend on order;
- data chunks for the examples pass go in contiguous blocks (:meth:`Dist.block`), so that
  merging the ranks' trackers in rank order replays the stream in its original order, and
  ties (broken by position in the stream) fall exactly as in one process;
- render and connection units (one per layer and channel) go round-robin; each unit is
  seeded by its identity, so it does not matter which rank draws it.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch

# Ranks wait for each other at the end of each phase; a rank with more (or slower) renders
# may keep the others waiting for long, so the default 30-minute timeout is too short.
DEFAULT_TIMEOUT_S = float(os.environ.get("CNNWIDGETS_ATLAS_DIST_TIMEOUT", 6 * 3600))


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None
    owns_group: bool = False  # we called init_process_group, so we destroy it

    @classmethod
    def from_env(cls, device: torch.device | str | None = None) -> Dist:
        """The process group described by the environment (a group of one without torchrun)."""
        import torch.distributed as dist

        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            return cls()
        world = int(os.environ["WORLD_SIZE"])
        rank = int(os.environ["RANK"])
        local = int(os.environ.get("LOCAL_RANK", rank))
        if world <= 1:
            return cls(rank=0, world=1, local_rank=local)
        if dist.is_initialized():
            return cls(
                rank=dist.get_rank(),
                world=dist.get_world_size(),
                local_rank=local,
                backend=dist.get_backend(),
            )
        device = torch.device(device or "cpu")
        backend = "nccl" if device.type == "cuda" and dist.is_nccl_available() else "gloo"
        if backend == "nccl":
            # NCCL's object collectives go through the current CUDA device: one per rank.
            torch.cuda.set_device(local)
        dist.init_process_group(
            backend=backend, timeout=datetime.timedelta(seconds=DEFAULT_TIMEOUT_S)
        )
        return cls(rank=rank, world=world, local_rank=local, backend=backend, owns_group=True)

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    # ---- who does what --------------------------------------------------------------------
    def owns(self, index: int) -> bool:
        """Round-robin ownership of unit ``index`` (chunks of the range pass, renders)."""
        return index % self.world == self.rank

    def block(self, n: int, rank: int | None = None) -> range:
        """The contiguous block of ``range(n)`` that ``rank`` (default: this one) scans."""
        r = self.rank if rank is None else rank
        return range(n * r // self.world, n * (r + 1) // self.world)

    # ---- collectives --------------------------------------------------------------------
    def all_gather(self, obj: Any) -> list:
        """Every rank's ``obj``, in rank order (a list of one without a group)."""
        if not self.distributed:
            return [obj]
        import torch.distributed as dist

        out: list = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def check_same(self, what: str, value: Any) -> None:
        """Stop every rank when ranks disagree on ``value`` (e.g. random weights per rank)."""
        values = self.all_gather(value)
        if any(v != values[0] for v in values):
            from .errors import AtlasError

            raise AtlasError(
                f"the ranks disagree on the {what} ({', '.join(map(str, values))}); "
                "every rank must load the same model and data"
            )

    def close(self) -> None:
        if self.owns_group:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.owns_group = False
