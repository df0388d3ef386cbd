"""SpectrumViewer: dataset examples of a layer's channels, scanned in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from traitlets import Bool, Int, TraitError, Unicode, validate

from ..engines.featureviz import optimized_pair
from ..engines.spectrum import ActivationSpectrum
from ..render.distill import spectrum_figure
from ..render.images import figure_png
from .base import BackgroundWidget, Publisher, bundle

#: seconds between two redraws of the figure while scanning (progress updates more often)
FIGURE_INTERVAL = 1.0


class SpectrumViewer(BackgroundWidget):
    """Scans a data set in a background thread (progress bar, Stop), collecting for every
    channel the images that drive it most, least, slightly up and slightly down; then shows the
    Distill six-column figure of the chosen ``channel`` (browse with the slider).

    ``SpectrumViewer(model, layer, data, channels=None, k=9, batch_size=32, limit=None,
    optimized=False, autostart=True)``. ``data``: anything
    :func:`cnnwidgets.data.datasets.iter_batches` reads (a folder, a DataLoader, a Dataset, a
    list of images, a 4-D tensor). ``optimized``: also render the negative and positive
    optimized images of the channel (feature visualization, ``optimized_steps`` steps).
    ``spectrum`` is the engine's :class:`~cnnwidgets.ActivationSpectrum`. For a signed negative
    side, pass a pre-activation layer (:func:`cnnwidgets.pre_activation_layer`).

    Scanning again never counts an image twice. A data source that can be read again from its
    start (a folder, a Dataset, a DataLoader, a list, a tensor) is scanned afresh: ``spectrum``
    becomes a new, empty one first, so Scan after Stop starts over and Scan after a finished
    scan gives the same examples (or new ones, for a model that trained meanwhile). A one-shot
    iterator (a generator, a stream) cannot restart: Scan goes on with the images it yields
    next and adds them to what was found (``limit`` then counts per scan).
    """

    _esm = bundle("spectrum_viewer")

    layer = Unicode(help="the layer scanned (fixed for a widget)").tag(sync=True)
    channel = Int(0, help="the channel shown").tag(sync=True)
    channel_min = Int(0).tag(sync=True)
    channel_max = Int(0).tag(sync=True)
    images_seen = Int(0).tag(sync=True)
    optimized = Bool(False, help="add the negative and positive optimized images").tag(sync=True)
    optimized_steps = Int(128, min=1).tag(sync=True)

    def __init__(
        self,
        model: Any,
        layer: str,
        data: Any,
        channels: Sequence[int] | None = None,
        k: int = 9,
        batch_size: int = 32,
        limit: int | None = None,
        optimized: bool = False,
        autostart: bool = True,
        **kwargs: Any,
    ):
        self.model, self.data = model, data
        self.batch_size, self.limit = batch_size, limit
        self._spectrum_args = (model, layer, channels, k)
        self.spectrum = ActivationSpectrum(model, layer, channels, k=k)
        tracked = self.spectrum.channels
        super().__init__(
            layer=layer,
            channel=tracked[0],
            channel_min=min(tracked),
            channel_max=max(tracked),
            optimized=optimized,
            **kwargs,
        )
        self._last_figure = float("-inf")
        self._redraw = self.debounced(self._draw)
        self.observe(self._on_control, ["channel", "optimized", "optimized_steps"])
        self.attempt(self._draw)
        self.status = "ready: press Start to scan"
        if autostart:
            self.start()

    @validate("layer")
    def _layer_is_fixed(self, proposal: Any) -> str:
        # The tracker scans one layer; a new name would only relabel its examples.
        spectrum = getattr(self, "spectrum", None)
        if spectrum is not None and proposal["value"] != spectrum.layer:
            raise TraitError(
                f"a SpectrumViewer scans one layer ({spectrum.layer}); make a new "
                f"SpectrumViewer for {proposal['value']}"
            )
        return proposal["value"]

    def _on_control(self, _change: Any) -> None:
        if not self.running:  # while scanning, the worker draws the chosen channel
            self._redraw()

    def _figure(self) -> bytes:
        pair = None
        if self.optimized:
            pair = optimized_pair(
                self.model, self.spectrum.layer, self.channel, steps=self.optimized_steps
            )
        return figure_png(spectrum_figure(self.spectrum, self.channel, optimized=pair), dpi=100)

    def _draw(self) -> None:
        self.view = self._figure()

    @property
    def continues(self) -> bool:
        """Whether Scan goes on with new data (a one-shot iterator) instead of starting over."""
        return isinstance(self.data, Iterator)

    def _work(self, stop: threading.Event) -> Iterator[Publisher]:
        if not self.continues and self.spectrum.images_seen:
            # The source is read from its start again: an empty spectrum, or every image of
            # this scan would be counted a second time (under new ids: the same crops twice).
            model, layer, channels, k = self._spectrum_args
            self.spectrum = ActivationSpectrum(model, layer, channels, k=k)
        for seen, total in self.spectrum.scan_iter(
            self.data, self.batch_size, stop=stop, limit=self.limit
        ):
            yield lambda seen=seen, total=total: self._publish(seen, total)

    def _publish(self, seen: int, total: int | None) -> None:
        self.images_seen = self.spectrum.images_seen
        self.progress = seen / total if total else 0.0
        if self.continues and self.images_seen > seen:
            self.status = f"scanned {seen:,} more images ({self.images_seen:,} in all)"
        else:
            self.status = f"scanned {seen:,}{f' / {total:,}' if total else ''} images"
        # The figure costs far more than a progress update: redraw it about once a second.
        if time.monotonic() - self._last_figure >= FIGURE_INTERVAL:
            self._draw()
            self._last_figure = time.monotonic()

    def _finished(self, stopped: bool) -> None:
        self.images_seen = self.spectrum.images_seen
        self._draw()
        self._last_figure = float("-inf")
        if not stopped:
            self.progress = 1.0
        self.status = (
            f"{'stopped' if stopped else 'done'}: {self.spectrum.images_seen:,} images scanned"
        )
