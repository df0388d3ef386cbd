"""SaliencyViewer: which input pixels a class score is most sensitive to, by several methods."""
from __future__ import annotations

from typing import Any

from traitlets import Float, Int, List, Unicode

from ..engines.maps import Attribution
from .attribution import AttributionViewer
from .base import bundle

METHODS = [["gradient", "gradient"], ["gradient × input", "gradient_x_input"],
           ["SmoothGrad", "smoothgrad"], ["Integrated Gradients", "integrated_gradients"],
           ["guided backprop", "guided_backprop"]]


class SaliencyViewer(AttributionViewer):
    """A saliency map over the photo: method picker, target class picker (top predictions with
    probabilities), the method's parameters (SmoothGrad samples and noise, Integrated Gradients
    steps) and an overlay alpha slider.

    ``SaliencyViewer(model, image, method="gradient", target=None, alpha=0.5)``.
    """

    _esm = bundle("saliency_viewer")

    method = Unicode("gradient").tag(sync=True)
    method_options = List(default_value=METHODS).tag(sync=True)
    n_samples = Int(25, min=1, help="SmoothGrad: noisy copies averaged").tag(sync=True)
    noise = Float(0.15, min=0.0, help="SmoothGrad: noise, a fraction of the input's range").tag(sync=True)
    steps = Int(50, min=1, help="Integrated Gradients: points on the path").tag(sync=True)
    colormap = Unicode("inferno").tag(sync=True)

    _recompute_on = ["target", "compare_target", "method", "n_samples", "noise", "steps"]

    def __init__(self, model: Any, image: Any, method: str = "gradient", target: int | None = None,
                 **kwargs: Any):
        super().__init__(model, image, target=target, method=method, **kwargs)

    def _params(self) -> dict:
        if self.method == "smoothgrad":
            return {"n_samples": self.n_samples, "noise": self.noise}
        if self.method == "integrated_gradients":
            return {"steps": self.steps}
        return {}

    def _attribute(self, target: int) -> Attribution:
        from ..engines import saliency as engine

        return engine.saliency(self.model, self.image, target=target, method=self.method,
                               **self._params())
