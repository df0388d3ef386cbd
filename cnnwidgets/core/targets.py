"""Which class each image is explained for: ``target`` arguments resolved against logits."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import torch

from .errors import ParameterError


def target_list(target: Any, n: int) -> list | None:
    """``target`` as one entry per image (None: each image's top class everywhere).

    Accepts None, an int or label name (the same for every image), a 0-d tensor or array (one
    class), or a sequence / 1-d tensor / array with one entry per image.
    """
    if target is None:
        return None
    if isinstance(target, (torch.Tensor, np.ndarray)):
        if target.ndim > 1:
            raise ParameterError(
                f"targets must be one class per image, got an array of shape {tuple(target.shape)}"
            )
        target = target.tolist()
    items = list(target) if isinstance(target, (list, tuple)) else [target] * n
    if len(items) != n:
        raise ParameterError(
            f"got {len(items)} targets for {n} images: give one per image, a "
            "single class for all, or None for each image's top class"
        )
    return items


def resolve_targets(target: Any, logits: torch.Tensor, model=None) -> torch.Tensor:
    """One class index per image, as a long tensor on the logits' device.

    ``target``: see :func:`target_list`; names are looked up in ``model.labels``. A class the
    model does not have, or a value that is not a class, raises :class:`ParameterError`.
    """
    n, classes = logits.shape[0], logits.shape[-1]
    items = target_list(target, n)
    if items is None:
        return logits.detach().argmax(-1)
    out = []
    for t in items:
        if isinstance(t, (torch.Tensor, np.ndarray)) and t.ndim == 0:
            t = t.item()  # a 0-d tensor or array inside a list: its number
        if t is None:
            out.append(None)
            continue
        if isinstance(t, str):
            t = _label_index(t, model)
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer)):
            raise ParameterError(
                f"a target is a class index (a whole number), a label name or None, not "
                f"{t!r} (a {type(t).__name__})"
            )
        t = int(t)
        if not 0 <= t < classes:
            raise ParameterError(
                f"target class {t} out of range: this model has {classes} "
                f"classes (0..{classes - 1})"
            )
        out.append(t)
    top = logits.detach().argmax(-1).tolist() if None in out else None
    return torch.tensor(
        [top[i] if t is None else t for i, t in enumerate(out)],
        dtype=torch.long,
        device=logits.device,
    )


def _label_index(name: str, model) -> int:
    labels = list(model.labels) if model is not None else []
    if name in labels:
        return labels.index(name)
    close = difflib.get_close_matches(name, labels, n=5, cutoff=0.4)
    hint = (
        f"did you mean {', '.join(map(repr, close))}?"
        if close
        else f"the model's classes are {', '.join(map(repr, labels[:5]))}, ... (see m.labels)"
    )
    raise ParameterError(f"no class named {name!r}; {hint}")


def gather_scores(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """logits[i, targets[i]] for every row."""
    return logits.gather(1, targets.view(-1, 1))[:, 0]
