"""The floors no engine can beat: the model's bare passes on the same batch.

``forward``: one inference forward pass. ``forward_backward``: forward plus backward down to the
input with the parameters frozen, the least any input-gradient method has to do.
``forward_until``: a forward pass that ends at a layer, the least a scan of that layer needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cnnwidgets.core import capture, preserved, run_until_captured


def forward(model, x: torch.Tensor) -> torch.Tensor:
    with preserved(model.module), torch.inference_mode():
        return model.logits(x)


def forward_backward(model, x: torch.Tensor, targets: Sequence[int]) -> torch.Tensor:
    with preserved(model.module):
        x = x.detach().requires_grad_(True)
        logits = model.logits(x)
        idx = torch.as_tensor(list(targets), device=logits.device)
        logits.gather(1, idx.view(-1, 1)).sum().backward()
        return x.grad


def forward_until(model, layer: str, x: torch.Tensor) -> torch.Tensor:
    module = model.module_of(layer)
    with (
        preserved(model.module),
        torch.inference_mode(),
        capture({layer: module}, stop_after_last=True, transform=lambda t: t) as store,
    ):
        run_until_captured(lambda: model.module(x))
    return store[layer]
