"""GradCAMViewer: a class activation map (Grad-CAM family) of a layer, over the photo."""

from __future__ import annotations

from typing import Any

from traitlets import Dict, List, Unicode

from ..engines.cam import CAM_METHODS, cam
from ..engines.maps import Attribution
from ..render.images import readout
from .attribution_viewer import AttributionViewer
from .base import bundle
from .method_picker import MethodPicker


class GradCAMViewer(AttributionViewer):
    """A class activation map over the photo: layer picker (spatial layers, default the last),
    method picker (every method of ``cw.cam_methods``), the method's own parameters, target
    class picker with the top predictions, a second class side by side (``compare_target``)
    and an alpha slider that only re-blends. Beside the map: its deletion and insertion curves
    and their areas (``faithfulness``, ``chart``), every method's scores on demand
    (``score_all()``, ``compare``) and the sanity check (``sanity``); see
    :class:`AttributionViewer`. It displays as ``show()``, the widget and the chart.

    ``GradCAMViewer(model, image, layer=None, method="gradcam", target=None, alpha=0.5)``.
    """

    _esm = bundle("gradcam_viewer")

    layer = Unicode(help="the layer whose activations are weighted").tag(sync=True)
    layer_options = List(Unicode()).tag(sync=True)
    method = Unicode("gradcam").tag(sync=True)
    method_options = List(help="[label, name] of every registered method").tag(sync=True)
    method_params = List(help="the chosen method's parameter specs").tag(sync=True)
    method_help = Unicode(help="what the chosen method computes, and its reference").tag(sync=True)
    params = Dict(help="the chosen method's parameter values").tag(sync=True)

    _recompute_on = ["target", "compare_target", "layer", "method", "params"]

    def __init__(
        self,
        model: Any,
        image: Any,
        layer: str | None = None,
        method: str = "gradcam",
        target: int | None = None,
        params: dict | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            model,
            image,
            target=target,
            layer=layer or model.default_cam_layer,
            layer_options=model.spatial_layers,
            method=method,
            params=dict(params or {}),
            **kwargs,
        )

    _registry = CAM_METHODS

    def _before_first_compute(self) -> None:
        self._methods = MethodPicker(self, CAM_METHODS)

    def _method_params(self) -> dict:
        return self._methods.values()

    def _settings(self) -> tuple:
        return (*super()._settings(), self.layer)

    def _attribute(
        self,
        target: int,
        model: Any = None,
        method: str | None = None,
        params: dict | None = None,
    ) -> Attribution:
        return cam(
            self.model if model is None else model,
            self.image,
            layer=self.layer,
            target=target,
            method=method or self.method,
            **(self._methods.values() if params is None else params),
        )

    def _readout(self, a: Attribution) -> dict:
        # The CAM at the layer's own resolution, signed (before its ReLU): what the method
        # computed at each position of the layer.
        return readout(a.raw, CAM_METHODS.get(a.method).label)

    def _describe(self, a: Attribution) -> str:
        return (
            f"{super()._describe(a)} · {CAM_METHODS.get(a.method).label} at {a.layer or self.layer}"
        )
