"""Class activation maps: one base does hooks, batching and upsampling; each method only says
how the map is made from the layer's activations A (N, K, h, w) and, for gradient methods, their
gradients G (pytorch-grad-cam's extension point).

Every method is an entry of :data:`CAM_METHODS`. A gradient method is registered with
``gradient=True`` and computes ``fn(A, G, call, **params) -> (N, h, w)``; a gradient-free one
gets ``G=None`` and may run the model again through ``call`` (Score-CAM does). Register your
own with ``@cw.cam_methods.register(name, gradient=True, ...)``.

``.raw`` is the (h, w) map at the layer's resolution before the final ReLU; ``.map`` is
ReLU(raw) upsampled bilinearly to the input size and scaled per image to [0, 1] (min-max).

Speed: the model's parameters are frozen for the call, and the forward hook replaces the
layer's output by a copy of its detached value that requires grad, so no graph is built
before the layer and the backward pass stops there (pytorch-grad-cam and Captum go back
through the whole network and the weights). Gradient-free methods run in inference mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..core.guard import preserved
from ..core.hooks import capture, forward_hooks
from ..core.inputs import auto_batch_size, check_batch_size, input_layout, is_batch
from ..core.model_base import as_model
from ..core.progress import part, report
from ..core.registry import Param, Registry
from ..core.targets import gather_scores, resolve_targets, target_list
from .maps import Attribution, minmax_map
from .noise_tunnel import NOISE_PARAMS, smooth

CAM_METHODS = Registry("CAM method")


@dataclass
class CamCall:
    """What a CAM method may use beyond A and G: the ``model``, the input chunk ``x``, its
    ``targets`` and the ``batch_size`` for extra forward passes."""

    model: Any
    x: torch.Tensor
    targets: torch.Tensor
    batch_size: int


# ---- gradient methods -----------------------------------------------------------------------
@CAM_METHODS.register(
    "gradcam",
    label="Grad-CAM",
    gradient=True,
    reference="Selvaraju et al. 2017, arXiv:1610.02391",
    description="channels weighted by their mean gradient",
    aliases=("grad-cam", "grad_cam"),
)
def _gradcam(A, G, call):
    return (G.mean((2, 3), keepdim=True) * A).sum(1)


@CAM_METHODS.register(
    "gradcam_plus_plus",
    label="Grad-CAM++",
    gradient=True,
    reference="Chattopadhay et al. 2018, arXiv:1710.11063",
    description="channels weighted by positive gradients with per-position "
    "coefficients from second and third powers of the gradient "
    "(pytorch-grad-cam's form)",
    aliases=("gradcampp", "gradcamplusplus", "grad-cam++"),
    deprecated_aliases=("gradcam++",),
)
def _gradcam_plus_plus(A, G, call):
    g2 = G * G
    g3 = g2 * G
    sum_a = A.sum((2, 3), keepdim=True)
    aij = g2 / (2 * g2 + sum_a * g3 + 1e-6)
    aij = torch.where(G != 0, aij, torch.zeros_like(aij))
    weights = (G.clamp(min=0) * aij).sum((2, 3), keepdim=True)
    return (weights * A).sum(1)


@CAM_METHODS.register(
    "xgradcam",
    label="XGrad-CAM",
    gradient=True,
    reference="Fu et al. 2020, arXiv:2008.02312",
    description="weights sum_ij G A / sum_ij A (axiom-based)",
    aliases=("xgrad-cam",),
)
def _xgradcam(A, G, call):
    weights = (G * A / (A.sum((2, 3), keepdim=True) + 1e-7)).sum((2, 3), keepdim=True)
    return (weights * A).sum(1)


@CAM_METHODS.register(
    "layercam",
    label="LayerCAM",
    gradient=True,
    reference="Jiang et al. 2021, IEEE TIP 30:5875",
    description="positive gradients times activations, position by position",
    aliases=("layer-cam",),
)
def _layercam(A, G, call):
    return (G.clamp(min=0) * A).sum(1)


@CAM_METHODS.register(
    "hirescam",
    label="HiResCAM",
    gradient=True,
    reference="Draelos and Carin 2020, arXiv:2011.08891",
    description="gradients times activations, position by position",
    aliases=("hires-cam",),
)
def _hirescam(A, G, call):
    return (G * A).sum(1)


# ---- gradient-free methods ------------------------------------------------------------------
@CAM_METHODS.register(
    "scorecam",
    label="Score-CAM",
    gradient=False,
    reference="Wang et al. 2020, arXiv:1910.01279",
    description="channels weighted by the softmax over channels of the logit "
    "of the image masked by each channel's map",
    aliases=("score-cam", "score_cam"),
)
def _scorecam_method(A, G, call):
    return _scorecam(call.model, A, call.x, call.targets, call.batch_size)


@CAM_METHODS.register(
    "eigencam",
    label="Eigen-CAM",
    gradient=False,
    reference="Muhammad and Yeasin 2020, arXiv:2008.00299",
    description="the first principal component of the activations (no "
    "gradient, no class); signed to correlate with their sum",
    aliases=("eigen-cam", "eigen_cam"),
)
def _eigencam_method(A, G, call):
    return _eigencam(A)


def _scorecam(
    m, A: torch.Tensor, x: torch.Tensor, targets: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """Channel weights: softmax over channels of the target logit of x masked by each map.

    Masks are made batch by batch (never all N*K upsampled maps at once). A channel whose map
    is constant gives an all-zero mask, hence the logit of an all-zero input: computed once.
    """
    n, k = A.shape[:2]
    size = x.shape[-2:]
    flat = A.flatten(2)
    constant = (flat.amax(2) - flat.amin(2)) == 0  # (N, K)
    scores = torch.empty((n, k), device=A.device, dtype=torch.float32)
    with torch.inference_mode():
        if constant.any():
            zero = m.logits(torch.zeros_like(x[:1]))[0]
            scores[constant] = zero[targets].view(-1, 1).expand(n, k)[constant].float()
        pairs = (~constant).nonzero()  # (P, 2): image, channel
        report(0, len(pairs))
        for start in range(0, len(pairs), batch_size):
            i, c = pairs[start : start + batch_size].unbind(1)
            up = F.interpolate(A[i, c][:, None], size=size, mode="bilinear", align_corners=True)
            lo = up.flatten(1).amin(1).view(-1, 1, 1, 1)
            hi = up.flatten(1).amax(1).view(-1, 1, 1, 1)
            mask = (up - lo) / (hi - lo + 1e-8)
            logits = m.logits(input_layout(x[i] * mask, m))
            scores[i, c] = gather_scores(logits, targets[i]).float()
            # One forward pass per batch of masks: Score-CAM's long part, reported (and
            # cancellable) batch by batch.
            report(start + len(i), len(pairs))
    weights = scores.softmax(1).to(A.dtype)
    return (weights[:, :, None, None] * A).sum(1)


def _eigencam(A: torch.Tensor) -> torch.Tensor:
    """First principal component of the positions' activation vectors, per image."""
    n, k, h, w = A.shape
    R = A.flatten(2).transpose(1, 2).double()  # (N, hw, K)
    Rc = R - R.mean(1, keepdim=True)
    _, _, Vh = torch.linalg.svd(Rc, full_matrices=False)
    proj = (Rc @ Vh[:, 0, :, None])[..., 0]  # (N, hw)
    total = R.sum(2)
    sign = torch.sign(((total - total.mean(1, keepdim=True)) * proj).sum(1, keepdim=True))
    proj = proj * torch.where(sign == 0, torch.ones_like(sign), sign)
    return proj.view(n, h, w).to(A.dtype)


