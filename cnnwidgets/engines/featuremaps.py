"""Feature maps (activations) of one layer.

The forward pass stops right after the layer (no classifier head), runs under
``torch.inference_mode`` and leaves the model as found.

No cache: every call runs the forward pass. A cache keyed on the parameters' version counters
returned stale maps after edits that do not bump them (``weight.data.mul_(2)``,
``load_state_dict(..., assign=True)``, a replaced submodule, a user's hook); a key that sees
every such edit (a hash of every weight) costs about as much as the forward pass it would save
(measured in docs/benchmarks.md, "Feature maps: no cache"). A widget that re-reads one layer
(the channel slider) keeps that layer's maps itself.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from ..core.guard import preserved
from ..core.hooks import capture, run_until_captured
from ..core.inputs import is_batch
from ..core.model_base import as_model


def _layer_forward(m, layer: str, x: torch.Tensor) -> torch.Tensor:
    """Run ``x`` up to and including ``layer``; return its output (detached)."""
    target = m.resolve_layer(layer)
    with (
        preserved(m.module),
        torch.inference_mode(),
        capture({layer: target}, stop_after_last=True) as store,
    ):
        run_until_captured(lambda: m.module(x))
    if layer not in store:
        raise RuntimeError(
            f"layer {layer!r} was not called in the forward pass, so it has no feature maps"
        )
    return store[layer]


def feature_maps(model, images: Any, layer: str, *, cache: bool | None = None) -> np.ndarray:
    """Activations of ``layer`` for one image, (C, H, W); a list of images gives (N, C, H, W).

    ``images``: anything ``Model.prepare`` reads (a bundled name, path, PIL image, array, a
    list of those, or a ready (N, C, H, W) input tensor). ``layer``: a name of
    ``model.layer_names`` (``"name@k"`` for the k-th call of a module that runs several
    times). Layers with non-spatial outputs give their own shape (e.g. (K,) for a linear
    layer). Every call runs the forward pass, so the maps always match the model as it is
    now; ``cache`` is accepted for old callers and ignored (``cache=True`` warns).
    """
    if cache:
        warnings.warn(
            "feature_maps no longer caches (a cache could return maps of weights that have "
            "changed since); cache=True has no effect",
            FutureWarning,
            stacklevel=2,
        )
    m = as_model(model)
    m.check_layer(layer)
    x = m.prepare(images)
    maps = _layer_forward(m, layer, x).float().cpu().numpy()
    return maps if is_batch(images) else maps[0]


def top_channels(maps: np.ndarray, k: int = 8, by: str = "mean") -> np.ndarray:
    """Indices of the ``k`` most active channels, strongest first.

    ``maps``: (C, H, W) gives (k,); (N, C, H, W) gives (N, k), one ranking per image.
    ``by``: "mean" (average activation over positions) or "max" (strongest single position).
    """
    a = np.asarray(maps)
    if a.ndim not in (3, 4):
        raise ValueError(f"expected feature maps of shape (C, H, W) or (N, C, H, W), got {a.shape}")
    if by == "mean":
        score = a.mean(axis=(-2, -1))
    elif by == "max":
        score = a.max(axis=(-2, -1))
    else:
        raise ValueError(f"unknown ranking {by!r}: use 'mean' or 'max'")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = min(int(k), score.shape[-1])
    order = np.argsort(-score, axis=-1, kind="stable")
    return order[..., :k]
