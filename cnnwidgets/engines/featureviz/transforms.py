"""Random transforms applied to the image before each forward pass (transformation robustness).

A render that only has to activate a unit under one exact framing finds adversarial
high-frequency patterns; asking it to keep working under small shifts, zooms and rotations
leaves the features the unit really responds to (Olah et al. 2017).

Every transform here works on the tensor's own device and draws its random numbers from an
optional CPU ``torch.Generator``, so a seed gives the same sequence on any device. Each image
of a batch gets its own draw. Consecutive geometric transforms (:class:`Pad` with a constant,
:class:`Jitter`, :class:`RandomScale`, :class:`RandomRotate`, :class:`Resize`) are fused by
:class:`Compose` into one affine ``grid_sample``: the image is resampled once instead of once
per transform, which is faster and blurs less. Any callable ``tensor -> tensor`` may sit in a
list too; it is applied as is. Each transform is an entry of :data:`TRANSFORMS`, so a list
may also name them: ``["pad", "jitter", ("scale", {"scales": [0.9, 1.1]})]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F

from ...core.registry import Param, Registry

TransformFn = Callable[[torch.Tensor], torch.Tensor]
TRANSFORMS = Registry("transform")


def _size2(size) -> tuple[int, int]:
    return (
        (int(size), int(size)) if isinstance(size, (int, float)) else (int(size[0]), int(size[1]))
    )


def _choice(values: Sequence[float], n: int, generator) -> torch.Tensor:
    idx = torch.randint(len(values), (n,), generator=generator)
    return torch.tensor(values, dtype=torch.float64)[idx]


class Transform:
    """A random image transform: ``t(x, generator=None)`` on (N, C, H, W) tensors."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError


class AffineTransform(Transform):
    """A transform that is one affine map per image; :class:`Compose` fuses runs of these.

    ``matrices(n, size, generator)`` returns ``(A, out_size)``: A (n, 3, 3) float64 maps an
    output pixel position to the input position it samples, both measured from the image
    centre in pixels.
    """

    fill: float | None = None  # value outside the image; None replicates the border

    def matrices(
        self, n: int, size: tuple[int, int], generator
    ) -> tuple[torch.Tensor, tuple[int, int]]:
        raise NotImplementedError

    def __call__(self, x, generator=None):
        return Compose([self])(x, generator)


def _eye(n: int) -> torch.Tensor:
    return torch.eye(3, dtype=torch.float64).repeat(n, 1, 1)


class Pad(AffineTransform):
    """Pad ``w`` pixels on each side; ``mode`` "constant" (with ``value``) or any ``F.pad`` mode."""

    def __init__(self, w: int, mode: str = "constant", value: float = 0.5):
        if w < 0:
            raise ValueError(f"pad width must be >= 0, got {w}")
        self.w, self.mode, self.value = int(w), mode, float(value)
        self.fill = self.value if mode == "constant" else None

    def __repr__(self):
        return f"Pad({self.w}, mode={self.mode!r}, value={self.value})"

    def matrices(self, n, size, generator):
        h, w = size
        return _eye(n), (h + 2 * self.w, w + 2 * self.w)

    def __call__(self, x, generator=None):
        if self.mode != "constant":
            return F.pad(x, [self.w] * 4, mode=self.mode)
        return F.pad(x, [self.w] * 4, mode="constant", value=self.value)


class Jitter(AffineTransform):
    """Shift by a whole number of pixels, uniform in [-d//2, d//2] on each axis.

    The spread of lucid's ``jitter(d)`` (a random crop d pixels smaller) and lucent's (a shift
    of 0..d-1), but centred, so that renders do not drift towards one corner.
    """

    def __init__(self, d: int):
        if d < 1:
            raise ValueError(f"jitter must be at least 1 pixel, got {d}")
        self.d = int(d)

    def __repr__(self):
        return f"Jitter({self.d})"

    def matrices(self, n, size, generator):
        r = self.d // 2
        shift = torch.randint(-r, r + 1, (n, 2), generator=generator).double()
        a = _eye(n)
        a[:, 0, 2] = -shift[:, 0]
        a[:, 1, 2] = -shift[:, 1]
        return a, size


class RandomScale(AffineTransform):
    """Zoom about the centre by a factor drawn from ``scales`` (the frame keeps its size)."""

    def __init__(self, scales: Sequence[float]):
        self.scales = [float(s) for s in scales]
        if not self.scales or min(self.scales) <= 0:
            raise ValueError("scales must be a non-empty list of positive numbers")

    def __repr__(self):
        return f"RandomScale({self.scales})"

    def matrices(self, n, size, generator):
        s = _choice(self.scales, n, generator)
        a = _eye(n)
        a[:, 0, 0] = a[:, 1, 1] = 1.0 / s
        return a, size


class RandomRotate(AffineTransform):
    """Rotate about the centre by an angle (degrees) drawn from ``angles``."""

    def __init__(self, angles: Sequence[float]):
        self.angles = [float(v) for v in angles]
        if not self.angles:
            raise ValueError("angles must be a non-empty list")

    def __repr__(self):
        return (
            f"RandomRotate({len(self.angles)} angles in [{min(self.angles)}, {max(self.angles)}])"
        )

    def matrices(self, n, size, generator):
        t = _choice(self.angles, n, generator) * (math.pi / 180)
        a = _eye(n)
        a[:, 0, 0], a[:, 0, 1] = torch.cos(t), -torch.sin(t)
        a[:, 1, 0], a[:, 1, 1] = torch.sin(t), torch.cos(t)
        return a, size


