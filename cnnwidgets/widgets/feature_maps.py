"""FeatureMapViewer: the activations of one layer for one image, channel by channel."""

from __future__ import annotations

from typing import Any

from traitlets import Bytes, Dict, Int, List, Unicode

from ..core.errors import ModelError
from ..data.images import load_image
from ..engines.featuremaps import feature_maps, top_channels
from ..render import apply_colormap, grid, resize, to_jpeg, to_png, upscale
from .base import CNNWidget, bundle

COLORMAPS = ["viridis", "inferno", "magma", "gray", "RdBu_r"]
ORDERS = [["strongest first", "activation"], ["in order", "index"]]


class FeatureMapViewer(CNNWidget):
    """A grid of the channels of a layer (sorted by mean activation or in order), the chosen
    channel enlarged beside the input photo, a layer picker and a colormap choice.

    ``FeatureMapViewer(model, image, layer=None, channel=0, order="activation",
    colormap="viridis", max_channels=64)``. Click a tile (or move the channel slider) to enlarge
    a channel; that only re-renders the cached maps of the layer.
    """

    _esm = bundle("feature_map_viewer")

    layer = Unicode(help="the layer whose activations are shown").tag(sync=True)
    layer_options = List(Unicode()).tag(sync=True)
    channel = Int(0, help="the enlarged channel").tag(sync=True)
    channel_max = Int(0).tag(sync=True)
    order = Unicode("activation", help='"activation" (strongest first) or "index"').tag(sync=True)
    order_options = List(default_value=ORDERS).tag(sync=True)
    colormap = Unicode("viridis").tag(sync=True)
    colormap_options = List(Unicode(), COLORMAPS).tag(sync=True)
    max_channels = Int(64, help="at most this many tiles in the grid").tag(sync=True)
    photo = Bytes(b"", help="the input as the model sees it (JPEG)").tag(sync=True)
    grid_layout = Dict(help="ncols, nrows and the channel of each tile, for clicks").tag(sync=True)
    detail = Bytes(b"", help="the chosen channel at input size (PNG)").tag(sync=True)
    caption = Unicode("").tag(sync=True)

    def __init__(
        self,
        model: Any,
        image: Any,
        layer: str | None = None,
        channel: int = 0,
        order: str = "activation",
        colormap: str = "viridis",
        max_channels: int = 64,
        **kwargs: Any,
    ):
        self.model = model
        self.image = load_image(image)
        self._maps = None
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
            **kwargs,
        )
        self._recompute = self.debounced(self._load_layer)
        self.observe(lambda _: self._recompute(), "layer")
        self.observe(lambda _: self.attempt(self._draw_grid), ["order", "colormap", "max_channels"])
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
        self.channel_max = maps.shape[0] - 1
        if self.channel > self.channel_max:
            self.channel = 0  # observer redraws the detail
        self._draw_grid()
        self._draw_detail()

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
        lo, hi = float(self._maps.min()), float(self._maps.max())
        tiles = [
            upscale(apply_colormap(self._maps[c], self.colormap, lo=lo, hi=hi), 32) for c in shown
        ]
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
        size = self.model.input_size
        self.detail = to_png(resize(apply_colormap(fmap, self.colormap), size, nearest=True))
        self.caption = (
            f"{self.layer} · channel {self.channel} of {self._maps.shape[0]} · "
            f"{fmap.shape[0]}×{fmap.shape[1]} · mean {fmap.mean():.3g} · "
            f"max {fmap.max():.3g}"
        )
