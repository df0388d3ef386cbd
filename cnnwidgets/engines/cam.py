"""Class activation maps: one base does hooks, batching and upsampling; each method only says
how the map is made from the layer's activations A (N, K, h, w) and gradients G.

- ``gradcam`` (Selvaraju et al. 2017): alpha_k = mean over positions of G_k; sum_k alpha_k A_k.
- ``gradcam++`` (Chattopadhay et al. 2018): alpha_k = sum_ij relu(G) * G^2 / (2 G^2 +
  sum_ij(A_k) G^3), as pytorch-grad-cam computes it (the exp-of-score form of the paper).
- ``xgradcam`` (Fu et al. 2020): alpha_k = sum_ij G_k A_k / sum_ij A_k.
- ``layercam`` (Jiang et al. 2021): sum_k relu(G_k) * A_k, position by position.
- ``hirescam`` (Draelos and Carin 2020): sum_k G_k * A_k, position by position.
- ``scorecam`` (Wang et al. 2020): weights are the softmax over channels of the logits of the
  image masked by each channel's upsampled, min-max normalised map; no gradients.
- ``eigencam`` (Muhammad and Yeasin 2020): the first principal component of the (centred)
  activations, no gradients and no class; its sign is chosen so that it correlates
  positively with the summed activations (SVD leaves the sign arbitrary).

``.raw`` is the (h, w) map at the layer's resolution before the final ReLU; ``.map`` is
ReLU(raw) upsampled bilinearly to the input size and scaled per image to [0, 1] (min-max).

Speed: the model's parameters are frozen for the call, and the forward hook replaces the
layer's output by a copy of its detached value that requires grad, so no graph is built
before the layer and the backward pass stops there (pytorch-grad-cam and Captum go back
through the whole network and the weights). Gradient-free methods run in inference mode.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from .attribution import (Attribution, as_model, auto_batch_size, check_batch_size,
                          check_params, gather_scores, input_layout, is_batch, minmax_map,
                          resolve_targets)
from .guard import preserved
from .layers import capture, forward_hooks

GradMethod = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _gradcam(A, G):
    return (G.mean((2, 3), keepdim=True) * A).sum(1)


def _gradcam_pp(A, G):
    g2 = G * G
    g3 = g2 * G
    sum_a = A.sum((2, 3), keepdim=True)
    aij = g2 / (2 * g2 + sum_a * g3 + 1e-6)
    aij = torch.where(G != 0, aij, torch.zeros_like(aij))
    weights = (G.clamp(min=0) * aij).sum((2, 3), keepdim=True)
    return (weights * A).sum(1)


def _xgradcam(A, G):
    weights = (G * A / (A.sum((2, 3), keepdim=True) + 1e-7)).sum((2, 3), keepdim=True)
    return (weights * A).sum(1)


def _layercam(A, G):
    return (G.clamp(min=0) * A).sum(1)


def _hirescam(A, G):
    return (G * A).sum(1)


GRADIENT_METHODS: dict[str, GradMethod] = {
    "gradcam": _gradcam, "gradcam++": _gradcam_pp, "xgradcam": _xgradcam,
    "layercam": _layercam, "hirescam": _hirescam,
}
METHODS = (*GRADIENT_METHODS, "scorecam", "eigencam")
_ALIASES = {"grad-cam": "gradcam", "grad_cam": "gradcam", "gradcampp": "gradcam++",
            "gradcamplusplus": "gradcam++", "score-cam": "scorecam", "score_cam": "scorecam",
            "eigen-cam": "eigencam", "eigen_cam": "eigencam", "layer-cam": "layercam",
            "xgrad-cam": "xgradcam", "hires-cam": "hirescam"}


# ---- the base: activations (and gradients) of one layer ---------------------------------------
def _activations_and_grads(m, layer_module, layer: str, x: torch.Tensor, target: Any):
    """One forward (and a backward down to the layer only); returns A, G, logits, targets."""
    store: dict[str, torch.Tensor] = {}

    def hook(_mod, _inputs, out):
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"layer {layer!r} returns a {type(out).__name__}, not a tensor")
        act = out.detach().requires_grad_()
        store["act"] = act     # a module called twice keeps its last call
        # A non-leaf copy goes on: an in-place op after the layer (ReLU(inplace=True),
        # `out += identity`) then changes the copy, never the stored leaf.
        return act.clone()

    with torch.enable_grad(), forward_hooks({layer_module: hook}):
        logits = m.logits(x)
        targets = resolve_targets(target, logits, m)
        if "act" not in store:
            raise RuntimeError(f"layer {layer!r} was not called in the forward pass")
        score = gather_scores(logits, targets).sum()
        grad = torch.autograd.grad(score, store["act"], allow_unused=True)[0] \
            if score.requires_grad else None
    if grad is None:
        raise ValueError(f"the output does not depend on layer {layer!r}, so it has no "
                         "gradient; pick a layer on the path to the logits")
    return store["act"].detach(), grad, logits.detach(), targets


def _activations(m, layer_module, layer: str, x: torch.Tensor, target: Any):
    """One forward in inference mode; returns A, logits, targets."""
    with torch.inference_mode(), capture({layer: layer_module}) as store:
        logits = m.logits(x)
        targets = resolve_targets(target, logits, m)
    if layer not in store:
        raise RuntimeError(f"layer {layer!r} was not called in the forward pass")
    return store[layer], logits, targets


def _scorecam(m, A: torch.Tensor, x: torch.Tensor, targets: torch.Tensor, batch_size: int
              ) -> torch.Tensor:
    """Channel weights: softmax over channels of the target logit of x masked by each map.

    Masks are made batch by batch (never all N*K upsampled maps at once). A channel whose map
    is constant gives an all-zero mask, hence the logit of an all-zero input: computed once.
    """
    n, k = A.shape[:2]
    size = x.shape[-2:]
    flat = A.flatten(2)
    constant = (flat.amax(2) - flat.amin(2)) == 0            # (N, K)
    scores = torch.empty((n, k), device=A.device, dtype=torch.float32)
    with torch.inference_mode():
        if constant.any():
            zero = m.logits(torch.zeros_like(x[:1]))[0]
            scores[constant] = zero[targets].view(-1, 1).expand(n, k)[constant].float()
        pairs = (~constant).nonzero()                        # (P, 2): image, channel
        for start in range(0, len(pairs), batch_size):
            i, c = pairs[start:start + batch_size].unbind(1)
            up = F.interpolate(A[i, c][:, None], size=size, mode="bilinear", align_corners=True)
            lo = up.flatten(1).amin(1).view(-1, 1, 1, 1)
            hi = up.flatten(1).amax(1).view(-1, 1, 1, 1)
            mask = (up - lo) / (hi - lo + 1e-8)
            logits = m.logits(input_layout(x[i] * mask, m))
            scores[i, c] = gather_scores(logits, targets[i]).float()
    weights = scores.softmax(1).to(A.dtype)
    return (weights[:, :, None, None] * A).sum(1)


def _eigencam(A: torch.Tensor) -> torch.Tensor:
    """First principal component of the positions' activation vectors, per image."""
    n, k, h, w = A.shape
    R = A.flatten(2).transpose(1, 2).double()                # (N, hw, K)
    Rc = R - R.mean(1, keepdim=True)
    _, _, Vh = torch.linalg.svd(Rc, full_matrices=False)
    proj = (Rc @ Vh[:, 0, :, None])[..., 0]                  # (N, hw)
    total = R.sum(2)
    sign = torch.sign(((total - total.mean(1, keepdim=True)) * proj).sum(1, keepdim=True))
    proj = proj * torch.where(sign == 0, torch.ones_like(sign), sign)
    return proj.view(n, h, w).to(A.dtype)


