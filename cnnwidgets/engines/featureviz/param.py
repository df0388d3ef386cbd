"""Image parameterizations: what gradient ascent optimises, and how it becomes an RGB image.

An :class:`ImageParam` holds the optimised tensor(s) and, called, returns a batch of images
(N, 3, H, W) in [0, 1] on its device. Each kind is an entry of :data:`PARAMETERIZATIONS`
(``visualize(param="fft")``); register your own, or pass any callable
``(batch, size, device=, generator=) -> ImageParam-like`` as ``param``. The spectrum of
natural images falls off as 1/f and
their colours are strongly correlated; optimising in a space that is whitened for both
(Fourier coefficients scaled by 1/f, colours through the square root of the ImageNet colour
covariance) lets plain gradient steps reach the low frequencies, which gives the smooth,
recognisable renders of Olah et al. (2017) instead of high-frequency noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ...core.registry import Param, Registry

# Square root of ImageNet's colour covariance (lucid/lucent), each column scaled so that the
# largest has unit norm: maps decorrelated "colour channels" back to RGB.
_COLOR_CORRELATION_SVD_SQRT = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))

# Lucid's constant: dividing the inverse FFT by 4 keeps the initial image near grey and the
# sigmoid out of saturation.
_FFT_DAMPING = 4.0

VALID_RANGE = ("sigmoid", "clamp")
PARAMETERIZATIONS = Registry("parameterization")


def color_correlation(device=None, dtype=torch.float32) -> torch.Tensor:
    m = torch.tensor(_COLOR_CORRELATION_SVD_SQRT, dtype=dtype, device=device)
    return m / m.norm(dim=0).max()


def rfft2d_freqs(h: int, w: int) -> torch.Tensor:
    """Spatial frequency magnitude (cycles per pixel) of each coefficient of ``rfft2``, shape
    (h, w // 2 + 1)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    return torch.sqrt(fx * fx + fy * fy)


def _spectrum_scale(h: int, w: int, decay_power: float) -> torch.Tensor:
    freqs = rfft2d_freqs(h, w)
    return 1.0 / freqs.clamp(min=1.0 / max(h, w)) ** decay_power


class ImageParam:
    """A batch of images as a function of optimised tensors (subclasses say which tensors).

    ``decorrelate`` maps the three optimised channels through the ImageNet colour correlation.
    ``valid``: "sigmoid" (smooth, never saturates the gradient) or "clamp" (a straight-through
    clamp to [0, 1]). Initial values come from ``generator`` on the CPU and are then moved, so
    a seed gives the same start on every device.
    """

    #: the learning rate that suits this parameterization when the caller gives none
    default_lr = 0.05

    def __init__(
        self,
        batch: int,
        size: int | Sequence[int],
        *,
        decorrelate: bool = True,
        valid: str = "sigmoid",
        device=None,
    ):
        if valid not in VALID_RANGE:
            raise ValueError(f"valid must be one of {VALID_RANGE}, got {valid!r}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        if h < 2 or w < 2:
            raise ValueError(f"image size must be at least 2 x 2, got {h} x {w}")
        self.batch, self.size = batch, (h, w)
        self.decorrelate, self.valid = decorrelate, valid
        self._device = torch.device(device or "cpu")
        self._color = color_correlation(self._device)
        self.tensors: list[torch.Tensor] = []

    @property
    def device(self) -> torch.device:
        return self.tensors[0].device if self.tensors else self._device

    def parameters(self) -> list[torch.Tensor]:
        return list(self.tensors)

    def _raw(self) -> torch.Tensor:
        """The unconstrained images (N, 3, H, W) before colour mapping and range."""
        raise NotImplementedError

    def __call__(self) -> torch.Tensor:
        """The current images, (N, 3, H, W) in [0, 1], differentiable w.r.t. the parameters."""
        x = self._raw()
        if self.decorrelate:
            x = torch.einsum("nchw,dc->ndhw", x, self._color)
        if self.valid == "sigmoid":
            return torch.sigmoid(x)
        # Centred on grey like the sigmoid; a straight-through clamp keeps the forward pass in
        # range while gradients still flow for values outside it.
        x = x + 0.5
        return x + (x.clamp(0, 1) - x).detach()


class PixelParam(ImageParam):
    """One optimised value per pixel and channel."""

    def __init__(self, batch, size, *, sd: float = 0.01, generator=None, **common):
        super().__init__(batch, size, **common)
        h, w = self.size
        pixels = torch.randn(batch, 3, h, w, generator=generator) * sd
        self.pixels = pixels.to(self._device).requires_grad_(True)
        self.tensors = [self.pixels]

    def _raw(self):
        return self.pixels


class FourierParam(ImageParam):
    """Fourier coefficients scaled by 1/f^``decay_power`` (Olah et al. 2017): plain gradient
    steps then reach the low frequencies that natural images are made of."""

    def __init__(
        self, batch, size, *, sd: float = 0.01, decay_power: float = 1.0, generator=None, **common
    ):
        super().__init__(batch, size, **common)
        h, w = self.size
        spectrum = torch.randn(batch, 3, h, w // 2 + 1, 2, generator=generator) * sd
        self.spectrum = spectrum.to(self._device).requires_grad_(True)
        self._scale = _spectrum_scale(h, w, decay_power).to(self._device)[None, None, ..., None]
        self.tensors = [self.spectrum]

    def _raw(self):
        h, w = self.size
        spectrum = torch.view_as_complex(self._scale * self.spectrum)
        return torch.fft.irfft2(spectrum, s=(h, w), norm="ortho") / _FFT_DAMPING


class MacoParam(ImageParam):
    """A fixed natural 1/f magnitude spectrum, the phase optimised (Fel et al. 2023, "Unlocking
    feature visualization for deeper networks with magnitude constrained optimization")."""

    # The phase moves in radians and only through a standardisation: it needs larger steps
    # than pixels or Fourier coefficients (measured in docs/benchmarks.md).
    default_lr = 0.25

    def __init__(self, batch, size, *, decay_power: float = 1.0, generator=None, **common):
        super().__init__(batch, size, **common)
        h, w = self.size
        phase = (torch.rand(batch, 3, h, w // 2 + 1, generator=generator) * 2 - 1) * math.pi
        self.phase = phase.to(self._device).requires_grad_(True)
        self._magnitude = _spectrum_scale(h, w, decay_power).to(self._device)
        self.tensors = [self.phase]

    def _raw(self):
        h, w = self.size
        spectrum = torch.polar(self._magnitude.expand_as(self.phase), self.phase)
        img = torch.fft.irfft2(spectrum, s=(h, w), norm="ortho")
        # MACO standardises each image: the magnitude fixes the structure's energy, so the
        # phase alone decides what is drawn.
        mean = img.mean(dim=(1, 2, 3), keepdim=True)
        std = img.std(dim=(1, 2, 3), keepdim=True)
        return (img - mean) / (std + 1e-5)


_SD = Param(
    "sd",
    "float",
    0.01,
    min=0.0,
    max=1.0,
    step=0.005,
    ui=False,
    help="standard deviation of the random start",
)
_DECAY = Param(
    "decay_power",
    "float",
    1.0,
    min=0.0,
    max=3.0,
    step=0.1,
    help="the spectrum falls off as 1/f^decay_power",
)

PARAMETERIZATIONS.register(
    "pixel",
    label="pixels",
    params=(_SD,),
    description="one value per pixel: high frequencies come easily",
    reference="Erhan et al. 2009; Simonyan et al. 2014",
)(PixelParam)
PARAMETERIZATIONS.register(
    "fft",
    label="Fourier (1/f)",
    params=(_SD, _DECAY),
    aliases=("fourier",),
    description="Fourier coefficients scaled by 1/f, so that steps reach the low frequencies",
    reference="Olah et al. 2017, Distill, doi:10.23915/distill.00007",
)(FourierParam)
PARAMETERIZATIONS.register(
    "maco",
    label="MACO (phase only)",
    params=(_DECAY,),
    description="a fixed natural 1/f magnitude, only the phase is "
    "optimised: works on deeper networks",
    reference="Fel et al. 2023, arXiv:2306.06805",
)(MacoParam)


def make_param(
    param,
    batch: int,
    size,
    *,
    device=None,
    generator=None,
    decorrelate: bool = True,
    valid: str = "sigmoid",
    **params,
) -> ImageParam:
    """A parameterization by registry name (with its parameters) or from a user's callable
    ``param(batch, size, device=, generator=, decorrelate=, valid=)``."""
    common = dict(device=device, generator=generator, decorrelate=decorrelate, valid=valid)
    if callable(param):
        made = param(batch, size, **common, **params)
    else:
        entry = PARAMETERIZATIONS.get(param)
        made = entry.fn(batch, size, **common, **entry.resolve(params))
    if not callable(made) or not hasattr(made, "parameters"):
        raise TypeError(
            f"a parameterization must give an object with parameters() and "
            f"__call__() -> images, got a {type(made).__name__}"
        )
    return made
