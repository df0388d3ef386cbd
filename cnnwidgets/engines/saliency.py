"""Saliency: gradients of a class logit with respect to the input tensor, and their relatives.

Every method is an entry of :data:`SALIENCY_METHODS` (name, label, reference, parameters);
``cw.saliency(m, img, target, method=..., **params)`` dispatches on it and widgets build their
pickers from it. Register your own with ``@cw.saliency_methods.register(...)``: the function
receives a :class:`SaliencyCall` (the model, the input batch, the targets, helpers for input
gradients) and the method's parameters, and returns the raw (N, C, H, W) attribution.

``.raw`` is the signed (C, H, W) attribution; ``.map`` is the maximum of |raw| over channels,
divided by its 99th percentile and clipped to [0, 1]. Samples (noise copies, path points) run
as batches of at most ``batch_size`` inputs (default: what fits a memory budget).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from ..core.errors import ParameterError
from ..core.guard import preserved
from ..core.inputs import auto_batch_size, check_batch_size, input_layout, is_batch
from ..core.model_base import as_model
from ..core.progress import report
from ..core.registry import Param, Registry
from ..core.targets import gather_scores, resolve_targets
from .maps import Attribution, percentile_map
from .noise_tunnel import NOISE_PARAMS, smooth

SALIENCY_METHODS = Registry("saliency method")


# ---- guided backprop: ReLUs pass back only positive gradients ---------------------------------
class _PositiveGradient(torch.autograd.Function):
    """Identity forward; backward lets only positive gradients through. Placed on a ReLU's
    output, the ReLU's own backward (which zeroes where the input was not positive) then
    gives the guided-backprop rule: grad_in = grad_out * (in > 0) * (grad_out > 0)."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()  # a new tensor: later in-place ops must not touch the ReLU output

    @staticmethod
    def backward(ctx, grad):
        return grad.clamp(min=0)


_RELUS = {
    F.relu,
    F.relu_,
    torch.relu,
    torch.relu_,
    torch.Tensor.relu,
    torch.Tensor.relu_,
    F.relu6,
    torch._C._nn.relu6 if hasattr(torch._C._nn, "relu6") else F.relu6,
}
_HARDTANHS = {F.hardtanh, F.hardtanh_, torch._C._nn.hardtanh, torch._C._nn.hardtanh_}


def _hardtanh_min(args: tuple, kwargs: dict) -> float:
    if "min_val" in kwargs:
        return kwargs["min_val"]
    return args[1] if len(args) > 1 else -1.0


