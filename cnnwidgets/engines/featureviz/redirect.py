"""Lucid's redirected ReLU: a gradient that can leave a ReLU that is off for a whole image.

Feature visualization starts from noise, and a unit deep in a network can be off (its ReLU's
input negative) for the whole image; the ReLU's gradient is then zero everywhere and gradient
steps cannot move the image. Lucid's fix (``lucid/misc/redirected_relu_grad.py``) changes the
backward pass of every ReLU, image by image (the first dimension is the batch):

- if the plain gradient of this ReLU for this image is not entirely zero, it is used as it is:
  the incoming gradient where the input is >= 0, zero where the input is negative;
- if it is entirely zero, the incoming gradient passes through, except where the input is
  negative and the gradient would push it lower still.

"Lower" is in the sense of a loss being minimised (``loss = -objective``, as lucid's and this
package's render loops do): a positive gradient on a negative input is dropped. Forward values
are those of a plain ReLU. As in lucid, an input of exactly 0 passes the gradient (torch's own
ReLU gradient is 0 there).

Lucid redirects during the first 16 optimisation steps only and uses the plain gradient after;
that schedule belongs to the render loop (leave the ``with`` block after step 16).

Not the same as lucent's ``RedirectedReLU`` (``lucent.modelzoo.inceptionv1.helper_layers``):
that one always passes a tenth of the gradient where the input is negative, for every image,
whether the unit is blocked or not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable
from torch.overrides import TorchFunctionMode


class RedirectedReLU(torch.autograd.Function):
    """ReLU forward; lucid's redirected gradient backward (see the module docstring)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        # Only the sign pattern is kept (1 byte an element), not ``x``: an in-place ReLU then
        # overwrites ``x`` without invalidating what the backward pass needs.
        ctx.save_for_backward(x < 0)
        return x.clamp(min=0)  # clamp, not relu: a relu here would meet the mode again

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (negative,) = ctx.saved_tensors
        relu_grad = grad.masked_fill(negative, 0)
        redirected = grad.masked_fill(negative & (grad > 0), 0)
        if relu_grad.ndim < 2:  # no batch dimension: the tensor is one image
            return relu_grad if bool(relu_grad.ne(0).any()) else redirected
        flows = relu_grad.flatten(1).ne(0).any(1)
        return torch.where(flows.view(-1, *([1] * (grad.ndim - 1))), relu_grad, redirected)


# Every way torch spells a ReLU; nn.ReLU runs F.relu. The *_ forms and inplace=True write
# into their input.
_OUT_OF_PLACE = {F.relu, torch.relu, torch.Tensor.relu}
_IN_PLACE = {F.relu_, torch.relu_, torch.Tensor.relu_}


def _is_inplace(func, args: tuple, kwargs: dict) -> bool:
    if func in _IN_PLACE:
        return True
    # F.relu(input, inplace=False); nn.ReLU(inplace=True) calls it with the keyword.
    return func is F.relu and bool(kwargs.get("inplace", args[1] if len(args) > 1 else False))


class _RedirectedReLUMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func not in _OUT_OF_PLACE and func not in _IN_PLACE:
            return func(*args, **kwargs)
        x = args[0] if args else kwargs.get("input", kwargs.get("self"))
        if not (torch.is_grad_enabled() and isinstance(x, torch.Tensor) and x.requires_grad):
            return func(*args, **kwargs)  # no backward pass to change
        out = RedirectedReLU.apply(x)
        if _is_inplace(func, args, kwargs):
            # Write the result into x, so that x keeps the in-place semantics and code that
            # reads x afterwards also back-propagates through the redirected gradient.
            return x.copy_(out)
        return out


@contextlib.contextmanager
def redirected_relus() -> Iterator[None]:
    """Within the block, every ReLU run through torch (``nn.ReLU``, ``F.relu``, ``torch.relu``,
    ``x.relu()`` and their in-place forms) has lucid's redirected gradient.

    Not changed: ReLUs written as ``clamp``/``max``/``where``, ReLU6 and other activations,
    ReLUs inside TorchScript, compiled code or C++ extensions. Outside the block, and inside it
    when no gradient is recorded, ReLUs are torch's own.
    """
    with _RedirectedReLUMode():
        yield
