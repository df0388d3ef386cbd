"""Tensors and arrays -> pictures: colormaps, overlays, grids, PNG bytes, figures."""

from .colormaps import DIVERGING, SEQUENTIAL, apply_colormap, normalize
from .images import grid, overlay, resize, to_jpeg, to_png, to_uint8, upscale

__all__ = [
    "apply_colormap",
    "normalize",
    "overlay",
    "grid",
    "resize",
    "upscale",
    "to_png",
    "to_jpeg",
    "to_uint8",
    "SEQUENTIAL",
    "DIVERGING",
]