class _GuidedReLUMode(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if (
            (func in _RELUS or (func in _HARDTANHS and _hardtanh_min(args, kwargs) == 0))
            and isinstance(out, torch.Tensor)
            and out.requires_grad
        ):
            return _PositiveGradient.apply(out)
        return out


@contextlib.contextmanager
def guided_relus() -> Iterator[None]:
    """Within the block, every ReLU/ReLU6 run through torch passes back only positive gradients."""
    with _GuidedReLUMode():
        yield


# ---- one call: the model, the inputs, the targets ------------------------------------------------
class SaliencyCall:
    """What a saliency method works with: ``model``, the prepared input ``x`` (N, C, H, W, in
    the model's layout), the targets, a memory-bounded ``batch_size`` and per-image ``info``
    dicts that end up in ``Attribution.params``.

    ``targets`` is resolved lazily: :meth:`gradient` on the whole batch resolves it from its
    own forward pass, so a plain gradient costs one forward and one backward in all.
    """

    def __init__(self, model, x: torch.Tensor, target: Any, batch_size: int | None):
        self.model, self.x, self._target = model, x, target
        self._batch_size = batch_size
        self._logits: torch.Tensor | None = None
        self._targets: torch.Tensor | None = None
        self.info: list[dict] = [{} for _ in range(x.shape[0])]

    @property
    def batch_size(self) -> int:
        return self._batch_size or auto_batch_size(self.model, with_grad=True)

    @property
    def logits(self) -> torch.Tensor:
        """Logits of the clean input (one inference forward, once)."""
        if self._logits is None:
            with torch.inference_mode():
                self._logits = self.model.logits(self.x).clone()
        return self._logits

    @property
    def targets(self) -> torch.Tensor:
        if self._targets is None:
            self._targets = resolve_targets(self._target, self.logits, self.model)
        return self._targets

    def gradient(
        self, xs: torch.Tensor | None = None, targets: torch.Tensor | None = None
    ) -> torch.Tensor:
        """d logit[target] / d input for each row of ``xs`` (default: the whole input)."""
        whole = xs is None
        xs = input_layout((self.x if whole else xs).detach(), self.model).requires_grad_()
        with torch.enable_grad():
            logits = self.model.logits(xs)
            if targets is None:
                if not whole:
                    raise ValueError("pass the targets of a batch other than the input")
                if self._targets is None:
                    self._logits = logits.detach()
                targets = self.targets
            (grad,) = torch.autograd.grad(gather_scores(logits, targets).sum(), xs)
        return grad

    def sampled_gradients(
        self,
        make: Callable[[torch.Tensor], torch.Tensor],
        owner: torch.Tensor,
        weight: torch.Tensor,
    ) -> torch.Tensor:
        """sum_j weight[j] * gradient(sample j) per image, the samples made ``batch_size`` at a
        time; ``owner[j]`` is the image sample j belongs to, ``make(js)`` builds samples js."""
        n, shape = self.x.shape[0], tuple(self.x.shape[1:])
        acc = torch.zeros(
            (n, *shape), device=owner.device, dtype=torch.promote_types(weight.dtype, torch.float32)
        )
        bs = self.batch_size
        for start in range(0, len(owner), bs):
            stop = min(start + bs, len(owner))
            js = torch.arange(start, stop, device=owner.device)
            grad = self.gradient(make(js), self.targets[owner[js]])
            acc.index_add_(0, owner[js], (grad * weight[js].view(-1, 1, 1, 1)).to(acc.dtype))
            report(stop, len(owner))
        return acc

    def on(self, x: torch.Tensor, targets: torch.Tensor) -> SaliencyCall:
        """A call on other inputs with known targets (a wrapper's noisy copies)."""
        child = SaliencyCall(self.model, x, None, self._batch_size)
        child._targets = targets
        return child


# ---- the methods ---------------------------------------------------------------------------------
@SALIENCY_METHODS.register(
    "gradient",
    label="gradient",
    reference="Simonyan et al. 2014, arXiv:1312.6034",
    description="d logit / d input: how the score changes with each input value",
)
def _gradient(call: SaliencyCall) -> torch.Tensor:
    return call.gradient()


@SALIENCY_METHODS.register(
    "gradient_x_input",
    label="gradient × input",
    reference="Shrikumar et al. 2016, arXiv:1605.01713",
    description="the gradient times the input tensor (in the model's normalised input space, "
    "so zero is what the preprocessing maps to 0, not black)",
)
def _gradient_x_input(call: SaliencyCall) -> torch.Tensor:
    return call.gradient() * call.x


@SALIENCY_METHODS.register(
    "guided_backprop",
    label="guided backprop",
    reference="Springenberg et al. 2015, arXiv:1412.6806",
    description="the gradient with every ReLU passing back only positive gradients",
)
def _guided_backprop(call: SaliencyCall) -> torch.Tensor:
    with guided_relus():
        return call.gradient()


def _baseline(m, x: torch.Tensor, baseline: Any) -> torch.Tensor:
    if baseline is None or (isinstance(baseline, str) and baseline == "zeros"):
        return torch.zeros_like(x)
    if isinstance(baseline, str):
        pixel = {"black": 0.0, "white": 1.0, "grey": 0.5, "gray": 0.5}.get(baseline)
        if pixel is None:
            raise ParameterError(
                f"unknown baseline {baseline!r}: use 'zeros' (zero input tensor), "
                "'black', 'white', 'grey', a number or a tensor"
            )
        return m.normalize(torch.full_like(x, pixel))
    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return torch.full_like(x, float(baseline))
    b = torch.as_tensor(baseline, dtype=x.dtype).to(x.device)
    if b.ndim == 3:
        b = b.unsqueeze(0)
    if b.ndim != 4 or b.shape[1:] != x.shape[1:] or b.shape[0] not in (1, x.shape[0]):
        raise ParameterError(
            f"a baseline tensor must have shape {tuple(x.shape[1:])} or "
            f"(1 or {x.shape[0]}, {', '.join(map(str, x.shape[1:]))}) in the model's "
            f"input space, got {tuple(b.shape)}"
        )
    return b.expand_as(x)


def _quadrature(steps: int, integration: str) -> tuple[np.ndarray, np.ndarray]:
    """Points alpha in [0, 1] and weights summing to 1 for the path integral."""
    if integration in ("riemann_trapezoid", "trapezoid"):
        if steps < 2:
            raise ParameterError("the trapezoid rule needs steps >= 2")
        alphas = np.linspace(0.0, 1.0, steps)
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] *= 0.5
    elif integration in ("gausslegendre", "gauss_legendre"):
        nodes, w = np.polynomial.legendre.leggauss(steps)
        alphas, weights = (nodes + 1) / 2, w / 2
    else:
        raise ParameterError(
            f"unknown integration {integration!r}: use 'riemann_trapezoid' or 'gausslegendre'"
        )
    return alphas, weights


