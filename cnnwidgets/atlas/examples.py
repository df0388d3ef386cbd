"""Dataset examples of one channel, as stored: one sprite PNG of the crops and one JSON.

``examples.png`` holds one row per column (min, slightly negative, slightly positive, max)
and ``k`` tiles of ``crop_px`` x ``crop_px`` per row, left to right strongest first; unused
tiles stay white. ``examples.json`` holds, per column, each example's value, image id,
position in the stream (``index``), position in the layer's map and box in model-input
pixels. One sprite per channel keeps an atlas of thousands of channels at a few files per
channel, and a static page shows tiles with CSS alone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..render import to_png
from .store import Layout, plain_id, write_bytes, write_json

COLUMNS = ("min", "slightly_negative", "slightly_positive", "max")


@dataclass(frozen=True)
class AtlasExample:
    """One dataset example, as ``ActivationSpectrum.examples`` gives it, read back from disk.

    The fields of the tracker's examples (``value``, ``image_id``, ``position``, ``box``,
    ``crop`` (crop_px, crop_px, 3) uint8, ``channel``, ``column``), plus ``index``: the
    image's position in the data source.
    """

    value: float
    image_id: Any
    position: tuple[int, int]
    box: tuple[int, int, int, int]
    crop: np.ndarray
    channel: int
    column: str
    index: int


def sprite(examples: dict, k: int, crop_px: int) -> np.ndarray:
    out = np.full((len(COLUMNS) * crop_px, k * crop_px, 3), 255, np.uint8)
    for r, col in enumerate(COLUMNS):
        for i, e in enumerate(examples[col][:k]):
            out[r * crop_px : (r + 1) * crop_px, i * crop_px : (i + 1) * crop_px] = e.crop
    return out


def write_examples(
    layout: Layout, layer: str, channel: int, examples: dict, k: int, crop_px: int
) -> None:
    """Store the tracker's examples of one channel (ids are the build's ``(index, id)``)."""
    d = layout.channel_dir(layer, channel)
    meta = {"crop_px": int(crop_px), "k": int(k), "columns": {}}
    for col in COLUMNS:
        meta["columns"][col] = [
            {
                "value": float(e.value),
                "index": int(e.image_id[0]),
                "image_id": plain_id(e.image_id[1]),
                "position": [int(v) for v in e.position],
                "box": [int(v) for v in e.box],
            }
            for e in examples[col]
        ]
    write_bytes(d / "examples.png", to_png(sprite(examples, k, crop_px)))
    # the JSON last: it marks the channel's examples as written
    write_json(d / "examples.json", meta, durable=False)


def read_examples(layout: Layout, layer: str, channel: int) -> dict[str, list[AtlasExample]]:
    from PIL import Image

    from .store import read_json

    d = layout.channel_dir(layer, channel)
    meta = read_json(d / "examples.json")
    with Image.open(d / "examples.png") as im:
        tiles = np.asarray(im.convert("RGB"))
    p = meta["crop_px"]
    out = {}
    for r, col in enumerate(COLUMNS):
        out[col] = [
            AtlasExample(
                e["value"],
                e["image_id"],
                tuple(e["position"]),
                tuple(e["box"]),
                tiles[r * p : (r + 1) * p, i * p : (i + 1) * p].copy(),
                int(channel),
                col,
                e["index"],
            )
            for i, e in enumerate(meta["columns"][col])
        ]
    return out


def read_example_meta(layout: Layout, layer: str, channel: int) -> dict:
    from .store import read_json

    return read_json(layout.channel_dir(layer, channel) / "examples.json")


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))