class Resize(AffineTransform):
    """Resample to ``size`` (bilinear); fused with the geometric transforms before it."""

    def __init__(self, size):
        self.size = _size2(size)

    def __repr__(self):
        return f"Resize({self.size})"

    def matrices(self, n, size, generator):
        h, w = size
        ho, wo = self.size
        a = _eye(n)
        a[:, 0, 0], a[:, 1, 1] = w / wo, h / ho
        return a, self.size


def standard_transforms() -> list[Transform]:
    """Lucent's defaults: pad 12 (grey), jitter 8, scale 0.9..1.1, rotate -10..10 deg, jitter 4."""
    return [
        Pad(12, mode="constant", value=0.5),
        Jitter(8),
        RandomScale([1 + (i - 5) / 50.0 for i in range(11)]),
        RandomRotate(list(range(-10, 11)) + 5 * [0]),
        Jitter(4),
    ]


def _apply_affine(x: torch.Tensor, group: list[AffineTransform], generator) -> torch.Tensor:
    n, _, h, w = x.shape
    size = (h, w)
    a = _eye(n)
    fill = None
    for t in group:
        m, size = t.matrices(n, size, generator)
        # Sampling composes backwards: the output of the last transform looks up the input of
        # the first through every map in application order.
        a = a @ m
        if t.fill is not None:
            fill = t.fill
    if size == (h, w) and torch.equal(a, _eye(n)):
        return x
    ho, wo = size
    # Centred pixel coordinates -> grid_sample's [-1, 1] coordinates (align_corners=False).
    to_norm_in = torch.diag(torch.tensor([2.0 / w, 2.0 / h, 1.0], dtype=torch.float64))
    from_norm_out = torch.diag(torch.tensor([wo / 2.0, ho / 2.0, 1.0], dtype=torch.float64))
    theta = (to_norm_in @ a @ from_norm_out)[:, :2].to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, [n, x.shape[1], ho, wo], align_corners=False)
    if fill is None:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # Outside the image is the pad colour: sample the offset image with zeros outside.
    return (
        F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        + fill
    )


def _fusable(t) -> bool:
    return isinstance(t, AffineTransform) and not (isinstance(t, Pad) and t.mode != "constant")


class Compose(Transform):
    """Apply transforms in order; runs of geometric ones become one resampling."""

    def __init__(self, transforms: Iterable[Transform | TransformFn]):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"a transform must be callable, got a {type(t).__name__}")

    def __repr__(self):
        return f"Compose({self.transforms})"

    def __call__(self, x, generator=None):
        group: list[AffineTransform] = []
        for t in self.transforms:
            if _fusable(t):
                group.append(t)
                continue
            if group:
                x, group = _apply_affine(x, group, generator), []
            x = t(x, generator) if isinstance(t, Transform) else t(x)
        if group:
            x = _apply_affine(x, group, generator)
        return x


_LUCID = "Olah et al. 2017, Distill, doi:10.23915/distill.00007 (transformation robustness)"
TRANSFORMS.register(
    "pad",
    label="pad",
    reference=_LUCID,
    description="pad the image (grey by default), so jitter sees its border",
    params=(
        Param("w", "int", 12, min=0, max=64),
        Param("mode", "choice", "constant", choices=("constant", "reflect", "replicate")),
        Param("value", "float", 0.5, min=0, max=1),
    ),
)(Pad)
TRANSFORMS.register(
    "jitter",
    label="jitter",
    reference=_LUCID,
    description="shift by a random whole number of pixels",
    params=(Param("d", "int", 8, min=1, max=64),),
)(Jitter)
TRANSFORMS.register(
    "scale",
    label="random scale",
    reference=_LUCID,
    description="zoom about the centre by a random factor",
    params=(Param("scales", "any", (0.9, 0.95, 1.0, 1.05, 1.1)),),
)(RandomScale)
TRANSFORMS.register(
    "rotate",
    label="random rotation",
    reference=_LUCID,
    description="rotate about the centre by a random angle (degrees)",
    params=(Param("angles", "any", tuple(range(-10, 11))),),
)(RandomRotate)
TRANSFORMS.register(
    "resize",
    label="resize",
    description="resample to a size (bilinear)",
    params=(Param("size", "any", 224),),
)(Resize)


def _named(item):
    if isinstance(item, str):
        entry = TRANSFORMS.get(item)
        return entry.fn(**entry.resolve({}))
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        entry = TRANSFORMS.get(item[0])
        return entry.fn(**entry.resolve(dict(item[1])))
    return item


def as_transforms(spec) -> list:
    """``"standard"`` -> :func:`standard_transforms`; None or [] -> none; a list passes through,
    with registry names (or ``(name, params)`` pairs) made into their transforms."""
    if spec is None:
        return []
    if isinstance(spec, str):
        if spec == "standard":
            return standard_transforms()
        return [_named(spec)]
    if isinstance(spec, Transform) or callable(spec):
        return [spec]
    return [_named(item) for item in spec]
