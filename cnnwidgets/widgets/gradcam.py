"""GradCAMViewer: a class activation map (Grad-CAM family) of a layer, over the photo."""
from __future__ import annotations

from typing import Any

from traitlets import List, Unicode

from ..engines.maps import Attribution
from .attribution import AttributionViewer
from .base import bundle

# Shown when the engine does not list its methods; the engine's own list wins.
DEFAULT_METHODS = ["gradcam", "gradcam++", "layercam", "scorecam"]


def cam_methods() -> list[str]:
    try:
        from ..engines import cam as engine
    except ImportError:
        return DEFAULT_METHODS
    return list(getattr(engine, "METHODS", DEFAULT_METHODS))


class GradCAMViewer(AttributionViewer):
    """A class activation map over the photo: layer picker (spatial layers, default the last),
    method picker (Grad-CAM family), target class picker with the top predictions, a second
    class side by side (``compare_target``) and an alpha slider that only re-blends.

    ``GradCAMViewer(model, image, layer=None, method="gradcam", target=None, alpha=0.5)``.
    """

    _esm = bundle("gradcam_viewer")

    layer = Unicode(help="the layer whose activations are weighted").tag(sync=True)
    layer_options = List(Unicode()).tag(sync=True)
    method = Unicode("gradcam").tag(sync=True)
    method_options = List().tag(sync=True)

    _recompute_on = ["target", "compare_target", "layer", "method"]

    def __init__(self, model: Any, image: Any, layer: str | None = None, method: str = "gradcam",
                 target: int | None = None, **kwargs: Any):
        super().__init__(model, image, target=target, layer=layer or model.default_cam_layer,
                         layer_options=model.spatial_layers, method=method,
                         method_options=cam_methods(), **kwargs)

    def _attribute(self, target: int) -> Attribution:
        from ..engines import cam as engine

        return engine.cam(self.model, self.image, layer=self.layer, target=target,
                          method=self.method)

    def _describe(self, a: Attribution) -> str:
        return f"{super()._describe(a)} · {a.method} at {a.layer or self.layer}"
