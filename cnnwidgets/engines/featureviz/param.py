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

Every image of a batch draws its start from its own generator (:func:`image_generators`), so
image k of a batch of N starts where image k of any other batch of the same seed starts.

Starting from an image (``visualize(init=...)``, :meth:`ImageParam.set_images`): the pixel,
Fourier and low-resolution parameterizations invert the range (the logit of the image clipped
to [0.5/255, 1 - 0.5/255] for the sigmoid) and the colour decorrelation, then their own
map: the first frame equals the image to within 1/255 (the low-resolution one: the closest
image it can draw, see :class:`LowresParam`). MACO keeps its fixed magnitude and takes the
image's phase; the CPPN cannot start from an image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ...core.errors import ParameterError
from ...core.registry import Param, Registry

# Square root of ImageNet's colour covariance (lucid/lucent), each column scaled so that the
# largest has unit norm: maps decorrelated "colour channels" back to RGB.
_COLOR_CORRELATION_SVD_SQRT = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))

# Lucid's constant: dividing the inverse FFT by 4 keeps the initial image near grey and the
# sigmoid out of saturation.
_FFT_DAMPING = 4.0

# Pixels of exactly 0 or 1 have no logit: they start this far inside (0, 1), which keeps the
# first frame within 1/255 of the image while the sigmoid still passes some gradient there.
_LOGIT_EPS = 0.5 / 255

VALID_RANGE = ("sigmoid", "clamp")
PARAMETERIZATIONS = Registry("parameterization")


def color_correlation(device=None, dtype=torch.float32) -> torch.Tensor:
    m = torch.tensor(_COLOR_CORRELATION_SVD_SQRT, dtype=dtype, device=device)
    return m / m.norm(dim=0).max()


def _mix_colours(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """``einsum("nchw,dc->ndhw", x, m)`` as nine products and six sums, one image at a time
    in effect: einsum may contract a batch of N in a different order than a batch of one, and
    a last-bit difference there grows over the steps of a render, so image k of a batch would
    no longer be the render of its objective alone."""
    return torch.stack(
        [m[d, 0] * x[:, 0] + m[d, 1] * x[:, 1] + m[d, 2] * x[:, 2] for d in range(3)], dim=1
    )


def rfft2d_freqs(h: int, w: int) -> torch.Tensor:
    """Spatial frequency magnitude (cycles per pixel) of each coefficient of ``rfft2``, shape
    (h, w // 2 + 1)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    return torch.sqrt(fx * fx + fy * fy)


def image_generators(generator: torch.Generator | None, batch: int) -> list[torch.Generator]:
    """One CPU generator per image, seeded by consecutive draws from ``generator`` (torch's
    global generator when None).

    Drawing a batch's start from one generator ties each image to the batch size (torch's
    normal sampler fills blocks of 16 values, so image 0 of ``randn(8, ...)`` is not
    ``randn(1, ...)``); with one generator per image, image k starts the same in every batch.
    """
    seeds = [int(torch.randint(0, 2**62, (1,), generator=generator)) for _ in range(batch)]
    return [torch.Generator().manual_seed(s) for s in seeds]


def _per_image(draw, generator, batch: int) -> torch.Tensor:
    """(batch, ...) from ``draw(g) -> (1, ...)``, one draw per image generator."""
    return torch.cat([draw(g) for g in image_generators(generator, batch)])


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

    # ---- starting from images -------------------------------------------------------------
    def set_images(self, images: torch.Tensor) -> None:
        """Set the parameters so that the current images are ``images``: (N, 3, H, W) or
        (1, 3, H, W) (the same start for every image) in [0, 1], at this parameterization's
        size. How close the result comes depends on the parameterization (module docstring);
        one that cannot start from an image raises a :class:`ParameterError`."""
        images = torch.as_tensor(images)
        h, w = self.size
        if images.ndim != 4 or images.shape[1] != 3 or tuple(images.shape[2:]) != (h, w):
            raise ParameterError(
                f"start images must have shape (N, 3, {h}, {w}), got {tuple(images.shape)}"
            )
        if images.shape[0] not in (1, self.batch):
            raise ParameterError(
                f"{images.shape[0]} start images for a batch of {self.batch}: give one image "
                f"or one per rendered image"
            )
        x = images.to(self.device, torch.float32).expand(self.batch, -1, -1, -1)
        with torch.no_grad():
            self._set_raw(self._unconstrained(x))

    def _unconstrained(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of the range and the colour mapping of :meth:`__call__`."""
        if self.valid == "sigmoid":
            z = torch.logit(x.clamp(_LOGIT_EPS, 1 - _LOGIT_EPS))
        else:
            z = x - 0.5
        if self.decorrelate:
            z = _mix_colours(z, torch.linalg.inv(self._color))
        return z

    def _set_raw(self, raw: torch.Tensor) -> None:
        """Set the parameters so that :meth:`_raw` gives ``raw`` (or the closest it can)."""
        raise ParameterError(
            f"the {type(self).__name__} parameterization cannot start from an image"
        )

    def __call__(self) -> torch.Tensor:
        """The current images, (N, 3, H, W) in [0, 1], differentiable w.r.t. the parameters."""
        x = self._raw()
        if self.decorrelate:
            x = _mix_colours(x, self._color)
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
        pixels = _per_image(lambda g: torch.randn(1, 3, h, w, generator=g), generator, batch) * sd
        self.pixels = pixels.to(self._device).requires_grad_(True)
        self.tensors = [self.pixels]

    def _raw(self):
        return self.pixels

    def _set_raw(self, raw):
        self.pixels.copy_(raw)


