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
