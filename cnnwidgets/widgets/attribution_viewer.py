"""What the saliency and CAM viewers share: the photo, a target class picker with the top
predictions, an attribution computed off the kernel's thread and an alpha that only re-blends."""

from __future__ import annotations

from typing import Any

from traitlets import Bytes, Float, Int, List, Unicode

from ..core.progress import part
from ..data.images import load_image
from ..engines.maps import Attribution
from ..render import grid, overlay, to_jpeg
from .base import CNNWidget

TOP_K = 5


class AttributionViewer(CNNWidget):
    """Base of :class:`SaliencyViewer` and :class:`GradCAMViewer`.

    Subclasses implement ``_attribute(target) -> Attribution`` (one engine call) and list the
    traits that need a new attribution in ``_recompute_on``. Those changes are debounced and
    computed off the kernel's thread; ``alpha`` and ``colormap`` only re-blend the cached map.
    ``compare_target`` (>= 0) shows a second class side by side.
    """

    target = Int(help="the class explained (default: the top prediction)").tag(sync=True)
    target_options = List(help="[label with probability, class index] of the top predictions").tag(
        sync=True
    )
    compare_target = Int(-1, help="a second class shown side by side; -1 for none").tag(sync=True)
    compare_target_options = List().tag(sync=True)
    alpha = Float(0.5, min=0.0, max=1.0, help="opacity of the map over the photo").tag(sync=True)
    colormap = Unicode("jet").tag(sync=True)
    photo = Bytes(b"", help="the input as the model sees it (JPEG)").tag(sync=True)
    caption = Unicode("").tag(sync=True)

    _recompute_on: list[str] = ["target", "compare_target"]

    def __init__(self, model: Any, image: Any, target: int | None = None, **kwargs: Any):
        self.model = model
        self.image = load_image(image)
        self._photo = None
        self._maps: list[Attribution] = []
        #: how many engine calls this widget made (re-blends make none)
        self.computations = 0
        self._loading = False
        super().__init__(**kwargs)
        # Computed now (one forward pass, cached): computed first on the kernel's thread by a
        # class change, it waits for the model's lock, which a running recompute holds.
        self.model.num_classes  # noqa: B018
        self._before_first_compute()
        self._recompute = self.debounced(self._compute)
        self.observe(self._listed, ["target", "compare_target"])
        self.observe(self._on_control, self._recompute_on)
        self.observe(lambda _: self.attempt(self._blend), ["alpha", "colormap"])
        if self.attempt(self._load_photo, target):
            self.attempt(self._compute)

    def _listed(self, change: Any) -> None:
        """A class chosen from Python that is not among the top predictions joins the pickers."""
        t = change["new"]
        if (
            self._loading
            or not 0 <= t < self.model.num_classes
            or t in [o[1] for o in self.target_options]
        ):
            return
        option = [f"{self.model.label(t)} (class {t})", int(t)]
        self.target_options = self.target_options + [option]
        self.compare_target_options = self.compare_target_options + [option]

    def _on_control(self, _change: Any) -> None:
        if not self._loading:  # a new image computes once, not once per changed trait
            self._recompute()

    # ---- image and predictions ----------------------------------------------------------------
    def _use_image(self, image: Any) -> None:
        self.image = load_image(image)
        self._load_photo(None)
        self._recompute()  # the attribution itself off the kernel's thread

    def _load_photo(self, target: int | None) -> None:
        self._photo = self.model.to_display(self.image)
        self.photo = to_jpeg(self._photo)
        top = self.model.predict(self.image, k=TOP_K)
        options = [[f"{label} ({p:.1%})", int(i)] for i, label, p in top]
        if target is not None and target not in [o[1] for o in options]:
            options.append([f"{self.model.label(target)} (class {target})", int(target)])
        self._loading = True
        try:
            self.target_options = options
            self.compare_target_options = [["none", -1]] + options
            self.target = options[0][1] if target is None else int(target)
            if self.compare_target not in [o[1] for o in options]:
                self.compare_target = -1
        finally:
            self._loading = False

    # ---- attribution and blending -------------------------------------------------------------
    def _before_first_compute(self) -> None:
        """Set up what the first computation needs (a method picker)."""

    def _attribute(self, target: int) -> Attribution:
        raise NotImplementedError

    def _compute(self) -> None:
        targets = [self.target] + ([self.compare_target] if self.compare_target >= 0 else [])
        maps = []
        for i, t in enumerate(targets):
            self.computations += 1
            with part(i, i + 1, len(targets)):  # one progress bar over both classes
                maps.append(self._attribute(t))
        self._maps = maps
        self._blend()

    def _blend(self) -> None:
        if not self._maps or self._photo is None:
            return
        pictures = [
            overlay(self._photo, a.map, alpha=self.alpha, cmap=self.colormap) for a in self._maps
        ]
        self.view = to_jpeg(pictures[0] if len(pictures) == 1 else grid(pictures, ncols=2))
        self.caption = "   |   ".join(self._describe(a) for a in self._maps)

    def _describe(self, a: Attribution) -> str:
        return f"{self.model.label(a.target)} (class {a.target}, logit {a.score:.3g})"

    @property
    def attribution(self) -> Attribution | None:
        """The current attribution of ``target`` (the last one computed)."""
        return self._maps[0] if self._maps else None
