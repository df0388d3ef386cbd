"""Inputs as the engines take them: batches, memory layout, and how many fit in memory."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .errors import ParameterError


def is_batch(images: Any) -> bool:
    """A list/tuple of images, or a 4-D tensor of more than one, gives one result per image."""
    if isinstance(images, (list, tuple)):
        return True
    return isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[0] > 1


# Memory budget for the samples of one internal batch (SmoothGrad, Integrated Gradients,
# Score-CAM): a quarter of the free GPU memory, or this many bytes on the CPU.
CPU_BUDGET_BYTES = 2 << 30


def activation_bytes(model) -> int:
    """Bytes of the outputs of all leaf layers for one input: what a forward with autograd keeps."""
    mods = dict(model.module.named_modules())
    info = [i for i in model.layer_info.values() if not any(True for _ in mods[i.name].children())]
    itemsize = next((p.element_size() for p in model.module.parameters()), 4)
    return max(1, sum(int(np.prod(i.shape)) for i in info) * itemsize)


def auto_batch_size(model, *, with_grad: bool, limit: int = 64) -> int:
    """How many inputs one internal batch may hold so that it fits the memory budget."""
    device = model.device
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        budget = free // 4
    else:
        budget = CPU_BUDGET_BYTES
    # Backward keeps the forward's activations and creates gradients of the same size.
    per_input = activation_bytes(model) * (3 if with_grad else 1)
    return int(max(1, min(limit, budget // per_input)))


def input_layout(x: torch.Tensor, model) -> torch.Tensor:
    """``x`` in the memory layout of the model's weights: channels-last for a channels-last
    model (see :meth:`Model.set_channels_last`), NCHW otherwise.

    Mixed layouts are the slow case: oneDNN then reorders every weight on every call
    (measured in docs/benchmarks.md).
    """
    if x.ndim == 4 and model.channels_last:
        return x.contiguous(memory_format=torch.channels_last)
    return x.contiguous()


def check_batch_size(batch_size: Any) -> None:
    if batch_size is not None and (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ParameterError(f"batch_size must be a positive integer or None, got {batch_size!r}")
