"""The result of an attribution method, and the small helpers every engine shares."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch


@dataclass(eq=False)
class Attribution:
    """One image's attribution for one target class.

    ``map``: (H, W) float32 in [0, 1] at the model's input resolution, for display.
    ``raw``: the signed, unnormalised values (saliency: (C, H, W) with respect to the input
    tensor; CAM: (h, w) at the layer's resolution, before the ReLU where the method has one).
    ``target``: the class explained; ``score``: its logit; ``method``; ``layer`` (CAM only);
    ``params``: the method's parameters as used. ``np.asarray(a)`` gives ``a.map``.
    """

    map: np.ndarray
    raw: np.ndarray
    target: int
    score: float
    method: str
    layer: str | None = None
    params: dict = field(default_factory=dict)

    def __array__(self, dtype=None, copy=None):
        a = self.map if dtype is None else self.map.astype(dtype)
        return a.copy() if copy else a

    def __repr__(self) -> str:
        where = f", layer={self.layer!r}" if self.layer else ""
        return (f"Attribution(method={self.method!r}{where}, target={self.target}, "
                f"score={self.score:.4g}, map={self.map.shape}, raw={self.raw.shape})")


def as_model(model: Any):
    """The :class:`~cnnwidgets.Model` behind ``model``; a plain module gets a clear error."""
    from ..models.wrapper import Model

    if isinstance(model, Model):
        return model
    if isinstance(model, torch.nn.Module):
        raise TypeError("engines take a cnnwidgets Model, which knows the preprocessing: wrap "
                        "the module first with cw.load_model(module, mean=..., std=..., "
                        "input_size=...)")
    raise TypeError(f"expected a cnnwidgets Model (cw.load_model(...)), got a {type(model).__name__}")


def is_batch(images: Any) -> bool:
    """A list/tuple of images, or a 4-D tensor of more than one, gives one result per image."""
    if isinstance(images, (list, tuple)):
        return True
    return isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[0] > 1


def resolve_targets(target: Any, logits: torch.Tensor, model=None) -> torch.Tensor:
    """One class index per image, as a long tensor on the logits' device.

    ``target``: None (the top class of each image), an int or a label name (the same class for
    every image; names are looked up in ``model.labels``), or a list/array/tensor with one
    entry per image. Raises ``IndexError`` for a
    class the model does not have and ``ValueError`` for a list of the wrong length.
    """
    n, classes = logits.shape[0], logits.shape[-1]
    if target is None:
        return logits.detach().argmax(-1)
    if isinstance(target, torch.Tensor):
        target = target.tolist()
    elif isinstance(target, np.ndarray):
        target = target.tolist()
    items = list(target) if isinstance(target, (list, tuple)) else [target] * n
    if len(items) != n:
        raise ValueError(f"got {len(items)} targets for {n} images: give one per image, a "
                         "single class for all, or None for each image's top class")
    out = []
    for t in items:
        if t is None:
            out.append(None)
            continue
        if isinstance(t, str):
            t = _label_index(t, model)
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise TypeError(f"a target is a class index (int), a label name or None, not {t!r}")
        t = int(t)
        if not 0 <= t < classes:
            raise IndexError(f"target class {t} out of range: this model has {classes} classes "
                             f"(0..{classes - 1})")
        out.append(t)
    top = logits.detach().argmax(-1).tolist() if None in out else None
    return torch.tensor([top[i] if t is None else t for i, t in enumerate(out)],
                        dtype=torch.long, device=logits.device)


def _label_index(name: str, model) -> int:
    labels = list(model.labels) if model is not None else []
    if name in labels:
        return labels.index(name)
    import difflib

    close = difflib.get_close_matches(name, labels, n=5, cutoff=0.4)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else \
        f"the model's classes are {', '.join(map(repr, labels[:5]))}, ... (see m.labels)"
    raise ValueError(f"no class named {name!r}; {hint}")


def gather_scores(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """logits[i, targets[i]] for every row."""
    return logits.gather(1, targets.view(-1, 1))[:, 0]


def percentile_map(values: np.ndarray, percentile: float = 99.0) -> np.ndarray:
    """Non-negative (H, W) values -> [0, 1], clipped at a high percentile (outliers saturate)."""
    v = np.asarray(values, dtype=np.float32)
    hi = _percentile(v.ravel(), percentile) if v.size else 0.0
    if hi <= 0:
        hi = float(v.max()) if v.size else 0.0
    if hi <= 0:
        return np.zeros_like(v)
    return np.clip(v / hi, 0.0, 1.0)


def _percentile(flat: np.ndarray, q: float) -> float:
    """np.percentile's default (linear) value from a partial sort: half its time on a 224 x 224
    map, which matters on the batch-1 path where the whole call is tens of milliseconds."""
    pos = q / 100.0 * (flat.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, flat.size - 1)
    part = np.partition(flat, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


def minmax_map(values: torch.Tensor) -> torch.Tensor:
    """Scale each (H, W) map of an (N, H, W) batch to [0, 1] between its own min and max."""
    flat = values.flatten(1)
    lo = flat.min(1).values.view(-1, 1, 1)
    hi = flat.max(1).values.view(-1, 1, 1)
    span = hi - lo
    return torch.where(span > 0, (values - lo) / span.clamp_min(1e-30), torch.zeros_like(values))


# Memory budget for the samples of one internal batch (SmoothGrad, Integrated Gradients,
# Score-CAM): a quarter of the free GPU memory, or this many bytes on the CPU.
CPU_BUDGET_BYTES = 2 << 30


def activation_bytes(model) -> int:
    """Bytes of the outputs of all leaf layers for one input: what a forward with autograd keeps."""
    mods = dict(model.module.named_modules())
    info = [i for i in model.layer_info.values() if not any(True for _ in mods[i.name].children())]
    itemsize = next((p.element_size() for p in model.module.parameters()), 4)
    return max(1, sum(int(np.prod(i.shape)) for i in info) * itemsize)


def auto_batch_size(model, *, with_grad: bool, limit: int = 64) -> int:
    """How many inputs one internal batch may hold so that it fits the memory budget."""
    device = model.device
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        budget = free // 4
    else:
        budget = CPU_BUDGET_BYTES
    # Backward keeps the forward's activations and creates gradients of the same size.
    per_input = activation_bytes(model) * (3 if with_grad else 1)
    return int(max(1, min(limit, budget // per_input)))


def input_layout(x: torch.Tensor, model) -> torch.Tensor:
    """``x`` in the memory layout of the model's weights: channels-last for a channels-last
    model (see :meth:`Model.set_channels_last`), NCHW otherwise.

    Mixed layouts are the slow case: oneDNN then reorders every weight on every call (ResNet-18,
    batch 1, forward + backward: 73 ms against 58 ms with matching layouts, either way).
    """
    if x.ndim == 4 and model.channels_last:
        return x.contiguous(memory_format=torch.channels_last)
    return x.contiguous()


def check_batch_size(batch_size: Any) -> None:
    if batch_size is not None and (isinstance(batch_size, bool) or
                                   not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")


def check_params(method: str, params: dict, accepted: Sequence[str]) -> None:
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(f"method {method!r} takes no parameter {', '.join(map(repr, unknown))}; "
                        f"its parameters: {', '.join(accepted) or 'none'}")
