"""How faithful an attribution map is to the model: deletion and insertion curves (Petsiuk et
al. 2018, "RISE", arXiv:1806.07421), average drop and increase in confidence (Chattopadhay et al.
2018, "Grad-CAM++", arXiv:1710.11063).

Definitions (``x``: the model's input tensor for the image, after its normalisation; ``p(z)``:
the softmax probability of the target class for input ``z``; ``H x W``: the input resolution):

- Order: the pixels sorted by the map's value, highest first; equal values in row-major pixel
  order (top-left first), so the result never depends on a sort's whim.
- Baseline ``b``: ``x`` blurred by a Gaussian of standard deviation ``sigma`` pixels, truncated
  at 3 sigma, with mirrored borders. The same blur for every channel commutes with the
  per-channel affine normalisation, so blurring the input tensor equals blurring the photo.
  Default: 10 pixels at 224 x 224, scaled with the input's shorter side. RISE blurs its
  insertion baseline with sigma 5 (an 11-pixel kernel); here the same baseline serves deletion
  too, whose end point must carry no evidence for the class, and a sigma-5 blur does not: the
  blurred cat photo is still "tiger cat" for EfficientNet-Lite0 at p = 0.29 (0.38 unblurred),
  so its deletion curve cannot fall below that. At sigma 10 every bundled photo's blur scores
  at most 0.01 for its top class (measured in tests/test_faithfulness.py).
- Step ``k`` of ``steps`` touches the first ``n_k = floor(k * H * W / steps)`` pixels of the
  order; ``fractions[k] = n_k / (H * W)``, from 0 to 1.
- Deletion: ``deletion[k] = p(x with those n_k pixels replaced by b)``, starting at ``p(x)``
  and ending at ``p(b)``. A faithful map makes it fall fast: low area.
- Insertion: ``insertion[k] = p(b with those n_k pixels taken from x)``, from ``p(b)`` to
  ``p(x)``. A faithful map makes it rise fast: high area.
- AUC: the trapezoid rule over ``fractions`` (RISE's ``auc``); in [0, 1].
- Average drop: ``max(0, p(x) - p(m * x)) / p(x)``, where ``m`` is the map in [0, 1] at the
  input resolution and ``m * x`` multiplies the normalised input pixel by pixel (as torchcam's
  ``ClassificationMetric`` and pytorch-grad-cam's ``CamMultImageConfidenceChange`` do); a
  fraction (the paper reports it in %); lower is better. pytorch-grad-cam's
  ``DropInConfidence`` is the same difference without the division by ``p(x)``.
- Increase in confidence: ``p(m * x) > p(x)`` (torchcam's ``conf_increase`` for one image).

Cost: the original and the blurred image are shared by both curves and by every map of a
call; each map adds ``2 * (steps - 1)`` curve images and one masked image. All of them go
through the model in memory-bounded batches of equal size, built batch by batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..core.errors import InputError, ParameterError
from ..core.guard import preserved
from ..core.inputs import auto_batch_size, check_batch_size, input_layout
from ..core.model_base import as_model
from ..core.progress import report
from ..core.targets import resolve_targets, target_list
from .maps import Attribution

#: the baseline's blur: sigma 10 pixels on a 224 x 224 input (see the module docs)
DEFAULT_SIGMA = 10.0
DEFAULT_SIZE = 224

# Kinds of image in a batch job
_DELETE, _INSERT, _MASK = 0, 1, 2


@dataclass(eq=False)
class Faithfulness:
    """Deletion and insertion curves of one map, and its average drop (see the module docs).

    ``fractions``, ``deletion``, ``insertion``: arrays of ``steps + 1`` values;
    ``probability`` = p(image), ``baseline_probability`` = p(blurred image),
    ``masked_probability`` = p(map * image); ``target`` the class, ``method`` the map's
    method (None for a bare array), ``sigma`` the blur in pixels.
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: float
    insertion_auc: float
    average_drop: float
    increase_in_confidence: bool
    probability: float
    baseline_probability: float
    masked_probability: float
    target: int
    method: str | None
    steps: int
    sigma: float

    def __repr__(self) -> str:
        what = f"method={self.method!r}, " if self.method else ""
        return (
            f"Faithfulness({what}target={self.target}, steps={self.steps}, "
            f"deletion_auc={self.deletion_auc:.4f}, insertion_auc={self.insertion_auc:.4f}, "
            f"average_drop={self.average_drop:.4f}, "
            f"increase_in_confidence={self.increase_in_confidence})"
        )

    def to_dict(self) -> dict:
        """Plain JSON-ready values (what a widget trait carries)."""
        return {
            "deletion_auc": self.deletion_auc,
            "insertion_auc": self.insertion_auc,
            "average_drop": self.average_drop,
            "increase_in_confidence": self.increase_in_confidence,
            "probability": self.probability,
            "baseline_probability": self.baseline_probability,
            "masked_probability": self.masked_probability,
            "target": self.target,
            "method": self.method,
            "steps": self.steps,
            "sigma": self.sigma,
            "curves": {
                "fractions": self.fractions.tolist(),
                "deletion": self.deletion.tolist(),
                "insertion": self.insertion.tolist(),
            },
        }


