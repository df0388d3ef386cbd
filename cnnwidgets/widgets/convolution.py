"""ConvolutionExplorer: one 2-D convolution, step by step (as CNN Explainer shows it)."""

from __future__ import annotations

from typing import Any

import numpy as np
from traitlets import Bytes, Dict, Int, List, Unicode

from ..data.images import sample_names
from ..engines import convolution as conv
from ..render import apply_colormap, to_png
from .base import CNNWidget, bundle

# A small grid of digits that a student can follow by hand (fixed, so notes can refer to it).
NUMBERS = [
    [1, 0, 2, 3, 0, 1, 2],
    [0, 3, 1, 0, 2, 2, 0],
    [2, 1, 0, 4, 1, 0, 3],
    [1, 0, 3, 1, 0, 2, 1],
    [0, 2, 1, 0, 3, 1, 0],
    [3, 1, 0, 2, 1, 0, 2],
    [1, 0, 2, 1, 0, 3, 1],
]
#: the side of the numbers grid and of a photo's grid: (smallest, largest) for the Size slider;
#: up to 16 the numbers are written on the cells
SIZE_RANGES = {"numbers": (3, 16), "photo": (4, 128)}
PAD_TINT = np.array([0.55, 0.75, 1.0], dtype=np.float32)  # padding shows as pale blue
PICTURE_SIDE = 288  # pixels of the padded input picture
MAX_WRITTEN = 16  # grids up to this many cells a side get their numbers written on them


