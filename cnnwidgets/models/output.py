"""Pick the logits out of whatever a model returns (tensor, tuple, dict, named tuple)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

OutputSpec = None | int | str | Callable[[Any], torch.Tensor]
_LOGIT_KEYS = ("logits", "out", "output", "pred", "scores")


def select_output(output: Any, spec: OutputSpec = None) -> torch.Tensor:
    """Return the (N, classes) logits tensor from a model's output.

    ``spec``: None picks automatically (the tensor itself; ``.logits`` of a named tuple; the
    first of a tuple/list; the "logits"/"out" entry of a dict, else its first value); an int
    indexes a tuple/list, a str keys a dict or names an attribute; a callable receives the raw
    output.
    """
    if callable(spec):
        result = spec(output)
    elif isinstance(spec, int):
        result = output[spec]
    elif isinstance(spec, str):
        result = output[spec] if isinstance(output, dict) else getattr(output, spec)
    elif isinstance(output, torch.Tensor):
        result = output
    elif hasattr(output, "logits") and isinstance(output.logits, torch.Tensor):
        result = output.logits
    elif isinstance(output, dict):
        key = next((k for k in _LOGIT_KEYS if k in output), next(iter(output)))
        result = output[key]
    elif isinstance(output, (tuple, list)):
        result = output[0]
    else:
        raise TypeError(
            f"cannot find logits in a model output of type {type(output).__name__}; "
            "pass output=<index, key or function> to load_model"
        )
    if not isinstance(result, torch.Tensor):
        raise TypeError(f"the selected model output is a {type(result).__name__}, not a tensor")
    return result
