"""Pictures of an activation grid: the photo with the grid drawn over it, the mosaic of the
cells' visualizations, the NMF groups as coloured overlays and the strip of their
visualizations. Arrays in, arrays out (float HWC in [0, 1]); ``to_png`` makes the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .images import resize

# Qualitative colours for groups (Tableau 10 and two more), distinct on a greyed photo.
GROUP_COLORS = np.array(
    [
        (0.122, 0.467, 0.706),
        (1.000, 0.498, 0.055),
        (0.173, 0.627, 0.173),
        (0.839, 0.153, 0.157),
        (0.580, 0.404, 0.741),
        (0.549, 0.337, 0.294),
        (0.890, 0.467, 0.761),
        (0.498, 0.498, 0.498),
        (0.737, 0.741, 0.133),
        (0.090, 0.745, 0.812),
        (0.000, 0.000, 0.502),
        (0.502, 0.502, 0.000),
    ],
    dtype=np.float32,
)
HIGHLIGHT = (1.0, 0.84, 0.0)  # the chosen cell: a yellow that reads on photos and on renders


def group_colors(n: int) -> np.ndarray:
    """(n, 3) colours, one per group, repeating after twelve."""
    return GROUP_COLORS[np.arange(n) % len(GROUP_COLORS)]


def _image(a) -> np.ndarray:
    img = np.asarray(a)
    if img.dtype == np.uint8:
        img = img.astype(np.float32) / 255
    img = img.astype(np.float32)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {img.shape}")
    return np.clip(img, 0, 1)


def cell_edges(length: int, cells: int) -> np.ndarray:
    """Pixel boundaries of ``cells`` equal cells along ``length`` pixels (cells + 1 values)."""
    return np.round(np.linspace(0, length, cells + 1)).astype(int)


def fit_tile(image: np.ndarray, tile: int) -> np.ndarray:
    """A square (S, S, 3) image at ``tile`` pixels: whole-number factors by pixel repetition
    (up) or block means (down), which are exact and fast for the dozens of tiles a mosaic
    redraws on every click; other factors bilinear."""
    s = image.shape[0]
    if tile == s:
        return image
    if tile % s == 0:
        k = tile // s
        return image.repeat(k, 0).repeat(k, 1)
    if s % tile == 0:
        k = s // tile
        return image.reshape(tile, k, tile, k, -1).mean((1, 3))
    return resize(image, (tile, tile))


def mosaic_tile(size: int, cells: int, side: int) -> int:
    """The tile side for ``cells`` tiles of ``size``-px images across about ``side`` pixels:
    a whole multiple or an exact fraction of ``size`` where one fits (see :func:`fit_tile`)."""
    room = max(8, side // max(1, cells))
    if room >= size:
        return size * (room // size)
    for k in range(2, size + 1):
        if size % k == 0 and size // k <= room:
            return max(size // k, min(room, 8))
    return room


def _frame(out: np.ndarray, y0: int, x0: int, y1: int, x1: int, color, width: int) -> None:
    c = np.asarray(color, np.float32)
    out[y0 : y0 + width, x0:x1] = c
    out[max(y0, y1 - width) : y1, x0:x1] = c
    out[y0:y1, x0 : x0 + width] = c
    out[y0:y1, max(x0, x1 - width) : x1] = c


def grid_picture(
    photo,
    nrows: int,
    ncols: int,
    selected: Sequence[int] | None = None,
    *,
    side: int | None = None,
    line=(1.0, 1.0, 1.0),
    line_alpha: float = 0.55,
    highlight=HIGHLIGHT,
) -> np.ndarray:
    """The photo (resized so its longer side is ``side``, if given) with an ``nrows`` x
    ``ncols`` grid drawn over it, and the ``selected`` (row, col) cell framed.

    The lines split the photo into equal cells: a layer position covers about one stride of
    the input (its receptive field is larger; the grid says which position, not what it sees).
    """
    img = _image(photo)
    if side is not None:
        h, w = img.shape[:2]
        k = side / max(h, w)
        img = resize(img, (max(1, round(h * k)), max(1, round(w * k))))
    out = img.copy()
    h, w = out.shape[:2]
    ys, xs = cell_edges(h, nrows), cell_edges(w, ncols)
    col = np.asarray(line, np.float32)
    for y in ys[1:-1]:
        out[y, :] = (1 - line_alpha) * out[y, :] + line_alpha * col
    for x in xs[1:-1]:
        out[:, x] = (1 - line_alpha) * out[:, x] + line_alpha * col
    if selected is not None:
        r, c = int(selected[0]), int(selected[1])
        if 0 <= r < nrows and 0 <= c < ncols:
            width = max(2, min(h, w) // 100)
            _frame(out, ys[r], xs[c], ys[r + 1] + 1, xs[c + 1] + 1, highlight, width)
    return np.clip(out, 0, 1)


def mosaic(
    cells,
    *,
    tile: int | None = None,
    pad: int = 1,
    selected: Sequence[int] | None = None,
    pad_value: float = 1.0,
    highlight=HIGHLIGHT,
) -> np.ndarray:
    """(h, w, S, S, 3) cell images -> one picture, row by row as in the layer, each tile
    resized to ``tile`` pixels (default S) and the ``selected`` (row, col) tile framed."""
    a = np.asarray(cells, dtype=np.float32)
    if a.ndim != 5 or a.shape[-1] != 3:
        raise ValueError(f"expected cell images of shape (h, w, S, S, 3), got {a.shape}")
    nrows, ncols, s = a.shape[0], a.shape[1], a.shape[2]
    t = s if tile is None else int(tile)
    out = np.full((nrows * (t + pad) + pad, ncols * (t + pad) + pad, 3), pad_value, np.float32)
    for r in range(nrows):
        for c in range(ncols):
            img = fit_tile(a[r, c], t)
            y, x = pad + r * (t + pad), pad + c * (t + pad)
            out[y : y + t, x : x + t] = img
    if selected is not None:
        r, c = int(selected[0]), int(selected[1])
        if 0 <= r < nrows and 0 <= c < ncols:
            y, x = pad + r * (t + pad), pad + c * (t + pad)
            width = max(2, t // 16)
            _frame(
                out, max(0, y - pad), max(0, x - pad), y + t + pad, x + t + pad, highlight, width
            )
    return np.clip(out, 0, 1)


def groups_overlay(
    photo,
    maps,
    colors=None,
    *,
    alpha: float = 0.7,
    side: int | None = None,
    grey: float = 0.6,
) -> np.ndarray:
    """The photo, greyed by ``grey`` (0: as is, 1: fully grey) so that colours read, with
    each group's map (G, h, w) in [0, 1] painted in its colour.

    Where groups overlap the colour is their mixture weighted by strength; the opacity is
    ``alpha`` times the strongest group there, so weak regions keep the photo visible. Maps
    are upsampled bilinearly from the grid to the photo.
    """
    img = _image(photo)
    if side is not None:
        h, w = img.shape[:2]
        k = side / max(h, w)
        img = resize(img, (max(1, round(h * k)), max(1, round(w * k))))
    m = np.asarray(maps, dtype=np.float32)
    if m.ndim != 3:
        raise ValueError(f"expected group maps of shape (G, h, w), got {m.shape}")
    lum = img @ np.array([0.299, 0.587, 0.114], np.float32)
    base = (1 - grey) * img + grey * lum[..., None]
    if len(m) == 0:
        return np.clip(base, 0, 1)
    cols = group_colors(len(m)) if colors is None else np.asarray(colors, np.float32)
    up = np.stack([np.clip(resize(g, img.shape[:2]), 0, 1) for g in m])  # (G, H, W)
    total = up.sum(0)
    mix = np.einsum("ghw,gc->hwc", up, cols) / np.maximum(total, 1e-8)[..., None]
    strength = alpha * up.max(0)[..., None]
    return np.clip((1 - strength) * base + strength * mix, 0, 1)


def group_map_tiles(maps, colors=None, *, tile: int = 48) -> list[np.ndarray]:
    """Each group's map alone, in its colour on white, ``tile`` pixels square (nearest)."""
    m = np.asarray(maps, dtype=np.float32)
    cols = group_colors(len(m)) if colors is None else np.asarray(colors, np.float32)
    out = []
    for g, c in zip(m, cols):
        v = np.clip(resize(g, (tile, tile), nearest=True), 0, 1)[..., None]
        out.append((1 - v) * 1.0 + v * c)
    return out