class ConvolutionExplorer(CNNWidget):
    """An image (or a small grid of numbers), a kernel to pick or edit, sliders for stride,
    padding and dilation; shows the output, the output-size formula with the current numbers,
    and the arithmetic of one output cell, which the position slider (or Play) moves over the
    output in the kernel's order.

    ``ConvolutionExplorer(image="numbers", kernel="edge", stride=1, padding=0, dilation=1,
    size=24, numbers_size=7)``: ``image`` is "numbers", a sample name (see
    ``cw.sample_names()``), a path, a picture or a 2-D array of numbers (taken as is); photos
    become ``size`` x ``size`` grayscale grids in [0, 1]. ``kernel`` is a name from
    :data:`KERNELS` or a 2-D array.

    The Size slider sets the side of the input grid of the source shown: the numbers grid
    (``numbers_size``, 3 to 16: the fixed 7 x 7 grid of digits, repeated or cut) or a photo
    (``size``, 4 to 128). Each keeps its own size when the source changes; a grid of numbers
    given as an array keeps its own shape.
    """

    _esm = bundle("convolution_explorer")

    source = Unicode("numbers", help='"numbers", a sample photo name, or "custom"').tag(sync=True)
    source_options = List(Unicode()).tag(sync=True)
    size = Int(24, help="side of the input grid: the numbers grid's or a photo's").tag(sync=True)
    size_min = Int(SIZE_RANGES["photo"][0]).tag(sync=True)
    size_max = Int(SIZE_RANGES["photo"][1]).tag(sync=True)
    kernel_name = Unicode("edge", help='a named kernel, or "custom" once edited').tag(sync=True)
    kernel_name_options = List(Unicode()).tag(sync=True)
    kernel_size = Int(3, help="side of the kernel").tag(sync=True)
    kernel = List(List(), help="the kernel weights, row by row").tag(sync=True)
    stride = Int(1).tag(sync=True)
    padding = Int(0).tag(sync=True)
    dilation = Int(1).tag(sync=True)
    position = Int(0, help="the output cell shown, counted row by row").tag(sync=True)
    position_max = Int(0).tag(sync=True)
    input_view = Bytes(b"", help="the padded input (PNG); padding in pale blue").tag(sync=True)
    cell = Dict(help="taps, values, weights and products of the current output cell").tag(sync=True)
    equation = Unicode("", help="the current cell's sum, written out").tag(sync=True)
    formula = Unicode("", help="the output-size formula with the current numbers").tag(sync=True)
    formula_latex = Unicode("").tag(sync=True)
    shapes = Dict(help="input, padded, kernel and output shapes, for the front end").tag(sync=True)
    values = Dict(
        help="padded input and output values, when small enough to write on the "
        "pictures ({} otherwise)"
    ).tag(sync=True)

    def __init__(
        self,
        image: Any = "numbers",
        kernel: Any = "edge",
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        size: int = 24,
        numbers_size: int = 7,
        **kwargs: Any,
    ):
        self._grid = np.zeros((1, 1))
        self._kernel = np.ones((1, 1))
        self._output = None
        self._custom_image = None
        self._silent = 0
        # The side chosen for each kind of source, so that a photo's 24 does not become the
        # numbers grid's side (or the other way round) when the source changes.
        self._sides = {"numbers": numbers_size, "photo": size}
        sources = ["numbers"] + [
            n for n in ("camera", "coins", "cat", "coffee", "astronaut") if n in sample_names()
        ]
        named = isinstance(kernel, str)
        super().__init__(
            source_options=sources,
            kernel_name_options=list(conv.KERNELS) + ["custom"],
            kernel_name=kernel if named else "custom",
            stride=stride,
            padding=padding,
            dilation=dilation,
            size=size,
            **kwargs,
        )
        self.observe(self._on(self._load_source), "source")
        self.observe(self._on(self._resize), "size")
        self.observe(self._on(self._pick_kernel), ["kernel_name", "kernel_size"])
        self.observe(self._on(self._kernel_edited), "kernel")
        self.observe(self._on(self._compute), ["stride", "padding", "dilation"])
        self.observe(self._on(self._show_cell), "position")
        problems = []
        if not (
            self.attempt(self._pick_kernel, compute=False)
            if named
            else self.attempt(self._set_kernel, kernel, compute=False)
        ):
            problems.append(self.error)
            self._quietly(kernel_name="edge")  # a bad kernel: show the edge kernel meanwhile
            self.attempt(self._pick_kernel, compute=False)
        if not self.attempt(self._set_source, image, compute=False):
            problems.append(self.error)
            self._quietly(source="numbers")  # a bad image: show the numbers meanwhile
            self.attempt(self._load_source, compute=False)
        if self.attempt(self._compute) and problems:
            self.error = problems[0]

    def _on(self, fn):
        """An observer that runs ``fn`` under :meth:`attempt`, unless we are the ones changing
        traits (so that one user action computes once)."""

        def observer(_change: dict) -> None:
            if not self._silent:
                self.attempt(fn)

        return observer

    def _quietly(self, **traits: Any) -> None:
        self._silent += 1
        try:
            for name, value in traits.items():
                setattr(self, name, value)
        finally:
            self._silent -= 1

    # ---- inputs ---------------------------------------------------------------------------
    def _set_source(self, image: Any, compute: bool = True) -> None:
        if isinstance(image, str) and image in self.source_options:
            self._quietly(source=image)
            self._load_source(compute)
        else:
            self._use_image(image, compute)

    def _use_image(self, image: Any, compute: bool = True) -> None:
        # set_image() and uploads land here: a picture (path, PIL, array...) or a 2-D grid.
        grid = conv.image_grid(image, self._sides["photo"])  # a bad image raises here
        self._custom_image = image
        options = (
            self.source_options
            if "custom" in self.source_options
            else self.source_options + ["custom"]
        )
        self._quietly(source_options=options, source="custom")
        self._grid = grid
        self._show_size()
        if compute:
            self._compute()

    def _kind(self) -> str:
        """What the Size slider sizes: "numbers", "photo", or "grid" (an array, as given)."""
        if self.source == "numbers":
            return "numbers"
        if self.source == "custom" and conv.is_number_grid(self._custom_image):
            return "grid"
        return "photo"

    def _check_side(self, kind: str, side: int) -> None:
        lo, hi = SIZE_RANGES[kind]
        if not lo <= side <= hi:
            what = "the numbers grid" if kind == "numbers" else "a photo"
            raise ValueError(f"size must be between {lo} and {hi} for {what}, got {side}")

    def _show_size(self) -> None:
        """The Size slider's range and value for the source shown (fixed for an array)."""
        kind = self._kind()
        if kind == "grid":
            side = max(self._grid.shape)
            self._quietly(size_min=side, size_max=side, size=side)
        else:
            lo, hi = SIZE_RANGES[kind]
            self._quietly(size_min=lo, size_max=hi, size=self._sides[kind])

    def _resize(self) -> None:
        kind = self._kind()
        if kind == "grid":
            rows, cols = self._grid.shape
            raise ValueError(
                f"this grid of numbers is {rows} x {cols} as given; size applies to the "
                "numbers grid and to photos"
            )
        self._check_side(kind, self.size)
        self._sides[kind] = self.size
        self._load_source()

    def _load_source(self, compute: bool = True) -> None:
        kind = self._kind()
        if kind != "grid":
            self._check_side(kind, self._sides[kind])
        if self.source == "numbers":
            grid = conv.repeat_grid(NUMBERS, self._sides["numbers"])
        elif self.source == "custom":
            if self._custom_image is None:
                raise ValueError("no custom image yet: upload one or call set_image()")
            grid = conv.image_grid(self._custom_image, self._sides["photo"])
        else:
            grid = conv.image_grid(self.source, self._sides["photo"])
        self._grid = grid
        self._show_size()
        if compute:
            self._compute()

    def _pick_kernel(self, compute: bool = True) -> None:
        if self.kernel_name == "custom":
            return
        self._apply_kernel(conv.make_kernel(self.kernel_name, self.kernel_size), compute)

    def _set_kernel(self, weights: Any, compute: bool = True) -> None:
        k = np.asarray(weights, dtype=np.float64)
        if k.ndim != 2 or k.size == 0:
            raise ValueError(f"the kernel must be a 2-D grid of numbers, got shape {k.shape}")
        self._quietly(kernel_name="custom")
        self._apply_kernel(k, compute)

    def _apply_kernel(self, k: np.ndarray, compute: bool = True) -> None:
        traits = {"kernel": [[float(v) for v in row] for row in k]}
        if k.shape[0] == k.shape[1]:
            traits["kernel_size"] = int(k.shape[0])
        self._quietly(**traits)
        if compute:
            self._compute()

    def _kernel_edited(self) -> None:
        # An edit from the front end (or the user's code): the kernel is no longer a named one.
        self._quietly(kernel_name="custom")
        self._compute()

    # ---- output -----------------------------------------------------------------------------
    def _settings(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation)

    def _compute(self) -> None:
        try:
            k = np.asarray(self.kernel, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"kernel weights must be numbers ({exc})") from None
        if k.ndim != 2 or k.size == 0:
            raise ValueError(f"the kernel must be a 2-D grid of numbers, got shape {k.shape}")
        f = conv.output_size_formula(self._grid.shape, k.shape, **self._settings())
        self.formula = f"rows: {f['rows']['text']}\ncols: {f['cols']['text']}"
        self.formula_latex = (
            r"\begin{aligned}"
            + f["latex"].replace("=", "&=", 1)
            + r" \\ H_\text{out} &= "
            + f["rows"]["latex"]
            + r" \\ W_\text{out} &= "
            + f["cols"]["latex"]
            + r"\end{aligned}"
        )
        self._output = None
        out = conv.convolve2d(self._grid, k, **self._settings())
        self._output, self._kernel = out, k
        p = self.padding
        self.shapes = {
            "input": list(self._grid.shape),
            "kernel": list(k.shape),
            "padded": [self._grid.shape[0] + 2 * p, self._grid.shape[1] + 2 * p],
            "output": list(out.shape),
        }
        self._render()
        padded = np.pad(self._grid, p)
        small = max(padded.shape + out.shape) <= MAX_WRITTEN
        self.values = (
            {"input": np.round(padded, 3).tolist(), "output": np.round(out, 3).tolist()}
            if small
            else {}
        )
        n = out.size
        self._quietly(position_max=n - 1, position=min(max(self.position, 0), n - 1))
        self._show_cell()

    def _scale(self) -> int:
        return max(1, PICTURE_SIDE // max(self.shapes["padded"]))

    def _render(self) -> None:
        p, s = self.padding, self._scale()
        lo, hi = float(self._grid.min()), float(self._grid.max())
        padded = np.pad(self._grid, p)
        rgb = apply_colormap(padded, "gray", lo=lo, hi=hi if hi > lo else lo + 1)
        if p:
            mask = np.ones(padded.shape, bool)
            mask[p:-p, p:-p] = False
            rgb[mask] = PAD_TINT
        self.input_view = to_png(rgb.repeat(s, 0).repeat(s, 1))
        out = self._output
        shown = (
            apply_colormap(out, "RdBu_r", signed=True)
            if out.min() < 0
            else apply_colormap(out, "gray", lo=0.0, hi=max(float(out.max()), 1e-12))
        )
        self.view = to_png(shown.repeat(s, 0).repeat(s, 1))

    def _show_cell(self) -> None:
        if self._output is None:
            return
        oh, ow = self._output.shape
        if not 0 <= self.position < oh * ow:
            raise IndexError(
                f"position {self.position} is outside the {oh} x {ow} output (0..{oh * ow - 1})"
            )
        r, c = divmod(self.position, ow)
        one = conv.cell(self._grid, self._kernel, r, c, **self._settings())
        self.cell = one.to_dict()
        self.equation = one.equation(digits=3 if self.source != "numbers" else 2)

    # ---- for scripts and notes ----------------------------------------------------------------
    @property
    def output(self) -> np.ndarray:
        """The current output grid (a copy)."""
        if self._output is None:
            raise ValueError(self.error or "no output yet")
        return self._output.copy()

    @property
    def grid(self) -> np.ndarray:
        """The current input grid (a copy)."""
        return self._grid.copy()

    def step(self, n: int = 1) -> ConvolutionExplorer:
        """Move the kernel ``n`` positions on (wrapping around), as the Next button does."""
        self.position = (self.position + n) % (self.position_max + 1)
        return self
