"""FilterViewer: the convolution filters of a layer, and one filter enlarged with its weights."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from traitlets import Bytes, Dict, Int, List, Unicode

from ..core.errors import ModelError
from ..engines.filters import filters
from ..render import to_png, upscale
from ..render.filters import channel_grid, filter_grid, rgb_filters
from .base import CNNWidget, bundle

MODES = [
    ["auto", "auto"],
    ["colour (RGB input)", "rgb"],
    ["norm over inputs", "norm"],
    ["mean over inputs", "mean"],
]
MAX_WEIGHT_CHANNELS = 4  # input channels whose weights are printed under the enlarged filter


def weights_text(w: np.ndarray, filter_index: int) -> str:
    """The weights of one filter, kernel by kernel (the first few input channels)."""
    f = w[filter_index]
    lines = [f"filter {filter_index}: {f.shape[0]} input channel(s) of {f.shape[1]}×{f.shape[2]}"]
    for c in range(min(f.shape[0], MAX_WEIGHT_CHANNELS)):
        lines.append(f"input {c}:")
        lines.append(np.array2string(f[c], precision=3, suppress_small=True, max_line_width=100))
    if f.shape[0] > MAX_WEIGHT_CHANNELS:
        lines.append(f"... {f.shape[0] - MAX_WEIGHT_CHANNELS} more input channels")
    return "\n".join(lines)


class FilterViewer(CNNWidget):
    """All filters of a convolution layer as a grid: in colour for a layer that reads RGB,
    otherwise summarised per filter (L2 norm or mean over input channels). Click a filter (or
    move the slider) to enlarge it, one kernel per input channel, with its weights.

    ``FilterViewer(model, layer=None, mode="auto", filter=0)``.
    """

    _esm = bundle("filter_viewer")

    layer = Unicode(help="a convolution layer").tag(sync=True)
    layer_options = List(Unicode()).tag(sync=True)
    mode = Unicode("auto", help='"auto", "rgb", "norm" or "mean"').tag(sync=True)
    mode_options = List(default_value=MODES).tag(sync=True)
    filter = Int(0, help="the enlarged filter").tag(sync=True)
    filter_max = Int(0).tag(sync=True)
    detail = Bytes(b"", help="the chosen filter, one kernel per input channel (PNG)").tag(sync=True)
    weights = Unicode("", help="the chosen filter's weights as text").tag(sync=True)
    grid_layout = Dict().tag(sync=True)
    caption = Unicode("").tag(sync=True)

    def __init__(
        self,
        model: Any,
        layer: str | None = None,
        mode: str = "auto",
        filter: int = 0,
        **kwargs: Any,
    ):
        self.model = model
        self._w: np.ndarray | None = None
        layers = model.conv_layers
        if not layers:
            raise ModelError(
                f"{model.name} has no convolution layers, so there are no filters to show"
            )
        super().__init__(
            layer=layer or layers[0], layer_options=layers, mode=mode, filter=filter, **kwargs
        )
        self.observe(lambda _: self.attempt(self._load_layer), "layer")
        self.observe(lambda _: self.attempt(self._draw_grid), "mode")
        self.observe(lambda _: self.attempt(self._draw_detail), "filter")
        self.attempt(self._load_layer)

    def _load_layer(self) -> None:
        self._w = filters(self.model, self.layer)
        self.filter_max = self._w.shape[0] - 1
        if self.filter > self.filter_max:
            self.filter = 0
        self._draw_grid()
        self._draw_detail()

    def _draw_grid(self) -> None:
        if self._w is None:
            return
        n = self._w.shape[0]
        ncols = math.ceil(math.sqrt(n))
        self.view = to_png(filter_grid(self._w, mode=self.mode, ncols=ncols))
        self.grid_layout = {
            "ncols": ncols,
            "nrows": math.ceil(n / ncols),
            "channels": list(range(n)),
        }
        c_out, c_in, kh, kw = self._w.shape
        self.caption = f"{self.layer}: {c_out} filters of {c_in}×{kh}×{kw}"

    def _draw_detail(self) -> None:
        w = self._w
        if w is None:
            return
        if not 0 <= self.filter < w.shape[0]:
            raise IndexError(
                f"filter {self.filter} out of range: layer {self.layer!r} has {w.shape[0]} filters"
            )
        if w.shape[1] == 3:
            picture = upscale(rgb_filters(w[self.filter : self.filter + 1])[0], 160)
        else:
            picture = channel_grid(w, self.filter, min_side=32)
        self.detail = to_png(picture)
        self.weights = weights_text(w, self.filter)