def _spatial_layer(m, layer: str | None) -> str:
    if layer is None:
        return m.default_cam_layer
    m.check_layer(layer)
    if not m.layer_info[layer].spatial:
        raise ValueError(f"layer {layer!r} gives an output of shape {m.layer_info[layer].shape}, "
                         "not a spatial (C, H, W) map, so it has no CAM. Spatial layers: "
                         f"{', '.join(m.spatial_layers)}")
    return layer


def cam(model, images: Any, layer: str | None = None, target: Any = None,
        method: str = "gradcam", *, batch_size: int | None = None, **params
        ) -> Attribution | list[Attribution]:
    """Class activation map of ``target`` at ``layer``; see the module doc for the methods.

    ``layer=None`` uses ``m.default_cam_layer`` (the last layer with a spatial output); a
    wrong name raises :class:`~cnnwidgets.LayerNotFoundError` listing the valid ones.
    ``images``: one image gives an :class:`Attribution`, a list (or a 4-D tensor of more than
    one) gives a list. ``target``: None (each image's top class), a class index or label
    name, or one per image. ``batch_size`` caps the images per forward pass (and, for
    Score-CAM, the masked inputs per forward pass).
    """
    m = as_model(model)
    name = _ALIASES.get(str(method).lower(), str(method).lower())
    if name not in METHODS:
        raise ValueError(f"unknown CAM method {method!r}; methods: {', '.join(METHODS)}")
    check_params(name, params, ())
    check_batch_size(batch_size)
    layer = _spatial_layer(m, layer)
    layer_module = m.module_of(layer)
    x = input_layout(m.prepare(images), m)
    n = x.shape[0]
    if isinstance(target, (list, tuple, np.ndarray, torch.Tensor)) and len(target) != n:
        raise ValueError(f"got {len(target)} targets for {n} images: give one per image, a "
                         "single class for all, or None for each image's top class")
    per_target = target if isinstance(target, (list, tuple, np.ndarray, torch.Tensor)) else None

    # The graph starts at the layer, so a forward here needs about what an inference one does.
    chunk = batch_size or auto_batch_size(m, with_grad=False, limit=256)
    raws, all_targets, all_scores = [], [], []
    with preserved(m.module):
        for start in range(0, n, chunk):
            xs = x[start:start + chunk]
            ts = per_target[start:start + chunk] if per_target is not None else target
            if name in GRADIENT_METHODS:
                A, G, logits, t = _activations_and_grads(m, layer_module, layer, xs, ts)
                raw = GRADIENT_METHODS[name](A, G)
            else:
                A, logits, t = _activations(m, layer_module, layer, xs, ts)
                raw = _eigencam(A) if name == "eigencam" else _scorecam(m, A, xs, t, chunk)
            raws.append(raw.detach().float())
            all_targets.append(t)
            all_scores.append(gather_scores(logits, t).float())
        raw = torch.cat(raws)
        up = F.interpolate(raw.clamp(min=0)[:, None], size=x.shape[-2:], mode="bilinear",
                           align_corners=False)[:, 0]
        maps = minmax_map(up).cpu().numpy()
    raw_np = raw.cpu().contiguous().numpy()
    targets = torch.cat(all_targets).tolist()
    scores = torch.cat(all_scores).cpu().tolist()
    results = [Attribution(map=mp, raw=r, target=int(t), score=float(s), method=name,
                           layer=layer)
               for mp, r, t, s in zip(maps, raw_np, targets, scores)]
    return results if is_batch(images) else results[0]