def auc(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoid-rule area under ``y`` over ``x``."""
    y, x = np.asarray(y, np.float64), np.asarray(x, np.float64)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, C, H, W) blurred per channel by a Gaussian of ``sigma`` pixels, truncated at 3 sigma
    (scipy.ndimage's ``truncate=3``), borders mirrored (scipy's ``mode="mirror"``)."""
    h, w = x.shape[-2:]
    radius = min(int(3.0 * sigma + 0.5), h - 1, w - 1)
    if radius < 1:
        return x.clone()
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-(t * t) / (2.0 * sigma * sigma))
    k = (k / k.sum()).to(device=x.device, dtype=torch.float32)
    c = x.shape[1]
    y = x.float().contiguous()
    y = F.conv2d(
        F.pad(y, (radius, radius, 0, 0), mode="reflect"),
        k.view(1, 1, 1, -1).expand(c, 1, 1, -1),
        groups=c,
    )
    y = F.conv2d(
        F.pad(y, (0, 0, radius, radius), mode="reflect"),
        k.view(1, 1, -1, 1).expand(c, 1, -1, 1),
        groups=c,
    )
    return y.to(x.dtype)


def pixel_ranks(values: np.ndarray) -> np.ndarray:
    """Each pixel's place in the order (0 = most important): by value, highest first, equal
    values in row-major order (a stable sort of the negated values)."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(-flat, kind="stable")
    ranks = np.empty(flat.size, dtype=np.int64)
    ranks[order] = np.arange(flat.size)
    return ranks.reshape(np.shape(values))


def step_counts(steps: int, pixels: int) -> np.ndarray:
    """``n_k = floor(k * pixels / steps)`` for k = 0..steps: pixels touched after step k."""
    return (np.arange(steps + 1, dtype=np.int64) * pixels) // steps


def default_sigma(height: int, width: int) -> float:
    """10 pixels at 224 x 224, scaled with the input's shorter side."""
    return DEFAULT_SIGMA * min(height, width) / DEFAULT_SIZE


def check_map(item: Any, size: tuple[int, int], index: int = 0) -> np.ndarray:
    """The values of an Attribution or array as an (H, W) float64 array; an
    :class:`InputError` names what makes it unusable (shape, NaN, constant)."""
    if isinstance(item, Attribution):
        values = item.map
    elif isinstance(item, torch.Tensor):
        values = item.detach().cpu().numpy()
    else:
        try:
            values = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"map {index}: expected an Attribution or an (H, W) array, got a "
                f"{type(item).__name__}"
            ) from exc
    values = np.asarray(values, dtype=np.float64)
    if values.shape != size:
        raise InputError(
            f"map {index} has shape {values.shape}, but the model's input is {size[0]} x "
            f"{size[1]}: give the map at the input resolution (an Attribution's .map is)"
        )
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise InputError(f"map {index} has {bad} NaN or infinite values; it cannot order pixels")
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        raise InputError(
            f"map {index} is constant ({lo:g} everywhere): it ranks no pixel above another, "
            "so there is no order to delete or insert pixels in"
        )
    return values