def _eigencam(A: torch.Tensor) -> torch.Tensor:
    """First principal component of the positions' activation vectors, per image."""
    n, k, h, w = A.shape
    R = A.flatten(2).transpose(1, 2).double()  # (N, hw, K)
    Rc = R - R.mean(1, keepdim=True)
    _, _, Vh = torch.linalg.svd(Rc, full_matrices=False)
    proj = (Rc @ Vh[:, 0, :, None])[..., 0]  # (N, hw)
    total = R.sum(2)
    sign = torch.sign(((total - total.mean(1, keepdim=True)) * proj).sum(1, keepdim=True))
    proj = proj * torch.where(sign == 0, torch.ones_like(sign), sign)
    return proj.view(n, h, w).to(A.dtype)


def _smoothable() -> list[str]:
    return [name for name in CAM_METHODS.names() if name != "smoothgrad"]


@CAM_METHODS.register(
    "smoothgrad",
    label="SmoothGrad of a CAM",
    gradient=None,
    reference="Omeiza et al. 2019, arXiv:1908.01224 (Smooth Grad-CAM++)",
    description="another CAM method averaged over noisy copies of the input",
    params=(
        Param(
            "base",
            "choice",
            "gradcam",
            choices=_smoothable,
            help="the CAM method that runs on every noisy copy",
        ),
        *NOISE_PARAMS,
    ),
)
def _smoothgrad_cam(A, G, call):  # pragma: no cover - cam() runs the wrapper itself
    raise AssertionError("smoothgrad is computed by cam() around its base method")


