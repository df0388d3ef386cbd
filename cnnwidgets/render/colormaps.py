"""Colormaps: sequential for magnitudes, diverging (centred on zero) for signed maps."""

from __future__ import annotations

import numpy as np

SEQUENTIAL = "inferno"
DIVERGING = "RdBu_r"
CAM = "jet"


def _cmap(name: str):
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError:
        raise ValueError(
            f"unknown colormap {name!r}; e.g. viridis, inferno, magma, jet, RdBu_r, coolwarm, gray"
        ) from None


def normalize(
    values: np.ndarray,
    lo: float | None = None,
    hi: float | None = None,
    percentile: float | None = None,
) -> np.ndarray:
    """Scale to [0, 1] between lo and hi (default min/max, or a high percentile of |values|)."""
    v = np.asarray(values, dtype=np.float32)
    if percentile is not None:
        hi = float(np.percentile(v, percentile)) if hi is None else hi
    lo = float(v.min()) if lo is None else lo
    hi = float(v.max()) if hi is None else hi
    if hi - lo < 1e-12:
        return np.zeros_like(v)
    return np.clip((v - lo) / (hi - lo), 0, 1)


def apply_colormap(
    values: np.ndarray,
    cmap: str = SEQUENTIAL,
    *,
    signed: bool = False,
    lo: float | None = None,
    hi: float | None = None,
) -> np.ndarray:
    """(H, W) values -> (H, W, 3) RGB floats in [0, 1].

    ``signed=True`` centres a diverging map on zero (white at 0, symmetric limits), so that the
    colour of zero never moves with the data; otherwise values are scaled min..max.
    """
    v = np.asarray(values, dtype=np.float32)
    if signed:
        m = float(np.abs(v).max()) if hi is None else hi
        scaled = normalize(v, -m, m) if m > 0 else np.full_like(v, 0.5)
        if cmap == SEQUENTIAL:
            cmap = DIVERGING
    else:
        scaled = normalize(v, lo, hi)
    return _cmap(cmap)(scaled)[..., :3].astype(np.float32)


def limits(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """Colour limits for ``values``: symmetric around 0 when ``signed`` (so that 0 keeps the
    colormap's middle colour whatever the data), 0..max otherwise. A flat map still gets a
    range, so that it is drawn in one colour instead of dividing by zero."""
    v = np.asarray(values, dtype=np.float32)
    if signed:
        m = float(np.abs(v).max()) if v.size else 0.0
        return (-m, m) if m > 0 else (-1.0, 1.0)
    hi = float(v.max()) if v.size else 0.0
    return (0.0, hi) if hi > 0 else (0.0, 1.0)


def colorbar(cmap: str = SEQUENTIAL, width: int = 128, height: int = 10) -> np.ndarray:
    """A horizontal colour bar, low values on the left: (height, width, 3) RGB floats, the
    legend of a picture made with :func:`apply_colormap` and the same ``cmap``."""
    ramp = np.broadcast_to(
        np.linspace(0.0, 1.0, max(2, int(width)), dtype=np.float32), (height, width)
    )
    return _cmap(cmap)(ramp)[..., :3].astype(np.float32)
