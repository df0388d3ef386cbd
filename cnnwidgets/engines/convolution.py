"""The arithmetic of one 2-D convolution, written out for teaching.

Everything here is plain numpy on a single-channel grid, so every number a student sees can be
traced by hand: the output-size formula with the current numbers, the output grid, and for one
output cell the list of (input value x weight) products that sum to it. Conventions are those of
``torch.nn.functional.conv2d``: cross-correlation (the kernel is not flipped), zero padding,
``stride``, ``padding`` and ``dilation`` as an int or a (rows, cols) pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# Named kernels for the explorer's picker. Each is a float array the student can then edit.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    # Laplacian-style outline: responds where a pixel differs from its neighbours.
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),
    "blur": np.full((3, 3), 1 / 9, dtype=np.float64),
    "gaussian": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    # Sobel: a derivative across one direction, smoothed along the other.
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
}


def kernel(name: str) -> np.ndarray:
    """A copy of a named kernel (so that editing it leaves :data:`KERNELS` alone)."""
    try:
        return KERNELS[name].copy()
    except KeyError:
        raise ValueError(f"unknown kernel {name!r}; choose one of {', '.join(KERNELS)}") from None


def make_kernel(name: str, size: int = 3) -> np.ndarray:
    """A named kernel at another size: blur and gaussian grow, identity and edge keep their
    meaning, the 3 x 3 ones (sharpen, Sobel, emboss) sit in the centre of zeros."""
    if isinstance(size, bool) or int(size) != size or not 1 <= size <= 15:
        raise ValueError(f"kernel size must be a whole number from 1 to 15, got {size!r}")
    size = int(size)
    base = kernel(name)
    centre = (size - 1) // 2
    if name == "blur":
        return np.full((size, size), 1 / size**2)
    if name == "gaussian":
        row = np.array([math.comb(size - 1, i) for i in range(size)], dtype=np.float64)
        return np.outer(row, row) / row.sum() ** 2
    if name in ("identity", "edge"):
        k = np.zeros((size, size)) if name == "identity" else -np.ones((size, size))
        k[centre, centre] = 1 if name == "identity" else size * size - 1
        return k
    if size < base.shape[0]:
        raise ValueError(
            f"the {name} kernel is {base.shape[0]} x {base.shape[1]}; "
            f"pick a size of at least {base.shape[0]}"
        )
    k = np.zeros((size, size))
    off = centre - (base.shape[0] - 1) // 2
    k[off : off + base.shape[0], off : off + base.shape[1]] = base
    return k


def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{name} takes an int or a (rows, cols) pair, got {value!r}")
    out = []
    for v in pair:
        if isinstance(v, bool) or int(v) != v:
            raise ValueError(f"{name} must be a whole number, got {v!r}")
        if v < minimum:
            raise ValueError(f"{name} must be at least {minimum}, got {v}")
        out.append(int(v))
    return out[0], out[1]


def output_length(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: floor((n + 2p - d(k - 1) - 1) / s) + 1.

    Raises ValueError when the (dilated) kernel does not fit into the padded input.
    """
    span = dilation * (k - 1) + 1
    if n + 2 * padding < span:
        raise ValueError(
            f"the kernel spans {span} pixels (size {k}, dilation {dilation}) but the "
            f"padded input has only {n + 2 * padding} ({n} + 2 x padding {padding})"
        )
    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1


def output_size(input_size, kernel_size, stride=1, padding=0, dilation=1) -> tuple[int, int]:
    """(H_out, W_out) of ``conv2d`` on an (H, W) input; sizes and settings as ints or pairs."""
    (h, w), (kh, kw) = _pair(input_size, "input size", 1), _pair(kernel_size, "kernel size", 1)
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
    return output_length(h, kh, sh, ph, dh), output_length(w, kw, sw, pw, dw)


