"""Log spectrum scans and figures to Weights & Biases (``pip install wandb``).

Everything takes an active run (``wandb.init(...)`` first; ``WANDB_MODE=offline`` works with
no account or network) or ``run=``. Imported on demand, so cnnwidgets never needs wandb.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np


def _wandb():
    try:
        import wandb
    except ImportError:
        raise ImportError(
            "logging to Weights & Biases needs the wandb package: pip install wandb"
        ) from None
    return wandb


def _run(run):
    wandb = _wandb()
    run = run if run is not None else wandb.run
    if run is None:
        raise RuntimeError("no active wandb run: call wandb.init(...) first, or pass run=")
    return run


def _image(picture: Any, caption: str | None = None):
    """A matplotlib Figure, PNG bytes, or an HWC array -> ``wandb.Image``."""
    wandb = _wandb()
    import io

    from PIL import Image

    if hasattr(picture, "savefig"):
        from ..render.images import figure_png

        picture = figure_png(picture)
    if isinstance(picture, (bytes, bytearray)):
        picture = Image.open(io.BytesIO(picture)).convert("RGB")
    elif not isinstance(picture, Image.Image):
        from ..render.images import to_uint8

        picture = Image.fromarray(to_uint8(np.asarray(picture)))
    return wandb.Image(picture, caption=caption)


def log_figure(
    picture: Any,
    key: str = "figure",
    *,
    run=None,
    step: int | None = None,
    caption: str | None = None,
) -> None:
    """Log one picture (matplotlib Figure, PNG bytes or array) under ``key``."""
    r = _run(run)
    r.log({key: _image(picture, caption)}, step=step)


def spectrum_table(spectrum, channels: Iterable[int] | None = None):
    """A ``wandb.Table`` with one row per example: channel, column, rank, value, image id,
    position and the crop."""
    wandb = _wandb()
    table = wandb.Table(
        columns=["channel", "column", "rank", "value", "image_id", "row", "col", "crop"]
    )
    for ch in spectrum.channels if channels is None else channels:
        for column, examples in spectrum.examples(ch).items():
            for rank, e in enumerate(examples):
                table.add_data(
                    ch,
                    column,
                    rank,
                    e.value,
                    str(e.image_id),
                    e.position[0],
                    e.position[1],
                    wandb.Image(e.crop),
                )
    return table


def log_spectrum(
    spectrum,
    channels: Iterable[int] | None = None,
    *,
    run=None,
    key: str = "spectrum",
    figures: bool = True,
    optimized: bool | tuple = False,
    step: int | None = None,
    **figure_kwargs,
) -> None:
    """Log a scan: a table of every example, the six-column figure of each channel (with
    ``figures``; ``optimized``: True renders the outer columns with
    ``cw.featureviz.optimized_pair``, or a pair of arrays to use as given), and the number of
    images seen."""
    r = _run(run)
    chans = list(spectrum.channels if channels is None else channels)
    payload = {
        f"{key}/examples": spectrum_table(spectrum, chans),
        f"{key}/images_seen": spectrum.images_seen,
    }
    if figures:
        from ..engines.featureviz import optimized_pair
        from ..render.distill import spectrum_figure

        for ch in chans:
            pair = (
                optimized
                if isinstance(optimized, tuple)
                else optimized_pair(spectrum.model, spectrum.layer, ch)
                if optimized
                else None
            )
            fig = spectrum_figure(spectrum, ch, optimized=pair, **figure_kwargs)
            payload[f"{key}/{spectrum.layer}/channel_{ch}"] = _image(fig, f"channel {ch}")
    r.log(payload, step=step)


def scan_progress(*, run=None, key: str = "spectrum/images_seen") -> Callable[[int, Any], None]:
    """A ``progress`` callback for ``ActivationSpectrum.scan`` that logs the images seen."""
    r = _run(run)

    def callback(seen: int, total: int | None) -> None:
        r.log({key: seen})

    return callback
