"""Layers of a model: discovery with output shapes, and name checks whose errors list the
valid names."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .errors import CNNWidgetsError
from .guard import preserved
from .hooks import HookFn, forward_hooks

# Modules that only reshape or regularise: never interesting to look at.
_SKIPPED = (nn.Dropout, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.Identity, nn.Flatten)


class LayerNotFoundError(CNNWidgetsError, ValueError):
    """A layer name that the model does not have; the message lists the valid ones."""

    def __init__(self, name: str, valid: Sequence[str]):
        self.name, self.valid = name, list(valid)
        closest = difflib.get_close_matches(str(name), self.valid, n=5, cutoff=0.0)
        rest = [v for v in self.valid if v not in closest]
        super().__init__(
            f"no layer {name!r} in this model. Closest: {', '.join(closest)}. "
            f"All {len(self.valid)} layers: {', '.join(closest + rest)}"
        )


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str  # the module's class name, e.g. "Conv2d"
    shape: tuple  # output shape for one image, without the batch dimension
    order: int  # position in execution order (when its forward finished)
    calls: int = 1  # how many times the module runs in one forward pass

    @property
    def spatial(self) -> bool:
        """Output is a (C, H, W) map with more than one position."""
        return len(self.shape) == 3 and self.shape[1] * self.shape[2] > 1

    @property
    def channels(self) -> int:
        return self.shape[0] if self.shape else 0


def probe_layers(module: nn.Module, example: torch.Tensor) -> list[LayerInfo]:
    """Run one forward pass and record every submodule that returns a tensor.

    The list is in ``named_modules()`` order; ``order`` gives execution order. Modules that are
    never called (``ModuleList`` holders), return non-tensors, or only reshape are left out.
    """
    seen: dict[str, tuple[tuple, int]] = {}
    calls: dict[str, int] = {}

    def recorder(name: str) -> HookFn:
        def record(_mod, _inputs, output):
            if isinstance(output, torch.Tensor):
                calls[name] = calls.get(name, 0) + 1
                if name not in seen:
                    seen[name] = (tuple(output.shape[1:]), len(seen))

        return record

    named = [(n, m) for n, m in module.named_modules() if n and not isinstance(m, _SKIPPED)]
    with (
        preserved(module),
        torch.inference_mode(),
        forward_hooks({m: recorder(n) for n, m in named}),
    ):
        module(example)
    return [LayerInfo(n, type(m).__name__, *seen[n], calls[n]) for n, m in named if n in seen]