# ---- the base: activations (and gradients) of one layer ---------------------------------------
def _activations_and_grads(m, layer_module, layer: str, x: torch.Tensor, target: Any):
    """One forward (and a backward down to the layer only); returns A, G, logits, targets.

    ``layer_module``: ``(module, call)`` from :meth:`Model.resolve_layer`; the hook acts on
    that call only, as every other engine's does."""
    store: dict[str, torch.Tensor] = {}

    def hook(_mod, _inputs, out):
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"layer {layer!r} returns a {type(out).__name__}, not a tensor")
        act = out.detach().requires_grad_()
        store["act"] = act
        # A non-leaf copy goes on: an in-place op after the layer (ReLU(inplace=True),
        # `out += identity`) then changes the copy, never the stored leaf.
        return act.clone()

    with torch.enable_grad(), forward_hooks({layer_module: hook}):
        logits = m.logits(x)
        targets = resolve_targets(target, logits, m)
        if "act" not in store:
            raise RuntimeError(f"layer {layer!r} was not called in the forward pass")
        score = gather_scores(logits, targets).sum()
        grad = (
            torch.autograd.grad(score, store["act"], allow_unused=True)[0]
            if score.requires_grad
            else None
        )
    if grad is None:
        raise ValueError(
            f"the output does not depend on layer {layer!r}, so it has no "
            "gradient; pick a layer on the path to the logits"
        )
    return store["act"].detach(), grad, logits.detach(), targets


def _activations(m, layer_module, layer: str, x: torch.Tensor, target: Any):
    """One forward in inference mode; returns A, logits, targets."""
    with torch.inference_mode(), capture({layer: layer_module}) as store:
        logits = m.logits(x)
        targets = resolve_targets(target, logits, m)
    if layer not in store:
        raise RuntimeError(f"layer {layer!r} was not called in the forward pass")
    return store[layer], logits, targets


def _spatial_layer(m, layer: str | None) -> str:
    if layer is None:
        return m.default_cam_layer
    m.check_layer(layer)
    if not m.layer_info[layer].spatial:
        raise ValueError(
            f"layer {layer!r} gives an output of shape {m.layer_info[layer].shape}, "
            "not a spatial (C, H, W) map, so it has no CAM. Spatial layers: "
            f"{', '.join(m.spatial_layers)}"
        )
    return layer


