"""The receptive field of a layer's position, probed by one backward pass: where a dataset
example's crop is cut from."""

from __future__ import annotations

import weakref

import numpy as np
import torch
from torch import nn

from ...core.guard import preserved
from ...core.hooks import capture, run_until_captured
from ...core.model_base import as_model


def _central_interval(weights: torch.Tensor, mass: float) -> tuple[int, int]:
    """Smallest index range [lo, hi) outside of which at most (1 - mass) / 2 of the total
    weight lies on each side."""
    c = weights.cumsum(0)
    total = float(c[-1])
    tail = (1 - mass) / 2 * total
    lo = int(torch.searchsorted(c, torch.tensor(tail, dtype=c.dtype), right=True))
    hi = int(torch.searchsorted(c, torch.tensor(total - tail, dtype=c.dtype))) + 1
    return min(lo, hi - 1), min(hi, len(weights))


def receptive_field(
    model, layer: str, mass: float | None = None
) -> tuple[tuple[int, int, int, int], tuple[int, int], tuple[float, float]]:
    """The input box that one position of ``layer`` sees, probed by one backward pass.

    Returns ``(box, position, stride)``: ``box`` = (y0, x0, y1, x1) (end exclusive) for the
    centre ``position`` (row, col) of the layer's map, and ``stride`` = input size / map size,
    to move the box to other positions. ``mass=None``: the theoretical receptive field, every
    input pixel with a nonzero gradient (summed over channels and four random inputs, so that
    a ReLU that is off for one input does not shrink it). ``mass=0.9``: the effective receptive
    field (Luo et al. 2016), the central rows and columns that hold 90 % of the gradient
    magnitude, made square; deep layers see the whole image in theory but mostly the middle.
    """
    m = as_model(model)
    m.check_layer(layer)
    shape = m.layer_info[layer].shape
    if len(shape) != 3:
        raise ValueError(f"layer {layer!r} has output shape {shape}, not a (C, H, W) map")
    if mass is not None and not 0 < mass <= 1:
        raise ValueError(f"mass must lie in (0, 1], got {mass!r}")
    # A widget makes a new tracker whenever the layer changes: probe each layer once.
    key = (layer, mass, tuple(m.input_size))
    cached = _rf_cache.setdefault(m.module, {})
    if key not in cached:
        cached[key] = _probe_receptive_field(m, layer, shape, mass)
    return cached[key]


_rf_cache: weakref.WeakKeyDictionary[nn.Module, dict] = weakref.WeakKeyDictionary()


def _probe_receptive_field(m, layer: str, shape: tuple, mass: float | None):
    _, h, w = shape
    H, W = m.input_size
    ic, jc = h // 2, w // 2
    stride = (H / h, W / w)
    gen = torch.Generator().manual_seed(0)
    x = (
        torch.randn(4, m.in_channels, H, W, generator=gen)
        .to(m.device, m.dtype)
        .requires_grad_(True)
    )
    with (
        preserved(m.module),
        torch.enable_grad(),
        capture({layer: m.resolve_layer(layer)}, stop_after_last=True, transform=lambda t: t) as st,
    ):
        run_until_captured(lambda: m.module(x))
        st[layer][:, :, ic, jc].sum().backward()
    g = x.grad.detach().abs().sum((0, 1)).double().cpu()
    rows, cols = torch.nonzero(g.sum(1) > 0).flatten(), torch.nonzero(g.sum(0) > 0).flatten()
    if len(rows) == 0:  # a dead position: fall back to the stride-sized cell
        cy, cx = (ic + 0.5) * stride[0], (jc + 0.5) * stride[1]
        return (
            (
                int(cy - stride[0] / 2),
                int(cx - stride[1] / 2),
                int(np.ceil(cy + stride[0] / 2)),
                int(np.ceil(cx + stride[1] / 2)),
            ),
            (ic, jc),
            stride,
        )
    if mass is None:
        return (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1), (ic, jc), stride
    y0, y1 = _central_interval(g.sum(1), mass)
    x0, x1 = _central_interval(g.sum(0), mass)
    side = max(y1 - y0, x1 - x0, int(np.ceil(max(stride))))
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    top, left = int(round(cy - side / 2)), int(round(cx - side / 2))
    return (top, left, top + side, left + side), (ic, jc), stride


# ---- the tracker -------------------------------------------------------------------------------
