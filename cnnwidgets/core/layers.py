"""Layers of a model: discovery with output shapes, and name checks whose errors list the
valid names.

A layer is named as in ``named_modules()``. A module that runs more than once in one forward
pass (torchvision's ResNet blocks call one ``relu`` twice) gives one tensor per call, so its
bare name does not say which: such a layer is addressed as ``"name@k"`` (``k`` = 0 for the
first call), and its bare name is refused with :class:`AmbiguousLayerError`, by every engine,
so that linked views never show two different tensors under one name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from .errors import CNNWidgetsError
from .guard import preserved
from .hooks import HookFn, forward_hooks

# Modules that only reshape or regularise: never interesting to look at.
_SKIPPED = (nn.Dropout, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.Identity, nn.Flatten)


class LayerNotFoundError(CNNWidgetsError, ValueError):
    """A layer name that the model does not have; the message lists the valid ones."""

    def __init__(self, name: str, valid: Sequence[str], reason: str = ""):
        self.name, self.valid = name, list(valid)
        closest = difflib.get_close_matches(str(name), self.valid, n=5, cutoff=0.0)
        rest = [v for v in self.valid if v not in closest]
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"no layer {name!r} in this model{why}. Closest: {', '.join(closest)}. "
            f"All {len(self.valid)} layers: {', '.join(closest + rest)}"
        )


class AmbiguousLayerError(CNNWidgetsError, ValueError):
    """The bare name of a module that runs more than once per forward pass: which call?"""

    def __init__(self, name: str, calls: int):
        self.name, self.calls = name, calls
        names = [f"{name}@{k}" for k in range(calls)]
        super().__init__(
            f"{name} runs {calls} times per forward pass: use "
            f"{', '.join(names[:-1])} or {names[-1]}"
        )


def split_call(name: str) -> tuple[str, int | None]:
    """``"layer4.1.relu@1"`` -> ``("layer4.1.relu", 1)``; a name without a call -> (name, None)."""
    base, sep, k = str(name).rpartition("@")
    if sep and base and k.isdigit():
        return base, int(k)
    return str(name), None


@dataclass(frozen=True)
class LayerInfo:
    """One layer: a module, or one call of a module that runs several times.

    ``shape`` and ``order`` are those of the first call for a module's own entry, and of call
    ``call`` for a ``"name@k"`` entry (see :meth:`of_call`); ``shapes`` and ``orders`` hold
    every call's.
    """

    name: str
    kind: str  # the module's class name, e.g. "Conv2d"
    shape: tuple  # output shape for one image, without the batch dimension
    order: int  # position in execution order (when its forward finished)
    calls: int = 1  # how many times the module runs in one forward pass
    call: int | None = None  # which call this entry is (None: the module itself)
    shapes: tuple = ()  # output shape of each call
    orders: tuple = ()  # execution order of each call

    @property
    def spatial(self) -> bool:
        """Output is a (C, H, W) map with more than one position."""
        return len(self.shape) == 3 and self.shape[1] * self.shape[2] > 1

    @property
    def channels(self) -> int:
        return self.shape[0] if self.shape else 0

    @property
    def module_name(self) -> str:
        """The module's name in ``named_modules()`` (without ``@k``)."""
        return split_call(self.name)[0] if self.call is not None else self.name

    def of_call(self, k: int) -> LayerInfo:
        """The entry of the ``k``-th call, named ``"name@k"``."""
        shapes = self.shapes or (self.shape,)
        orders = self.orders or (self.order,)
        return replace(
            self, name=f"{self.module_name}@{k}", shape=shapes[k], order=orders[k], call=k
        )

    def addressable(self) -> list[LayerInfo]:
        """How the layer is named: itself when it runs once, one entry per call otherwise."""
        if self.calls == 1:
            return [self]
        return [self.of_call(k) for k in range(self.calls)]


class LayerTable(Mapping):
    """The layers of a model by name. Iterating gives module names (``named_modules()``
    order); looking up also takes ``"name@k"`` for one call of a module."""

    def __init__(self, infos: Sequence[LayerInfo]):
        self._infos = {i.name: i for i in infos}

    def __getitem__(self, name: str) -> LayerInfo:
        info = self._infos.get(name)
        if info is not None:
            return info
        base, call = split_call(name)
        info = self._infos.get(base) if call is not None else None
        if info is None or call >= info.calls:
            raise KeyError(name)
        return info.of_call(call)

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)

    def __contains__(self, name: object) -> bool:
        try:
            self[name]
        except (KeyError, TypeError):
            return False
        return True

    def names(self) -> list[str]:
        """Every addressable name: module names, with ``"name@k"`` in place of a module that
        runs more than once."""
        return [a.name for info in self._infos.values() for a in info.addressable()]

    def resolve(self, name: str) -> LayerInfo:
        """The entry of an addressable name; a bare name of a module that runs several
        times raises :class:`AmbiguousLayerError`, an unknown name or call
        :class:`LayerNotFoundError` listing the valid names."""
        info = self._infos.get(name)
        if info is not None:
            if info.calls > 1:
                raise AmbiguousLayerError(name, info.calls)
            return info
        base, call = split_call(name)
        info = self._infos.get(base) if call is not None else None
        if info is None:
            raise LayerNotFoundError(name, self.names())
        if call >= info.calls:
            runs = "once" if info.calls == 1 else f"{info.calls} times"
            raise LayerNotFoundError(name, self.names(), f"{base} runs {runs} per forward pass")
        return info.of_call(call)


def probe_layers(module: nn.Module, example: torch.Tensor) -> list[LayerInfo]:
    """Run one forward pass and record every submodule that returns a tensor.

    The list is in ``named_modules()`` order; ``order`` gives execution order (counted over
    every call, so that the calls of a shared module fall where they run). Modules that are
    never called (``ModuleList`` holders), return non-tensors, or only reshape are left out.
    """
    seen: dict[str, list[tuple[tuple, int]]] = {}
    tick = [0]

    def recorder(name: str) -> HookFn:
        def record(_mod, _inputs, output):
            if isinstance(output, torch.Tensor):
                seen.setdefault(name, []).append((tuple(output.shape[1:]), tick[0]))
                tick[0] += 1

        return record

    named = [(n, m) for n, m in module.named_modules() if n and not isinstance(m, _SKIPPED)]
    with (
        preserved(module),
        torch.inference_mode(),
        forward_hooks({m: recorder(n) for n, m in named}),
    ):
        module(example)
    out = []
    for n, m in named:
        if n in seen:
            shapes, orders = zip(*seen[n])
            out.append(
                LayerInfo(
                    n, type(m).__name__, shapes[0], orders[0], len(shapes), None, shapes, orders
                )
            )
    return out
