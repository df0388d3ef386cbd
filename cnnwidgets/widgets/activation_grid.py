"""ActivationGridViewer: what a layer sees at every position of a photo (Building Blocks)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
from traitlets import Bytes, Dict, Int, List, TraitError, Unicode, validate

from ..data.images import load_image
from ..engines.activation_grid import (
    DEFAULT_GROUPS,
    DEFAULT_MAX_CELLS,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    GridAscent,
    group_shares,
)
from ..render import to_jpeg, to_png
from ..render.activation_grid import (
    grid_picture,
    group_colors,
    groups_overlay,
    groups_strip,
    mosaic,
    mosaic_tile,
)
from ..render.images import resize
from .base import BackgroundWidget, Publisher, bundle

# Picture sizes in pixels, chosen so that the whole widget fits a 1280 x 720 lecture screen:
# controls and progress (~90 px), the photo, the mosaic and the enlarged cell in one row
# (~260 px high), the groups below (~170 px).
VIEW_SIDE = 260
DETAIL_SIDE = 160
GROUPS_SIDE = 160
STRIP_TILE = 48
MAX_GROUPS = 12


class ActivationGridViewer(BackgroundWidget):
    """The activation grid of a layer for one photo (Olah et al. 2018, Building Blocks).

    ``ActivationGridViewer(model, image, layer=None, groups=6, steps=128, size=64, seed=0,
    cell=None, max_cells=64, cossim_pow=1.0)``; ``layer=None`` is the last spatial layer,
    ``cell=None`` the centre cell.

    - ``view``: the photo with the layer's grid drawn over it; hover a cell (it is chosen after
      a short rest) or click it to choose it (``cell`` = [row, col]); ``detail`` shows its
      visualization enlarged, ``caption`` its activation and its groups.
    - ``mosaic``: every cell's visualization in its place (clickable like ``view``).
    - ``groups``: the photo with the NMF groups as coloured overlays; ``strip``: each group's
      visualization over its colour, with its map below.
    - Controls: ``layer`` (spatial layers), ``n_groups`` (the ``groups`` argument: 0 turns the
      factorisation off), ``steps``, ``size`` and ``seed``; Start / Stop run the renders in a
      background thread (``progress``, ``status``); ``run()`` blocks.

    Activations and groups are computed at once (one forward pass and an NMF); the renders,
    which take seconds to minutes, only on Start. A new cell re-draws from the rendered images
    without computing anything. ``result`` is the engine's
    :class:`~cnnwidgets.engines.activation_grid.ActivationGrid` after a run.
    """

    _esm = bundle("activation_grid_viewer")

    layer = Unicode(help="the layer whose positions are visualised").tag(sync=True)
    layer_options = List(Unicode()).tag(sync=True)
    n_groups = Int(DEFAULT_GROUPS, help="NMF groups (0: none)").tag(sync=True)
    n_groups_max = Int(MAX_GROUPS).tag(sync=True)
    steps = Int(DEFAULT_STEPS, help="optimisation steps of the renders").tag(sync=True)
    size = Int(DEFAULT_SIZE, help="side of each optimised image in pixels").tag(sync=True)
    seed = Int(0, help="makes the renders repeatable").tag(sync=True)
    cell = List(Int(), [0, 0], minlen=2, maxlen=2, help="the chosen cell: [row, col]").tag(
        sync=True
    )
    grid_layout = Dict(help="nrows and ncols of the grid, for hover and clicks").tag(sync=True)
    mosaic = Bytes(b"", help="every cell's visualization in its place (PNG)").tag(sync=True)
    detail = Bytes(b"", help="the chosen cell's visualization, enlarged (PNG)").tag(sync=True)
    groups = Bytes(b"", help="the photo with the NMF groups as coloured overlays").tag(sync=True)
    strip = Bytes(b"", help="each group's visualization over its colour, its map below").tag(
        sync=True
    )
    caption = Unicode("").tag(sync=True)

    def __init__(
        self,
        model: Any,
        image: Any,
        layer: str | None = None,
        groups: int = DEFAULT_GROUPS,
        *,
        steps: int = DEFAULT_STEPS,
        size: int = DEFAULT_SIZE,
        seed: int = 0,
        cell: tuple[int, int] | None = None,
        max_cells: int = DEFAULT_MAX_CELLS,
        cossim_pow: float = 1.0,
        **kwargs: Any,
    ):
        self.model = model
        self.image = load_image(image)
        self.max_cells = max_cells
        self.cossim_pow = cossim_pow
        self.result = None
        self._grid: GridAscent | None = None  # activations and groups of the current settings
        self._cells: np.ndarray | None = None  # (h, w, S, S, 3) latest cell images
        self._group_images: np.ndarray | None = None
        self._rendered = False  # whether the images are renders (not the starting noise)
        self._active: GridAscent | None = None
        layers = model.spatial_layers
        if not layers:
            raise ValueError(f"{model.name} has no layer with a spatial output")
        super().__init__(
            layer=layer or model.default_cam_layer,
            layer_options=layers,
            n_groups=groups,
            steps=steps,
            size=size,
            seed=seed,
            # Out of range (the default) means the centre, set once the grid is known.
            cell=[-1, -1] if cell is None else [int(cell[0]), int(cell[1])],
            **kwargs,
        )
        self._set_photo()
        self._reprepare = self.debounced(self._prepare)
        self.observe(lambda _: self._reprepare(), ["layer", "n_groups", "size", "seed"])
        self.observe(self._on_cell, "cell")
        self.attempt(self._prepare)

    @validate("n_groups")
    def _valid_groups(self, proposal):
        v = int(proposal["value"])
        if not 0 <= v <= MAX_GROUPS:
            raise TraitError(f"n_groups must lie in 0..{MAX_GROUPS}, got {v}")
        return v

    # ---- the cheap part: activations and groups -------------------------------------------------
    def _engine(self, steps: int, stop: threading.Event | None = None) -> GridAscent:
        return GridAscent(
            self.model,
            self.image,
            self.layer,
            groups=self.n_groups,
            steps=steps,
            size=self.size,
            seed=self.seed,
            max_cells=self.max_cells,
            cossim_pow=self.cossim_pow,
            stop=stop,
        )

    def _prepare(self) -> None:
        """Activations and groups of the current settings, the starting images (noise)."""
        if self.running:
            self.stop()  # a new layer or grouping makes the running renders meaningless
        grid = self._engine(0)
        self._grid, self.result, self._rendered = None, None, False
        gh, gw = grid.settings["grid"]
        r, c = self.cell
        if not (0 <= r < gh and 0 <= c < gw):
            self.cell = [gh // 2, gw // 2]  # (the observer draws nothing without a grid)
        self.grid_layout = {
            "nrows": gh,
            "ncols": gw,
            "layer_shape": list(grid.settings["layer_shape"]),
        }
        self._cells = grid.cell_images(grid.cells.frame())
        self._group_images = grid.group_images()
        self._grid = grid
        self._draw_all()
        self.progress = 0.0
        self.status = "ready: press Start to render"

    def _use_image(self, image: Any) -> None:
        self.image = load_image(image)
        self._set_photo()
        self._reprepare()

    def _set_photo(self) -> None:
        photo = self.model.to_display(self.image)
        # Resized once: every cell change redraws the grid over it.
        h, w = photo.shape[:2]
        k = VIEW_SIDE / max(h, w)
        self._photo = resize(photo, (max(1, round(h * k)), max(1, round(w * k))))

    # ---- pictures --------------------------------------------------------------------------------
    def _on_cell(self, _change: Any) -> None:
        # While rendering, the worker draws the chosen cell with its next frame (one writer).
        if not self.running:
            self.attempt(self._draw_cell)

    def _draw_all(self) -> None:
        self._draw_groups()
        self._draw_cell()

    def _draw_groups(self) -> None:
        grid = self._grid
        if grid is None:
            return
        maps = grid.factors.maps
        colors = group_colors(len(maps))
        self.groups = to_jpeg(groups_overlay(self._photo, maps, colors, side=GROUPS_SIDE))
        self.strip = to_png(
            groups_strip(self._group_images, maps, colors, tile=STRIP_TILE)
            if len(maps)
            else np.ones((8, 8, 3), np.float32)
        )

    def _draw_cell(self) -> None:
        grid, cells = self._grid, self._cells
        if grid is None or cells is None:
            return
        gh, gw = cells.shape[:2]
        r, c = self.cell
        if not (0 <= r < gh and 0 <= c < gw):
            raise IndexError(f"cell [{r}, {c}] is outside the {gh} x {gw} grid of {self.layer!r}")
        self.view = to_jpeg(grid_picture(self._photo, gh, gw, (r, c)))
        tile = mosaic_tile(cells.shape[2], max(gh, gw), VIEW_SIDE)
        self.mosaic = to_png(mosaic(cells, tile=tile, selected=(r, c)))
        self.detail = to_png(resize(cells[r, c], (DETAIL_SIDE, DETAIL_SIDE)))
        self.caption = self._describe(r, c)

    def _describe(self, r: int, c: int) -> str:
        grid = self._grid
        gh, gw = grid.settings["grid"]
        h, w = grid.settings["layer_shape"]
        a = grid.activations[r, c]
        where = f"{self.layer} · row {r}, col {c} of {gh}×{gw}"
        if (gh, gw) != (h, w):
            where += f" (the {h}×{w} map pooled)"
        text = (
            f"{where}\n|activation| {float(np.linalg.norm(a)):.3g} · max channel {int(a.argmax())}"
        )
        shares = group_shares(grid.factors.maps, grid.factors.directions, r, c)
        top = [int(g) for g in np.argsort(-shares)[:3] if shares[g] >= 0.05]
        if top:
            text += " · groups " + ", ".join(f"{g} ({shares[g]:.0%})" for g in top)
        if not self._rendered:
            text += "\n(starting noise: press Start to render)"
        return text

    # ---- the renders -----------------------------------------------------------------------------
    def _work(self, stop: threading.Event) -> Iterator[Publisher]:
        run = self._engine(self.steps, stop)
        self._grid, self.result = run, None
        self._active = run
        for frame in run:
            # Images leave the device only for the frames that are shown (about 10 a second).
            yield lambda f=frame: self._publish(run, f)

    def _publish(self, run: GridAscent, frame) -> None:
        step, loss = frame.step, frame.loss
        self._cells = run.cell_images(frame.cells.images.numpy())
        if frame.groups is not None:
            self._group_images = run.group_images(frame.groups.images.numpy())
        self._rendered = True
        self._draw_all()
        self.progress = step / max(1, run.steps)
        n = len(run.cell_objectives) + len(run.group_objectives)
        self.status = f"step {step} / {run.steps} · {n} images · loss {loss:.4g}"

    def _finished(self, stopped: bool) -> None:
        run = self._active
        self.result = run.result()
        self._cells = self.result.images
        self._group_images = self.result.groups.images
        self._rendered = run.step > 0
        self._draw_all()
        if not stopped:
            self.progress = 1.0
        self.status = f"{'stopped' if stopped else 'done'} after {run.step} steps"
