"""FeatureVisualizer: gradient ascent on an image that excites a channel, live, with its loss."""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from traitlets import Bool, Dict, Float, Int, List, Unicode

from ..core.errors import ModelError
from ..core.layers import LayerNotFoundError
from ..engines.featureviz import OBJECTIVES, PARAMETERIZATIONS, ObjectiveError, ascent
from ..render import grid, to_png
from .base import BackgroundWidget, Publisher, bundle, close_tree, readable
from .method_picker import MethodPicker

#: layer names offered when an objective names a layer the model does not have
CLOSEST = 5


def layer_hint(exc: LayerNotFoundError) -> str:
    """The widget's short form of a LayerNotFoundError: the closest few names and a count,
    not every layer of the model (150 names pushed the controls off the screen). The
    engine's full message stays on the exception, for Python callers."""
    closest = difflib.get_close_matches(str(exc.name), exc.valid, n=CLOSEST, cutoff=0.0)
    return (
        f"no layer {exc.name!r} in this model. Closest: {', '.join(closest)} "
        f"({len(exc.valid)} layers in all; model.layers lists them)"
    )


class FeatureVisualizer(BackgroundWidget):
    """Feature visualization of a channel (or a list of objectives), live while it optimises.

    Controls: ``kind`` (what to maximise, from ``cw.featureviz.OBJECTIVES``: channel, neuron,
    DeepDream, class, or a user's own) with its own parameters in ``kind_params``, ``layer``
    and ``channel`` (or ``objective``, comma-separated ``"layer:channel"`` items rendered as
    one batch, which overrides them), ``param`` (from ``cw.featureviz.PARAMETERIZATIONS``,
    with its parameters in ``param_values``) and ``decorrelate``, regularisation weights
    ``tv`` and ``l2``, ``steps``, ``size``, ``seed``.
    Start / Stop run gradient ascent in a background thread; ``view`` animates (about 10
    frames per second, the final image always sent), ``progress``/``status`` show step and
    loss and ``chart`` (a bqplot figure) the loss per step. ``run()`` blocks; ``save(path)``
    writes the image; ``result`` is the engine's
    :class:`~cnnwidgets.engines.featureviz.Visualization` after a run.

    The widget is the anywidget itself; it displays as ``show()``, a VBox of the widget and
    the chart.
    """

    _esm = bundle("feature_visualizer")

    layer = Unicode(help="the layer of the channel to excite").tag(sync=True)
    layer_options = List(Unicode()).tag(sync=True)
    channel = Int(0, min=0).tag(sync=True)
    channel_max = Int(0).tag(sync=True)
    objective = Unicode("", help='optional: "layer:channel, layer:channel, ..."').tag(sync=True)
    kind = Unicode("channel", help="what to maximise: an objective of the registry").tag(sync=True)
    kind_options = List().tag(sync=True)
    kind_params = List().tag(sync=True)
    kind_help = Unicode().tag(sync=True)
    kind_values = Dict(help="the objective's own parameters").tag(sync=True)
    param = Unicode("fft", help="the parameterization, by registry name").tag(sync=True)
    param_options = List().tag(sync=True)
    param_params = List().tag(sync=True)
    param_help = Unicode().tag(sync=True)
    param_values = Dict(help="the parameterization's own parameters").tag(sync=True)
    decorrelate = Bool(True, help="ImageNet colour decorrelation").tag(sync=True)
    tv = Float(0.0, min=0.0, help="weight of the total-variation penalty").tag(sync=True)
    l2 = Float(0.0, min=0.0, help="weight of the L2 penalty").tag(sync=True)
    steps = Int(256, min=1).tag(sync=True)
    size = Int(128, min=8, help="side of the optimised image in pixels").tag(sync=True)
    seed = Int(0, help="makes a run repeatable").tag(sync=True)

    def __init__(
        self,
        model: Any,
        layer: str | None = None,
        channel: int = 0,
        *,
        objective: str = "",
        steps: int = 256,
        size: int = 128,
        kind: str = "channel",
        param: str = "fft",
        decorrelate: bool = True,
        tv: float = 0.0,
        l2: float = 0.0,
        seed: int = 0,
        **kwargs: Any,
    ):
        self.model = model
        self.result = None
        self.losses: list[float] = []
        self._active = None
        layers = model.spatial_layers
        if not layers:
            raise ModelError(
                f"{model.name} has no layer with a spatial (C, H, W) output to visualize; "
                f"its layers: {', '.join(model.layers)}"
            )
        super().__init__(
            layer=layer or layers[len(layers) // 2],
            layer_options=layers,
            channel=channel,
            objective=objective,
            steps=steps,
            size=size,
            kind=kind,
            param=param,
            decorrelate=decorrelate,
            tv=tv,
            l2=l2,
            seed=seed,
            **kwargs,
        )
        self._kinds = MethodPicker(
            self, OBJECTIVES, choice="kind", params="kind_values", where={"unit": True}
        )
        self._params = MethodPicker(self, PARAMETERIZATIONS, choice="param", params="param_values")
        self._box = None
        self.chart = self._make_chart()
        self.observe(
            lambda _: self.attempt(self._preview),
            [
                "layer",
                "channel",
                "objective",
                "kind",
                "kind_values",
                "param",
                "param_values",
                "decorrelate",
                "size",
                "seed",
            ],
        )
        self.attempt(self._preview)

    # ---- display ----------------------------------------------------------------------------
    def _make_chart(self):
        import bqplot as bq

        x, y = bq.LinearScale(), bq.LinearScale()
        self._line = bq.Lines(
            x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=["#1976d2"]
        )
        # Few, whole-number ticks: bqplot's default ticks on 420 px ran into one another.
        axes = [
            bq.Axis(scale=x, label="step", side="bottom", num_ticks=5, tick_format="d"),
            bq.Axis(scale=y, label="loss", side="left", num_ticks=5, tick_format=".3g"),
        ]
        return bq.Figure(
            marks=[self._line],
            axes=axes,
            title="loss",
            layout={"height": "220px", "width": "420px"},
            fig_margin={"top": 30, "bottom": 40, "left": 60, "right": 20},
        )

    def show(self):
        """The widget and its loss chart, side by side."""
        if self._box is None:
            import ipywidgets

            self._box = ipywidgets.HBox([self, self.chart])
        return self._box

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.show()._repr_mimebundle_(**kwargs)

    # ---- the run ----------------------------------------------------------------------------
    def _objectives(self):
        if self.objective.strip():
            items = [o.strip() for o in self.objective.split(",") if o.strip()]
            return items if len(items) > 1 else items[0]
        entry = OBJECTIVES.get(self.kind)
        args = self._kinds.values()
        # The layer and channel controls fill the objective's own layer and channel.
        names = [p.name for p in entry.params]
        if "layer" in names:
            args["layer"] = self.layer
        if "n" in names:
            args["n"] = self.channel
        return entry.fn(**entry.resolve(args))

    def _render(self, steps: int, stop: threading.Event | None = None):
        try:
            return ascent(
                self.model,
                self._objectives(),
                steps=steps,
                size=self.size,
                param=self.param,
                param_args=self._params.values(),
                decorrelate=self.decorrelate,
                tv=self.tv,
                l2=self.l2,
                seed=self.seed,
                stop=stop,
            )
        except LayerNotFoundError as exc:
            raise ObjectiveError(layer_hint(exc)) from exc

    def start(self) -> FeatureVisualizer:
        """Start gradient ascent in the background. Objectives that cannot be rendered are
        refused here, with the reason in ``error`` (kept visible), and nothing starts."""
        if not self.is_alive:
            try:
                self._render(0)
            except Exception as exc:  # noqa: BLE001 - shown in the widget
                self.error = readable(exc)
                return self
        return super().start()

    def _action_start(self, content: dict, buffers: list) -> None:
        # The Start button: raise a refusal, since the action runs under attempt(), which
        # clears `error` after a handler that returns (it would hide the message at once).
        if not self.is_alive:
            self._render(0)
        self.start()

    def _preview(self) -> None:
        """The starting image (before any step), and the channel count of the layer."""
        if self.running:  # the worker owns the picture while it runs
            return
        info = self.model.layer_info.get(self.layer)
        if info is not None:
            self.channel_max = max(0, info.channels - 1)
        self._show_images(self._render(0).frame())
        self.status = "ready: press Start"
        self.progress = 0.0

    def _show_images(self, images: np.ndarray) -> None:
        a = np.asarray(images)
        self.view = to_png(a[0] if len(a) == 1 else grid(list(a), pad=2))

    def _work(self, stop: threading.Event) -> Iterator[Publisher]:
        self.losses = []
        self.result = None
        self._line.x, self._line.y = np.zeros(0), np.zeros(0)
        render = self._render(self.steps, stop)
        self._active = render
        for frame in render:
            self.losses.append(frame.loss)
            yield lambda frame=frame: self._publish(
                frame.step, np.asarray(frame.images), render.steps
            )

    def _publish(self, step: int, images: np.ndarray, steps: int) -> None:
        self._show_images(images)
        losses = np.asarray(self.losses[:step], dtype=np.float64)
        self._line.x, self._line.y = np.arange(1, len(losses) + 1), losses
        self.progress = step / max(1, steps)
        self.status = f"step {step} / {steps} · loss {losses[-1]:.4g}" if len(losses) else ""

    def _finished(self, stopped: bool) -> None:
        render = self._active
        self.result = render.result()
        self._show_images(self.result.images)  # the image after the last update
        done = "stopped" if stopped else "done"
        self.status = (
            f"{done} after {render.step} steps · loss {self.losses[-1]:.4g}"
            if self.losses
            else done
        )

    def close(self) -> None:
        # getattr: also called from __del__ after a constructor that failed early.
        super().close()
        close_tree(getattr(self, "_box", None), getattr(self, "chart", None))
