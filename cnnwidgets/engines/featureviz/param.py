"""Image parameterizations: what gradient ascent optimises, and how it becomes an RGB image.

An :class:`ImageParam` holds the optimised tensor(s) and, called, returns a batch of images
(N, 3, H, W) in [0, 1] on its device. The spectrum of natural images falls off as 1/f and
their colours are strongly correlated; optimising in a space that is whitened for both
(Fourier coefficients scaled by 1/f, colours through the square root of the ImageNet colour
covariance) lets plain gradient steps reach the low frequencies, which gives the smooth,
recognisable renders of Olah et al. (2017) instead of high-frequency noise.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

# Square root of ImageNet's colour covariance (lucid/lucent), each column scaled so that the
# largest has unit norm: maps decorrelated "colour channels" back to RGB.
_COLOR_CORRELATION_SVD_SQRT = ((0.26, 0.09, 0.02),
                               (0.27, 0.00, -0.05),
                               (0.27, -0.09, 0.03))

# Lucid's constant: dividing the inverse FFT by 4 keeps the initial image near grey and the
# sigmoid out of saturation.
_FFT_DAMPING = 4.0

PARAMS = ("pixel", "fft")
VALID_RANGE = ("sigmoid", "clamp")


def color_correlation(device=None, dtype=torch.float32) -> torch.Tensor:
    m = torch.tensor(_COLOR_CORRELATION_SVD_SQRT, dtype=dtype, device=device)
    return m / m.norm(dim=0).max()


def rfft2d_freqs(h: int, w: int) -> torch.Tensor:
    """Spatial frequency magnitude (cycles per pixel) of each coefficient of ``rfft2`` (h, w//2+1)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    return torch.sqrt(fx * fx + fy * fy)


def _spectrum_scale(h: int, w: int, decay_power: float) -> torch.Tensor:
    freqs = rfft2d_freqs(h, w)
    return 1.0 / freqs.clamp(min=1.0 / max(h, w)) ** decay_power


class ImageParam:
    """A batch of images as a function of optimised tensors.

    ``param``: "pixel" (one value per pixel) or "fft" (Fourier coefficients scaled by
    1/f^``decay_power``). ``decorrelate`` maps the three optimised channels through the ImageNet
    colour correlation. ``valid``: "sigmoid" (smooth, never saturates the gradient) or "clamp"
    (a straight-through clamp to [0, 1]). ``maco``: keep a fixed natural 1/f magnitude
    spectrum and optimise the phase only (Fel et al. 2023, "Unlocking feature visualization
    for deeper networks with magnitude constrained optimization"); implies the Fourier basis.

    Initial values come from ``generator`` on the CPU and are then moved, so a seed gives
    the same start on every device.
    """

    def __init__(self, batch: int, size: int | Sequence[int], *, param: str = "fft",
                 decorrelate: bool = True, valid: str = "sigmoid", maco: bool = False,
                 sd: float = 0.01, decay_power: float = 1.0, device=None,
                 generator: torch.Generator | None = None):
        if param not in PARAMS:
            raise ValueError(f"param must be one of {PARAMS}, got {param!r}")
        if valid not in VALID_RANGE:
            raise ValueError(f"valid must be one of {VALID_RANGE}, got {valid!r}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        if h < 2 or w < 2:
            raise ValueError(f"image size must be at least 2 x 2, got {h} x {w}")
        self.batch, self.size = batch, (h, w)
        self.param = "fft" if maco else param
        self.decorrelate, self.valid, self.maco = decorrelate, valid, maco
        device = torch.device(device or "cpu")
        self._color = color_correlation(device)
        if maco:
            # Phase uniform on the circle; the magnitude is the 1/f spectrum of natural images.
            phase = (torch.rand(batch, 3, h, w // 2 + 1, generator=generator) * 2 - 1) * math.pi
            self.phase = phase.to(device).requires_grad_(True)
            self._magnitude = _spectrum_scale(h, w, decay_power).to(device)
            self.tensors = [self.phase]
        elif self.param == "fft":
            shape = (batch, 3, h, w // 2 + 1, 2)
            spectrum = torch.randn(*shape, generator=generator) * sd
            self.spectrum = spectrum.to(device).requires_grad_(True)
            self._scale = _spectrum_scale(h, w, decay_power).to(device)[None, None, ..., None]
            self.tensors = [self.spectrum]
        else:
            pixels = torch.randn(batch, 3, h, w, generator=generator) * sd
            self.pixels = pixels.to(device).requires_grad_(True)
            self.tensors = [self.pixels]

    @property
    def device(self) -> torch.device:
        return self.tensors[0].device

    def parameters(self) -> list[torch.Tensor]:
        return list(self.tensors)

    def _raw(self) -> torch.Tensor:
        h, w = self.size
        if self.maco:
            phase = self.phase
            spectrum = torch.polar(self._magnitude.expand_as(phase), phase)
            img = torch.fft.irfft2(spectrum, s=(h, w), norm="ortho")
            # MACO standardises each image: the magnitude fixes the structure's energy, so the
            # phase alone decides what is drawn.
            mean = img.mean(dim=(1, 2, 3), keepdim=True)
            std = img.std(dim=(1, 2, 3), keepdim=True)
            return (img - mean) / (std + 1e-5)
        if self.param == "fft":
            spectrum = torch.view_as_complex(self._scale * self.spectrum)
            return torch.fft.irfft2(spectrum, s=(h, w), norm="ortho") / _FFT_DAMPING
        return self.pixels

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


def image_param(batch: int, size, **kwargs) -> ImageParam:
    """Shorthand for :class:`ImageParam`."""
    return ImageParam(batch, size, **kwargs)

