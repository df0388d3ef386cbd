"""Hooks that never leak: every hook in cnnwidgets is registered inside a ``with`` block of this
module and removed in its ``finally``, so an exception in the middle of an engine leaves none.

A module can run more than once in one forward pass (torchvision's ResNet blocks call one
``relu`` twice). Hooks here take a ``call`` index: the hook acts on that call only (0 for the
first), so that every engine reads the same tensor for the same layer name (see
:meth:`cnnwidgets.Model.resolve_layer` for the ``"name@k"`` spelling).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Union

import torch
from torch import nn

HookFn = Callable[[nn.Module, tuple, object], object]
PreHookFn = Callable[[nn.Module, tuple], object]
# A hooked layer: its module, or (module, call index) for a module that runs several times.
Target = Union[nn.Module, "tuple[nn.Module, int]"]


def _split(target: Target) -> tuple[nn.Module, int]:
    if isinstance(target, tuple):
        module, call = target
        return module, int(call)
    return target, 0


def on_call(call: int, fn: Callable) -> Callable:
    """``fn`` as a hook that acts only on the ``call``-th run of its module in each forward pass
    (0 = the first); the other runs pass through unchanged. Counting restarts with every
    forward of the root module only if the caller makes a new hook, so make one per pass or
    use it inside :func:`forward_hooks` for one pass."""
    seen = [0]

    def hook(*args):
        k = seen[0]
        seen[0] += 1
        return fn(*args) if k == call else None

    return hook


@contextlib.contextmanager
def forward_hooks(
    hooks: Mapping[Target, HookFn] | None = None,
    pre_hooks: Mapping[Target, PreHookFn] | None = None,
) -> Iterator[None]:
    """Register forward hooks (and forward pre-hooks) for the duration of a ``with`` block;
    always removed after. A key ``(module, call)`` hooks only that call of the module (call 0
    too: the later calls of a shared module must not overwrite what the first one gave); a
    bare module key hooks every call."""
    handles = []
    try:
        for target, fn in (hooks or {}).items():
            module, call = _split(target)
            hook = on_call(call, fn) if isinstance(target, tuple) else fn
            handles.append(module.register_forward_hook(hook))
        for target, fn in (pre_hooks or {}).items():
            module, call = _split(target)
            hook = on_call(call, fn) if isinstance(target, tuple) else fn
            handles.append(module.register_forward_pre_hook(hook))
        yield
    finally:
        for h in handles:
            h.remove()


class StopForward(Exception):
    """Raised from a hook to end a forward pass once the deepest needed layer has run."""


@contextlib.contextmanager
def capture(
    modules: Mapping[str, Target],
    *,
    stop_after_last: bool = False,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """Collect the outputs of named layers into a dict while the block runs forward passes.

    ``modules``: name -> module, or name -> (module, call) for one run of a module that runs
    several times (calls are counted from the start of the block: one forward pass per
    block). ``transform`` maps each output before it is stored (default:
    ``detach().clone()``, since a later in-place op such as ``ReLU(inplace=True)`` would
    otherwise change what was stored). With ``stop_after_last``, once every layer has produced
    its output the forward pass is ended by :class:`StopForward`; wrap the forward in
    :func:`run_until_captured`.
    """
    store: dict[str, torch.Tensor] = {}
    keep = transform or (lambda t: t.detach().clone())
    wanted = set(modules)

    def hook_for(name: str) -> HookFn:
        def hook(_mod, _inputs, output):
            if not isinstance(output, torch.Tensor):
                raise TypeError(f"layer {name!r} returns a {type(output).__name__}, not a tensor")
            store[name] = keep(output)
            if stop_after_last and wanted.issubset(store):
                raise StopForward

        return hook

    with forward_hooks({target: hook_for(n) for n, target in modules.items()}):
        yield store


def run_until_captured(forward: Callable[[], object]) -> object | None:
    """Call ``forward()``; a :class:`StopForward` from a capture hook ends it early (then
    returns None)."""
    try:
        return forward()
    except StopForward:
        return None
