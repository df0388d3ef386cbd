"""Activation grids (Olah et al. 2018, "The Building Blocks of Interpretability", Distill,
doi:10.23915/distill.00010): what a layer sees at every position of one image.

For one image and one spatial layer:

- ``activations`` (h, w, C): the layer's activation vector at every position. Layers with more
  than ``max_cells`` positions are average-pooled (``adaptive_avg_pool2d``) to the largest grid
  of the same aspect that has at most ``max_cells`` cells (a 14 x 14 layer becomes 8 x 8 at the
  default 64), so that a large layer costs at most that many renders.
- ``images`` (h, w, S, S, 3): a feature visualization of every cell's activation vector, all
  cells rendered as ONE batch of :class:`~cnnwidgets.engines.featureviz.Ascent`, one objective
  per cell (:func:`position_direction`).
- ``groups``: a non-negative matrix factorisation of the (h*w, C) activations into G groups
  (scikit-learn's ``NMF``): each group's spatial map (h, w) says where it is active and its
  channel direction (C,) what it is; every direction is visualised too (one more batch).

The per-cell objective is lucid's ``direction_neuron`` with ``cossim_pow``: at one position of
the rendered image's layer, ``dot(a, v) * max(cos(a, v), 0.1) ** p``, with ``a`` the render's
activation vector there and ``v`` the target vector; ``p = 0`` is the plain dot product. The
dot product alone is maximised by any large activation roughly along ``v``; the cosine term
makes the render match the direction itself (the floor at 0.1 keeps a gradient while the two
still point apart).

Where in the render: by default (``at="centre"``) every vector is visualised at the centre
position of the rendered image, as lucid's ``direction_neuron`` does. Convolutions are
translation equivariant, so the position adds nothing to the picture of a vector, and the centre
keeps the pattern away from the zero padding at the borders. The image is then fed to the model
at its own size (``input_size=size``): a render costs in proportion to its pixels, and the
centre position's receptive field fills a small image (the Building Blocks notebooks render
their cells natively, a few dozen pixels wide). ``at="cell"`` puts each cell's objective at
that cell's own position instead, which needs the model's input size (the render's map must
have the photo's grid).

Signed layers (before a ReLU) cannot go into NMF as they are. ``signed="split"`` (default)
factorises ``[max(A, 0), max(-A, 0)]`` (each channel's positive and negative parts as two
non-negative features) and gives each group the direction ``positive part - negative
part``; ``signed="error"`` refuses signed activations and suggests a post-ReLU layer.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import CNNWidgetsError, ParameterError
from ..core.model_base import as_model
from .featuremaps import feature_maps
from .featureviz import Ascent, Frame, Objective

DEFAULT_STEPS = 128
DEFAULT_SIZE = 64
DEFAULT_GROUPS = 6
DEFAULT_MAX_CELLS = 64
# The floor on the cosine and the epsilon in its denominator are lucid's (_dot_cossim).
COSSIM_FLOOR = 0.1
COSSIM_EPS = 1e-4
# NMF: scikit-learn's coordinate descent from the deterministic NNDSVDa start (its default
# init), with more iterations than its default 200 so that small grids converge.
NMF_INIT = "nndsvda"
NMF_MAX_ITER = 1000
NMF_TOL = 1e-4

_PLACES = {"centre": "centre", "center": "centre", "cell": "cell"}
_SIGNED = ("split", "error")


class ActivationGridError(CNNWidgetsError, ValueError):
    """A layer or a setting that an activation grid cannot use."""


# ---- the objective -----------------------------------------------------------------------------
def position_direction(
    layer: str,
    vector,
    y: int | None = None,
    x: int | None = None,
    *,
    cossim_pow: float = 1.0,
    grid: Sequence[int] | None = None,
) -> Objective:
    """``dot(a, v) * max(cos(a, v), 0.1) ** cossim_pow`` for the activation vector ``a`` of
    ``layer`` at row ``y``, column ``x`` (default: the centre, ``h // 2, w // 2``), one value
    per image (lucid's ``direction_neuron`` with ``cossim_pow``; ``cossim_pow=0`` is the dot
    product alone).

    ``grid``: (gh, gw) reads the layer average-pooled to that grid (``adaptive_avg_pool2d``, as
    :func:`grid_activations` pools a large layer), so ``y, x`` are a cell of the pooled grid.
    """
    v = torch.as_tensor(np.asarray(vector, dtype=np.float32)).flatten()
    p = float(cossim_pow)
    if p < 0 or not math.isfinite(p):
        raise ParameterError(f"cossim_pow must be a number >= 0, got {cossim_pow!r}")
    pooled = None if grid is None else (int(grid[0]), int(grid[1]))
    v_norm = float(v.norm())

    def fn(acts):
        t = acts[layer]
        if t.ndim != 4:
            raise ActivationGridError(
                f"layer {layer!r} has no spatial positions (shape {tuple(t.shape)})"
            )
        if pooled is not None and tuple(t.shape[2:]) != pooled:
            t = F.adaptive_avg_pool2d(t, pooled)
        h, w = t.shape[2:]
        a = t[:, :, h // 2 if y is None else y, w // 2 if x is None else x]
        d = v.to(device=a.device, dtype=a.dtype)
        dot = a @ d
        if p == 0:
            return dot
        cos = dot / (COSSIM_EPS + a.norm(dim=1)) / (COSSIM_EPS + v_norm)
        return dot * cos.clamp(min=COSSIM_FLOOR) ** p

    def check(model):
        model.check_layer(layer)
        info = model.layer_info[layer]
        if v.numel() != info.channels:
            raise ActivationGridError(
                f"the vector has {v.numel()} values but layer {layer!r} has {info.channels} "
                "channels"
            )
        if len(info.shape) != 3:
            raise ActivationGridError(
                f"layer {layer!r} has no spatial positions (shape {info.shape})"
            )
        gh, gw = pooled or info.shape[1:]
        if (y is not None and not 0 <= y < gh) or (x is not None and not 0 <= x < gw):
            raise ActivationGridError(
                f"position (y={y}, x={x}) is outside the {gh} x {gw} grid of layer {layer!r}"
            )

    where = "centre" if y is None and x is None else f"y={y}, x={x}"
    return Objective(fn, {layer}, f"position_direction({layer} @ {where}, pow={p:g})", [check])


# ---- activations and their factorisation --------------------------------------------------------
def grid_shape(h: int, w: int, max_cells: int) -> tuple[int, int]:
    """The largest (gh, gw) <= (h, w) of about the same aspect with gh * gw <= max_cells."""
    if h * w <= max_cells:
        return h, w
    f = math.sqrt(max_cells / (h * w))
    gh = max(1, min(h, math.floor(h * f + 1e-9)))
    gw = max(1, min(w, math.floor(w * f + 1e-9)))
    while gh * gw > max_cells:  # only when one side was clamped to 1
        if gw >= gh:
            gw -= 1
        else:
            gh -= 1
    return gh, gw


def _check_spatial(m, layer: str) -> tuple[int, int, int]:
    m.check_layer(layer)
    info = m.layer_info[layer]
    if not info.spatial:
        raise ActivationGridError(
            f"layer {layer!r} has output shape {info.shape}, without a spatial extent: an "
            f"activation grid needs a (C, H, W) map with more than one position; spatial "
            f"layers of this model: {', '.join(m.spatial_layers) or 'none'}"
        )
    return info.shape


def grid_activations(model, image: Any, layer: str, *, max_cells: int = DEFAULT_MAX_CELLS):
    """The layer's activation vectors on a grid of at most ``max_cells`` cells, (gh, gw, C)
    float32, and the layer's own (h, w)."""
    m = as_model(model)
    _check_max_cells(max_cells)
    _check_spatial(m, layer)
    maps = feature_maps(m, image, layer)  # (C, h, w), from the cache when seen before
    if maps.ndim != 3:
        raise ActivationGridError(
            f"expected one image, got activations of shape {maps.shape}; pass a single image"
        )
    gh, gw = grid_shape(maps.shape[1], maps.shape[2], max_cells)
    t = torch.from_numpy(np.array(maps, dtype=np.float32))
    if (gh, gw) != tuple(t.shape[1:]):
        t = F.adaptive_avg_pool2d(t[None], (gh, gw))[0]
    return t.permute(1, 2, 0).contiguous().numpy(), (int(maps.shape[1]), int(maps.shape[2]))


@dataclass
class Factors:
    """A factorisation of (h, w, C) activations: ``maps`` (G, h, w) and ``directions`` (G, C),
    with ``activations ~ sum_g maps[g, :, :, None] * directions[g]``.

    ``components``: NMF's own (G, C) components, (G, 2C) for a split signed layer;
    ``error``: relative reconstruction error ``||M - W H|| / ||M||`` of the matrix NMF saw;
    ``iterations``: NMF's iterations; ``split``: whether the activations were split into
    positive and negative parts.
    """

    maps: np.ndarray
    directions: np.ndarray
    components: np.ndarray
    error: float
    iterations: int
    split: bool

    def reconstruct(self) -> np.ndarray:
        """The activations as the groups explain them, (h, w, C)."""
        return np.einsum("ghw,gc->hwc", self.maps, self.directions)


def nmf_matrix(activations: np.ndarray, signed: str = "split") -> tuple[np.ndarray, bool]:
    """The non-negative (h*w, C) matrix NMF factorises (``[A+, A-]``, (h*w, 2C), for signed
    activations with ``signed="split"``) and whether it was split."""
    a = np.asarray(activations, dtype=np.float64)
    flat = a.reshape(-1, a.shape[-1])
    if signed not in _SIGNED:
        raise ParameterError(f"signed must be one of {', '.join(_SIGNED)}, got {signed!r}")
    if flat.min() >= 0:
        return flat, False
    if signed == "error":
        raise ActivationGridError(
            f"the activations have negative values (min {flat.min():.3g}), which NMF cannot "
            "factorise: pick a layer after a ReLU, or pass signed='split' to factorise the "
            "positive and negative parts"
        )
    return np.concatenate([np.maximum(flat, 0), np.maximum(-flat, 0)], axis=1), True


def factorize(
    activations: np.ndarray, groups: int = DEFAULT_GROUPS, *, signed: str = "split"
) -> Factors:
    """Non-negative matrix factorisation of (h, w, C) activations into ``groups`` groups
    (scikit-learn's ``NMF`` with ``init="nndsvda"``, ``max_iter=1000``, ``tol=1e-4``;
    deterministic).

    Each map is scaled to a maximum of 1 and its direction by the inverse (the product, and
    so the reconstruction, is unchanged), and groups are ordered by how much of the
    activations they explain (``||W_g|| ||H_g||``), strongest first. ``groups`` larger than
    the number of cells or channels is lowered to it (NNDSVD needs that). ``groups=0`` gives
    empty arrays.
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    a = np.asarray(activations)
    if a.ndim != 3:
        raise ActivationGridError(f"expected activations of shape (h, w, C), got {a.shape}")
    h, w, c = a.shape
    matrix, split = nmf_matrix(a, signed)
    g = _check_groups(groups)
    g = min(g, matrix.shape[0], matrix.shape[1])
    if g == 0:
        empty = np.zeros((0, c), np.float32)
        return Factors(np.zeros((0, h, w), np.float32), empty, empty, 0.0, 0, split)
    total = float(np.linalg.norm(matrix))
    if total == 0:
        raise ActivationGridError(
            "the layer's activations are zero at every position for this image: there is "
            "nothing to factorise (try another image or layer)"
        )
    nmf = NMF(n_components=g, init=NMF_INIT, max_iter=NMF_MAX_ITER, tol=NMF_TOL)
    with warnings.catch_warnings():
        # Reported through `iterations` instead; a widget would print it on every layer change.
        warnings.simplefilter("ignore", ConvergenceWarning)
        wts = nmf.fit_transform(matrix)
    comps = nmf.components_
    error = float(np.linalg.norm(matrix - wts @ comps) / total)
    order = np.argsort(
        -(np.linalg.norm(wts, axis=0) * np.linalg.norm(comps, axis=1)), kind="stable"
    )
    wts, comps = wts[:, order], comps[order]
    scale = wts.max(axis=0)
    scale[scale == 0] = 1.0
    wts, comps = wts / scale, comps * scale[:, None]
    directions = comps[:, :c] - comps[:, c:] if split else comps
    return Factors(
        maps=wts.T.reshape(g, h, w).astype(np.float32),
        directions=directions.astype(np.float32),
        components=comps.astype(np.float32),
        error=error,
        iterations=int(nmf.n_iter_),
        split=split,
    )


def group_shares(maps: np.ndarray, directions: np.ndarray, row: int, col: int) -> np.ndarray:
    """How much each group contributes at one cell: ``maps[g, row, col] * ||directions[g]||``,
    as fractions that sum to 1 (all zero where no group is active)."""
    m = np.asarray(maps, dtype=np.float64)
    if len(m) == 0:
        return np.zeros(0)
    part = m[:, row, col] * np.linalg.norm(np.asarray(directions, dtype=np.float64), axis=1)
    total = part.sum()
    return part / total if total > 0 else np.zeros_like(part)


# ---- results -------------------------------------------------------------------------------------
@dataclass
class GridGroups:
    """The NMF groups: ``maps`` (G, h, w) in [0, 1] (each map's maximum is 1), ``directions``
    (G, C), ``images`` (G, S, S, 3) their visualizations, ``values`` (G,) each image's
    objective; ``error``: the factorisation's relative reconstruction error."""

    maps: np.ndarray
    directions: np.ndarray
    images: np.ndarray
    values: np.ndarray
    error: float

    def __len__(self) -> int:
        return len(self.maps)

    def reconstruct(self) -> np.ndarray:
        return np.einsum("ghw,gc->hwc", self.maps, self.directions)


@dataclass
class ActivationGrid:
    """Result of :func:`activation_grid`. ``activations`` (h, w, C); ``images``
    (h, w, S, S, 3) float32 in [0, 1], the visualization of each cell's vector; ``values``
    (h, w) each cell image's objective; ``groups`` (:class:`GridGroups`); ``layer``;
    ``settings``: everything that reproduces it (seeds, the grid and the layer's own shape)."""

    activations: np.ndarray
    images: np.ndarray
    values: np.ndarray
    groups: GridGroups
    layer: str
    settings: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.activations.shape[:2])


# ---- the run -------------------------------------------------------------------------------------
def _check_groups(groups) -> int:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 0:
        raise ParameterError(f"groups must be a whole number >= 0, got {groups!r}")
    return int(groups)


def _check_max_cells(max_cells) -> int:
    if isinstance(max_cells, bool) or not isinstance(max_cells, (int, np.integer)) or max_cells < 1:
        raise ParameterError(f"max_cells must be a whole number >= 1, got {max_cells!r}")
    return int(max_cells)


class GridFrame:
    """One step of a :class:`GridAscent`: ``step``, ``cells`` and ``groups`` (the two
    :class:`~cnnwidgets.engines.featureviz.Frame` objects; ``groups`` is None without
    groups) and ``loss`` (their sum)."""

    def __init__(self, step: int, cells: Frame, groups: Frame | None):
        self.step, self.cells, self.groups = step, cells, groups

    @property
    def loss(self) -> float:
        return self.cells.loss + (self.groups.loss if self.groups is not None else 0.0)

    def __repr__(self) -> str:
        return f"<GridFrame step {self.step}, loss {self.loss:.4g}>"


class GridAscent:
    """An activation grid in the making: activations and groups are computed at construction
    (a forward pass and an NMF, cheap); iterating renders, one :class:`GridFrame` per step
    (the cells and the groups step together), so a widget can show it live and stop it.
    :meth:`run` renders to the end, :meth:`result` gives the :class:`ActivationGrid` reached
    so far. Settings as :func:`activation_grid`."""

    def __init__(
        self,
        model,
        image: Any,
        layer: str,
        *,
        groups: int = DEFAULT_GROUPS,
        steps: int = DEFAULT_STEPS,
        size: int = DEFAULT_SIZE,
        cell_size: int | None = None,
        seed: int | None = None,
        max_cells: int = DEFAULT_MAX_CELLS,
        cossim_pow: float = 1.0,
        at: str = "centre",
        signed: str = "split",
        input_size: int | Sequence[int] | None = None,
        stop: threading.Event | None = None,
        **settings: Any,
    ):
        m = self.model = as_model(model)
        # Every setting is checked before the forward pass and the renders start.
        groups = _check_groups(groups)
        _check_max_cells(max_cells)
        if at not in _PLACES:
            raise ParameterError(f"at must be 'centre' or 'cell', got {at!r}")
        at = _PLACES[at]
        if signed not in _SIGNED:
            raise ParameterError(f"signed must be one of {', '.join(_SIGNED)}, got {signed!r}")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
            raise ParameterError(f"size must be a whole number of pixels >= 8, got {size!r}")
        if cell_size is not None and (
            isinstance(cell_size, bool)
            or not isinstance(cell_size, (int, np.integer))
            or cell_size < 1
        ):
            raise ParameterError(f"cell_size must be a whole number >= 1, got {cell_size!r}")
        if float(cossim_pow) < 0:
            raise ParameterError(f"cossim_pow must be >= 0, got {cossim_pow!r}")
        _check_spatial(m, layer)
        if at == "cell":
            if input_size is not None and tuple(_pair(input_size)) != tuple(m.input_size):
                raise ParameterError(
                    "at='cell' renders at the model's input size (the render's map must have "
                    f"the photo's grid); input_size={input_size!r} differs from {m.input_size}"
                )
            input_size = tuple(m.input_size)
        elif input_size is None:
            input_size = (int(size), int(size))

        self.layer = layer
        self.activations, layer_hw = grid_activations(m, image, layer, max_cells=max_cells)
        gh, gw, _ = self.activations.shape
        self.factors = factorize(self.activations, groups, signed=signed)
        self.seed = int(torch.randint(0, 2**62, (1,)).item()) if seed is None else int(seed)
        # The groups' batch gets its own seed, derived from the cells', so that either batch
        # reproduces alone with visualize(..., seed=...).
        self.group_seed = (self.seed + 1) % 2**62
        grid = None if (gh, gw) == layer_hw else (gh, gw)
        self.cell_objectives = [
            position_direction(
                layer,
                self.activations[r, c],
                *((r, c) if at == "cell" else (None, None)),
                cossim_pow=cossim_pow,
                grid=grid if at == "cell" else None,
            )
            for r in range(gh)
            for c in range(gw)
        ]
        self.group_objectives = [
            position_direction(layer, d, cossim_pow=cossim_pow) for d in self.factors.directions
        ]
        common = dict(steps=steps, size=size, input_size=input_size, stop=stop, **settings)
        self.cells = Ascent(m, self.cell_objectives, seed=self.seed, **common)
        self.groups = (
            Ascent(m, self.group_objectives, seed=self.group_seed, **common)
            if self.group_objectives
            else None
        )
        self.cell_size = None if cell_size is None else int(cell_size)
        self.settings = {
            "layer": layer,
            "steps": int(steps),
            "size": int(size),
            "cell_size": int(size) if cell_size is None else int(cell_size),
            "seed": self.seed,
            "group_seed": self.group_seed,
            "groups": len(self.factors.directions),
            "groups_requested": groups,
            "max_cells": int(max_cells),
            "cossim_pow": float(cossim_pow),
            "at": at,
            "signed": signed,
            "split": self.factors.split,
            "input_size": tuple(int(v) for v in _pair(input_size)),
            "layer_shape": layer_hw,
            "grid": (gh, gw),
            "nmf_iterations": self.factors.iterations,
            **{k: v for k, v in settings.items() if k not in ("optimizer",)},
        }

    # ---- iteration ---------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return self.cells.steps

    @property
    def step(self) -> int:
        return self.cells.step

    @property
    def stop_event(self) -> threading.Event | None:
        return self.cells.stop_event

    @stop_event.setter
    def stop_event(self, event: threading.Event | None) -> None:
        self.cells.stop_event = event
        if self.groups is not None:
            self.groups.stop_event = event

    def __iter__(self) -> Iterator[GridFrame]:
        return self

    def __next__(self) -> GridFrame:
        cells = next(self.cells)  # raises StopIteration at the end or when stopped
        groups = None
        if self.groups is not None and self.groups.step < self.cells.step:
            groups = next(self.groups, None)  # None: stopped between the two batches
        return GridFrame(cells.step, cells, groups)

    def run(self) -> ActivationGrid:
        for _ in self:
            pass
        return self.result()

    # ---- results ------------------------------------------------------------------------------
    def _sized(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) -> (N, cell_size, cell_size, 3): area averages when smaller (each
        output pixel the mean of the pixels it covers), bilinear when larger."""
        s = self.cell_size
        if s is None or images.shape[1:3] == (s, s):
            return images
        t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        if s < images.shape[1]:
            t = F.interpolate(t, size=(s, s), mode="area")
        else:
            t = F.interpolate(t, size=(s, s), mode="bilinear", align_corners=False)
        return t.clamp(0, 1).permute(0, 2, 3, 1).contiguous().numpy()

    def cell_images(self, images) -> np.ndarray:
        """The cells' images of a frame (``frame.cells.images``) as (h, w, S, S, 3)."""
        a = self._sized(np.asarray(images, dtype=np.float32))
        gh, gw, _ = self.activations.shape
        return a.reshape(gh, gw, *a.shape[1:])

    def group_images(self, images=None) -> np.ndarray:
        """The groups' images of a frame (``frame.groups.images``; default the current ones)."""
        if self.groups is None:
            s = self.settings["cell_size"]
            return np.zeros((0, s, s, 3), np.float32)
        a = self.groups.frame() if images is None else np.asarray(images, dtype=np.float32)
        return self._sized(a)

    def result(self) -> ActivationGrid:
        cells = self.cells.result()
        gh, gw, _ = self.activations.shape
        if self.groups is not None:
            g = self.groups.result()
            g_images, g_values = self._sized(g.images), g.objective_values
        else:
            g_images, g_values = self.group_images(), np.zeros(0, np.float32)
        return ActivationGrid(
            activations=self.activations,
            images=self.cell_images(cells.images),
            values=cells.objective_values.reshape(gh, gw),
            groups=GridGroups(
                maps=self.factors.maps,
                directions=self.factors.directions,
                images=g_images,
                values=g_values,
                error=self.factors.error,
            ),
            layer=self.layer,
            settings={**self.settings, "steps_done": cells.steps},
        )


def _pair(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


def activation_grid(
    model,
    image: Any,
    layer: str,
    groups: int = DEFAULT_GROUPS,
    *,
    steps: int = DEFAULT_STEPS,
    size: int = DEFAULT_SIZE,
    cell_size: int | None = None,
    seed: int | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    cossim_pow: float = 1.0,
    at: str = "centre",
    signed: str = "split",
    stream: bool = False,
    **settings: Any,
):
    """The activation grid of ``layer`` for one ``image`` (Building Blocks, Olah et al. 2018).

    Returns an :class:`ActivationGrid`: ``activations`` (h, w, C), ``images`` (h, w, S, S, 3)
    (one visualization per cell, all cells one batch), ``groups`` (``maps`` (G, h, w),
    ``directions`` (G, C), ``images`` (G, S, S, 3), from NMF), ``layer``, ``settings``.

    ``groups``: NMF groups (0 for none). ``steps``, ``size`` (the optimised image's side),
    ``seed`` and any other setting of :class:`~cnnwidgets.engines.featureviz.Ascent`
    (``param``, ``transforms``, ``lr``, ``input_size``, ...) apply to every render; the groups'
    batch uses ``seed + 1``. ``cell_size``: the side of the returned images (default ``size``;
    area-averaged when smaller). ``max_cells``: larger layers are average-pooled to a grid of
    at most that many cells. ``cossim_pow``, ``at``, ``signed``: see the module docstring.
    ``stream=True`` returns the :class:`GridAscent` to iterate instead.

    A layer without spatial extent, a bad setting or an image that does not load raises
    before any work.
    """
    run = GridAscent(
        model,
        image,
        layer,
        groups=groups,
        steps=steps,
        size=size,
        cell_size=cell_size,
        seed=seed,
        max_cells=max_cells,
        cossim_pow=cossim_pow,
        at=at,
        signed=signed,
        **settings,
    )
    return run if stream else run.run()
