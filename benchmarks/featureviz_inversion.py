"""Feature inversion, cnnwidgets vs lucent's ``render_vis``, per optimisation step.

Both invert 8 photos (the bundled samples, one per image) at one layer of the same model:
each image maximises the cosine similarity between its activations and its photo's,
flattened over channels and positions (``cw.featureviz.activation_match``). Equal settings:
a 1/f Fourier parameterization with decorrelated colour at ``size`` pixels for 8 images
(ours: ``param="fft"``; lucent: its own ``param.image(size, batch=8)``), sigmoid, Adam lr 0.05,
no random transforms (inversion compares positions), the model's normalisation and an
upscale to 224 before the forward pass. The target activations are computed once, before the
clock starts (lucent has no target-image objective; its objective is written here as lucent's
``Objective``, reading the hooked layer); ours computes them again in every timed call, when
the objective is bound to the run (one forward pass of the 8 photos, counted against us).

Lucent gets a fresh copy of the module per call (its hooks are never removed). Both sides are
timed interleaved, in an order shuffled every round (``timing.time_interleaved``), and the
ratio is the median of per-round ratios. Timed with them: the floor of our step, the model's
forward pass to the layer and backward pass to the input for the 8 images (``floor_step``),
on the model itself and on the copy our steps run (batch norms folded, ``fold.py``).
``--before`` adds our render as it ran before batch-norm folding and before Conv2dSame stopped
copying its input into a padded tensor (``featureviz_vs_lucent.before_model``), and lucent on
that older module (lucent runs our module, so the padding change speeds it up too);
``--input-size N`` adds our render fed to the model at N pixels (its targets too). The
inversion reached is measured the same way for every side, independently of either library:
the final images upscaled (bilinear) to 224, one forward pass, cosine with the target.

    python -m benchmarks.featureviz_inversion [--steps 16] [--size 128] [--layer _blocks.6]
    python -m benchmarks.featureviz_inversion --steps 8 --threads 1 --before --input-size 128
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
import torch.nn.functional as F

import cnnwidgets as cw
from cnnwidgets.core import capture, preserved, run_until_captured
from cnnwidgets.core.inputs import input_layout
from cnnwidgets.engines.featureviz import activation_match, ascent
from cnnwidgets.engines.featureviz.fold import folded
from cnnwidgets.engines.featureviz.gradient_ascent import CPU_CHUNK
from cnnwidgets.engines.featureviz.targets import fit_images, layer_activations, load_images

from .timing import time_interleaved

DEFAULT_LAYER = "_blocks.6"
PHOTOS = ("cat", "coffee", "astronaut", "rocket", "coins", "camera", "china", "flower")


def targets(model, layer: str, size: int, names=PHOTOS) -> torch.Tensor:
    """The photos' activations at ``layer``, seen as a ``size``-px render is: fitted to
    ``size`` by the model's preprocessing, upscaled to the input size."""
    x = fit_images(load_images(list(names)), size, model)
    x = F.interpolate(x, size=model.input_size, mode="bilinear", align_corners=False)
    return layer_activations(model, x, [layer])[layer]


def cosines(model, layer: str, images: np.ndarray, target: torch.Tensor) -> list[float]:
    """Cosine between each final image's activations (upscaled to the input size) and its
    target's."""
    x = torch.as_tensor(np.asarray(images, dtype=np.float32)).permute(0, 3, 1, 2).to(model.device)
    x = F.interpolate(x, size=model.input_size, mode="bilinear", align_corners=False)
    with torch.no_grad(), capture({layer: model.module_of(layer)}, stop_after_last=True) as store:
        run_until_captured(lambda: model.module(model.normalize(x)))
    a, t = store[layer].flatten(1), target.to(store[layer]).flatten(1)
    return F.cosine_similarity(a, t, dim=1).tolist()


def ours(
    model,
    objective,
    n: int,
    steps: int,
    size: int,
    seed: int = 0,
    chunk: int | None = None,
    **settings,
) -> np.ndarray:
    """Our render loop and final images only, like ``render_vis`` (the result's extra
    evaluation without transforms is left out). The objective's photos are loaded once, by
    the caller; binding it (one forward pass of the 8 photos) counts in our time."""
    run = ascent(
        model,
        objective,
        batch=n,
        steps=steps,
        size=size,
        seed=seed,
        transforms=None,
        chunk=chunk,
        **settings,
    )
    for _ in run:
        pass
    return run.frame()


