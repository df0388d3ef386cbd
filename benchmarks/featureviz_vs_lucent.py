"""Feature visualization, cnnwidgets vs lucent's ``render_vis``, on the same model and settings.

Both use a 1/f Fourier parameterization with decorrelated colour at ``size`` pixels, sigmoid,
Adam lr 0.05, lucent's standard transforms and an upscale to 224 before the forward pass.
Lucent gets the model's own normalisation (``preprocess=False`` plus a normalising
transform), a fresh copy of the module per call (its hooks are never removed), and one call
per channel, as it renders one objective at a time. We render one channel, then all
channels as one batch.

Objective values are measured the same way for both, independently of either library: the
final image upscaled (bilinear) to the input size, one forward pass, mean of the channel.

Timings on a shared CPU are noisy: every side runs once per round, in an order shuffled every
round (``timing.time_interleaved``), and ratios are medians of per-round ratios. ``--before``
adds our render as it ran before batch-norm folding and before Conv2dSame stopped copying its
input into a padded tensor (:func:`before_model`), and lucent on that same older module
(lucent runs our module, so the padding change speeds it up too), timed in the same rounds;
``--input-size N`` adds our render fed to the model at N pixels instead of its own input
size.

    python benchmarks/featureviz_vs_lucent.py [--steps 32] [--size 128] [--channels 8]
    python benchmarks/featureviz_vs_lucent.py --threads 1 --rounds 5 --before --input-size 128
    python benchmarks/featureviz_vs_lucent.py --match 512    # time to lucent's objective
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
import types

import numpy as np
import torch
import torch.nn.functional as F

import cnnwidgets as cw
from cnnwidgets.core import capture, run_until_captured
from cnnwidgets.engines.featureviz import ascent
from cnnwidgets.models.efficientnet_lite import Conv2dSame

try:  # as a script (python benchmarks/featureviz_vs_lucent.py) or as a module
    from .timing import time_interleaved
except ImportError:
    from timing import time_interleaved

DEFAULT_LAYER = "_blocks.8"


def _padded_forward(self, x: torch.Tensor) -> torch.Tensor:
    """Conv2dSame.forward before symmetric padding moved into the convolution: F.pad always."""
    ih, iw = x.shape[-2:]
    kh, kw = self.kernel_size
    sh, sw = self.stride
    pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
    pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
    if pad_h or pad_w:
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
    return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def before_model(model_name: str, device: str = "cpu"):
    """The model as it was before this change, for before/after rows in one run: every
    Conv2dSame pads with F.pad (our renders of it also need ``fold_batchnorm=False``)."""
    model = cw.load_model(model_name, device=device)
    for m in model.module.modules():
        if isinstance(m, Conv2dSame):
            m.forward = types.MethodType(_padded_forward, m)
    return model


BEFORE = {"fold_batchnorm": False}  # with before_model: our render loop before this change


def channel_means(model, layer: str, images: np.ndarray, channels) -> list[float]:
    """Mean activation of ``channels[k]`` on ``images[k]`` (N, H, W, 3 in [0, 1])."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).permute(0, 3, 1, 2).to(model.device)
    x = F.interpolate(x, size=model.input_size, mode="bilinear", align_corners=False)
    with torch.no_grad(), capture({layer: model.module_of(layer)}, stop_after_last=True) as store:
        run_until_captured(lambda: model.module(model.normalize(x)))
    acts = store[layer]
    return [float(acts[k, c].mean()) for k, c in enumerate(channels)]


def _lucent_compat() -> None:
    """torch-lucent 0.1.8 calls ``kornia.get_rotation_matrix2d`` and ``kornia.warp_affine``,
    which kornia >= 0.7 only has under ``kornia.geometry.transform``; alias them (in this
    process only) so that lucent runs unchanged."""
    import kornia
    from kornia.geometry import transform as kt

    for name in ("get_rotation_matrix2d", "warp_affine"):
        if not hasattr(kornia, name):
            setattr(kornia, name, getattr(kt, name))


def lucent_module(model, peer_layout: str = "pytorch") -> torch.nn.Module:
    """A fresh copy of the module for each lucent call (lucent leaves its hooks on it), in
    PyTorch's default NCHW layout unless ``peer_layout="ours"`` (see ``common.peer_model``)."""
    module = copy.deepcopy(model.module).eval()
    if peer_layout != "ours":
        module.to(memory_format=torch.contiguous_format)
    return module


