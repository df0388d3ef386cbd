"""SaliencyViewer: which input pixels a class score is most sensitive to, by several methods."""

from __future__ import annotations

from typing import Any

from traitlets import Dict, List, Unicode

from ..engines.maps import Attribution
from ..engines.saliency import SALIENCY_METHODS, saliency
from .attribution_viewer import AttributionViewer
from .base import bundle
from .method_picker import MethodPicker


class SaliencyViewer(AttributionViewer):
    """A saliency map over the photo: method picker (every method of
    ``cw.saliency_methods``, a user's own included), target class picker (top predictions with
    probabilities), the chosen method's own parameters and an overlay alpha slider.

    ``SaliencyViewer(model, image, method="gradient", target=None, params=None, alpha=0.5)``;
    ``params`` sets the method's parameters, e.g. ``{"n_samples": 10}`` for SmoothGrad.
    Beside the map: its deletion and insertion curves and their areas (``faithfulness``,
    ``chart``), every method's scores on demand (``score_all()``, ``compare``) and the sanity
    check (``sanity``); see :class:`AttributionViewer`. It displays as ``show()``, the widget
    and the chart.
    """

    _esm = bundle("saliency_viewer")

    method = Unicode("gradient").tag(sync=True)
    method_options = List(help="[label, name] of every registered method").tag(sync=True)
    method_params = List(help="the chosen method's parameter specs").tag(sync=True)
    method_help = Unicode(help="what the chosen method computes, and its reference").tag(sync=True)
    params = Dict(help="the chosen method's parameter values").tag(sync=True)
    colormap = Unicode("inferno").tag(sync=True)

    _recompute_on = ["target", "compare_target", "method", "params"]

    def __init__(
        self,
        model: Any,
        image: Any,
        method: str = "gradient",
        target: int | None = None,
        params: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            model, image, target=target, method=method, params=dict(params or {}), **kwargs
        )

    _registry = SALIENCY_METHODS

    def _before_first_compute(self) -> None:
        self._methods = MethodPicker(self, SALIENCY_METHODS)

    def _method_params(self) -> dict:
        return self._methods.values()

    def _attribute(
        self,
        target: int,
        model: Any = None,
        method: str | None = None,
        params: dict | None = None,
    ) -> Attribution:
        return saliency(
            self.model if model is None else model,
            self.image,
            target=target,
            method=method or self.method,
            **(self._methods.values() if params is None else params),
        )

    def _describe(self, a: Attribution) -> str:
        return f"{super()._describe(a)} · {SALIENCY_METHODS.get(a.method).label}"