def lucent(
    model,
    layer: str,
    target: torch.Tensor,
    steps: int,
    size: int,
    seed: int = 0,
    peer_layout: str = "pytorch",
) -> np.ndarray:
    """The same inversion written for lucent: its image parameterization, its render loop."""
    from . import featureviz_vs_lucent as fv_lucent

    fv_lucent._lucent_compat()
    from lucent.optvis import objectives, param, render

    module = fv_lucent.lucent_module(model, peer_layout)
    name = layer.replace(".", "_")
    flat_target = target.flatten(1)

    def inversion(hook):
        a = hook(name).flatten(1)
        return -F.cosine_similarity(a, flat_target.to(a), dim=1).sum()

    torch.manual_seed(seed)
    images = render.render_vis(
        module,
        objectives.Objective(inversion, name="inversion"),
        lambda: param.image(size, batch=target.shape[0]),
        transforms=[model.normalize],
        thresholds=(steps,),
        preprocess=False,
        show_image=False,
        progress=False,
    )
    return images[-1]


def floor_step(model, layer: str, x: torch.Tensor, chunk: int, module=None) -> None:
    """The least one step of ours has to do: for each chunk of ``x`` (the 8 inputs at the
    model's input size), a forward pass that ends at ``layer`` and a backward pass to the
    input with frozen weights. Ours runs the model in chunks of ``chunk`` images. ``module``:
    run this module (the folded copy) instead of the model's own."""
    module = model.module if module is None else module
    target = module.get_submodule(model.layer_info[layer].module_name)
    with preserved(model.module):
        for i in range(0, x.shape[0], chunk):
            xi = x[i : i + chunk].detach().requires_grad_(True)
            with capture({layer: target}, stop_after_last=True, transform=torch.Tensor.clone) as st:
                run_until_captured(lambda: module(input_layout(xi, model)))
            st[layer].square().mean().backward()


def run(
    model_name: str = "efficientnet_lite0",
    steps: int = 16,
    size: int = 128,
    layer: str = DEFAULT_LAYER,
    min_rounds: int = 3,
    max_rounds: int = 10,
    budget_s: float = 60.0,
    seed: int = 0,
    peer_layout: str = "pytorch",
    device: str = "cpu",
    chunk: int | None = None,
    before: bool = False,
    input_size: int | None = None,
) -> dict:
    """Time both sides (interleaved rounds of ``steps`` steps each) and measure the inversion
    each reaches; returns a flat dict with seconds per step and the ratio. ``chunk``: images
    per forward pass of ours (default Ascent's: 1 on the CPU, all elsewhere). ``before``,
    ``input_size``: the extra sides of the module docstring."""
    model = cw.load_model(model_name, device=device)
    names = PHOTOS
    target = targets(model, layer, size, names)
    last = {}

    objective = activation_match(layer, list(names))

    def ours_fn():
        last["ours"] = ours(model, objective, len(names), steps, size, seed, chunk)

    def lucent_fn():
        last["lucent"] = lucent(model, layer, target, steps, size, seed, peer_layout)

    x = model.normalize(torch.rand(len(names), 3, *model.input_size, device=model.device))
    if chunk is None:
        # Ascent's default (ours_fn reads this same variable)
        chunk = min(len(names), CPU_CHUNK) if model.device.type == "cpu" else len(names)
    # What our steps run: the copy with the batch norms folded, where Ascent folds by default.
    run_module = folded(model).module if model.device.type == "cpu" else model.module

    fns = {
        "ours": ours_fn,
        "lucent": lucent_fn,
        "floor": lambda: floor_step(model, layer, x, chunk),
        # the same passes with the 8 images as one batch, for comparison
        "floor_batch": lambda: floor_step(model, layer, x, len(names)),
        "floor_folded": lambda: floor_step(model, layer, x, chunk, run_module),
    }
    if before:
        from .featureviz_vs_lucent import BEFORE, before_model

        old = before_model(model_name, device)

        def before_fn():
            last["before"] = ours(old, objective, len(names), steps, size, seed, chunk, **BEFORE)

        fns["before"] = before_fn

        def lucent_before_fn():
            last["lucent_before"] = lucent(old, layer, target, steps, size, seed, peer_layout)

        fns["lucent_before"] = lucent_before_fn
    if input_size:
        # Its own objective: targets bound at the render's input size.
        native_objective = activation_match(layer, list(names))

        def native_fn():
            last["native"] = ours(
                model,
                native_objective,
                len(names),
                steps,
                size,
                seed,
                chunk,
                input_size=input_size,
            )

        fns["native"] = native_fn

    t = time_interleaved(
        fns,
        device=device,
        warmup=1,
        min_rounds=min_rounds,
        max_rounds=max_rounds,
        budget_s=budget_s,
    )
    out = {
        "model": model_name,
        "device": str(model.device),
        "layer": layer,
        "images": len(names),
        "chunk": chunk,
        "steps": steps,
        "size": size,
        "rounds": t.rounds,
        "threads": torch.get_num_threads(),
        "ours_s_per_step": t.median("ours") / steps,
        "lucent_s_per_step": t.median("lucent") / steps,
        "ratio": t.ratio("ours", "lucent"),
        "floor_s_per_step": t.median("floor"),
        "floor_ratio": t.ratio("floor", "lucent") * steps,
        "floor_batch_s_per_step": t.median("floor_batch"),
        "floor_batch_ratio": t.ratio("floor_batch", "lucent") * steps,
        "floor_folded_s_per_step": t.median("floor_folded"),
        "floor_folded_ratio": t.ratio("floor_folded", "lucent") * steps,
        "per_round_s_per_step": {
            k: [round(v / (1 if k.startswith("floor") else steps), 4) for v in t[k].samples]
            for k in fns
        },
    }
    for k in last:
        out[f"{k}_cosine"] = float(np.mean(cosines(model, layer, last[k], target)))
    if before:
        out["before_s_per_step"] = t.median("before") / steps
        out["before_ratio"] = t.ratio("before", "lucent_before")
        out["after_over_before"] = t.ratio("ours", "before")
        out["lucent_after_over_before"] = t.ratio("lucent", "lucent_before")
    if input_size:
        out["input_size"] = input_size
        out["native_s_per_step"] = t.median("native") / steps
        out["native_ratio"] = t.ratio("native", "lucent")
    return out