def _lucent_one(
    model, layer: str, channel: int, steps: int, size: int, seed: int, peer_layout: str = "pytorch"
) -> tuple[np.ndarray, float]:
    _lucent_compat()
    from lucent.optvis import param, render, transform

    module = lucent_module(model, peer_layout)
    torch.manual_seed(seed)
    np.random.seed(seed)
    transforms = list(transform.standard_transforms) + [model.normalize]
    t0 = time.perf_counter()
    images = render.render_vis(
        module,
        f"{layer.replace('.', '_')}:{channel}",
        lambda: param.image(size),
        transforms=transforms,
        thresholds=(steps,),
        preprocess=False,
        show_image=False,
        progress=False,
    )
    return images[-1][0], time.perf_counter() - t0


def _lucent_each(
    model, layer: str, channels, steps: int, size: int, seed: int, peer_layout: str = "pytorch"
) -> tuple[np.ndarray, float]:
    """Lucent on each channel, one call each as its tutorials do: (N, H, W, 3) images and the
    summed seconds."""
    total, imgs = 0.0, []
    for c in channels:
        im, dt = _lucent_one(model, layer, c, steps, size, seed, peer_layout)
        total += dt
        imgs.append(im)
    return np.stack(imgs), total


def _ours(
    model, layer: str, channels, steps: int, size: int, seed: int, **settings
) -> tuple[np.ndarray, float]:
    objs = [f"{layer}:{c}" for c in channels]
    t0 = time.perf_counter()
    # The loop and the final images only, like render_vis: our result also evaluates the
    # objective once more without transforms, which lucent does not do.
    run = ascent(model, objs, steps=steps, size=size, seed=seed, **settings)
    for _ in run:
        pass
    images = run.frame()
    return images, time.perf_counter() - t0


def run(
    model_name: str = "efficientnet_lite0",
    channels=8,
    steps: int = 32,
    size: int = 128,
    layer: str = DEFAULT_LAYER,
    repeats: int = 1,
    seed: int = 0,
    peer_layout: str = "pytorch",
    budget_s: float = 0.0,
    before: bool = False,
    input_size: int | None = None,
    chunk: int | None = None,
) -> dict:
    """Time both libraries on one channel and on a batch of channels, interleaved (at least
    ``repeats`` rounds, more while they fit in ``budget_s``); returns a flat dict.

    ``channels``: a count (the first N channels of ``layer``) or a list of indices.
    Seconds are per optimisation step (medians); "batch" times are for all channels (lucent:
    one call each); ratios are medians of per-round ratios. Objective values are the mean over
    channels of each render's channel mean. ``before``: also our batch as it ran before
    folding and the padding change (``before_batch``), and lucent on that older module
    (``lucent_before_batch``); ``input_size``: also our batch fed to the model at that size
    (``native_batch``), its objective measured at the model's own size. ``chunk``: images per
    forward pass of each of our batch renders (default Ascent's: 1 on the CPU); under load
    from other processes, one image at a time can be the slower choice (docs/benchmarks.md).
    """
    model = cw.load_model(model_name)
    chans = list(range(channels)) if isinstance(channels, int) else [int(c) for c in channels]
    one = chans[:1]
    images: dict = {}

    def side(name, fn, *args, **kwargs):
        def call():
            images[name] = fn(*args, **kwargs)[0]

        return call

    fns = {
        "ours_one": side("ours_one", _ours, model, layer, one, steps, size, seed),
        "lucent_one": side(
            "lucent_one", _lucent_each, model, layer, one, steps, size, seed, peer_layout
        ),
        "ours_batch": side(
            "ours_batch", _ours, model, layer, chans, steps, size, seed, chunk=chunk
        ),
        "lucent_batch": side(
            "lucent_batch", _lucent_each, model, layer, chans, steps, size, seed, peer_layout
        ),
    }
    if before:
        old = before_model(model_name)
        fns["before_batch"] = side(
            "before_batch", _ours, old, layer, chans, steps, size, seed, chunk=chunk, **BEFORE
        )
        fns["lucent_before_batch"] = side(
            "lucent_before_batch", _lucent_each, old, layer, chans, steps, size, seed, peer_layout
        )
    if input_size:
        fns["native_batch"] = side(
            "native_batch",
            _ours,
            model,
            layer,
            chans,
            steps,
            size,
            seed,
            chunk=chunk,
            input_size=input_size,
        )
    t = time_interleaved(
        fns, warmup=1, min_rounds=repeats, max_rounds=max(repeats, 15), budget_s=budget_s
    )
    out = {
        "model": model_name,
        "device": str(model.device),
        "layer": layer,
        "channels": len(chans),
        "steps": steps,
        "size": size,
        "repeats": t.rounds,
        "threads": torch.get_num_threads(),
        "chunk": chunk,
    }
    for k in fns:
        used = one if k.endswith("_one") else chans
        out[f"{k}_s_per_step"] = t.median(k) / max(steps, 1)
        out[f"{k}_s_per_round"] = [round(v / max(steps, 1), 4) for v in t[k].samples]
        out[f"{k}_objective"] = float(np.mean(channel_means(model, layer, images[k], used)))
    out["ratio_one"] = t.ratio("ours_one", "lucent_one")
    out["ratio_batch"] = t.ratio("ours_batch", "lucent_batch")
    if before:
        out["before_ratio_batch"] = t.ratio("before_batch", "lucent_before_batch")
        out["after_over_before"] = t.ratio("ours_batch", "before_batch")
        out["lucent_after_over_before"] = t.ratio("lucent_batch", "lucent_before_batch")
    if input_size:
        out["input_size"] = input_size
        out["native_ratio_batch"] = t.ratio("native_batch", "lucent_batch")
        out["native_over_ours"] = t.ratio("native_batch", "ours_batch")
    return out


