"""Sanity checks for saliency maps (Adebayo et al. 2018, arXiv:1810.03292): the model parameter
randomisation test.

A map that explains the model must depend on the model's weights. Cascading randomisation
re-initialises the weights from the top layer down, one layer more at each step; a faithful
method's map then changes (a low rank correlation with the original map), while a method that
only reflects the image (an edge detector in disguise) keeps its map.

``randomized_copy(model, n_layers, seed)`` is a copy of the model with its top ``n_layers``
parameterised layers (convolutions and linear layers, in execution order) drawn afresh; the
user's model is never touched. ``rank_correlation(a, b)`` is the Spearman rank correlation of
two maps.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.errors import InputError, ParameterError
from ..core.guard import model_lock
from ..core.model_base import as_model
from ..models.zoo import load_model
from .maps import Attribution


def _has_weights(module: nn.Module) -> bool:
    """A convolution or linear layer: a weight of two or more dimensions of its own (norm
    layers' scales are vectors and are left alone, as the weights they follow decide)."""
    return any(p.ndim >= 2 for p in module.parameters(recurse=False))


def parameterised_layers(model) -> list[str]:
    """Names of the layers with weights (convolutions, linear layers), in execution order."""
    m = as_model(model)
    modules = dict(m.module.named_modules())
    infos = sorted(m.layer_info.values(), key=lambda info: info.order)
    return [info.name for info in infos if _has_weights(modules[info.name])]


def randomized_layers(model, n_layers: int) -> list[str]:
    """The top ``n_layers`` parameterised layers, the top one first (the cascade's order)."""
    layers = parameterised_layers(model)
    if isinstance(n_layers, bool) or not isinstance(n_layers, (int, np.integer)):
        raise ParameterError(f"n_layers must be a whole number, got {n_layers!r}")
    if not 1 <= n_layers <= len(layers):
        raise ParameterError(
            f"n_layers must lie in [1, {len(layers)}] (the layers with weights of this model), "
            f"got {n_layers}"
        )
    return layers[::-1][: int(n_layers)]


def randomized_copy(model, n_layers: int = 3, seed: int = 0):
    """A copy of ``model`` whose top ``n_layers`` layers with weights are re-initialised.

    Every parameter of a chosen layer (weight and bias) is drawn from N(0, 1 / fan_in), the
    variance that keeps activations at scale (fan_in: the weight's inputs per output unit),
    from one generator seeded by ``seed`` and drawn from the top layer down, so the copies of
    a cascade share their top layers' values: ``n_layers=3`` re-draws the layers of
    ``n_layers=2`` identically and one more. Buffers (BatchNorm statistics) are kept.

    The model itself is never changed: the module is deep-copied (under the model's lock, so
    no other engine's hooks come along) and wrapped with the same labels, preprocessing and
    output selection on the same device.
    """
    m = as_model(model)
    chosen = randomized_layers(m, n_layers)
    with model_lock(m.module):
        module = copy.deepcopy(m.module)
    generator = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name in chosen:
            layer = module.get_submodule(name)
            params = list(layer.parameters(recurse=False))
            weight = next(p for p in params if p.ndim >= 2)
            std = 1.0 / math.sqrt(max(1, weight[0].numel()))
            for p in params:
                fresh = torch.randn(p.shape, generator=generator, dtype=torch.float32) * std
                p.copy_(fresh)  # copy_ keeps the parameter's device, dtype and memory layout
    copied = load_model(
        module,
        labels=list(m.labels),
        mean=m.mean,
        std=m.std,
        input_size=m.input_size,
        resize_size=m.resize_size,
        in_channels=m.in_channels,
        output=m.output,
        interpolation=m.interpolation,
        device=m.device,
        name=f"{m.name} (top {len(chosen)} layers randomized)",
    )
    copied.randomized = chosen
    return copied


def _values(a: Any, which: str) -> np.ndarray:
    values = a.map if isinstance(a, Attribution) else a
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputError(f"map {which} has NaN or infinite values")
    return values


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of the flattened values, ties sharing the mean of their ranks."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    sorted_values = flat[order]
    # Tie groups: runs of equal sorted values; each gets the mean of the ranks it spans.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], flat.size]
    mean_rank = (starts + ends + 1) / 2.0  # mean of starts+1 .. ends
    ranks = np.empty(flat.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def rank_correlation(a: Any, b: Any) -> float:
    """Spearman rank correlation of two maps of the same shape (Attributions or arrays).

    NaN when either map is constant: a constant map has no ranking to correlate.
    """
    x, y = _values(a, "a"), _values(b, "b")
    if x.shape != y.shape:
        raise InputError(f"the maps differ in shape: {x.shape} and {y.shape}")
    if x.size < 2:
        raise InputError("a rank correlation needs maps of at least two pixels")
    rx, ry = average_ranks(x), average_ranks(y)
    rx -= rx.mean()
    ry -= ry.mean()
    den = math.sqrt(float(rx @ rx) * float(ry @ ry))
    if den == 0.0:
        return float("nan")
    return float(rx @ ry) / den
