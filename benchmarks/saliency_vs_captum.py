"""Vanilla gradient, SmoothGrad and Integrated Gradients: ours against Captum.

Captum is called the way its tutorials call it (``Saliency``, ``NoiseTunnel(Saliency)``,
``IntegratedGradients`` on the model), with the settings translated to ours: signed gradients
(``abs=False``), the same absolute noise level, the same baseline and the same quadrature rule.
Integrated Gradients uses Gauss-Legendre points (Captum's default): with
``riemann_trapezoid`` Captum's step sizes are 1/n with halved ends, which sum to (n-1)/n
instead of 1, so its attributions come out (n-1)/n of the trapezoid rule's (2% at 50 steps).
SmoothGrad is compared on the same noise samples: ours draws sample s from its own seeded
stream (``cnnwidgets.engines.saliency._stream``); for the agreement check Captum's single
``torch.normal`` call is handed those same draws, so both average over identical noisy copies
(NoiseTunnel's own expansion and averaging still run). Timed runs leave Captum untouched.
"""

from __future__ import annotations

import contextlib

import torch

from . import floors
from .agreement import Agreement, compare
from .common import Settings, engine, peer_model
from .inputs import photo_batch, top_classes
from .profiling import top_ops
from .report import Row, Target
from .timing import time_interleaved

PEER = "Captum"
NAMES = {
    "gradient": "Gradient",
    "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated Gradients",
}
SEED = 1234


def noise_std(x: torch.Tensor, noise: float) -> float:
    """SmoothGrad's noise level is a fraction of the input's range (Smilkov et al.)."""
    return float(noise * (x.max() - x.min()))


def our_noise(x: torch.Tensor, n_samples: int, seed: int) -> torch.Tensor:
    """The standard-normal draws our SmoothGrad uses for the samples of one image."""
    from cnnwidgets.engines.noise_tunnel import _stream

    return torch.stack(
        [
            torch.randn(
                x.shape[1:], device=x.device, dtype=x.dtype, generator=_stream(x.device, seed, s)
            )
            for s in range(n_samples)
        ]
    )


@contextlib.contextmanager
def captum_draws(eps: torch.Tensor):
    """Make NoiseTunnel's ``torch.normal(0, stdev_expanded)`` return ``stdev * eps``."""
    real = torch.normal

    def normal(mean, std, *args, **kwargs):
        if isinstance(std, torch.Tensor) and std.shape == eps.shape:
            return mean + std * eps
        return real(mean, std, *args, **kwargs)

    torch.normal = normal
    try:
        yield
    finally:
        torch.normal = real


def peer_saliency(model, x, target: int, method: str, p: dict) -> torch.Tensor:
    from captum.attr import IntegratedGradients, NoiseTunnel, Saliency

    if method == "gradient":
        return Saliency(model.logits).attribute(x, target=target, abs=False)
    if method == "smoothgrad":
        return NoiseTunnel(Saliency(model.logits)).attribute(
            x,
            nt_type="smoothgrad",
            nt_samples=p["n_samples"],
            stdevs=noise_std(x, p["noise"]),
            target=target,
            abs=False,
        )
    if method == "integrated_gradients":
        return IntegratedGradients(model.logits).attribute(
            x,
            baselines=torch.zeros_like(x),
            target=target,
            n_steps=p["steps"],
            method=p["captum_method"],
        )
    raise ValueError(method)


def ours_saliency(model, x, target: int, method: str, p: dict):
    kwargs = {k: v for k, v in p.items() if k in ("n_samples", "noise", "steps", "batch_size")}
    if method == "smoothgrad":
        kwargs["seed"] = SEED  # our private generator, seeded as Captum's global one is
    if method == "integrated_gradients":
        kwargs.update(baseline="zeros", integration=p["captum_method"])
    return engine("saliency")(model, x, target=target, method=method, **kwargs)


def agreement(
    model,
    x,
    target: int,
    method: str,
    p: dict,
    peer_target: int | None = None,
    peer_seed: int = SEED,
    peer=None,
) -> Agreement:
    """``peer_target`` and ``peer_seed`` differ from ours only to prove that a mismatch (another
    class, other noise) is caught; ``peer``: the model Captum runs (default ``model``)."""
    peer_m = peer or model
    ours = ours_saliency(model, x, target, method, p).raw
    shared = (
        captum_draws(our_noise(x, p["n_samples"], peer_seed))
        if method == "smoothgrad"
        else contextlib.nullcontext()
    )
    with shared:
        peer = peer_saliency(peer_m, x, target if peer_target is None else peer_target, method, p)
    peer_m.module.zero_grad(set_to_none=True)  # Captum leaves .grad on the weights
    how = "same noise samples" if method == "smoothgrad" else ""
    return compare(ours, peer[0].detach().cpu().numpy(), rtol=1e-3, atol=1e-6, how=how)


def floor_batch(x: torch.Tensor, method: str, p: dict) -> torch.Tensor:
    """What the method must push through the network at least once: its samples or steps."""
    n = {
        "gradient": 1,
        "smoothgrad": p.get("n_samples", 1),
        "integrated_gradients": p.get("steps", 1),
    }[method]
    return x.expand(n, *x.shape[1:]).contiguous()


def run_case(model, method: str, p: dict, s: Settings) -> Row:
    x = photo_batch(model, 1)
    target = top_classes(model, x)[0]
    shown = {k: v for k, v in p.items() if k in ("n_samples", "noise", "steps")}
    setting = "batch 1" + "".join(f", {k}={v}" for k, v in shown.items())
    row = Row(NAMES[method], model.name, setting, PEER)
    if engine("saliency") is None:
        row.note = "cw.saliency not available yet"
        return row
    theirs = peer_model(model, s)
    row.agreement = agreement(model, x, target, method, p, peer=theirs)
    if s.quick:
        return row
    xf = floor_batch(x, method, p)
    fns = {
        "ours": lambda: ours_saliency(model, x, target, method, p),
        "peer": lambda: peer_saliency(theirs, x, target, method, p),
        "fwd": lambda: floors.forward(model, xf),
        "fwd+bwd": lambda: floors.forward_backward(model, xf, [target] * len(xf)),
    }
    t = time_interleaved(
        fns, device=s.device, min_rounds=s.min_rounds, max_rounds=s.max_rounds, budget_s=s.budget_s
    )
    theirs.module.zero_grad(set_to_none=True)
    row.ours, row.peer, row.ratio, row.rounds = (
        t.median("ours"),
        t.median("peer"),
        t.ratio("ours", "peer"),
        t.rounds,
    )
    row.fwd, row.fwd_bwd, row.ours_fwd = (
        t.median("fwd"),
        t.median("fwd+bwd"),
        t.ratio("ours", "fwd"),
    )
    row.targets = [Target("ours/peer <= 1.0", row.ratio, 1.0)]
    if s.profile:
        print(f"\n--- profile: ours, {row.comparison} {row.model} {row.setting}")
        print(top_ops(fns["ours"], s.device))
    return row
