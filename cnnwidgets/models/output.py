"""Pick the logits out of whatever a model returns (tensor, tuple, dict, named tuple).

Guessing wrong is a silent wrong answer: a model that returns ``(features, logits)`` would be
explained through its features. So the logits are picked without ``output=`` only where that
is certain, and otherwise the error shows the output's structure and how to pick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..core.errors import ModelOutputError

OutputSpec = None | int | str | Callable[[Any], torch.Tensor]

_HOW = (
    "pass output= to cw.load_model: an index (output=1 for the second element of a tuple), "
    'a key or attribute name (output="logits"), or a function of the output '
    '(output=lambda out: out["class_scores"])'
)


def describe_output(output: Any, indent: str = "  ", _path: str = "") -> list[str]:
    """One line per element of a (nested) model output: its path, type and shape."""
    if isinstance(output, torch.Tensor):
        dtype = str(output.dtype).replace("torch.", "")
        return [f"{indent}{_path or 'output'} Tensor {tuple(output.shape)} {dtype}".rstrip()]
    if _is_namedtuple(output):
        lines = [f"{indent}{_path or 'output'} {type(output).__name__} (named tuple)"]
        for field in output._fields:
            lines += describe_output(getattr(output, field), indent + "  ", f"{_path}.{field}")
        return lines
    if isinstance(output, (tuple, list)):
        lines = [f"{indent}{_path or 'output'} {type(output).__name__} of {len(output)}"]
        for i, item in enumerate(output):
            lines += describe_output(item, indent + "  ", f"{_path}[{i}]")
        return lines
    if isinstance(output, dict):
        lines = [f"{indent}{_path or 'output'} {type(output).__name__} of {len(output)}"]
        for key, item in output.items():
            lines += describe_output(item, indent + "  ", f"{_path}[{key!r}]")
        return lines
    return [f"{indent}{_path or 'output'} {type(output).__name__}"]


def _structure(output: Any) -> str:
    return "\n".join(describe_output(output))


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _tensors(output: Any, path: tuple = ()) -> list[tuple[tuple, torch.Tensor]]:
    """Every tensor in a nested output, with its path of indices and keys."""
    if isinstance(output, torch.Tensor):
        return [(path, output)]
    if isinstance(output, (tuple, list)):
        return [t for i, item in enumerate(output) for t in _tensors(item, (*path, i))]
    if isinstance(output, dict):
        return [t for k, item in output.items() for t in _tensors(item, (*path, k))]
    return []


def _guess(output: Any, classes: int | None, batch: int | None) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, dict) and isinstance(output.get("logits"), torch.Tensor):
        return output["logits"]
    # Logits are (N, classes): only such tensors are candidates (a feature map is not).
    found = [
        t for _, t in _tensors(output) if t.ndim == 2 and (batch is None or t.shape[0] == batch)
    ]
    if classes is not None:
        fits = [t for t in found if t.shape[-1] == classes]
        if len(fits) == 1:
            return fits[0]
        why = (
            f"{len(fits)} of its tensors have {classes} values per image, as many as the labels"
            if fits
            else f"none of its tensors has {classes} values per image, one per label"
        )
    elif len(found) == 1:
        return found[0]
    else:
        why = (
            f"{len(found)} of its tensors are (images, values) tables and none is named logits"
            if found
            else "none of its tensors is an (images, classes) table"
        )
    raise ModelOutputError(
        f"cannot tell which part of the model's output holds the logits: {why}. "
        f"The output:\n{_structure(output)}\nTo pick, {_HOW}"
    )


def _pick(output: Any, spec: OutputSpec) -> Any:
    if callable(spec):
        name = getattr(spec, "__name__", type(spec).__name__)
        try:
            return spec(output)
        except Exception as exc:
            raise ModelOutputError(
                f"the output= function {name} raised {type(exc).__name__}: {exc}. "
                f"The model's output:\n{_structure(output)}"
            ) from exc
    if isinstance(spec, bool) or not isinstance(spec, (int, str)):
        raise ModelOutputError(f"output={spec!r} is not an index, a key or a function. {_HOW}")
    if isinstance(spec, int):
        if not isinstance(output, (tuple, list)):
            raise ModelOutputError(
                f"output={spec} indexes a tuple or list, but the model returns a "
                f"{type(output).__name__}:\n{_structure(output)}"
            )
        if not -len(output) <= spec < len(output):
            raise ModelOutputError(
                f"output={spec} is out of range: the model returns a "
                f"{type(output).__name__} of {len(output)}:\n{_structure(output)}"
            )
        return output[spec]
    if isinstance(output, dict):
        if spec not in output:
            raise ModelOutputError(
                f"output={spec!r}: the model's output has no such key; its keys are "
                f"{', '.join(map(repr, output))}:\n{_structure(output)}"
            )
        return output[spec]
    if not hasattr(output, spec):
        raise ModelOutputError(
            f"output={spec!r}: the model's output ({type(output).__name__}) has no such "
            f"attribute:\n{_structure(output)}"
        )
    return getattr(output, spec)


def select_output(
    output: Any, spec: OutputSpec = None, *, classes: int | None = None, batch: int | None = None
) -> torch.Tensor:
    """Return the (N, classes) logits tensor from a model's output.

    ``spec``: an int indexes a tuple/list, a str keys a dict or names an attribute, a callable
    receives the raw output. None picks only where that is certain: the output itself when it
    is a tensor; its ``.logits`` attribute or ``"logits"`` key; or the one (N, K) tensor
    anywhere in the output (with ``classes``, the number of labels the model was given: the
    one whose K is ``classes``). Anything else raises :class:`ModelOutputError` showing the
    output's structure and how to pick. ``batch``: the number of input images, checked
    against the result's first dimension.
    """
    result = _guess(output, classes, batch) if spec is None else _pick(output, spec)
    chosen = "the model's output" if spec is None else f"the output picked by output={spec!r}"
    if not isinstance(result, torch.Tensor):
        raise ModelOutputError(
            f"{chosen} is a {type(result).__name__}, not a tensor. The output:\n"
            f"{_structure(output)}\nTo pick the logits, {_HOW}"
        )
    if result.ndim != 2 or (batch is not None and result.shape[0] != batch):
        want = "(N, classes)" if batch is None else f"(N, classes) with N = {batch} images"
        raise ModelOutputError(
            f"{chosen} has shape {tuple(result.shape)}, but logits are {want}. The output:"
            f"\n{_structure(output)}\nTo pick the logits, {_HOW}"
        )
    return result