def _unit(values: np.ndarray) -> np.ndarray:
    """The map as the multiplicative mask of average drop: as given when it lies in [0, 1]
    (an Attribution's .map does), otherwise min-max scaled to [0, 1]."""
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0.0 and hi <= 1.0:
        return values
    return (values - lo) / (hi - lo)


def _chunks(total: int, size: int) -> list[tuple[int, int]]:
    """``total`` jobs in the fewest batches of at most ``size``, of (nearly) equal length."""
    n = math.ceil(total / size)
    bounds = [round(i * total / n) for i in range(n + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def faithfulness(
    model,
    image: Any,
    attribution: Any,
    steps: int = 20,
    *,
    target: Any = None,
    sigma: float | None = None,
    batch_size: int | None = None,
) -> Faithfulness | list[Faithfulness]:
    """Deletion and insertion curves, their areas, average drop and increase in confidence of
    an attribution map for one image (definitions in :mod:`cnnwidgets.engines.faithfulness`).

    ``attribution``: an :class:`~cnnwidgets.Attribution` (``cw.cam`` / ``cw.saliency``
    result: its ``.map`` and ``.target`` are used), an (H, W) array at the model's input
    resolution, or a list of those (several methods on one image: one batched call, one
    result each). ``target``: the class of a bare array (None: the top prediction); with
    Attributions it may only repeat their own class. ``steps``: points of each curve after
    the first. ``sigma``: the blur of the baseline in pixels (default 10 at 224 x 224).
    ``batch_size`` caps the images per forward pass (default: what fits the memory budget).

    The model is left as found (modes, flags, gradients, no hooks); every forward pass runs in
    inference mode under the model's lock.
    """
    m = as_model(model)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ParameterError(f"steps must be a whole number >= 1, got {steps!r}")
    steps = int(steps)
    check_batch_size(batch_size)
    if sigma is not None and (
        isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0
    ):
        raise ParameterError(f"sigma must be a positive number of pixels, got {sigma!r}")

    x = m.prepare(image)
    if x.shape[0] != 1:
        raise InputError(
            f"faithfulness scores one image at a time, got a batch of {x.shape[0]}; "
            "give several maps of one image as a list instead"
        )
    height, width = (int(v) for v in x.shape[-2:])
    pixels = height * width
    if steps > pixels:
        raise ParameterError(
            f"steps ({steps}) must be at most the number of pixels ({height} x {width})"
        )
    sigma = float(default_sigma(height, width) if sigma is None else sigma)

    single = not isinstance(attribution, (list, tuple))
    items = [attribution] if single else list(attribution)
    if not items:
        raise InputError("no attribution map to score")
    maps = [check_map(a, (height, width), i) for i, a in enumerate(items)]
    given = target_list(target, len(items))
    k_maps = len(maps)

    counts = step_counts(steps, pixels)
    inner = counts[1:-1]  # the endpoints are the original and the blurred image, shared
    # Jobs: (map, kind, pixels touched). Job 0 is the original image and job 1 the blurred
    # one, so that the first batch resolves the targets and holds both shared endpoints.
    job_map = [0, 0]
    job_kind = [_INSERT, _DELETE]
    job_n = [pixels, pixels]
    for j in range(k_maps):
        job_map += [j] * (2 * len(inner) + 1)
        job_kind += [_DELETE] * len(inner) + [_INSERT] * len(inner) + [_MASK]
        job_n += inner.tolist() * 2 + [0]

    device = x.device
    ranks = torch.from_numpy(np.stack([pixel_ranks(v) for v in maps])).to(device)
    units = torch.from_numpy(np.stack([_unit(v) for v in maps]).astype(np.float32)).to(device)
    job_map_t = torch.tensor(job_map, device=device)
    job_kind_t = torch.tensor(job_kind, device=device)
    job_n_t = torch.tensor(job_n, device=device)
    chunk = batch_size or auto_batch_size(m, with_grad=False, limit=64)

    probs = torch.empty(len(job_map), dtype=torch.float64)
    endpoints = []  # the softmax rows of the original and the blurred image
    with preserved(m.module), torch.inference_mode():
        base = gaussian_blur(x, sigma)
        targets = None
        for start, stop in _chunks(len(job_map), chunk):
            jm, kind, n = job_map_t[start:stop], job_kind_t[start:stop], job_n_t[start:stop]
            r = ranks[jm]
            keep = torch.where(
                (kind == _INSERT)[:, None, None],
                r < n[:, None, None],
                r >= n[:, None, None],
            )
            batch = torch.where(keep[:, None], x, base)
            masked = kind == _MASK
            if bool(masked.any()):
                batch[masked] = x * units[jm[masked]][:, None].to(x.dtype)
            p = m.logits(input_layout(batch, m)).float().softmax(-1)
            if targets is None:
                targets = _targets(items, given, p[:1], m)
            endpoints += list(p[: max(0, 2 - start)])
            probs[start:stop] = p.gather(1, targets[jm].view(-1, 1))[:, 0].double().cpu()
            report(stop, len(job_map))  # a widget's progress bar; a newer request cancels here

    shared = torch.stack(endpoints)[:, targets].double().cpu()  # (2, maps)
    fractions = counts / pixels
    results = []
    per_map = 2 * len(inner) + 1
    for j in range(k_maps):
        own = probs[2 + j * per_map : 2 + (j + 1) * per_map].numpy()
        p_x, p_b = float(shared[0, j]), float(shared[1, j])
        deletion = np.concatenate([[p_x], own[: len(inner)], [p_b]])
        insertion = np.concatenate([[p_b], own[len(inner) : 2 * len(inner)], [p_x]])
        p_m = float(own[-1])
        item = items[j]
        results.append(
            Faithfulness(
                fractions=fractions.copy(),
                deletion=deletion,
                insertion=insertion,
                deletion_auc=auc(deletion, fractions),
                insertion_auc=auc(insertion, fractions),
                # torchcam's guard against p(x) = 0 (a float32 softmax can underflow)
                average_drop=max(0.0, p_x - p_m) / (p_x + 1e-7),
                increase_in_confidence=bool(p_m > p_x),
                probability=p_x,
                baseline_probability=p_b,
                masked_probability=p_m,
                target=int(targets[j]),
                method=item.method if isinstance(item, Attribution) else None,
                steps=steps,
                sigma=sigma,
            )
        )
    return results[0] if single else results


def _targets(items: list, given: list | None, first: torch.Tensor, m) -> torch.Tensor:
    """One class per map: an Attribution's own, else ``target=`` (None: the top class of the
    original image, whose probabilities are ``first``)."""
    wanted = resolve_targets(given, first.expand(len(items), -1), m).tolist()
    out = []
    for i, (item, t) in enumerate(zip(items, wanted)):
        if isinstance(item, Attribution):
            if given is not None and given[i] is not None and t != item.target:
                raise ParameterError(
                    f"map {i} is an Attribution of class {item.target}; target={given[i]!r} "
                    "names another class (leave target=None to use the Attribution's)"
                )
            t = item.target
        if not 0 <= t < first.shape[-1]:
            raise ParameterError(
                f"map {i} explains class {t}, but this model has {first.shape[-1]} classes"
            )
        out.append(int(t))
    return torch.tensor(out, dtype=torch.long, device=first.device)
