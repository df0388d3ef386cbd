"""Explorer: one dashboard of the image views, with a shared layer picker and image upload."""

from __future__ import annotations

from typing import Any

from traitlets import List, Unicode, link

from ..data.images import load_image
from ..render import to_jpeg
from .base import CNNWidget, bundle, close_tree
from .feature_maps import FeatureMapViewer
from .gradcam import GradCAMViewer
from .saliency import SaliencyViewer

TOP_K = 5


class Explorer(CNNWidget):
    """The photo with the model's top predictions, a shared layer picker and an image upload
    (file picker or drag and drop; a non-image shows an error and keeps the last image), over
    a :class:`GradCAMViewer`, a :class:`SaliencyViewer` and a :class:`FeatureMapViewer` of the
    same image. The layer picker drives the CAM and the feature maps.

    ``Explorer(model, image, layer=None)``; the parts are ``gradcam``, ``saliency`` and
    ``feature_maps``. The widget is the dashboard's header; it displays as ``show()``, the
    whole dashboard: a 2 x 2 grid that fits a 1280 x 720 screen.

    The dashboard has one image: a picture given to any part (a file dropped on it, or
    ``explorer.gradcam.set_image(...)``) goes to every part and to the header, as an upload
    in the header does. The parts' own upload buttons are hidden in the dashboard.
    """

    _esm = bundle("explorer")

    layer = Unicode(help="the layer shared by the CAM and the feature maps").tag(sync=True)
    layer_options = List(Unicode()).tag(sync=True)
    predictions = Unicode("", help="the top predictions, one per line").tag(sync=True)

    def __init__(self, model: Any, image: Any, layer: str | None = None, **kwargs: Any):
        self.model = model
        self.image = load_image(image)
        layer = layer or model.default_cam_layer
        self.parts: list[CNNWidget] = []
        self._links: list = []
        self._box = None
        super().__init__(layer=layer, layer_options=model.spatial_layers, **kwargs)
        try:
            # Appended one by one, so that a part that fails to build closes the ones before.
            self.gradcam = GradCAMViewer(model, self.image, layer=layer)
            self.parts.append(self.gradcam)
            self.saliency = SaliencyViewer(model, self.image)
            self.parts.append(self.saliency)
            self.feature_maps = FeatureMapViewer(model, self.image, layer=layer)
            self.parts.append(self.feature_maps)
        except BaseException:
            self.close()
            raise
        # One image for the whole dashboard: each part's own way of taking a picture is kept
        # here and replaced by the Explorer's, so that a picture given to one part (dropped on
        # it, or set from code) reaches every part and the header.
        self._part_use_image = {}
        for part in self.parts:
            self._part_use_image[part] = part._use_image
            part._use_image = self._use_image
        self._links = [
            link((self, "layer"), (self.gradcam, "layer")),
            link((self, "layer"), (self.feature_maps, "layer")),
        ]
        self.attempt(self._describe)

    def _use_image(self, image: Any) -> None:
        image = load_image(image)
        self.image = image
        self._describe()
        failed = [
            type(p).__name__ for p in self.parts if not p.attempt(self._part_use_image[p], image)
        ]
        if failed:
            raise RuntimeError(
                f"the new image could not be shown in {', '.join(failed)}; see the message there"
            )

    def _describe(self) -> None:
        self.view = to_jpeg(self.model.to_display(self.image))
        top = self.model.predict(self.image, k=TOP_K)
        self.predictions = "\n".join(f"{p:6.1%}  {label}" for _, label, p in top)

    def flush(self) -> Explorer:
        super().flush()
        for p in self.parts:
            p.flush()
        return self

    def show(self):
        """The whole dashboard: this header and the CAM above the saliency map and the feature
        maps, two columns (the class ``cnnw-dashboard`` makes the parts compact)."""
        if self._box is None:
            import ipywidgets

            self._box = ipywidgets.GridBox(
                [self, self.gradcam, self.saliency, self.feature_maps],
                layout=ipywidgets.Layout(
                    grid_template_columns="repeat(2, minmax(0, 1fr))", grid_gap="6px"
                ),
            )
            self._box.add_class("cnnw-dashboard")
        return self._box

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.show()._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        # Idempotent (a link unlinked twice raises) and safe on a half-built dashboard, since
        # ipywidgets also closes from __del__.
        links, self._links = getattr(self, "_links", []), []
        for lk in links:
            lk.unlink()
        for p in getattr(self, "parts", ()):
            p.close()
        close_tree(getattr(self, "_box", None))
        super().close()
