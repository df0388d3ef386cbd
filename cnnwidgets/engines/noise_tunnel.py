"""SmoothGrad as a wrapper over any attribution method (Smilkov et al. 2017, "SmoothGrad:
removing noise by adding noise"; Captum calls the wrapper NoiseTunnel).

The wrapped method runs on ``n_samples`` noisy copies of every image, a memory-bounded batch
at a time, and the raw attributions are averaged per image. The noise of sample ``s`` comes
from its own seeded stream (seed, s), so the result depends neither on the internal batch size
nor on the other images of the call. Each batch reports its progress (and may be cancelled)
through :mod:`cnnwidgets.core.progress`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..core.progress import part, report
from ..core.registry import Param

# The parameters every smoothed method shares (saliency's and CAM's "smoothgrad" entries).
NOISE_PARAMS = (
    Param(
        "n_samples",
        "int",
        25,
        min=1,
        max=1000,
        step=1,
        label="samples",
        help="noisy copies averaged",
    ),
    Param(
        "noise",
        "float",
        0.15,
        min=0.0,
        max=1.0,
        step=0.01,
        help="standard deviation of the noise, a fraction of each input's value range",
    ),
    Param("seed", "int", 0, min=0, ui=False, help="seed of the noise"),
)


def _stream(device: torch.device, seed: int, index: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + index)


def smooth(
    raw_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    targets: torch.Tensor,
    *,
    n_samples: int,
    noise: float,
    seed: int,
    batch_size: int,
) -> torch.Tensor:
    """Mean over noisy copies of ``raw_fn(inputs, targets)``, per image of ``x``.

    ``raw_fn`` maps a batch of inputs and their targets to raw attributions (one row each).
    ``noise`` is the standard deviation as a fraction of each input's range (max - min);
    ``noise=0`` calls ``raw_fn`` once on ``x`` (every copy would be ``x`` itself).
    """
    if noise == 0:
        return raw_fn(x, targets)
    n, shape = x.shape[0], tuple(x.shape[1:])
    sigma = noise * (x.flatten(1).amax(1) - x.flatten(1).amin(1))
    owner = torch.arange(n, device=x.device).repeat_interleave(n_samples)
    acc = None
    for start in range(0, len(owner), batch_size):
        js = range(start, min(start + batch_size, len(owner)))
        i = owner[start : js.stop]
        eps = torch.stack(
            [
                torch.randn(
                    shape,
                    device=x.device,
                    dtype=x.dtype,
                    generator=_stream(x.device, seed, j % n_samples),
                )
                for j in js
            ]
        )
        with part(start, js.stop, len(owner)):
            raw = raw_fn(x[i] + sigma[i].view(-1, *([1] * len(shape))) * eps, targets[i])
        if acc is None:
            acc = torch.zeros(
                (n, *raw.shape[1:]),
                device=raw.device,
                dtype=torch.promote_types(raw.dtype, torch.float32),
            )
        acc.index_add_(0, i.to(raw.device), raw.to(acc.dtype))
        report(js.stop, len(owner))
    return acc / n_samples
