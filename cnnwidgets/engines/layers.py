"""Layers of a model: discovery with output shapes, name checks, and hooks that never leak.

Every hook in cnnwidgets is registered inside a ``with`` block of this module and removed in
its ``finally``, so an exception in the middle of an engine leaves no hook behind.
"""
from __future__ import annotations

import contextlib
import difflib
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

import torch
from torch import nn

from .guard import preserved

# Modules that only reshape or regularise: never interesting to look at.
_SKIPPED = (nn.Dropout, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.Identity, nn.Flatten)

HookFn = Callable[[nn.Module, tuple, object], object]


class LayerNotFoundError(ValueError):
    """A layer name that the model does not have; the message lists the valid ones."""

    def __init__(self, name: str, valid: Sequence[str]):
        self.name, self.valid = name, list(valid)
        closest = difflib.get_close_matches(str(name), self.valid, n=5, cutoff=0.0)
        rest = [v for v in self.valid if v not in closest]
        super().__init__(
            f"no layer {name!r} in this model. Closest: {', '.join(closest)}. "
            f"All {len(self.valid)} layers: {', '.join(closest + rest)}")


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str            # the module's class name, e.g. "Conv2d"
    shape: tuple         # output shape for one image, without the batch dimension
    order: int           # position in execution order (when its forward finished)

    @property
    def spatial(self) -> bool:
        """Output is a (C, H, W) map with more than one position."""
        return len(self.shape) == 3 and self.shape[1] * self.shape[2] > 1

    @property
    def channels(self) -> int:
        return self.shape[0] if self.shape else 0


@contextlib.contextmanager
def forward_hooks(hooks: Mapping[nn.Module, HookFn]) -> Iterator[None]:
    """Register forward hooks for the duration of a ``with`` block; always removed after."""
    handles = []
    try:
        for module, fn in hooks.items():
            handles.append(module.register_forward_hook(fn))
        yield
    finally:
        for h in handles:
            h.remove()


def probe_layers(module: nn.Module, example: torch.Tensor) -> list[LayerInfo]:
    """Run one forward pass and record every submodule that returns a tensor.

    The list is in ``named_modules()`` order; ``order`` gives execution order. Modules that are
    never called (``ModuleList`` holders), return non-tensors, or only reshape are left out.
    """
    seen: dict[str, tuple[tuple, int]] = {}

    def recorder(name: str) -> HookFn:
        def record(_mod, _inputs, output):
            if isinstance(output, torch.Tensor) and name not in seen:
                seen[name] = (tuple(output.shape[1:]), len(seen))
        return record

    named = [(n, m) for n, m in module.named_modules() if n and not isinstance(m, _SKIPPED)]
    with preserved(module), torch.inference_mode(), forward_hooks({m: recorder(n) for n, m in named}):
        module(example)
    return [LayerInfo(n, type(m).__name__, *seen[n]) for n, m in named if n in seen]


class StopForward(Exception):
    """Raised from a hook to end a forward pass once the deepest needed layer has run."""


@contextlib.contextmanager
def capture(modules: Mapping[str, nn.Module], *, stop_after_last: bool = False,
            transform: Callable[[torch.Tensor], torch.Tensor] | None = None
            ) -> Iterator[dict[str, torch.Tensor]]:
    """Collect the outputs of named modules into a dict while the block runs forward passes.

    ``transform`` maps each output before it is stored (default: ``detach().clone()``, since a
    later in-place op such as ``ReLU(inplace=True)`` would otherwise change what was stored).
    With ``stop_after_last``, once every module has produced its output the forward pass is
    ended by :class:`StopForward`; wrap the forward in :func:`run_until_captured`.
    """
    store: dict[str, torch.Tensor] = {}
    keep = transform or (lambda t: t.detach().clone())
    wanted = set(modules)

    def hook_for(name: str) -> HookFn:
        def hook(_mod, _inputs, output):
            if not isinstance(output, torch.Tensor):
                raise TypeError(f"layer {name!r} returns a {type(output).__name__}, not a tensor")
            store[name] = keep(output)
            if stop_after_last and wanted.issubset(store):
                raise StopForward
        return hook

    with forward_hooks({m: hook_for(n) for n, m in modules.items()}):
        yield store


def run_until_captured(forward: Callable[[], object]) -> object | None:
    """Call ``forward()``; a :class:`StopForward` from a capture hook ends it early (returns None)."""
    try:
        return forward()
    except StopForward:
        return None
