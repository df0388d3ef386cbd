"""Leave the model as it was found: training flags, requires_grad, .grad, hooks."""
from __future__ import annotations

import contextlib
from typing import Iterator

from torch import nn


@contextlib.contextmanager
def preserved(module: nn.Module, *, eval_mode: bool = True, freeze: bool = True) -> Iterator[nn.Module]:
    """Run a block with the model in eval mode and its parameters frozen; restore both after.

    Restores, on every exit path: each submodule's ``training`` flag (one by one, so a user's
    frozen BatchNorm inside a training model stays frozen), each parameter's ``requires_grad``,
    and each parameter's ``.grad`` (attribution never leaves gradients on the weights). Eval mode
    also means BatchNorm running statistics are read, never updated.
    """
    modes = [(m, m.training) for m in module.modules()]
    params = list(module.parameters())
    flags = [p.requires_grad for p in params]
    grads = [p.grad for p in params]
    try:
        if eval_mode:
            module.eval()
        if freeze:
            for p in params:
                p.requires_grad_(False)
        yield module
    finally:
        for m, mode in modes:
            m.training = mode
        for p, flag, grad in zip(params, flags, grads):
            p.requires_grad_(flag)
            p.grad = grad
