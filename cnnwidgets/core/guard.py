"""Leave the model as it was found: training flags, requires_grad, .grad, hooks."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator

from torch import nn

# One re-entrant lock per model. Hooks and eval()/requires_grad_() act on the module itself,
# not on a thread, so two threads computing on one model (two widgets of a dashboard, a widget
# beside a training loop) would see each other's hooks: an early-stop hook of one call would end
# the other's forward pass. Every engine call holds its model's lock while it touches the model.
_LOCKS: weakref.WeakKeyDictionary[nn.Module, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(module: nn.Module) -> threading.RLock:
    """The lock that serialises engine calls on ``module`` across threads."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(module)
        if lock is None:
            lock = _LOCKS[module] = threading.RLock()
        return lock


@contextlib.contextmanager
def preserved(
    module: nn.Module, *, eval_mode: bool = True, freeze: bool = True
) -> Iterator[nn.Module]:
    """Run a block with the model in eval mode and its parameters frozen; restore both after.

    Holds the model's :func:`model_lock` throughout, so a call from another thread waits
    instead of seeing this call's hooks and flags. Restores, on every exit path: each
    submodule's ``training`` flag (one by one, so a user's frozen BatchNorm inside a training
    model stays frozen), each parameter's ``requires_grad``, and each parameter's ``.grad``
    (attribution never leaves gradients on the weights). Eval mode also means BatchNorm
    running statistics are read, never updated.
    """
    with model_lock(module):
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