def _raw_maps(
    m, layer: str, layer_module, x: torch.Tensor, target: Any, entry, params: dict, chunk: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Raw maps (N, h, w), logits and targets of one chunk of inputs for a non-wrapper method."""
    if entry.extra.get("gradient"):
        A, G, logits, t = _activations_and_grads(m, layer_module, layer, x, target)
    else:
        A, logits, t = _activations(m, layer_module, layer, x, target)
        G = None
    raw = entry.fn(A, G, CamCall(m, x, t, chunk), **params)
    return raw.detach().float(), logits, t


def cam(
    model,
    images: Any,
    layer: str | None = None,
    target: Any = None,
    method: str = "gradcam",
    *,
    batch_size: int | None = None,
    **params,
) -> Attribution | list[Attribution]:
    """Class activation map of ``target`` at ``layer``, by a method of :data:`CAM_METHODS`.

    ``layer=None`` uses ``m.default_cam_layer`` (the last layer with a spatial output); a
    wrong name raises :class:`~cnnwidgets.LayerNotFoundError` listing the valid ones.
    ``images``: one image gives an :class:`Attribution`, a list (or a 4-D tensor of more than
    one) gives a list. ``target``: None (each image's top class), a class index or label
    name, or one per image. ``params``: the method's parameters (``smoothgrad``: ``base``,
    ``n_samples``, ``noise``, ``seed``). ``batch_size`` caps the images per forward pass
    (and, for Score-CAM and SmoothGrad, the extra inputs per forward pass).
    """
    m = as_model(model)
    entry = CAM_METHODS.get(method)
    used = entry.resolve(params)
    check_batch_size(batch_size)
    layer = _spatial_layer(m, layer)
    layer_module = m.resolve_layer(layer)
    x = input_layout(m.prepare(images), m)
    n = x.shape[0]
    per_target = target_list(target, n)

    # The graph starts at the layer, so a forward here needs about what an inference one does.
    chunk = batch_size or auto_batch_size(m, with_grad=False, limit=256)
    raws, all_targets, all_scores = [], [], []
    with preserved(m.module):
        if entry.name == "smoothgrad":
            base = CAM_METHODS.get(used["base"])
            with torch.inference_mode():
                logits = m.logits(x).clone()
            t = resolve_targets(per_target, logits, m)

            def raw_fn(xs, ts):
                return _raw_maps(m, layer, layer_module, xs, ts, base, base.resolve({}), chunk)[0]

            raws.append(
                smooth(
                    raw_fn,
                    x,
                    t,
                    n_samples=used["n_samples"],
                    noise=used["noise"],
                    seed=used["seed"],
                    batch_size=chunk,
                )
            )
            all_targets.append(t)
            all_scores.append(gather_scores(logits, t).float())
        else:
            for start in range(0, n, chunk):
                ts = per_target[start : start + chunk] if per_target is not None else None
                stop = min(start + chunk, n)
                with part(start, stop, n):
                    raw, logits, t = _raw_maps(
                        m, layer, layer_module, x[start:stop], ts, entry, used, chunk
                    )
                report(stop, n)
                raws.append(raw)
                all_targets.append(t)
                all_scores.append(gather_scores(logits, t).float())
        raw = torch.cat(raws)
        up = F.interpolate(
            raw.clamp(min=0)[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False
        )[:, 0]
        maps = minmax_map(up).cpu().numpy()
    raw_np = raw.cpu().contiguous().numpy()
    targets = torch.cat(all_targets).tolist()
    scores = torch.cat(all_scores).cpu().tolist()
    shown = {k: v for k, v in used.items() if isinstance(v, (str, int, float, bool))}
    results = [
        Attribution(
            map=mp,
            raw=r,
            target=int(t),
            score=float(s),
            method=entry.name,
            layer=layer,
            params=dict(shown),
        )
        for mp, r, t, s in zip(maps, raw_np, targets, scores)
    ]
    return results if is_batch(images) else results[0]