@SALIENCY_METHODS.register(
    "integrated_gradients",
    label="Integrated Gradients",
    reference="Sundararajan et al. 2017, arXiv:1703.01365",
    description="(x - baseline) times the path integral of the gradient from the baseline to x; "
    "the attributions sum to logit(x) - logit(baseline), up to convergence_delta",
    params=(
        Param("steps", "int", 50, min=1, max=1000, step=1, help="points on the path"),
        Param(
            "baseline",
            "any",
            None,
            ui=False,
            help='"zeros" (the zero input tensor, default), "black", "white", "grey", a '
            "number or a tensor in the model's input space",
        ),
        Param(
            "integration",
            "choice",
            "riemann_trapezoid",
            choices=("riemann_trapezoid", "gausslegendre"),
            help="quadrature rule",
        ),
    ),
)
def _integrated_gradients(
    call: SaliencyCall, steps: int, baseline: Any, integration: str
) -> torch.Tensor:
    """Deep networks need more points than small ones: on EfficientNet-Lite0 with the zero
    baseline 50 trapezoid points leave a large part of the logit difference unexplained (see
    docs/benchmarks.md); raise ``steps`` until ``convergence_delta`` is small."""
    x = call.x
    n = x.shape[0]
    alphas, weights = _quadrature(steps, integration)
    base = _baseline(call.model, x, baseline)
    with torch.inference_mode():
        base_logits = call.model.logits(base).clone()
    diff = x - base
    owner = torch.arange(n, device=x.device).repeat_interleave(len(alphas))
    alpha = torch.as_tensor(np.tile(alphas, n), dtype=x.dtype, device=x.device)
    weight = torch.as_tensor(np.tile(weights, n), dtype=x.dtype, device=x.device)

    def path(js):
        i = owner[js]
        return base[i] + alpha[js].view(-1, 1, 1, 1) * diff[i]

    raw = diff * call.sampled_gradients(path, owner, weight)
    expected = gather_scores(call.logits, call.targets) - gather_scores(base_logits, call.targets)
    delta = (raw.flatten(1).sum(1) - expected).tolist()
    given = (
        "zeros"
        if baseline is None
        else baseline
        if isinstance(baseline, (str, int, float))
        else "tensor"
    )
    for info, d, e in zip(call.info, delta, expected.tolist()):
        info.update(convergence_delta=d, expected_sum=e, baseline=given)
    return raw


def _smoothable() -> list[str]:
    return [name for name in SALIENCY_METHODS.names() if name != "smoothgrad"]


@SALIENCY_METHODS.register(
    "smoothgrad",
    label="SmoothGrad",
    reference="Smilkov et al. 2017, arXiv:1706.03825",
    description="another method averaged over noisy copies of the input (Captum's NoiseTunnel)",
    params=(
        Param(
            "base",
            "choice",
            "gradient",
            choices=_smoothable,
            help="the method that runs on every noisy copy",
        ),
        *NOISE_PARAMS,
        Param("base_params", "any", None, ui=False, help="parameters of the base method"),
    ),
)
def _smoothgrad(
    call: SaliencyCall, base: str, n_samples: int, noise: float, seed: int, base_params: dict | None
) -> torch.Tensor:
    entry = SALIENCY_METHODS.get(base)
    inner = entry.resolve(dict(base_params or {}))

    def raw_fn(xs, ts):
        return entry.fn(call.on(xs, ts), **inner)

    return smooth(
        raw_fn,
        call.x,
        call.targets,
        n_samples=n_samples,
        noise=noise,
        seed=seed,
        batch_size=call.batch_size,
    )


# ---- the public function ------------------------------------------------------------------------
def saliency(
    model,
    images: Any,
    target: Any = None,
    method: str = "gradient",
    *,
    batch_size: int | None = None,
    **params,
) -> Attribution | list[Attribution]:
    """Attribution of a class logit to the input pixels, by a method of :data:`SALIENCY_METHODS`.

    ``images``: one image (anything ``Model.prepare`` reads) gives an :class:`Attribution`; a
    list of images, or a 4-D tensor of more than one, gives a list. ``target``: None (each
    image's top class), a class index or label name, or one per image. ``params``: the
    method's parameters (``cw.saliency_methods.get(method).params`` lists them with their
    defaults and ranges), e.g. ``smoothgrad``: ``base="gradient", n_samples=25, noise=0.15``;
    ``integrated_gradients``: ``steps=50, baseline="zeros", integration="riemann_trapezoid"``.
    ``batch_size`` caps the inputs per internal forward/backward.
    """
    m = as_model(model)
    entry = SALIENCY_METHODS.get(method)
    used = entry.resolve(params)
    check_batch_size(batch_size)
    x = input_layout(m.prepare(images), m)
    with preserved(m.module):
        call = SaliencyCall(m, x, target, batch_size)
        raw = entry.fn(call, **used)
        targets = call.targets
        scores = gather_scores(call.logits, targets).float().cpu().tolist()
    raw_np = raw.detach().float().cpu().contiguous().numpy()
    shown = {k: v for k, v in used.items() if isinstance(v, (str, int, float, bool))}
    results = [
        Attribution(
            map=percentile_map(np.abs(r).max(0)),
            raw=r,
            target=int(t),
            score=float(s),
            method=entry.name,
            params={**shown, **info},
        )
        for r, t, s, info in zip(raw_np, targets.tolist(), scores, call.info)
    ]
    return results if is_batch(images) else results[0]
