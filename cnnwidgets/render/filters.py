"""Convolution filters -> pictures (float grids in [0, 1], ready for ``to_png``).

Filters are signed, so every picture here keeps zero at a fixed colour: first-layer RGB
filters are scaled symmetrically around 0 (grey = 0), single-channel kernels use a diverging
colormap centred on 0, and the L2-norm summary (never negative) uses a sequential one.
"""

from __future__ import annotations

import numpy as np

from .colormaps import DIVERGING, SEQUENTIAL, apply_colormap
from .images import grid, upscale


def _check(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float32)
    if w.ndim != 4:
        raise ValueError(f"expected filters of shape (C_out, C_in, kh, kw), got {w.shape}")
    return w


def _symmetric_scale(w: np.ndarray, per_filter: bool) -> np.ndarray:
    """max |w| per filter (shape (C_out, 1, 1, 1)) or over the whole layer (a scalar)."""
    axes = tuple(range(1, w.ndim)) if per_filter else None
    m = np.abs(w).max(axis=axes, keepdims=per_filter)
    return np.where(m > 0, m, 1.0)


def rgb_filters(weights: np.ndarray, per_filter: bool = True) -> np.ndarray:
    """First-layer filters (C_out, 3, kh, kw) -> colour images (C_out, kh, kw, 3) in [0, 1].

    Each filter (or, with ``per_filter=False``, the whole layer) is divided by its largest
    absolute weight and mapped to ``0.5 + w / 2``: grey is a zero weight, so a filter's colour
    shows which input colours it adds (bright) and subtracts (dark).
    """
    w = _check(weights)
    if w.shape[1] != 3:
        raise ValueError(
            f"RGB pictures need 3 input channels, these filters have {w.shape[1]}; "
            "use channel_grid or norm_filters"
        )
    return (0.5 + 0.5 * w / _symmetric_scale(w, per_filter)).transpose(0, 2, 3, 1)


def channel_grid(
    weights: np.ndarray,
    out_channel: int,
    cmap: str = DIVERGING,
    ncols: int | None = None,
    min_side: int = 24,
    pad: int = 1,
) -> np.ndarray:
    """One filter of a deeper layer as a grid of its kernels, one per input channel.

    Every kernel shares one symmetric scale (the filter's largest |w|), so white is zero and
    kernels compare with each other. Returns an (H, W, 3) float picture.
    """
    w = _check(weights)
    if not 0 <= out_channel < w.shape[0]:
        raise IndexError(f"filter {out_channel} out of range: this layer has {w.shape[0]} filters")
    f = w[out_channel]
    m = float(np.abs(f).max()) or 1.0
    tiles = [upscale(apply_colormap(k, cmap, signed=True, hi=m), min_side) for k in f]
    return grid(tiles, ncols=ncols, pad=pad)


def norm_filters(weights: np.ndarray) -> np.ndarray:
    """Summary of deep filters: L2 norm over input channels,
    (C_out, C_in, kh, kw) -> (C_out, kh, kw).

    Shows where in its window each filter looks, whatever the input channel.
    """
    w = _check(weights)
    return np.sqrt((w.astype(np.float64) ** 2).sum(axis=1)).astype(np.float32)


def filter_grid(
    weights: np.ndarray,
    mode: str = "auto",
    ncols: int | None = None,
    min_side: int = 24,
    pad: int = 1,
    per_filter: bool = True,
    cmap: str | None = None,
) -> np.ndarray:
    """All filters of a layer as one (H, W, 3) float picture in [0, 1].

    ``mode``: "rgb" (3 input channels, colour tiles, grey = 0), "norm" (L2 norm over input
    channels, sequential colormap, one scale for the layer so tiles compare), "mean" (mean over
    input channels, diverging colormap centred on 0), or "auto" (rgb when there are 3 input
    channels, else norm). Tiles are upscaled (nearest) to at least ``min_side`` pixels.
    """
    w = _check(weights)
    if mode == "auto":
        mode = "rgb" if w.shape[1] == 3 else "norm"
    if mode == "rgb":
        tiles = list(rgb_filters(w, per_filter=per_filter))
    elif mode == "norm":
        n = norm_filters(w)
        hi = float(n.max()) or 1.0
        tiles = [apply_colormap(t, cmap or SEQUENTIAL, lo=0.0, hi=hi) for t in n]
    elif mode == "mean":
        mean = w.mean(axis=1)
        hi = float(np.abs(mean).max()) or 1.0
        tiles = [apply_colormap(t, cmap or DIVERGING, signed=True, hi=hi) for t in mean]
    else:
        raise ValueError(f"unknown mode {mode!r}: use 'auto', 'rgb', 'norm' or 'mean'")
    return grid([upscale(t, min_side) for t in tiles], ncols=ncols, pad=pad)
