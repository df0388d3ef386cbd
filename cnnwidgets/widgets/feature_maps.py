"""FeatureMapViewer: the activations of one layer for one image, channel by channel."""

from __future__ import annotations

from typing import Any

import numpy as np
from traitlets import Bytes, Dict, Int, List, Unicode

from ..core.errors import ModelError
from ..data.images import load_image
from ..engines.featuremaps import feature_maps, top_channels
from ..render import DIVERGING, apply_colormap, grid, to_jpeg, to_png, upscale
from ..render.colormaps import colorbar, limits
from ..render.images import enlarge, readout
from .base import CNNWidget, bundle

# "auto": a diverging map centred on 0 for a layer with negative values (pre-activations),
# a sequential one otherwise.
COLORMAPS = ["auto", "viridis", "inferno", "magma", "gray", "RdBu_r"]
SEQUENTIAL_DEFAULT = "viridis"
ORDERS = [["strongest first", "activation"], ["in order", "index"]]
SCALES = [["per channel", "channel"], ["shared by the layer", "layer"]]
#: the enlarged channel is at most this many pixels a side (a whole-number upscale)
DETAIL_SIDE = 256


class FeatureMapViewer(CNNWidget):
    """A grid of the channels of a layer (sorted by mean activation or in order), the chosen
    channel enlarged beside the input photo, a layer picker and a colormap choice.

    ``FeatureMapViewer(model, image, layer=None, channel=0, order="activation",
    colormap="auto", scale="channel", max_channels=64)``. Click a tile (or move the channel
    slider) to enlarge a channel; that only re-renders the cached maps of the layer.

    Colours: a layer with negative values (a convolution before its ReLU) is drawn with limits
    symmetric around 0, so that 0 is the middle of the colormap (white in the diverging
    ``"auto"`` map); a non-negative layer from 0 (dark) to its maximum. ``scale="channel"``
    gives every tile its own limits (the structure of weak channels shows), ``"layer"`` one
    pair of limits for the whole layer (strengths compare). ``legend`` is the colour bar and
    ``legend_labels`` its numbers, for the enlarged channel. ``readout`` carries the enlarged
    channel's values at its own resolution for the hover readout.
    """

    _esm = bundle("feature_map_viewer")

    layer = Unicode(help="the layer whose activations are shown").tag(sync=True)
    layer_options = List(Unicode()).tag(sync=True)
    channel = Int(0, help="the enlarged channel").tag(sync=True)
    channel_max = Int(0).tag(sync=True)
    order = Unicode("activation", help='"activation" (strongest first) or "index"').tag(sync=True)
    order_options = List(default_value=ORDERS).tag(sync=True)
    colormap = Unicode("auto", help='"auto" or a matplotlib colormap name').tag(sync=True)
    colormap_options = List(Unicode(), COLORMAPS).tag(sync=True)
    scale = Unicode("channel", help='colour limits per "channel" or shared by the "layer"').tag(
        sync=True
    )
    scale_options = List(default_value=SCALES).tag(sync=True)
    max_channels = Int(64, help="at most this many tiles in the grid").tag(sync=True)
    photo = Bytes(b"", help="the input as the model sees it (JPEG)").tag(sync=True)
    grid_layout = Dict(help="ncols, nrows and the channel of each tile, for clicks").tag(sync=True)
    detail = Bytes(b"", help="the chosen channel, each cell an equal block (PNG)").tag(sync=True)
    caption = Unicode("").tag(sync=True)
    legend = Bytes(b"", help="the colour bar of the enlarged channel (PNG)").tag(sync=True)
    legend_labels = List(Unicode(), help="the values at the colour bar's ticks").tag(sync=True)
    readout = Dict(help="the enlarged channel's values, for the hover readout").tag(sync=True)

    def __init__(
        self,
        model: Any,
        image: Any,
        layer: str | None = None,
        channel: int = 0,
        order: str = "activation",
        colormap: str = "auto",
        max_channels: int = 64,
        scale: str = "channel",
        **kwargs: Any,
    ):
        self.model = model
        self.image = load_image(image)
        self._maps = None
        self._signed = False
        layers = model.spatial_layers
        if not layers:
            raise ModelError(
                f"{model.name} has no layer with a spatial (C, H, W) output, so there are no "
                f"feature maps to show; its layers: {', '.join(model.layers)}"
            )
        super().__init__(
            layer=layer or layers[min(1, len(layers) - 1)],
            layer_options=layers,
            channel=channel,
            order=order,
            colormap=colormap,
            max_channels=max_channels,
            scale=scale,
            **kwargs,
        )
        self._recompute = self.debounced(self._load_layer)
        self.observe(lambda _: self._recompute(), "layer")
        self.observe(lambda _: self.attempt(self._draw_grid), ["order", "max_channels"])
        # The colours are shared by the grid and the enlarged channel: both follow them.
        self.observe(lambda _: self.attempt(self._draw), ["colormap", "scale"])
        self.observe(lambda _: self.attempt(self._draw_detail), "channel")
        self.attempt(self._set_photo)
        self.attempt(self._load_layer)

    def _use_image(self, image: Any) -> None:
        self.image = load_image(image)
        self._set_photo()
        self._recompute()  # the forward pass off the kernel's thread

    def _set_photo(self) -> None:
        self.photo = to_jpeg(self.model.to_display(self.image))

    def _load_layer(self) -> None:
        maps = feature_maps(self.model, self.image, self.layer)
        if maps.ndim != 3:
            raise ValueError(
                f"layer {self.layer!r} has output of shape {maps.shape}, not "
                "(channels, height, width); pick a layer with spatial output"
            )
        self._maps = maps
        self._signed = float(maps.min()) < 0
        self.channel_max = maps.shape[0] - 1
        if self.channel > self.channel_max:
            self.channel = 0  # observer redraws the detail
        self._draw()

    def _draw(self) -> None:
        self._draw_grid()
        self._draw_detail()

    @property
    def signed(self) -> bool:
        """Whether the layer shown has negative values (its colours are centred on 0)."""
        return self._signed

    def _cmap(self) -> str:
        if self.colormap == "auto":
            return DIVERGING if self.signed else SEQUENTIAL_DEFAULT
        return self.colormap

    def _limits(self, values: np.ndarray) -> tuple[float, float]:
        """Colour limits of one channel, or of the whole layer for a shared scale."""
        if self.scale not in ("channel", "layer"):
            raise ValueError(f"unknown scale {self.scale!r}: use 'channel' or 'layer'")
        return limits(self._maps if self.scale == "layer" else values, self.signed)

    def _paint(self, values: np.ndarray) -> np.ndarray:
        lo, hi = self._limits(values)
        return apply_colormap(values, self._cmap(), lo=lo, hi=hi)

    def _ordered(self) -> list[int]:
        n = self._maps.shape[0]
        if self.order == "activation":
            return [int(c) for c in top_channels(self._maps, k=n)]
        if self.order == "index":
            return list(range(n))
        raise ValueError(f"unknown order {self.order!r}: use 'activation' or 'index'")

    def _draw_grid(self) -> None:
        if self._maps is None:
            return
        shown = self._ordered()[: max(1, self.max_channels)]
        tiles = [upscale(self._paint(self._maps[c]), 32) for c in shown]
        ncols = min(len(tiles), 8)
        self.view = to_png(grid(tiles, ncols=ncols, pad=2))
        self.grid_layout = {"ncols": ncols, "nrows": -(-len(tiles) // ncols), "channels": shown}

    def _draw_detail(self) -> None:
        if self._maps is None:
            return
        if not 0 <= self.channel < self._maps.shape[0]:
            raise IndexError(
                f"channel {self.channel} out of range: layer {self.layer!r} has "
                f"{self._maps.shape[0]} channels"
            )
        fmap = self._maps[self.channel]
        self.detail = to_png(enlarge(self._paint(fmap), DETAIL_SIDE))
        self.readout = readout(fmap, "activation")
        lo, hi = self._limits(fmap)
        self.legend = to_png(colorbar(self._cmap(), width=128, height=10))
        ticks = [lo, 0.0, hi] if self.signed else [lo, hi]
        self.legend_labels = [f"{t:.3g}" for t in ticks]
        scope = "per channel" if self.scale == "channel" else "shared by the layer"
        self.caption = (
            f"{self.layer} · channel {self.channel} of {self._maps.shape[0]} · "
            f"{fmap.shape[0]}×{fmap.shape[1]} · mean {fmap.mean():.3g} · "
            f"min {fmap.min():.3g} · max {fmap.max():.3g} · colours {scope}"
        )