class FourierParam(ImageParam):
    """Fourier coefficients scaled by 1/f^``decay_power`` (Olah et al. 2017): plain gradient
    steps then reach the low frequencies that natural images are made of."""

    def __init__(
        self, batch, size, *, sd: float = 0.01, decay_power: float = 1.0, generator=None, **common
    ):
        super().__init__(batch, size, **common)
        h, w = self.size
        spectrum = _per_image(
            lambda g: torch.randn(1, 3, h, w // 2 + 1, 2, generator=g), generator, batch
        )
        self.spectrum = (spectrum * sd).to(self._device).requires_grad_(True)
        self._scale = _spectrum_scale(h, w, decay_power).to(self._device)[None, None, ..., None]
        self.tensors = [self.spectrum]

    def _raw(self):
        h, w = self.size
        spectrum = torch.view_as_complex(self._scale * self.spectrum)
        return torch.fft.irfft2(spectrum, s=(h, w), norm="ortho") / _FFT_DAMPING

    def _set_raw(self, raw):
        # irfft2(rfft2(y)) == y for real y, and the scale is never zero (clamped frequencies).
        spectrum = torch.fft.rfft2(raw * _FFT_DAMPING, norm="ortho")
        self.spectrum.copy_(torch.view_as_real(spectrum) / self._scale)


class MacoParam(ImageParam):
    """A fixed natural 1/f magnitude spectrum, the phase optimised (Fel et al. 2023, "Unlocking
    feature visualization for deeper networks with magnitude constrained optimization")."""

    # The phase moves in radians and only through a standardisation: it needs larger steps
    # than pixels or Fourier coefficients (measured in docs/benchmarks.md).
    default_lr = 0.25

    def __init__(self, batch, size, *, decay_power: float = 1.0, generator=None, **common):
        super().__init__(batch, size, **common)
        h, w = self.size
        phase = _per_image(lambda g: torch.rand(1, 3, h, w // 2 + 1, generator=g), generator, batch)
        self.phase = ((phase * 2 - 1) * math.pi).to(self._device).requires_grad_(True)
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

    def _set_raw(self, raw):
        """The image's phase under the fixed magnitude: for each coefficient, the point of the
        circle of radius m closest to the image's coefficient c is m * c / |c|, so this is the
        MACO image nearest the image in L2 (Parseval) before the standardisation. The
        magnitude, and with it the contrast of each frequency, stays MACO's: the start has the
        image's edges and layout, not its colours or contrast. On the cat at 64 px its pixels
        correlate about 0.6 with the image's (tests/test_featureviz_init.py)."""
        self.phase.copy_(torch.angle(torch.fft.rfft2(raw, norm="ortho")))


def _upsampling_matrix(low: int, high: int) -> torch.Tensor:
    """(high, low) float64: 1-D linear upsampling as F.interpolate does it (half-pixel
    centres, ``align_corners=False``), so that bilinear upsampling of X is U_h X U_w^T."""
    eye = torch.eye(low, dtype=torch.float64)[None]
    return F.interpolate(eye, size=high, mode="linear", align_corners=False)[0].T


class LowresParam(ImageParam):
    """Pixels at 1/``factor`` of the size, upsampled bilinearly (lucid's ``lowres_tensor``):
    only smooth images, so steps cannot add high frequencies.

    Starting from an image gives the closest image (least squares, in the space before the
    range and colour mapping) that the low-resolution pixels can draw: the image itself when
    it is a bilinear upsampling of one ``factor`` times smaller, a smoothed image otherwise.
    """

    def __init__(self, batch, size, *, factor: int = 4, sd: float = 0.01, generator=None, **common):
        super().__init__(batch, size, **common)
        if int(factor) != factor or factor < 1:
            raise ParameterError(f"factor must be a whole number >= 1, got {factor!r}")
        h, w = self.size
        self.low_size = (-(-h // int(factor)), -(-w // int(factor)))
        lh, lw = self.low_size
        low = _per_image(lambda g: torch.randn(1, 3, lh, lw, generator=g), generator, batch)
        self.low = (low * sd).to(self._device).requires_grad_(True)
        self.tensors = [self.low]

    def _raw(self):
        return F.interpolate(self.low, size=self.size, mode="bilinear", align_corners=False)

    def _set_raw(self, raw):
        # Bilinear upsampling is separable: raw ~ U_h L U_w^T, solved with pseudo-inverses.
        (h, w), (lh, lw) = self.size, self.low_size
        uh = torch.linalg.pinv(_upsampling_matrix(lh, h)).to(raw.device)
        uw = torch.linalg.pinv(_upsampling_matrix(lw, w)).to(raw.device)
        self.low.copy_(uh @ raw.double() @ uw.T)


def _composite(x: torch.Tensor) -> torch.Tensor:
    """Lucid's CPPN activation: atan and its square, each scaled to about unit variance for a
    unit-normal input; doubles the width."""
    a = torch.atan(x)
    return torch.cat([a / 0.67, (a * a) / 0.6], dim=-1)


class CppnParam(ImageParam):
    """A compositional pattern-producing network (Stanley 2007; lucid's ``cppn`` param,
    Mordvintsev et al. 2018, "Differentiable Image Parameterizations"): each image is a small
    MLP applied to every pixel's coordinates (x, y, r), r the distance from the centre; its
    weights are the optimised parameters.

    ``depth`` hidden layers of ``width`` units with the composite activation
    atan(h)/0.67 ++ atan(h)^2/0.6; weights drawn from N(0, 1/fan_in), biases zero, and the
    output layer zero, so every image starts grey. Images are smooth at any resolution and
    look like nothing a camera takes. A network has no closed-form fit to an image, so this
    parameterization cannot start from one.
    """

    # Each weight moves every pixel: steps must be much smaller than for pixels (lucid's
    # CPPN notebook uses Adam at 0.005).
    default_lr = 0.005

    def __init__(self, batch, size, *, width: int = 24, depth: int = 8, generator=None, **common):
        super().__init__(batch, size, **common)
        if width < 1 or depth < 1:
            raise ParameterError(f"width and depth must be >= 1, got {width} and {depth}")
        h, w = self.size
        r = 3**0.5  # a uniform coordinate on [-r, r] has unit variance
        y, x = torch.meshgrid(torch.linspace(-r, r, h), torch.linspace(-r, r, w), indexing="ij")
        coords = torch.stack([x, y, torch.sqrt(x * x + y * y)], dim=-1).reshape(1, h * w, 3)
        self._coords = coords.to(self._device)
        sizes = [3] + [2 * width] * depth
        outs = [width] * depth + [3]

        def draw(g):
            layers = []
            for k, (fan_in, fan_out) in enumerate(zip(sizes, outs)):
                last = k == depth
                weight = torch.randn(1, fan_in, fan_out, generator=g) * fan_in**-0.5
                layers += [torch.zeros_like(weight) if last else weight]
            return torch.cat([wt.flatten(1) for wt in layers], dim=1)

        flat = _per_image(draw, generator, batch)
        self.weights, start = [], 0
        for fan_in, fan_out in zip(sizes, outs):
            n = fan_in * fan_out
            wt = flat[:, start : start + n].reshape(batch, fan_in, fan_out)
            self.weights.append(wt.to(self._device).requires_grad_(True))
            start += n
        self.biases = [
            torch.zeros(batch, 1, fan_out, device=self._device, requires_grad=True)
            for fan_out in outs
        ]
        self.tensors = self.weights + self.biases

    def _raw(self):
        h, w = self.size
        act = self._coords.expand(self.batch, -1, -1)
        for k, (wt, b) in enumerate(zip(self.weights, self.biases)):
            act = torch.baddbmm(b, act, wt)
            if k < len(self.weights) - 1:
                act = _composite(act)
        return act.transpose(1, 2).reshape(self.batch, 3, h, w)

    def _set_raw(self, raw):
        raise ParameterError(
            "the 'cppn' parameterization cannot start from an image: its parameters are the "
            "weights of a network over pixel coordinates, which no closed form fits to an "
            "image; use param='fft', 'pixel', 'lowres' or 'maco' with init="
        )


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


PARAMETERIZATIONS.register(
    "lowres",
    label="low resolution",
    params=(
        Param("factor", "int", 4, min=1, max=32, help="the pixels are this many times larger"),
        _SD,
    ),
    description="pixels at a fraction of the size, upsampled bilinearly: smooth images",
    reference="Mordvintsev et al. 2018, Distill, doi:10.23915/distill.00012 (lucid lowres_tensor)",
)(LowresParam)
PARAMETERIZATIONS.register(
    "cppn",
    label="CPPN (network over x, y)",
    params=(
        Param("width", "int", 24, min=2, max=128, help="units per hidden layer"),
        Param("depth", "int", 8, min=1, max=16, help="hidden layers"),
    ),
    description="a small network maps each pixel's coordinates to its colour; "
    "cannot start from an image",
    reference="Mordvintsev et al. 2018, Distill, doi:10.23915/distill.00012; Stanley 2007",
)(CppnParam)


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
