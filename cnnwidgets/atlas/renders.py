"""Feature visualizations of atlas channels, each independent of how the work was split.

``cw.visualize`` draws the starting images and every random transform of a batch from one
generator seeded by ``seed``, so an image rendered in a batch depends on its batch-mates.
An atlas renders one *unit* per call instead - the channel's negative and positive images
together - seeded by a hash of (build seed, layer, channel): a unit gives the same pixels
whichever rank renders it, in whatever order, and when a killed build is resumed.

A bigger batch would share the forward passes (on a 2-core CPU a chunk of 8 images costs
about 0.7 of the time of 8 single ones; on a GPU far less); the trade is taken for
reproducibility.

The positive image maximises the mean of the channel in the atlas layer (``layer:c``); the
negative one minimises it in the scanned pre-activation layer (``-scan:c``), since after a
ReLU the minimum is a flat zero with nothing to draw (Distill's figures do the same).
"""

from __future__ import annotations

import numpy as np

from ..engines.featureviz import visualize
from ..render import to_png
from .store import Layout, digest, write_bytes


def unit_seed(seed: int, layer: str, channel: int) -> int:
    return int(digest("render", int(seed), layer, int(channel))[:15], 16)


def render_unit(
    model, layer: str, scan: str, channel: int, *, steps: int, size: int, negative: bool, seed: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """``(negative or None, positive)`` images (H, W, 3) float in [0, 1] of one channel."""
    objectives = ([f"-{scan}:{channel}"] if negative else []) + [f"{layer}:{channel}"]
    images = np.asarray(
        visualize(model, objectives, steps=steps, size=size, seed=unit_seed(seed, layer, channel))
    )
    return (images[0], images[1]) if negative else (None, images[0])


def unit_done(layout: Layout, layer: str, channel: int, negative: bool) -> bool:
    d = layout.channel_dir(layer, channel)
    # positive.png is written last, so it marks a finished unit
    return (d / "positive.png").exists() and (not negative or (d / "negative.png").exists())


def write_unit(layout: Layout, layer: str, channel: int, neg, pos) -> None:
    d = layout.channel_dir(layer, channel)
    if neg is not None:
        write_bytes(d / "negative.png", to_png(neg))
    write_bytes(d / "positive.png", to_png(pos))
