"""Feature visualization, cnnwidgets vs lucent's ``render_vis``, on the same model and settings.

Both use a 1/f Fourier parameterization with decorrelated colour at ``size`` pixels, sigmoid,
Adam lr 0.05, lucent's standard transforms and an upscale to 224 before the forward pass.
Lucent gets the model's own normalisation (``preprocess=False`` plus a normalising
transform), a fresh copy of the module per call (its hooks are never removed), and one call
per channel, as it renders one objective at a time. We render one channel, then all
channels as one batch.

Objective values are measured the same way for both, independently of either library: the
final image upscaled (bilinear) to the input size, one forward pass, mean of the channel.

Timings on a shared CPU are noisy: the two libraries are run interleaved, ``repeats`` times,
and the ratios of medians are what to read.

    python benchmarks/featureviz_vs_lucent.py [--steps 32] [--size 128] [--channels 8]
    python benchmarks/featureviz_vs_lucent.py --match 512    # time to lucent's objective
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import cnnwidgets as cw
from cnnwidgets.core import capture, run_until_captured
from cnnwidgets.engines.featureviz import ascent

DEFAULT_LAYER = "_blocks.8"


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
    model, layer: str, channels, steps: int, size: int, seed: int
) -> tuple[np.ndarray, float]:
    objs = [f"{layer}:{c}" for c in channels]
    t0 = time.perf_counter()
    # The loop and the final images only, like render_vis: our result also evaluates the
    # objective once more without transforms, which lucent does not do.
    run = ascent(model, objs, steps=steps, size=size, seed=seed)
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
) -> dict:
    """Time both libraries on one channel and on a batch of channels; returns a flat dict.

    ``channels``: a count (the first N channels of ``layer``) or a list of indices.
    Seconds are per optimisation step; "batch" times are for all channels (lucent: one call
    each). Objective values are the mean over channels of each render's channel mean.
    """
    model = cw.load_model(model_name)
    chans = list(range(channels)) if isinstance(channels, int) else [int(c) for c in channels]
    one = chans[:1]
    t = {"ours_one": [], "lucent_one": [], "ours_batch": [], "lucent_batch": []}
    val = {k: [] for k in t}
    for r in range(repeats):
        s = seed + r
        img, dt = _ours(model, layer, one, steps, size, s)
        t["ours_one"].append(dt), val["ours_one"].append(channel_means(model, layer, img, one))
        img, dt = _lucent_one(model, layer, one[0], steps, size, s, peer_layout)
        t["lucent_one"].append(dt)
        val["lucent_one"].append(channel_means(model, layer, img[None], one))
        img, dt = _ours(model, layer, chans, steps, size, s)
        (
            t["ours_batch"].append(dt),
            val["ours_batch"].append(channel_means(model, layer, img, chans)),
        )
        imgs, dt = _lucent_each(model, layer, chans, steps, size, s, peer_layout)
        t["lucent_batch"].append(dt)
        val["lucent_batch"].append(channel_means(model, layer, imgs, chans))

    out = {
        "model": model_name,
        "device": str(model.device),
        "layer": layer,
        "channels": len(chans),
        "steps": steps,
        "size": size,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
    }
    for k in t:
        out[f"{k}_s_per_step"] = statistics.median(t[k]) / max(steps, 1)
        out[f"{k}_objective"] = float(np.mean(val[k]))
    out["ratio_one"] = out["ours_one_s_per_step"] / out["lucent_one_s_per_step"]
    out["ratio_batch"] = out["ours_batch_s_per_step"] / out["lucent_batch_s_per_step"]
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
    p.add_argument("--repeats", type=int, default=1)
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
        out = run(a.model, a.channels, a.steps, a.size, a.layer, a.repeats)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