def time_to_match(
    model_name: str = "efficientnet_lite0",
    channels=8,
    lucent_steps: int = 512,
    size: int = 128,
    layer: str = DEFAULT_LAYER,
    check_every: int = 16,
    seed: int = 0,
    peer_layout: str = "pytorch",
) -> dict:
    """How long ours needs to reach the objective lucent reaches in ``lucent_steps`` steps.

    Lucent renders each channel with ``lucent_steps`` steps, one call per channel (512 is its
    ``render_vis`` default). Ours renders all channels as one batch and stops at the first
    check (every ``check_every`` steps) where the mean over channels of its objective is at
    least lucent's, measured the same way for both (:func:`channel_means`); the checks count
    in our time. Ours is capped at ``lucent_steps`` steps.
    """
    model = cw.load_model(model_name)
    chans = list(range(channels)) if isinstance(channels, int) else [int(c) for c in channels]
    lucent_imgs, lucent_s = _lucent_each(model, layer, chans, lucent_steps, size, seed, peer_layout)
    lucent_vals = channel_means(model, layer, lucent_imgs, chans)
    goal = float(np.mean(lucent_vals))

    t0 = time.perf_counter()
    run = ascent(model, [f"{layer}:{c}" for c in chans], steps=lucent_steps, size=size, seed=seed)
    ours_vals = [float("-inf")] * len(chans)
    for step, _images, _loss in run:
        if step % check_every == 0 or step == lucent_steps:
            ours_vals = channel_means(model, layer, run.frame(), chans)
            if np.mean(ours_vals) >= goal:
                break
    ours_s = time.perf_counter() - t0
    return {
        "model": model_name,
        "layer": layer,
        "channels": len(chans),
        "size": size,
        "lucent_steps": lucent_steps,
        "lucent_s": lucent_s,
        "lucent_objective": goal,
        "ours_steps": run.step,
        "ours_s": ours_s,
        "ours_objective": float(np.mean(ours_vals)),
        "channels_at_or_above": int(sum(o >= theirs for o, theirs in zip(ours_vals, lucent_vals))),
        "ratio": ours_s / lucent_s,
        "threads": torch.get_num_threads(),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="efficientnet_lite0")
    p.add_argument("--layer", default=DEFAULT_LAYER)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--repeats", "--rounds", type=int, default=1, help="minimum timed rounds")
    p.add_argument("--budget", type=float, default=0.0, help="seconds of timing (more rounds)")
    p.add_argument("--before", action="store_true", help="also time ours before this change")
    p.add_argument("--chunk", type=int, default=None, help="images per forward pass of ours")
    p.add_argument(
        "--input-size", type=int, default=None, help="also time ours fed to the model at N px"
    )
    p.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)"
    )
    p.add_argument(
        "--match",
        type=int,
        default=0,
        metavar="LUCENT_STEPS",
        help="instead: time ours to reach lucent's objective after LUCENT_STEPS steps",
    )
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.match:
        out = time_to_match(a.model, a.channels, a.match, a.size, a.layer)
    else:
        out = run(
            a.model,
            a.channels,
            a.steps,
            a.size,
            a.layer,
            a.repeats,
            budget_s=a.budget,
            before=a.before,
            input_size=a.input_size,
            chunk=a.chunk,
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
