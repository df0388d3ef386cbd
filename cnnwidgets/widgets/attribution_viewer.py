"""What the saliency and CAM viewers share: the photo, a target class picker with the top
predictions, an attribution computed off the kernel's thread and an alpha that only re-blends;
beside the map, how faithful it is (deletion and insertion curves in a small chart, their areas,
average drop), a table of every method's scores on demand, and a sanity check on a model whose
top layers are randomised."""

from __future__ import annotations

import json
import math
import threading
from typing import Any

import numpy as np
from traitlets import Bool, Bytes, Dict, Float, Int, List, Unicode

from ..core.progress import Cancelled, part
from ..core.registry import Registry
from ..data.images import load_image
from ..engines.faithfulness import check_map
from ..engines.faithfulness import faithfulness as faithfulness_of
from ..engines.maps import Attribution
from ..engines.sanity import parameterised_layers, randomized_copy, rank_correlation
from ..render import grid, overlay, to_jpeg
from ..render.images import readout
from .base import OUTPUT_TRAITS, CNNWidget, close_tree, readable

TOP_K = 5

# The chart beside a 224-pixel map: small enough that map, photo and chart fit a 1280 x 720
# lecture screen side by side.
CHART_LAYOUT = {"width": "260px", "height": "180px"}
DELETION_COLOR, INSERTION_COLOR = "#d32f2f", "#1976d2"