def output_size_formula(input_size, kernel_size, stride=1, padding=0, dilation=1) -> dict:
    """The formula with the current numbers, per axis, as LaTeX and as plain text.

    Returns ``{"latex": general formula, "rows": {...}, "cols": {...}}``, each axis holding
    ``latex``, ``text`` and ``value`` (None with ``error`` set when the kernel does not fit).
    """
    (h, w), (kh, kw) = _pair(input_size, "input size", 1), _pair(kernel_size, "kernel size", 1)
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
    general = r"n_\text{out} = \left\lfloor \frac{n + 2p - d\,(k - 1) - 1}{s} \right\rfloor + 1"
    axes = {}
    for axis, n, k, s, p, d in (("rows", h, kh, sh, ph, dh), ("cols", w, kw, sw, pw, dw)):
        numerator = n + 2 * p - d * (k - 1) - 1
        entry = {
            "latex": (
                rf"\left\lfloor \frac{{{n} + 2 \cdot {p} - {d} \cdot ({k} - 1) - 1}}{{{s}}}"
                rf" \right\rfloor + 1 = \left\lfloor \frac{{{numerator}}}{{{s}}} \right\rfloor + 1"
            ),
            "text": f"floor(({n} + 2*{p} - {d}*({k} - 1) - 1) / {s}) + 1 "
            f"= floor({numerator} / {s}) + 1",
        }
        try:
            value = output_length(n, k, s, p, d)
            entry.update(value=value, error="")
            entry["latex"] += f" = {value}"
            entry["text"] += f" = {value}"
        except ValueError as exc:
            entry.update(value=None, error=str(exc))
        axes[axis] = entry
    return {"latex": general, **axes}


def _as_grid(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"{name} must be a 2-D grid of numbers, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def convolve2d(
    image: Any, weights: Any, stride=1, padding=0, dilation=1, bias: float = 0.0
) -> np.ndarray:
    """The output grid of ``conv2d`` (cross-correlation, zero padding) on one channel, in numpy.

    Written as "sum over kernel taps of a strided view of the padded input", which is the same
    sum as :func:`cell` computes one cell at a time.
    """
    x, k = _as_grid(image, "image"), _as_grid(weights, "kernel")
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
    oh, ow = output_size(x.shape, k.shape, (sh, sw), (ph, pw), (dh, dw))
    padded = np.pad(x, ((ph, ph), (pw, pw)))
    out = np.full((oh, ow), float(bias))
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            r0, c0 = a * dh, b * dw
            out += (
                k[a, b] * padded[r0 : r0 + sh * (oh - 1) + 1 : sh, c0 : c0 + sw * (ow - 1) + 1 : sw]
            )
    return out


@dataclass(frozen=True)
class Cell:
    """How one output cell is computed: its taps, their products and their sum.

    ``rows`` / ``cols`` are the input coordinates of each kernel tap, in the unpadded image
    (negative or past the edge where the tap lands on padding); ``inside`` says which taps
    land on the image; ``values`` are the input values there (0 on padding); ``weights``,
    ``products`` and ``total`` complete the sum. All arrays have the kernel's shape.
    """

    row: int
    col: int
    rows: np.ndarray
    cols: np.ndarray
    inside: np.ndarray
    values: np.ndarray
    weights: np.ndarray
    products: np.ndarray
    bias: float
    total: float

    def equation(self, digits: int = 2) -> str:
        """The sum written out, e.g. ``out[0, 1] = 0.5*1 + 0*(-1) + ... = 0.5``."""
        terms = [
            f"{_fmt(v, digits)}*{_paren(_fmt(w, digits))}"
            for v, w in zip(self.values.ravel(), self.weights.ravel())
        ]
        if self.bias:
            terms.append(_paren(_fmt(self.bias, digits)))
        return f"out[{self.row}, {self.col}] = {' + '.join(terms)} = {_fmt(self.total, digits)}"

    def to_dict(self) -> dict:
        """JSON-friendly form for the front end."""
        return {
            "row": self.row,
            "col": self.col,
            "rows": self.rows.tolist(),
            "cols": self.cols.tolist(),
            "inside": self.inside.tolist(),
            "values": self.values.tolist(),
            "weights": self.weights.tolist(),
            "products": self.products.tolist(),
            "bias": self.bias,
            "total": self.total,
        }