def groups_strip(
    images, maps=None, colors=None, *, tile: int | None = None, bar: int = 4, pad: int = 4
) -> np.ndarray:
    """The groups' visualizations side by side, each over a bar of its colour; with ``maps``
    (G, h, w), each group's map in its colour under its picture."""
    a = np.asarray(images, dtype=np.float32)
    if a.ndim != 4 or a.shape[-1] != 3:
        raise ValueError(f"expected group images of shape (G, S, S, 3), got {a.shape}")
    g = len(a)
    if g == 0:
        return np.ones((8, 8, 3), np.float32)
    s = a.shape[1]
    t = s if tile is None else int(tile)
    cols = group_colors(g) if colors is None else np.asarray(colors, np.float32)
    tiles = group_map_tiles(maps, cols, tile=t) if maps is not None else None
    height = t + bar + (t + pad if tiles is not None else 0)
    out = np.ones((height + 2 * pad, g * (t + pad) + pad, 3), np.float32)
    for k in range(g):
        x = pad + k * (t + pad)
        img = fit_tile(a[k], t)
        out[pad : pad + t, x : x + t] = img
        out[pad + t : pad + t + bar, x : x + t] = cols[k]
        if tiles is not None:
            y = pad + t + bar + pad
            out[y : y + t, x : x + t] = tiles[k]
    return np.clip(out, 0, 1)