def rows(cfg: dict, s) -> list:
    """The runner's row: ours/lucent per step, target <= 0.5."""
    from .report import Row, Target

    res = run(
        cfg["model"],
        cfg["steps"],
        cfg["size"],
        cfg.get("layer", DEFAULT_LAYER),
        min_rounds=s.min_rounds,
        max_rounds=s.max_rounds,
        budget_s=s.budget_s,
        peer_layout=s.peer_layout,
        device=s.device,
    )
    row = Row(
        "Feature inversion",
        cfg["model"],
        f"8 images @ {res['layer']}, {res['steps']} steps, {res['size']}px",
        "lucent render_vis",
        ours=res["ours_s_per_step"] * res["steps"],
        peer=res["lucent_s_per_step"] * res["steps"],
        ratio=res["ratio"],
        fwd_bwd=res["floor_s_per_step"] * res["steps"],
        rounds=res["rounds"],
        note=f"cosine ours {res['ours_cosine']:.3f} vs lucent {res['lucent_cosine']:.3f}; "
        f"fwd+bwd: steps x (forward to the layer + backward to the input), whose ratio to "
        f"lucent is {res['floor_ratio']:.2f}",
    )
    row.targets.append(Target("ours/lucent <= 0.5", row.ratio, 0.5))
    return [row]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="efficientnet_lite0")
    p.add_argument("--layer", default=DEFAULT_LAYER)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--rounds", type=int, default=3, help="minimum timed rounds")
    p.add_argument("--budget", type=float, default=60.0, help="seconds of timing")
    p.add_argument("--device", default="cpu")
    p.add_argument("--chunk", type=int, default=None, help="images per forward pass of ours")
    p.add_argument("--before", action="store_true", help="also time ours before this change")
    p.add_argument(
        "--input-size", type=int, default=None, help="also time ours fed to the model at N px"
    )
    p.add_argument(
        "--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)"
    )
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    out = run(
        a.model,
        a.steps,
        a.size,
        a.layer,
        min_rounds=a.rounds,
        budget_s=a.budget,
        device=a.device,
        chunk=a.chunk,
        before=a.before,
        input_size=a.input_size,
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