def _fmt(v: float, digits: int) -> str:
    s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _paren(s: str) -> str:
    return f"({s})" if s.startswith("-") else s


def cell(
    image: Any, weights: Any, row: int, col: int, stride=1, padding=0, dilation=1, bias: float = 0.0
) -> Cell:
    """The arithmetic behind output cell (row, col): which input pixels, times which weights."""
    x, k = _as_grid(image, "image"), _as_grid(weights, "kernel")
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
    oh, ow = output_size(x.shape, k.shape, (sh, sw), (ph, pw), (dh, dw))
    if not (0 <= row < oh and 0 <= col < ow):
        raise IndexError(f"output cell ({row}, {col}) is outside the {oh} x {ow} output")
    # Top-left tap in padded coordinates is (row*s, col*s); shift back by the padding.
    rows, cols = np.meshgrid(
        row * sh - ph + dh * np.arange(k.shape[0]),
        col * sw - pw + dw * np.arange(k.shape[1]),
        indexing="ij",
    )
    inside = (rows >= 0) & (rows < x.shape[0]) & (cols >= 0) & (cols < x.shape[1])
    values = np.where(inside, x[rows.clip(0, x.shape[0] - 1), cols.clip(0, x.shape[1] - 1)], 0.0)
    products = values * k
    return Cell(
        row=row,
        col=col,
        rows=rows,
        cols=cols,
        inside=inside,
        values=values,
        weights=k.copy(),
        products=products,
        bias=float(bias),
        total=float(products.sum() + bias),
    )


def positions(image_shape, kernel_shape, stride=1, padding=0, dilation=1) -> list[tuple[int, int]]:
    """Every output cell in the order the kernel visits them (row by row)."""
    oh, ow = output_size(image_shape, kernel_shape, stride, padding, dilation)
    return [(r, c) for r in range(oh) for c in range(ow)]


def is_number_grid(image: Any) -> bool:
    """Whether :func:`image_grid` takes ``image`` as a grid of numbers as it is (a nested list
    or a 2-D numeric array), rather than as a picture to resize."""
    return isinstance(image, (list, tuple)) or (
        isinstance(image, np.ndarray) and image.ndim == 2 and image.dtype.kind in "fiub"
    )


def repeat_grid(grid: Any, size: int | tuple[int, int]) -> np.ndarray:
    """``grid`` repeated, or cut, to ``size`` (rows, cols): its own cells come first, so what
    is written about the grid at its own size still holds for the top-left corner."""
    g = _as_grid(grid, "grid")
    rows, cols = _pair(size, "size", 1)
    reps = (-(-rows // g.shape[0]), -(-cols // g.shape[1]))
    return np.tile(g, reps)[:rows, :cols]


def image_grid(image: Any, size: int | tuple[int, int] = 32) -> np.ndarray:
    """Any image :func:`cnnwidgets.load_image` reads -> grayscale grid in [0, 1], (size, size).

    A 2-D array of numbers is taken as the grid itself (no resizing, values kept), so a student
    can convolve a hand-written 5 x 5 example.
    """
    if is_number_grid(image):
        return _as_grid(image, "image")
    from PIL import Image

    from ..data.images import load_image

    h, w = _pair(size, "size", 1)
    pil = load_image(image).convert("L")
    side = min(pil.size)
    left, top = (pil.size[0] - side) // 2, (pil.size[1] - side) // 2
    pil = pil.crop((left, top, left + side, top + side)).resize((w, h), Image.BILINEAR)
    return np.asarray(pil, dtype=np.float64) / 255.0
