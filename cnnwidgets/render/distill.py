"""The six-column dataset-examples figure of Distill's "Feature Visualization" article.

For one channel, left to right: negative optimized, minimum activation examples, slightly
negative, slightly positive, maximum activation examples, positive optimized. The example
columns come from :meth:`ActivationSpectrum.examples`; the optimized columns are plain arrays
(N, H, W, 3) in [0, 1] (``cw.featureviz.optimized_pair`` renders them), so pictures never
depend on an engine.

Built on ``matplotlib.figure.Figure`` without pyplot: no global figure state, safe from a
widget's background thread, nothing pops up in a notebook unless returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

COLUMN_TITLES = (
    ("negative_optimized", "Negative\noptimized\n"),
    ("min", "Minimum\nactivation\nexamples"),
    ("slightly_negative", "Slightly negative\nactivation\nexamples"),
    ("slightly_positive", "Slightly positive\nactivation\nexamples"),
    ("max", "Maximum\nactivation\nexamples"),
    ("positive_optimized", "Positive\noptimized\n"),
)
NEGATIVE_COLOR = "#3b6fb6"  # blue for the inhibiting side, orange for the exciting side,
POSITIVE_COLOR = "#d9782d"  # as in Distill's figures
EMPTY_COLOR = (0.94, 0.94, 0.94)


def _as_images(images: Any, what: str) -> list[np.ndarray]:
    """(N, H, W, 3) / (H, W, 3) arrays, or lists of them, -> list of float HWC images in [0, 1]."""
    if images is None:
        return []
    if isinstance(images, (list, tuple)):
        items = [np.asarray(im) for im in images]
    else:
        a = np.asarray(images)
        items = [a] if a.ndim in (2, 3) else list(a)
    out = []
    for a in items:
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, -1)
        if a.ndim != 3 or a.shape[-1] not in (1, 3):
            raise ValueError(f"{what}: expected images of shape (N, H, W, 3), got one of {a.shape}")
        if a.shape[-1] == 1:
            a = np.repeat(a, 3, -1)
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / 255
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ValueError(f"{what}: images contain NaN or infinite values")
        out.append(np.clip(a, 0, 1))
    return out


def distill_figure(
    examples: Mapping[str, Sequence],
    negative_optimized: Any = None,
    positive_optimized: Any = None,
    *,
    rows: int | None = None,
    title: str | None = None,
    values: bool = True,
    tile: float = 1.1,
    fontsize: float = 8.0,
):
    """Compose the six columns for one channel into a matplotlib ``Figure``.

    ``examples``: ``{"min", "slightly_negative", "slightly_positive", "max"}`` -> lists of
    examples (objects with ``.crop`` and ``.value``, as :meth:`ActivationSpectrum.examples`
    gives, or plain images). ``negative_optimized`` / ``positive_optimized``: arrays
    (N, H, W, 3) in [0, 1] (or uint8), or None for an empty column. ``rows``: images per
    column (default: the longest column, at most 9). ``values``: print each example's
    activation under it. ``tile``: inches per image.
    """
    from matplotlib.figure import Figure

    missing = [
        k for k in ("min", "slightly_negative", "slightly_positive", "max") if k not in examples
    ]
    if missing:
        raise ValueError(
            f"examples lack the column(s) {', '.join(missing)}; pass "
            "ActivationSpectrum.examples(channel)"
        )
    columns: dict[str, list[tuple[np.ndarray, float | None]]] = {}
    for key in ("min", "slightly_negative", "slightly_positive", "max"):
        items = []
        for e in examples[key]:
            crop = getattr(e, "crop", e)
            items.append((_as_images(crop, key)[0], getattr(e, "value", None)))
        columns[key] = items
    columns["negative_optimized"] = [
        (im, None) for im in _as_images(negative_optimized, "negative_optimized")
    ]
    columns["positive_optimized"] = [
        (im, None) for im in _as_images(positive_optimized, "positive_optimized")
    ]
    n_rows = rows or max(1, min(9, max(len(v) for v in columns.values())))

    text_h = 0.14 if values else 0.0
    head = 0.55 + (0.3 if title else 0.0)
    fig = Figure(figsize=(6 * tile + 0.35, n_rows * (tile + text_h) + head), dpi=100)
    # a slightly wider gutter between the negative and positive halves
    widths = [1, 1, 1, 0.06, 1, 1, 1]
    gs = fig.add_gridspec(
        n_rows,
        7,
        width_ratios=widths,
        wspace=0.08,
        hspace=0.04 + text_h / tile * 1.2,
        left=0.02,
        right=0.98,
        bottom=0.02,
        top=1 - head / (n_rows * (tile + text_h) + head),
    )
    for c, (key, label) in enumerate(COLUMN_TITLES):
        gc = c if c < 3 else c + 1
        color = NEGATIVE_COLOR if c < 3 else POSITIVE_COLOR
        items = columns[key]
        for r in range(n_rows):
            ax = fig.add_subplot(gs[r, gc])
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if r < len(items):
                im, value = items[r]
                ax.imshow(im, interpolation="nearest" if im.shape[0] < 32 else "antialiased")
                if values and value is not None:
                    ax.set_xlabel(
                        f"{value:.3g}", fontsize=fontsize - 1, color="#555555", labelpad=1.5
                    )
            else:
                ax.imshow(np.broadcast_to(np.asarray(EMPTY_COLOR, np.float32), (8, 8, 3)))
                if r == 0:
                    ax.text(
                        0.5,
                        0.5,
                        "none",
                        transform=ax.transAxes,
                        ha="center",
                        va="center",
                        fontsize=fontsize - 1,
                        color="#999999",
                    )
            if r == 0:
                ax.set_title(label, fontsize=fontsize, color=color, pad=4, linespacing=1.1)
    if title:
        fig.suptitle(title, fontsize=fontsize + 2, y=1 - 0.12 / (n_rows * (tile + text_h) + head))
    return fig


def spectrum_figure(
    spectrum,
    channel: int,
    *,
    optimized: tuple | None = None,
    title: str | None = None,
    **figure_kwargs,
):
    """The six-column figure of one channel of an :class:`ActivationSpectrum` (anything with
    ``examples(channel)``, ``layer`` and ``images_seen``).

    ``optimized``: a pair ``(negative, positive)`` of arrays (N, H, W, 3) for the outer
    columns (``cw.featureviz.optimized_pair(model, layer, channel)`` renders them), or None to
    leave them empty.
    """
    if isinstance(optimized, bool):
        raise TypeError(
            "optimized takes the (negative, positive) images; render them with "
            "cw.featureviz.optimized_pair(model, layer, channel)"
        )
    neg, pos = optimized if optimized is not None else (None, None)
    if title is None:
        title = f"{spectrum.layer} : channel {channel}  ({spectrum.images_seen:,} images)"
    return distill_figure(spectrum.examples(channel), neg, pos, title=title, **figure_kwargs)
