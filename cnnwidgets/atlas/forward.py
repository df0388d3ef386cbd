"""Forward passes that read several layers at once and stop after the deepest one.

The range pass needs every atlas layer's map for each batch; one truncated forward serves
them all. The connections need one layer's output as a leaf that gradients reach. Hooks live
only inside these functions, and the model's train/eval flags are restored on every exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn


class _Stop(Exception):
    """Raised from a hook once every wanted layer has produced its output."""


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Eval mode for the block; each submodule's own flag is put back after."""
    flags = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        yield
    finally:
        for m, was in flags:
            m.training = was


def capture(
    model,
    layers: Sequence[str],
    x: torch.Tensor,
    reduce: Callable[[str, torch.Tensor], Any] | None = None,
) -> dict[str, Any]:
    """``{layer: reduce(layer, float output)}`` for input ``x``, under inference mode, stopped after
    the last of ``layers`` has run. ``reduce`` runs inside the hook, so that only its result
    (say, per-channel maxima) is kept, never every layer's whole map at once."""
    wanted = set(layers)
    store: dict[str, torch.Tensor] = {}
    handles = []

    def hook_for(name):
        def hook(_m, _i, out):
            if name in store:  # a module called twice (ResNet's relu): its first call,
                return  # as ActivationSpectrum reads it
            # clone: a later in-place op (ReLU(inplace=True)) must not change what we read
            t = out.float()
            store[name] = reduce(name, t) if reduce is not None else (t.clone() if t is out else t)
            if wanted.issubset(store):
                raise _Stop

        return hook

    try:
        for name in wanted:
            handles.append(model.module.get_submodule(name).register_forward_hook(hook_for(name)))
        with eval_mode(model.module), torch.inference_mode():
            try:
                model.module(x)
            except _Stop:
                pass
    finally:
        for h in handles:
            h.remove()
    missing = wanted - set(store)
    if missing:
        raise RuntimeError(f"layer(s) {sorted(missing)} were not called in the forward pass")
    return store


def leaf_and_target(
    model, source: str, target: str, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``x`` with ``source``'s output replaced by a leaf tensor that requires grad, and
    return ``(leaf, target output)``, the target still attached to the leaf's graph.

    Parameters keep their ``requires_grad``; callers take ``torch.autograd.grad`` with respect
    to the leaf only, so no parameter gets a ``.grad``.
    """
    store: dict[str, torch.Tensor] = {}
    handles = []

    def on_source(_m, _i, out):
        if "leaf" in store:
            return None
        leaf = out.detach().requires_grad_(True)
        store["leaf"] = leaf
        # The module's consumers get a clone: an in-place op downstream may change it, but
        # not the leaf whose values the attribution multiplies.
        return leaf.clone()

    def on_target(_m, _i, out):
        if "target" in store:
            return
        store["target"] = out
        if "leaf" in store:
            raise _Stop

    try:
        # registered in this order, so that when source == target the target sees the leaf
        handles.append(model.module.get_submodule(source).register_forward_hook(on_source))
        handles.append(model.module.get_submodule(target).register_forward_hook(on_target))
        with eval_mode(model.module), torch.enable_grad():
            try:
                model.module(x)
            except _Stop:
                pass
    finally:
        for h in handles:
            h.remove()
    if "leaf" not in store or "target" not in store:
        raise RuntimeError(f"{source!r} must run before or with {target!r} in the forward pass")
    return store["leaf"], store["target"]
