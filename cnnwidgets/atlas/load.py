"""Reading an atlas back, without the model: ``load_atlas(out_dir)``.

Everything a viewer needs is plain data: pictures as PNG bytes (``thumbnail``, the
``page()`` of a channel) or arrays, examples as :class:`~.examples.AtlasExample` (the fields
of ``ActivationSpectrum.examples``), connections as dicts, and the index as a dict.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..core import LayerNotFoundError
from .errors import AtlasIncompleteError
from .examples import COLUMNS, AtlasExample, decode_png, read_examples
from .store import FORMAT, Layout, read_json, read_torch


@dataclass(frozen=True)
class Connection:
    """An input of a channel: ``channel`` of the previous atlas ``layer``, with its signed
    ``weight`` (mean activation x gradient over the channel's maximum examples)."""

    layer: str
    channel: int
    weight: float


class AtlasChannel:
    """One channel of an atlas: pictures, examples and connections, read lazily."""

    def __init__(self, atlas: Atlas, layer: str, channel: int):
        self.atlas, self.layer, self.channel = atlas, layer, int(channel)
        self._dir = atlas.layout.channel_dir(layer, channel)

    def __repr__(self) -> str:
        return f"<AtlasChannel {self.layer}:{self.channel}>"

    # ---- pictures --------------------------------------------------------------------------
    @property
    def positive_png(self) -> bytes:
        return (self._dir / "positive.png").read_bytes()

    @property
    def negative_png(self) -> bytes | None:
        p = self._dir / "negative.png"
        return p.read_bytes() if p.exists() else None

    @property
    def visualization(self) -> np.ndarray:
        """The positive feature visualization, (H, W, 3) float32 in [0, 1]."""
        return decode_png(self.positive_png).astype(np.float32) / 255

    @property
    def negative(self) -> np.ndarray | None:
        """The negative feature visualization (of the pre-activation layer), or None when the
        atlas was built with ``negative=False``."""
        data = self.negative_png
        return None if data is None else decode_png(data).astype(np.float32) / 255

    # ---- examples and connections ------------------------------------------------------------
    @cached_property
    def examples(self) -> dict[str, list[AtlasExample]]:
        """``{"min", "slightly_negative", "slightly_positive", "max"}`` -> examples, strongest
        (or closest to the target) first, as ``ActivationSpectrum.examples`` gives them."""
        return read_examples(self.atlas.layout, self.layer, self.channel)

    @property
    def examples_png(self) -> bytes:
        """All crops in one sprite: a row per column, ``k`` tiles of ``crop_px`` each."""
        return (self._dir / "examples.png").read_bytes()

    @cached_property
    def connections(self) -> list[Connection]:
        """Strongest inputs from the previous atlas layer, strongest first ([] for the first
        layer)."""
        p = self._dir / "connections.json"
        if not p.exists():
            return []
        data = read_json(p)
        return [
            Connection(data["previous"], int(d["channel"]), float(d["weight"]))
            for d in data["inputs"]
        ]

    # ---- plain data for a viewer ------------------------------------------------------------
    def page(self) -> dict:
        """Everything a channel page shows, as plain data: PNG bytes, numbers and strings."""
        from ..render import to_png

        return {
            "layer": self.layer,
            "channel": self.channel,
            "scanned_layer": self.atlas.scanned_layer(self.layer),
            "positive": self.positive_png,
            "negative": self.negative_png,
            "examples": {
                col: [
                    {
                        "value": e.value,
                        "image_id": e.image_id,
                        "index": e.index,
                        "position": list(e.position),
                        "box": list(e.box),
                        "png": to_png(e.crop),
                    }
                    for e in self.examples[col]
                ]
                for col in COLUMNS
            },
            "connections": [
                {"layer": c.layer, "channel": c.channel, "weight": c.weight}
                for c in self.connections
            ],
        }

    def figure(self, **kwargs):
        """The six-column Distill figure (a matplotlib ``Figure``)."""
        from ..render.distill import distill_figure

        kwargs.setdefault("title", f"{self.layer} : channel {self.channel}")
        neg = self.negative
        return distill_figure(
            self.examples, None if neg is None else neg[None], self.visualization[None], **kwargs
        )


class Atlas:
    """A built atlas on disk; see :func:`load_atlas`."""

    def __init__(self, path: str | os.PathLike):
        self.layout = Layout(path)
        self.path = self.layout.root
        if not self.layout.index.exists():
            if self.layout.plan.exists():
                raise AtlasIncompleteError(
                    f"the atlas in {str(self.path)!r} is not finished (a build is running or was "
                    "interrupted): run the same build again to finish it"
                )
            raise AtlasIncompleteError(f"no atlas in {str(self.path)!r} (no atlas.json)")
        self.index: dict = read_json(self.layout.index)
        if self.index.get("format") != FORMAT:
            raise AtlasIncompleteError(
                f"atlas format {self.index.get('format')} in "
                f"{str(self.path)!r}; this version reads {FORMAT}"
            )
        self._layers = {entry["name"]: entry for entry in self.index["layers"]}
        self._channel_sets: dict[str, frozenset[int]] = {}
        self.report: dict | None = None  # set by build_atlas: the work that build did

    def __repr__(self) -> str:
        n = sum(len(e["channels"]) for e in self._layers.values())
        return (
            f"<Atlas {self.model.get('name')}: {len(self._layers)} layers, {n} channels, "
            f"{self.data.get('images')} images, at {str(self.path)!r}>"
        )

    # ---- the index ------------------------------------------------------------------------
    @property
    def model(self) -> dict:
        return self.index["model"]

    @property
    def settings(self) -> dict:
        return self.index["settings"]

    @property
    def data(self) -> dict:
        return self.index["data"]

    @property
    def layers(self) -> list[str]:
        """Atlas layers in execution order."""
        return list(self._layers)

    def _entry(self, layer: str) -> dict:
        if layer not in self._layers:
            raise LayerNotFoundError(layer, self.layers)
        return self._layers[layer]

    def channels(self, layer: str) -> list[int]:
        return list(self._entry(layer)["channels"])

    def scanned_layer(self, layer: str) -> str:
        """The layer whose maps gave ``layer``'s examples (its pre-activation layer)."""
        return self._entry(layer)["scanned"]

    def previous(self, layer: str) -> str | None:
        return self._entry(layer)["previous"]

    def has_channel(self, layer: str, c: int) -> bool:
        """Whether channel ``c`` of ``layer`` is in this atlas (an unknown layer raises)."""
        self._entry(layer)
        if layer not in self._channel_sets:
            # A set per layer: a viewer checks every channel it shows, and layers can hold
            # thousands of channels.
            self._channel_sets[layer] = frozenset(self._layers[layer]["channels"])
        return int(c) in self._channel_sets[layer]

    def channel(self, layer: str, c: int) -> AtlasChannel:
        if not self.has_channel(layer, c):
            raise KeyError(
                f"channel {c} of {layer!r} is not in this atlas; it has "
                f"{_ranges_text(self._layers[layer]['channels'])}"
            )
        return AtlasChannel(self, layer, int(c))

    def thumbnail(self, layer: str, c: int, size: int | None = None) -> bytes:
        """PNG bytes of the channel's positive feature visualization; with ``size``, scaled
        to ``size`` x ``size`` pixels (a viewer's small tiles)."""
        data = self.channel(layer, c).positive_png
        if size is None:
            return data
        from ..render import to_png

        return to_png(_fit(decode_png(data), int(size)))

    def sprite(
        self, layer: str, channels: list[int], *, tile: int = 64, ncols: int = 16, pad: int = 2
    ) -> np.ndarray:
        """The positive visualizations of ``channels`` of ``layer`` as one picture: ``tile``
        px squares, ``ncols`` per row, row by row, ``pad`` px of white around each; (H, W, 3)
        uint8. Reads those channels' pictures only, so a viewer pays for the page it shows,
        not for the layer."""
        from ..render import grid, to_uint8

        if not channels:
            raise ValueError(f"no channels of {layer!r} to draw")
        tiles = [_fit(decode_png(self.channel(layer, c).positive_png), tile) for c in channels]
        return to_uint8(grid(tiles, ncols=min(int(ncols), len(tiles)), pad=pad))

    def spectrum_state(self, layer: str) -> dict:
        """The layer's merged ``ActivationSpectrum.state_dict()`` (no code runs on load)."""
        self._entry(layer)
        return read_torch(self.layout.spectrum(layer))

    def summary(self) -> dict[str, Any]:
        """Model, data and the channels of every layer, as plain data for a viewer."""
        return {
            "model": self.model.get("name"),
            "images": self.data.get("images"),
            "layers": [
                {
                    "name": n,
                    "scanned": e["scanned"],
                    "previous": e["previous"],
                    "channels": list(e["channels"]),
                    "shape": list(e["shape"]),
                }
                for n, e in self._layers.items()
            ],
        }

    def export_html(self, out_dir: str | os.PathLike) -> Path:
        """A static site of this atlas in ``out_dir``; returns the path of its index.html."""
        from .export import export_html

        return export_html(self, out_dir)


def load_atlas(path: str | os.PathLike) -> Atlas:
    """Open a built atlas (no model needed): ``.layers``, ``.channels(layer)``,
    ``.channel(layer, c)`` (``.visualization``, ``.negative``, ``.examples``,
    ``.connections``, ``.page()``), ``.thumbnail(layer, c, size=None)``,
    ``.sprite(layer, channels)`` (one picture of many thumbnails), ``.export_html(dir)``;
    ``cw.AtlasViewer(atlas)`` browses it in a notebook."""
    return Atlas(path)


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    """A stored picture (uint8) as a ``side`` x ``side`` float image in [0, 1]."""
    from ..render import resize

    if side < 1:
        raise ValueError(f"a thumbnail needs at least 1 pixel, got {side}")
    return resize(image.astype(np.float32) / 255, (side, side))


def _ranges_text(chans: list[int]) -> str:
    parts, s = [], sorted(chans)
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[j] + 1:
            j += 1
        parts.append(str(s[i]) if i == j else f"{s[i]}-{s[j]}")
        i = j + 1
    return "channels " + ",".join(parts)
