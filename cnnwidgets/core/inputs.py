"""Inputs as the engines take them: batches, memory layout, and how many fit in memory."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .errors import InputError, ParameterError


def is_batch(images: Any) -> bool:
    """A list/tuple of images, or a 4-D tensor of more than one, gives one result per image."""
    if isinstance(images, (list, tuple)):
        return True
    return isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[0] > 1


def describe(x: torch.Tensor) -> str:
    """``x`` as a message names it: its shape and dtype."""
    return f"of shape {tuple(x.shape)}, {str(x.dtype).replace('torch.', '')}"


def ready_input(
    x: torch.Tensor, in_channels: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    """A 4-D tensor given as an input that is ready (normalised floats, (N, C, H, W)), checked
    and cast to the model's floating dtype and device.

    Another float dtype is cast (float64 data for a float32 model). Integer and bool tensors
    are refused: a ready input is normalised floats, and an image batch of uint8 pixels
    would otherwise be fed as values 0..255, unnormalised, which gives confident nonsense.
    """
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise InputError(
            f"expected an input of shape (N, {in_channels}, H, W), got a tensor {describe(x)}"
        )
    if 0 in x.shape:
        raise InputError(
            f"the input tensor {describe(x)} is empty (no images, or no pixels): give at "
            "least one image of at least 1 x 1 pixels"
        )
    if not x.is_floating_point():
        raise InputError(
            f"the input tensor {describe(x)} holds {str(x.dtype).replace('torch.', '')} "
            "values, but a ready input is normalised floats. Pass the images themselves "
            "(a list of HWC uint8 arrays, PIL images, paths) or m.preprocess(images)"
        )
    x = x.to(device=device, dtype=dtype)
    check_finite(x, "input tensor")
    return x


def check_finite(x: torch.Tensor, what: str = "input tensor") -> None:
    """Refuse NaN and infinite values: a forward pass would carry them into every result
    (all-zero maps with a NaN score), a silent wrong answer. The message names the input:
    shape, dtype, how many values and which images."""
    bad = ~torch.isfinite(x)
    if not bool(bad.any()):
        return
    nan = int(torch.isnan(x).sum())
    inf = int(bad.sum()) - nan
    counts = " and ".join(
        part for part in (f"{nan} NaN" if nan else "", f"{inf} infinite" if inf else "") if part
    )
    images = bad.flatten(1).any(1).nonzero().flatten().tolist() if x.ndim > 1 else []
    where = ""
    if images:
        shown = ", ".join(map(str, images[:10])) + (" ..." if len(images) > 10 else "")
        where = f" (in image{'s' if len(images) > 1 else ''} {shown})"
    raise InputError(
        f"the {what} {describe(x)} holds {counts} values of {x.numel()}{where}; the "
        "engines need finite values: check where the tensor came from (a division by zero, "
        "a log of 0, uninitialised memory from torch.empty)"
    )


# Memory budget for the samples of one internal batch (SmoothGrad, Integrated Gradients,
# Score-CAM): a quarter of the free GPU memory, or this many bytes on the CPU.
CPU_BUDGET_BYTES = 2 << 30


def activation_bytes(model) -> int:
    """Bytes of the outputs of all leaf layers for one input: what a forward with autograd keeps."""
    mods = dict(model.module.named_modules())
    info = [i for i in model.layer_info.values() if not any(True for _ in mods[i.name].children())]
    itemsize = next((p.element_size() for p in model.module.parameters()), 4)
    # Every call of a module that runs several times keeps its own output.
    return max(1, sum(int(np.prod(s)) for i in info for s in (i.shapes or (i.shape,))) * itemsize)


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
