"""Attribution results and how raw values become display maps in [0, 1]."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass(eq=False)
class Attribution:
    """One image's attribution for one target class.

    ``map``: (H, W) float32 in [0, 1] at the model's input resolution, for display.
    ``raw``: the signed, unnormalised values (saliency: (C, H, W) with respect to the input
    tensor; CAM: (h, w) at the layer's resolution, before the ReLU where the method has one).
    ``target``: the class explained; ``score``: its logit; ``method``; ``layer`` (CAM only);
    ``params``: the method's parameters as used. ``np.asarray(a)`` gives ``a.map``.
    """

    map: np.ndarray
    raw: np.ndarray
    target: int
    score: float
    method: str
    layer: str | None = None
    params: dict = field(default_factory=dict)

    def __array__(self, dtype=None, copy=None):
        a = self.map if dtype is None else self.map.astype(dtype)
        return a.copy() if copy else a

    def __repr__(self) -> str:
        where = f", layer={self.layer!r}" if self.layer else ""
        return (
            f"Attribution(method={self.method!r}{where}, target={self.target}, "
            f"score={self.score:.4g}, map={self.map.shape}, raw={self.raw.shape})"
        )


def percentile_map(values: np.ndarray, percentile: float = 99.0) -> np.ndarray:
    """Non-negative (H, W) values -> [0, 1], clipped at a high percentile (outliers saturate)."""
    v = np.asarray(values, dtype=np.float32)
    hi = _percentile(v.ravel(), percentile) if v.size else 0.0
    if hi <= 0:
        hi = float(v.max()) if v.size else 0.0
    if hi <= 0:
        return np.zeros_like(v)
    return np.clip(v / hi, 0.0, 1.0)


def _percentile(flat: np.ndarray, q: float) -> float:
    """np.percentile's default (linear) value from a partial sort: half its time on a 224 x 224
    map, which matters on the batch-1 path where the whole call is tens of milliseconds."""
    pos = q / 100.0 * (flat.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, flat.size - 1)
    part = np.partition(flat, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


def minmax_map(values: torch.Tensor) -> torch.Tensor:
    """Scale each (H, W) map of an (N, H, W) batch to [0, 1] between its own min and max."""
    flat = values.flatten(1)
    lo = flat.min(1).values.view(-1, 1, 1)
    hi = flat.max(1).values.view(-1, 1, 1)
    span = hi - lo
    return torch.where(span > 0, (values - lo) / span.clamp_min(1e-30), torch.zeros_like(values))
