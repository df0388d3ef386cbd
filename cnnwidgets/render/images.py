"""Arrays -> pictures: overlays, grids, upscaling and PNG/JPEG bytes."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from .colormaps import CAM, apply_colormap


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float [0, 1] (or uint8) HWC/HW -> uint8; an (H, W, 1) picture becomes (H, W), which
    PIL encodes as grayscale (it refuses a one-channel third axis)."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.dtype == np.uint8:
        return a
    return np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)


def resize(image: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize an HW or HWC float image to (H, W), bilinear (or nearest, for crisp pixels)."""
    a = np.asarray(image, dtype=np.float32)
    h, w = size
    if a.shape[:2] == (h, w):
        return a
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    if a.ndim == 2:
        return np.asarray(Image.fromarray(a, mode="F").resize((w, h), resample), dtype=np.float32)
    return np.stack([resize(a[..., c], size, nearest) for c in range(a.shape[-1])], axis=-1)


def overlay(
    image: np.ndarray,
    heatmap: np.ndarray,
    alpha: float = 0.5,
    cmap: str = CAM,
    signed: bool = False,
) -> np.ndarray:
    """Blend a colormapped (h, w) map over an (H, W, 3) image; the map is resized to fit.

    ``alpha`` is the heat map's opacity: 0 shows the photo, 1 only the map.
    """
    img = np.asarray(image, dtype=np.float32)
    if img.dtype == np.uint8 or img.max() > 1.0 + 1e-6:
        img = img / 255.0
    heat = resize(np.asarray(heatmap, dtype=np.float32), img.shape[:2])
    colored = apply_colormap(heat, cmap, signed=signed)
    return np.clip((1 - alpha) * img[..., :3] + alpha * colored, 0, 1)


def grid(
    images: Sequence[np.ndarray], ncols: int | None = None, pad: int = 2, pad_value: float = 1.0
) -> np.ndarray:
    """Tile equally sized HW or HWC images into one picture, row by row."""
    items = [np.asarray(im, dtype=np.float32) for im in images]
    if not items:
        raise ValueError("no images to put in a grid")
    items = [im[..., None].repeat(3, -1) if im.ndim == 2 else im for im in items]
    h, w, c = items[0].shape
    n = len(items)
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), pad_value, np.float32)
    for i, im in enumerate(items):
        r, col = divmod(i, ncols)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        out[y : y + h, x : x + w] = im
    return out


def upscale(image: np.ndarray, min_side: int) -> np.ndarray:
    """Nearest-neighbour upscale by an integer factor until the shorter side is >= min_side."""
    a = np.asarray(image)
    factor = max(1, math.ceil(min_side / max(1, min(a.shape[:2]))))
    return a.repeat(factor, 0).repeat(factor, 1) if factor > 1 else a


def enlarge(image: np.ndarray, max_side: int) -> np.ndarray:
    """Nearest-neighbour upscale by the largest whole factor that keeps the longer side within
    ``max_side`` (at least 1): every cell of a small map becomes an equal square block, and
    the aspect ratio is kept."""
    a = np.asarray(image)
    factor = max(1, int(max_side) // max(1, max(a.shape[:2])))
    return a.repeat(factor, 0).repeat(factor, 1) if factor > 1 else a


def readout(values: np.ndarray, label: str = "value", max_side: int = 64) -> dict:
    """The numbers behind a picture of an (H, W) map, for a hover readout in the front end:
    ``{"label", "size": [H, W], "shape": [h, w], "values": float32 bytes, row by row}``.

    Maps longer than ``max_side`` are averaged over equal blocks (``shape`` is then smaller than
    ``size``), so the trait stays small; positions are still read in the map's own ``size``.
    """
    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"a readout needs an (H, W) map, got shape {v.shape}")
    h, w = v.shape
    f = max(1, math.ceil(max(h, w) / max(1, int(max_side))))
    if f > 1:
        ph, pw = -h % f, -w % f
        padded = np.pad(v, ((0, ph), (0, pw)), mode="edge")
        v = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).mean((1, 3))
    return {
        "label": label,
        "size": [int(h), int(w)],
        "shape": [int(v.shape[0]), int(v.shape[1])],
        "values": np.ascontiguousarray(v, dtype="<f4").tobytes(),
    }


def to_png(image: np.ndarray) -> bytes:
    """HW or HWC image (float [0, 1] or uint8) -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buf, format="PNG", optimize=False, compress_level=1)
    return buf.getvalue()


def to_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """HWC image -> JPEG bytes (smaller than PNG for photos and live frames)."""
    buf = io.BytesIO()
    Image.fromarray(to_uint8(image)).convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def figure_png(fig, dpi: int = 150) -> bytes:
    """PNG bytes of a matplotlib figure (white background, tight box)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", bbox_inches="tight", pad_inches=0.05)
    return buf.getvalue()