class AttributionViewer(CNNWidget):
    """Base of :class:`SaliencyViewer` and :class:`GradCAMViewer`.

    Subclasses implement ``_attribute(target, model=None, method=None, params=None) ->
    Attribution`` (one engine call; by default with the widget's model, method and parameters),
    name their method registry in ``_registry`` and list the traits that need a new
    attribution in ``_recompute_on``. Those changes are debounced and computed off the
    kernel's thread; ``alpha`` and ``colormap`` only re-blend the cached map.
    ``compare_target`` (>= 0) shows a second class side by side.

    Faithfulness (see :func:`cnnwidgets.faithfulness`): ``faithfulness`` holds the scores of the
    map of ``target`` (deletion and insertion AUC, their curves, average drop, increase in
    confidence), recomputed with the map when the method, layer, class or image changes, and
    drawn in ``chart`` (bqplot), shown beside the widget by ``show()``. The ``score_all``
    action fills ``compare`` with every registered method's scores on this image and class
    (one batched call; methods that fail are listed in ``compare_skipped`` with the reason).
    ``sanity`` adds the same method's map on a copy of the model whose top ``sanity_layers``
    layers with weights are randomised (Adebayo et al. 2018) and their Spearman rank
    correlation, ``sanity_correlation``; the user's model is never changed.
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
    readout = Dict(help="the shown map's values, for the hover readout").tag(sync=True)

    faithfulness = Dict(
        help="deletion_auc, insertion_auc, average_drop, increase_in_confidence and curves "
        "(fractions, deletion, insertion) of the map of `target`"
    ).tag(sync=True)
    faithfulness_steps = Int(20, min=1, help="steps of the deletion and insertion curves").tag(
        sync=True
    )
    compare = List(
        help="rows {method, label, deletion_auc, insertion_auc, average_drop}, one per method, "
        "after the score_all action"
    ).tag(sync=True)
    compare_skipped = List(help="rows {method, label, reason} of methods that failed").tag(
        sync=True
    )
    scoring = Bool(False, help="True while every method is being scored").tag(sync=True)
    sanity = Bool(False, help="also show the map of a model with randomised top layers").tag(
        sync=True
    )
    sanity_layers = Int(3, min=1, help="how many top layers with weights to randomise").tag(
        sync=True
    )
    sanity_layers_max = Int(1, help="the model's layers with weights").tag(sync=True)
    sanity_correlation = Float(
        None, allow_none=True, help="Spearman rank correlation of the two maps (None: undefined)"
    ).tag(sync=True)

    _recompute_on: list[str] = ["target", "compare_target"]
    # written by the widget, never named in a busy label as a changed control
    _outputs = OUTPUT_TRAITS | {"scoring", "sanity_correlation"}
    _registry: Registry

    def __init__(self, model: Any, image: Any, target: int | None = None, **kwargs: Any):
        self.model = model
        self.image = load_image(image)
        self._image_version = 0
        self._photo = None
        self._maps: list[Attribution] = []
        self._sanity_map: Attribution | None = None
        self._random_model = None
        self._random_key = None
        self._scores = None
        self._scores_key = None
        #: how many engine calls this widget made for its maps (re-blends make none)
        self.computations = 0
        #: how many faithfulness calls it made for the shown map (the table's not counted)
        self.faithfulness_computations = 0
        self._loading = False
        # What the one debounced job still has to do: the maps, the table of every method.
        self._flags_lock = threading.Lock()
        self._stale = False
        self._score_requested = False
        self._table_version = 0  # bumped when the table goes out of date
        self._box = None
        # A small model has fewer than three layers with weights to randomise.
        n_weighted = max(1, len(parameterised_layers(model)))
        kwargs.setdefault("sanity_layers", min(3, n_weighted))
        super().__init__(sanity_layers_max=n_weighted, **kwargs)
        # Computed now (one forward pass, cached): computed first on the kernel's thread by a
        # class change, it waits for the model's lock, which a running recompute holds.
        self.model.num_classes  # noqa: B018
        self.chart = self._make_chart()
        self._before_first_compute()
        self._recompute = self.debounced(self._work)
        self.observe(self._listed, ["target", "compare_target"])
        self.observe(
            self._on_control,
            [*self._recompute_on, "sanity", "sanity_layers", "faithfulness_steps"],
        )
        self.observe(
            self._table_stale, ["target", "layer"] if self.has_trait("layer") else "target"
        )
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
            self._request()

    def _table_stale(self, _change: Any) -> None:
        # The table scores one image, class and layer; another one makes it out of date (and a
        # table being scored meanwhile is dropped when it is done).
        self._table_version += 1
        self.compare, self.compare_skipped = [], []

    def _request(self, maps: bool = True, table: bool = False) -> None:
        with self._flags_lock:
            self._stale |= maps
            self._score_requested |= table
        if table:
            self.scoring = True
        self._recompute()

    def _work(self) -> None:
        """The debounced job (one thread writes this widget): the maps when a control changed,
        then the table of every method when it was asked for; the first failure is shown."""
        with self._flags_lock:
            stale, self._stale = self._stale, False
            table, self._score_requested = self._score_requested, False
        failure = None
        for needed, step in ((stale, self._compute), (table, self._score_all)):
            if needed:
                try:
                    step()
                except Cancelled:
                    # The newer run that cancelled this one does what was left (the maps for
                    # its own controls, and a table that was asked for and not yet scored).
                    with self._flags_lock:
                        self._stale |= stale and step == self._compute
                        self._score_requested |= table
                    raise
                except Exception as exc:  # noqa: BLE001 - shown by attempt() below
                    failure = failure or exc
        if table:
            with self._flags_lock:
                self.scoring = self._score_requested  # another request may be queued
        if failure is not None:
            raise failure

    # ---- image and predictions ----------------------------------------------------------------
    def _use_image(self, image: Any) -> None:
        self.image = load_image(image)
        self._image_version += 1
        self._load_photo(None)
        self._table_stale(None)
        self._request()  # the attribution itself off the kernel's thread

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

    def _attribute(
        self,
        target: int,
        model: Any = None,
        method: str | None = None,
        params: dict | None = None,
    ) -> Attribution:
        raise NotImplementedError

    def _method_params(self) -> dict:
        """The chosen method's parameters as the engine takes them."""
        return {}

    def _settings(self) -> tuple:
        """What the map of ``target`` depends on besides the class and the image."""
        return (self.method, json.dumps(self._method_params(), sort_keys=True, default=str))

    def _compute(self) -> None:
        targets = [self.target] + ([self.compare_target] if self.compare_target >= 0 else [])
        maps = []
        # One progress bar over every part, a slot each: the maps, the sanity check's map,
        # the faithfulness scores.
        slots = len(targets) + int(self.sanity) + 1
        for i, t in enumerate(targets):
            self.computations += 1
            with part(i, i + 1, slots):
                maps.append(self._attribute(t))
        self._maps = maps
        failure = None
        try:
            with part(len(targets), slots - 1, slots):
                self._sanity_check(maps[0])
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - raised below, after the map is shown
            self._sanity_map, self.sanity_correlation, failure = None, None, exc
        self._blend()  # the map first; its scores take a few dozen forward passes
        with part(slots - 1, slots, slots):
            self._score(maps[0])
        if failure is not None:
            raise failure

    def _score(self, a: Attribution) -> None:
        """Faithfulness of the map of ``target``, unless the same map was scored already (a
        second class or the sanity check changed, not the map). A map that cannot be scored
        (a flat map has no pixel order) says why in ``faithfulness["error"]``; the widget's
        ``error`` stays for failures of the map itself."""
        label = self._registry.get(a.method).label
        key = (self._image_version, a.target, *self._settings(), self.faithfulness_steps)
        if key != self._scores_key:
            self._scores, self._scores_key = None, None
            self.faithfulness_computations += 1
            try:
                self._scores = faithfulness_of(
                    self.model, self.image, a, steps=self.faithfulness_steps
                )
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - shown in place of the scores
                self.faithfulness = {"label": label, "error": readable(exc)}
                self._draw_chart()
                return
            self._scores_key = key
        self.faithfulness = {**self._scores.to_dict(), "label": label}
        self._draw_chart()

    def _sanity_check(self, a: Attribution) -> None:
        if not self.sanity:
            self._sanity_map, self._random_model, self._random_key = None, None, None
            self.sanity_correlation = None
            return
        # One randomised copy while the check stays on: the copy's layers are probed once.
        if self._random_key != self.sanity_layers:
            self._random_model = randomized_copy(self.model, n_layers=self.sanity_layers, seed=0)
            self._random_key = self.sanity_layers
        self._sanity_map = self._attribute(a.target, model=self._random_model)
        rho = rank_correlation(a, self._sanity_map)
        self.sanity_correlation = None if math.isnan(rho) else rho

    def _blend(self) -> None:
        if not self._maps or self._photo is None:
            return
        shown = self._maps + ([self._sanity_map] if self._sanity_map is not None else [])
        pictures = [
            overlay(self._photo, a.map, alpha=self.alpha, cmap=self.colormap) for a in shown
        ]
        self.view = to_jpeg(pictures[0] if len(pictures) == 1 else grid(pictures, ncols=2))
        # The hover readout reads positions on one map; side by side there would be two.
        self.readout = self._readout(shown[0]) if len(shown) == 1 else {}
        parts = [self._describe(a) for a in self._maps]
        if self._sanity_map is not None:
            parts.append(self._describe_sanity())
        self.caption = "   |   ".join(parts)

    def _describe(self, a: Attribution) -> str:
        return f"{self.model.label(a.target)} (class {a.target}, logit {a.score:.3g})"

    def _readout(self, a: Attribution) -> dict:
        """The numbers under the picture for the hover readout: the displayed map in [0, 1]
        (subclasses may show the raw values instead)."""
        return readout(a.map, "map")

    def _describe_sanity(self) -> str:
        rho = self.sanity_correlation
        value = (
            f"Spearman ρ = {rho:.2f}" if rho is not None else "Spearman ρ undefined (a flat map)"
        )
        return (
            f"top {self.sanity_layers} layers randomized: {value}"
            " (a faithful map changes: ρ near 0)"
        )

    # ---- every method's scores ------------------------------------------------------------------
    def _action_score_all(self, content: dict, buffers: list) -> None:
        self.score_all(wait=False)

    def score_all(self, wait: bool = True) -> list[dict]:
        """Score every registered method on this image and class (the compare table); off the
        kernel's thread. ``wait``: block until the table is filled and return its rows."""
        self._request(maps=False, table=True)
        if wait:
            self.flush()
        return self.compare

    def _abandoned(self) -> None:
        super()._abandoned()
        # A table that was asked for is dropped with the rest of the work (no run follows).
        with self._flags_lock:
            self._score_requested = False
        self.scoring = False

    def _score_all(self) -> None:
        version, target = self._table_version, self.target
        maps, rows, skipped = [], [], []
        size = tuple(self.model.input_size)
        names = self._registry.names()
        for i, name in enumerate(names):
            label = self._registry.get(name).label
            # the chosen method with the widget's parameters, every other one with its defaults
            params = self._method_params() if name == self.method else {}
            try:
                with part(i, i + 1, len(names) + 1):  # a slot per method, one for the scores
                    a = self._attribute(target, method=name, params=params)
                check_map(a, size)
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - listed beside the table
                skipped.append({"method": name, "label": label, "reason": readable(exc)})
                continue
            maps.append(a)
            rows.append({"method": name, "label": label})
        with part(len(names), len(names) + 1, len(names) + 1):
            scores = (
                faithfulness_of(self.model, self.image, maps, steps=self.faithfulness_steps)
                if maps
                else []
            )
        for row, s in zip(rows, scores):
            row.update(
                deletion_auc=s.deletion_auc,
                insertion_auc=s.insertion_auc,
                average_drop=s.average_drop,
                increase_in_confidence=s.increase_in_confidence,
            )
        if version != self._table_version:
            return  # the class, layer or image changed while scoring
        self.compare_skipped = skipped
        self.compare = rows

    # ---- the chart ------------------------------------------------------------------------------
    def _make_chart(self):
        import bqplot as bq

        x = bq.LinearScale(min=0.0, max=1.0)
        y = bq.LinearScale(min=0.0)
        # No legend: in a 260-pixel chart it covers a curve wherever it sits. The scores line
        # of the widget names the curves in their colours.
        self._curves = bq.Lines(
            x=np.zeros(0),
            y=np.zeros((2, 0)),
            scales={"x": x, "y": y},
            colors=[DELETION_COLOR, INSERTION_COLOR],
            labels=["deletion", "insertion"],
            stroke_width=2,
        )
        self._axes = [
            bq.Axis(
                scale=x, label="fraction of pixels", side="bottom", num_ticks=3, tick_format=".1f"
            ),
            bq.Axis(scale=y, label="p(class)", side="left", num_ticks=4, tick_format=".2f"),
        ]
        self._scales = [x, y]
        return bq.Figure(
            marks=[self._curves],
            axes=self._axes,
            title="deletion / insertion",
            layout={**CHART_LAYOUT, "flex": "0 0 auto"},
            fig_margin={"top": 24, "bottom": 36, "left": 46, "right": 20},
            padding_x=0.0,
            padding_y=0.0,
            title_style={"font-size": "11px"},
            min_aspect_ratio=0.1,
        )

    def _draw_chart(self) -> None:
        f = self._scores
        if f is None:
            with self._curves.hold_sync():
                self._curves.x, self._curves.y = np.zeros(0), np.zeros((2, 0))
            self.chart.title = "deletion / insertion: no scores"
            return
        with self._curves.hold_sync():
            self._curves.x = f.fractions
            self._curves.y = np.stack([f.deletion, f.insertion])
        # short enough for the 260-pixel figure: the widget's scores line spells it out
        self.chart.title = f"AUC  del. {f.deletion_auc:.3f} ↓   ins. {f.insertion_auc:.3f} ↑"

    # ---- display and lifetime -------------------------------------------------------------------
    def show(self):
        """The widget and, beside it, the chart of its deletion and insertion curves."""
        if self._box is None:
            import ipywidgets

            # The widget takes the width its controls and pictures need, up to what the chart
            # leaves; it never grows and pushes the chart below.
            self.layout.flex = "0 1 auto"
            self._box = ipywidgets.HBox([self, self.chart], layout={"align_items": "flex-start"})
        return self._box

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.show()._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        super().close()  # the recompute thread first: it may still draw the chart
        # The chart's figure owns marks, axes, scales (its own scale_x/scale_y too) and
        # layouts, each a widget of its own in ipywidgets' registry: close the whole tree.
        close_tree(getattr(self, "chart", None), getattr(self, "_box", None))
        self._random_model = None

    @property
    def attribution(self) -> Attribution | None:
        """The current attribution of ``target`` (the last one computed)."""
        return self._maps[0] if self._maps else None

    @property
    def sanity_attribution(self) -> Attribution | None:
        """The map of the randomised model while ``sanity`` is on."""
        return self._sanity_map
